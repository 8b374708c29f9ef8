"""Conformance: every Google location file in the shared real-world corpus imports.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The figures were
checked against the files themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, google_location
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.ingest import FileResult, import_paths

CORPUS_GOOGLE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "google_location"
FILES = sorted(CORPUS_GOOGLE.glob("*.json")) if CORPUS_GOOGLE.is_dir() else []
ZIP = CORPUS_GOOGLE / "google-timeline-parser_takeout-german.zip"
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no Google corpus at {CORPUS_GOOGLE}")

# Rows per table for each file.
EXPECTED: dict[str, dict[str, int]] = {
    # iOS array: 1 visit; 10 path points of which 3 repeat their time and place.
    "dawarich_ios_location-history.json": {"location_points": 7, "visits": 1},
    # Android: 2 path points, 1 visit; of the rawSignals only the position counts.
    "dawarich_phone-takeout_w_3_duplicates.json": {"location_points": 3, "visits": 1},
    "dawarich_records.json": {"location_points": 3},
    # activitySegments with empty start/end locations: taken from the waypoints.
    "dawarich_semantic_history.json": {"trips": 3},
    "dawarich_semantic_history_with_bom.json": {"trips": 1},
    # A placeVisit without `location`: its only candidate's place.
    "dawarich_semantic_placeVisit_otherCandidateLocations.json": {"visits": 1},
    "dawarich_timeline_edits.json": {"location_points": 1},
    "dawarich_timeline_new_format_Timeline.json": {"location_points": 3, "trips": 1, "visits": 1},
    "google-takeout-to-sqlite_Location_History.json": {"location_points": 2},
    "google-timeline-parser_Standortverlauf_Records.json": {"location_points": 2},
    "hpi-google-timeline_ios_timeline.json": {"location_points": 2, "trips": 1, "visits": 1},
    # 10 path points and 2 raw positions; two visits to the same place.
    "kgeo-device-timeline_test-data_Timeline.json": {"location_points": 12, "visits": 2},
    "track_prague-2014-04-25_Records.json": {"location_points": 2039},
}


def import_google(paths: list[Path], vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(google_location, origin="builtin")
    results = import_paths(paths, vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "v.duckdb"
    if FILES:
        import_google(FILES, path)
    return path


@pytest.mark.parametrize("path", [*FILES, ZIP] if FILES else [None], ids=lambda p: p and p.name)
def test_corpus_file_is_detected(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no Google corpus at {CORPUS_GOOGLE}")
    if path.suffix == ".zip":
        source = Source(path, member="Standortverlauf/Records.json")
    else:
        source = Source(path)
    assert google_location.detect(source.head(HEAD_BYTES), source.file_name)


@needs_corpus
def test_every_corpus_file_imports_with_its_figures(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_google(FILES, vault)
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        path.name: ("imported", None, {}) for path in FILES
    }
    assert {name: r.new for name, r in results.items()} == EXPECTED
    assert results["dawarich_ios_location-history.json"].repairs == {
        "a timeline path point repeated in its segment dropped": 3
    }
    again = import_google(FILES, vault)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_the_german_takeout_zip_is_read_by_content(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_paths([ZIP], vault=vault, registry=_registry())
    assert [(r.name.rpartition("!")[2], r.status, r.new) for r in results] == [
        ("Standortverlauf/Records.json", "imported", {"location_points": 2})
    ]
    # The same bytes as the extracted copy: importing that afterwards adds nothing.
    again = import_google(
        [CORPUS_GOOGLE / "google-timeline-parser_Standortverlauf_Records.json"], vault
    )
    assert [r.status for r in again.values()] == ["already_imported"]


def _registry() -> Registry:
    registry = Registry()
    registry.register(google_location, origin="builtin")
    return registry


@needs_corpus
def test_records_quirks_survive_into_the_vault(vault: Path) -> None:
    # Prague 2014 (timestampMs strings, old spacing): CEST from the coordinates,
    # altitude on 602 of 2,039 points.
    assert query(
        vault,
        "SELECT min(recorded_at)::VARCHAR, count(*), count(altitude_m), "
        "min(utc_offset_min), max(utc_offset_min) FROM location_points "
        "WHERE recorded_at < '2014-05-01' AND lat BETWEEN 49 AND 51",
    ) == [("2014-04-25 15:59:43.147+00", 2039, 602, 120, 120)]
    assert query(
        vault,
        "SELECT lat, lon, accuracy_m, altitude_m FROM location_points "
        "WHERE recorded_at = '2014-04-25 15:59:43.147+00'",
    ) == [(49.9175387, 14.7080015, 9.0, 427.0)]
    # The German 2023 file: Auckland in November (NZDT), then Berlin with activity guesses.
    rows = query(
        vault,
        "SELECT recorded_at::VARCHAR, utc_offset_min, lat, lon, extra FROM location_points "
        "WHERE source = 'google_records' AND (lat < 0 OR recorded_at > '2023-01-01') "
        "ORDER BY recorded_at",
    )
    assert [row[:4] for row in rows] == [
        ("2012-11-15 17:47:05.927+00", 780, -36.8458919, 174.7673811),
        ("2023-10-10 08:22:13.228+00", 120, 52.5163702, 13.3779641),
    ]
    assert json.loads(rows[1][4]) == {
        "source": "WIFI",
        "device_tag": -1,
        "platform_type": "ANDROID",
        "vertical_accuracy": 100,
        "activity": "STILL",
        "activity_confidence": 100,
    }
    # Dogsheep's legacy file: a nested activity list whose first guess is UNKNOWN 40.
    assert query(
        vault,
        "SELECT utc_offset_min, extra->>'$.activity', (extra->'$.activity_confidence')::INT "
        "FROM location_points WHERE recorded_at = '2015-07-18 23:58:25.529+00'",
    ) == [(-420, "UNKNOWN", 40)]
    # Dawarich's ISO-timestamp file: a device tag on one point only.
    assert query(
        vault,
        "SELECT accuracy_m, extra->>'$.source', (extra->'$.device_tag')::BIGINT "
        "FROM location_points WHERE recorded_at = '2013-03-01 05:17:39.849+00'",
    ) == [(22.0, "WIFI", 1184882232)]


@needs_corpus
def test_timeline_quirks_survive_into_the_vault(vault: Path) -> None:
    visits = query(
        vault,
        "SELECT start_at::VARCHAR, end_at::VARCHAR, utc_offset_min, lat, lon, place_id, "
        "semantic_type, confidence, extra->>'$.location_from' FROM visits ORDER BY start_at",
    )
    assert visits == [
        # Android (phone takeout): `+02:00` times, the visit's probability.
        (
            "2019-04-03 06:13:57+00",
            "2019-04-03 18:10:18+00",
            120,
            50.0506312,
            14.3439906,
            "some random id",
            None,
            0.8500000238418579,
            None,
        ),
        # iOS: `-05:00` times, probabilities as strings, semanticType "Unknown".
        (
            "2023-08-27 20:48:56+00",
            "2023-08-27 22:04:26.999+00",
            -300,
            27.720022,
            -97.347951,
            "ChIJxxP_Qwb2aIYRTwDNDLkUmD0",
            None,
            0.71,
            None,
        ),
        # kgeo: INFERRED_WORK; the segments' stated offset 0 wins over New York's.
        (
            "2023-10-01 08:00:00+00",
            "2023-10-01 09:00:00+00",
            0,
            40.712776,
            -74.005974,
            "ChIJd8BlQ2BZwokRAFUEcm_qrcA",
            "work",
            0.85,
            None,
        ),
        (
            "2023-10-02 08:00:00+00",
            "2023-10-02 09:00:00+00",
            0,
            40.712776,
            -74.005974,
            "ChIJd8BlQ2BZwokRAFUEcm_qrcA",
            "work",
            0.85,
            None,
        ),
        (
            "2024-06-15 07:00:00+00",
            "2024-06-15 08:00:00+00",
            120,
            48.8566,
            2.3522,
            "ChIJtest123",
            None,
            0.95,
            None,
        ),
        # Semantic placeVisit without location, "2025-03-24 20:25:02 +0100", no end.
        ("2025-03-24 19:25:02+00", None, 60, 12.3533333, 12.3533333, None, None, None, "candidate"),
        # hpi iOS: probability "0.8" as a string, SYNTHETIC_HOME.
        (
            "2026-07-01 14:00:00+00",
            "2026-07-01 15:00:00+00",
            -240,
            12.5,
            -34.25,
            "synthetic-place-1",
            "synthetic_home",
            0.8,
            None,
        ),
    ]
    trips = query(
        vault,
        "SELECT start_at::VARCHAR, utc_offset_min, start_lat, start_lon, end_lat, end_lon, "
        "distance_m, mode FROM trips ORDER BY start_at",
    )
    assert trips == [
        # 2013 semantic segments: empty locations, waypoints instead; Barnaul's +07:00.
        (
            "2013-12-01 07:05:14.222+00",
            420,
            53.340744,
            83.7026901,
            53.3410301,
            83.705101,
            209.65263509609417,
            "walking",
        ),
        (
            "2013-12-01 07:11:13.214+00",
            420,
            53.3410301,
            83.705101,
            53.3519706,
            83.7596359,
            3853.0,
            "car",
        ),
        (
            "2013-12-01 08:25:17.226+00",
            420,
            53.3519706,
            83.7596359,
            53.3481369,
            83.7608337,
            413.0,
            "walking",
        ),
        # BOM file: Turku in winter; no activity at all.
        ("2024-01-01 10:00:00+00", 120, 60.4518, 22.2666, 60.4519, 22.2667, None, "unknown"),
        ("2024-06-15 08:00:00+00", 120, 48.8566, 2.3522, 48.8606, 2.3376, None, "car"),
        # hpi iOS: distanceMeters "123.5" as a string.
        ("2026-07-02 12:00:00+00", -120, 12.6, -34.3, 12.7, -34.4, 123.5, "walking"),
    ]
    # Timeline Edits: accuracyMm 12000 is 12 m; the device id a string.
    assert query(
        vault,
        "SELECT recorded_at::VARCHAR, utc_offset_min, lat, lon, accuracy_m, "
        "extra->>'$.device_id' FROM location_points WHERE source = 'google_timeline_edits'",
    ) == [("2025-08-15 14:32:18+00", -420, 35.5831402, -119.3393903, 12.0, "-1613859921")]
    # kgeo rawSignals: position and its activityRecord in one signal; New York's EDT.
    assert query(
        vault,
        "SELECT utc_offset_min, speed_mps, extra->>'$.activity' FROM location_points "
        "WHERE source = 'google_timeline' AND extra->>'$.kind' = 'raw_signal' AND lon < -70 "
        "ORDER BY recorded_at",
    ) == [(-240, 1.5, "WALKING"), (-240, 2.0, "RUNNING")]
