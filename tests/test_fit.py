"""The FIT importer: detection, whole rows for each kind of file, the monitoring
rule, rebuilt hr times, broken files, and imports through the engine."""

from __future__ import annotations

import contextlib
import json
import random
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.errors import ParseError
from selfdata.importers import Registry, fit
from selfdata.importers.base import HEAD_BYTES, Source, stable_id
from selfdata.ingest import import_paths
from tests import fit_fixtures
from tests.fit_writer import crc16

DATA = Path(__file__).parent / "data" / "fit"

WHOLE_FIXTURES = [
    "run_offset_dev_field.fit",
    "brick_two_sessions.fit",
    "pool_swim_hr_messages.fit",
    "monitoring_two_activity_types.fit",
    "weight_scale_two_users.fit",
]

Rows = dict[str, list[dict[str, Any]]]

FENIX = {"source_name": "garmin fenix5", "device": "fenix5 serial 3945849289"}
RUN_ID = stable_id("fit", 3945849289, "2024-05-01T07:00:00+00:00", "running")


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path)
    tables: Rows = {}
    for batch in fit.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"])
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def registry() -> Registry:
    built = Registry()
    built.register(fit, origin="builtin")
    return built


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def test_the_committed_fixtures_are_what_the_generator_writes() -> None:
    for file_name, data in fit_fixtures.build().items():
        assert (DATA / file_name).read_bytes() == data, "run python -m tests.fit_fixtures"


# detect


@pytest.mark.parametrize(
    "head",
    [
        (DATA / "run_offset_dev_field.fit").read_bytes()[:HEAD_BYTES],
        fit_fixtures.run_offset_dev_field(header_size=12)[:HEAD_BYTES],
    ],
    ids=["14-byte header", "12-byte header"],
)
def test_detect_accepts_fit_headers(head: bytes) -> None:
    assert fit.detect(head, "anything.bin")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<gpx version="1.1">',
        bytes([13, 0x10, 0, 0, 0, 0, 0, 0]) + b".FIT",
        bytes([14, 0x10, 0, 0, 0, 0, 0, 0]) + b".FIX\0\0",
        bytes([14, 0x10, 0, 0]),
        b"",
    ],
    ids=["gpx", "header size 13", "wrong magic", "short", "empty"],
)
def test_detect_rejects_other_heads(head: bytes) -> None:
    assert not fit.detect(head, "activity.fit")


# activity files


def test_run_gives_a_workout_with_laps_hrv_and_developer_data() -> None:
    tables, source = read_rows(DATA / "run_offset_dev_field.fit")
    assert source.rejects == []
    assert tables["workouts"] == [
        {
            "workout_id": RUN_ID,
            "sport": "running",
            "start_at": utc("2024-05-01T07:00:00"),
            "end_at": utc("2024-05-01T07:00:25"),
            # activity.local_timestamp is two hours after its timestamp.
            "utc_offset_min": 120,
            "duration_s": 20.0,
            "distance_m": 60.0,
            "energy_kcal": 5.0,
            "avg_heart_rate": 122.0,
            "max_heart_rate": 125.0,
            **FENIX,
            "extra": {
                "fit_sport": "running",
                "sub_sport": "trail",
                "serial": 3945849289,
                "laps": {
                    "count": 2,
                    "totals": [
                        {
                            "start_at": "2024-05-01T07:00:00+00:00",
                            "duration_s": 10.0,
                            "distance_m": 30.0,
                            "energy_kcal": 2.0,
                            "avg_hr": 120.0,
                            "max_hr": 125.0,
                        },
                        {
                            "start_at": "2024-05-01T07:00:10+00:00",
                            "duration_s": 15.0,
                            "distance_m": 30.0,
                            "energy_kcal": 3.0,
                            "avg_hr": 121.0,
                            "max_hr": 125.0,
                        },
                    ],
                },
                "records": 3,
                "unknown_messages": 1,
                # The third RR interval is FIT's invalid marker.
                "hrv": {"count": 2, "mean_rr_ms": 510.0},
                "developer": {"ids": 1, "fields": {"Form Power": "Watts"}},
            },
        }
    ]


def test_run_points_carry_the_workout_and_every_record_value() -> None:
    tables, _ = read_rows(DATA / "run_offset_dev_field.fit")
    point = {"accuracy_m": None, "source": "garmin fenix5", "workout_id": RUN_ID}
    assert tables["location_points"] == [
        {
            "recorded_at": utc("2024-05-01T07:00:00"),
            "utc_offset_min": 120,
            "lat": pytest.approx(52.52, abs=1e-7),
            "lon": pytest.approx(13.405, abs=1e-7),
            "altitude_m": 34.0,
            "speed_mps": 2.5,
            **point,
            "extra": {"hr": 120, "cadence": 80, "distance": 0.0, "dev": {"Form Power": 250}},
        },
        # The record without a position (t + 10 s) is no point.
        {
            "recorded_at": utc("2024-05-01T07:00:20"),
            "utc_offset_min": 120,
            "lat": pytest.approx(52.5205, abs=1e-7),
            "lon": pytest.approx(13.405, abs=1e-7),
            "altitude_m": 35.0,
            "speed_mps": 3.0,
            **point,
            "extra": {"hr": 0, "power": 300, "temperature": 18},
        },
    ]


