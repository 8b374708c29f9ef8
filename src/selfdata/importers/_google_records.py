"""Google Takeout `Records.json` and the older `Location History.json`: raw location records.

Both are one object, `{"locations": [...]}`, whose array holds every position
the phone reported (millions over the years: the file reaches several GB).
Each element becomes one `location_points` row, source `google_records`
(the same for both files, so an old export and a newer one meet):

- `latitudeE7`/`longitudeE7` are degrees x 10^7, numbers or numeric strings.
  Values past +-90/180 degrees that an old int32 overflow left (2^32 too high)
  are mended, counted in the import's repairs.
- The time is `timestampMs` (epoch milliseconds, a string in the older file) or
  the newer ISO `timestamp` (with or without fractional seconds).
- `accuracy` is `accuracy_m`, `altitude` `altitude_m`, `velocity` (m/s) `speed_mps`.
- `extra` keeps `source` (WIFI, GPS, CELL...), `device_tag`, `platform_type`,
  `heading`, `vertical_accuracy` and, for a point with `activity` guesses (or the
  old `activitys`), the first guess's first activity (Google lists them most
  likely first): `activity` and `activity_confidence`. The other fields of 2023
  files (`osLevel`, `serverTimestamp`, `deviceTimestamp`, `batteryCharging`,
  `formFactor`...) are not kept.

Speed is the point of this module. `_google_stream` cuts the array into pieces
of complete elements (about 16 MB), read one piece ahead in a second thread
while this thread finishes the previous one. No Python object is made per
point, and memory stays at a few pieces. A piece is read by, in turn:

- the C scanner `selfdata._jsonscan`, where it is built (and SELFDATA_PURE_PYTHON
  is not 1): it parses each element straight into column buffers and the `extra`
  JSON, without Python's lock. It reads exactly what DuckDB's reader below would,
  and leaves to it any piece holding something it is not sure to read the same
  way (an odd number, a duplicated key, a time of another form...);
- DuckDB's JSON reader (C++, also free of Python's lock), turning the piece into
  an Arrow table of the fields above, converted column-wise with numpy and
  Arrow compute;
- msgspec, element by element, for a piece DuckDB refuses (an element of the
  wrong shape: `"latitudeE7": "north"`), so that only the misfits are rejected,
  each with its line.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeAlias

import duckdb
import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from selfdata.importers._google_stream import JsonStream, Piece, native
from selfdata.importers._local_offsets import LocalOffsets
from selfdata.importers.base import Source
from selfdata.importers.columns import canonical_schema, parse_iso_times

_jsonscan: Any
try:  # the optional C scanner; without it DuckDB reads the same rows
    from selfdata import _jsonscan
except ImportError:  # pragma: no cover - depends on the machine's build
    _jsonscan = None

__all__ = ["SOURCE", "native", "read_records"]

SOURCE = "google_records"
LOCATION_SCHEMA = canonical_schema("location_points")
_STAGED_SCHEMA = LOCATION_SCHEMA.set(
    LOCATION_SCHEMA.get_field_index("source"),
    pa.field("source", pa.dictionary(pa.int32(), pa.string())),
)
# The C scanner's `extra` is JSON by construction: typed as such, DuckDB stores it
# without parsing it again.
_JSON = pa.json_(pa.string())
_SCANNED_SCHEMA = _STAGED_SCHEMA.set(
    _STAGED_SCHEMA.get_field_index("extra"), pa.field("extra", _JSON)
)

_E7 = 10_000_000
_WRAP = 1 << 32
_SHARED_MEMORY = "/dev/shm"
# An element bigger than this fails the piece (then read element by element).
_MAX_ELEMENT_BYTES = 16 << 20

# The fields read, as DuckDB reads them (numeric strings become numbers), and the
# same shape in Arrow for the pieces read element by element.
_ACTIVITIES = "STRUCT(type VARCHAR, confidence DOUBLE)[]"
_COLUMNS = {
    "latitudeE7": "DOUBLE",
    "longitudeE7": "DOUBLE",
    "timestampMs": "DOUBLE",  # epoch ms are exact in a double
    "timestamp": "VARCHAR",
    "accuracy": "DOUBLE",
    "altitude": "DOUBLE",
    "velocity": "DOUBLE",
    "heading": "DOUBLE",
    "verticalAccuracy": "DOUBLE",
    "source": "VARCHAR",
    "platformType": "VARCHAR",
    "deviceTag": "BIGINT",
    "activity": f"STRUCT(activity {_ACTIVITIES})[]",  # Records.json
    "activitys": f"STRUCT(activities {_ACTIVITIES})[]",  # the old Location History.json
}
_NUMBERS = tuple(name for name, kind in _COLUMNS.items() if kind == "DOUBLE")
_ACTIVITY_TYPE = pa.list_(pa.struct([("type", pa.string()), ("confidence", pa.float64())]))
_RAW_SCHEMA = pa.schema(
    [(name, pa.float64()) for name in _NUMBERS]
    + [("timestamp", pa.string()), ("source", pa.string()), ("platformType", pa.string())]
    + [("deviceTag", pa.int64())]
    + [("activity", pa.list_(pa.struct([("activity", _ACTIVITY_TYPE)])))]
    + [("activitys", pa.list_(pa.struct([("activities", _ACTIVITY_TYPE)])))]
)


class _Activity(msgspec.Struct):
    type: str | None = None
    confidence: float | None = None


class _Guess(msgspec.Struct):
    activity: list[_Activity] = []


class _OldGuess(msgspec.Struct):
    activities: list[_Activity] = []


class _LooseLocation(msgspec.Struct):
    """An element's fields, any type: to say exactly what is wrong with a misfit, or keep it."""

    latitudeE7: Any = None
    longitudeE7: Any = None
    timestampMs: Any = None
    timestamp: Any = None
    accuracy: Any = None
    altitude: Any = None
    velocity: Any = None
    heading: Any = None
    verticalAccuracy: Any = None
    source: Any = None
    platformType: Any = None
    deviceTag: Any = None
    activity: Any = None
    activitys: Any = None


