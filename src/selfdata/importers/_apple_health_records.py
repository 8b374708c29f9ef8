"""Apple Health's export.xml read by the C scanner (`selfdata._xmltok`): the fast path.

`apple_health.py` uses it when the C extension is built. Each buffer of whole
top-level elements goes through C once: every top-level `Record` becomes a
row there (dates as UTC microseconds, numbers, the `extra` JSON with its
metadata and heart beats), handed back as raw arrays that become Arrow
columns without a per-row Python step. The values that repeat (type, unit,
source, device, category) come back as indexes into small dictionaries, so
metrics, canonical units and conversions are worked out once per distinct
value, and the columns stay dictionary-encoded down to the staging files.

Workouts and activity summaries (one per workout or day) come back as byte
ranges, read with expat (`xmlsafe.make_parser`) into `Element`s for
`apple_health.py` to build one by one, exactly as the oracle reads them.

C releases the GIL, so the next buffer is read and scanned in a second
thread while the caller writes this one's rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import IO, Any, cast
from xml.parsers import expat

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from selfdata import xmlsafe, xmlscan
from selfdata.errors import ParseError
from selfdata.importers._apple_health_elements import Element, Part
from selfdata.importers.healthkit import METRICS, SLEEP_STAGES, conversion, metric_for

__all__ = ["parts"]

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
SLEEP_PREFIX = "HKCategoryValueSleepAnalysis"
ONE_BY_ONE = ("Workout", "ActivitySummary")

_CANONICAL = tuple((kind.encode(), unit.encode()) for kind, (_, unit) in METRICS.items())
_ONE_BY_ONE = tuple(name.encode() for name in ONE_BY_ONE)
_FORBIDDEN = bytes([*range(0, 9), 11, 12, *range(14, 32)])
_UTC = pa.timestamp("us", tz="UTC")
_JSON = pa.json_(pa.string())
_BAD_DATES = "a Record without a usable startDate/endDate"
_BAD_POINT = "a Location without a usable date, latitude or longitude"
# Columns of the numbers C hands back as text (too long for its exact conversion).
_SLOW_VALUE, _SLOW_LAT, _SLOW_LON, _SLOW_ACCURACY, _SLOW_ALTITUDE, _SLOW_SPEED = range(6)
_SLOW_POINTS = (_SLOW_LAT, _SLOW_LON, _SLOW_ACCURACY, _SLOW_ALTITUDE, _SLOW_SPEED)
# The C scanner's reasons for rejecting a Record, by number.
_REJECTS = (
    ("health_samples", _BAD_DATES),
    ("sleep_segments", _BAD_DATES),
    ("health_samples", "a Record without a type"),
)


def parts(stream: IO[bytes], display_name: str, reopen: Callable[[], IO[bytes]]) -> Iterator[Part]:
    """The export's rows, one buffer (`xmlscan.CHUNK_BYTES`) of elements at a time."""
    scanned = _scan(stream, display_name, reopen)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="apple-health") as pool:
        ahead = pool.submit(next, scanned, None)
        while (found := ahead.result()) is not None:
            ahead = pool.submit(next, scanned, None)
            yield _part(found, display_name, reopen)


# --- reading buffers -----------------------------------------------------------------


@dataclass
class _Scanned:
    """What C found in one buffer, and the bytes of its one-by-one elements."""

    found: Any
    count: int  # Workouts and ActivitySummaries
    spans: bytes  # their bytes, back to back, without the route points C read
    span_starts: list[int]  # where each piece of them is in `spans`
    file_starts: list[int]  # and in the file
    offset: int  # of the buffer in the file
    repairs: int


