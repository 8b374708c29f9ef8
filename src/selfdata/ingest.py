"""The ingest engine: runs importers, stages their rows, and writes each file atomically.

For each file:

1. hash it; a file whose bytes were imported before is skipped without parsing;
2. detect its importer from its first bytes (also inside zip archives, in place);
3. stage, without the vault's lock: the importer's Arrow batches are written
   to Arrow IPC stream files in a private temporary folder beside the vault, so
   memory stays flat whatever the file's size;
4. write, in one short transaction on the vault: DuckDB scans the staged
   batches back, casts them to the canonical types (a value that does not fit
   fails the file) and inserts the rows that are new. A staged
   row is new when the vault holds fewer rows with its natural key than the
   row's occurrence number within the file (the second identical coffee of a
   day is occurrence 2). So importing the same statement twice adds nothing,
   an export that overlaps an older one adds only what is new, and legitimate
   repeats survive. The `imports` row with counts per table commits in the
   same transaction.

Any failure before the commit leaves the vault exactly as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import duckdb
import psutil
import pyarrow as pa
import pyarrow.ipc as ipc

from selfdata.config import load_settings
from selfdata.errors import (
    IngestError,
    ParseError,
    SelfdataError,
    UnknownFormatError,
    UnsafeInputError,
)
from selfdata.importers import Registry
from selfdata.importers.base import Batch, Importer, Reject, Source
from selfdata.schema import NATURAL_KEYS, canonical_columns
from selfdata.vault import first_row, open_vault, resolve_vault_path

__all__ = [
    "FileResult",
    "Progress",
    "expand_sources",
    "forget",
    "import_paths",
    "import_source",
]

# Tables whose key identifies one thing: a repeat within a file is the same thing.
_IDENTITY_KEYED = frozenset({"accounts", "workouts"})
_REJECT_SAMPLES = 5
_HASH_FIRST_BYTES = 64 << 20
_STAGING_PREFIX = ".selfdata-staging-"
# An import's whole peak memory stays under 300 MB: the write phase gives DuckDB
# what the process has left below _PEAK_MEMORY (DuckDB and the staged Arrow
# batches it is reading take up to _DUCKDB_OVERHEAD beyond its limit), within
# _WRITE_MEMORY. More is faster (a first import of 1M rows
# takes 40% more CPU in 40 MB than in 192 MB), less fails: each DuckDB thread
# needs its share, so a second thread only runs with _TWO_THREADS (never more
# than two, whatever the machine); when DuckDB still runs out (deduping 1M rows
# against as many needs 80 MB with one thread), the write is tried again with
# one thread, then with _RETRY_MEMORY.
_PEAK_MEMORY = 285 << 20
_DUCKDB_OVERHEAD = 32 << 20
_WRITE_MEMORY = (32 << 20, 256 << 20)
_TWO_THREADS = 48 << 20
_RETRY_MEMORY = 128 << 20
# Rows per staged batch, as they are read back.
_STAGED_ROWS = 1 << 16


class Progress(Protocol):
    """What the engine tells a progress display (the CLI's is a rich bar)."""

    def start(self, name: str, total_bytes: int) -> None: ...

    def advance(self, n_bytes: int) -> None: ...

    def phase(self, label: str) -> None: ...

    def finish(self) -> None: ...


@dataclass
class FileResult:
    """What happened to one file."""

    name: str
    status: str  # imported | already_imported | skipped | failed
    importer: str | None = None
    import_id: int | None = None
    new: dict[str, int] = field(default_factory=dict)
    duplicate: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    reject_samples: list[Reject] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)
    error: SelfdataError | None = None
    note: str = ""
    seconds: float = 0.0


