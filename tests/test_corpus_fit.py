"""Conformance: every FIT file in the shared real-world corpus goes through the engine.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The figures checked come
from the manifest's notes on each file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, fit
from selfdata.ingest import FileResult, import_paths

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "fit"
BROKEN = "fitdecode_invalid_activity-unexpected-eof.fit"
FILES = sorted(CORPUS.glob("*.fit")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"no FIT corpus at {CORPUS}")


def registry() -> Registry:
    built = Registry()
    built.register(fit, origin="builtin")
    return built


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FileResult]]:
    """The whole corpus folder imported once into a fresh vault: (vault, results by file)."""
    vault = tmp_path_factory.mktemp("corpus") / "v.duckdb"
    results = import_paths([CORPUS], vault=vault, registry=registry())
    return vault, {Path(r.name).name: r for r in results}


def test_every_file_imports_except_the_truncated_one(
    imported: tuple[Path, dict[str, FileResult]],
) -> None:
    vault, results = imported
    assert sorted(results) == sorted(path.name for path in FILES)
    good = {name: r for name, r in results.items() if name != BROKEN}
    assert {(r.status, r.importer, r.error) for r in good.values()} == {("imported", "fit", None)}
    assert all(r.rejected == {} for r in good.values())
    assert query(vault, "SELECT count(*) FROM imports") == [(len(good),)]


def test_the_truncated_file_fails_with_a_clear_error_and_writes_nothing(
    imported: tuple[Path, dict[str, FileResult]], tmp_path: Path
) -> None:
    vault, results = imported
    failed = results[BROKEN]
    assert failed.status == "failed"
    assert str(failed.error) == (
        f"{CORPUS / BROKEN}: the FIT file ends early at byte 768 (truncated or still being copied?)"
    )
    assert query(vault, f"SELECT count(*) FROM imports WHERE file_name LIKE '%{BROKEN}'") == [(0,)]
    # Alone, into a new vault: the failed import does not even create it.
    alone = tmp_path / "alone.duckdb"
    [result] = import_paths([CORPUS / BROKEN], vault=alone, registry=registry())
    assert result.status == "failed"
    assert not alone.exists()


def test_rows_per_table_match_the_manifest(imported: tuple[Path, dict[str, FileResult]]) -> None:
    _, results = imported
    new = {name: r.new for name, r in results.items()}
    # Minimal running activity: 14 records, 1 lap, one session.
    assert new["fitdecode_Activity.fit"] == {"workouts": 1, "location_points": 14}
    assert new["fitdecode_garmin-fenix-5-run.fit"] == {
        "workouts": 1,
        "location_points": 21,
        "health_samples": 21,
    }
    # Pool swim: no positions; heart rate only from the chained `hr` messages.
    assert new["fitdecode_event_timestamp_swim.fit"] == {"workouts": 1, "health_samples": 11286}
    assert new["fitdecode_developer-types-sample.fit"] == {
        "workouts": 1,
        "location_points": 3424,
        "health_samples": 3424,
    }
    assert new["fitdecode_2019-02-17-062644-ELEMNT-297E-195-0.fit"] == {
        "workouts": 1,
        "location_points": 13348,
        "health_samples": 13402,
    }
    assert new["fitdecode_MonitoringFile.fit"] == {"health_samples": 81}
    assert new["fitdecode_WeightScaleMultiUser.fit"] == {"health_samples": 4}


def test_workouts_carry_the_quirks_of_each_device(
    imported: tuple[Path, dict[str, FileResult]],
) -> None:
    vault, _ = imported
    rows = query(
        vault,
        "SELECT source_name, sport, utc_offset_min, extra FROM workouts ORDER BY source_name",
    )
    workouts = {name: (sport, offset, json.loads(extra)) for name, sport, offset, extra in rows}
    assert set(workouts) == {
        "dynastream hrm1",
        "garmin fenix5",
        "garmin fr735xt",
        "stryd",
        "wahoo_fitness 28",
    }
    fenix = workouts["garmin fenix5"]
    # 71 hrv messages hold 113 RR intervals; unknown_22 and four more undocumented messages.
    assert fenix[:2] == ("running", -420)
    assert fenix[2]["hrv"] == {"count": 113, "mean_rr_ms": 663.8}
    assert fenix[2]["unknown_messages"] == 5
    swim = workouts["garmin fr735xt"]
    assert (swim[0], swim[2]["sub_sport"], swim[2]["laps"]["count"]) == (
        "swimming",
        "lap_swimming",
        99,
    )
    wahoo = workouts["wahoo_fitness 28"]
    # 10,125 unknown_65280 plus 2 unknown_65281; five developer data ids.
    assert (wahoo[0], wahoo[1], wahoo[2]["unknown_messages"]) == ("cycling", 480, 10127)
    assert wahoo[2]["developer"]["ids"] == 5
    # Stryd's file has no activity.local_timestamp: the offset is unknown.
    assert workouts["stryd"][1] is None


def test_developer_fields_reach_the_points(imported: tuple[Path, dict[str, FileResult]]) -> None:
    vault, _ = imported
    assert query(
        vault,
        "SELECT count(*), count(extra->'$.dev.\"Form Power\"') FROM location_points "
        "WHERE source = 'stryd'",
    ) == [(3424, 3424)]


def test_monitoring_steps_match_the_daily_summaries(
    imported: tuple[Path, dict[str, FileResult]],
) -> None:
    vault, _ = imported
    # The end-of-day summaries say 3142 walking and 31 running steps.
    assert query(
        vault,
        "SELECT extra->>'$.activity_type', sum(value) FROM health_samples "
        "WHERE metric = 'steps' GROUP BY ALL ORDER BY 1",
    ) == [("running", 31.0), ("walking", 3142.0)]


def test_the_multi_user_scale_gives_body_mass_for_two_users(
    imported: tuple[Path, dict[str, FileResult]],
) -> None:
    vault, _ = imported
    assert query(
        vault,
        "SELECT (extra->>'$.user_profile_index')::INT, value FROM health_samples "
        "WHERE metric = 'body_mass' ORDER BY 1",
    ) == [(0, 75.8), (1, 58.2)]


def test_a_second_import_adds_nothing(imported: tuple[Path, dict[str, FileResult]]) -> None:
    vault, results = imported
    again = import_paths([CORPUS], vault=vault, registry=registry())
    statuses = {Path(r.name).name: r.status for r in again}
    assert statuses == {
        name: "failed" if name == BROKEN else "already_imported" for name in results
    }
    assert query(vault, "SELECT count(*) FROM imports") == [(len(results) - 1,)]
