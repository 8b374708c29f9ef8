"""Conformance: the Fitbit files in the shared real-world corpus are detected and imported.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, fitbit
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.ingest import import_paths

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "fitbit"
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
LONDON = '[importers.fitbit]\ntimezone = "Europe/London"\n'

# Figures from the files: (start, end, value, error) per day. The first file's name says
# 2023-03-02 but it holds February 2024 (the manifest's quirk); London is on GMT then.
EXPECTED = {
    "FitOut_resting_heart_rate-2023-03-02.json": [
        ("2024-02-28 00:00:00+00", "2024-02-29 00:00:00+00", 52.26781177520752, 6.787087440490723),
        ("2024-02-29 00:00:00+00", "2024-03-01 00:00:00+00", 53.2727746963501, 6.787087440490723),
    ],
    "FitOut_resting_heart_rate-2024-03-01.json": [
        ("2024-03-01 00:00:00+00", "2024-03-02 00:00:00+00", 54.01231098175049, 6.787087440490723),
        ("2024-03-02 00:00:00+00", "2024-03-03 00:00:00+00", 55.069952964782715, 6.787087440490723),
    ],
}

needs_corpus = pytest.mark.skipif(not FILES, reason=f"no Fitbit corpus at {CORPUS}")


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected_and_read_without_rejects(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no Fitbit corpus at {CORPUS}")
    assert fitbit.detect(Source(path).head(HEAD_BYTES), path.name)
    source = Source(path, options={"timezone": "Europe/London"})
    rows = [row for batch in fitbit.read(source) for row in batch.rows.to_pylist()]
    assert {row["metric"] for row in rows} == {"resting_heart_rate"}
    assert source.rejects == []


@needs_corpus
def test_corpus_imports_with_its_figures_and_a_second_import_adds_nothing(vault: Path) -> None:
    vault.parent.mkdir(parents=True)
    (vault.parent / "selfdata.toml").write_text(LONDON, encoding="utf-8")
    registry = Registry()
    registry.register(fitbit, origin="builtin")
    results = import_paths([CORPUS], vault=vault, registry=registry)
    assert [(r.status, r.new) for r in results] == [("imported", {"health_samples": 2})] * len(
        FILES
    )
    rows = query(
        vault,
        "SELECT i.file_name, h.start_at::VARCHAR, h.end_at::VARCHAR, h.value, h.extra, "
        "h.utc_offset_min, h.unit, h.source_type FROM health_samples h JOIN imports i "
        "USING (import_id) ORDER BY h.start_at",
    )
    found: dict[str, list[tuple[str, str, float, float]]] = {}
    for name, start, end, value, extra, offset, unit, kind in rows:
        assert (offset, unit, kind) == (0, "count/min", "fitbit:resting_heart_rate")
        found.setdefault(Path(name).name, []).append(
            (start, end, value, json.loads(extra)["error"])
        )
    assert found == {name: EXPECTED[name] for name in found}
    assert set(found) == {path.name for path in FILES} & set(EXPECTED)
    again = import_paths([CORPUS], vault=vault, registry=registry)
    assert {r.status for r in again} == {"already_imported"}
