"""Ingest throughput: selfdata's engine against row-by-row inserts, in the same run.

Writes a synthetic GPX track of N points, then measures, on this machine, now:

- `selfdata`: `import_paths` into a fresh vault (parse with expat, stage Arrow
  batches in DuckDB, dedupe on natural keys, one transaction);
- `overlap`: importing a second file holding the same points plus 10 % new
  ones (the dedupe path: only the new points are added);
- `baseline`: the common approach of other tools — ElementTree.iterparse and
  one `executemany` INSERT per batch of Python tuples into the same table.

The machine is noisy, so the figures that matter are the ratios, printed last.
Peak memory is measured in child processes at N and 4N points to show that it
stays flat as the file grows.

Run: `make bench` or `.venv/bin/python bench/ingest_throughput.py [N]`.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from selfdata.ingest import import_paths

GPX_NS = "{http://www.topografix.com/GPX/1/1}"


def write_track(path: Path, n_points: int, *, start_index: int = 0) -> None:
    """A single-track GPX 1.1 file of n_points, one every second."""
    start = datetime(2025, 5, 1, 6, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
            "<trk><name>bench</name><type>running</type><trkseg>\n"
        )
        for i in range(start_index, start_index + n_points):
            angle = i / 5000
            lat = 51.5 + 0.01 * math.sin(angle)
            lon = -0.1 + 0.01 * math.cos(angle)
            when = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(
                f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{10 + i % 7}</ele>'
                f"<time>{when}</time><extensions><gpxtpx:TrackPointExtension>"
                f"<gpxtpx:hr>{120 + i % 40}</gpxtpx:hr></gpxtpx:TrackPointExtension>"
                "</extensions></trkpt>\n"
            )
        out.write("</trkseg></trk></gpx>\n")


def selfdata_import(gpx: Path, vault: Path) -> float:
    started = time.perf_counter()
    [result] = import_paths([gpx], vault=vault)
    elapsed = time.perf_counter() - started
    assert result.status == "imported", result.error
    return elapsed


def baseline_import(gpx: Path, vault: Path) -> float:
    """ElementTree + executemany, the row-by-row way."""
    started = time.perf_counter()
    con = duckdb.connect(str(vault))
    con.execute(
        "CREATE TABLE location_points (recorded_at TIMESTAMPTZ, lat DOUBLE, lon DOUBLE, "
        "altitude_m DOUBLE, source VARCHAR, extra JSON)"
    )
    rows: list[tuple[object, ...]] = []
    for _, element in ET.iterparse(gpx):
        if element.tag != f"{GPX_NS}trkpt":
            continue
        hr = element.find(".//{http://www.garmin.com/xmlschemas/TrackPointExtension/v1}hr")
        rows.append(
            (
                element.findtext(f"{GPX_NS}time"),
                float(element.get("lat", "nan")),
                float(element.get("lon", "nan")),
                float(element.findtext(f"{GPX_NS}ele") or "nan"),
                "bench",
                f'{{"hr": {hr.text}}}' if hr is not None else None,
            )
        )
        element.clear()
        if len(rows) == 10_000:
            con.executemany("INSERT INTO location_points VALUES (?, ?, ?, ?, ?, ?)", rows)
            rows.clear()
    if rows:
        con.executemany("INSERT INTO location_points VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return time.perf_counter() - started


def peak_memory_mb(n_points: int, folder: Path) -> float:
    """Peak RSS of a child process importing an n_points file."""
    gpx = folder / f"mem-{n_points}.gpx"
    write_track(gpx, n_points)
    code = (
        "import resource, sys\n"
        "from selfdata.ingest import import_paths\n"
        f"import_paths([{str(gpx)!r}], vault={str(folder / f'mem-{n_points}.duckdb')!r})\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    n_points = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gpx = folder / "track.gpx"
        write_track(gpx, n_points)
        overlap = folder / "track-plus.gpx"
        write_track(overlap, n_points + n_points // 10)
        size_mb = gpx.stat().st_size / 1e6

        ours = selfdata_import(gpx, folder / "ours.duckdb")
        plus = selfdata_import(overlap, folder / "ours.duckdb")
        base = baseline_import(gpx, folder / "base.duckdb")
        mem_1 = peak_memory_mb(n_points, folder)
        mem_4 = peak_memory_mb(4 * n_points, folder)

    print(f"file: {n_points:,} points, {size_mb:.1f} MB")
    print(f"selfdata import            {ours:7.2f} s  {n_points / ours:10,.0f} points/s")
    print(f"overlapping import (+10%)  {plus:7.2f} s  (dedupe against {n_points:,} rows)")
    print(f"baseline etree+executemany {base:7.2f} s  {n_points / base:10,.0f} points/s")
    print(f"peak RSS: {mem_1:.0f} MB at {n_points:,} points, {mem_4:.0f} MB at {4 * n_points:,}")
    print(f"ratio baseline/selfdata: {base / ours:.1f}x faster")
    print(f"ratio peak memory 4N/N: {mem_4 / mem_1:.2f}")


if __name__ == "__main__":
    main()
