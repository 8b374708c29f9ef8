"""The ingest engine: runs importers, stages their rows, and writes each file atomically.

For each file:

1. hash it; a file whose bytes were imported before is skipped without parsing;
2. detect its importer from its first bytes (also inside zip archives, in place);
3. stage: the importer's Arrow batches go into a private staging DuckDB file
   that has the canonical tables, so type casts and constraints fail here,
   before the vault is touched; each staged row is numbered within its natural
   key (the second identical coffee of a day is occurrence 2);
4. write, in one short transaction on the vault: a staged row is new when the
   vault holds fewer rows with its natural key than its occurrence number. So
   importing the same statement twice adds nothing, an export that overlaps an
   older one adds only what is new, and legitimate repeats survive. The
   `imports` row with counts per table commits in the same transaction.

Any failure before the commit leaves the vault exactly as it was.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

import duckdb

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
from selfdata.schema import NATURAL_KEYS, migrations
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
) -> list[FileResult]:
    """Import files, folders and zip archives; one result per file.

    A file that fails is reported in its result and the others still import.
    A locked vault stops the whole run (VaultLockedError).

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
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
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
) -> FileResult:
    """Import one file with a known importer, atomically. Raises IngestError on bad input.

    `known` maps the sha256 of files already in the vault to their import id
    (read from the vault when not given); it is updated with this import.
    """
    started, started_at = time.monotonic(), time.time()
    vault_path = resolve_vault_path(vault)
    source.options = load_settings(vault_path).importer_options.get(importer.name, {})
    if known is None:
        known = _known_digests(vault_path, lock_timeout)
    digest = source.sha256()
    earlier = known.get(digest)
    if earlier is not None:
        return FileResult(
            source.display_name,
            "already_imported",
            importer.name,
            import_id=earlier,
            note=f"already imported as import {earlier}",
        )
    staging_dir = vault_path.parent if vault_path.parent.exists() else None
    with tempfile.TemporaryDirectory(prefix=".selfdata-staging-", dir=staging_dir) as folder:
        stage_path = Path(folder) / "stage.duckdb"
        if progress:
            progress.start(source.display_name, source.size)
        try:
            staged = _stage(source, importer, stage_path, progress)
            if progress:
                progress.phase("writing")
            result = _write(
                source, importer, digest, stage_path, staged, vault_path, lock_timeout, started_at
            )
        finally:
            if progress:
                progress.finish()
    result.seconds = time.monotonic() - started
    if result.import_id is not None:
        known[digest] = result.import_id
    return result


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
    if not zipfile.is_zipfile(path) or forced or registry.candidates(whole.head(), path.name):
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
    tables: set[str]
    rows: Counter[str]
    rejects: list[Reject]


def _stage(
    source: Source, importer: Importer, stage_path: Path, progress: Progress | None
) -> _Staged:
    staged = _Staged(set(), Counter(), [])
    source.rejects = staged.rejects
    if progress:
        source.on_bytes = progress.advance
    try:
        with duckdb.connect(str(stage_path)) as con:
            con.execute("SET enable_progress_bar = false")
            for migration in migrations():
                con.execute(migration.sql)
            for batch in _batches(source, importer):
                _stage_batch(con, source, importer, batch.table, batch.rows)
                staged.tables.add(batch.table)
                staged.rows[batch.table] += batch.rows.num_rows
            for table in staged.tables:
                _number_occurrences(con, table)
    finally:
        source.on_bytes = None
    return staged


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


def _stage_batch(
    con: duckdb.DuckDBPyConnection, source: Source, importer: Importer, table: str, rows: object
) -> None:
    con.register("_batch", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT *, 0 AS import_id FROM _batch")
    except duckdb.Error as error:
        raise ParseError(
            source.display_name,
            f"{importer.name} produced a value that does not fit {table}: "
            f"{str(error).splitlines()[0]}",
        ) from error
    finally:
        con.unregister("_batch")


def _number_occurrences(con: duckdb.DuckDBPyConnection, table: str) -> None:
    keys = ", ".join(NATURAL_KEYS[table])
    con.execute(
        f"CREATE TABLE {table}__keyed AS "
        f"SELECT *, row_number() OVER (PARTITION BY {keys}) AS _occurrence FROM {table}"
    )


# --- writing -------------------------------------------------------------------


def _write(
    source: Source,
    importer: Importer,
    digest: str,
    stage_path: Path,
    staged: _Staged,
    vault_path: Path,
    lock_timeout: float | None,
    started_at: float,
) -> FileResult:
    result = FileResult(source.display_name, "imported", importer.name)
    result.rejected = dict(Counter(r.table for r in staged.rejects))
    result.reject_samples = staged.rejects[:_REJECT_SAMPLES]
    with open_vault(vault_path, read_only=False, lock_timeout=lock_timeout) as con:
        con.execute("ATTACH ? AS stage (READ_ONLY)", [str(stage_path)])
        con.execute("BEGIN TRANSACTION")
        try:
            earlier = _import_with_digest(con, digest)
            if earlier is not None:  # another process imported it meanwhile
                con.execute("ROLLBACK")
                result.status, result.import_id = "already_imported", earlier
                result.note = f"already imported as import {earlier}"
                return result
            result.import_id = _next_import_id(con)
            for table in sorted(staged.tables):
                new = _insert_new(con, table, result.import_id)
                result.new[table] = new
                result.duplicate[table] = staged.rows[table] - new
            _record_import(con, result, importer, source, digest, started_at)
            con.execute("COMMIT")
        except BaseException as error:
            con.execute("ROLLBACK")
            if isinstance(error, duckdb.Error):
                raise IngestError(
                    source.display_name, f"writing to the vault failed: {error}"
                ) from error
            raise
        finally:
            con.execute("DETACH stage")
    return result


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con, "SELECT nextval('import_id_seq')")
    assert row is not None
    return int(row[0])


def _insert_new(con: duckdb.DuckDBPyConnection, table: str, import_id: int) -> int:
    keys = NATURAL_KEYS[table]
    key_list = ", ".join(keys)
    match = " AND ".join(f"s.{k} IS NOT DISTINCT FROM e.{k}" for k in keys)
    have = " AND ".join(f"m.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
    # Identity-keyed rows (an account, a workout) exist once, however often a file repeats them.
    repeats = "AND s._occurrence = 1" if table in _IDENTITY_KEYED else ""
    row = first_row(
        con,
        f"""
        INSERT INTO main.{table} BY NAME
        SELECT s.* EXCLUDE (import_id, _occurrence), ? AS import_id
        FROM stage.{table}__keyed AS s
        LEFT JOIN (
            SELECT {", ".join(f"m.{k}" for k in keys)}, count(*) AS _have
            FROM main.{table} AS m
            SEMI JOIN (SELECT DISTINCT {key_list} FROM stage.{table}) AS k ON {have}
            GROUP BY ALL
        ) AS e ON {match}
        WHERE s._occurrence > coalesce(e._have, 0) {repeats}
        """,
        [import_id],
    )
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
            _json({"reject_samples": samples}),
        ],
    )


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)
