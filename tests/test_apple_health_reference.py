"""The Apple Health oracle itself: known answers on the quirk fixtures and the corpus.

The oracle (tests/reference/apple_health_reference.py) is the truth the fast
importer is compared with, so it is checked here against figures worked out by
hand from docs/apple_health_rows.md and from the totals the corpus files' own
authors wrote down. Corpus tests skip when ../shared/corpus is absent.
"""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from selfdata.errors import ParseError
from selfdata.importers.base import Reject, stable_id
from tests.reference.apple_health_reference import (
    Rows,
    find_export_member,
    normalise,
    reference_rejects,
    reference_rows,
)
from tests.reference.zips import (
    ROUTE_GPX,
    ROUTE_PATH,
    build_export_zip,
    build_localized_zip,
    write_export_zip,
)

DATA = Path(__file__).parent / "data" / "apple_health"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "apple_health"
SYNTH = Path(__file__).resolve().parents[1] / "bench" / "synth_apple_health.py"

WATCH = "User\u2019s Apple\u00a0Watch"
DAN_WATCH = "Dan\u2019s Apple Watch"


def at(text: str) -> datetime:
    """`2024-05-04 07:42:10` as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus at {CORPUS}")
    return path


def by_metric(rows: Rows, metric: str) -> list[dict[str, Any]]:
    return [row for row in rows["health_samples"] if row["metric"] == metric]


def mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def write_export(tmp_path: Path, body: str) -> Path:
    """A minimal export.xml around `body` (its first line is line 3)."""
    path = tmp_path / "export.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n{body}\n'
        "</HealthData>\n",
        encoding="utf-8",
    )
    return path


# dtd_ios16.xml


def test_ios16_dtd_is_broken_for_a_plain_parser() -> None:
    # The fixture really carries the bug: expat stops where <!ELEMENT RightEye starts.
    with pytest.raises(ET.ParseError, match="syntax error: line 157"):
        ET.parse(DATA / "dtd_ios16.xml")


def test_ios16_dtd_is_stripped_and_every_row_read() -> None:
    ref = reference_rows(DATA / "dtd_ios16.xml")
    assert ref.repairs == 0
    assert ref.rejects == []
    assert {table: len(rows) for table, rows in ref.rows.items()} == {
        "health_samples": 2,
        "sleep_segments": 1,
    }
    assert ref.rows["health_samples"][0] == {
        "metric": "steps",
        "start_at": at("2022-10-31 08:30:12"),
        "end_at": at("2022-10-31 08:39:55"),
        "utc_offset_min": 0,
        "value": 812.0,
        "unit": "count",
        "source_name": "Sam\u2019s iPhone",
        "device": "<<HKDevice: 0x283d8a1c0>, name:iPhone, manufacturer:Apple Inc., "
        "model:iPhone, hardware:iPhone14,5, software:16.1>",
        "source_type": "HKQuantityTypeIdentifierStepCount",
        "extra": {"source_version": "16.1", "creation_date": "2022-10-31 08:41:07 +0000"},
    }


def test_line_numbers_after_the_dtd_are_the_files_own(tmp_path: Path) -> None:
    text = (DATA / "dtd_ios16.xml").read_text(encoding="utf-8")
    bad = (
        ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" unit="count" '
        'startDate="2022-10-31 08:30:12 +0000" value="1"/>\n'
    )
    path = tmp_path / "export.xml"
    path.write_text(text.replace("</HealthData>", bad + "</HealthData>"), encoding="utf-8")
    line = text.count("\n", 0, text.index("</HealthData>")) + 1
    assert [(r.table, r.line) for r in reference_rejects(path)] == [("health_samples", line)]


# control_chars.xml


def test_control_characters_break_a_plain_parser() -> None:
    with pytest.raises(ET.ParseError, match="not well-formed"):
        ET.parse(DATA / "control_chars.xml")


def test_control_characters_are_removed_and_counted() -> None:
    ref = reference_rows(DATA / "control_chars.xml")
    assert ref.repairs == 2
    samples = ref.rows["health_samples"]
    assert [row["source_name"] for row in samples] == [
        "Health Mate",
        "Lenas iPhone",
        "Lenas iPhone",
    ]
    assert samples[1]["device"] == (
        "<<HKDevice: 0x281b7c0f0>, name:iPhone, manufacturer:Apple Inc., model:iPhone, "
        "hardware:iPhone13,2, software:16.1.1>"
    )
    assert samples[0]["extra"]["metadata"] == {"HKWasUserEntered": "0"}


# entities_multiline.xml


@pytest.fixture(scope="module")
def entities() -> Rows:
    ref = reference_rows(DATA / "entities_multiline.xml")
    assert ref.rejects == [] and ref.repairs == 0
    return ref.rows


def test_wrapped_attributes_and_character_references(entities: Rows) -> None:
    first = entities["health_samples"][0]
    assert first == {
        "metric": "heart_rate",
        "start_at": at("2024-02-09 12:16:45"),
        "end_at": at("2024-02-09 12:16:45"),
        "utc_offset_min": -300,
        "value": 64.0,
        "unit": "count/min",
        "source_name": WATCH,
        "device": "<<HKDevice: 0x30290c1e0>, name:Apple Watch, manufacturer:Apple Inc., "
        "model:Watch, hardware:Watch6,14, software:10.2>",
        "source_type": "HKQuantityTypeIdentifierHeartRate",
        "extra": {
            "source_version": "10.2",
            "creation_date": "2024-02-09 07:16:51 -0500",
            "metadata": {"HKMetadataKeyHeartRateMotionContext": "0"},
        },
    }


def test_explicit_closing_tag_and_double_escaped_device(entities: Rows) -> None:
    second = by_metric(entities, "heart_rate")[1]
    assert (second["value"], second["device"]) == (71.0, "<<HKDevice: 0x30290c1e0>>")
    assert "metadata" not in second["extra"]


def test_hrv_beats_in_order(entities: Rows) -> None:
    (hrv,) = by_metric(entities, "hrv_sdnn")
    assert hrv["value"] == 41.2305
    assert hrv["extra"]["beats"] == [
        {"bpm": 62.0, "time": "7:20:01.84 AM"},
        {"bpm": 64.0, "time": "7:20:02.77 AM"},
        {"bpm": 61.0, "time": "7:20:03.75 AM"},
    ]


def test_escapes_tabs_newlines_and_repeated_metadata_keys(entities: Rows) -> None:
    (food,) = by_metric(entities, "dietary_energy")
    assert food["source_name"] == "Lose It!"  # a literal tab becomes a space
    assert food["extra"]["metadata"] == {
        "HKFoodType": 'Oat "Barista" milk & honey',
        "meal": "Breakfast",  # written twice: the later wins
        "note": "second cup, no sugar",  # a literal line break becomes a space
    }
    (bmi,) = by_metric(entities, "bmi")
    assert bmi["extra"]["metadata"]["Withings Link"] == (
        "withings-bd2://timeline/measure?userid=12345&date=482685932&type=1"
    )


def test_correlation_records_are_counted_once(entities: Rows) -> None:
    metrics = Counter(row["metric"] for row in entities["health_samples"])
    assert metrics == {
        "heart_rate": 2,
        "hrv_sdnn": 1,
        "dietary_energy": 1,
        "bmi": 1,
        "blood_pressure_systolic": 1,
        "blood_pressure_diastolic": 1,
        "apple_stand_hour": 1,
    }


def test_category_values_are_kept_as_text(entities: Rows) -> None:
    (stand,) = by_metric(entities, "apple_stand_hour")
    assert (stand["value"], stand["unit"]) == (None, None)
    assert stand["extra"]["category"] == "HKCategoryValueAppleStandHourStood"


# sleep_generations.xml


@pytest.fixture(scope="module")
def sleep() -> list[dict[str, Any]]:
    return reference_rows(DATA / "sleep_generations.xml").rows["sleep_segments"]


def test_every_sleep_generation_maps_to_a_stage(sleep: list[dict[str, Any]]) -> None:
    assert Counter(row["stage"] for row in sleep) == {
        "in_bed": 2,
        "asleep": 4,  # three Asleep (iOS 15) and one AsleepUnspecified
        "core": 2,
        "deep": 1,
        "rem": 1,
        "awake": 1,
    }
    assert {row["source_name"] for row in sleep} == {
        "Ana\u2019s iPhone",
        "Ana\u2019s Apple Watch",
        "AutoSleep",
    }


def test_sleep_across_the_dst_change(sleep: list[dict[str, Any]]) -> None:
    spanning = [row for row in sleep if row["start_at"] == at("2022-03-27 00:50:00")]
    assert [(row["utc_offset_min"], row["end_at"] - row["start_at"]) for row in spanning] == [
        (60, timedelta(minutes=30))
    ]
    berlin = ZoneInfo("Europe/Berlin")
    for row in sleep:
        # Each offset is the one Berlin had at the segment's start.
        offset = row["start_at"].astimezone(berlin).utcoffset()
        assert row["utc_offset_min"] == offset.total_seconds() // 60
    assert {row["utc_offset_min"] for row in sleep} == {60, 120}


def test_unknown_sleep_value_is_rejected_with_its_line() -> None:
    assert reference_rejects(DATA / "sleep_generations.xml") == [
        Reject("sleep_segments", "unknown sleep value 'HKCategoryValueSleepAnalysisAsleepNap'", 28)
    ]


# workouts.xml and the export.zip built from it


@pytest.fixture(scope="module")
def workouts() -> Rows:
    return reference_rows(DATA / "workouts.xml").rows


def test_units_are_converted(workouts: Rows) -> None:
    values = {
        row["metric"]: (pytest.approx(row["value"]), row["unit"], row["extra"].get("unit"))
        for row in workouts["health_samples"]
        if row["source_type"] != "ActivitySummary"
    }
    assert values == {
        "body_mass": (176.4 * 0.45359237, "kg", "lb"),
        "active_energy": (10.0, "kcal", "kJ"),
        "distance_walking_running": (0.42 * 1609.344, "m", "mi"),
        "blood_glucose": (108 / 18.0156, "mmol/L", "mg/dL"),
        "body_temperature": (37.0, "degC", "degF"),
        "oxygen_saturation": (97.0, "%", None),
    }


def test_old_workout_with_total_attributes_and_inline_route(workouts: Rows) -> None:
    old = workouts["workouts"][0]
    workout_id = stable_id(
        "apple_health", DAN_WATCH, "2018-09-22 08:01:40 -0700", "HKWorkoutActivityTypeRunning"
    )
    assert old["workout_id"] == workout_id
    assert (old["duration_s"], old["distance_m"]) == (750.0, pytest.approx(1.25 * 1609.344))
    assert old["energy_kcal"] == pytest.approx(120.0)
    assert (old["avg_heart_rate"], old["max_heart_rate"]) == (None, None)
    assert old["extra"]["route"] == {"source_name": "Dan\u2019s iPhone"}
    points = workouts["location_points"]
    assert len(points) == 3
    assert points[0] == {
        "recorded_at": at("2018-09-22 15:01:41"),
        "utc_offset_min": -420,
        "lat": 37.76921,
        "lon": -122.4862,
        "accuracy_m": 4.10311,
        "altitude_m": 21.2694,
        "speed_mps": 2.71,
        "source": "Dan\u2019s iPhone",
        "workout_id": workout_id,
        "extra": {"course": 271.4, "vertical_accuracy": 3.00142},
    }


def test_ios16_workout_from_its_statistics(workouts: Rows) -> None:
    new = workouts["workouts"][1]
    assert new["start_at"] == at("2024-05-04 11:42:10")
    assert new["utc_offset_min"] == -240
    assert new["duration_s"] == pytest.approx(41.53 * 60)
    # The first distance statistic in document order is the one inside WorkoutActivity.
    assert new["distance_m"] == pytest.approx(3.12 * 1609.344)
    assert new["energy_kcal"] == pytest.approx(1478.2 / 4.184)
    assert (new["avg_heart_rate"], new["max_heart_rate"]) == (152.3, 174.0)
    extra = new["extra"]
    assert [s["type"].removeprefix("HKQuantityTypeIdentifier") for s in extra["statistics"]] == [
        "DistanceWalkingRunning",
        "ActiveEnergyBurned",
        "BasalEnergyBurned",
        "DistanceWalkingRunning",
        "HeartRate",
    ]
    assert [event["type"].removeprefix("HKWorkoutEventType") for event in extra["events"]] == [
        "Pause",
        "Resume",
        "Segment",
    ]
    assert extra["activities"] == [
        {
            "uuid": "6B0E1C3A-5D8F-4C21-9E57-2F4A8B1D0C93",
            "startDate": "2024-05-04 07:42:10 -0400",
            "endDate": "2024-05-04 08:24:44 -0400",
            "duration": "41.53",
            "durationUnit": "min",
        }
    ]
    # The activity's own metadata is not the workout's.
    assert "HKElevationAscended" not in extra["metadata"]
    assert extra["route"] == {"source_name": DAN_WATCH, "file": ROUTE_PATH}


def test_activity_summaries_both_move_spellings(workouts: Rows) -> None:
    summaries = {
        (row["start_at"].date().isoformat(), row["metric"]): (
            pytest.approx(row["value"]),
            row["extra"].get("goal"),
        )
        for row in workouts["health_samples"]
        if row["source_type"] == "ActivitySummary"
    }
    assert summaries == {
        ("2020-06-01", "activity_move"): (410.0, 500.0),
        ("2020-06-01", "activity_move_time"): (32.0, 30.0),  # appleMoveMinutes
        ("2020-06-01", "activity_exercise"): (28.0, 30.0),
        ("2020-06-01", "activity_stand_hours"): (10.0, 12.0),
        ("2024-05-04", "activity_move"): (560.0, pytest.approx(500.0)),  # kJ
        ("2024-05-04", "activity_move_time"): (0.0, 0.0),  # appleMoveTime
        ("2024-05-04", "activity_exercise"): (44.0, 30.0),
        ("2024-05-04", "activity_stand_hours"): (13.0, 12.0),
    }
    row = next(r for r in workouts["health_samples"] if r["source_type"] == "ActivitySummary")
    assert (row["end_at"] - row["start_at"], row["utc_offset_min"]) == (timedelta(days=1), None)
    assert (row["source_name"], row["device"]) == ("Activity", None)


def test_a_missing_route_file_is_one_reject() -> None:
    # On its own, workouts.xml has no workout-routes folder beside it.
    rejects = reference_rejects(DATA / "workouts.xml")
    assert [(r.table, r.line) for r in rejects] == [("location_points", 50)]
    assert ROUTE_PATH in rejects[0].reason


def test_zip_reads_the_route_file(tmp_path: Path, workouts: Rows) -> None:
    ref = reference_rows(build_export_zip(tmp_path))
    assert ref.rejects == []
    points = ref.rows["location_points"]
    from_gpx = points[3:]
    workout_id = workouts["workouts"][1]["workout_id"]
    assert len(from_gpx) == 4  # the GPX repeats its last point, as Apple's do
    assert {(p["source"], p["workout_id"], p["utc_offset_min"]) for p in from_gpx} == {
        (DAN_WATCH, workout_id, None)
    }
    assert from_gpx[0]["recorded_at"] == at("2024-05-04 11:42:11")
    assert from_gpx[0]["extra"]["course"] == 12.480469
    # Everything else is what the bare export.xml gives: no rows from export_cda.xml
    # or the ECG, and no workout row from the GPX file.
    assert normalise({**ref.rows, "location_points": points[:3]}) == normalise(workouts)


@pytest.mark.parametrize("name", ["exportar.xml", "Export.xml", "eksport.xml"])
def test_localized_export_names(tmp_path: Path, name: str) -> None:
    standard = reference_rows(build_export_zip(mkdir(tmp_path / "standard")))
    localized_path = build_export_zip(mkdir(tmp_path / "localized"), export_name=name)
    with zipfile.ZipFile(localized_path) as archive:
        assert find_export_member(archive) == f"apple_health_export/{name}"
    assert normalise(reference_rows(localized_path).rows) == normalise(standard.rows)


def test_build_localized_zip(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_localized_zip(tmp_path)) as archive:
        assert sorted(archive.namelist()) == [
            "apple_health_export/electrocardiograms/ecg_2024-01-01.csv",
            "apple_health_export/export_cda.xml",
            "apple_health_export/exportar.xml",
            "apple_health_export/workout-routes/route_2024-05-04_7.42am.gpx",
        ]
        assert archive.read("apple_health_export/workout-routes/route_2024-05-04_7.42am.gpx") == (
            ROUTE_GPX
        )


def test_a_zip_without_an_export_fails(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("apple_health_export/export_cda.xml", "<HealthData/>")
    with pytest.raises(ParseError, match="holds no Apple Health export"):
        reference_rows(path)


# truncated.xml


def test_truncated_export_fails_naming_the_line() -> None:
    with pytest.raises(ParseError) as caught:
        reference_rows(DATA / "truncated.xml")
    assert caught.value.line == 8
    assert "truncated.xml, line 8" in str(caught.value)


# Rules from the spec that no fixture needs a real quirk for


def test_records_without_usable_dates_are_rejected(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="p" unit="count"'
        ' startDate="2024-01-01 10:00:00 +0000" value="5"/>\n'
        '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="p" unit="count"'
        ' startDate="2024-02-30 10:00:00 +0000" endDate="2024-02-30 10:05:00 +0000"'
        ' value="5"/>\n'
        '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="p"'
        ' startDate="2024-01-01T10:00:00Z" endDate="2024-01-01 11:00:00 +0000"'
        ' value="HKCategoryValueSleepAnalysisInBed"/>\n'
        '<ActivitySummary activeEnergyBurned="1" activeEnergyBurnedUnit="kcal"/>',
    )
    ref = reference_rows(path)
    assert ref.rows == {}
    assert [(r.table, r.line) for r in ref.rejects] == [
        ("health_samples", 3),
        ("health_samples", 4),
        ("sleep_segments", 5),
        ("health_samples", 6),
    ]


def test_workout_defaults(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        '<Workout workoutActivityType="HKWorkoutActivityTypeTraditionalStrengthTraining"'
        ' duration="30" sourceName="Watch" startDate="2024-01-01 10:00:00 +0100"'
        ' endDate="2024-01-01 10:40:00 +0100">\n'
        ' <WorkoutRoute startDate="2024-01-01 10:00:00 +0100"'
        ' endDate="2024-01-01 10:40:00 +0100">\n'
        '  <Location date="2024-01-01 10:00:01 +0100" latitude="52.5" longitude="13.4"/>\n'
        " </WorkoutRoute>\n"
        "</Workout>\n"
        '<Workout workoutActivityType="HKWorkoutActivityTypeWalking" sourceName="Watch"'
        ' startDate="2024-01-02 10:00:00 +0100" endDate="2024-01-02 10:40:00 +0100"/>',
    )
    strength, walk = reference_rows(path).rows["workouts"]
    assert strength["sport"] == "traditional_strength_training"
    assert strength["duration_s"] == 1800.0  # durationUnit absent: minutes
    assert walk["duration_s"] == 2400.0  # duration absent: end - start
    assert (walk["distance_m"], walk["energy_kcal"]) == (None, None)
    assert walk["extra"] == {}
    (point,) = reference_rows(path).rows["location_points"]
    # A route without a sourceName takes the workout's.
    assert (point["source"], point["workout_id"]) == ("Watch", strength["workout_id"])
    assert "route" not in strength["extra"]  # a route with no name and no file says nothing


def test_rows_outside_the_top_level_are_ignored(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        '<Correlation type="HKCorrelationTypeIdentifierFood" sourceName="app"'
        ' startDate="2024-01-01 10:00:00 +0000" endDate="2024-01-01 10:00:00 +0000">\n'
        ' <Record type="HKQuantityTypeIdentifierDietaryEnergyConsumed" sourceName="app"'
        ' unit="kcal" startDate="2024-01-01 10:00:00 +0000" endDate="2024-01-01 10:00:00 +0000"'
        ' value="100"/>\n'
        "</Correlation>\n"
        '<Audiogram type="HKDataTypeIdentifierAudiogram" sourceName="Mimi"'
        ' startDate="2024-01-01 10:00:00 +0000" endDate="2024-01-01 10:00:00 +0000"/>\n'
        '<ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" identifier="1"'
        ' sourceName="Clinic" sourceURL="x" fhirVersion="4.0.1"'
        ' receivedDate="2024-01-01 10:00:00 +0000" resourceFilePath="/clinical-records/1.json"/>',
    )
    assert reference_rows(path).rows == {}


# normalise


def test_normalise_makes_equal_row_sets_equal() -> None:
    ours = {
        "health_samples": [
            {"value": 0.1 + 0.2, "start_at": at("2024-01-01 00:00:00"), "extra": {"goal": 5}},
            {"value": 2.0, "device": "b", "extra": {}},
        ],
        "workouts": [],
    }
    theirs = {
        "health_samples": [
            {"value": 2, "device": "b", "extra": "{}", "import_id": 7},
            {
                "value": 0.3,
                "start_at": datetime(2024, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
                "extra": '{"goal": 5.0}',
                "device": None,
            },
        ]
    }
    assert normalise(ours) == normalise(theirs)
    assert normalise(ours) != normalise({"health_samples": [{"value": 2.0000001}]})


# The corpus

EXPECTED_COUNTS = {
    "apple-health-parser_export.xml": {"health_samples": 6, "sleep_segments": 2},
    "duckdb-apple-health_export.xml": {"health_samples": 14, "sleep_segments": 1, "workouts": 1},
    "healthkit-to-sqlite_export.xml": {"health_samples": 8, "workouts": 1, "location_points": 2},
    "healthkit-to-sqlite_zip_export.xml": {"health_samples": 8, "workouts": 1},
    # 1,862 Records (none of them sleep) and 8 ActivitySummary x 3 rings (no move time).
    "ipyhealth_export.xml": {"health_samples": 1862 + 24, "workouts": 16},
    # 21 Records besides sleep (the Correlation's two are not counted again) and
    # 2 ActivitySummary x 3 rings.
    "local-health-agent_export.xml": {"health_samples": 27, "sleep_segments": 4, "workouts": 1},
}


@pytest.mark.parametrize(("name", "counts"), EXPECTED_COUNTS.items())
def test_corpus_counts(name: str, counts: dict[str, int]) -> None:
    ref = reference_rows(corpus(name))
    assert {table: len(rows) for table, rows in ref.rows.items()} == counts
    assert ref.repairs == 0
    expected_rejects = 1 if name == "healthkit-to-sqlite_zip_export.xml" else 0
    assert len(ref.rejects) == expected_rejects


def local_day(row: dict[str, Any]) -> str:
    return (row["start_at"] + timedelta(minutes=row["utc_offset_min"])).date().isoformat()


def test_local_health_agent_totals() -> None:
    rows = reference_rows(corpus("local-health-agent_export.xml")).rows
    steps: Counter[tuple[str, str]] = Counter()
    for row in by_metric(rows, "steps"):
        steps[local_day(row), row["source_name"]] += row["value"]
    # The fixture's README: watch 6000 + phone 5500 on 03-02; 8500 from one source on 03-03.
    assert steps == {
        ("2026-03-02", "Fixture Watch"): 6000,
        ("2026-03-02", "Fixture Phone"): 5500,
        ("2026-03-03", "Fixture Watch"): 8500,
    }
    resting = [row["value"] for row in by_metric(rows, "resting_heart_rate")]
    assert (len(resting), sum(resting) / len(resting)) == (7, 60.0)
    hrv = [row["value"] for row in by_metric(rows, "hrv_sdnn")]
    assert sum(hrv) / len(hrv) == 50.0
    assert len(by_metric(rows, "blood_pressure_systolic")) == 1
    assert len(by_metric(rows, "blood_pressure_diastolic")) == 1
    mass = by_metric(rows, "body_mass")
    assert [(row["value"], row["utc_offset_min"]) for row in mass] == [
        (pytest.approx(81.6466266), -300),
        (pytest.approx(81.19303423), -240),  # after the 2026-03-08 DST change
    ]
    minutes = {
        row["stage"]: (row["end_at"] - row["start_at"]).total_seconds() / 60
        for row in rows["sleep_segments"]
    }
    assert minutes == {"in_bed": 30, "core": 120, "deep": 45, "rem": 45}
    (run,) = rows["workouts"]
    assert (run["distance_m"], run["energy_kcal"], run["duration_s"]) == (5000.0, 300.0, 1800.0)
    assert (run["avg_heart_rate"], run["max_heart_rate"]) == (150.0, 175.0)


def test_ipyhealth() -> None:
    rows = reference_rows(corpus("ipyhealth_export.xml")).rows
    records = [row for row in rows["health_samples"] if row["source_type"] != "ActivitySummary"]
    assert len(records) == 1862
    (hrv,) = by_metric(rows, "hrv_sdnn")
    beats = hrv["extra"]["beats"]
    assert len(beats) == 46
    assert beats[-2] == {"bpm": 68.0, "time": "23:48:44,76"}  # comma decimals stay as written
    assert {row["source_name"] for row in records} == {WATCH, "User's iPhone"}
    assert {row["utc_offset_min"] for row in records} == {120}
    metadata = sum(
        len(row["extra"].get("metadata", {})) for table in rows.values() for row in table
    )
    assert metadata == 474  # every MetadataEntry, none lost to a wrong parent
    assert Counter(row["sport"] for row in rows["workouts"]) == {
        "yoga": 8,
        "cross_training": 7,
        "mind_and_body": 1,
    }
    stand = by_metric(rows, "apple_stand_hour")
    assert len(stand) == 6 and all(row["value"] is None for row in stand)


def test_duckdb_apple_health() -> None:
    rows = reference_rows(corpus("duckdb-apple-health_export.xml")).rows
    records = [row for row in rows["health_samples"] if row["source_type"] != "ActivitySummary"]
    assert {row["utc_offset_min"] for row in records} == {660, -480}
    assert len(by_metric(rows, "blood_pressure_systolic")) == 1
    (energy,) = by_metric(rows, "active_energy")
    assert (energy["source_name"], energy["device"]) == ("Caf\u00e9 Run Club", None)
    move_time = {
        row["start_at"].date().isoformat(): row["value"]
        for row in by_metric(rows, "activity_move_time")
    }
    assert move_time == {"2020-06-01": 32.0, "2026-01-15": 41.0}
    (run,) = rows["workouts"]
    assert run["extra"]["events"] == [
        {"type": "HKWorkoutEventTypePause", "date": "2026-01-15 07:10:00 +1100"}
    ]
    assert run["device"] == "<<HKDevice: 0x0, name:Demo Watch>>"


def test_apple_health_parser() -> None:
    rows = reference_rows(corpus("apple-health-parser_export.xml")).rows
    heart = by_metric(rows, "heart_rate")
    assert [row["value"] for row in heart] == [74.0, 75.0]  # the second has </Record>
    assert heart[0]["device"].startswith("<<HKDevice: 0x3012772a0>, name:Apple Watch")
    assert [(row["stage"], row["source_name"]) for row in rows["sleep_segments"]] == [
        ("in_bed", "Alexandre's iPhone"),
        ("core", "Alexandre's Apple Watch"),
    ]
    assert rows["sleep_segments"][0]["extra"]["metadata"] == {"HKTimeZone": "Europe/Amsterdam"}


def test_healthkit_to_sqlite_inline_route() -> None:
    rows = reference_rows(corpus("healthkit-to-sqlite_export.xml")).rows
    (run,) = rows["workouts"]
    assert run["distance_m"] == pytest.approx(0.4971749504535062 * 1609.344)
    assert run["extra"]["route"] == {"source_name": "Simon\u2019s iPhone"}
    assert [
        (p["source"], p["workout_id"], p["utc_offset_min"]) for p in rows["location_points"]
    ] == [("Simon\u2019s iPhone", run["workout_id"], -420)] * 2
    (bmi,) = by_metric(rows, "bmi")
    assert bmi["extra"]["metadata"]["Withings Link"].endswith("date=482685932&type=1")


def test_healthkit_to_sqlite_zip_route(tmp_path: Path) -> None:
    export = corpus("healthkit-to-sqlite_zip_export.xml")
    gpx = corpus("healthkit-to-sqlite_workout-routes_route_2019-06-11_3.00pm.gpx")
    path = write_export_zip(
        tmp_path / "export.zip",
        export.read_bytes(),
        routes={"/workout-routes/route_2019-06-11_3.00pm.gpx": gpx.read_bytes()},
    )
    ref = reference_rows(path)
    assert ref.rejects == []
    (run,) = ref.rows["workouts"]
    points = ref.rows["location_points"]
    assert [(p["source"], p["workout_id"]) for p in points] == [
        ("Simon\u2019s iPhone", run["workout_id"])
    ] * 3
    assert points[0]["recorded_at"] == at("2019-06-11 22:00:42")
    assert run["extra"]["route"]["file"] == "/workout-routes/route_2019-06-11_3.00pm.gpx"


# The benchmark's synthetic exports: the generator's own count of the rows they
# should give and the oracle's agree (each checks the other).


def load_synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synth_apple_health", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("as_zip", [False, True], ids=["xml", "zip"])
def test_synthetic_export(tmp_path: Path, as_zip: bool) -> None:
    path = tmp_path / ("export.zip" if as_zip else "export.xml")
    # Seed 1 at this size gives an old workout with an inline route and, in the
    # zip, newer ones with GPX route files.
    counts = load_synth().write_export(path, 4000, seed=1, zip=as_zip)
    top_level = sum(counts.get(kind, 0) for kind in ("Correlation", "Workout", "ActivitySummary"))
    assert abs(counts["Record top-level"] + top_level - 4000) < 200
    assert counts["Location"] > 0 and (counts.get("gpx points", 0) > 0) == as_zip
    ref = reference_rows(path)
    assert (ref.repairs, ref.rejects) == (0, [])
    expected = {
        key.removeprefix("rows "): n for key, n in counts.items() if key.startswith("rows ")
    }
    assert {table: len(rows) for table, rows in ref.rows.items()} == expected
