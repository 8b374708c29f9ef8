"""The TCX importer: detection, whole rows, lap totals, rejects, broken files, the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault, xmlsafe
from selfdata.errors import ParseError
from selfdata.importers import Registry, tcx
from selfdata.importers.base import Reject, Source, stable_id
from selfdata.ingest import import_paths

DATA = Path(__file__).parent / "data" / "tcx"

Rows = dict[str, list[dict[str, Any]]]


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path)
    tables: Rows = {}
    for batch in tcx.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"])
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def write_tcx(tmp_path: Path, activity: str, sport: str = "Running") -> Path:
    path = tmp_path / "test.tcx"
    path.write_text(
        '<?xml version="1.0"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="{sport}">{activity}</Activity></Activities>'
        "</TrainingCenterDatabase>\n",
        encoding="utf-8",
    )
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def import_tcx(path: Path, vault: Path) -> Any:
    registry = Registry()
    registry.register(tcx, origin="builtin")
    [result] = import_paths([path], vault=vault, registry=registry)
    return result


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


# detect


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="x">',
        b"\xef\xbb\xbf\n\n<?xml version='1.0' encoding='UTF-8'?>\n<!-- a -->\n"
        b"<tcx:TrainingCenterDatabase xmlns:tcx='x'>",
        b'<?xml version="1.0"?>\n<TrainingCenterDatabase\n  xsi:schemaLocation="x y">',
        b"<TrainingCenterDatabase/>",
    ],
    ids=["plain", "bom-blank-single-quotes-comment-prefix", "multi-line", "bare"],
)
def test_detect_accepts_tcx_heads(head: bytes) -> None:
    assert tcx.detect(head, "export.xml")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<gpx version="1.1" creator="Garmin Connect">',
        b"<!-- <TrainingCenterDatabase> -->\n<gpx>",
        b"<TrainingCenterDatabaseX/>",
        b"",
    ],
    ids=["gpx", "tcx-in-comment", "longer-name", "empty"],
)
def test_detect_refuses_other_heads_whatever_the_file_name(head: bytes) -> None:
    assert not tcx.detect(head, "activity.tcx")


def test_detect_sees_every_fixture() -> None:
    for path in DATA.glob("*.tcx"):
        assert tcx.detect(path.read_bytes()[:4096], path.name), path.name


# whole rows


def test_garmin_connect_export_with_two_laps_and_extensions() -> None:
    tables, source = read_rows(DATA / "garmin_connect_two_laps.tcx")
    workout_id = stable_id("tcx", "fēnix 7", "2024-03-31T00:59:30+00:00", "running")
    device = "fēnix 7 (ProductID 3906, UnitId 3999999999)"

    def point(at: datetime, lat: float, alt: float, speed: float, extra: Any) -> Any:
        return {
            "recorded_at": at,
            "utc_offset_min": None,  # written with Z: the local offset is unknown
            "lat": lat,
            "lon": 13.405,
            "accuracy_m": None,
            "altitude_m": alt,
            "speed_mps": speed,
            "source": "fēnix 7",
            "workout_id": workout_id,
            "extra": extra,
        }

    first = {"lap": 0, "distance_m": 0.0, "hr": 0, "run_cadence": 0}
    second = {"lap": 0, "distance_m": 150.0, "hr": 131, "run_cadence": 84}
    third = {
        "lap": 1,
        "distance_m": 480.5,
        "hr": 162,
        "cadence_sensor": "Footpod",
        "run_cadence": 88,
    }
    assert tables["location_points"] == [
        point(utc(2024, 3, 31, 0, 59, 30), 52.52, 34.20000076293945, 0.0, first),
        point(utc(2024, 3, 31, 1, 0, 30), 52.5213, 35.0, 2.5, second),
        point(utc(2024, 3, 31, 1, 2, 30), 52.5243, 36.0, 2.9, third),
    ]

    def beat(at: datetime, value: float, extra: Any) -> Any:
        return {
            "metric": "heart_rate",
            "start_at": at,
            "end_at": at,
            "utc_offset_min": None,
            "value": value,
            "unit": "count/min",
            "source_name": "fēnix 7",
            "device": device,
            "source_type": "tcx:Trackpoint.HeartRateBpm",
            "extra": {"workout_id": workout_id, **extra},
        }

    # The first point's heart rate of 0 is a strap without contact: no sample.
    assert tables["health_samples"] == [
        beat(utc(2024, 3, 31, 1, 0, 30), 131.0, second),
        beat(utc(2024, 3, 31, 1, 2, 30), 162.0, third),
    ]
    lap = {"intensity": "Active", "trigger_method": "Manual"}
    assert tables["workouts"] == [
        {
            "workout_id": workout_id,
            "sport": "running",
            "start_at": utc(2024, 3, 31, 0, 59, 30),
            "end_at": utc(2024, 3, 31, 1, 2, 30),
            "utc_offset_min": None,
            "duration_s": 180.0,
            "distance_m": 480.5,
            "energy_kcal": 37.0,
            # Lap averages weighted by lap time: (120 * 60 + 150 * 120) / 180.
            "avg_heart_rate": 140.0,
            "max_heart_rate": 162.0,
            "source_name": "fēnix 7",
            "device": device,
            "extra": {
                "sport": "Running",
                "creator_version": "19.18.0.0",
                "author": "Connect Api",
                "laps": [
                    {
                        "start_at": "2024-03-31T00:59:30.000Z",
                        "duration_s": 60.0,
                        "distance_m": 150.0,
                        "max_speed_mps": 2.799999952316284,
                        "energy_kcal": 12,
                        "avg_hr": 120,
                        "max_hr": 131,
                        **lap,
                        "avg_speed": 2.5,
                        "avg_run_cadence": 82,
                        "max_run_cadence": 86,
                    },
                    {
                        "start_at": "2024-03-31T01:00:30.000Z",
                        "duration_s": 120.0,
                        "distance_m": 330.5,
                        "max_speed_mps": 3.1,
                        "energy_kcal": 25,
                        "avg_hr": 150,
                        "max_hr": 162,
                        **lap,
                        "trigger_method": "Distance",
                        "avg_speed": 2.75,
                        "avg_run_cadence": 87,
                        "max_run_cadence": 90,
                    },
                ],
            },
        }
    ]
    assert source.rejects == []


def test_one_line_file_with_microseconds_and_leading_points_without_position() -> None:
    tables, source = read_rows(DATA / "one_line_microseconds.tcx")
    points = tables["location_points"]
    # Five trackpoints; the first two (MapMyRide's, before a fix) have only a time.
    assert [(p["recorded_at"], p["utc_offset_min"]) for p in points] == [
        (utc(2022, 11, 12, 15, 58, 31, 473_500), 0),
        (utc(2022, 11, 12, 15, 58, 32, 473_600), 0),
        (utc(2022, 11, 12, 15, 58, 35, 473_600), 0),
    ]
    assert points[0]["extra"] == {"lap": 0, "distance_m": 2.4003}
    assert {p["source"] for p in points} == {"tcx"}  # no Creator
    assert "health_samples" not in tables
    [workout] = tables["workouts"]
    assert workout == {
        "workout_id": stable_id("tcx", "tcx", "2022-11-12T15:58:25+00:00", "cycling"),
        "sport": "cycling",
        "start_at": utc(2022, 11, 12, 15, 58, 25),
        "end_at": utc(2022, 11, 12, 15, 58, 35, 473_600),
        "utc_offset_min": 0,  # "+00:00" is a written offset, unlike "Z"
        "duration_s": 10.0,
        "distance_m": 12.6234,
        "energy_kcal": pytest.approx(1.5),  # written as 1.4999999736191972
        "avg_heart_rate": None,
        "max_heart_rate": None,
        "source_name": "tcx",
        "device": None,
        "extra": {
            "sport": "Biking",
            "laps": [
                {
                    "start_at": "2022-11-12T15:58:25+00:00",
                    "duration_s": 10.0,
                    "distance_m": 12.6234,
                    "max_speed_mps": 138.47064,  # implausible, kept as the source says
                    "energy_kcal": pytest.approx(1.5),
                }
            ],
        },
    }
    assert source.rejects == []


def test_indoor_activity_without_gps_or_lap_totals() -> None:
    tables, source = read_rows(DATA / "indoor_no_gps.tcx")
    workout_id = stable_id("tcx", "tcx", "2024-01-15T23:30:00+00:00", "other")
    assert "location_points" not in tables
    common = {
        "metric": "heart_rate",
        "utc_offset_min": -300,
        "unit": "count/min",
        "source_name": "tcx",
        "device": None,
        "source_type": "tcx:Trackpoint.HeartRateBpm",
    }
    first, second = utc(2024, 1, 15, 23, 30, 1), utc(2024, 1, 15, 23, 30, 31)
    assert tables["health_samples"] == [
        {
            **common,
            "start_at": first,
            "end_at": first,
            "value": 98.0,
            # Without a location row, the point's other values live here.
            "extra": {
                "workout_id": workout_id,
                "lap": 0,
                "distance_m": 3.5,
                "hr": 98,
                "cadence": 22,
                "watts": 180,
            },
        },
        {
            **common,
            "start_at": second,
            "end_at": second,
            "value": 121.0,
            "extra": {
                "workout_id": workout_id,
                "lap": 0,
                "distance_m": 121.0,
                "hr": 121,
                "cadence": 26,
                "sensor_state": "Present",
            },
        },
    ]
    [workout] = tables["workouts"]
    # No lap totals: duration is start to last point, distance the last point's.
    assert workout == {
        "workout_id": workout_id,
        "sport": "other",
        "start_at": utc(2024, 1, 15, 23, 30),
        "end_at": second,
        "utc_offset_min": -300,
        "duration_s": 31.0,
        "distance_m": 121.0,
        "energy_kcal": None,
        "avg_heart_rate": 109.5,
        "max_heart_rate": 121.0,
        "source_name": "tcx",
        "device": None,
        "extra": {
            "sport": "Other",
            "notes": "Indoor rowing",
            "laps": [{"start_at": "2024-01-15T18:30:00-05:00"}],
        },
    }
    assert source.rejects == []


def test_multi_activity_file_gives_each_activity_its_own_workout_and_ignores_courses() -> None:
    tables, _ = read_rows(DATA / "multi_activity.tcx")
    ride, run = tables["workouts"]
    assert (ride["sport"], ride["source_name"], ride["utc_offset_min"]) == (
        "cycling",
        "EDGE500",
        120,
    )
    assert (ride["duration_s"], ride["distance_m"], ride["energy_kcal"]) == (600.0, 4000.0, 110.0)
    # No lap heart rates: the mean and maximum of the trackpoints.
    assert (ride["avg_heart_rate"], ride["max_heart_rate"]) == (120.0, 139.0)
    assert ride["extra"]["laps"][0]["cadence"] == 85
    assert (run["sport"], run["source_name"], run["device"]) == ("running", "tcx", None)
    assert (run["start_at"], run["end_at"], run["duration_s"]) == (
        utc(2015, 7, 5, 6),
        utc(2015, 7, 5, 6),
        300.5,
    )
    by_workout = [(p["source"], p["workout_id"]) for p in tables["location_points"]]
    assert by_workout == [
        ("EDGE500", ride["workout_id"]),
        ("EDGE500", ride["workout_id"]),
        ("tcx", run["workout_id"]),
    ]  # the Course's planned trackpoint is not a recording
    assert [s["source_name"] for s in tables["health_samples"]] == ["EDGE500", "EDGE500"]


@pytest.mark.parametrize(
    ("sport", "expected"),
    [("Running", "running"), ("Biking", "cycling"), ("Other", "other"), ("Walking", "walking")],
)
def test_sport_attribute_gives_the_sport(tmp_path: Path, sport: str, expected: str) -> None:
    path = write_tcx(tmp_path, "<Id>2024-05-01T07:00:00Z</Id>", sport)
    tables, _ = read_rows(path)
    assert [w["sport"] for w in tables["workouts"]] == [expected]


def test_the_same_start_written_differently_gives_the_same_workout_id(tmp_path: Path) -> None:
    ids = []
    for written in ("2024-05-01T07:00:00.000Z", "2024-05-01T09:00:00+02:00"):
        tables, _ = read_rows(write_tcx(tmp_path, f"<Id>{written}</Id>"))
        ids.append(tables["workouts"][0]["workout_id"])
    assert ids[0] == ids[1] == stable_id("tcx", "tcx", "2024-05-01T07:00:00+00:00", "running")


# rejects and broken files


def test_bad_trackpoints_are_rejected_with_their_line_and_the_rest_kept() -> None:
    tables, source = read_rows(DATA / "bad_records.tcx")
    out_of_range = "missing, not a number or out of range"
    assert source.rejects == [
        Reject(
            "location_points",
            f"<Position> with LatitudeDegrees='91.5' LongitudeDegrees='10.0': {out_of_range}",
            9,
        ),
        Reject("location_points", "<Trackpoint> without <Time>", 10),
        Reject("health_samples", "heart rate 'high' is not a number", 12),
        Reject(
            "location_points",
            f"<Position> with LatitudeDegrees='48.1' LongitudeDegrees=None: {out_of_range}",
            13,
        ),
        # Times are parsed together when the activity's points are, so this comes later.
        Reject("health_samples", "unparsable time 'yesterday'", 11),
        Reject("workouts", "<Activity> without a usable <Id> or lap StartTime", 17),
    ]
    points = [(p["recorded_at"], p["lat"], p["workout_id"]) for p in tables["location_points"]]
    [workout] = tables["workouts"]
    assert points == [
        (utc(2024, 5, 1, 7, 0, 30), 48.1, workout["workout_id"]),
        (utc(2024, 5, 2, 7), 48.2, None),  # its activity has no usable start
    ]
    # A bad position does not lose the heart rate, nor a bad heart rate the position.
    assert [s["value"] for s in tables["health_samples"]] == [100.0, 120.0]


def test_truncated_file_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="cut off") as raised:
        read_rows(DATA / "truncated.tcx")
    assert raised.value.line == 30
    assert raised.value.path.endswith("truncated.tcx")


def test_a_root_other_than_tcx_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "not.tcx"
    path.write_text('<?xml version="1.0"?>\n<gpx><wpt lat="1" lon="2"/></gpx>\n')
    with pytest.raises(ParseError, match="root element is <gpx>"):
        read_rows(path)


# streaming


def long_activity(points: int) -> str:
    rows = "".join(
        f"<Trackpoint><Time>2024-06-01T06:{i // 60:02d}:{i % 60:02d}+02:00</Time>"
        f"<Position><LatitudeDegrees>{45 + i * 1e-4:.4f}</LatitudeDegrees>"
        "<LongitudeDegrees>7</LongitudeDegrees></Position>"
        f"<HeartRateBpm><Value>{100 + i % 50}</Value></HeartRateBpm></Trackpoint>\n"
        for i in range(points)
    )
    return f'<Id>2024-06-01T06:00:00+02:00</Id><Lap StartTime="x"><Track>{rows}</Track></Lap>'


def test_small_chunks_give_the_same_rows_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tcx(tmp_path, long_activity(300))
    whole, _ = read_rows(path)
    monkeypatch.setattr(tcx, "BATCH_POINTS", 25)
    monkeypatch.setattr(xmlsafe, "CHUNK_BYTES", 1024)
    sizes = [batch.rows.num_rows for batch in tcx.read(Source(path))]
    pieces, _ = read_rows(path)

    assert len(sizes) == 2 * 12 + 1 and max(sizes) == 25
    assert pieces == whole
    [workout] = pieces["workouts"]
    assert (workout["duration_s"], workout["utc_offset_min"]) == (299.0, 120)
    assert (workout["avg_heart_rate"], workout["max_heart_rate"]) == (124.5, 149.0)


# through the engine


def test_garmin_export_lands_in_the_vault_and_a_second_import_adds_nothing(
    tmp_path: Path,
) -> None:
    vault = tmp_path / "v.duckdb"
    path = DATA / "garmin_connect_two_laps.tcx"
    first = import_tcx(path, vault)
    assert (first.status, first.importer) == ("imported", "tcx")
    assert first.new == {"location_points": 3, "health_samples": 2, "workouts": 1}
    assert query(
        vault,
        "SELECT sport, start_at::VARCHAR, end_at::VARCHAR, duration_s, distance_m, "
        "avg_heart_rate, source_name, extra->>'$.laps[1].avg_run_cadence' FROM workouts",
    ) == [
        (
            "running",
            "2024-03-31 00:59:30+00",
            "2024-03-31 01:02:30+00",
            180.0,
            480.5,
            140.0,
            "fēnix 7",
            "87",
        )
    ]
    assert query(
        vault,
        "SELECT count(*) FROM location_points l JOIN workouts w USING (workout_id)",
    ) == [(3,)]
    again = import_tcx(path, vault)
    assert again.status == "already_imported"
    assert query(vault, "SELECT count(*) FROM imports") == [(1,)]


def test_a_copy_with_different_bytes_but_the_same_content_adds_zero_rows(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    original = DATA / "garmin_connect_two_laps.tcx"
    import_tcx(original, vault)
    copy = tmp_path / "re-export.tcx"
    copy.write_text(original.read_text(encoding="utf-8") + "<!-- exported again -->\n")
    again = import_tcx(copy, vault)
    assert again.status == "imported"
    assert again.new == {"location_points": 0, "health_samples": 0, "workouts": 0}
    assert again.duplicate == {"location_points": 3, "health_samples": 2, "workouts": 1}


def test_a_truncated_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_tcx(DATA / "indoor_no_gps.tcx", vault)
    result = import_tcx(DATA / "truncated.tcx", vault)
    assert result.status == "failed"
    assert isinstance(result.error, ParseError) and result.error.line == 30
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM health_samples") == [
        (2, 1)
    ]


def test_rejects_are_counted_in_the_imports_row(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    result = import_tcx(DATA / "bad_records.tcx", vault)
    assert result.rejected == {"location_points": 3, "health_samples": 2, "workouts": 1}
    [(status, rejected)] = query(vault, "SELECT status, rows_rejected FROM imports")
    assert (status, json.loads(rejected)) == ("ok_with_rejects", result.rejected)