def test_record_heart_rates_are_samples_and_zero_is_no_reading() -> None:
    tables, _ = read_rows(DATA / "run_offset_dev_field.fit")
    sample = {"metric": "heart_rate", "utc_offset_min": 120, "unit": "count/min", **FENIX}
    sample["source_type"] = "fit:record.heart_rate"
    assert tables["health_samples"] == [
        {
            **sample,
            "start_at": utc("2024-05-01T07:00:00"),
            "end_at": utc("2024-05-01T07:00:00"),
            "value": 120.0,
            "extra": {"workout_id": RUN_ID},
        },
        {
            **sample,
            "start_at": utc("2024-05-01T07:00:10"),
            "end_at": utc("2024-05-01T07:00:10"),
            "value": 125.0,
            # No position: the record's values stay with its heart rate.
            "extra": {
                "hr": 125,
                "cadence": 82,
                "distance": 30.0,
                "dev": {"Form Power": 260},
                "workout_id": RUN_ID,
            },
        },
    ]


def test_two_sessions_split_the_points_and_map_sub_sports() -> None:
    tables, _ = read_rows(DATA / "brick_two_sessions.fit")
    run, ride = tables["workouts"]
    assert (run["sport"], ride["sport"]) == ("running", "cycling")
    assert (ride["extra"]["fit_sport"], ride["extra"]["sub_sport"]) == (
        "fitness_equipment",
        "indoor_cycling",
    )
    # No activity.local_timestamp: the local offset is unknown.
    assert {w["utc_offset_min"] for w in tables["workouts"]} == {None}
    # Without total_timer_time the duration is the elapsed time.
    assert (run["duration_s"], ride["duration_s"]) == (60.0, 55.0)
    assert (ride["start_at"], ride["end_at"]) == (
        utc("2024-06-02T08:01:10"),
        utc("2024-06-02T08:02:10"),
    )
    # The creator's device_info names the device; file_id still names the source.
    assert (run["source_name"], run["device"]) == (
        "garmin fenix5",
        "Forerunner Lab serial 3945849289",
    )
    # The point in the transition between the sessions belongs to neither.
    workout_ids = [p["workout_id"] for p in tables["location_points"]]
    assert workout_ids == [run["workout_id"], None, ride["workout_id"]]
    assert run["workout_id"] != ride["workout_id"]


def test_hr_messages_in_a_chained_file_become_beats_at_rebuilt_times() -> None:
    tables, source = read_rows(DATA / "pool_swim_hr_messages.fit")
    assert source.rejects == []
    [swim] = tables["workouts"]
    assert (swim["sport"], swim["utc_offset_min"]) == ("swimming", -240)
    beats = [
        (row["start_at"], row["end_at"], row["value"], row["source_type"], row["extra"])
        for row in tables["health_samples"]
    ]
    in_swim = {"workout_id": swim["workout_id"]}
    # The anchor at 12:00:01 + 0.5 s, then each 12-bit event timestamp unrolled;
    # the repeated last timestamp is padding, not five more beats.
    assert beats == [
        (utc(t), utc(t), bpm, "fit:hr.filtered_bpm", in_swim)
        for t, bpm in [
            ("2024-07-03T12:00:01.500", 100.0),
            ("2024-07-03T12:00:02.500", 101.0),
            ("2024-07-03T12:00:03.500", 102.0),
            ("2024-07-03T12:00:05", 103.0),
        ]
    ]
    # The chained file has no file_id: it belongs to the swim before it.
    assert {(r["source_name"], r["utc_offset_min"]) for r in tables["health_samples"]} == {
        ("garmin fr735xt", -240)
    }


@pytest.mark.parametrize(
    ("sport", "sub_sport", "expected"),
    [
        ("running", "treadmill", "running"),
        ("running", "trail", "running"),
        ("fitness_equipment", "indoor_rowing", "rowing"),
        ("training", "strength_training", "strength_training"),
        ("training", "yoga", "yoga"),
        ("e_biking", "generic", "cycling"),
        ("alpine_skiing", "resort", "skiing"),
        ("snowboarding", None, "skiing"),
        ("mountaineering", None, "hiking"),
        ("kayaking", "whitewater", "paddling"),
        ("golf", "generic", "other"),
        (254, 200, "other"),  # numbers the profile does not name
    ],
)
def test_sport_map(sport: object, sub_sport: object, expected: str) -> None:
    assert fit._sport(sport, sub_sport) == expected


