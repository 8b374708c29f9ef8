"""Google Takeout Records.json import speed and memory, against DuckDB's read_json of the same file.

A Takeout `Records.json` is one huge JSON object, and off-the-shelf readers
load it whole. This writes a realistic one of N points (a person's years:
nights at home, days at work, trips between with activity guesses, three
devices, older points with `timestampMs` and newer ones with ISO `timestamp`,
pretty-printed with Google's 2-space indent), then measures in the same run,
each in a child process so that its peak RSS is its own:

- baseline: DuckDB `read_json` of the file into a table of one row per point
  (`unnest(locations)`), with `maximum_object_size` raised so that it works;
- selfdata: the whole import of the file into a fresh vault through
  `selfdata.ingest.import_paths` (hash, stream, decode, time zones, stage,
  dedupe, insert, commit).

The issue's goal: selfdata at least 4x faster than the baseline, with peak
memory under 1 GB at any size.

Run: `.venv/bin/python bench/google_records_throughput.py [N] [--repeat R] [--no-baseline]
[--file PATH]` (N default 5,000,000, about 1.5 GB of JSON; the baseline then
needs about 7 GB of memory; `--file` keeps the file for the next run). On a
shared machine, `--repeat 2` takes the fastest of two runs each. Each line
shows wall-clock seconds and the process's CPU seconds (both cores).
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

_IMPORT = """
import resource, sys, time
from selfdata.importers import Registry, google_location
from selfdata.ingest import import_paths
registry = Registry.default()
if "google_location" not in {registered.name for registered in registry}:
    registry.register(google_location, origin="builtin")  # until it is a listed built-in
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
[result] = import_paths([sys.argv[1]], vault=sys.argv[2], registry=registry)
elapsed = time.perf_counter() - started
assert result.status == "imported", result.error
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu_before
print(elapsed, sum(result.new.values()), usage.ru_maxrss, cpu)
"""

_DUCKDB = """
import resource, sys, time, duckdb
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(
    "CREATE TABLE points AS SELECT unnest(locations, recursive := true) "
    "FROM read_json(?, maximum_object_size = 4000000000)",
    [sys.argv[1]],
)
[(rows,)] = con.execute("SELECT count(*) FROM points").fetchall()
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu_before
print(elapsed, rows, usage.ru_maxrss, cpu)
"""

# Places of a Munich life, and the devices that logged it.
_HOME = (48.137154, 11.576124)
_WORK = (48.177722, 11.556203)
_DEVICES = (1978796627, -1, 412093485)
_ACTIVITIES = ("STILL", "ON_FOOT", "WALKING", "IN_VEHICLE", "ON_BICYCLE", "UNKNOWN")
_ISO_FROM = datetime(2019, 1, 1, tzinfo=UTC).timestamp()  # newer points write ISO times


def write_records(path: Path, n: int, seed: int = 7) -> int:
    """A Records.json of `n` points; returns its size in bytes."""
    rnd = random.Random(seed)
    now = datetime(2014, 3, 1, tzinfo=UTC).timestamp()
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n  "locations": [')
        for index in range(n):
            now += rnd.choice((30, 60, 60, 120, 300))
            out.write(", " if index else "")
            out.write(_point(rnd, now))
        out.write("]\n}\n")
    return path.stat().st_size


def _point(rnd: random.Random, at: float) -> str:
    hour = (at / 3600) % 24
    moving = 8 <= hour < 9 or 17 <= hour < 18 or rnd.random() < 0.05
    if moving:
        share = rnd.random()
        lat = _HOME[0] + (_WORK[0] - _HOME[0]) * share
        lon = _HOME[1] + (_WORK[1] - _HOME[1]) * share
    else:
        lat, lon = _WORK if 9 <= hour < 17 and int(at / 86400) % 7 < 5 else _HOME
    lines = [
        f'    "latitudeE7": {round((lat + rnd.gauss(0, 0.0003)) * 1e7)}',
        f'    "longitudeE7": {round((lon + rnd.gauss(0, 0.0003)) * 1e7)}',
        f'    "accuracy": {rnd.choice((3, 5, 12, 20, 35, 65, 1200))}',
    ]
    if moving:
        lines.append(f'    "velocity": {rnd.randint(1, 15)}')
        lines.append(f'    "heading": {rnd.randint(0, 359)}')
    if rnd.random() < 0.4:
        lines.append(f'    "altitude": {rnd.randint(500, 560)}')
        lines.append(f'    "verticalAccuracy": {rnd.randint(2, 30)}')
    if rnd.random() < 0.25:
        lines.append(_activity(rnd, at, moving))
    lines.append(f'    "source": "{rnd.choice(("WIFI", "GPS", "CELL"))}"')
    lines.append(f'    "deviceTag": {rnd.choice(_DEVICES)}')
    if at >= _ISO_FROM:
        lines.append('    "platformType": "ANDROID"')
        iso = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        lines.append(f'    "timestamp": "{iso.replace("+00:00", "Z")}"')
    else:
        lines.insert(0, f'    "timestampMs": "{math.floor(at * 1000)}"')
    return "{\n" + ",\n".join(lines) + "\n  }"


def _activity(rnd: random.Random, at: float, moving: bool) -> str:
    guesses = rnd.sample(_ACTIVITIES, rnd.randint(1, 4))
    if not moving:
        guesses = ["STILL", *[g for g in guesses if g != "STILL"]]
    confidence = 100
    entries = []
    for kind in guesses:
        entries.append(
            f'{{\n        "type": "{kind}",\n        "confidence": {confidence}\n      }}'
        )
        confidence = max(1, confidence // 3)
    iso = datetime.fromtimestamp(at - 20, UTC).isoformat(timespec="milliseconds")
    return (
        '    "activity": [{\n      "activity": ['
        + ", ".join(entries)
        + f'],\n      "timestamp": "{iso.replace("+00:00", "Z")}"\n    }}]'
    )


Figures = tuple[float, int, float, float]  # seconds, rows, peak RSS (MB), CPU seconds


def measure(code: str, *args: str) -> Figures:
    """Seconds, rows, peak RSS (MB) and CPU seconds of `code` run in a fresh process."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    seconds, rows, rss_kb, cpu = out.stdout.splitlines()[-1].split()
    return float(seconds), int(rows), int(rss_kb) / 1024, float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=5_000_000)
    parser.add_argument("--no-baseline", action="store_true", help="measure selfdata only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each, alternating; the fastest counts"
    )
    parser.add_argument(
        "--file",
        type=Path,
        help="read this Records.json (written with N points first if it does not exist)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        records = args.file or folder / "Records.json"
        if not records.exists():
            write_records(records, args.n)
        megabytes = records.stat().st_size / 1e6
        print(f"{records.name}: {args.n:,} points, {megabytes:,.0f} MB", flush=True)
        ours: list[Figures] = []
        base: list[Figures] = []
        for run in range(args.repeat):
            warm(records)
            ours.append(measure(_IMPORT, str(records), str(folder / f"vault{run}" / "v.duckdb")))
            report("selfdata import", ours[-1], megabytes)
            if not args.no_baseline:
                warm(records)
                base.append(measure(_DUCKDB, str(records)))
                report("DuckDB read_json", base[-1], megabytes)
    if base:
        each = ", ".join(f"{b[0] / o[0]:.2f}" for o, b in zip(ours, base, strict=True))
        ratio = min(base)[0] / min(ours)[0]
        print(f"ratio read_json / selfdata import, run by run: {each}")
        print(f"ratio read_json / selfdata import (fastest of each): {ratio:.2f}  (goal: >= 4)")
    print(f"peak RSS of the import: {max(r[2] for r in ours):.0f} MB  (goal: under 1 GB)")


def warm(path: Path) -> None:
    """Read the file once, so that neither side pays for reading it from disk (on a
    shared machine others' work can push it out of the page cache between runs)."""
    with path.open("rb") as stream:
        while stream.read(16 << 20):
            pass


def report(label: str, figures: Figures, megabytes: float) -> None:
    seconds, rows, rss, cpu = figures
    print(
        f"{label:<18} {seconds:7.2f} s  {megabytes / seconds:6.1f} MB/s  "
        f"{rows / seconds:>10,.0f} points/s  peak RSS {rss:6.0f} MB  CPU {cpu:6.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
