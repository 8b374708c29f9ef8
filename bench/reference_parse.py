"""The do-nothing pyexpat baseline: how fast can Python read this XML at all?

Parses the file with pyexpat and a StartElementHandler that does nothing, so
the time is expat's tokenising plus building each element's attribute dict,
the least any expat-based importer pays. An importer's throughput is worth
reading as a ratio against this figure, measured on the same machine, in the
same run.

An `export.zip` is read in place: its member whose head has `<HealthData`
(export.xml, exportar.xml...) is parsed from the zip stream.

Run: `python bench/reference_parse.py FILE`.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path
from typing import IO
from xml.parsers import expat

__all__ = ["do_nothing_parse"]

CHUNK_BYTES = 1 << 20


def do_nothing_parse(path: Path) -> tuple[float, int]:
    """Seconds a no-op pyexpat parse of `path` takes, and the bytes it parsed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "a.xml"
        ...     _ = path.write_bytes(b"<HealthData><Record type='x'/></HealthData>")
        ...     do_nothing_parse(path)[1]
        43
    """
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive, archive.open(_export_member(archive)) as stream:
            return _parse(stream)
    with path.open("rb") as stream:
        return _parse(stream)


def _parse(stream: IO[bytes]) -> tuple[float, int]:
    parser = expat.ParserCreate()
    parser.StartElementHandler = _nothing
    size = 0
    started = time.perf_counter()
    while chunk := stream.read(CHUNK_BYTES):
        size += len(chunk)
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return time.perf_counter() - started, size


def _nothing(name: str, attrs: dict[str, str]) -> None:
    """The callback every element costs; it does no work of its own."""


def _export_member(archive: zipfile.ZipFile) -> str:
    for name in archive.namelist():
        if name.lower().endswith(".xml") and not name.lower().endswith("export_cda.xml"):
            with archive.open(name) as stream:
                if b"<HealthData" in stream.read(64 * 1024):
                    return name
    raise SystemExit(f"{archive.filename}: no Apple Health export.xml inside")


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python bench/reference_parse.py FILE")
    seconds, size = do_nothing_parse(Path(argv[0]))
    print(f"do-nothing pyexpat parse: {size / 1e6:.1f} MB in {seconds:.2f} s")
    print(f"{size / 1e6 / seconds:.1f} MB/s")


if __name__ == "__main__":
    main(sys.argv[1:])