_NO_PLACE = "no latitudeE7/longitudeE7"
_OUTSIDE = "coordinates out of range"
_NO_TIME = "no timestamp or timestampMs"
_BAD_TIME = "unparsable timestamp"
# Why the C scanner found a row unusable, by its number there (0: usable).
_SCANNED_REASONS = (_NO_PLACE, _OUTSIDE, _NO_TIME)
_UTC = pa.timestamp("us", tz="UTC")

_decode_elements = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_loose = msgspec.json.Decoder(_LooseLocation, strict=False).decode
_REQUIRED = ("latitudeE7", "longitudeE7", "timestampMs", "timestamp")
_INT64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]  # a deviceTag past it is dropped


def read_records(stream: JsonStream, source: Source) -> Iterator[pa.Table]:
    """Location rows from the `locations` array, one table per piece of the file."""
    offsets = LocalOffsets()
    with _Parser() as parser, ThreadPoolExecutor(1, "google-records") as ahead:
        for key in stream.object_keys():
            if key != "locations" or not stream.is_array():
                continue
            pieces = stream.pieces(_decoder(parser))
            coming = ahead.submit(next, pieces, None)
            while (piece := coming.result()) is not None:
                coming = ahead.submit(next, pieces, None)  # the next piece is read meanwhile
                if isinstance(piece.items, _Scanned):
                    table = _scanned_table(piece, source, offsets)
                else:
                    raw, lines = _raw(piece, source)
                    table = _table(raw, lines, source, offsets)
                if table.num_rows:
                    yield table


@dataclass
class _Scanned:
    """The column buffers the C scanner made of a piece (see `_jsonscan.c`)."""

    found: tuple[Any, ...]


_Items: TypeAlias = "pa.Table | _Scanned"


def _decoder(parser: _Parser) -> Callable[[bytes], _Items]:
    """The C scanner, handing what it declines to DuckDB; DuckDB alone without it.

    Both raise ValueError for a piece cut in the wrong place (the stream then cuts
    elsewhere) and DuckDB for one it refuses.
    """
    if not native():
        return parser.decode

    def decode(data: bytes) -> _Items:
        found = _jsonscan.locations(data)
        return parser.decode(data) if isinstance(found, str) else _Scanned(found)

    return decode