# monitoring files


def test_monitoring_counters_become_deltas_per_activity_type() -> None:
    tables, source = read_rows(DATA / "monitoring_two_activity_types.fit")
    assert source.rejects == []
    rows = tables["health_samples"]
    assert {(r["utc_offset_min"], r["source_name"]) for r in rows} == {(120, "garmin vivo_fit")}
    assert rows[0] == {
        "metric": "steps",
        "start_at": utc("2024-04-30T22:00:00"),  # local midnight, UTC+2
        "end_at": utc("2024-05-01T06:00:00"),
        "utc_offset_min": 120,
        "value": 500.0,
        "unit": "count",
        "source_name": "garmin vivo_fit",
        "device": "vivo_fit serial 3882708276",
        "source_type": "fit:monitoring.steps",
        "extra": {"activity_type": "walking", "cumulative": 500.0},
    }
    summary = [
        (r["metric"], r["start_at"], r["end_at"], r["value"], r["extra"].get("activity_type"))
        for r in rows
    ]
    assert summary == [
        ("steps", utc("2024-04-30T22:00"), utc("2024-05-01T06:00"), 500.0, "walking"),
        ("steps", utc("2024-05-01T06:00"), utc("2024-05-01T07:00"), 300.0, "walking"),
        # The first running report counts from midnight, separately from walking.
        ("steps", utc("2024-04-30T22:00"), utc("2024-05-01T07:30"), 1200.0, "running"),
        ("active_energy", utc("2024-04-30T22:00"), utc("2024-05-01T07:30"), 90.0, "running"),
        (
            "distance_walking_running",
            *(utc("2024-04-30T22:00"), utc("2024-05-01T07:30"), 1500.0, "running"),
        ),
        # The sedentary report has no counters; 08:00 repeated 800 steps: no rows.
        ("heart_rate", utc("2024-05-01T09:00"), utc("2024-05-01T09:00"), 72.0, None),
        # 11 hours after 09:00: timestamp_16 wrapped and is unrolled forward.
        ("steps", utc("2024-05-01T08:00"), utc("2024-05-01T20:00"), 50.0, "walking"),
        # The end-of-day summary at local midnight closes May 1.
        ("steps", utc("2024-05-01T20:00"), utc("2024-05-01T22:00"), 50.0, "walking"),
        ("active_energy", utc("2024-04-30T22:00"), utc("2024-05-01T22:00"), 40.0, "walking"),
        # May 2: the counters restarted at midnight, even running's, which grew.
        ("steps", utc("2024-05-01T22:00"), utc("2024-05-01T23:00"), 50.0, "walking"),
        ("steps", utc("2024-05-01T22:00"), utc("2024-05-01T23:30"), 1500.0, "running"),
    ]


def test_monitoring_steps_add_up_to_the_day_totals() -> None:
    tables, _ = read_rows(DATA / "monitoring_two_activity_types.fit")
    may_first = [
        r["value"]
        for r in tables["health_samples"]
        if r["metric"] == "steps" and r["end_at"] <= utc("2024-05-01T22:00")
    ]
    # 900 walking (the end-of-day summary) and 1200 running.
    assert sum(may_first) == 2100


# weight scale files


def test_weight_scale_readings_of_two_users() -> None:
    tables, _ = read_rows(DATA / "weight_scale_two_users.fit")
    scale = {"source_name": "garmin index_smart_scale", "device": "index_smart_scale serial 1234"}
    alex = {"user_profile_index": 0, "user_name": "Alex"}
    sam = {"user_profile_index": 1, "user_name": "Sam"}
    first, second = utc("2024-01-15T06:30"), utc("2024-01-15T06:40")
    expected = [
        (first, "body_mass", 75.8, "kg", "weight", alex),
        (first, "body_fat_percentage", 22.3, "%", "percent_fat", alex),
        (first, "body_water_percentage", 55.1, "%", "percent_hydration", alex),
        (first, "bone_mass", 3.2, "kg", "bone_mass", alex),
        (first, "muscle_mass", 35.5, "kg", "muscle_mass", alex),
        (first, "visceral_fat_rating", 7.0, "count", "visceral_fat_rating", alex),
        (first, "bmi", 23.1, "count", "bmi", alex),
        (second, "body_mass", 58.2, "kg", "weight", sam),
        (second, "body_fat_percentage", 25.1, "%", "percent_fat", sam),
        (second, "metabolic_age", 40.0, "yr", "metabolic_age", sam),
        (second, "basal_metabolic_rate", 1400.0, "kcal/d", "basal_met", sam),
        # The third reading was still "calculating": no row.
    ]
    assert tables["health_samples"] == [
        {
            "metric": metric,
            "start_at": at,
            "end_at": at,
            "utc_offset_min": None,
            "value": value,
            "unit": unit,
            **scale,
            "source_type": f"fit:weight_scale.{field}",
            "extra": user,
        }
        for at, metric, value, unit, field, user in expected
    ]


