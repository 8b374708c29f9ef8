"""The vault: one DuckDB file holding everything, opened read-only or as a short writer.

DuckDB allows one writing process per file, or many reading processes, not
both. So writers stay short (imports parse and stage outside the lock, then
write in one transaction) and wait, with backoff, for a lock held by someone
else, up to a deadline; then they fail with one line naming the process that
holds it. Notebooks and reports open the vault read-only.

Every connection: TimeZone set (UTC unless selfdata.toml says otherwise), no
extension auto-install or auto-load (nothing is fetched at run time), no DuckDB
progress bar. Read-only connections also cannot read or write other files.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from selfdata import __version__
from selfdata.config import default_vault_path, load_settings
from selfdata.errors import SchemaTooNewError, VaultError, VaultLockedError, VaultNotFoundError
from selfdata.schema import CANONICAL_TABLES, DOMAINS, SCHEMA_VERSION, migrations

__all__ = [
    "DomainRange",
    "VaultInfo",
    "first_row",
    "open_vault",
    "resolve_vault_path",
    "schema_version",
    "vault_info",
]

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_FIRST_WAIT_S = 0.05
_LONGEST_WAIT_S = 1.0


def resolve_vault_path(path: str | Path | None = None) -> Path:
    """The vault file to use: `path` if given, else `$SELFDATA_HOME` or `./data`.

    Example:
        >>> resolve_vault_path("/tmp/x/selfdata.duckdb")
        PosixPath('/tmp/x/selfdata.duckdb')
    """
    return Path(path).expanduser() if path is not None else default_vault_path()


def open_vault(
    path: str | Path | None = None,
    *,
    read_only: bool = True,
    lock_timeout: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the vault, creating and migrating it when opened for writing.

    Args:
        path: the vault file; default `$SELFDATA_HOME/selfdata.duckdb` or
            `./data/selfdata.duckdb`.
        read_only: readers coexist with each other and cannot change anything;
            a writer is exclusive, so keep it short.
        lock_timeout: seconds to wait for another process's lock; default from
            selfdata.toml, else 30.

    Raises:
        VaultNotFoundError: read-only open of a vault that does not exist.
        VaultLockedError: another process kept the lock past the deadline.
        SchemaTooNewError: the vault was written by a newer selfdata.

    Example:
        >>> con = open_vault("data/selfdata.duckdb")  # doctest: +SKIP
        >>> con.sql("select count(*) from health_samples").fetchone()  # doctest: +SKIP
    """
    vault_path = resolve_vault_path(path)
    settings = load_settings(vault_path)
    timeout = settings.lock_timeout_s if lock_timeout is None else lock_timeout
    if read_only:
        if not vault_path.exists():
            raise VaultNotFoundError(vault_path)
        con = _connect(vault_path, read_only=True, timeout=timeout, timezone=settings.timezone)
        if _applied_version(con) >= SCHEMA_VERSION:
            _refuse_newer(con, vault_path)
            return con
        # An older vault: migrate it with a short writer, then read.
        con.close()
        open_vault(vault_path, read_only=False, lock_timeout=timeout).close()
        return _connect(vault_path, read_only=True, timeout=timeout, timezone=settings.timezone)
    try:
        vault_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VaultError(
            f"cannot create the vault's folder {vault_path.parent}: {error}"
        ) from error
    con = _connect(vault_path, read_only=False, timeout=timeout, timezone=settings.timezone)
    try:
        _refuse_newer(con, vault_path)
        _migrate(con)
    except BaseException:
        con.close()
        raise
    return con


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None
) -> tuple[Any, ...] | None:
    """The first row of a query, with the result finished.

    DuckDB 2 keeps a partly fetched `execute()` result open and refuses other
    work on the connection until it is finished, so never use `fetchone()`.
    """
    rows = con.execute(sql, list(params or [])).fetchall()
    return rows[0] if rows else None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to this vault (0 for an empty file)."""
    return _applied_version(con)


@dataclass(frozen=True)
class DomainRange:
    """The span of time one domain's rows cover."""

    domain: str
    rows: int
    first: str | None
    last: str | None


