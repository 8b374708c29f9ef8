"""Conformance: every GPX file in the shared real-world corpus is detected and read.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from selfdata.importers import gpx
from selfdata.importers.base import HEAD_BYTES, Source

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
# The Apple Health export's workout routes are GPX files too.
FILES = sorted(CORPUS.glob("gpx/*")) + sorted(CORPUS.glob("apple_health/*.gpx"))


def read_all(path: Path) -> tuple[dict[str, int], Source]:
    source = Source(path)
    counts: dict[str, int] = {}
    for batch in gpx.read(source):
        counts[batch.table] = counts.get(batch.table, 0) + batch.rows.num_rows
    return counts, source


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected_and_read(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no GPX corpus at {CORPUS}")
    assert gpx.detect(Source(path).head(HEAD_BYTES), path.name)
    counts, source = read_all(path)
    assert counts["location_points"] >= 1
    assert source.rejects == []


# What each file's quirk should come to: (location points, workouts).
EXPECTED = {
    # All 184 points share one 1901 time (to within 343 microseconds): no workout.
    "gpx/gpxpy_Mojstrovka.gpx": (184, 0),
    # A walking track with an empty <trkseg />, and a taxi ride, which is a trip.
    "gpx/dawarich_arc_example.gpx": (7, 0),
    # One point, an empty second segment: no two times, no workout.
    "gpx/dawarich_gpslogger_garmin_example.gpx": (1, 0),
    # Two untyped, timed tracks after a blank line before the declaration.
    "gpx/dawarich_gpx_track_multiple_tracks.gpx": (34, 2),
    "gpx/gpxpy_gpx_with_garmin_extension.gpx": (1, 0),
    "gpx/gpxpy_unicode_with_bom.gpx": (1, 0),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_corpus_quirks(name: str, expected: tuple[int, int]) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus at {CORPUS}")
    counts, _ = read_all(path)
    assert (counts["location_points"], counts.get("workouts", 0)) == expected