def _scan(
    stream: IO[bytes], display_name: str, reopen: Callable[[], IO[bytes]]
) -> Iterator[_Scanned]:
    from selfdata import _xmltok

    window = _Window(xmlscan.CHUNK_BYTES)
    level, offset, repairs = 0, 0, 0
    while True:
        final = window.fill(stream, xmlscan.CHUNK_BYTES) == 0
        repairs += _checked(window, final, display_name, reopen, offset)
        if not window.length:
            break
        with window.view() as buffer:
            found = _xmltok.records(
                buffer, level, final, SLEEP_TYPE.encode(), _CANONICAL, _ONE_BY_ONE
            )
            used, after = found[0], found[1]
            if used == 0 and not final:  # one element bigger than the buffer: read more
                continue
            scanned = _spans(found, buffer, offset, repairs)
        yield scanned
        offset += used
        level, repairs = after, 0
        window.consume(used)
        if final:
            break
    with window.view() as rest:
        if level != 0 or bytes(rest).strip():
            raise ParseError(
                display_name,
                "the file ends inside an element (truncated, or still being copied?)",
                line=xmlscan.line_at(reopen, offset + len(rest)),
            )


class _Window:
    """One read buffer for the whole file: what the last scan left, then the next read.

    Reused, so a large export does not allocate (and fragment) a new buffer per read.
    """

    def __init__(self, size: int) -> None:
        self.data = bytearray(2 * size)
        self.length = 0

    def fill(self, stream: IO[bytes], size: int) -> int:
        """Read up to `size` more bytes after those kept; returns how many (0 at the end)."""
        if self.length + size > len(self.data):  # an element bigger than a read
            self.data.extend(bytes(self.length + size - len(self.data)))
        got = 0
        with memoryview(self.data) as whole:
            into = whole[self.length : self.length + size]
            while got < size and (n := cast(Any, stream).readinto(into[got:])):
                got += n
            into.release()
        self.length += got
        return got

    def view(self) -> memoryview:
        return memoryview(self.data)[: self.length]

    def replace(self, data: bytes) -> None:
        self.data[: len(data)] = data
        self.length = len(data)

    def consume(self, used: int) -> None:
        """Keep only what follows the first `used` bytes."""
        rest = self.length - used
        self.data[:rest] = self.data[used : self.length]
        self.length = rest


def _checked(
    window: _Window,
    final: bool,
    display_name: str,
    reopen: Callable[[], IO[bytes]],
    offset: int,
) -> int:
    """Remove the control characters XML forbids from the window; returns how many."""
    from selfdata import _xmltok

    with window.view() as buffer:
        forbidden, bad = _xmltok.check(buffer, final)
        repaired = bytes(buffer).translate(None, _FORBIDDEN) if forbidden else None
    if repaired is not None:
        window.replace(repaired)
        with window.view() as buffer:
            _, bad = _xmltok.check(buffer, final)
    if bad >= 0:
        line = xmlscan.line_at(reopen, offset + bad)
        raise ParseError(display_name, "is not valid UTF-8 (a damaged file?)", line=line)
    return forbidden


def _spans(found: Any, buffer: memoryview, offset: int, repairs: int) -> _Scanned:
    """Keep only the one-by-one elements' bytes, so the buffer can go.

    The route points C read (empty <Location> tags, most of an old workout's
    bytes) are left out: expat then reads a fraction of the bytes.
    """
    triples = np.frombuffer(found[6], dtype=np.int64).reshape(-1, 3)
    holes = np.frombuffer(found[10], dtype=np.int64).reshape(-1, 2)
    # Holes lie inside the spans and apart, so the pieces between them pair up in order.
    starts = np.sort(np.concatenate([triples[:, 1], holes[:, 1]])).tolist()
    ends = np.sort(np.concatenate([holes[:, 0], triples[:, 2]])).tolist()
    lengths = [end - start for start, end in zip(starts, ends, strict=True)]
    span_starts = list(accumulate(lengths, initial=0))[:-1]
    spans = b"".join(buffer[start:end] for start, end in zip(starts, ends, strict=True))
    file_starts = [start + offset for start in starts]
    return _Scanned(found, len(triples), spans, span_starts, file_starts, offset, repairs)


# --- from C's arrays to Arrow tables ----------------------------------------------------


