"""Vectorised scanning of big, machine-written XML exports (Apple Health's export.xml).

A Python callback per element caps any expat-based reader at a few hundred
thousand elements a second. Machine-written exports are regular enough to be
read another way: split each chunk of bytes at every `<` (numpy finds them),
view the pieces as one Arrow string column without copying, and work on whole
columns with polars: the kind of each tag, its depth (a cumulative sum), the
top-level element it belongs to (a running maximum), its attributes (split at
`"`, grouped by attribute layout).

What this reader accepts is a lenient superset of XML: it never resolves
entities or DTDs (so no entity bombs, and a broken internal DTD such as iOS
16's does not matter), removes the control characters XML forbids (counting
them as repairs), and unescapes the five XML entities and character
references in attribute values. It assumes UTF-8 and that `>` in attribute
values is escaped, as Apple's exports do. Comments are skipped, also when
they contain `<`. A file that ends inside an element is reported as truncated
with the line where that element starts.

Where the optional C extension `selfdata._xmltok` is built (`native()`), Apple
Health's importer reads its Records with it instead, many times faster; this
module is then only its source of `CHUNK_BYTES` and line numbers, and the
fallback that yields the same rows without a compiler.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from selfdata.errors import ParseError

_xmltok: Any
try:  # the optional C reader; without it the numpy path reads the same rows
    from selfdata import _xmltok
except ImportError:  # pragma: no cover - depends on the machine's build
    _xmltok = None

__all__ = [
    "EMPTY",
    "END",
    "OTHER",
    "START",
    "Chunk",
    "attributes",
    "json_string",
    "line_at",
    "lines_at",
    "native",
    "needs_json_escape",
    "scan",
    "tag_attributes",
    "tag_names",
]

# Big enough that per-call costs vanish, small enough for flat memory.
CHUNK_BYTES = 8 << 20

START, END, EMPTY, OTHER = 0, 1, 2, 3  # <a ...>, </a>, <a .../>, comments/DTD/PIs

# Characters XML 1.0 forbids; real exports contain \x0b and friends.
_FORBIDDEN = bytes([*range(0, 9), 11, 12, *range(14, 32)])
_LT = ord("<")
# More distinct attribute layouts than this in one chunk: the rest go row by row.
_MAX_LAYOUTS = 64
_ATTRIBUTE = re.compile(r'([^\s=]+)\s*=\s*"([^"]*)"')
# XML attribute-value normalisation: each white-space character becomes a space,
# a CR LF pair one (end-of-line handling makes it one LF first).
_WHITE_SPACE = re.compile(r"\r\n|[\t\n\r]")


@dataclass
class Chunk:
    """The tags of a run of whole top-level elements.

    `pieces` holds each tag from its `<` up to the next tag (attributes, and any
    text after it); `kind`, `depth` (of the element: the root is 0), `top`
    (global number of the top-level element the tag belongs to, -1 outside
    any), `offsets` (byte offset in the file, after repairs) and `element`
    (index of the tag's name in the `elements` asked for, -1 for others) are
    numpy arrays aligned with it. `repairs` counts removed control characters.
    """

    pieces: pl.Series
    kind: npt.NDArray[np.int8]
    depth: npt.NDArray[np.int32]
    top: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    element: npt.NDArray[np.int16]
    repairs: int

    def attributes(self, mask: npt.NDArray[np.bool_], names: Sequence[str]) -> pl.DataFrame:
        """The named attributes of the tags where `mask` holds, unescaped."""
        return attributes(self.pieces.filter(pl.Series(mask)), names)


def native() -> bool:
    """Whether the C reader (`selfdata._xmltok`) is built and not switched off
    (SELFDATA_PURE_PYTHON=1); importers then use it instead of `scan`."""
    return _xmltok is not None and os.environ.get("SELFDATA_PURE_PYTHON") != "1"


def scan(
    stream: IO[bytes],
    display_name: str,
    *,
    elements: Sequence[str] = (),
    reopen: Callable[[], IO[bytes]] | None = None,
    top_depth: int = 1,
    chunk_bytes: int | None = None,
) -> Iterator[Chunk]:
    """Chunks of whole top-level elements (children of the root when top_depth is 1).

    `elements` are the element names to number in `Chunk.element`. `reopen` gives a fresh
    stream of the same file, used only to turn a byte offset into a line
    number for an error message.
    """
    carry = b""
    depth = 0
    top_base = 0
    file_offset = 0
    size = chunk_bytes or CHUNK_BYTES
    while True:
        data = stream.read(size)
        final = not data
        buffer, repairs = _repaired(carry + data)
        if not buffer:
            break
        split = _split(buffer, depth, top_depth, top_base, final, elements)
        if split is None:  # one element bigger than the buffer: read more
            carry = buffer
            continue
        chunk, used, depth = split
        chunk.offsets += file_offset
        chunk.repairs = repairs
        file_offset += used
        carry = buffer[used:]
        if len(chunk.pieces):
            top_base = int(chunk.top.max(initial=top_base - 1)) + 1
            yield chunk
        if final:
            break
    if depth != 0 or carry.strip():
        raise ParseError(
            display_name,
            "the file ends inside an element (truncated, or still being copied?)",
            line=line_at(reopen, file_offset + len(carry)) if reopen else None,
        )


def line_at(reopen: Callable[[], IO[bytes]], offset: int) -> int:
    """The 1-based line of byte `offset` of the (repaired) file; reads it once more."""
    return lines_at(reopen, [offset])[0]


def lines_at(reopen: Callable[[], IO[bytes]], offsets: Sequence[int]) -> list[int]:
    """The 1-based lines of several byte offsets, in one more read of the file."""
    wanted = np.asarray(offsets, dtype=np.int64)
    order = np.argsort(wanted, kind="stable")
    lines = np.ones(len(wanted), dtype=np.int64)
    before, seen = 0, 0
    with reopen() as stream:
        while (data := stream.read(CHUNK_BYTES)) and seen <= wanted.max(initial=0):
            data, _ = _repaired(data)
            newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + seen
            # Offsets past this block get a provisional line that later blocks correct.
            chosen = order[wanted[order] >= seen]
            lines[chosen] = 1 + before + np.searchsorted(newlines, wanted[chosen])
            before += len(newlines)
            seen += len(data)
    return [int(line) for line in lines]


def attributes(pieces: pl.Series, names: Sequence[str]) -> pl.DataFrame:
    """The named attributes of each tag (null where absent), unescaped.

    Tags are grouped by attribute layout (which attributes, in which order, with
    which spacing): the text between the `"`s that is not a value. Each layout
    costs one vectorised comparison, whatever the number of tags; a chunk with
    very many layouts (hand-edited files) is finished row by row.
    """
    frame = pl.DataFrame({"parts": pieces.str.split('"')})
    frame = frame.with_columns(count=pl.col("parts").list.len())
    layout_of = np.full(len(frame), -1, dtype=np.int32)
    layouts: list[list[str]] = []
    while (layout_of < 0).any():
        first = int(np.flatnonzero(layout_of < 0)[0])
        if len(layouts) == _MAX_LAYOUTS:
            return _row_by_row(pieces, names, frame, layouts, layout_of)
        layout = frame["parts"][first].to_list()[:-1:2]  # the text before each value
        same = pl.col("count") == 2 * len(layout) + 1
        for j, text in enumerate(layout):
            same &= pl.col("parts").list.get(2 * j, null_on_oob=True) == text
        matched = frame.select(same.fill_null(False)).to_series().to_numpy()
        layout_of[matched & (layout_of < 0)] = len(layouts)
        layouts.append(layout)
    frame = frame.with_columns(layout=pl.Series(layout_of))
    columns = [_value_of(name, layouts) for name in names]
    values = frame.lazy().select(columns).collect()
    return values.with_columns([_unescape(values[name]) for name in names])


def _value_of(name: str, layouts: list[list[str]]) -> pl.Expr:
    """One attribute's value, taken from its position in each tag's layout."""
    expression: Any = None
    for number, layout in enumerate(layouts):
        positions = [j for j, text in enumerate(layout) if _name(text) == name]
        if not positions:
            continue
        value = pl.col("parts").list.get(2 * positions[-1] + 1, null_on_oob=True)
        chain = pl.when(pl.col("layout") == number).then(value)
        expression = (
            chain if expression is None else expression.when(pl.col("layout") == number).then(value)
        )
    if expression is None:
        # A column of nulls as long as the frame (a bare literal would be one row).
        empty = (
            pl.col("layout")
            .cast(pl.String)
            .replace_strict({}, default=None, return_dtype=pl.String)
        )
        return empty.alias(name)
    result: pl.Expr = expression.otherwise(None).alias(name)
    return result


def tag_attributes(piece: str) -> dict[str, str]:
    """The attributes of one tag, unescaped, in plain Python: for the few
    elements that are not worth a column operation."""
    parts = piece.split('"')
    # The tag ends at the first `>` outside quotes (the even parts are outside).
    for index in range(0, len(parts), 2):
        if ">" in parts[index]:
            parts[index] = parts[index].split(">", 1)[0]
            parts = parts[: index + 1]
            break
    return {name: _plain(value) for name, value in _ATTRIBUTE.findall('"'.join(parts))}


def _plain(value: str) -> str:
    """An attribute value as XML reads it: whitespace normalised, entities resolved."""
    if "\t" in value or "\n" in value or "\r" in value:
        value = _WHITE_SPACE.sub(" ", value)
    return html.unescape(value) if "&" in value else value


def json_string(column: pl.Expr, *, escape: bool = True) -> pl.Expr:
    """A string column as JSON string literals (quoted, and escaped unless told
    the values need none)."""
    if not escape:
        return pl.lit('"') + column + pl.lit('"')
    escaped = (
        column.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
    )
    return pl.lit('"') + escaped + pl.lit('"')


def tag_names(pieces: pl.Series) -> pl.Series:
    """The element name of each start or empty tag (null for others)."""
    return pieces.str.extract(r"^<([^\s/>!?]+)", 1)


# --- private ---------------------------------------------------------------------


def _repaired(buffer: bytes) -> tuple[bytes, int]:
    """The buffer without the control characters XML forbids, and how many there were."""
    array = np.frombuffer(buffer, dtype=np.uint8)
    low = int(np.count_nonzero(array < 32))
    allowed = int(np.count_nonzero(array == ord("\n")))
    if low > allowed:  # tabs and carriage returns are allowed too
        allowed += int(np.count_nonzero(array == ord("\t")) + np.count_nonzero(array == 13))
    if low == allowed:  # the usual case: nothing to repair, no copy
        return buffer, 0
    repaired = buffer.translate(None, _FORBIDDEN)
    return repaired, len(buffer) - len(repaired)


def _split(
    buffer: bytes,
    depth: int,
    top_depth: int,
    top_base: int,
    final: bool,
    elements: Sequence[str],
) -> tuple[Chunk, int, int] | None:
    """The tags of `buffer` up to its last complete top-level element (numpy path).

    Returns the chunk, how many bytes it used and the depth after it; None when
    not even one top-level element is complete (read more).
    """
    array = np.frombuffer(buffer, dtype=np.uint8)
    starts = np.flatnonzero(array == _LT)
    kinds = _kinds_of(buffer, starts)
    cut = _cut_at(starts, kinds, depth, top_depth, final, len(buffer))
    if cut is None:
        return None
    count, used = cut
    pieces = _pieces(buffer[:used], starts[:count])
    ids = {name: number for number, name in enumerate(elements)}
    element = tag_names(pieces).replace_strict(ids, default=-1, return_dtype=pl.Int16)
    return _chunk(
        pieces, starts[:count], kinds[:count], element.to_numpy(), depth, top_depth, top_base, used
    )


def _cut_at(
    starts: npt.NDArray[np.int64] | npt.NDArray[np.intp],
    kinds: npt.NDArray[np.int8],
    depth: int,
    top_depth: int,
    final: bool,
    size: int,
) -> tuple[int, int] | None:
    """How many tags, and bytes, make whole top-level elements."""
    if final:
        return len(starts), size
    delta = np.where(kinds == START, 1, np.where(kinds == END, -1, 0))
    after = depth + np.cumsum(delta)
    closing = np.flatnonzero((after <= top_depth) & (kinds != OTHER))
    if not len(closing):
        return None
    count = int(closing[-1]) + 1
    return count, int(starts[count]) if count < len(starts) else size


def _chunk(
    pieces: pl.Series,
    starts: npt.NDArray[np.int64] | npt.NDArray[np.intp],
    kinds: npt.NDArray[np.int8],
    element: npt.NDArray[np.int16],
    depth: int,
    top_depth: int,
    top_base: int,
    used: int,
) -> tuple[Chunk, int, int]:
    delta = np.where(kinds == START, 1, np.where(kinds == END, -1, 0)).astype(np.int32)
    after = depth + np.cumsum(delta)
    before = after - delta
    element_depth = np.where(kinds == END, before - 1, before).astype(np.int32)
    is_top = (kinds != END) & (kinds != OTHER) & (element_depth == top_depth)
    numbers = np.where(is_top, np.cumsum(is_top) - 1 + top_base, -1)
    top = np.maximum.accumulate(numbers) if len(numbers) else numbers
    top = np.where(element_depth >= top_depth, top, -1).astype(np.int64)
    chunk = Chunk(
        pieces=pieces,
        kind=kinds,
        depth=element_depth,
        top=top,
        offsets=starts.astype(np.int64),
        element=element.astype(np.int16),
        repairs=0,
    )
    depth_after = int(after[-1]) if len(after) else depth
    return chunk, used, depth_after


def _kinds_of(data: bytes, starts: npt.NDArray[np.intp]) -> npt.NDArray[np.int8]:
    """START, END, EMPTY or OTHER for each `<` at `starts`, from the bytes around it."""
    array = np.frombuffer(data, dtype=np.uint8)
    following = array[np.minimum(starts + 1, len(array) - 1)]
    kinds = np.full(len(starts), START, dtype=np.int8)
    kinds[following == ord("/")] = END
    kinds[(following == ord("!")) | (following == ord("?"))] = OTHER
    # An empty-element tag's `>` is preceded by `/`: look just before the next `<`
    # for the last `>` of this piece.
    ends = np.append(starts[1:], len(array))
    closes = _last_gt_before(data, starts, ends)
    slash = np.zeros(len(starts), dtype=bool)
    ok = closes > 0
    slash[ok] = array[closes[ok] - 1] == ord("/")
    kinds[(kinds == START) & slash] = EMPTY
    _mark_comments(data, starts, kinds)
    return kinds


def _last_gt_before(
    data: bytes, starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """Position of the last `>` inside each piece [start, end), or -1."""
    array = np.frombuffer(data, dtype=np.uint8)
    gts = np.flatnonzero(array == ord(">"))
    result = np.full(len(starts), -1, dtype=np.int64)
    if not len(gts):
        return result
    position = np.searchsorted(gts, ends) - 1
    candidates = gts[np.clip(position, 0, len(gts) - 1)]
    valid = (position >= 0) & (candidates > starts)
    result[valid] = candidates[valid]
    return result


def _mark_comments(data: bytes, starts: npt.NDArray[np.intp], kinds: npt.NDArray[np.int8]) -> None:
    """Pieces inside a comment that itself contains `<` are not tags."""
    opens = [
        i for i in np.flatnonzero(kinds == OTHER) if data[starts[i] + 1 : starts[i] + 4] == b"!--"
    ]
    for i in opens:
        close = data.find(b"-->", int(starts[i]))
        if close < 0:
            close = len(data)
        j = int(i) + 1
        while j < len(starts) and starts[j] < close:
            kinds[j] = OTHER
            j += 1


def _pieces(chunk: bytes, starts: npt.NDArray[np.intp]) -> pl.Series:
    """Each tag from its `<` to the next `<`, as one Arrow string column (no copies)."""
    offsets = np.append(starts, len(chunk)).astype(np.int64)
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        len(starts),
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(chunk)],
    )
    try:
        strings = binary.cast(pa.large_string())
    except pa.ArrowInvalid as error:
        raise ParseError("the export", f"is not valid UTF-8: {error}") from error
    return pl.Series("piece", strings)


def _name(text: str) -> str:
    """The attribute name at the end of the text before a value: ` unit =` → `unit`."""
    words = text.rstrip().rstrip("=").split()
    return words[-1] if words else ""


def _unescape(column: pl.Series) -> pl.Series:
    """XML attribute-value normalisation, then entities, on the few values that need it."""
    needs = column.str.contains("&", literal=True)
    for space in ("\n", "\t", "\r"):
        needs |= column.str.contains(space, literal=True)
    if not needs.any():
        return column
    special = column.filter(needs).unique()
    mapping = {value: html.unescape(_WHITE_SPACE.sub(" ", value)) for value in special}
    return column.replace_strict(mapping, default=column, return_dtype=pl.String)


def needs_json_escape(column: pl.Series) -> bool:
    """Whether any value holds a character a JSON string must escape."""
    return bool(column.str.contains(r'["\\\x00-\x1f]').any())


def _row_by_row(
    pieces: pl.Series,
    names: Sequence[str],
    frame: pl.DataFrame,
    layouts: list[list[str]],
    layout_of: npt.NDArray[np.int32],
) -> pl.DataFrame:
    """Too many layouts to vectorise: parse the tags of unknown layout one by one."""
    known = frame.with_columns(layout=pl.Series(layout_of)).lazy()
    values = known.select([_value_of(name, layouts) for name in names]).collect()
    for row in np.flatnonzero(layout_of < 0):
        found = dict(_ATTRIBUTE.findall(pieces[int(row)]))
        for name in names:
            values[int(row), name] = found.get(name)
    return values.with_columns([_unescape(values[name]) for name in names])