class _Parser:
    """DuckDB's JSON reader, over each piece written to a scratch file in turn.

    Connected on first use: with the C scanner, most files never need it.
    """

    def __enter__(self) -> _Parser:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        return self

    def __exit__(self, *_: object) -> None:
        if self._con is not None:
            self._con.close()
        if self._folder is not None:
            self._folder.cleanup()

    def decode(self, data: bytes) -> pa.Table:
        """The piece as an Arrow table of the fields read; ValueError when DuckDB refuses it."""
        if self._con is None:
            self._connect()
        assert self._con is not None
        with open(self._path, "wb") as scratch:
            scratch.write(data)
        try:
            relation = self._con.read_json(
                self._path,
                format="array",
                columns=_COLUMNS,
                maximum_object_size=_MAX_ELEMENT_BYTES,
            )
            return relation.to_arrow_table()
        except duckdb.Error as error:
            raise ValueError(str(error).splitlines()[0]) from error

    def _connect(self) -> None:
        # In memory where there is a tmpfs: a GB of pieces need not be written to disk.
        memory = _SHARED_MEMORY if os.access(_SHARED_MEMORY, os.W_OK) else None
        self._folder = tempfile.TemporaryDirectory(prefix="selfdata-google-", dir=memory)
        self._path = str(Path(self._folder.name) / "piece.json")
        # One thread: the other core converts the previous piece.
        self._con = duckdb.connect(config={"threads": 1, "memory_limit": "512MB"})


@dataclass
class _Lines:
    """Where a piece's rows came from, for the lines of rejects."""

    piece: Piece[_Items]
    numbers: npt.NDArray[np.int64] | None  # row -> element of the piece (None: the same)

    def of(self, rows: npt.NDArray[np.int64]) -> list[int]:
        return self.piece.lines_of(rows if self.numbers is None else self.numbers[rows])


def _raw(piece: Piece[_Items], source: Source) -> tuple[pa.Table, _Lines]:
    """The piece's fields as DuckDB read them or, when it refused the piece, element by
    element, the misfits rejected."""
    if isinstance(piece.items, pa.Table):
        table, piece.items = piece.items, None  # let the piece's table go with its rows
        return table, _Lines(piece, None)
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for index, element in enumerate(_decode_elements(piece.data)):
        row = _loose_row(element, piece, index, source)
        if row is not None:
            rows.append(row)
            numbers.append(index)
    table = pa.Table.from_pylist(rows, schema=_RAW_SCHEMA)
    return table, _Lines(piece, np.array(numbers, np.int64))


def _loose_row(
    element: msgspec.Raw, piece: Piece[_Items], index: int, source: Source
) -> dict[str, Any] | None:
    """An element with nulls or odd types: what is usable of it, or None (rejected, with why)."""
    try:
        loose = _decode_loose(element)
    except msgspec.ValidationError:
        source.reject("location_points", "a location that is not an object", piece.line_of(index))
        return None
    row: dict[str, Any] = {}
    for field in _RAW_SCHEMA.names[:-2]:
        value = getattr(loose, field)
        kind: Any = str if field in ("timestamp", "source", "platformType") else float
        kind = _INT64 if field == "deviceTag" else kind
        try:
            row[field] = None if value is None else msgspec.convert(value, kind, strict=False)
        except msgspec.ValidationError:
            if field in _REQUIRED:
                reason = f"{field} {value!r} is not a {'string' if kind is str else 'number'}"
                source.reject("location_points", reason, piece.line_of(index))
                return None
    row["activity"] = _guesses(loose.activity, list[_Guess])
    row["activitys"] = _guesses(loose.activitys, list[_OldGuess])
    return row


def _guesses(value: Any, kind: Any) -> Any:
    """Activity guesses as plain lists and dicts, or None when they are of another shape."""
    try:
        return msgspec.to_builtins(msgspec.convert(value, kind, strict=False))
    except msgspec.ValidationError:
        return None