def _part(scanned: _Scanned, display_name: str, reopen: Callable[[], IO[bytes]]) -> Part:
    _, _, health, sleep, dictionaries, rejects, _, slow, points, point_rejects, _ = scanned.found
    types, units, sources, devices, texts = dictionaries
    pairs = np.frombuffer(rejects, dtype=np.int64).reshape(-1, 2)
    rejected = [(*_REJECTS[kind], int(at) + scanned.offset) for kind, at in pairs]
    sleep_rows = None
    if sleep[0]:
        sleep_rows, unknown = _sleep_table(sleep, sources, devices, texts)
        rejected.extend((t, why, at + scanned.offset) for t, why, at in unknown)
    slow_values = [(row, text) for column, row, text in slow if column == _SLOW_VALUE]
    route = _RoutePoints(points, point_rejects, sources, slow, scanned.offset)
    return Part(
        health=_health_table(health, types, units, sources, devices, slow_values)
        if health[0]
        else None,
        sleep=sleep_rows,
        elements=_elements(scanned, display_name, reopen) if scanned.spans else [],
        rejects=rejected,
        repairs=scanned.repairs,
        route_points=route.table,
    )


@dataclass(frozen=True)
class _Units:
    """What a (type, unit as written) pair becomes: metric, canonical unit, conversion."""

    metric: str
    canonical: str | None
    factor: float
    offset: float


@cache
def _units(type_identifier: str, unit: str | None) -> _Units:
    metric, canonical = metric_for(type_identifier, unit)
    return _Units(metric, canonical, *conversion(canonical, unit))


def _health_table(
    rows: tuple[Any, ...],
    types: Sequence[str],
    units: Sequence[str],
    sources: Sequence[str],
    devices: Sequence[str],
    slow: Sequence[tuple[int, str]],
) -> pa.Table:
    n, start, end, zone, value, value_ok, type_, unit, source, device, _, ends, extra, _ = rows
    type_index = np.frombuffer(type_, dtype=np.int32)
    unit_index = np.frombuffer(unit, dtype=np.int32)
    # Every (type, unit) pair of this buffer, numbered type * (units + 1) + unit + 1.
    pairs = [_units(t, u) for t in types for u in (None, *units)]
    pair = type_index * (len(units) + 1) + unit_index + 1
    metrics = sorted({p.metric for p in pairs})
    canonicals = sorted({p.canonical for p in pairs if p.canonical is not None})
    metric_of = np.array([metrics.index(p.metric) for p in pairs], dtype=np.int32)
    canonical_of = np.array(
        [canonicals.index(p.canonical) if p.canonical is not None else -1 for p in pairs],
        dtype=np.int32,
    )
    numbers = np.frombuffer(value, dtype=np.float64)
    if slow:  # numbers too long for C's exact shortcut
        numbers = numbers.copy()
        for row, text in slow:
            numbers[row] = float(text)
    factor = np.array([p.factor for p in pairs])[pair]
    shift = np.array([p.offset for p in pairs])[pair]
    columns = {
        "metric": _dictionary(metric_of[pair], metrics),
        "start_at": _instants(n, start),
        "end_at": _instants(n, end),
        "utc_offset_min": _minutes(n, zone),
        "value": _numbers(numbers * factor + shift, np.frombuffer(value_ok, dtype=np.bool_)),
        "unit": _dictionary(canonical_of[pair], canonicals),
        "source_name": _dictionary(np.frombuffer(source, dtype=np.int32), sources),
        "device": _dictionary(np.frombuffer(device, dtype=np.int32), devices),
        "source_type": _dictionary(type_index, types),
        "extra": _json(n, ends, extra),
    }
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _sleep_table(
    rows: tuple[Any, ...], sources: Sequence[str], devices: Sequence[str], texts: Sequence[str]
) -> tuple[pa.Table | None, list[tuple[str, str, int]]]:
    """The sleep rows, and a reject for each whose value is no known stage."""
    n, start, end, zone, _, _, _, _, source, device, text, ends, extra, offsets = rows
    stages = sorted(set(SLEEP_STAGES.values()))
    # Index -1 (no value) takes the last entry, the stage of "".
    stage_of = np.array([_stage(value, stages) for value in (*texts, "")], dtype=np.int32)
    value_index = np.frombuffer(text, dtype=np.int32)
    stage = stage_of[value_index]
    columns = {
        "start_at": _instants(n, start),
        "end_at": _instants(n, end),
        "utc_offset_min": _minutes(n, zone),
        "stage": _dictionary(stage, stages),
        "source_name": _dictionary(np.frombuffer(source, dtype=np.int32), sources),
        "device": _dictionary(np.frombuffer(device, dtype=np.int32), devices),
        "extra": _json(n, ends, extra),
    }
    table = pa.Table.from_arrays(list(columns.values()), names=list(columns))
    unknown = stage < 0
    if not unknown.any():
        return table, []
    where = np.frombuffer(offsets, dtype=np.int64)
    rejects = [
        (
            "sleep_segments",
            f"unknown sleep value {texts[value_index[row]] if value_index[row] >= 0 else ''!r}",
            int(where[row]),
        )
        for row in np.flatnonzero(unknown)
    ]
    kept = table.filter(pa.Array.from_buffers(pa.bool_(), n, [None, _bits(~unknown)]))
    return (kept if kept.num_rows else None), rejects


