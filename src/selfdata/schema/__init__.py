"""The canonical schema: forward-only SQL migrations and what each table is keyed on.

Migrations are the files `NNNN_name.sql` beside this module, applied in order
and recorded in the vault's `schema_migrations` table. They never change once
released: a new schema version is a new file. docs/schema.md documents every
column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import duckdb

__all__ = [
    "CANONICAL_TABLES",
    "DOMAINS",
    "NATURAL_KEYS",
    "SCHEMA_VERSION",
    "Migration",
    "canonical_columns",
    "migrations",
]


@dataclass(frozen=True)
class Migration:
    """One forward-only step of the schema."""

    version: int
    name: str
    sql: str


_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[Migration]:
    """Every migration shipped with this selfdata, oldest first.

    Example:
        >>> migrations()[0].name
        'initial'
    """
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


SCHEMA_VERSION = migrations()[-1].version

# The columns that say "this is the same fact" for each table the ingest engine
# fills. Re-importing a file, or an export that overlaps an older one, adds only
# rows whose key is new; rows sharing a key inside one file are legitimate
# repeats (two identical coffees on one day) and are counted, not collapsed.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "health_samples": ("metric", "start_at", "end_at", "value", "source_name"),
    "sleep_segments": ("start_at", "end_at", "stage", "source_name"),
    "workouts": ("workout_id",),
    "location_points": ("recorded_at", "lat", "lon", "source", "workout_id"),
    "visits": ("start_at", "end_at", "lat", "lon", "place_id", "derived"),
    "trips": ("start_at", "end_at", "mode", "start_lat", "start_lon", "derived"),
    "accounts": ("account_id",),
    "transactions": (
        "account_id",
        "booked_date",
        "amount",
        "currency",
        "description",
        "bank_ref",
    ),
    "energy_readings": ("meter_id", "commodity", "start_at", "duration_s"),
}

CANONICAL_TABLES: tuple[str, ...] = tuple(NATURAL_KEYS)

# Which tables make up each domain, and the column that places a row in time;
# `selfdata vault info` shows the date range per domain from these.
DOMAINS: dict[str, dict[str, str]] = {
    "health": {"health_samples": "start_at", "sleep_segments": "start_at", "workouts": "start_at"},
    "mobility": {"location_points": "recorded_at", "visits": "start_at", "trips": "start_at"},
    "money": {"transactions": "booked_date"},
    "energy": {"energy_readings": "start_at"},
}


@cache
def canonical_columns() -> dict[str, dict[str, str]]:
    """Each canonical table's columns and their SQL types (import_id left out),
    from the migrations themselves."""
    with duckdb.connect() as con:
        for migration in migrations():
            con.execute(migration.sql)
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE column_name <> 'import_id' ORDER BY table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        columns.setdefault(table, {})[column] = kind
    return columns
