"""Conformance: every TCX file in the shared real-world corpus imports through the engine.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The expected figures are
the manifest's, checked against the files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, tcx
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.ingest import FileResult, import_paths

CORPUS_TCX = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "tcx"
FILES = sorted(CORPUS_TCX.glob("*.tcx")) if CORPUS_TCX.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no TCX corpus at {CORPUS_TCX}")

# Rows per table for each file, and what its workout says.
EXPECTED: dict[str, dict[str, Any]] = {
    # 3 laps, 384 trackpoints; the last has only a <Time>: no position, no heart rate.
    "python-tcxparser_test.tcx": {
        "new": {"location_points": 383, "health_samples": 383, "workouts": 1},
        "workout": ("running", "Forerunner 410 Software Version 2.20", None, 3),
    },
    # Garmin Connect: Sport="Other", ns3:TPX speed on every one of 486 points, 2 laps.
    "tcxreader_cross-country-skiing_activity_1.tcx": {
        "new": {"location_points": 486, "health_samples": 486, "workouts": 1},
        "workout": ("other", "vívoactive HR", None, 2),
    },
    # MapMyRide: 3112 trackpoints, 7 without a Position (6 leading, 1 mid-ride), no HR.
    "tcxreader_mapmyride_biking.tcx": {
        "new": {"location_points": 3105, "workouts": 1},
        "workout": ("cycling", "tcx", 0, 1),
    },
    # Indoor: two trackpoints with heart rate and cadence, no Position, no lap totals.
    "dawarich_no_gps.tcx": {
        "new": {"health_samples": 2, "workouts": 1},
        "workout": ("running", "tcx", None, 1),
    },
}


def import_corpus(vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(tcx, origin="builtin")
    results = import_paths([CORPUS_TCX], vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no TCX corpus at {CORPUS_TCX}")
    assert tcx.detect(Source(path).head(HEAD_BYTES), path.name)


@needs_corpus
def test_every_corpus_file_imports_with_the_manifest_figures(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_corpus(vault)
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        path.name: ("imported", None, {}) for path in FILES
    }
    for name, expected in EXPECTED.items():
        if name in results:
            assert results[name].new == expected["new"], name
    workouts = query(
        vault,
        "SELECT i.file_name, w.sport, w.source_name, w.utc_offset_min, "
        "json_array_length(w.extra->'$.laps') "
        "FROM workouts w JOIN imports i USING (import_id)",
    )
    by_file = {Path(file).name: tuple(rest) for file, *rest in workouts}
    assert by_file == {name: e["workout"] for name, e in EXPECTED.items() if name in by_file}
    again = import_corpus(vault)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_corpus_quirks_survive_into_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    [(notes, energy, duration)] = query(
        vault,
        "SELECT extra->>'$.notes', energy_kcal, duration_s FROM workouts "
        "WHERE source_name LIKE 'Forerunner%'",
    )
    # "Aerobics" in the Notes of a Running activity; three laps of calories and time.
    assert (notes, energy, duration) == ("Aerobics", 379.0, pytest.approx(1992.78))
    [(calories, max_speed, first_point)] = query(
        vault,
        "SELECT energy_kcal, (extra->'$.laps[0].max_speed_mps')::DOUBLE, "
        "(SELECT min(recorded_at)::VARCHAR FROM location_points p "
        " WHERE p.workout_id = w.workout_id) FROM workouts w WHERE sport = 'cycling'",
    )
    # A float Calories, an implausible MaximumSpeed kept as written, microsecond times.
    assert (calories, max_speed) == (pytest.approx(458.0), 138.47064)
    assert first_point == "2022-11-12 15:58:31.4735+00"
    [(device, extra)] = query(vault, "SELECT device, extra FROM workouts WHERE sport = 'other'")
    assert device == "vívoactive HR (ProductID 2337, UnitId 3937453043)"
    laps = json.loads(extra)["laps"]
    assert [(lap["avg_speed"], lap["avg_run_cadence"]) for lap in laps] == [
        (2.313999891281128, 38),
        (2.872999906539917, 39),
    ]