def import_paths(
    paths: Sequence[str | Path],
    *,
    vault: str | Path | None = None,
    registry: Registry | None = None,
    importer: str | None = None,
    progress: Progress | None = None,
    lock_timeout: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[FileResult]:
    """Import files, folders and zip archives; one result per file.

    A file that fails is reported in its result and the others still import.
    A locked vault stops the whole run (VaultLockedError). `options` are
    handed to the importers over their `[importers.NAME]` table of selfdata.toml
    (the command line's `--option KEY=VALUE`).

    Example:
        >>> results = import_paths(["runs/"], vault="data/selfdata.duckdb")  # doctest: +SKIP
        >>> results[0].new  # doctest: +SKIP
        {'location_points': 1840, 'workouts': 3}
    """
    registry = registry or Registry.default()
    forced = registry.get(importer) if importer else None
    # One read of the known file hashes serves the whole run.
    known = _known_digests(resolve_vault_path(vault), lock_timeout)
    results: list[FileResult] = []
    for source, explicit in expand_sources(paths, registry, forced):
        if isinstance(source, FileResult):
            results.append(source)
            continue
        try:
            chosen = forced or registry.detect(source)
        except UnknownFormatError as error:
            # In a folder or zip, files of no known format are expected; named ones are not.
            if explicit:
                results.append(FileResult(source.display_name, "failed", error=error))
            else:
                results.append(FileResult(source.display_name, "skipped", note="unknown format"))
            continue
        except IngestError as error:
            results.append(FileResult(source.display_name, "failed", error=error))
            continue
        try:
            results.append(
                import_source(
                    source,
                    chosen,
                    vault=vault,
                    progress=progress,
                    lock_timeout=lock_timeout,
                    known=known,
                    options=options,
                )
            )
        except IngestError as error:
            results.append(FileResult(source.display_name, "failed", chosen.name, error=error))
    return results


def expand_sources(
    paths: Sequence[str | Path], registry: Registry, forced: Importer | None = None
) -> Iterator[tuple[Source | FileResult, bool]]:
    """Every file to consider, with whether the user named it directly.

    Folders are walked (hidden files skipped); zip archives are opened in place
    and their members become sources, unless an importer claims the whole zip.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            error = IngestError(path, "no such file or folder")
            yield FileResult(str(path), "failed", error=error), True
        elif path.is_dir():
            files = [
                child
                for child in sorted(p for p in path.rglob("*") if p.is_file())
                if not any(part.startswith(".") for part in child.relative_to(path).parts)
            ]
            read_with = {} if forced else _companions(files, registry)
            for child in files:
                if child in read_with:
                    note = f"read with {read_with[child]}"
                    yield FileResult(str(child), "skipped", note=note), False
                else:
                    yield from _file_sources(child, registry, forced, explicit=False)
        else:
            yield from _file_sources(path, registry, forced, explicit=True)


def import_source(
    source: Source,
    importer: Importer,
    *,
    vault: str | Path | None = None,
    progress: Progress | None = None,
    lock_timeout: float | None = None,
    known: dict[str, int] | None = None,
    options: Mapping[str, Any] | None = None,
) -> FileResult:
    """Import one file with a known importer, atomically. Raises IngestError on bad input.

    `known` maps the sha256 of files already in the vault to their import id
    (read from the vault when not given); it is updated with this import.
    `options` override the importer's table of selfdata.toml key by key.
    """
    started, started_at = time.monotonic(), time.time()
    vault_path = resolve_vault_path(vault)
    configured = load_settings(vault_path).importer_options.get(importer.name, {})
    source.options = {**configured, **(options or {})}
    if known is None:
        known = _known_digests(vault_path, lock_timeout)
    size = source.size
    # Small files are hashed first, so a file imported before is not even parsed.
    # Big ones are hashed in a second thread while they are parsed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(source.sha256)
        if size < _HASH_FIRST_BYTES:
            hashing.result()
        earlier = _earlier(hashing, known)
        if earlier is not None:
            return _unchanged(source, importer, earlier)
        staging_dir = vault_path.parent if vault_path.parent.exists() else None
        if staging_dir is not None:
            _remove_abandoned_staging(staging_dir)
        prefix = f"{_STAGING_PREFIX}{os.getpid()}-"
        with tempfile.TemporaryDirectory(prefix=prefix, dir=staging_dir) as folder:
            if progress:
                progress.start(source.display_name, size)
            try:
                staged = _stage(source, importer, Path(folder), progress, hashing, known)
                if staged is None:
                    return _unchanged(source, importer, known[hashing.result()])
                if progress:
                    progress.phase("writing")
                digest = hashing.result()
                result = _write(
                    source, importer, digest, staged, vault_path, lock_timeout, started_at
                )
            finally:
                if progress:
                    progress.finish()
    result.seconds = time.monotonic() - started
    if result.import_id is not None:
        known[digest] = result.import_id
    return result


def _remove_abandoned_staging(folder: Path) -> None:
    """Staging folders left by a killed import: their process is gone, so they can go."""
    for path in folder.glob(f"{_STAGING_PREFIX}*"):
        pid = path.name.removeprefix(_STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _earlier(hashing: Future[str], known: dict[str, int]) -> int | None:
    """The import that already holds these bytes, once the hash is known."""
    return known.get(hashing.result()) if hashing.done() else None


def _unchanged(source: Source, importer: Importer, earlier: int) -> FileResult:
    return FileResult(
        source.display_name,
        "already_imported",
        importer.name,
        import_id=earlier,
        note=f"already imported as import {earlier}",
    )


def forget(import_id: int, *, vault: str | Path | None = None) -> dict[str, int]:
    """Remove one import and every row it brought; returns rows removed per table."""
    with open_vault(vault, read_only=False) as con:
        found = first_row(con, "SELECT 1 FROM imports WHERE import_id = ?", [import_id])
        if not found:
            raise SelfdataError(f"no import {import_id}; `selfdata imports` lists them")
        removed: dict[str, int] = {}
        con.execute("BEGIN TRANSACTION")
        for table in NATURAL_KEYS:
            if table == "accounts":
                continue
            row = con.execute(
                f"DELETE FROM {table} WHERE import_id = ? RETURNING 1", [import_id]
            ).fetchall()
            removed[table] = len(row)
        # An account goes with the import that brought it unless others still use it.
        orphaned = con.execute(
            "DELETE FROM accounts WHERE import_id = ? AND account_id NOT IN "
            "(SELECT account_id FROM transactions) RETURNING 1",
            [import_id],
        ).fetchall()
        removed["accounts"] = len(orphaned)
        con.execute("DELETE FROM imports WHERE import_id = ?", [import_id])
        con.execute("COMMIT")
    return {table: n for table, n in removed.items() if n}


# --- finding sources -------------------------------------------------------


def _file_sources(
    path: Path, registry: Registry, forced: Importer | None, *, explicit: bool
) -> Iterator[tuple[Source | FileResult, bool]]:
    whole = Source(path)
    is_zip = zipfile.is_zipfile(path)
    if is_zip and forced is not None and hasattr(forced, "claim_archive"):
        with zipfile.ZipFile(path) as archive:
            names = tuple(forced.claim_archive(archive))
        if names:  # `--importer apple_health export.zip` still reads the zip's export
            yield Source(path, members=names), explicit
            return
    if not is_zip or forced or registry.candidates(whole.head(), path.name):
        yield whole, explicit
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m.filename for m in archive.infolist() if not m.is_dir()]
            claims = registry.claims(archive)
    except (zipfile.BadZipFile, OSError) as error:
        yield FileResult(str(path), "failed", error=ParseError(path, f"broken zip: {error}")), True
        return
    claimed = {name for _, names in claims for name in names}
    for _, names in claims:
        yield Source(path, members=names), explicit
    for member in members:
        if _escapes(member):
            unsafe = UnsafeInputError(path, f"zip member {member!r} escapes the archive")
            yield FileResult(f"{path}!{member}", "failed", error=unsafe), True
        elif member not in claimed and not _hidden(member):
            # Members are found by content, so localized folder names do not matter.
            yield Source(path, member), False


def _companions(files: Sequence[Path], registry: Registry) -> dict[Path, str]:
    """Files that another file's import reads too (Apple Health's route GPX files
    beside an unzipped export.xml), so a folder walk must not import them alone."""
    read_with: dict[Path, str] = {}
    importers = [r.importer for r in registry if hasattr(r.importer, "companions")]
    for path in files if importers else ():
        head = Source(path).head()
        for importer in importers:
            if importer.detect(head, path.name):
                for companion in importer.companions(path):
                    read_with[Path(companion)] = f"{path.name} ({importer.name})"
    return read_with


def _escapes(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts)


def _known_digests(vault_path: Path, lock_timeout: float | None) -> dict[str, int]:
    if not vault_path.exists():
        return {}
    with open_vault(vault_path, read_only=True, lock_timeout=lock_timeout) as con:
        rows = con.execute("SELECT file_sha256, min(import_id) FROM imports GROUP BY 1").fetchall()
    return {digest: int(import_id) for digest, import_id in rows}


def _import_with_digest(con: duckdb.DuckDBPyConnection, digest: str) -> int | None:
    row = first_row(con, "SELECT min(import_id) FROM imports WHERE file_sha256 = ?", [digest])
    return None if row is None or row[0] is None else int(row[0])


# --- staging -----------------------------------------------------------------


@dataclass
class _Staged:
    files: dict[str, list[Path]]
    columns: dict[str, set[str]]
    rows: Counter[str]
    rejects: list[Reject]


def _stage(
    source: Source,
    importer: Importer,
    folder: Path,
    progress: Progress | None,
    hashing: Future[str],
    known: dict[str, int],
) -> _Staged | None:
    """Write the importer's batches to Arrow IPC stream files in `folder`.

    Staging files keep memory flat whatever the file's size. Arrow's own format
    costs next to nothing to write and to read back, and DuckDB scans it without
    converting or checking it again (a Parquet round trip took a quarter of a
    big import's time). Consecutive batches of a table with the same columns go
    to one file. Returns None as soon as the file's hash shows it was imported
    before.
    """
    staged = _Staged({}, {}, Counter(), [])
    source.rejects = staged.rejects
    if progress:
        source.on_bytes = progress.advance
    writers = _StagingWriters(folder)
    try:
        for batch in _batches(source, importer):
            if _earlier(hashing, known) is not None:
                return None
            if batch.rows.num_rows == 0:
                continue
            _check_columns(source, importer, batch)
            new_file = writers.write(batch.table, batch.rows)
            if new_file is not None:
                staged.files.setdefault(batch.table, []).append(new_file)
            staged.columns.setdefault(batch.table, set()).update(batch.rows.column_names)
            staged.rows[batch.table] += batch.rows.num_rows
    finally:
        source.on_bytes = None
        writers.close()
    return staged


def _release_memory() -> None:
    """Hand the memory staging freed back to the system.

    Arrow's allocator and glibc's keep freed memory for reuse; the write
    phase's peak is the staging's leftovers plus DuckDB's memory limit.
    """
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): nothing to trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)


class _StagingWriters:
    """One open Arrow IPC stream file per table, while its batches keep the same schema.

    Written for speed, to be read once moments later: uncompressed, and cut into
    batches of at most _STAGED_ROWS rows, so that reading them back holds little
    in memory. A stream (not the IPC file format) takes a dictionary-encoded
    column's new dictionary in each batch.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = 0
        self.open: dict[str, tuple[pa.Schema, pa.NativeFile, ipc.RecordBatchStreamWriter]] = {}

    def write(self, table: str, rows: pa.Table) -> Path | None:
        """Append `rows`; returns the path of the file it opened for them, if it did."""
        path = None
        schema, _, writer = self.open.get(table, (None, None, None))
        if schema is None or writer is None or not schema.equals(rows.schema):
            self._close(table)
            self.files += 1
            path = self.folder / f"{table}-{self.files:06d}.arrows"
            sink = pa.OSFile(str(path), "wb")
            writer = ipc.new_stream(sink, rows.schema)
            self.open[table] = (rows.schema, sink, writer)
        writer.write_table(rows, max_chunksize=_STAGED_ROWS)
        return path

    def close(self) -> None:
        for table in list(self.open):
            self._close(table)

    def _close(self, table: str) -> None:
        if table in self.open:
            _, sink, writer = self.open.pop(table)
            writer.close()
            sink.close()


def _batches(source: Source, importer: Importer) -> Iterator[Batch]:
    try:
        for batch in importer.read(source):
            if batch.table not in importer.tables:
                raise IngestError(
                    source.display_name,
                    f"importer {importer.name} yielded rows for {batch.table!r}, "
                    f"which it does not declare",
                )
            yield batch
    except SelfdataError:
        raise
    except Exception as error:  # an importer bug still fails this file cleanly
        raise IngestError(
            source.display_name,
            f"importer {importer.name} failed: {type(error).__name__}: {error}",
        ) from error


def _check_columns(source: Source, importer: Importer, batch: Batch) -> None:
    unknown = set(batch.rows.column_names) - set(canonical_columns()[batch.table])
    if unknown:
        raise IngestError(
            source.display_name,
            f"importer {importer.name} produced columns {sorted(unknown)} "
            f"that {batch.table} does not have",
        )


# --- writing -------------------------------------------------------------------


def _write(
    source: Source,
    importer: Importer,
    digest: str,
    staged: _Staged,
    vault_path: Path,
    lock_timeout: float | None,
    started_at: float,
) -> FileResult:
    """Write the staged rows, DuckDB given what the process has left below _PEAK_MEMORY."""
    _release_memory()  # what staging (and hashing) freed, before DuckDB takes its share
    tries = _write_tries(_PEAK_MEMORY - _resident())
    write = (source, importer, digest, staged, vault_path, lock_timeout, started_at)
    for threads, limit in tries[:-1]:
        try:
            return _write_once(*write, threads=threads, memory=limit)
        except duckdb.OutOfMemoryException:
            pass  # rolled back: try again with one thread, then with more memory
    threads, limit = tries[-1]
    return _write_once(*write, threads=threads, memory=limit)


def _write_tries(room: int) -> list[tuple[int, int]]:
    """DuckDB's threads and memory limit for each try of a write, with `room`
    bytes left below _PEAK_MEMORY.

    Example:
        >>> [(threads, memory >> 20) for threads, memory in _write_tries(200 << 20)]
        [(2, 168), (1, 168)]
        >>> [(threads, memory >> 20) for threads, memory in _write_tries(0)]
        [(1, 32), (1, 128)]
    """
    memory = min(max(room - _DUCKDB_OVERHEAD, _WRITE_MEMORY[0]), _WRITE_MEMORY[1])
    first = (2 if memory >= _TWO_THREADS else 1, memory)
    return list(dict.fromkeys([first, (1, memory), (1, max(memory, _RETRY_MEMORY))]))


def _resident() -> int:
    return int(psutil.Process().memory_info().rss)


def _write_once(
    source: Source,
    importer: Importer,
    digest: str,
    staged: _Staged,
    vault_path: Path,
    lock_timeout: float | None,
    started_at: float,
    *,
    threads: int,
    memory: int,
) -> FileResult:
    result = FileResult(source.display_name, "imported", importer.name)
    result.rejected = dict(Counter(r.table for r in staged.rejects))
    result.reject_samples = staged.rejects[:_REJECT_SAMPLES]
    result.repairs = dict(source.repairs)
    with open_vault(vault_path, read_only=False, lock_timeout=lock_timeout) as con:
        # DuckDB spills to disk beyond this, so a big import keeps memory flat; the
        # order of rows in the vault means nothing, so DuckDB may insert in parallel.
        con.execute(f"SET memory_limit = '{memory >> 20}MB'")
        con.execute(f"SET threads = {threads}")
        con.execute("SET preserve_insertion_order = false")
        con.execute("BEGIN TRANSACTION")
        try:
            earlier = _import_with_digest(con, digest)
            if earlier is not None:  # another process imported it meanwhile
                con.execute("ROLLBACK")
                result.status, result.import_id = "already_imported", earlier
                result.note = f"already imported as import {earlier}"
                return result
            result.import_id = _next_import_id(con)
            for table in sorted(staged.files):
                new = _insert_new(con, source, importer, table, staged, result.import_id)
                result.new[table] = new
                result.duplicate[table] = staged.rows[table] - new
            _record_import(con, result, importer, source, digest, started_at)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return result


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con, "SELECT nextval('import_id_seq')")
    assert row is not None
    return int(row[0])