@dataclass(frozen=True)
class VaultInfo:
    """What `selfdata vault info` shows."""

    path: Path
    file_bytes: int
    schema_version: int
    made_by: str
    rows: dict[str, int]
    imports: int
    domains: list[DomainRange]


def vault_info(con: duckdb.DuckDBPyConnection, path: Path) -> VaultInfo:
    """Size, schema version, rows per table and the date range of each domain."""
    rows = {table: _scalar_int(con, f"SELECT count(*) FROM {table}") for table in CANONICAL_TABLES}
    made_by = first_row(
        con, "SELECT selfdata_version FROM schema_migrations ORDER BY version DESC LIMIT 1"
    )
    return VaultInfo(
        path=path,
        file_bytes=path.stat().st_size,
        schema_version=_applied_version(con),
        made_by=str(made_by[0]) if made_by else "?",
        rows=rows,
        imports=_scalar_int(con, "SELECT count(*) FROM imports"),
        domains=[_domain_range(con, name, tables) for name, tables in DOMAINS.items()],
    )


def _domain_range(
    con: duckdb.DuckDBPyConnection, domain: str, tables: dict[str, str]
) -> DomainRange:
    # Local calendar dates are what people think in, so the range uses each
    # row's own offset where it has one.
    parts = []
    for table, column in tables.items():
        if column.endswith("_date"):
            day = column
        else:
            local = f"{column} AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0))"
            day = f"CAST({local} AS DATE)"
        parts.append(f"SELECT {day} AS day FROM {table} WHERE {column} IS NOT NULL")
    rows, first, last = first_row(
        con, f"SELECT count(*), min(day), max(day) FROM ({' UNION ALL '.join(parts)})"
    ) or (0, None, None)
    return DomainRange(domain, int(rows), _iso(first), _iso(last))


def _iso(value: object) -> str | None:
    return None if value is None else str(value)


def _scalar_int(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = first_row(con, sql)
    return int(row[0]) if row else 0


def _connect(
    path: Path, *, read_only: bool, timeout: float, timezone: str
) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        # Nothing is downloaded at run time: selfdata works offline.
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if read_only:
        # Notebooks and reports see the vault and nothing else on disk.
        config["enable_external_access"] = False
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    wait = _FIRST_WAIT_S
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            break
        except duckdb.IOException as error:
            holder = _LOCK_HOLDER.search(str(error))
            if "Could not set lock" not in str(error):
                raise VaultError(f"cannot open the vault {path}: {_first_line(error)}") from error
            if time.monotonic() + wait > deadline:
                raise VaultLockedError(
                    path,
                    pid=int(holder["pid"]) if holder else None,
                    program=holder["program"] if holder else None,
                    waited_s=time.monotonic() - started,
                ) from error
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT_S)
        except duckdb.Error as error:
            raise VaultError(f"cannot open the vault {path}: {_first_line(error)}") from error
    # In a Jupyter kernel without ipywidgets DuckDB refuses this setting itself.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    try:
        con.execute("SET TimeZone = ?", [timezone])
    except duckdb.Error as error:
        con.close()
        raise VaultError(f"unknown timezone {timezone!r} in selfdata.toml") from error
    return con


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0]


def _applied_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = first_row(
        con,
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE table_name = 'schema_migrations' AND schema_name = 'main'",
    )
    if not exists or not exists[0]:
        return 0
    row = first_row(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(row[0]) if row else 0


def _refuse_newer(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version = _applied_version(con)
    if version > SCHEMA_VERSION:
        made_by = first_row(
            con, "SELECT selfdata_version FROM schema_migrations ORDER BY version DESC LIMIT 1"
        )
        con.close()
        raise SchemaTooNewError(
            path,
            vault_version=version,
            known_version=SCHEMA_VERSION,
            made_by=str(made_by[0]) if made_by else "?",
        )


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL, selfdata_version VARCHAR NOT NULL)"
    )
    applied = _applied_version(con)
    for migration in migrations():
        if migration.version <= applied:
            continue
        # Each migration and its record commit together, or not at all.
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now(), ?)",
                [migration.version, migration.name, __version__],
            )
            con.execute("COMMIT")
        except duckdb.Error as error:
            con.execute("ROLLBACK")
            raise VaultError(
                f"migration {migration.version:04d}_{migration.name} failed: {_first_line(error)}"
            ) from error
