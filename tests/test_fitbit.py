"""The Fitbit importer: detection, whole rows per kind, time zones and DST, rejects, the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.errors import IngestError, ParseError
from selfdata.importers import Registry, fitbit
from selfdata.importers.base import HEAD_BYTES, Reject, Source, stable_id
from selfdata.ingest import import_paths

DATA = Path(__file__).parent / "data" / "fitbit"
LONDON = {"timezone": "Europe/London"}

Rows = dict[str, list[dict[str, Any]]]


def read_rows(path: Path, **options: Any) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path, options={**LONDON, **options})
    tables: Rows = {}
    for batch in fitbit.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"])
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def write(tmp_path: Path, name: str, records: list[dict[str, Any]]) -> Path:
    """A fixture file in the export's own layout: Jackson's `"key" : value` spacing."""
    path = tmp_path / name
    path.write_text(json.dumps(records, indent=2, separators=(",", " : ")), encoding="utf-8")
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def sample(
    metric: str, start: datetime, end: datetime, offset: int, value: float, unit: str, **extra: Any
) -> dict[str, Any]:
    """A whole health_samples row as the importer yields it (Europe/London unless extra says)."""
    kind = extra.pop("kind", metric)
    return {
        "metric": metric,
        "start_at": start,
        "end_at": end,
        "utc_offset_min": offset,
        "value": value,
        "unit": unit,
        "source_type": f"fitbit:{kind}",
        "source_name": "Fitbit",
        "device": extra.pop("device", None),
        "extra": {**extra, "timezone_assumed": extra.pop("timezone_assumed", "Europe/London")},
    }


# detect

STEPS_HEAD = b'[{\n  "dateTime" : "03/26/23 00:58:00",\n  "value" : "12"\n}'


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("steps-2023-03-26.json", STEPS_HEAD),
        ("FitOut_resting_heart_rate-2023-03-02.json", b'[{\n  "dateTime" : "02/28/24 00:00:00"'),
        ("heart_rate-2023-10-29.json", b'[{"dateTime":"10/29/23 00:59:55","value":{"bpm":58'),
        ("sleep-2023-06-10.json", b'[{\n  "logId" : 38000000002,\n  "dateOfSleep"'),
        ("weight-2023-06-01.json", b'\xef\xbb\xbf[ {\r\n  "logId" : 1685606400000'),
        ("exercise-100.json", b'[{\n  "logId" : 56123456789,\n  "activityName" : "Run"'),
        ("exercise-2023-06-01.json", b'[{\n  "logId" : 56123456789'),
        ("Global Export Data/calories-2023-01-01.json", b"[ ]"),
    ],
)
def test_detect_accepts_export_files(name: str, head: bytes) -> None:
    assert fitbit.detect(head, name)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("altitude-2023-01-01.json", b'[{\n  "dateTime" : "01/01/23 00:00:00"'),
        ("very_active_minutes-2023-01-01.json", b'[{\n  "dateTime" : "01/01/23 00:00:00"'),
        ("time_in_heart_rate_zones-2023-01-01.json", b'[{\n  "dateTime" : "01/01/23"'),
        ("steps.json", STEPS_HEAD),
        ("mysteps-2023-01-01.json", STEPS_HEAD),
        ("steps-2023-01-01.json", b'{"dateTime" : "03/26/23 00:58:00"}'),
        ("steps-2023-01-01.json", b'[{"timestamp" : "2023-01-01T00:00:00Z"}]'),
        ("sleep-2023-06-10.json", STEPS_HEAD),
        ("steps-2023-01-01.json", b"<?xml version='1.0'?><gpx>"),
    ],
)
def test_detect_refuses_other_json_and_other_kinds(name: str, head: bytes) -> None:
    assert not fitbit.detect(head, name)


def test_every_fixture_is_detected_from_its_head() -> None:
    for path in DATA.glob("*.json"):
        assert fitbit.detect(Source(path).head(HEAD_BYTES), path.name), path.name


# one kind at a time, whole rows


def test_steps_across_the_clocks_going_forward() -> None:
    tables, source = read_rows(DATA / "steps-2023-03-26.json")
    # 00:59 has 0 steps: skipped. 01:00 does not exist in London that day (01:00 GMT is
    # 02:00 BST): read with the offset before the change, and said so in extra.
    assert tables == {
        "health_samples": [
            sample("steps", utc(2023, 3, 26, 0, 58), utc(2023, 3, 26, 0, 59), 0, 12.0, "count"),
            sample(
                "steps",
                utc(2023, 3, 26, 1, 0),
                utc(2023, 3, 26, 1, 1),
                0,
                30.0,
                "count",
                dst_local_time="nonexistent",
            ),
            sample("steps", utc(2023, 3, 26, 1, 0), utc(2023, 3, 26, 1, 1), 60, 25.0, "count"),
            sample("steps", utc(2023, 3, 26, 1, 1), utc(2023, 3, 26, 1, 2), 60, 7.0, "count"),
        ]
    }
    assert source.rejects == []


def test_heart_rate_across_the_clocks_going_back_keeps_confidence() -> None:
    tables, source = read_rows(DATA / "heart_rate-2023-10-29.json")
    hr = "count/min"
    at = utc(2023, 10, 28, 23, 59, 55), utc(2023, 10, 29, 0, 30, 5), utc(2023, 10, 29, 2, 0, 10)
    assert tables["health_samples"] == [
        sample("heart_rate", at[0], at[0], 60, 58.0, hr, confidence=3),
        # 01:30:05 happens twice: the earlier, still BST.
        sample("heart_rate", at[1], at[1], 60, 61.0, hr, confidence=2, dst_local_time="ambiguous"),
        sample("heart_rate", at[2], at[2], 0, 64.0, hr, confidence=1),
    ]
    assert source.rejects == [Reject("health_samples", "heart rate 0 is not a positive number", 13)]


def test_resting_heart_rate_spans_the_local_day_and_rejects_days_without_one() -> None:
    tables, source = read_rows(DATA / "resting_heart_rate-2023-03-26.json")
    # The day the clocks go forward is 23 hours long.
    assert tables["health_samples"] == [
        sample(
            "resting_heart_rate",
            utc(2023, 3, 26),
            utc(2023, 3, 26, 23),
            0,
            57.80731201171875,
            "count/min",
            error=6.5127153396606445,
        )
    ]
    reason = "no resting heart rate on 03/27/23 00:00:00: value 0.0"
    assert source.rejects == [Reject("health_samples", reason, 8)]


def test_weight_in_pounds_becomes_kilograms_fat_and_bmi() -> None:
    tables, _ = read_rows(DATA / "weight-2023-06-01.json", weight_unit="lb")
    first, second = utc(2023, 6, 1, 7), utc(2023, 6, 2, 22, 59, 59)
    aria = {"logId": 1685606400000, "source": "Aria", "device": "Aria", "kind": "weight"}
    api = {"logId": 1685750399000, "source": "API", "kind": "weight"}
    assert tables["health_samples"] == [
        sample(
            "body_mass",
            first,
            first,
            60,
            180.5 * 0.45359237,
            "kg",
            **aria,
            weight=180.5,
            weight_unit="lb",
        ),
        sample("body_fat_percentage", first, first, 60, 22.5, "%", **aria),
        sample("bmi", first, first, 60, 25.17, "count", **aria),
        # "API" is how the entry arrived, not a device; this one has no fat reading.
        sample(
            "body_mass",
            second,
            second,
            60,
            181.0 * 0.45359237,
            "kg",
            **api,
            weight=181.0,
            weight_unit="lb",
        ),
        sample("bmi", second, second, 60, 25.24, "count", **api),
    ]


def test_weight_unit_kg_keeps_the_number() -> None:
    tables, _ = read_rows(DATA / "weight-2023-06-01.json", weight_unit="kg")
    masses = [row["value"] for row in tables["health_samples"] if row["metric"] == "body_mass"]
    assert masses == [180.5, 181.0]


def test_sleep_stages_across_midnight_with_short_wakes_and_a_classic_nap() -> None:
    tables, source = read_rows(DATA / "sleep-2023-06-10.json")
    night = {"logId": 38000000002, "timezone_assumed": "Europe/London"}
    nap = {"logId": 38000000001, "timezone_assumed": "Europe/London"}

    def segment(
        start: datetime, end: datetime, stage: str, extra: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "start_at": start,
            "end_at": end,
            "utc_offset_min": 60,
            "stage": stage,
            "source_name": "Fitbit",
            "device": None,
            "extra": extra,
        }

    def level(level: str, **more: Any) -> dict[str, Any]:
        return {
            "logId": night["logId"],
            "level": level,
            **more,
            "timezone_assumed": "Europe/London",
        }

    log = {
        "dateOfSleep": "2023-06-11",
        "efficiency": 93,
        "mainSleep": True,
        "minutesAsleep": 74,
        "minutesAwake": 16,
        "minutesToFallAsleep": 0,
        "timeInBed": 90,
        "type": "stages",
        "logType": "auto_detected",
    }
    assert tables["sleep_segments"][:7] == [
        segment(utc(2023, 6, 10, 22, 10, 30), utc(2023, 6, 10, 23, 40, 30), "in_bed", night | log),
        segment(utc(2023, 6, 10, 22, 10, 30), utc(2023, 6, 10, 22, 15, 30), "awake", level("wake")),
        segment(utc(2023, 6, 10, 22, 15, 30), utc(2023, 6, 10, 22, 45, 30), "core", level("light")),
        segment(utc(2023, 6, 10, 22, 45, 30), utc(2023, 6, 10, 23, 5, 30), "deep", level("deep")),
        segment(utc(2023, 6, 10, 23, 5, 30), utc(2023, 6, 10, 23, 30, 30), "rem", level("rem")),
        segment(utc(2023, 6, 10, 23, 30, 30), utc(2023, 6, 10, 23, 40, 30), "awake", level("wake")),
        # A short wake, overlaid on the light segment it interrupts.
        segment(
            utc(2023, 6, 10, 22, 30), utc(2023, 6, 10, 22, 31), "awake", level("wake", short=True)
        ),
    ]
    classic = [(row["stage"], row["extra"].get("level")) for row in tables["sleep_segments"][7:]]
    assert classic == [
        ("in_bed", None),
        ("asleep", "asleep"),
        ("awake", "restless"),
        ("asleep", "asleep"),
        ("awake", "awake"),
    ]
    in_bed = tables["sleep_segments"][7]
    assert (in_bed["start_at"], in_bed["end_at"]) == (
        utc(2023, 6, 10, 12),
        utc(2023, 6, 10, 12, 30),
    )
    assert in_bed["extra"] == nap | {
        "dateOfSleep": "2023-06-10",
        "efficiency": 83,
        "mainSleep": False,
        "minutesAsleep": 25,
        "minutesAwake": 5,
        "minutesToFallAsleep": 0,
        "timeInBed": 30,
        "type": "classic",
        "logType": "auto_detected",
    }
    assert source.rejects == []


def test_exercise_with_kilometres_becomes_workouts() -> None:
    tables, _ = read_rows(DATA / "exercise-0.json")
    zone = {"timezone_assumed": "Europe/London"}
    assert tables["workouts"] == [
        {
            "workout_id": stable_id("fitbit", 56123456789),
            "sport": "running",
            "start_at": utc(2023, 6, 3, 6, 5),
            "end_at": utc(2023, 6, 3, 6, 35, 35),
            "utc_offset_min": 60,
            "duration_s": 1835.0,
            "distance_m": pytest.approx(5012.345),
            "energy_kcal": 412.0,
            "avg_heart_rate": 151.0,
            "max_heart_rate": None,
            "source_name": "Fitbit",
            "device": "Charge 5",
            "extra": {
                "name": "Run",
                "activityTypeId": 90009,
                "logType": "tracker",
                "active_duration_s": 1800.0,
                "steps": 5100,
                "elevationGain": 21.336,
                **zone,
            },
        },
        {
            "workout_id": stable_id("fitbit", 56123999999),
            "sport": "other",
            "start_at": utc(2023, 6, 4, 17, 30),
            "end_at": utc(2023, 6, 4, 17, 50),
            "utc_offset_min": 60,
            "duration_s": 1200.0,
            "distance_m": None,
            "energy_kcal": 95.0,
            "avg_heart_rate": 88.0,
            "max_heart_rate": None,
            "source_name": "Fitbit",
            "device": None,
            "extra": {
                "name": "Yoga",
                "activityTypeId": 52001,
                "logType": "manual",
                "active_duration_s": 1200.0,
                "steps": 0,
                "elevationGain": 0.0,
                **zone,
            },
        },
    ]


@pytest.mark.parametrize(
    ("activity", "distance", "unit", "sport", "metres"),
    [
        ("Outdoor Bike", 10, "Mile", "cycling", 16093.44),
        ("Walk", 2.5, "Kilometer", "walking", 2500.0),
        ("Swim", 750, "Meter", "swimming", 750.0),
        ("Hike", 3, "Furlong", "hiking", None),  # an unknown unit: kept in extra
        ("Skipping", None, None, "other", None),
    ],
)
def test_sport_and_distance_units(
    tmp_path: Path,
    activity: str,
    distance: float | None,
    unit: str | None,
    sport: str,
    metres: float | None,
) -> None:
    record = {"logId": 1, "activityName": activity, "startTime": "06/03/23 07:05:00"}
    record |= {"distance": distance, "distanceUnit": unit} if distance else {}
    tables, _ = read_rows(write(tmp_path, "exercise-0.json", [record]))
    [workout] = tables["workouts"]
    assert (workout["sport"], workout["distance_m"]) == (sport, pytest.approx(metres))
    assert (workout["start_at"], workout["end_at"], workout["duration_s"]) == (
        utc(2023, 6, 3, 6, 5),
        utc(2023, 6, 3, 6, 5),
        None,
    )
    if metres is None and distance:
        assert (workout["extra"]["distance"], workout["extra"]["distanceUnit"]) == (3, "Furlong")


def test_distance_is_centimetres_and_calories_total_energy(tmp_path: Path) -> None:
    minute = {"dateTime": "01/15/23 08:00:00"}
    distance, _ = read_rows(
        write(tmp_path, "distance-2023-01-15.json", [minute | {"value": "1544"}])
    )
    calories, _ = read_rows(
        write(tmp_path, "calories-2023-01-15.json", [minute | {"value": "1.07"}])
    )
    start, end = utc(2023, 1, 15, 8), utc(2023, 1, 15, 8, 1)
    assert distance["health_samples"] == [
        sample("distance_walking_running", start, end, 0, 15.44, "m", kind="distance")
    ]
    assert calories["health_samples"] == [
        sample("total_energy", start, end, 0, 1.07, "kcal", kind="calories")
    ]


def test_zero_calories_are_kept_but_zero_distance_is_not(tmp_path: Path) -> None:
    minute = {"dateTime": "01/15/23 08:00:00", "value": "0"}
    distance, _ = read_rows(write(tmp_path, "distance-2023-01-15.json", [minute]))
    calories, _ = read_rows(write(tmp_path, "calories-2023-01-15.json", [minute]))
    assert (distance, [r["value"] for r in calories["health_samples"]]) == ({}, [0.0])


# time zones


def test_the_machine_zone_is_used_and_named_when_no_timezone_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    source = Source(DATA / "heart_rate-2023-10-29.json")
    [batch] = list(fitbit.read(source))
    first = batch.rows.to_pylist()[0]
    # 00:59:55 EDT is 04:59:55 UTC.
    assert (first["start_at"], first["utc_offset_min"]) == (utc(2023, 10, 29, 4, 59, 55), -240)
    assert json.loads(first["extra"])["timezone_assumed"] == "America/New_York"


def test_unknown_machine_zone_falls_back_to_a_real_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Not/AZone")
    [batch] = list(fitbit.read(Source(DATA / "steps-2023-03-26.json")))
    zone = json.loads(batch.rows.to_pylist()[0]["extra"])["timezone_assumed"]
    assert zone != "Not/AZone"
    assert fitbit._is_zone(zone)


def test_utc_kinds_read_times_as_utc_with_the_local_offset() -> None:
    tables, _ = read_rows(DATA / "heart_rate-2023-10-29.json", utc_kinds=["heart_rate"])
    first = tables["health_samples"][0]
    assert (first["start_at"], first["utc_offset_min"]) == (utc(2023, 10, 29, 0, 59, 55), 60)
    assert first["extra"] == {
        "confidence": 3,
        "timezone_assumed": "Europe/London",
        "times_in": "UTC",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"weight_unit": "stone"}, 'use "kg" or "lb"'),
        ({"utc_kinds": ["hr"]}, "list kinds from"),
    ],
)
def test_bad_options_fail_the_file_saying_how_to_fix_them(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(IngestError, match=message):
        read_rows(DATA / "steps-2023-03-26.json", **options)


# rejects and broken files


def test_bad_records_are_rejected_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "steps-2023-01-15.json",
        [
            {"dateTime": "01/15/23 08:00:00", "value": "12"},
            {"dateTime": "yesterday", "value": "3"},
            {"dateTime": "01/15/23 08:02:00", "value": "many"},
            {"value": "4"},
            "not an object",
        ],
    )
    tables, source = read_rows(path)
    assert [row["value"] for row in tables["health_samples"]] == [12.0]
    assert source.rejects == [
        Reject("health_samples", "unparsable time 'yesterday'", 6),
        Reject("health_samples", "steps 'many' is not a number", 10),
        Reject("health_samples", "no time given", 14),
        Reject("health_samples", "steps None is not a number", 17),
    ]


def test_unknown_sleep_levels_give_no_segment(tmp_path: Path) -> None:
    log = {
        "logId": 1,
        "startTime": "2023-01-15T23:00:00.000",
        "endTime": "2023-01-16T01:00:00.000",
        "levels": {
            "data": [
                {"dateTime": "2023-01-15T23:00:00.000", "level": "light", "seconds": 3600},
                {"dateTime": "2023-01-16T00:00:00.000", "level": "unknown", "seconds": 3600},
            ]
        },
    }
    tables, source = read_rows(write(tmp_path, "sleep-2023-01-15.json", [log]))
    assert [row["stage"] for row in tables["sleep_segments"]] == ["in_bed", "core"]
    assert source.rejects == []


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('[{\n  "dateTime" : "01/15/23 08:00:00"\n},{\n  "dateTime" : "01/1', "broken JSON", 4),
        ('[{\n  "dateTime" : "01/15/23 08:00:00",\n  "value" : "1"\n}', "cut off", 4),
        ('{"dateTime" : "01/15/23 08:00:00"}', "holds no JSON array", 1),
        ('[{"dateTime" : "01/15/23 08:00:00", "value" : "1"}]\n[]', "text after the end", 2),
        ('[{"dateTime" : "01/15/23 08:00:00"} {"value" : "2"}]', "Expecting ',' delimiter", 1),
        ("\n", "the file is empty", 2),
    ],
    ids=["truncated-inside", "truncated-between", "object", "trailing", "no-comma", "empty"],
)
def test_broken_files_are_parse_errors_naming_the_line(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path = tmp_path / "steps-2023-01-15.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=message) as raised:
        read_rows(path)
    assert raised.value.line == line


def test_small_batches_give_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    minutes = [
        {"dateTime": f"01/15/23 {hour:02d}:{minute:02d}:00", "value": str(hour * 60 + minute)}
        for hour in range(3)
        for minute in range(60)
    ]
    path = write(tmp_path, "steps-2023-01-15.json", minutes)
    whole, _ = read_rows(path)
    monkeypatch.setattr(fitbit, "BATCH_ROWS", 25)
    sizes = [batch.rows.num_rows for batch in fitbit.read(Source(path, options=LONDON))]
    pieces, _ = read_rows(path)
    assert sizes == [24] + [25] * 6 + [5]  # the first minute has 0 steps
    assert pieces == whole


# through the engine


@pytest.fixture
def registry() -> Registry:
    built = Registry()
    built.register(fitbit, origin="builtin")
    return built


def configure(vault: Path, text: str = '[importers.fitbit]\ntimezone = "Europe/London"\n') -> None:
    vault.parent.mkdir(parents=True, exist_ok=True)
    (vault.parent / "selfdata.toml").write_text(text, encoding="utf-8")


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def test_the_fixture_folder_lands_in_the_vault_with_the_zone_from_selfdata_toml(
    vault: Path, registry: Registry
) -> None:
    configure(vault)
    results = import_paths([DATA], vault=vault, registry=registry)
    new = {Path(r.name).name: (r.status, r.new) for r in results}
    assert new == {
        "exercise-0.json": ("imported", {"workouts": 2}),
        "heart_rate-2023-10-29.json": ("imported", {"health_samples": 3}),
        "resting_heart_rate-2023-03-26.json": ("imported", {"health_samples": 1}),
        "sleep-2023-06-10.json": ("imported", {"sleep_segments": 12}),
        "steps-2023-03-26.json": ("imported", {"health_samples": 4}),
        "weight-2023-06-01.json": ("imported", {"health_samples": 5}),
    }
    steps = query(
        vault,
        "SELECT start_at::VARCHAR, end_at::VARCHAR, utc_offset_min, value, unit, source_name, "
        "device, source_type, extra FROM health_samples WHERE metric = 'steps' "
        "ORDER BY start_at, utc_offset_min",
    )
    zone = {"timezone_assumed": "Europe/London"}
    assert [row[:-1] for row in steps] == [
        (
            "2023-03-26 00:58:00+00",
            "2023-03-26 00:59:00+00",
            0,
            12.0,
            "count",
            "Fitbit",
            None,
            "fitbit:steps",
        ),
        (
            "2023-03-26 01:00:00+00",
            "2023-03-26 01:01:00+00",
            0,
            30.0,
            "count",
            "Fitbit",
            None,
            "fitbit:steps",
        ),
        (
            "2023-03-26 01:00:00+00",
            "2023-03-26 01:01:00+00",
            60,
            25.0,
            "count",
            "Fitbit",
            None,
            "fitbit:steps",
        ),
        (
            "2023-03-26 01:01:00+00",
            "2023-03-26 01:02:00+00",
            60,
            7.0,
            "count",
            "Fitbit",
            None,
            "fitbit:steps",
        ),
    ]
    assert [json.loads(row[-1]) for row in steps] == [
        zone,
        zone | {"dst_local_time": "nonexistent"},
        zone,
        zone,
    ]
    # Steps per local day: the gap minute counts on the 26th.
    assert query(
        vault,
        "SELECT CAST(start_at AT TIME ZONE 'UTC' + to_minutes(utc_offset_min) AS DATE)::VARCHAR, "
        "sum(value) FROM health_samples WHERE metric = 'steps' GROUP BY ALL",
    ) == [("2023-03-26", 74.0)]
    [(status, rejected)] = query(
        vault,
        "SELECT status, rows_rejected FROM imports WHERE file_name LIKE '%heart_rate-%' "
        "AND file_name NOT LIKE '%resting%'",
    )
    assert (status, json.loads(rejected)) == ("ok_with_rejects", {"health_samples": 1})


def test_a_second_import_adds_zero_rows(tmp_path: Path, vault: Path, registry: Registry) -> None:
    configure(vault)
    import_paths([DATA], vault=vault, registry=registry)
    again = import_paths([DATA], vault=vault, registry=registry)
    assert {r.status for r in again} == {"already_imported"}
    # Different bytes, same records (a re-export): dedupe by natural key.
    copy = tmp_path / "export" / "sleep-2023-06-10.json"
    copy.parent.mkdir()
    copy.write_text(json.dumps(json.loads((DATA / copy.name).read_text())), encoding="utf-8")
    [result] = import_paths([copy], vault=vault, registry=registry)
    assert (result.status, result.new, result.duplicate) == (
        "imported",
        {"sleep_segments": 0},
        {"sleep_segments": 12},
    )


def test_a_broken_file_fails_alone_and_writes_nothing(
    tmp_path: Path, vault: Path, registry: Registry
) -> None:
    configure(vault)
    import_paths([DATA / "steps-2023-03-26.json"], vault=vault, registry=registry)
    broken = tmp_path / "steps-2023-01-15.json"
    broken.write_text(
        '[{\n  "dateTime" : "01/15/23 08:00:00",\n  "value" : "1"\n},{', encoding="utf-8"
    )
    [result] = import_paths([broken], vault=vault, registry=registry)
    assert result.status == "failed"
    assert str(result.error).startswith(f"{broken}, line 4")
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM health_samples") == [
        (4, 1)
    ]