def _scanned_table(piece: Piece[_Items], source: Source, zones: LocalOffsets) -> pa.Table:
    """The rows the C scanner read (Arrow arrays over its buffers), the unusable
    ones rejected with their line."""
    assert isinstance(piece.items, _Scanned)
    found, piece.items = piece.items.found, None  # let the buffers go with the rows
    n, reasons, micros, lat, lon, *numbers, ends, extra, extra_ok, wrapped_lat, wrapped_lon = found
    source.repaired(_mended(90), wrapped_lat)
    source.repaired(_mended(180), wrapped_lon)
    usable = _scanned_usable(np.frombuffer(reasons, np.uint8), piece, source)
    instants = np.frombuffer(micros, np.int64)
    minutes = zones.minutes(np.frombuffer(lat), np.frombuffer(lon), instants, usable)
    accuracy, altitude, speed = (_doubles(n, numbers[k], numbers[k + 1]) for k in (0, 2, 4))
    text = pa.Array.from_buffers(pa.string(), n, [_bits(extra_ok), _bits(ends), _bits(extra)])
    indices = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(bytes(4 * n))])
    columns = [
        pa.Array.from_buffers(_UTC, n, [None, pa.py_buffer(micros)]),
        minutes,
        _doubles(n, lat),
        _doubles(n, lon),
        accuracy,
        altitude,
        speed,
        pa.DictionaryArray.from_arrays(indices, _source_value().dictionary),
        pa.nulls(n, pa.string()),
        pa.ExtensionArray.from_storage(_JSON, text),
    ]
    table = pa.Table.from_arrays(columns, schema=_SCANNED_SCHEMA)
    if usable.all():
        return table
    bits = pa.py_buffer(np.packbits(usable, bitorder="little"))
    return table.filter(pa.Array.from_buffers(pa.bool_(), n, [None, bits]))


def _scanned_usable(
    reasons: npt.NDArray[np.uint8], piece: Piece[_Items], source: Source
) -> npt.NDArray[np.bool_]:
    """Which rows the scanner found usable; the others are rejected with their line
    (all of one reason, then the next, as `_check` does)."""
    usable: npt.NDArray[np.bool_] = reasons == 0
    if not usable.all():
        for code, why in enumerate(_SCANNED_REASONS, 1):
            _reject(reasons == code, why, _Lines(piece, None), source)
    return usable


# The scanner's columns: bytes-like (its own buffer objects), read without a copy.
_Buffer: TypeAlias = Any


def _doubles(n: int, values: _Buffer, valid: _Buffer | None = None) -> pa.Array:
    return pa.Array.from_buffers(pa.float64(), n, [_bits(valid), pa.py_buffer(values)])


def _bits(data: _Buffer | None) -> pa.Buffer | None:
    return None if data is None else pa.py_buffer(data)


def _mended(limit: int) -> str:
    return f"E7 coordinate past {limit} degrees mended by -2^32"


def _table(raw: pa.Table, lines: _Lines, source: Source, zones: LocalOffsets) -> pa.Table:
    """The piece's rows, checked and converted column by column."""
    n = raw.num_rows
    number = {name: _floats(raw[name]) for name in _NUMBERS}
    lat = _degrees(number["latitudeE7"], 90, source)
    lon = _degrees(number["longitudeE7"], 180, source)
    timestamp = _array(raw["timestamp"])
    recorded_at, bad_time = _instants(number["timestampMs"], timestamp)
    usable = _check(lat, lon, number["timestampMs"], timestamp, bad_time, lines, source)
    instants = pc.fill_null(recorded_at.cast(pa.int64()), 0).to_numpy()
    table = pa.table(
        {
            "recorded_at": recorded_at,
            "utc_offset_min": zones.minutes(lat, lon, instants, usable),
            "lat": lat,
            "lon": lon,
            "accuracy_m": _nullable(number["accuracy"]),
            "altitude_m": _nullable(number["altitude"]),
            "speed_mps": _nullable(number["velocity"]),
            "source": _source_value().take(pa.array(np.zeros(n, np.int32))),
            "workout_id": pa.nulls(n, pa.string()),
            "extra": _extra(raw, number),
        },
        schema=_STAGED_SCHEMA,
    )
    return table if usable.all() else table.filter(pa.array(usable))