# broken files


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        ("truncated.fit", "the FIT file ends early at byte 453 (truncated or still being copied?)"),
        ("bad_crc.fit", "the FIT file's checksum does not match its bytes (damaged?)"),
    ],
)
def test_broken_files_raise_a_parse_error_naming_the_file(fixture: str, problem: str) -> None:
    path = DATA / fixture
    with pytest.raises(ParseError) as raised:
        list(fit.read(Source(path)))
    assert str(raised.value).startswith(f"{path}: {problem}")


def test_damaged_bytes_give_rows_or_a_parse_error_never_a_crash(tmp_path: Path) -> None:
    # Random bytes changed inside the fixtures, CRC fixed up so the decoder meets them.
    originals = [(DATA / name).read_bytes() for name in WHOLE_FIXTURES]
    rng = random.Random(20240501)
    path = tmp_path / "damaged.fit"
    for _ in range(300):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(14, len(data) - 2)] = rng.randrange(256)
        body = bytes(data[:-2])
        path.write_bytes(body + struct.pack("<H", crc16(body)))
        with contextlib.suppress(ParseError):
            list(fit.read(Source(path)))


# through the engine


def test_import_then_reimport_adds_nothing(vault: Path) -> None:
    path = DATA / "run_offset_dev_field.fit"
    [first] = import_paths([path], vault=vault, registry=registry())
    assert (first.status, first.importer) == ("imported", "fit")
    assert first.new == {"workouts": 1, "location_points": 2, "health_samples": 2}
    [again] = import_paths([path], vault=vault, registry=registry())
    assert again.status == "already_imported"
    assert query(vault, "SELECT count(*) FROM imports") == [(1,)]


def test_the_same_records_in_different_bytes_add_zero_rows(tmp_path: Path, vault: Path) -> None:
    import_paths([DATA / "run_offset_dev_field.fit"], vault=vault, registry=registry())
    # A 12-byte header: other bytes (not caught by the file hash), the same records.
    copy = tmp_path / "re-export.fit"
    copy.write_bytes(fit_fixtures.run_offset_dev_field(header_size=12))
    [again] = import_paths([copy], vault=vault, registry=registry())
    assert again.status == "imported"
    assert again.new == {"workouts": 0, "location_points": 0, "health_samples": 0}
    assert again.duplicate == {"workouts": 1, "location_points": 2, "health_samples": 2}


def test_rows_land_in_the_vault_with_offsets_and_json_extra(vault: Path) -> None:
    import_paths(
        [DATA / "run_offset_dev_field.fit", DATA / "monitoring_two_activity_types.fit"],
        vault=vault,
        registry=registry(),
    )
    assert query(
        vault,
        "SELECT sport, start_at::VARCHAR, utc_offset_min, extra->>'$.laps.count' FROM workouts",
    ) == [("running", "2024-05-01 07:00:00+00", 120, "2")]
    # Steps per local day, as docs/schema.md computes them.
    assert query(
        vault,
        "SELECT CAST(start_at AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0)) "
        "AS DATE)::VARCHAR AS day, sum(value) FROM health_samples WHERE metric = 'steps' "
        "GROUP BY day ORDER BY day",
    ) == [("2024-05-01", 2100.0), ("2024-05-02", 1550.0)]


def test_a_truncated_file_fails_and_writes_nothing(vault: Path) -> None:
    import_paths([DATA / "weight_scale_two_users.fit"], vault=vault, registry=registry())
    path = DATA / "truncated.fit"
    [result] = import_paths([path], vault=vault, registry=registry())
    assert result.status == "failed"
    assert str(result.error) == (
        f"{path}: the FIT file ends early at byte 453 (truncated or still being copied?)"
    )
    assert query(
        vault,
        "SELECT (SELECT count(*) FROM imports), (SELECT count(*) FROM workouts), "
        "(SELECT count(*) FROM location_points), (SELECT count(*) FROM health_samples)",
    ) == [(1, 0, 0, 11)]


def test_batches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fit, "BATCH_ROWS", 1)
    batches = list(fit.read(Source(DATA / "monitoring_two_activity_types.fit")))
    assert [batch.rows.num_rows for batch in batches] == [1] * 11


def test_a_fit_file_inside_a_zip_is_read_in_place(tmp_path: Path, vault: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(DATA / "pool_swim_hr_messages.fit", "activities/swim.fit")
    [result] = import_paths([archive], vault=vault, registry=registry())
    assert (result.status, result.new) == ("imported", {"workouts": 1, "health_samples": 4})