def _insert_new(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    importer: Importer,
    table: str,
    staged: _Staged,
    import_id: int,
) -> int:
    """Insert the staged rows whose natural key the vault holds fewer times than they occur.

    A table with nothing to compare with (a first import) takes the rows
    straight in. Otherwise the staged rows and the vault's rows with a key the
    file has are numbered together in each key's partition, the vault's first,
    so a staged row's position there, less the vault's count, is its
    occurrence within the file: it is new when that exceeds the vault's
    count. Windows sort, and sorts spill to disk, so this stays within the
    write's memory limit however many keys overlap (a GROUP BY of the vault's
    counts did not; setting the rows with new keys apart with an ANTI JOIN
    took twice as long).
    """
    keys = NATURAL_KEYS[table]
    key_list = ", ".join(keys)
    # Every canonical column, cast to its type, so keys compare like with like.
    present = staged.columns[table]
    columns = ", ".join(
        f"CAST({name} AS {kind}) AS {name}" if name in present else f"NULL::{kind} AS {name}"
        for name, kind in canonical_columns()[table].items()
    )
    # An identity-keyed row (an account, a workout) exists once, however often a file repeats it.
    identity = table in _IDENTITY_KEYED
    first_only = f"QUALIFY row_number() OVER (PARTITION BY {key_list}) = 1" if identity else ""
    empty = _is_empty(con, table)
    with _staged_rows(con, staged.files[table], readings=1 if empty else 2) as relations:
        staged_sql = f"SELECT {columns} FROM {relations[0]}"
        if empty:
            sql = f"""
                INSERT INTO main.{table} BY NAME
                SELECT s.*, ? AS import_id FROM ({staged_sql}) AS s {first_only}
            """
            return _run_insert(con, source, importer, table, sql, [import_id])
        staged_again = f"SELECT {columns} FROM {relations[1]}"
        match = " AND ".join(f"s.{k} IS NOT DISTINCT FROM e.{k}" for k in keys)
        new = "_have = 0 AND _position = 1" if identity else "_position - _have > _have"
        sql = f"""
            INSERT INTO main.{table} BY NAME
            WITH staged AS NOT MATERIALIZED ({staged_sql}),
            staged_keys AS NOT MATERIALIZED ({staged_again}),
            known AS (
                SELECT {", ".join(f"e.{k}" for k in keys)}
                FROM main.{table} AS e SEMI JOIN staged_keys AS s ON {match}
            ),
            numbered AS (
                SELECT *,
                    count(*) FILTER (WHERE _known) OVER (PARTITION BY {key_list}) AS _have,
                    row_number() OVER (PARTITION BY {key_list} ORDER BY _known DESC) AS _position
                FROM (
                    SELECT *, false AS _known FROM staged
                    UNION ALL BY NAME
                    SELECT *, true AS _known FROM known
                )
            )
            SELECT * EXCLUDE (_known, _have, _position), ? AS import_id
            FROM numbered WHERE NOT _known AND {new}
        """
        return _run_insert(con, source, importer, table, sql, [import_id])