@cache
def _source_value() -> pa.DictionaryArray:
    """One value for every row: dictionary-encoded, it is staged as a dictionary too.

    Built from buffers: `pa.array`, even of a list, imports pandas (0.3 s and
    39 MB), which an import need not wait for.
    """
    name = SOURCE.encode()
    ends = pa.py_buffer(np.array([0, len(name)], np.int32))
    dictionary = pa.Array.from_buffers(pa.string(), 1, [None, ends, pa.py_buffer(name)])
    index = pa.Array.from_buffers(pa.int32(), 1, [None, pa.py_buffer(bytes(4))])
    return pa.DictionaryArray.from_arrays(index, dictionary)


def _array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _floats(column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """A double column as numpy, NaN where null."""
    values = _array(column).cast(pa.float64())
    return np.asarray(pc.fill_null(values, math.nan).to_numpy(zero_copy_only=False), np.float64)


def _degrees(e7: npt.NDArray[np.float64], limit: int, source: Source) -> npt.NDArray[np.float64]:
    """Degrees from E7 numbers (NaN where missing), mending int32 overflows."""
    wrapped = (e7 > limit * _E7) & (e7 - _WRAP >= -limit * _E7)
    if wrapped.any():
        e7 = np.where(wrapped, e7 - _WRAP, e7)
        source.repaired(_mended(limit), int(wrapped.sum()))
    return e7 / _E7


def _instants(
    ms: npt.NDArray[np.float64], texts: pa.Array
) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """UTC instants from epoch milliseconds, else ISO text; and which texts did not parse."""
    no_ms = np.isnan(ms)
    micros = np.rint(np.where(no_ms, 0, ms) * 1000).astype(np.int64)
    from_ms = pa.array(micros, pa.int64(), mask=no_ms).cast(pa.timestamp("us", tz="UTC"))
    try:
        from_text = texts.cast(pa.timestamp("us", tz="UTC"))
        bad = np.zeros(len(ms), bool)
    except pa.ArrowInvalid:  # a zone-less or otherwise odd time: the slower, lenient parser
        from_text, _, bad = parse_iso_times(texts.to_pylist())
    return pc.coalesce(from_ms, from_text), bad & no_ms


def _check(
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    ms: npt.NDArray[np.float64],
    timestamp: pa.Array,
    bad_time: npt.NDArray[np.bool_],
    lines: _Lines,
    source: Source,
) -> npt.NDArray[np.bool_]:
    """Which rows are usable; the others are rejected with their line and reason."""
    no_time = np.isnan(ms) & pc.is_null(timestamp).to_numpy(zero_copy_only=False)
    no_place = np.isnan(lat) | np.isnan(lon)
    outside = ~no_place & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    usable: npt.NDArray[np.bool_] = ~(no_time | bad_time | no_place | outside)
    if not usable.all():
        _reject(no_place, _NO_PLACE, lines, source)
        _reject(outside, _OUTSIDE, lines, source)
        placed = ~no_place & ~outside
        _reject(no_time & placed, _NO_TIME, lines, source)
        _reject(bad_time & placed, _BAD_TIME, lines, source)
    return usable


def _reject(mask: npt.NDArray[np.bool_], reason: str, lines: _Lines, source: Source) -> None:
    for line in lines.of(np.flatnonzero(mask)):
        source.reject("location_points", reason, line)


def _nullable(values: npt.NDArray[np.float64]) -> pa.Array:
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def _extra(raw: pa.Table, number: dict[str, npt.NDArray[np.float64]]) -> pa.Array:
    """The `extra` JSON of every row, assembled column-wise (NULL when there is nothing).

    The members every point has (source, device, platform) take few distinct
    values together: each combination's text is written once, and comes last.
    The rarer ones come first, where present.
    """
    activity, confidence = _top_activities(raw)
    common = _combinations(
        [
            ("source", _array(raw["source"])),
            ("device_tag", _array(raw["deviceTag"])),
            ("platform_type", _array(raw["platformType"])),
        ]
    )
    rare = [
        ("heading", _nullable(number["heading"])),
        ("vertical_accuracy", _nullable(number["verticalAccuracy"])),
        ("activity", activity),
        ("activity_confidence", confidence),
    ]
    present = [(key, values) for key, values in rare if values.null_count < len(values)]
    if common.null_count == 0:
        # Every row has a common member to end with: the rare ones each bring a
        # trailing comma, and one join writes the whole object.
        members = [_member(key, values, after=",") for key, values in present]
        return pc.binary_join_element_wise("{", *members, common, "}", "", null_handling="replace")
    # Some rows have none (old files): members bring a leading comma, the first is cut.
    members = [_member(key, values, before=",") for key, values in present]
    last = pc.binary_join_element_wise(",", common, "")
    return _braced(pc.binary_join_element_wise(*members, last, "", null_handling="replace"))


def _combinations(members: Sequence[tuple[str, pa.Array]]) -> pa.Array:
    """`"a":1,"b":"x"` per row (NULL: none), written once per distinct combination."""
    codes = np.zeros(len(members[0][1]), np.int64)
    dictionaries = []
    for _, values in members:
        encoded = pc.dictionary_encode(values)
        size = len(encoded.dictionary) + 1  # the last code: null
        indices = encoded.indices.fill_null(size - 1).to_numpy(zero_copy_only=False)
        codes = codes * size + indices
        dictionaries.append((encoded.dictionary.to_pylist(), size))
    # Few codes: a table lookup finds the distinct ones without sorting.
    seen = np.flatnonzero(np.bincount(codes))
    number_of = np.zeros(seen[-1] + 1 if len(seen) else 1, np.int64)
    number_of[seen] = np.arange(len(seen))
    texts = [_combination_text(int(code), members, dictionaries) for code in seen]
    return pc.take(pa.array(texts, pa.string()), pa.array(number_of[codes]))


def _combination_text(
    code: int, members: Sequence[tuple[str, pa.Array]], dictionaries: list[tuple[list[Any], int]]
) -> str | None:
    values: dict[str, Any] = {}
    for (key, _), (dictionary, size) in zip(reversed(members), reversed(dictionaries), strict=True):
        code, index = divmod(code, size)
        if index < len(dictionary):
            values[key] = dictionary[index]
    ordered = {key: values[key] for key, _ in members if key in values}
    return msgspec.json.encode(ordered).decode()[1:-1] if ordered else None


def _member(key: str, values: pa.Array, *, before: str = "", after: str = "") -> pa.Array:
    """`"key":value` where there is a value, else NULL (strings JSON-quoted, numbers as text)."""
    text = _json_strings(values) if pa.types.is_string(values.type) else values.cast(pa.string())
    return pc.binary_join_element_wise(f'{before}"{key}":', text, after, "")


def _braced(members: pa.Array) -> pa.Array:
    """`{...}` around members that each start with a comma; NULL when there are none."""
    text = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(members, 1), "}", "")
    return pc.if_else(pc.equal(members, ""), pa.scalar(None, pa.string()), text)


