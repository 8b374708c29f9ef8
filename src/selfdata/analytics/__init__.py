"""Analytics: plain functions over the vault that return polars DataFrames.

One module per domain (`health`, later `spending`, `mobility`), each function
taking the vault first: an open connection, a path, or None for the default
vault. This package holds what they share: `connect()` to turn that argument
into a connection, `query()` to run a SQL string with named parameters, and
SQL fragments more than one analysis needs (`LOCAL_DAY`, `source_rank_sql()`,
`islands_sql()`).

Example:
    >>> from selfdata.analytics import health
    >>> health.daily("data/selfdata.duckdb", ["steps"])  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from os import PathLike
from pathlib import Path

import duckdb
import polars as pl

from selfdata.vault import open_vault

__all__ = [
    "LOCAL_DAY",
    "DateLike",
    "Vault",
    "connect",
    "islands_sql",
    "query",
    "source_rank_sql",
]

Vault = duckdb.DuckDBPyConnection | str | PathLike[str] | None
"""What analytics functions accept as their first argument."""

DateLike = date | str | None
"""A local day bound: a `date`, an ISO `"2025-01-31"` string, or None for open."""

LOCAL_DAY = "CAST(start_at AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0)) AS DATE)"
"""The local day of a row with `start_at` and `utc_offset_min`, as docs/schema.md defines it."""

_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


@contextmanager
def connect(vault: Vault) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to `vault`, closed afterwards only if this opened it.

    Args:
        vault: an open connection (used as is, left open), a vault path, or
            None for the default vault; paths are opened read-only, so a
            notebook never holds the write lock.

    Example:
        >>> with connect("data/selfdata.duckdb") as con:  # doctest: +SKIP
        ...     con.sql("SELECT count(*) FROM health_samples").fetchall()
    """
    if isinstance(vault, duckdb.DuckDBPyConnection):
        yield vault
        return
    con = open_vault(None if vault is None else Path(vault), read_only=True)
    try:
        yield con
    finally:
        con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, **params: object) -> pl.DataFrame:
    """Run `sql` with `$name` parameters and return the whole result as a DataFrame.

    DuckDB refuses parameters the SQL does not use, so only those named in
    `sql` are passed; composed queries can then share one set of keywords.

    Example:
        >>> con = duckdb.connect()
        >>> query(con, "SELECT $n + 1 AS m", n=1, unused=2)["m"].to_list()
        [2]
    """
    names = set(_PARAMETER.findall(sql))
    missing = names - params.keys()
    if missing:
        raise TypeError(f"query() is missing parameters: {', '.join(sorted(missing))}")
    frame: pl.DataFrame = con.sql(sql, params={name: params[name] for name in names}).pl()
    return frame


def source_rank_sql(table: str, where: str = "true") -> str:
    """CTE `source_rank(source_name, source_rank)` over the sources in `table`; 1 is best.

    The query must bind `$prefer`, a list of substrings: a source's preference
    is the position of the first one its name contains, case-insensitively;
    names matching none come after, and ties go to the alphabetically first.
    Join on `source_name IS NOT DISTINCT FROM`, so rows without a name keep a rank.

    Example:
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE t AS SELECT unnest(['iPhone', 'Watch']) AS source_name")
        >>> sql = f"WITH {source_rank_sql('t')} SELECT * FROM source_rank ORDER BY 2"
        >>> query(con, sql, prefer=["watch"]).rows()
        [('Watch', 1), ('iPhone', 2)]
    """
    return f"""
        source_rank AS (
            SELECT source_name,
                   row_number() OVER (ORDER BY pref NULLS LAST, source_name NULLS LAST)
                       AS source_rank
            FROM (
                SELECT s.source_name, min(p.pos) AS pref
                FROM (SELECT DISTINCT source_name FROM {table} WHERE {where}) AS s
                LEFT JOIN unnest($prefer::VARCHAR[]) WITH ORDINALITY AS p(pattern, pos)
                    ON contains(lower(coalesce(s.source_name, '')), lower(p.pattern))
                GROUP BY s.source_name
            )
        )"""


def islands_sql(name: str, source: str, partition: str = "", gap: str = "INTERVAL 0 SECOND") -> str:
    """CTEs numbering the rows of `source` (with `start_at`, `end_at`) by `island`.

    Gaps and islands: rows are taken in start order, and one starting more
    than `gap` after every earlier row of its `partition` has ended begins the
    next island. With no gap an island is a run of overlapping intervals, so
    `max(end_at) - min(start_at)` per island measures their union.

    Example:
        >>> con = duckdb.connect()
        >>> rows = "VALUES (1, 3), (2, 5), (7, 8)"
        >>> _ = con.execute(f"CREATE TABLE t AS FROM ({rows}) v(start_at, end_at)")
        >>> sql = f"WITH {islands_sql('runs', 't', gap='0')} SELECT island FROM runs ORDER BY 1"
        >>> query(con, sql)["island"].to_list()
        [1, 1, 2]
    """
    over = (f"PARTITION BY {partition} " if partition else "") + "ORDER BY start_at, end_at"
    return f"""
        {name}_reach AS (
            SELECT *, max(end_at) OVER ({over} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                      AS reach
            FROM {source}
        ),
        {name} AS (
            SELECT * EXCLUDE (reach),
                   count(*) FILTER (WHERE reach IS NULL OR start_at > reach + {gap})
                       OVER ({over} ROWS UNBOUNDED PRECEDING) AS island
            FROM {name}_reach
        )"""