@contextlib.contextmanager
def _staged_rows(
    con: duckdb.DuckDBPyConnection, files: Sequence[Path], *, readings: int
) -> Iterator[list[str]]:
    """`readings` relations over the staged files (their UNION ALL BY NAME), each
    reading the files afresh: DuckDB reads an Arrow stream once, and the dedupe
    query reads the staged rows twice."""
    names: list[str] = []
    opened: list[pa.NativeFile] = []
    relations = []
    try:
        for _ in range(readings):
            parts = []
            for path in files:
                names.append(f"_staged_{len(names)}")
                opened.append(pa.OSFile(str(path), "rb"))
                con.register(names[-1], ipc.open_stream(opened[-1]))
                parts.append(f"SELECT * FROM {names[-1]}")
            relations.append("(" + " UNION ALL BY NAME ".join(parts) + ")")
        yield relations
    finally:
        for name in names:
            # After a failed insert DuckDB refuses until the rollback; the connection
            # closes with the transaction anyway.
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
        for stream in opened:
            stream.close()


def _is_empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return first_row(con, f"SELECT NOT EXISTS (SELECT 1 FROM main.{table})") == (True,)


def _run_insert(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    importer: Importer,
    table: str,
    sql: str,
    parameters: list[int],
) -> int:
    """Run an INSERT, returning its row count; a value that does not cast is bad input."""
    try:
        row = first_row(con, sql, parameters)
    except duckdb.OutOfMemoryException:
        raise  # not the input's fault: `_write` tries again with less
    except duckdb.Error as error:
        raise ParseError(
            source.display_name,
            f"{importer.name} produced a value that does not fit {table}: "
            f"{str(error).splitlines()[0]}",
        ) from error
    return int(row[0]) if row else 0


def _record_import(
    con: duckdb.DuckDBPyConnection,
    result: FileResult,
    importer: Importer,
    source: Source,
    digest: str,
    started_at: float,
) -> None:
    samples = [
        {"table": r.table, "reason": r.reason, "line": r.line} for r in result.reject_samples
    ]
    con.execute(
        """
        INSERT INTO imports VALUES (
            ?, ?, ?, ?, ?, ?, to_timestamp(?), now(), ?,
            ?::JSON, ?::JSON, ?::JSON, ?::JSON)
        """,
        [
            result.import_id,
            importer.name,
            importer.version,
            source.display_name,
            digest,
            source.size,
            started_at,
            "ok_with_rejects" if result.rejected else "ok",
            _json(result.new),
            _json(result.duplicate),
            _json(result.rejected),
            _json({"reject_samples": samples, "repairs": result.repairs}),
        ],
    )


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)
