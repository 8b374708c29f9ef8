"""GPX through the whole engine: rows in the vault, re-imports, and the real corpus."""

from __future__ import annotations

import json
import shutil

import pytest

from selfdata import open_vault
from selfdata.ingest import import_paths
from tests.conftest import CORPUS, DATA

GPX = DATA / "gpx"


def query(vault, sql):  # type: ignore[no-untyped-def]
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def test_run_across_a_dst_change_lands_as_instants_with_offsets(vault):
    [result] = import_paths([GPX / "run_dst_change.gpx"], vault=vault)
    assert result.new == {"location_points": 4, "workouts": 1}
    points = query(
        vault,
        "SELECT recorded_at::VARCHAR, utc_offset_min, lat, lon, altitude_m, source, "
        "workout_id IS NOT NULL, extra->>'$.hr' FROM location_points ORDER BY recorded_at",
    )
    assert points == [
        ("2024-10-27 00:58:30+00", 120, 52.52, 13.405, 34.0, "Garmin Connect", True, "120"),
        ("2024-10-27 00:59:30.25+00", 120, 52.5209, 13.405, 35.5, "Garmin Connect", True, "130"),
        ("2024-10-27 01:00:30+00", 60, 52.53, 13.405, 36.0, "Garmin Connect", True, "150"),
        ("2024-10-27 01:01:30+00", 60, 52.5309, 13.405, 36.0, "Garmin Connect", True, None),
    ]
    [workout] = query(
        vault,
        "SELECT sport, start_at::VARCHAR, end_at::VARCHAR, utc_offset_min, duration_s, "
        "round(distance_m), avg_heart_rate, max_heart_rate, source_name FROM workouts",
    )
    # Distance is summed within segments: two 100 m legs, not the 1 km gap between them.
    assert workout == (
        "running",
        "2024-10-27 00:58:30+00",
        "2024-10-27 01:01:30+00",
        120,
        180.0,
        200.0,
        pytest.approx(400 / 3),
        150.0,
        "Garmin Connect",
    )


def test_a_changed_copy_of_the_same_track_adds_zero_rows(tmp_path, vault):
    import_paths([GPX / "run_dst_change.gpx"], vault=vault)
    # Different bytes (so not caught by the file hash), same points: dedupe by natural key.
    copy = tmp_path / "re-export.gpx"
    copy.write_text((GPX / "run_dst_change.gpx").read_text() + "<!-- exported again -->\n")
    [again] = import_paths([copy], vault=vault)
    assert (again.status, again.new) == ("imported", {"location_points": 0, "workouts": 0})
    assert again.duplicate == {"location_points": 4, "workouts": 1}


def test_bad_points_are_rejected_with_line_numbers_and_the_rest_kept(vault):
    [result] = import_paths([GPX / "bad_points.gpx"], vault=vault)
    assert result.status == "imported"
    assert result.rejected.get("location_points", 0) >= 1
    assert all(r.line for r in result.reject_samples)
    [(status, rejected)] = query(vault, "SELECT status, rows_rejected FROM imports")
    assert status == "ok_with_rejects"
    assert json.loads(rejected) == result.rejected


@pytest.mark.parametrize("fixture", ["truncated.gpx", "entity_bomb.gpx"])
def test_broken_files_fail_cleanly_and_write_nothing(vault, fixture):
    import_paths([GPX / "run_dst_change.gpx"], vault=vault)
    [result] = import_paths([GPX / fixture], vault=vault)
    assert result.status == "failed"
    assert str(result.error).startswith(str(GPX / fixture))
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM location_points") == [
        (4, 1)
    ]


def test_gpx_inside_a_zip_is_found_by_content(tmp_path, vault):
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", root_dir=GPX)
    results = import_paths([archive], vault=vault)
    imported = sorted(r.name.split("!")[1] for r in results if r.status == "imported")
    assert "run_dst_change.gpx" in imported
    failed = sorted(r.name.split("!")[1] for r in results if r.status == "failed")
    assert failed == ["entity_bomb.gpx", "truncated.gpx"]


CORPUS_GPX = sorted((CORPUS / "gpx").glob("*.gpx")) if (CORPUS / "gpx").is_dir() else []


@pytest.mark.skipif(not CORPUS_GPX, reason="../shared/corpus/gpx is not beside the checkout")
def test_every_corpus_gpx_file_imports_and_a_second_import_adds_nothing(vault):
    results = import_paths([CORPUS / "gpx"], vault=vault)
    assert [(r.status, r.error) for r in results] == [("imported", None)] * len(CORPUS_GPX)
    assert all(r.new["location_points"] > 0 for r in results)
    per_file = {r.name.rsplit("/", 1)[1]: r.new for r in results}
    # Figures from the manifest: Mojstrovka has 184 points all stamped 1901-12-13
    # (a device bug), so it is not a workout; OsmAnd's file has 2 tracks.
    assert per_file["gpxpy_Mojstrovka.gpx"] == {"location_points": 184}
    assert per_file["dawarich_gpx_track_multiple_tracks.gpx"]["workouts"] == 2
    again = import_paths([CORPUS / "gpx"], vault=vault)
    assert {r.status for r in again} == {"already_imported"}
    assert query(vault, "SELECT count(*) FROM imports") == [(len(CORPUS_GPX),)]
