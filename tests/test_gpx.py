"""The GPX importer: detection, whole rows, the workout rule, rejects and broken files."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from selfdata import xmlsafe
from selfdata.errors import ParseError, UnsafeInputError
from selfdata.importers import gpx
from selfdata.importers.base import Reject, Source, stable_id

DATA = Path(__file__).parent / "data" / "gpx"
EARTH_RADIUS_M = 6_371_008.8

Rows = dict[str, list[dict[str, Any]]]


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path)
    tables: Rows = {}
    for batch in gpx.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"])
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def write_gpx(tmp_path: Path, body: str, creator: str = "Test") -> Path:
    path = tmp_path / "test.gpx"
    path.write_text(
        f'<?xml version="1.0"?>\n<gpx version="1.1" creator="{creator}" '
        f'xmlns="http://www.topografix.com/GPX/1/1">\n{body}\n</gpx>\n',
        encoding="utf-8",
    )
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def meridian_m(degrees: float) -> float:
    """Distance along a meridian: what haversine must give when only latitude changes."""
    return EARTH_RADIUS_M * math.radians(degrees)


# detect


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="x">',
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<gpx>\n  <wpt',
        b"\n<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<gpx version=\"1.1\"",
        b'<?xml version="1.0"?>\n<gpx\n  version="1.0"\n  creator="GPSBabel">',
        b"<!-- exported by hand -->\r\n<gpx/>",
        b'<?xml version="1.0"?><!DOCTYPE gpx [<!ELEMENT gpx ANY>]><gpx>',
        b'<?xml version="1.0"?><?xml-stylesheet href="gpx.xsl"?><gpx:gpx xmlns:gpx="x">',
    ],
    ids=["plain", "bom", "blank-line", "multi-line", "comment", "doctype", "prefixed"],
)
def test_detect_accepts_gpx_heads(head: bytes) -> None:
    assert gpx.detect(head, "export.xml")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com">',
        b'<?xml version="1.0"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">',
        b"<!-- <gpx> -->\n<kml>",
        b"<gpxdata/>",
        b'{"type": "FeatureCollection"}',
        b"",
        b" " * 4095 + b"x",
    ],
    ids=["tcx", "kml", "gpx-in-comment", "longer-name", "json", "empty", "whitespace"],
)
def test_detect_refuses_other_heads_whatever_the_file_name(head: bytes) -> None:
    assert not gpx.detect(head, "track.gpx")


def test_detect_sees_every_fixture() -> None:
    for path in DATA.glob("*.gpx"):
        assert gpx.detect(path.read_bytes()[:4096], path.name), path.name


# whole rows


def test_run_across_a_dst_change_keeps_each_points_offset() -> None:
    tables, source = read_rows(DATA / "run_dst_change.gpx")
    workout_id = stable_id("gpx", "Garmin Connect", "2024-10-27T00:58:30+00:00", 0)

    def point(at: datetime, offset: int, lat: float, alt: float, extra: dict[str, Any]) -> Any:
        return {
            "recorded_at": at,
            "utc_offset_min": offset,
            "lat": lat,
            "lon": 13.405,
            "accuracy_m": None,
            "altitude_m": alt,
            "speed_mps": None,
            "source": "Garmin Connect",
            "workout_id": workout_id,
            "extra": {"kind": "track", "track": 0, "name": "Nachtlauf", **extra},
        }

    assert tables["location_points"] == [
        point(utc(2024, 10, 27, 0, 58, 30), 120, 52.52, 34.0, {"segment": 0, "hr": 120, "cad": 80}),
        point(
            utc(2024, 10, 27, 0, 59, 30, 250_000),
            120,
            52.5209,
            35.5,
            {"segment": 0, "hr": 130, "cad": 82},
        ),
        point(utc(2024, 10, 27, 1, 0, 30), 60, 52.53, 36.0, {"segment": 1, "hr": 150}),
        point(utc(2024, 10, 27, 1, 1, 30), 60, 52.5309, 36.0, {"segment": 1}),
    ]
    assert tables["workouts"] == [
        {
            "workout_id": workout_id,
            "sport": "running",
            "start_at": utc(2024, 10, 27, 0, 58, 30),
            "end_at": utc(2024, 10, 27, 1, 1, 30),
            "utc_offset_min": 120,
            "duration_s": 180.0,
            # Two 0.0009-degree steps; the pause between segments is not distance run.
            "distance_m": pytest.approx(2 * meridian_m(0.0009), rel=1e-9),
            "energy_kcal": None,
            "avg_heart_rate": pytest.approx(400 / 3),
            "max_heart_rate": 150.0,
            "source_name": "Garmin Connect",
            "device": None,
            "extra": {"name": "Nachtlauf", "type": "running", "track": 0},
        }
    ]
    assert source.rejects == []


def test_gpx10_routes_and_waypoints_go_to_location_points_untimed() -> None:
    tables, _ = read_rows(DATA / "gpx10_routes_waypoints.gpx")
    creator = "GPSBabel - http://www.gpsbabel.org"
    workout_id = stable_id("gpx", creator, "2010-12-14T06:10:00.207343+00:00", 0)
    empty = {"recorded_at": None, "utc_offset_min": None, "accuracy_m": None, "speed_mps": None}

    assert tables["location_points"] == [
        {
            **empty,
            "lat": 46.435641,
            "lon": 13.738842,
            "altitude_m": 2332.0,
            "source": creator,
            "workout_id": None,
            # <cmt> stays text even when it looks like a number.
            "extra": {"kind": "waypoint", "name": "Mojstrovka", "cmt": "1234", "sym": "Summit"},
        },
        {
            **empty,
            "lat": 46.433,
            "lon": 13.743,
            "altitude_m": None,
            "source": creator,
            "workout_id": None,
            "extra": {
                "kind": "route",
                "route": 0,
                "name": "Vrsic to summit",
                "point_name": "Vrsic",
            },
        },
        {
            **empty,
            "lat": 46.435641,
            "lon": 13.738842,
            "altitude_m": None,
            "source": creator,
            "workout_id": None,
            "extra": {"kind": "route", "route": 0, "name": "Vrsic to summit"},
        },
        {
            # <time> before <ele>; seven fraction digits cut to microseconds; 1.0's <speed>.
            "recorded_at": utc(2010, 12, 14, 6, 10, 0, 207_343),
            "utc_offset_min": None,
            "lat": 46.434981,
            "lon": 13.748273,
            "accuracy_m": None,
            "altitude_m": 1614.678,
            "speed_mps": 1.25,
            "source": creator,
            "workout_id": workout_id,
            "extra": {
                "kind": "track",
                "track": 0,
                "segment": 0,
                "course": 270.5,
                "fix": "3d",
                "sat": 7,
                "hdop": 1.2,
            },
        },
        {
            "recorded_at": utc(2010, 12, 14, 6, 10, 5),
            "utc_offset_min": None,
            "lat": 46.43489,
            "lon": 13.748193,
            "accuracy_m": None,
            "altitude_m": 1636.776,
            "speed_mps": None,
            "source": creator,
            "workout_id": workout_id,
            "extra": {"kind": "track", "track": 0, "segment": 0},
        },
    ]
    [workout] = tables["workouts"]
    assert workout["sport"] == "other"  # no <type>, but timed: a workout of unknown sport
    assert workout["duration_s"] == pytest.approx(4.792657)
    assert workout["extra"] == {"track": 0}


def test_bom_blank_line_and_bare_gpx_root() -> None:
    tables, source = read_rows(DATA / "bom_blank_line.gpx")
    assert tables == {
        "location_points": [
            {
                "recorded_at": utc(2016, 5, 27, 10, 8, 47, 800_000),
                "utc_offset_min": None,
                "lat": 43.309634,
                "lon": 3.515386,
                "accuracy_m": None,
                "altitude_m": -14.6,
                "speed_mps": None,
                "source": "gpx",  # no creator attribute
                "workout_id": None,
                # The empty <fix></fix> is left out; the empty <trkseg /> adds nothing.
                "extra": {"kind": "waypoint", "name": "Plage", "sat": 4, "security": "Open"},
            }
        ]
    }
    assert source.rejects == []


# the workout rule


def test_vehicle_tracks_are_trips_not_workouts() -> None:
    tables, _ = read_rows(DATA / "vehicle_track.gpx")
    [walk] = tables["workouts"]
    assert (walk["sport"], walk["extra"], walk["utc_offset_min"]) == (
        "walking",
        {"type": "walking", "track": 1},
        420,
    )
    by_track = [(p["extra"]["track"], p["workout_id"]) for p in tables["location_points"]]
    assert by_track == [
        (0, None),
        (0, None),
        (1, walk["workout_id"]),
        (1, walk["workout_id"]),
        (2, None),  # cableCar: a lift, not an activity
        (2, None),
    ]


def test_identical_timestamps_do_not_make_a_workout() -> None:
    # The 1901 device bug: one time written with 7 and with 3 fraction digits,
    # 343 microseconds apart. A workout needs two times at least a second apart.
    tables, _ = read_rows(DATA / "same_timestamps.gpx")
    assert "workouts" not in tables
    assert [p["workout_id"] for p in tables["location_points"]] == [None, None, None]
    assert tables["location_points"][1]["recorded_at"] == utc(1901, 12, 13, 20, 45, 52, 207_000)


@pytest.mark.parametrize(
    ("kind", "sport"),
    [
        ("running", "running"),
        ("Run", "running"),
        ("trail_running", "running"),
        ("VirtualRun", "running"),
        ("Ride", "cycling"),
        ("road_biking", "cycling"),
        ("Cycling", "cycling"),
        ("walk", "walking"),
        ("Hike", "hiking"),
        ("open_water_swimming", "swimming"),
        ("AlpineSki", "skiing"),
        ("cross_country_skiing", "skiing"),
        ("1", "cycling"),
        ("9", "running"),
        ("10", "walking"),
        ("yoga", "other"),
        ("cardio", "other"),  # "car" only as a whole word
        (None, "other"),
        ("car", None),
        ("TAXI", None),
        ("IN_PASSENGER_VEHICLE", None),
        ("airplane", None),
        ("skiLift", None),
        ("motorcycling", None),
        ("stationary", None),
    ],
)
def test_track_type_gives_the_sport(tmp_path: Path, kind: str | None, sport: str | None) -> None:
    type_element = f"<type>{kind}</type>" if kind is not None else ""
    path = write_gpx(
        tmp_path,
        f"<trk>{type_element}<trkseg>"
        '<trkpt lat="1" lon="1"><time>2024-05-01T07:00:00Z</time></trkpt>'
        '<trkpt lat="1.001" lon="1"><time>2024-05-01T07:00:10Z</time></trkpt>'
        "</trkseg></trk>",
    )
    tables, _ = read_rows(path)
    assert [w["sport"] for w in tables.get("workouts", [])] == ([sport] if sport else [])


@pytest.mark.parametrize(
    ("text", "instant", "offset"),
    [
        ("2024-05-01T07:00:00Z", utc(2024, 5, 1, 7), None),
        ("2024-05-01T14:00:00+07:00", utc(2024, 5, 1, 7), 420),
        ("2024-05-01T01:30:00-05:30", utc(2024, 5, 1, 7), -330),
        ("2024-05-01T09:00:00+0200", utc(2024, 5, 1, 7), 120),
        ("2024-05-01T07:00:00", utc(2024, 5, 1, 7), None),  # no zone: UTC, says the spec
        ("2024-05-01T07:00:00.8Z", utc(2024, 5, 1, 7, 0, 0, 800_000), None),
        ("2024-05-01T07:00:00.123456Z", utc(2024, 5, 1, 7, 0, 0, 123_456), None),
        ("2024-05-01T07:00:00.1234567Z", utc(2024, 5, 1, 7, 0, 0, 123_456), None),
        (" 2024-05-01 07:00:00.5+00:00 ", utc(2024, 5, 1, 7, 0, 0, 500_000), 0),
    ],
)
def test_times_and_offsets(
    tmp_path: Path, text: str, instant: datetime, offset: int | None
) -> None:
    path = write_gpx(tmp_path, f'<wpt lat="1" lon="2"><time>{text}</time></wpt>')
    tables, _ = read_rows(path)
    [point] = tables["location_points"]
    assert (point["recorded_at"], point["utc_offset_min"]) == (instant, offset)


def test_apple_style_extensions_fill_accuracy_and_speed(tmp_path: Path) -> None:
    path = write_gpx(
        tmp_path,
        '<trk><trkseg><trkpt lon="-122.396397" lat="37.781672"><ele>4.07</ele>'
        "<time>2019-06-11T22:00:42Z</time><extensions><speed>0.18</speed>"
        "<course>206.25</course><hAcc>8.06</hAcc><vAcc>6.42</vAcc></extensions>"
        "</trkpt></trkseg></trk>",
        creator="Apple Health Export",
    )
    tables, _ = read_rows(path)
    [point] = tables["location_points"]
    assert (point["accuracy_m"], point["speed_mps"]) == (8.06, 0.18)
    assert point["extra"] == {
        "kind": "track",
        "track": 0,
        "segment": 0,
        "course": 206.25,
        "vAcc": 6.42,
    }


# rejects and broken files


def test_bad_points_are_rejected_with_their_line() -> None:
    tables, source = read_rows(DATA / "bad_points.gpx")
    out_of_range = "missing, not a number or out of range"
    assert source.rejects == [
        Reject("location_points", f"<wpt> with lat='91.5' lon='10.0': {out_of_range}", 3),
        Reject("location_points", f"<wpt> with lat='48.1' lon='abc': {out_of_range}", 4),
        Reject("location_points", f"<wpt> with lat='48.1' lon=None: {out_of_range}", 5),
        Reject("location_points", f"<wpt> with lat='NaN' lon='11.5': {out_of_range}", 6),
        Reject("location_points", "unparsable time 'yesterday'", 7),
        Reject("location_points", "unparsable time '2024-13-01T10:00:00Z'", 8),
    ]
    assert [(p["lat"], p["lon"]) for p in tables["location_points"]] == [(-48.1, -180.0)]


def test_truncated_file_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="cut off") as raised:
        read_rows(DATA / "truncated.gpx")
    assert raised.value.line == 10
    assert raised.value.path.endswith("truncated.gpx")


def test_entity_declaration_is_refused() -> None:
    with pytest.raises(UnsafeInputError, match="entity 'lol'") as raised:
        read_rows(DATA / "entity_bomb.gpx")
    assert raised.value.line == 3


def test_a_root_other_than_gpx_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "not.gpx"
    path.write_text('<?xml version="1.0"?>\n<kml><Placemark/></kml>\n')
    with pytest.raises(ParseError, match="root element is <kml>"):
        read_rows(path)


# streaming


def long_run(points: int) -> str:
    """A running track whose first 20 points share one time (undecided while they stream)."""
    rows = []
    for i in range(points):
        second = max(0, i - 19)
        segment_break = "</trkseg><trkseg>" if i == points // 2 else ""
        rows.append(
            f'{segment_break}<trkpt lat="{45 + i * 1e-4:.4f}" lon="7">'
            f"<time>2024-06-01T06:{second // 60:02d}:{second % 60:02d}+02:00</time>"
            f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{100 + i % 50}</gpxtpx:hr>"
            "</gpxtpx:TrackPointExtension></extensions></trkpt>\n"
        )
    return (
        '<wpt lat="45" lon="7"><name>start</name></wpt>\n'
        f"<trk><name>Long run</name><type>running</type><trkseg>\n{''.join(rows)}</trkseg></trk>\n"
        '<trk><type>bus</type><trkseg><trkpt lat="46" lon="7"><time>2024-06-01T09:00:00Z</time>'
        '</trkpt><trkpt lat="46.1" lon="7"><time>2024-06-01T09:10:00Z</time></trkpt>'
        "</trkseg></trk>"
    )


def test_small_batches_give_the_same_rows_as_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_gpx(tmp_path, long_run(300))
    whole, _ = read_rows(path)
    monkeypatch.setattr(gpx, "BATCH_POINTS", 25)
    monkeypatch.setattr(xmlsafe, "CHUNK_BYTES", 1024)
    sizes = [
        batch.rows.num_rows for batch in gpx.read(Source(path)) if batch.table == "location_points"
    ]
    pieces, _ = read_rows(path)

    assert len(sizes) > 10 and max(sizes) < 25 + 10  # a chunk holds fewer than 10 points
    assert pieces["location_points"] == whole["location_points"]
    [workout] = pieces["workouts"]
    assert workout == {**whole["workouts"][0], "distance_m": pytest.approx(workout["distance_m"])}
    # 298 steps of 1e-4 degrees: the segment break is not counted.
    assert workout["distance_m"] == pytest.approx(meridian_m(298e-4), rel=1e-6)
    assert (workout["duration_s"], workout["utc_offset_min"]) == (280.0, 120)
    assert (workout["avg_heart_rate"], workout["max_heart_rate"]) == (124.5, 149.0)
    run_points = [p for p in pieces["location_points"] if p["extra"].get("track") == 0]
    assert {p["workout_id"] for p in run_points} == {workout["workout_id"]}
