"""The Google location importer: detection, whole rows of every shape, the chunked
Records reader, local offsets from coordinates, rejects, zips, the engine."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from selfdata import open_vault
from selfdata.errors import ParseError
from selfdata.importers import Registry, google_location
from selfdata.importers._google_stream import JsonStream, element_starts
from selfdata.importers._local_offsets import LocalOffsets
from selfdata.importers.base import Reject, Source
from selfdata.ingest import FileResult, import_paths

DATA = Path(__file__).parent / "data" / "google_location"

Rows = dict[str, list[dict[str, Any]]]


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path)
    tables: Rows = {}
    for batch in google_location.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"]) if row["extra"] else None
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def point(at: datetime, offset: int | None, lat: float, lon: float, **values: Any) -> Any:
    return {
        "recorded_at": at,
        "utc_offset_min": offset,
        "lat": lat,
        "lon": lon,
        "accuracy_m": values.get("accuracy_m"),
        "altitude_m": values.get("altitude_m"),
        "speed_mps": values.get("speed_mps"),
        "source": values.get("source", "google_records"),
        "workout_id": None,
        "extra": values.get("extra"),
    }


def import_google(paths: list[Path], vault: Path) -> list[FileResult]:
    registry = Registry()
    registry.register(google_location, origin="builtin")
    return import_paths(paths, vault=vault, registry=registry)


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


# detect


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b'{\n  "locations": [{\n    "latitudeE7": 481234567,', "records"),
        (b'\xef\xbb\xbf{\n  "locations" : [ {\n    "timestampMs" : "1437263846012",', "records"),
        (b'{"timelineObjects": [{"placeVisit": {', "semantic"),
        (b'\xef\xbb\xbf{"timelineObjects":[', "semantic"),
        (b'{\n  "semanticSegments": [{\n    "startTime": "2024-01-01T00:00:00Z",', "timeline"),
        (b'{"rawSignals": [{"position": {', "timeline"),
        (
            b'[\n  {\n    "endTime": "2023-08-27T17:04:26.999-05:00",\n'
            b'    "startTime": "2023-08-27T15:48:56.000-05:00",\n    "visit": {',
            "ios",
        ),
        (b'[{"startTime": "2026-07-02T12:30:00Z", "timelinePath": [', "ios"),
        (b'{\n  "timelineEdits": [\n    {\n      "deviceId": "-1613859921",', "edits"),
    ],
)
def test_detect_knows_each_shape_by_its_content(head: bytes, kind: str) -> None:
    assert google_location.kind_of(head) == kind
    assert google_location.detect(head, "whatever.json")


@pytest.mark.parametrize(
    "head",
    [
        b'{"locations": [{"name": "Office", "address": "Main St"}]}',
        b'[{"title": "Searched for pizza", "time": "2024-01-01T00:00:00Z"}]',
        b'[{"dateTime": "02/01/24 00:00:00", "value": {"date": "02/01/24"}}]',
        b'<?xml version="1.0"?>\n<gpx version="1.1">',
        b'{"type": "FeatureCollection", "features": [',
        b'[{"startTime": 1719000000, "activity": {"type": "run"}}]',
        b"",
    ],
    ids=["other-locations", "my-activity", "fitbit", "gpx", "geojson", "numeric-start", "empty"],
)
def test_detect_refuses_other_files_whatever_their_name(head: bytes) -> None:
    assert not google_location.detect(head, "Records.json")


def test_detect_sees_every_fixture() -> None:
    for path in DATA.glob("*.json"):
        assert google_location.detect(path.read_bytes()[:4096], path.name), path.name


# Records.json and Location History.json


def test_records_with_iso_times_strings_overflow_and_activity_guesses() -> None:
    tables, source = read_rows(DATA / "Records.json")
    assert tables == {
        "location_points": [
            # Tokyo in July: +09:00 from the coordinates.
            point(
                utc(2024, 7, 14, 3, 0, 0, 250000),
                540,
                35.6812362,
                139.7671248,
                accuracy_m=12.0,
                altitude_m=44.0,
                speed_mps=1.0,
                extra={
                    "source": "GPS",
                    "device_tag": 1978796627,
                    "platform_type": "ANDROID",
                    "heading": 270,
                    "vertical_accuracy": 3,
                    "activity": "ON_FOOT",
                    "activity_confidence": 78,
                },
            ),
            # E7 written as strings; New York in summer: -04:00. No fraction in the time.
            point(
                utc(2024, 7, 14, 16, 30),
                -240,
                40.7127753,
                -74.0059728,
                accuracy_m=25.0,
                extra={"source": "WIFI", "device_tag": -1, "platform_type": "IOS"},
            ),
            # latitudeE7 4199770056 overflowed int32: 2^32 too high, mended.
            point(
                utc(2024, 7, 14, 18, 0, 0, 500000),
                60,
                -9.519724,
                13.1234567,
                accuracy_m=1400.0,
                extra={"source": "CELL"},
            ),
            # "accuracy": null is no accuracy; a 6-digit fraction.
            point(
                utc(2024, 12, 24, 18, 0, 0, 123456),
                60,
                52.52,
                13.405,
                altitude_m=34.5,
                extra={"source": "WIFI"},
            ),
        ]
    }
    assert source.rejects == [
        Reject("location_points", "no latitudeE7/longitudeE7", 51),
        Reject("location_points", "unparsable timestamp", 55),
    ]
    assert source.repairs == {"E7 coordinate past 90 degrees mended by -2^32": 1}


def test_legacy_location_history_with_bom_timestamp_ms_and_activitys() -> None:
    tables, source = read_rows(DATA / "Location History.json")
    assert tables == {
        "location_points": [
            point(
                utc(2015, 7, 18, 23, 57, 26, 12000), -420, 37.6955289, -121.9287261, accuracy_m=45.0
            ),
            point(
                utc(2015, 7, 18, 23, 58, 25, 529000),
                -420,
                37.6955454,
                -121.9287454,
                accuracy_m=43.0,
                altitude_m=105.0,
                speed_mps=0.0,
                extra={"heading": 12, "activity": "still", "activity_confidence": 75},
            ),
        ]
    }
    assert (source.rejects, source.repairs) == ([], {})


def records_text(locations: list[dict[str, Any]], *, indent: int | None) -> bytes:
    separators = (",", ":") if indent is None else (", ", ": ")
    return json.dumps({"locations": locations}, indent=indent, separators=separators).encode()


# Strings with braces, brackets, commas and escaped quotes, where a chunk may end.
TRICKY = ['W{I}F"I', "}, {", '\\"}]', "\\\\", "[{,}]", 'a"b\\c', "caf\u00e9 \u00b0"]


def tricky_locations(count: int) -> list[dict[str, Any]]:
    locations: list[dict[str, Any]] = []
    for index in range(count):
        location: dict[str, Any] = {
            "latitudeE7": 480000000 + index,
            "longitudeE7": str(110000000 + index),  # numbers as strings too
            "accuracy": index % 50,
            "source": TRICKY[index % len(TRICKY)],
        }
        if index % 3 == 0:
            location["activity"] = [
                {
                    "activity": [
                        {"type": TRICKY[(index + 1) % len(TRICKY)], "confidence": 70},
                        {"type": "STILL", "confidence": 30},
                    ],
                    "timestamp": "2024-01-01T00:00:00Z",
                }
            ]
        if index % 2:
            location["timestampMs"] = str(1704067200000 + index * 1000)
        else:
            location["timestamp"] = f"2024-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}.5Z"
        locations.append(location)
    return locations


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1000, 1 << 24])
@pytest.mark.parametrize("indent", [None, 2], ids=["minified", "pretty"])
def test_records_read_in_chunks_give_the_same_rows_wherever_the_chunks_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int, indent: int | None
) -> None:
    locations = tricky_locations(150)
    path = tmp_path / "Records.json"
    path.write_bytes(records_text(locations, indent=indent))
    monkeypatch.setattr(google_location, "CHUNK_BYTES", chunk_bytes)
    tables, source = read_rows(path)
    rows = tables["location_points"]
    assert (len(rows), source.rejects) == (150, [])
    assert [row["lat"] for row in rows] == [48 + index / 1e7 for index in range(150)]
    assert [row["extra"]["source"] for row in rows] == [loc["source"] for loc in locations]
    activities = [row["extra"].get("activity") for row in rows]
    assert activities == [
        TRICKY[(index + 1) % len(TRICKY)] if index % 3 == 0 else None for index in range(150)
    ]
    assert rows[1]["recorded_at"] == utc(2024, 1, 1, 0, 0, 1)
    assert rows[2]["recorded_at"] == utc(2024, 1, 1, 0, 0, 2, 500000)


def test_pretty_and_minified_records_give_identical_rows(tmp_path: Path) -> None:
    locations = tricky_locations(40)
    tables = []
    for indent in (None, 2, 4):
        path = tmp_path / f"Records-{indent}.json"
        path.write_bytes(records_text(locations, indent=indent))
        tables.append(read_rows(path)[0])
    assert tables[0] == tables[1] == tables[2]


def test_rejected_records_name_their_lines_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locations = tricky_locations(30)
    locations[7]["latitudeE7"] = "north"
    del locations[21]["longitudeE7"]
    path = tmp_path / "Records.json"
    path.write_bytes(records_text(locations, indent=2))
    lines = path.read_text().splitlines()
    starts = [number for number, line in enumerate(lines, 1) if line.startswith("    {")]
    for chunk_bytes in (50, 1 << 20):
        monkeypatch.setattr(google_location, "CHUNK_BYTES", chunk_bytes)
        tables, source = read_rows(path)
        assert len(tables["location_points"]) == 28
        assert source.rejects == [
            Reject("location_points", "latitudeE7 'north' is not a number", starts[7]),
            Reject("location_points", "no latitudeE7/longitudeE7", starts[21]),
        ]


def test_a_truncated_records_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "Records.json"
    path.write_bytes(records_text(tricky_locations(10), indent=2)[:-40])
    with pytest.raises(ParseError, match="truncated"):
        read_rows(path)


def test_broken_json_is_a_parse_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "Records.json"
    path.write_text(
        '{\n  "locations": [{\n    "latitudeE7": 1,\n    "longitudeE7": 2,\n'
        '    "timestamp": "2024-01-01T00:00:00Z"\n  }, {\n    "latitudeE7": 1,,\n  }]\n}\n'
    )
    with pytest.raises(ParseError, match=r"not valid JSON .*, at line 7"):
        read_rows(path)


def test_a_file_that_is_not_a_google_export_is_refused_by_read(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"something": []}')
    with pytest.raises(ParseError, match="not a Google location export"):
        read_rows(path)


# Semantic Location History


def test_semantic_history_visits_trips_and_raw_paths() -> None:
    tables, source = read_rows(DATA / "2019_JULY.json")
    assert tables["visits"] == [
        {
            "start_at": utc(2019, 7, 8, 8),  # startTimestampMs
            "end_at": utc(2019, 7, 8, 17),
            "utc_offset_min": 120,
            "lat": 48.137154,
            "lon": 11.576124,
            "place_id": "ChIJ2V-Mo_l1nkcRfZixfUq4DAE",
            "place_name": "Home",
            "place_address": "Marienplatz 1, 80331 München, Germany",
            "semantic_type": "home",
            "confidence": 0.87,
            "derived": False,
            "extra": {
                "semantic_type": "TYPE_HOME",
                "place_confidence": "HIGH_CONFIDENCE",
                "location_confidence": 96.4,
                "edit_confirmation_status": "CONFIRMED",
                "candidates": [
                    {
                        "place_id": "ChIJ-other-bakery",
                        "lat": 48.1372,
                        "lon": 11.576,
                        "semantic_type": "TYPE_SEARCHED_ADDRESS",
                        "confidence": 2.1,
                    }
                ],
            },
        }
    ]

    def trip(start: datetime, end: datetime, places: tuple[float, ...], **rest: Any) -> Any:
        return {
            "start_at": start,
            "end_at": end,
            "utc_offset_min": 120,
            "start_lat": places[0],
            "start_lon": places[1],
            "end_lat": places[2],
            "end_lon": places[3],
            "derived": False,
            **rest,
        }

    assert tables["trips"] == [
        trip(
            utc(2019, 7, 8, 9),
            utc(2019, 7, 8, 9, 31, 15, 250000),
            (48.137154, 11.576124, 48.177722, 11.556203),
            distance_m=5120.0,
            mode="bus",
            extra={
                "activity_type": "IN_BUS",
                "confidence": "HIGH",
                "travel_mode": "DRIVE",
                "waypoints": [[48.137154, 11.576124], [48.16, 11.57]],
            },
        ),
        # Empty start/end locations: the first and last waypoints; the most likely
        # activity; the waypoint path's distance.
        trip(
            utc(2019, 7, 8, 18),
            utc(2019, 7, 8, 18, 20),
            (48.177722, 11.556203, 48.137154, 11.576124),
            distance_m=5301.5,
            mode="cycling",
            extra={
                "activity_type": "CYCLING",
                "travel_mode": "BICYCLE",
                "waypoints": [[48.177722, 11.556203], [48.137154, 11.576124]],
            },
        ),
    ]
    raw = {"kind": "simplified_raw_path"}
    assert tables["location_points"] == [
        point(
            utc(2019, 7, 8, 8, 5),
            120,
            48.13716,
            11.57613,
            accuracy_m=10.0,
            source="google_semantic",
            extra=raw,
        ),
        point(
            utc(2019, 7, 8, 9, 10),
            120,
            48.16,
            11.57,
            accuracy_m=8.0,
            source="google_semantic",
            extra=raw,
        ),
    ]
    assert source.rejects == [Reject("visits", "no start time", 83)]


def test_semantic_type_and_mode_words() -> None:
    from selfdata.importers._google_timeline import mode_of, semantic_type_of

    assert [semantic_type_of(t) for t in ("TYPE_WORK", "HOME", "Inferred Home", "UNKNOWN")] == [
        "work",
        "home",
        "home",
        None,
    ]
    modes = {
        "WALKING": "walking",
        "ON_FOOT": "walking",
        "RUNNING": "running",
        "ON_BICYCLE": "cycling",
        "IN_TAXI": "car",
        "MOTORCYCLING": "car",
        "DRIVING": "car",
        "IN_TRAIN": "train",
        "IN_TRAM": "tram",
        "IN_SUBWAY": "subway",
        "SAILING": "ferry",
        "IN_FERRY": "ferry",
        "FLYING": "flying",
        "SKIING": "other",
        "UNKNOWN_ACTIVITY_TYPE": "unknown",
    }
    assert {word: mode_of(word) for word in modes} == modes


# the on-device Timeline


def test_android_timeline_with_degree_signs_offsets_and_raw_signals() -> None:
    tables, source = read_rows(DATA / "Timeline.json")
    assert tables["visits"] == [
        {
            "start_at": utc(2024, 3, 30, 21),
            "end_at": utc(2024, 3, 31, 7, 15),
            "utc_offset_min": 60,  # written: Berlin before the clocks changed
            "lat": 52.52,
            "lon": 13.405,
            "place_id": "ChIJhome",
            "place_name": None,
            "place_address": None,
            "semantic_type": "home",
            "confidence": 0.9,
            "derived": False,
            "extra": {
                "semantic_type": "INFERRED_HOME",
                "place_probability": 0.85,
                "hierarchy_level": 0,
            },
        }
    ]
    assert tables["trips"] == [
        {
            "start_at": utc(2024, 3, 31, 7, 15),
            "end_at": utc(2024, 3, 31, 7, 40),
            "utc_offset_min": 120,
            "start_lat": 52.52,  # written as "\u00b0" escapes
            "start_lon": 13.405,
            "end_lat": 52.5163,
            "end_lon": 13.3777,
            "distance_m": 2480.5,
            "mode": "car",
            "derived": False,
            "extra": {"activity_type": "IN_PASSENGER_VEHICLE", "probability": 0.88},
        }
    ]
    path = {"kind": "timeline_path"}
    assert tables["location_points"] == [
        point(utc(2024, 3, 31, 7, 14), 120, 52.52, 13.405, source="google_timeline", extra=path),
        point(utc(2024, 3, 31, 7, 30), 120, 52.518, 13.39, source="google_timeline", extra=path),
        # A raw signal in Z time: the offset comes from Berlin's rules that day.
        point(
            utc(2024, 3, 31, 7, 41),
            120,
            52.5163,
            13.3777,
            accuracy_m=13.0,
            altitude_m=41.5,
            speed_mps=0.25,
            source="google_timeline",
            extra={
                "kind": "raw_signal",
                "source": "WIFI",
                "activity": "STILL",
                "activity_confidence": 0.96,
            },
        ),
    ]
    assert source.rejects == [Reject("location_points", "no usable coordinates", 31)]
    assert source.repairs == {"a timeline path point repeated in its segment dropped": 1}


def test_ios_timeline_with_geo_strings_and_numbers_as_strings() -> None:
    tables, source = read_rows(DATA / "location-history.json")
    assert [
        (
            v["start_at"],
            v["end_at"],
            v["utc_offset_min"],
            v["lat"],
            v["lon"],
            v["place_id"],
            v["semantic_type"],
            v["confidence"],
            v["extra"],
        )
        for v in tables["visits"]
    ] == [
        (
            utc(2024, 7, 13, 23),
            utc(2024, 7, 14, 0, 30),
            540,
            35.681236,
            139.767125,
            "ChIJtokyo-office",
            "work",
            0.71,
            {"semantic_type": "Inferred Work", "place_probability": 0.785181, "hierarchy_level": 0},
        ),
        # No endTime: kept, open-ended.
        (utc(2024, 7, 14, 23), None, 540, 35.68, 139.76, None, None, None, None),
    ]
    [trip] = tables["trips"]
    assert (trip["mode"], trip["distance_m"], trip["utc_offset_min"], trip["extra"]) == (
        "subway",
        3500.0,
        540,  # written as Z: Tokyo's offset from the coordinates
        {"activity_type": "in subway", "probability": 0.65},
    )
    path = {"kind": "timeline_path"}
    assert tables["location_points"] == [
        # startTime + durationMinutesOffsetFromStartTime "4"; the repeat is dropped.
        point(utc(2024, 7, 14, 10, 4), 540, 35.67, 139.76, source="google_timeline", extra=path),
        point(
            utc(2024, 7, 14, 10, 20, 30), 540, 35.66, 139.75, source="google_timeline", extra=path
        ),
    ]
    assert source.rejects == [Reject("visits", "no start time", 44)]
    assert source.repairs == {"a timeline path point repeated in its segment dropped": 1}


def test_timeline_edits_positions_with_millimetre_accuracy() -> None:
    tables, source = read_rows(DATA / "Timeline Edits.json")
    assert tables == {
        "location_points": [
            point(
                utc(2024, 7, 14, 16, 30),
                -240,
                40.7127753,
                -74.0059728,
                accuracy_m=12.0,
                altitude_m=10.5,
                source="google_timeline_edits",
                extra={"kind": "raw_signal", "source": "GPS", "device_id": "-1613859921"},
            )
        ]
    }
    assert source.rejects == []


# local offsets


def test_offsets_follow_each_zone_and_its_clock_changes() -> None:
    offsets = LocalOffsets()
    instants = [
        utc(2024, 7, 14, 3),  # Tokyo, no DST
        utc(2024, 7, 14, 16, 30),  # New York, summer
        utc(2024, 1, 14, 16, 30),  # New York, winter
        utc(2024, 3, 31, 0, 59, 59),  # Berlin, the last second of winter time
        utc(2024, 3, 31, 1, 0, 0),  # Berlin, summer time
        utc(2024, 7, 14, 3),  # Kathmandu, +05:45
        utc(2024, 7, 14, 3),  # no zone at the North Pole... tzfpy gives one: not None
    ]
    micros = np.array([int(at.timestamp() * 1_000_000) for at in instants], np.int64)
    lat = np.array([35.68, 40.71, 40.71, 52.52, 52.52, 27.7, np.nan])
    lon = np.array([139.77, -74.0, -74.0, 13.4, 13.4, 85.32, 0.0])
    assert offsets.minutes(lat, lon, micros).to_pylist() == [
        540,
        -240,
        -300,
        60,
        120,
        345,
        None,
    ]


# the engine


def test_every_fixture_imports_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_google([DATA], vault)
    assert {Path(r.name).name: (r.status, r.new) for r in results} == {
        "2019_JULY.json": ("imported", {"location_points": 2, "trips": 2, "visits": 1}),
        "Location History.json": ("imported", {"location_points": 2}),
        "Records.json": ("imported", {"location_points": 4}),
        "Timeline Edits.json": ("imported", {"location_points": 1}),
        "Timeline.json": ("imported", {"location_points": 3, "trips": 1, "visits": 1}),
        "location-history.json": ("imported", {"location_points": 2, "trips": 1, "visits": 2}),
    }
    assert query(vault, "SELECT count(*) FROM visits WHERE derived") == [(0,)]
    again = import_google([DATA], vault)
    assert {r.status for r in again} == {"already_imported"}


def test_an_overlapping_export_adds_only_new_points(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    locations = tricky_locations(20)
    first, second = tmp_path / "a" / "Records.json", tmp_path / "b" / "Records.json"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(records_text(locations[:12], indent=2))
    second.write_bytes(records_text(locations, indent=None))
    [one] = import_google([first], vault)
    [two] = import_google([second], vault)
    assert (one.new, two.new, two.duplicate) == (
        {"location_points": 12},
        {"location_points": 8},
        {"location_points": 12},
    )


def test_a_takeout_zip_with_localised_folders_is_read_by_content(tmp_path: Path) -> None:
    archive = tmp_path / "takeout-20240715T000000Z-001.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(DATA / "Records.json", "Takeout/Standortverlauf (Zeitachse)/Records.json")
        zipped.write(
            DATA / "2019_JULY.json",
            "Takeout/Historial de ubicaciones/Semantic Location History/2019/2019_JULIO.json",
        )
        zipped.writestr("Takeout/Standortverlauf (Zeitachse)/Einstellungen.json", '{"a": 1}')
        zipped.writestr("Takeout/archive_browser.html", "<html></html>")
    vault = tmp_path / "v.duckdb"
    results = import_google([archive], vault)
    by_member = {r.name.rpartition("/")[2]: (r.status, r.new) for r in results}
    assert by_member == {
        "Records.json": ("imported", {"location_points": 4}),
        "2019_JULIO.json": ("imported", {"location_points": 2, "trips": 2, "visits": 1}),
        "Einstellungen.json": ("skipped", {}),
        "archive_browser.html": ("skipped", {}),
    }
    assert query(vault, "SELECT min(utc_offset_min), max(utc_offset_min) FROM location_points") == [
        (-240, 540)
    ]


def test_tokyo_and_new_york_offsets_reach_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_google([DATA / "Records.json"], vault)
    rows = query(
        vault,
        "SELECT strftime(recorded_at AT TIME ZONE 'UTC' + to_minutes(utc_offset_min), "
        "'%Y-%m-%d %H:%M'), utc_offset_min FROM location_points "
        "WHERE lon > 100 OR lon < -70 ORDER BY recorded_at",
    )
    assert rows == [("2024-07-14 12:00", 540), ("2024-07-14 12:30", -240)]


# the stream


def test_element_starts_skip_strings_and_nesting() -> None:
    data = b'[{"a": "}, {"}, [1, {"b": "\\\\"}], "x\\"]", 3]'
    assert element_starts(data).tolist() == [1, 16, 34, 42]


def test_stream_walks_keys_and_skips_values_it_does_not_read() -> None:
    text = b'\xef\xbb\xbf {"skip": {"deep": ["}", {"x": "]"}]}, "k\\"ey": 2, '
    text += b'"arr": [[1], [2, [3]]]}'
    stream = JsonStream(io.BytesIO(text), "t.json", chunk_bytes=3)
    assert stream.root() == "{"
    seen = []
    decode = msgspec.json.Decoder(list[list[Any]]).decode
    for key in stream.object_keys():
        pieces = [p.items for p in stream.pieces(decode)] if key == "arr" else None
        seen.append((key, pieces))
    assert seen[0] == ("skip", None)
    assert seen[1] == ('k"ey', None)
    assert seen[2][0] == "arr"
    assert [item for piece in seen[2][1] for item in piece] == [[1], [2, [3]]]
