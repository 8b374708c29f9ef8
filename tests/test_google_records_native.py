"""The C scanner of Records.json (`selfdata._jsonscan`) against the readers it stands in for.

Its oracle is the reader used without the extension (SELFDATA_PURE_PYTHON=1):
DuckDB's JSON reader, and msgspec element by element for a piece DuckDB
refuses. With the scanner, every file must give exactly the same rows (`extra`
byte for byte), the same rejects with the same lines and the same repairs:
on the fixtures (minified, pretty with a BOM and CRLF, nested activity
arrays, `timestampMs` and ISO times, numbers as strings, edge values, bad
records), on the corpus, on values the scanner leaves to DuckDB, and on
random files. On regular files msgspec's reader must agree too.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfdata.errors import ParseError
from selfdata.importers import _google_records, google_location
from selfdata.importers.base import HEAD_BYTES, Reject, Source

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "google_records"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "google_location"
# The corpus's Records.json-shaped files (the others are Timeline shapes).
CORPUS_RECORDS = [
    CORPUS / name
    for name in (
        "dawarich_records.json",
        "google-takeout-to-sqlite_Location_History.json",
        "google-timeline-parser_Standortverlauf_Records.json",
        "track_prague-2014-04-25_Records.json",
    )
]
needs_scanner = pytest.mark.skipif(
    _google_records._jsonscan is None, reason="selfdata._jsonscan is not built"
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
# Fixtures the scanner reads itself (the others hold something it leaves to DuckDB).
SCANNED = ["minified_activities.json", "pretty_bom_crlf.json", "edge_values.json"]

# Rows, rejects and repairs; or the error that failed the file.
Rows = tuple[list[dict[str, Any]], list[Reject], dict[str, int]]
Read = Rows | tuple[str, str]


@contextmanager
def reader(name: str) -> Iterator[None]:
    """Read with "c" (the scanner, DuckDB for what it declines), "duckdb" (as without
    the extension) or "msgspec" (element by element, as for a piece DuckDB refuses)."""
    before = os.environ.get("SELFDATA_PURE_PYTHON")
    os.environ["SELFDATA_PURE_PYTHON"] = "0" if name == "c" else "1"
    try:
        if name == "msgspec":
            with mock.patch.object(_google_records._Parser, "decode", side_effect=ValueError):
                yield
        else:
            yield
    finally:
        if before is None:
            del os.environ["SELFDATA_PURE_PYTHON"]
        else:
            os.environ["SELFDATA_PURE_PYTHON"] = before


def read(path: Path, name: str, chunk_bytes: int | None = None) -> Read:
    """The rows (`extra` as its text), rejects and repairs of a Records.json, or the
    error that fails it."""
    source = Source(path)
    chunk = chunk_bytes or google_location.CHUNK_BYTES
    with reader(name), mock.patch.object(google_location, "CHUNK_BYTES", chunk):
        try:
            batches = list(google_location.read(source))
        except (ParseError, RuntimeWarning) as error:  # warnings are errors in the tests
            return type(error).__name__, str(error)
    rows = [row for batch in batches for row in _python_rows(batch.rows)]
    return rows, source.rejects, source.repairs


def _python_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as Python values; times past datetime's year 9999 as microseconds."""
    try:
        return table.to_pylist()
    except OverflowError:
        micros = table["recorded_at"].cast(pa.int64())
        return table.set_column(0, "recorded_at", micros).to_pylist()


def read_rows(path: Path) -> Rows:
    """What the scanner reads of a file that imports."""
    result = read(path, "c")
    assert len(result) == 3, result
    return result


def piece_of(path: Path) -> bytes:
    """The whole `locations` array, as one piece for the scanner."""
    data = path.read_bytes()
    return data[data.index(b"[") : data.rindex(b"]") + 1]


def records_file(tmp_path: Path, elements: list[str], indent: str = "") -> Path:
    """A Records.json of these element texts."""
    path = tmp_path / "Records.json"
    path.write_text('{"locations": [' + f",{indent}".join(elements) + "]}", encoding="utf-8")
    return path


# --- the fixtures ---------------------------------------------------------------------


@needs_scanner
@pytest.mark.parametrize("name", SCANNED)
def test_the_scanner_reads_these_fixtures_itself(name: str) -> None:
    found = _google_records._jsonscan.locations(piece_of(FIXTURES / name))
    assert isinstance(found, tuple), found