def _stage(value: str, stages: list[str]) -> int:
    stage = SLEEP_STAGES.get(value.removeprefix(SLEEP_PREFIX))
    return stages.index(stage) if stage is not None else -1


@dataclass
class _RoutePoints:
    """The inline route points C found, waiting for their workouts' ids."""

    points: tuple[Any, ...]
    rejects: bytes  # int64 pairs: element index, offset in the buffer
    sources: Sequence[str]
    slow: Sequence[tuple[int, int, str]]
    offset: int

    def table(
        self, workout_ids: Sequence[str | None], workout_sources: Sequence[str | None]
    ) -> tuple[pa.Table | None, list[tuple[str, str, int]]]:
        """The points of the elements that are kept workouts (`workout_ids[i]` not None),
        a route without a sourceName taking its workout's; and their rejects."""
        kept = np.array([workout_id is not None for workout_id in workout_ids] + [False])
        pairs = np.frombuffer(self.rejects, dtype=np.int64).reshape(-1, 2)
        rejects = [
            ("location_points", _BAD_POINT, int(at) + self.offset)
            for element, at in pairs
            if kept[element]
        ]
        n, at, zone, lat, lon, accuracy, altitude, speed, *flags, span, source, ends, extra = (
            self.points
        )
        if not n:
            return None, rejects
        numbers = {
            column: np.frombuffer(values, dtype=np.float64)
            for column, values in zip(
                _SLOW_POINTS, (lat, lon, accuracy, altitude, speed), strict=True
            )
        }
        for column, row, text in self.slow:  # numbers too long for C's exact shortcut
            if column in numbers:
                if not numbers[column].flags.writeable:
                    numbers[column] = numbers[column].copy()
                numbers[column][row] = float(text)
        element = np.frombuffer(span, dtype=np.int32)
        own = np.frombuffer(source, dtype=np.int32)
        # A route's own source, else its workout's (listed after the route sources).
        owner = np.where(own >= 0, own, len(self.sources) + element).astype(np.int32)
        owner_names = [*self.sources, *(s if s is not None else "" for s in workout_sources)]
        owner_missing = np.array([False] * len(self.sources) + [s is None for s in workout_sources])
        owner = np.where(owner_missing[owner], -1, owner).astype(np.int32)
        ids = np.where(kept[element], element, -1).astype(np.int32)
        has_accuracy, has_altitude, has_speed = (np.frombuffer(f, dtype=np.bool_) for f in flags)
        everything = np.ones(n, dtype=np.bool_)
        columns = {
            "recorded_at": _instants(n, at),
            "utc_offset_min": _minutes(n, zone),
            "lat": _numbers(numbers[_SLOW_LAT], everything),
            "lon": _numbers(numbers[_SLOW_LON], everything),
            "accuracy_m": _numbers(numbers[_SLOW_ACCURACY], has_accuracy),
            "altitude_m": _numbers(numbers[_SLOW_ALTITUDE], has_altitude),
            "speed_mps": _numbers(numbers[_SLOW_SPEED], has_speed),
            "source": _dictionary(owner, owner_names),
            "workout_id": _dictionary(ids, [i or "" for i in workout_ids]),
            "extra": _json(n, ends, extra),
        }
        table = pa.Table.from_arrays(list(columns.values()), names=list(columns))
        keep = kept[element]
        if not keep.all():
            table = table.filter(pa.Array.from_buffers(pa.bool_(), n, [None, _bits(keep)]))
        return (table if table.num_rows else None), rejects


