"""Apple Health import speed and memory, against a do-nothing pyexpat parse of the same file.

Writes a synthetic export of N top-level elements (bench/synth_apple_health.py:
the real DTD header, two devices, many record types, metadata, heart-beat
lists, workouts with routes), then measures in the same run:

- baseline: `bench/reference_parse.py`'s do-nothing pyexpat parse (a Python
  callback that does nothing per element), and a parse with no callbacks;
- selfdata: the whole import of the file into a fresh vault (hash, parse,
  convert units and times, stage, dedupe, insert, commit), in a child process
  so that its peak RSS is its own.

The figures that matter are the ratios (the machine is noisy) and the peak
memory. The issue's goal: selfdata at least 2x faster than the do-nothing
parse, peak memory under 300 MB whatever the size. The CPU seconds beside each
time tell a busy machine apart: the import runs up to three threads (parse,
hash, write), so when other work holds the second core its time grows while
the single-threaded baseline's does not.

Run: `.venv/bin/python bench/apple_health_throughput.py [N] [--zip]` (N default
1,000,000, about 430 MB of XML).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.parsers.expat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from reference_parse import do_nothing_parse
from synth_apple_health import write_export

_CHILD = """
import resource, sys, time
from selfdata.ingest import import_paths
started, cpu = time.perf_counter(), time.process_time()
results = import_paths([sys.argv[1]], vault=sys.argv[2])
[result] = [r for r in results if r.importer == "apple_health"]
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
assert result.status == "imported", result.error
usage = resource.getrusage(resource.RUSAGE_SELF)
print(elapsed, cpu, sum(result.new.values()), usage.ru_maxrss)
"""


def no_callback_parse(path: Path) -> float:
    """Expat alone, with no Python callback: the floor no Python reader reaches."""
    started = time.perf_counter()
    parser = xml.parsers.expat.ParserCreate()
    with path.open("rb") as stream:
        while data := stream.read(1 << 20):
            parser.Parse(data, False)
    parser.Parse(b"", True)
    return time.perf_counter() - started


def selfdata_import(path: Path, vault: Path) -> tuple[float, float, int, float]:
    """Seconds, CPU seconds (all threads), rows and peak RSS (MB) of `import_paths`
    in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(vault)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, cpu, rows, rss_kb = out.stdout.split()
    return float(seconds), float(cpu), int(rows), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--zip", action="store_true", help="an export.zip with route files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = folder / ("export.zip" if args.zip else "export.xml")
        counts = write_export(export, args.n, zip=args.zip)
        xml_bytes = counts.get("bytes", export.stat().st_size)
        baseline_cpu = time.process_time()
        baseline, _ = do_nothing_parse(export)
        baseline_cpu = time.process_time() - baseline_cpu
        floor = no_callback_parse(export) if not args.zip else float("nan")
        ours, cpu, rows, rss = selfdata_import(export, folder / "vault" / "selfdata.duckdb")
    megabytes = xml_bytes / 1e6
    print(f"export: {args.n:,} elements requested, {megabytes:.0f} MB of XML, {rows:,} rows")
    print(
        f"do-nothing pyexpat parse   {baseline:7.2f} s  {megabytes / baseline:6.1f} MB/s  "
        f"(CPU {baseline_cpu:.2f} s)"
    )
    print(f"pyexpat, no callbacks      {floor:7.2f} s")
    print(
        f"selfdata import            {ours:7.2f} s  {megabytes / ours:6.1f} MB/s  "
        f"{rows / ours:,.0f} rows/s  (CPU {cpu:.2f} s, all threads)"
    )
    print(f"peak RSS of the import     {rss:7.0f} MB  (goal: under 300 MB)")
    print(f"ratio do-nothing parse / selfdata import: {baseline / ours:.2f}  (goal: at least 2)")


if __name__ == "__main__":
    main()