@needs_scanner
@pytest.mark.parametrize(
    "path",
    [
        *(FIXTURES / name for name in SCANNED),
        FIXTURES / "bad_records.json",
        FIXTURES / "bad_shapes.json",
        DATA / "google_location" / "Records.json",
        DATA / "google_location" / "Location History.json",
    ],
    ids=lambda path: path.name,
)
@pytest.mark.parametrize("chunk_bytes", [None, 1, 300])
def test_fixtures_read_as_without_the_scanner(path: Path, chunk_bytes: int | None) -> None:
    scanned = read(path, "c", chunk_bytes)
    assert scanned[0], "no rows"
    assert scanned == read(path, "duckdb", chunk_bytes)


def test_a_regular_fixture_reads_the_same_element_by_element() -> None:
    # Not minified_activities.json: element by element, a null among a point's
    # activity guesses loses its whole guess, where DuckDB (and so C) skips the null.
    path = FIXTURES / "pretty_bom_crlf.json"
    assert read(path, "c") == read(path, "msgspec")


def test_minified_activities_rows() -> None:
    rows, rejects, repairs = read_rows(FIXTURES / "minified_activities.json")
    assert (len(rows), rejects, repairs) == (10, [], {})
    assert [row["extra"] for row in rows] == [
        '{"heading":90,"vertical_accuracy":2,"activity":"STILL","activity_confidence":75,'
        '"source":"GPS","device_tag":-412093485}',
        '{"activity":"TILTING","activity_confidence":60,"source":"WIFI",'
        '"device_tag":1978796627,"platform_type":"ANDROID"}',
        # Escapes resolved and written again as msgspec writes them.
        '{"activity":"\U0001f600 EXITING_VEHICLE","activity_confidence":51,'
        '"source":"Caf\u00e9 \\"Wi-Fi\\" \\\\ 5\u00a0GHz\\n","device_tag":1978796627,'
        '"platform_type":"ANDROID/TV\\t\\u0001\\b\\f\\r"}',
        # The old `activitys` spelling.
        '{"activity":"still","activity_confidence":100,"source":"GPS","device_tag":0,'
        '"platform_type":"IOS"}',
        # Both spellings: `activitys` wins.
        '{"activity":"onFoot","activity_confidence":30,"source":"GPS"}',
        None,  # empty guesses, nulls
        None,  # the first guess has no activities: the second is not looked at
        None,
        '{"activity_confidence":12}',
        None,  # a first activity of nulls; keys differing in case are not ours
    ]
    first = rows[0]
    assert (first["recorded_at"], first["lat"], first["lon"]) == (
        datetime(2015, 7, 18, 23, 57, 26, 12000, tzinfo=UTC),
        37.6955289,
        -121.9287261,
    )
    assert (first["accuracy_m"], first["altitude_m"], first["speed_mps"]) == (45, 105, 3)
    assert [row["recorded_at"] for row in rows[3:5]] == [
        datetime(2020, 2, 29, 22, 59, 59, 500000, tzinfo=UTC),
        datetime(2020, 3, 1, 15, 0, tzinfo=UTC),
    ]


def test_edge_values_rows() -> None:
    rows, rejects, repairs = read_rows(FIXTURES / "edge_values.json")
    assert [row["extra"] for row in rows] == [
        '{"heading":0.1,"vertical_accuracy":2.5,"activity":"IN_VEHICLE",'
        '"activity_confidence":33.333333333333336}',
        '{"heading":1e-7,"vertical_accuracy":0.000012345,"activity":"STILL",'
        '"activity_confidence":1.23456789012345e+14}',
        # An integer -0 reads as +0 (as DuckDB reads it), "-0" as -0.
        '{"heading":0,"vertical_accuracy":-0,"device_tag":9223372036854775807}',
        '{"heading":9999999999,"vertical_accuracy":1e+10,"activity":"STILL",'
        '"activity_confidence":1e+21,"device_tag":-9223372036854775808}',
        '{"heading":1.2345678901234567e+19,"vertical_accuracy":0.30000000000000004,'
        '"activity":"","activity_confidence":-1.5e-7,"device_tag":-7}',
        None,
        None,
        '{"source":"GPS"}',
    ]
    # Munich's clocks go forward at 01:00 UTC that night.
    assert [row["utc_offset_min"] for row in rows[:2]] == [60, 120]
    assert [(row["lat"], row["lon"]) for row in rows[5:7]] == [(90, -180), (0, 0)]
    assert rows[2]["recorded_at"] == datetime(2024, 3, 31, 1, 0, 0, 500, tzinfo=UTC)
    assert (rows[2]["altitude_m"], rows[2]["speed_mps"]) == (-12.75, 12.5)
    assert (rows[4]["lat"], rows[4]["accuracy_m"]) == (48.13715445, 5e-324)
    assert rows[6]["recorded_at"] == datetime(2000, 2, 28, 22, 0, tzinfo=UTC)
    # timestampMs wins over timestamp.
    assert rows[7]["recorded_at"] == datetime(2024, 3, 31, 1, 0, 0, 3000, tzinfo=UTC)
    assert repairs == {"E7 coordinate past 180 degrees mended by -2^32": 1}
    assert [(reject.reason, reject.line) for reject in rejects] == [
        ("no latitudeE7/longitudeE7", 69),
        ("no latitudeE7/longitudeE7", 73),
        ("coordinates out of range", 52),
        ("coordinates out of range", 60),
        ("no timestamp or timestampMs", 64),
    ]