# Arrow arrays straight from buffers: `pa.array` would import pandas (0.3 s, 40 MB).


def _instants(n: int, micros: bytes) -> pa.Array:
    return pa.Array.from_buffers(_UTC, n, [None, pa.py_buffer(micros)])


def _minutes(n: int, minutes: bytes) -> pa.Array:
    return pa.Array.from_buffers(pa.int16(), n, [None, pa.py_buffer(minutes)])


def _numbers(values: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_]) -> pa.Array:
    return pa.Array.from_buffers(pa.float64(), len(values), [_bits(valid), pa.py_buffer(values)])


def _json(n: int, ends: bytes, data: bytes) -> pa.Array:
    """JSON text C wrote, typed as JSON: DuckDB then stores it without parsing it again."""
    text = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(ends), pa.py_buffer(data)])
    return pa.ExtensionArray.from_storage(_JSON, text)


def _dictionary(indices: npt.NDArray[np.int32], values: Sequence[str]) -> pa.Array:
    """A dictionary-encoded string column; index -1 is null."""
    encoded = [value.encode() for value in values] or [b""]
    ends = np.cumsum([0, *(len(value) for value in encoded)], dtype=np.int32)
    dictionary = pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(ends), pa.py_buffer(b"".join(encoded))]
    )
    present = indices >= 0
    validity = None if present.all() else _bits(present)
    codes = pa.Array.from_buffers(pa.int32(), len(indices), [validity, pa.py_buffer(indices)])
    return pa.DictionaryArray.from_arrays(codes, dictionary)


def _bits(mask: npt.NDArray[np.bool_]) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask, bitorder="little"))


# --- the elements read one by one --------------------------------------------------------


def _elements(
    scanned: _Scanned, display_name: str, reopen: Callable[[], IO[bytes]]
) -> list[Element]:
    """The buffer's Workouts and ActivitySummaries, read by expat as the oracle reads them."""
    parser = xmlsafe.make_parser()
    found: list[Element] = []
    open_names: list[str] = []

    def file_offset(index: int) -> int:
        at = max(0, index - len(_OPEN))  # in `scanned.spans`
        span = bisect.bisect_right(scanned.span_starts, at) - 1
        return scanned.file_starts[span] + at - scanned.span_starts[span]

    def start(name: str, attrs: dict[str, str]) -> None:
        depth = len(open_names)  # the wrapper is depth 0
        offset = file_offset(parser.CurrentByteIndex) if name != "Location" else -1
        if depth == 1:
            found.append(Element(name, attrs, offset))
        elif depth > 1 and name != "Location":  # route points: C read them already
            child = {"name": name, "depth": depth, "offset": offset, "attrs": attrs}
            found[-1].children.append({**child, "parent": open_names[-1]})
        open_names.append(name)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: open_names.pop()
    try:
        parser.Parse(_OPEN + scanned.spans + _CLOSE, True)
    except expat.ExpatError as error:
        line = xmlscan.line_at(reopen, file_offset(parser.ErrorByteIndex))
        reason = f"not well-formed XML: {expat.ErrorString(error.code)}"
        raise ParseError(display_name, reason, line=line) from None
    finally:
        # The handlers hold the parser (a cycle): without this, the buffer's
        # arrays and elements would wait for the garbage collector.
        parser.StartElementHandler = parser.EndElementHandler = None
    if len(found) != scanned.count:  # C and expat disagree: damaged markup
        line = xmlscan.line_at(reopen, scanned.file_starts[0])
        raise ParseError(display_name, "not well-formed XML near here", line=line)
    return found


_OPEN, _CLOSE = b"<elements>", b"</elements>"
