"""Reading one huge JSON document a chunk at a time: the elements of its big arrays.

Google's exports are single JSON documents (a Takeout `Records.json` of many
years is one object of several GB), which ordinary readers load whole. This
module walks the document's top level (an object's keys, or a top-level array)
and hands over the elements of its arrays in *pieces*: `[` + complete elements
+ `]`, each about `chunk_bytes` long, which msgspec then decodes in C.

Where a piece ends matters: a cut inside a string or a nested object would
split an element. Two ways find the cut:

- the fast way: the bytes between two elements (Google's `\\n  }, {\\n    "`)
  are learnt from the first boundary and searched for backwards from the end of
  the buffer. A guess is only a guess (the same bytes may close a nested object
  in a file without indentation, or sit in a string), so the piece is taken
  only when it decodes: a prefix of a JSON array that parses as
  `[` + prefix + `]` ends exactly between two elements, since JSON is read left
  to right and the closing `]` must match the opening one. The decode is the
  one the caller needs anyway, so a right guess costs nothing;
- the exact way, used to learn the separator, when guesses fail, and to number
  the lines of rejected elements: a numpy scanner of quotes, backslash runs
  and brackets that knows, for every bracket, whether it lies in a string and
  at which depth.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Generic, NoReturn, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

from selfdata.errors import ParseError

_jsonscan: Any
try:  # the optional C scanner, here for counting lines
    from selfdata import _jsonscan
except ImportError:  # pragma: no cover - depends on the machine's build
    _jsonscan = None

__all__ = ["CHUNK_BYTES", "JsonStream", "Piece", "element_starts", "native"]

# Bytes read at a time, and so about the size of one piece.
CHUNK_BYTES = 16 << 20
# Bytes asked of the stream per call (and counted for lines per numpy call).
_READ_BYTES = 1 << 20

T = TypeVar("T")

_BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(rb"[ \t\r\n]*")
_SCALAR = re.compile(rb"[^,\]} \t\r\n]*")
_BACKSLASH = ord("\\")
_NEWLINE = ord("\n")
# Byte classes for the scanner: 1 quote, 2 backslash, 3 opening, 4 closing bracket, 5 comma.
_CLASS = np.zeros(256, np.uint8)
for _char, _kind in ((b'"', 1), (b"\\", 2), (b"{", 3), (b"[", 3), (b"}", 4), (b"]", 4), (b",", 5)):
    _CLASS[_char[0]] = _kind
_DEPTH_STEP = np.array([0, 0, 0, 1, -1, 0], np.int64)
# An element's closing brace, the comma and the next element's opening brace and
# first quote: the bytes between two elements of Google's arrays, indentation included.
_SEPARATOR = re.compile(rb'\}[ \t\r\n]*,[ \t\r\n]*\{[ \t\r\n]*"')
# Guesses tried (from the end of the buffer back) before an exact scan: in a file
# without indentation a separator may also close a nested object.
_GUESSES = 2
_LEARN_BYTES = 1 << 16  # scanned exactly to learn the separator
_OFFSET = re.compile(r"\(byte (\d+)\)")
_decode_raw = msgspec.json.Decoder(list[msgspec.Raw]).decode


@dataclass
class Piece(Generic[T]):
    """Complete elements of one array: the JSON text `[e1, e2, ...]` and, when the
    decoder took them all, what it made of them (else None: decode them one by one
    to find the misfits)."""

    data: bytes
    first_line: int  # line of the file on which `data[1]` lies
    items: T | None
    problem: str | None = None  # why `items` is None
    _starts: npt.NDArray[np.int64] | None = field(default=None, repr=False)
    _newlines: npt.NDArray[np.intp] | None = field(default=None, repr=False)

    def line_of(self, index: int) -> int:
        """The line on which element `index` starts (for rejects: rare, so found lazily)."""
        return self.lines_of(np.array([index]))[0]

    def lines_of(self, indices: npt.NDArray[np.int64]) -> list[int]:
        """The lines on which these elements start."""
        if not len(indices):
            return []
        if self._starts is None:
            self._starts = element_starts(self.data)
        offsets = self._starts[np.minimum(indices, len(self._starts) - 1)]
        return [self.line_at(int(offset)) for offset in offsets]

    def line_at(self, offset: int) -> int:
        """The line of byte `offset` of `data`."""
        if self._newlines is None:
            self._newlines = np.flatnonzero(np.frombuffer(self.data, np.uint8) == ord("\n"))
        return self.first_line + int(np.searchsorted(self._newlines, offset))


class JsonStream:
    """One JSON document, walked a chunk at a time.

    Example:
        >>> import io
        >>> stream = JsonStream(io.BytesIO(b'{"a": [1, {"b": 2}], "c": 3}'), "x.json")
        >>> stream.root()
        '{'
        >>> decode = msgspec.json.Decoder(list[object]).decode
        >>> [(key, [p.items for p in stream.pieces(decode)] if key == "a" else None)
        ...  for key in stream.object_keys()]
        [('a', [[1, {'b': 2}]]), ('c', None)]
    """

    def __init__(self, stream: IO[bytes], name: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._stream = stream
        self.name = name
        self._chunk = chunk_bytes
        # One buffer for the whole file, its memory reused from read to read: a
        # new one per chunk would have the system zero fresh pages each time.
        self._buf = bytearray()
        self._scratch = bytearray(min(chunk_bytes, _READ_BYTES))
        self._pos = 0
        self._counted = 0  # newlines are counted up to this offset of the buffer...
        self._line = 1  # ...where this line starts: each byte is counted once
        self._eof = False
        self._value_pending = False

    # the top level

    def root(self) -> str:
        """`{` (consumed: read on with `object_keys()`) or `[` (read on with `pieces()`).

        A BOM before it is allowed.
        """
        while len(self._buf) < len(_BOM) and self._fill():
            pass  # however small the chunks, the BOM is looked for whole
        if self._buf.startswith(_BOM):
            self._pos = len(_BOM)
        char = self._next_char()
        if char == "{":
            self._pos += 1
        elif char != "[":
            self._fail(f"expected a JSON object or array, found {char or 'nothing'!r}")
        return char

    def object_keys(self) -> Iterator[str]:
        """The keys of the root object in order, the stream standing at each one's value.

        A value the caller did not read (with `pieces()` or `value()`) is skipped.
        """
        first = True
        while (char := self._next_char()) != "}":
            if not first:
                self._expect(",")
                char = self._next_char()
            first = False
            if char != '"':
                self._fail(f"expected a key, found {char or 'the end of the file'!r}")
            key = self._string()
            self._expect(":")
            self._next_char()
            self._value_pending = True
            yield key
            if self._value_pending:
                self._value_span()
                self._value_pending = False
        self._pos += 1

    def is_array(self) -> bool:
        """Whether the value at the stream's position is an array."""
        return self._next_char() == "["

    def pieces(self, decode: Callable[[bytes], T]) -> Iterator[Piece[T]]:
        """The array at the stream's position, as pieces of complete elements decoded by `decode`.

        `decode` takes the piece's JSON text and raises ValueError when it cannot
        decode it. A piece whose JSON is broken fails the file (ParseError with its
        line); one with an element that `decode` refuses comes with `items` None.
        """
        self._value_pending = False
        self._expect("[")
        separator: bytes | None = None
        first = True
        while self._next_char() != "]":
            if not first:
                self._expect(",")
                self._next_char()
            first = False
            separator, piece = self._piece(decode, separator)
            yield piece
        self._pos += 1

    # pieces

    def _piece(
        self, decode: Callable[[bytes], T], separator: bytes | None
    ) -> tuple[bytes | None, Piece[T]]:
        """The next piece: cut at a learnt separator if that decodes, else exactly."""
        if len(self._buf) - self._pos < self._chunk:
            self._fill()  # what is left is less than an element or two: a piece needs more
        line = self._line_at(self._pos)
        if separator is None:
            separator = self._learn()
        for cut in self._guesses(separator):
            data = self._bracketed(cut)
            try:
                items = decode(data)
            except ValueError:
                continue  # a wrong guess, or an element of the wrong shape
            self._pos = cut
            return separator, Piece(data, line, items)
        cut = self._exact_cut()  # may read more, moving the buffer
        data = self._bracketed(cut)
        self._pos = cut
        piece: Piece[T] = Piece(data, line, None)
        try:
            piece.items = decode(data)
        except ValueError as error:
            self._check_syntax(piece)
            piece.problem = str(error)
        return separator, piece

    def _check_syntax(self, piece: Piece[T]) -> None:
        """Raise ParseError, naming the line, when the piece is not JSON at all."""
        try:
            _decode_raw(piece.data)
        except msgspec.DecodeError as error:
            match = _OFFSET.search(str(error))
            at = piece.line_at(int(match.group(1))) if match else piece.first_line
            raise ParseError(self.name, f"not valid JSON ({error}), at line {at}") from error

    def _bracketed(self, cut: int) -> bytes:
        """`[` + the elements from the position to `cut` + `]`, copied once."""
        return b"".join((b"[", memoryview(self._buf)[self._pos : cut], b"]"))

    def _learn(self) -> bytes | None:
        """The separator after the first element in the buffer, from an exact scan of its start."""
        window = self._buf[self._pos : self._pos + _LEARN_BYTES]
        ends, _ = _ends(window, 0)
        return _separator(self._buf, self._pos + int(ends[0]) + 1) if len(ends) else None

    def _guesses(self, separator: bytes | None) -> Iterator[int]:
        """Offsets after the last elements that a learnt separator follows, last first."""
        end = len(self._buf)
        for _ in range(_GUESSES if separator else 0):
            at = self._buf.rfind(separator, self._pos, end)  # type: ignore[arg-type]
            if at < 0:
                return
            yield at + 1
            end = at

    def _exact_cut(self) -> int:
        """Where the complete elements in the buffer end, reading more until there is one."""
        while True:
            ends, closed = _ends(self._buf, self._pos)
            if closed is not None:
                return closed
            if len(ends) and not self._eof:
                return int(ends[-1]) + 1
            if not self._fill():
                self._fail("the file ends inside an array (truncated?)", len(self._buf))

    # reading

    def _fill(self) -> bool:
        """Read another chunk, dropping what has been consumed. False at the end of the file."""
        if self._eof:
            return False
        self._line_at(self._pos)
        del self._buf[: self._pos]
        self._pos = self._counted = 0
        read = 0
        stream: Any = self._stream  # typing.IO lacks readinto; file and zip streams have it
        with memoryview(self._scratch) as scratch:
            while read < self._chunk:
                got = stream.readinto(scratch[: self._chunk - read])
                if not got:
                    break
                self._buf += scratch[:got]
                read += got
        self._eof = read == 0
        return not self._eof

    def _line_at(self, offset: int) -> int:
        """The line of the buffer's byte at `offset`, at or after the last one asked for."""
        if offset > self._counted:
            self._line += _newlines(self._buf, self._counted, offset)
            self._counted = offset
        return self._line

    def _next_char(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            match = _SPACE.match(self._buf, self._pos)
            assert match is not None
            self._pos = match.end()
            if self._pos < len(self._buf):
                return chr(self._buf[self._pos])
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        found = self._next_char()
        if found != char:
            self._fail(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def _string(self) -> str:
        start, end = self._value_span()
        return str(msgspec.json.decode(self._buf[start:end], type=str))

    def _value_span(self) -> tuple[int, int]:
        """Start and end of the value at the position, read whole into the buffer; consumed."""
        char = self._next_char()
        while True:
            end = _value_end(self._buf, self._pos, char)
            if end is not None:
                start, self._pos = self._pos, end
                return start, end
            if not self._fill():
                self._fail("the file ends inside a value (truncated?)", len(self._buf))

    def _fail(self, reason: str, offset: int | None = None) -> NoReturn:
        at = self._pos if offset is None else offset
        line = self._line + self._buf.count(b"\n", self._counted, max(at, self._counted))
        raise ParseError(self.name, f"{reason}, at line {line}")


def native() -> bool:
    """Whether the C scanner (`selfdata._jsonscan`) is built and not switched off
    (SELFDATA_PURE_PYTHON=1)."""
    return _jsonscan is not None and os.environ.get("SELFDATA_PURE_PYTHON") != "1"


def _newlines(buf: bytearray, start: int, end: int) -> int:
    """How many newlines buf[start:end] holds: in C where it is built, else with numpy
    a megabyte at a time (faster than bytes.count, and its scratch mask is reused)."""
    if native():
        return int(_jsonscan.newlines(buf, start, end))
    count = 0
    for at in range(start, end, _READ_BYTES):
        part = np.frombuffer(buf, np.uint8, min(_READ_BYTES, end - at), at)
        count += int(np.count_nonzero(part == _NEWLINE))
    return count


def element_starts(data: bytes) -> npt.NDArray[np.int64]:
    """Offsets of the elements of the JSON array `data` (its first byte is `[`).

    Example:
        >>> element_starts(b'[{"a": "}"}, 2, [3]]').tolist()
        [1, 13, 16]
    """
    positions, chars, depth = _structure(data, 1)
    separators = positions[(chars == ord(",")) & (depth == 0)] + 1
    starts = np.concatenate(([1], separators))
    # Each element starts after its separator's white space.
    return np.array([_SPACE.match(data, int(s)).end() for s in starts], np.int64)  # type: ignore[union-attr]


def _separator(buf: bytes | bytearray, end: int) -> bytes | None:
    """The bytes between the element ending at `end` and the next, when both are objects:
    the closing brace, the comma and the next opening brace with their white space."""
    match = _SEPARATOR.match(buf, end - 1)
    return match.group() if match else None


def _value_end(buf: bytes | bytearray, start: int, char: str) -> int | None:
    """Where the value starting at `start` ends, or None when the buffer ends first."""
    if char in "{[":
        positions, _, depth = _structure(buf, start)
        closed = np.flatnonzero(depth == 0)
        return int(positions[closed[0]]) + 1 if len(closed) else None
    if char == '"':
        return _string_end(buf, start)
    match = _SCALAR.match(buf, start)
    assert match is not None
    return match.end() if match.end() < len(buf) else None


def _string_end(buf: bytes | bytearray, start: int) -> int | None:
    """The end of the string whose opening quote is at `start` (a key: short)."""
    at = start
    while (at := buf.find(b'"', at + 1)) >= 0:
        slashes = at - 1
        while buf[slashes] == _BACKSLASH:
            slashes -= 1
        if (at - 1 - slashes) % 2 == 0:  # an even run of backslashes escapes only themselves
            return at + 1
    return None


def _ends(buf: bytes | bytearray, start: int) -> tuple[npt.NDArray[np.int64], int | None]:
    """Offsets of the closing brackets that end elements of the array being read from
    `start` (between two elements), and of the array's own `]` if the buffer holds it."""
    positions, chars, depth = _structure(buf, start)
    closing = (chars == ord("}")) | (chars == ord("]"))
    ends = positions[closing & (depth == 0)]
    below = np.flatnonzero(depth < 0)
    if len(below):
        closed = int(positions[below[0]])
        return ends[ends < closed], closed
    return ends, None


def _structure(
    buf: bytes | bytearray, start: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Brackets and commas outside strings from `start` (between two tokens) on:
    their offsets, characters, and the depth after each."""
    data = np.frombuffer(buf, np.uint8)[start:]
    special = np.flatnonzero(_CLASS[data])
    kinds = _CLASS[data[special]]
    quote = kinds == 1
    backslash = kinds == 2
    if backslash.any():
        quote &= ~_escaped(special, backslash, quote)
    outside = ((np.cumsum(quote) - quote) & 1) == 0
    keep = outside & (kinds >= 3)
    chars = data[special[keep]]
    depth = np.cumsum(_DEPTH_STEP[_CLASS[chars]])
    return special[keep] + start, chars, depth


def _escaped(
    special: npt.NDArray[np.int64], backslash: npt.NDArray[np.bool_], quote: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Which quotes follow an odd run of backslashes (`\\"` is escaped, `\\\\"` is not)."""
    slashes = special[backslash]
    run_start = np.ones(len(slashes), bool)
    run_start[1:] = slashes[1:] != slashes[:-1] + 1
    first = slashes[run_start][np.cumsum(run_start) - 1]
    run_length = slashes - first + 1
    quotes = special[quote]
    before = np.searchsorted(slashes, quotes - 1)
    before_clipped = np.minimum(before, len(slashes) - 1)
    hit = (slashes[before_clipped] == quotes - 1) & ((run_length[before_clipped] & 1) == 1)
    escaped = np.zeros(len(special), bool)
    escaped[np.flatnonzero(quote)[hit]] = True
    return escaped