def test_bad_records_are_rejected_with_their_lines() -> None:
    rows, rejects, _ = read_rows(FIXTURES / "bad_records.json")
    assert len(rows) == 2
    assert rejects == [
        Reject("location_points", "no latitudeE7/longitudeE7", 6),
        Reject("location_points", "coordinates out of range", 9),
        Reject("location_points", "no timestamp or timestampMs", 13),
    ]


def test_pretty_bom_crlf_mends_overflows() -> None:
    rows, rejects, repairs = read_rows(FIXTURES / "pretty_bom_crlf.json")
    assert (len(rows), rejects) == (5, [])
    assert (rows[3]["lat"], rows[3]["lon"]) == (37.695534, -1e-7)
    assert repairs == {
        "E7 coordinate past 90 degrees mended by -2^32": 1,
        "E7 coordinate past 180 degrees mended by -2^32": 1,
    }
    assert rows[1]["extra"] == '{"heading":12,"activity":"still","activity_confidence":75}'


@needs_scanner
@needs_corpus
@pytest.mark.parametrize("path", CORPUS_RECORDS, ids=lambda path: path.name)
def test_corpus_records_read_as_without_the_scanner(path: Path) -> None:
    assert google_location.kind_of(path.read_bytes()[:HEAD_BYTES]) == "records"
    assert isinstance(_google_records._jsonscan.locations(piece_of(path)), tuple)
    scanned = read(path, "c")
    assert scanned == read(path, "duckdb") == read(path, "msgspec")


@needs_corpus
def test_corpus_prague_figures() -> None:
    rows, rejects, repairs = read_rows(CORPUS / "track_prague-2014-04-25_Records.json")
    assert (len(rows), rejects, repairs) == (2039, [], {})
    assert sum(row["altitude_m"] is None for row in rows) == 1437
    assert all(row["utc_offset_min"] == 120 for row in rows)  # Prague in April: CEST


# --- what the scanner leaves to DuckDB, and what it reads --------------------------------

NORMAL = '{"latitudeE7": 481234567, "longitudeE7": 115678901, "timestamp": "2024-05-01T10:00:00Z"}'
PLACE = '"latitudeE7": 481234567, "longitudeE7": 115678901'


@needs_scanner
@pytest.mark.parametrize(
    "element",
    [
        f'{{{PLACE}, "timestampMs": "1714557600000", "deviceTag": 1.5}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": true}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "12 "}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "0x10"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "NaN"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": NaN}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": 1e400}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "source": 12}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "source": "\\ud800"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "source": "\\u00e9\\udc00"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "source": "a\tb"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000",}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "latitudeE7": 1}}',
        f'{{{PLACE}, "timestamp": "2024-05-01T10:00:00.1234567Z"}}',
        f'{{{PLACE}, "timestamp": "2024-05-01 10:00:00Z"}}',
        f'{{{PLACE}, "timestamp": "2024-05-01T10:00:00+0200"}}',
        f'{{{PLACE}, "timestamp": "2024-05-01T10:00:00z"}}',
        f'{{{PLACE}, "timestamp": "2024-02-30T10:00:00Z"}}',
        f'{{{PLACE}, "timestamp": 1714557600}}',
        f'{{{PLACE}, "timestampMs": 1e30}}',
        '{"la\\u0074itudeE7": 481234567, "longitudeE7": 1, "timestampMs": 1714557600000}',
        f'{{{PLACE}, "timestampMs": "1", "activity": {{"activity": []}}}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [null, {{"activity": []}}]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{"activity": [null]}}]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{"activity": [{{"type": 7}}]}}]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{"activity": [], "activity": []}}]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [1]}}',
        f'{{{PLACE}, "timestampMs": "0012"}}',
        "null",
        "[]",
    ],
)
def test_values_the_scanner_leaves_to_duckdb_read_as_without_it(
    tmp_path: Path, element: str
) -> None:
    path = records_file(tmp_path, [NORMAL, element, NORMAL])
    assert isinstance(_google_records._jsonscan.locations(piece_of(path)), str)
    assert read(path, "c") == read(path, "duckdb")


