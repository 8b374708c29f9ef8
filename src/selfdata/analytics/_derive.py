"""`derive()`: recompute derived visits and trips from raw points, in one transaction.

Derived rows are owned by one `imports` row with importer `derive`. Each run
deletes every derived visit and trip and the previous `derive` row, then
inserts the new ones, so running it twice leaves the same rows (under a new
import id). Imported visits and trips (`derived = false`) are never touched.
The `file_sha256` of the `derive` row is a digest of the inputs (every timed
point, the imported visits that places are built from) and of the settings,
so two runs over the same data with the same settings share a digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from selfdata.analytics._stay_points import MobilitySettings, build_tables
from selfdata.errors import ConfigError
from selfdata.vault import first_row, open_vault, resolve_vault_path

__all__ = ["DERIVE_VERSION", "DeriveResult", "load_mobility_settings", "run_derive"]

DERIVE_VERSION = "1"
"""Bumped whenever the algorithm changes what it derives from the same points."""

FILE_NAME = "(derived from location_points)"

# DuckDB's share while loading and sorting the points and summing up trips:
# beyond it, it spills to disk. Its default (80 % of the machine) made it the
# largest part of derive's peak: 5 million points peaked at 2.13 GB, about
# 1.55 GB with this limit, and 687,501 at 566 to 589 MB, 470 to 475 MB, for
# about 10 % more time. Should a query still run out, derive runs again with
# DuckDB's default.
_DUCKDB_MEMORY = 64 << 20

PlaceLabeller = Callable[[duckdb.DuckDBPyConnection, MobilitySettings], pl.DataFrame]


@dataclass(frozen=True)
class DeriveResult:
    """What one `derive()` did."""

    import_id: int
    points: int
    visits: int
    trips: int
    places: int
    digest: str
    seconds: float


def load_mobility_settings(vault_path: Path) -> MobilitySettings:
    """`[mobility]` of `selfdata.toml` beside the vault, over the defaults.

    Example:
        >>> load_mobility_settings(Path("/nonexistent/selfdata.duckdb")).radius_m
        100.0
    """
    path = vault_path.parent / "selfdata.toml"
    if not path.exists():
        return MobilitySettings()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("mobility", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(path, f"cannot be read: {error}") from error
    if not isinstance(table, dict):
        raise ConfigError(path, "[mobility] must be a table")
    known = {f.name: f for f in dataclasses.fields(MobilitySettings)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(path, f"[mobility] has no setting {key!r}; known: {', '.join(known)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(path, f"[mobility] {key} must be a number >= 0, not {value!r}")
        values[key] = int(value) if key == "min_city_population" else float(value)
    return MobilitySettings(**values)


def run_derive(
    vault_path: str | Path | None,
    settings: MobilitySettings | None,
    label_places: PlaceLabeller,
) -> DeriveResult:
    """Delete derived visits and trips, recompute them, insert them, in one transaction.

    `label_places(con, settings)` returns `start_at`, `place_id` and
    `semantic_type` (`home`, `work` or NULL) of the derived visits once they
    are in the table (places are built from every visit analyses use,
    imported ones included).
    """
    path = resolve_vault_path(vault_path)
    settings = settings or load_mobility_settings(path)
    started = time.time()
    try:
        return _derive_once(path, settings, label_places, started, _DUCKDB_MEMORY)
    except duckdb.OutOfMemoryException:
        return _derive_once(path, settings, label_places, started, None)


def _derive_once(
    path: Path,
    settings: MobilitySettings,
    label_places: PlaceLabeller,
    started: float,
    memory: int | None,
) -> DeriveResult:
    with open_vault(path, read_only=False) as con:
        con.execute("SET preserve_insertion_order = false")
        if memory is not None:
            con.execute(f"SET memory_limit = '{memory >> 20}MiB'")
        con.execute("BEGIN TRANSACTION")
        try:
            points, digest = _fingerprint(con, settings)
            build_tables(con, settings)
            import_id = _replace_rows(con)
            visits, trips = _insert(con, import_id)
            places = _assign_places(con, label_places(con, settings))
            _record(con, import_id, digest, started, settings, points, visits, trips, places)
            con.execute("DROP TABLE _sp_visits; DROP TABLE _sp_trips")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return DeriveResult(import_id, points, visits, trips, places, digest, time.time() - started)


def _fingerprint(con: duckdb.DuckDBPyConnection, settings: MobilitySettings) -> tuple[int, str]:
    """How many timed points there are, and a digest of everything derive reads."""
    row = first_row(
        con,
        """
        SELECT count(*), coalesce(sum(hash(recorded_at, lat, lon, accuracy_m, speed_mps,
                                           utc_offset_min, source, extra->>'$.activity')
                                      ::HUGEINT), 0)::VARCHAR
        FROM location_points WHERE recorded_at IS NOT NULL
        """,
    )
    imported = first_row(
        con,
        """
        SELECT count(*), coalesce(sum(hash(start_at, end_at, utc_offset_min, lat, lon)
                                      ::HUGEINT), 0)::VARCHAR
        FROM visits WHERE NOT derived
        """,
    )
    assert row is not None and imported is not None
    recipe = json.dumps(
        {
            "version": DERIVE_VERSION,
            "points": list(row),
            "imported_visits": list(imported),
            "settings": dataclasses.asdict(settings),
        },
        sort_keys=True,
    )
    return int(row[0]), hashlib.sha256(recipe.encode()).hexdigest()


def _replace_rows(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("DELETE FROM visits WHERE derived")
    con.execute("DELETE FROM trips WHERE derived")
    con.execute("DELETE FROM imports WHERE importer = 'derive'")
    row = first_row(con, "SELECT nextval('import_id_seq')")
    assert row is not None
    return int(row[0])


def _insert(con: duckdb.DuckDBPyConnection, import_id: int) -> tuple[int, int]:
    con.execute(
        """
        INSERT INTO visits BY NAME
        SELECT $id AS import_id, start_at, end_at, utc_offset_min, lat, lon,
               true AS derived, json_object('points', points) AS extra
        FROM _sp_visits
        """,
        {"id": import_id},
    )
    con.execute(
        """
        INSERT INTO trips BY NAME
        SELECT $id AS import_id, start_at, end_at, utc_offset_min, start_lat, start_lon,
               end_lat, end_lon, distance_m, mode, true AS derived,
               json_object('speed_mode', by_speed, 'activity', activity, 'points', edges + 1,
                           'median_speed_mps', round(p50, 3), 'p95_speed_mps', round(p95, 3),
                           'max_speed_mps', round(vmax, 3),
                           'straightness', round(straightness, 4)) AS extra
        FROM _sp_trips
        """,
        {"id": import_id},
    )
    counts = first_row(con, "SELECT (SELECT count(*) FROM _sp_visits), count(*) FROM _sp_trips")
    assert counts is not None
    return int(counts[0]), int(counts[1])


def _assign_places(con: duckdb.DuckDBPyConnection, labels: pl.DataFrame) -> int:
    """Write each derived visit's place id and home/work label; the number of places."""
    con.register("_place_labels", labels)
    con.execute(
        """
        UPDATE visits SET place_id = l.place_id, semantic_type = l.semantic_type
        FROM _place_labels AS l
        WHERE visits.derived AND visits.start_at = l.start_at
        """
    )
    con.unregister("_place_labels")
    row = first_row(con, "SELECT count(DISTINCT place_id) FROM visits WHERE derived")
    return int(row[0]) if row else 0


def _record(
    con: duckdb.DuckDBPyConnection,
    import_id: int,
    digest: str,
    started: float,
    settings: MobilitySettings,
    points: int,
    visits: int,
    trips: int,
    places: int,
) -> None:
    con.execute(
        """
        INSERT INTO imports VALUES (
            ?, 'derive', ?, ?, ?, 0, to_timestamp(?), now(), 'ok',
            ?::JSON, '{}'::JSON, '{}'::JSON, ?::JSON)
        """,
        [
            import_id,
            DERIVE_VERSION,
            FILE_NAME,
            digest,
            started,
            json.dumps({"trips": trips, "visits": visits}, sort_keys=True),
            json.dumps(
                {"points": points, "places": places, "settings": dataclasses.asdict(settings)},
                sort_keys=True,
            ),
        ],
    )