def _json_strings(values: pa.Array) -> pa.Array:
    """Each string as a JSON string literal: encoded once per distinct value."""
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary.to_pylist()
    literals = pa.array([msgspec.json.encode(text).decode() for text in dictionary], pa.string())
    return pc.take(literals, encoded.indices)


def _top_activities(raw: pa.Table) -> tuple[pa.Array, pa.Array]:
    """The first guess's first activity (Google lists them most likely first) and its
    confidence per point, found through the lists' offsets."""
    where = np.full(raw.num_rows, -1, np.int64)
    tops: list[pa.StructArray] = []
    for outer, inner in (("activity", "activity"), ("activitys", "activities")):
        guesses, rows = _firsts(_array(raw[outer]))
        activities, with_activity = _firsts(guesses.field(inner))
        where[rows[with_activity]] = np.arange(len(with_activity)) + sum(map(len, tops))
        tops.append(activities)
    top = pa.concat_arrays(tops)
    index = pa.array(where, mask=where < 0)
    return pc.take(top.field("type"), index), pc.take(top.field("confidence"), index)


def _firsts(lists: pa.ListArray) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """The first element of each non-empty list, and the rows they come from."""
    offsets = lists.offsets.to_numpy()
    present = offsets[1:] > offsets[:-1]
    if lists.null_count:
        present &= lists.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(present)
    # `values` ignores a slice's offset, and the offsets index it as they are.
    return lists.values.take(pa.array(offsets[:-1][rows])), rows