@needs_scanner
@pytest.mark.parametrize(
    "element",
    [
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "-0.0"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "1E+2"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "heading": "12.0", "x": 1}}',
        f'{{{PLACE}, "timestampMs": "1714557600000", "deviceTag": "-0"}}',
        f'{{{PLACE}, "timestampMs": "1714557600000.75"}}',
        f'{{{PLACE}, "timestampMs": -1}}',
        f'{{{PLACE}, "timestamp": "2024-05-01T10:00:00.5-00:00"}}',
        f'{{{PLACE}, "timestamp": "0001-01-01T00:00:00Z"}}',
        f'{{{PLACE}, "timestamp": "9999-12-31T23:59:59.999999+23:59"}}',
        f'{{{PLACE}, "timestampMs": "1", "source": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u001f\\u007f"}}',
        f'{{{PLACE}, "timestampMs": "1", "source": "\\ud83d\\ude00 \u00e9\u4e2d"}}',
        f'{{{PLACE}, "timestampMs": "1", "source": "", "platformType": "\\u0000"}}',
        f'{{{PLACE}, "timestampMs": "1", "Source": 1, "": [{{"": {{}}}}], "x": "\\u0041"}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{"activity": [{{"type": "A"}}]}}, null]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{"activity": null, "timestamp": "x"}}]}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": [{{}}], "activitys": []}}',
        f'{{{PLACE}, "timestampMs": "1", "activity": null, "heading": null, "deviceTag": null}}',
        '{"latitudeE7": -0, "longitudeE7": "-0", "timestampMs": 0}',
        '{"latitudeE7": 2147483648, "longitudeE7": 4294967295, "timestampMs": 1}',
        '{"longitudeE7": 1, "timestampMs": 1}',
        '{"latitudeE7": 1, "longitudeE7": 1}',
        '{"latitudeE7": 1900000000, "longitudeE7": 1, "timestampMs": 1}',
        "{}",
    ],
)
def test_values_the_scanner_reads_as_duckdb_does(tmp_path: Path, element: str) -> None:
    path = records_file(tmp_path, [NORMAL, element, NORMAL], indent="\n ")
    assert isinstance(_google_records._jsonscan.locations(piece_of(path)), tuple)
    assert read(path, "c") == read(path, "duckdb")


@needs_scanner
def test_a_piece_cut_inside_an_element_is_a_value_error() -> None:
    piece = piece_of(FIXTURES / "minified_activities.json")
    # A cut after a `}` closing an activity, as a wrong guess makes.
    cut = piece.index(b'"confidence":25}') + len(b'"confidence":25}')
    with pytest.raises(ValueError, match="ends inside an element"):
        _google_records._jsonscan.locations(piece[:cut] + b"]")
    assert _google_records._jsonscan.locations(b"[]")[0] == 0


@needs_scanner
def test_newlines_are_counted_as_bytes_count_does() -> None:
    data = bytearray(FIXTURES.joinpath("pretty_bom_crlf.json").read_bytes() * 40)
    rnd = random.Random(3)
    for _ in range(50):
        start = rnd.randrange(len(data))
        end = rnd.randrange(start, len(data) + 1)
        assert _google_records._jsonscan.newlines(data, start, end) == data.count(b"\n", start, end)
    with pytest.raises(IndexError):
        _google_records._jsonscan.newlines(data, 0, len(data) + 1)


def test_without_the_scanner_the_importer_still_reads(tmp_path: Path) -> None:
    with reader("duckdb"):
        assert not _google_records.native()
    assert read(FIXTURES / "minified_activities.json", "duckdb")[0]


# --- random files ------------------------------------------------------------------------


def random_element(rnd: random.Random) -> dict[str, Any]:
    """A location whose values are all of kinds the scanner reads itself."""

    def number(low: float, high: float) -> Any:
        value: Any = rnd.choice([rnd.randint(int(low), int(high)), rnd.uniform(low, high)])
        return str(value) if rnd.random() < 0.2 else value

    element: dict[str, Any] = {
        "latitudeE7": rnd.choice([rnd.randint(-900_000_000, 900_000_000), 4_100_000_000]),
        "longitudeE7": rnd.randint(-1_800_000_000, 1_800_000_000),
    }
    if rnd.random() < 0.5:
        element["timestampMs"] = str(rnd.randint(0, 1_800_000_000_000))
    else:
        instant = datetime.fromtimestamp(rnd.uniform(0, 1.8e9), UTC)
        digits = rnd.choice(["seconds", "milliseconds", "microseconds"])
        element["timestamp"] = instant.isoformat(timespec=digits).replace("+00:00", "Z")
    for key, low, high in (
        ("accuracy", 0, 20000),
        ("altitude", -400, 9000),
        ("velocity", 0, 300),
        ("heading", 0, 359),
        ("verticalAccuracy", 0, 500),
    ):
        if rnd.random() < 0.5:
            element[key] = number(low, high) if rnd.random() < 0.9 else None
    if rnd.random() < 0.7:
        element["source"] = rnd.choice(["GPS", "WIFI", "CELL", "Unknown \u00e9\n", None])
    if rnd.random() < 0.6:
        element["deviceTag"] = rnd.choice([rnd.randint(-(2**63), 2**63 - 1), -1, "42", None])
    if rnd.random() < 0.5:
        element["platformType"] = rnd.choice(["ANDROID", "IOS", '\u0001"x\\'])
    if rnd.random() < 0.4:
        key, inner = rnd.choice([("activity", "activity"), ("activitys", "activities")])
        guesses = [
            {
                inner: [
                    {
                        "type": rnd.choice(["STILL", "ON_FOOT", "\u00fcber"]),
                        "confidence": number(0, 100),
                    }
                    for _ in range(rnd.randint(1, 3))
                ],
                "timestamp": "2020-01-01T00:00:00Z",
            }
            for _ in range(rnd.randint(0, 3))
        ]
        element[key] = guesses
    if rnd.random() < 0.2:
        element["locationMetadata"] = [
            {"wifiScan": {"accessPoints": [{"mac": "1", "strength": -3}]}}
        ]
    if rnd.random() < 0.05:
        del element[rnd.choice(["latitudeE7", "longitudeE7"])]
    return element


@needs_scanner
@pytest.mark.parametrize("seed", range(6))
def test_random_files_read_as_without_the_scanner(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    elements = [random_element(rnd) for _ in range(400)]
    indent = None if seed % 2 else 2
    path = tmp_path / "Records.json"
    path.write_text(json.dumps({"locations": elements}, indent=indent, ensure_ascii=seed % 3 == 0))
    assert isinstance(_google_records._jsonscan.locations(piece_of(path)), tuple)
    scanned = read(path, "c", 4096)
    assert scanned == read(path, "duckdb", 4096)
    # DuckDB takes the scanner's `extra` as JSON without parsing it: it must be.
    assert all(json.loads(row["extra"]) for row in scanned[0] if row["extra"])


_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
)
_KEYS = st.sampled_from(
    [
        "latitudeE7",
        "longitudeE7",
        "timestampMs",
        "timestamp",
        "accuracy",
        "altitude",
        "velocity",
        "heading",
        "verticalAccuracy",
        "source",
        "deviceTag",
        "platformType",
        "other",
    ]
)


_ACTIVITY = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["type", "confidence", "x"]), _VALUE, max_size=3)
)
_GUESSES = st.one_of(
    _VALUE,
    st.lists(
        st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["activity", "activities", "timestamp"]),
                st.one_of(_VALUE, st.lists(_ACTIVITY, max_size=3)),
                max_size=2,
            ),
        ),
        max_size=3,
    ),
)


@needs_scanner
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(_KEYS, _VALUE, max_size=8),
            st.dictionaries(st.sampled_from(["activity", "activitys"]), _GUESSES, max_size=2),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_values_read_as_without_the_scanner(
    tmp_path: Path, elements: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    base = {"latitudeE7": 481234567, "longitudeE7": 115678901, "timestampMs": "1714557600000"}
    locations = [{**base, **values, **guesses} for values, guesses in elements]
    path = tmp_path / "Records.json"
    path.write_text(json.dumps({"locations": locations}))
    assert read(path, "c") == read(path, "duckdb")
