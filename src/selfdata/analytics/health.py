"""Health analytics: daily totals, sleep nights, heart baselines, workouts, body mass, coverage.

Each function reads the canonical tables of docs/schema.md and returns a
polars DataFrame; DuckDB does the work, so years of minute-level samples stay
quick. Every function takes `vault` first (a connection, a path, or None for
the default vault, see `selfdata.analytics.connect`) and optional `start` and
`end` local days, both inclusive.

Days are **local days**: the date of an instant plus the row's
`utc_offset_min` (UTC where it is NULL), as docs/schema.md defines them.

**Several devices, one person.** An iPhone in the pocket and a Watch on the
wrist both count the steps of one walk, and both may log the night's sleep.
`daily()`, `sleep_nights()` and `workouts_summary()` count such overlaps once
by trusting one source where sources overlap. Which one is set by `prefer`: a
list of case-insensitive substrings of `source_name`, earlier is better;
sources matching none come after, and ties go to the alphabetically first
name. The default, `DEFAULT_PREFER`, trusts wrist and finger devices over
phones, because they are worn all day and in bed:

    daily(vault, prefer=["oura", "watch"])   # trust the ring, then the watch

Example:
    >>> from selfdata.analytics import health
    >>> health.daily(None, ["steps"], start="2025-01-01")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Literal

import polars as pl

from selfdata.analytics import (
    LOCAL_DAY,
    DateLike,
    Vault,
    connect,
    islands_sql,
    query,
    source_rank_sql,
)

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_PREFER",
    "body_mass",
    "coverage",
    "daily",
    "hrv",
    "resting_heart_rate",
    "sleep_nights",
    "sleep_regularity",
    "workouts_summary",
]

DEFAULT_METRICS = ("steps", "distance_walking_running", "active_energy", "flights_climbed")
DEFAULT_PREFER = ("watch", "ring", "band", "fitbit", "garmin", "phone")

_MINUTE_US = 60_000_000


def daily(
    vault: Vault,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    start: DateLike = None,
    end: DateLike = None,
    prefer: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Daily totals of cumulative metrics, each minute counted once across devices.

    Each sample is cut at minute boundaries into pieces that share its value
    in proportion to their time (a sample with `start_at = end_at` is one
    piece holding all of it). Within each metric and minute, a piece is
    dropped when a piece of a more preferred source overlaps it in time. So a
    walk counted by both phone and watch counts once, as the watch says, while
    the phone's minutes with the watch off still count. The pieces are summed
    per local day, so a sample spanning midnight is split between the two
    days. Where samples never overlap, a day's value is the plain sum of its
    samples, even when two sources meet within a minute.

    Meant for additive metrics (counts, distances, energy); for rates and
    levels use `resting_heart_rate()`, `hrv()` or `body_mass()`.

    Args:
        vault: connection, vault path, or None for the default vault.
        metrics: metric names from docs/schema.md.
        start: first local day, inclusive.
        end: last local day, inclusive.
        prefer: source preference, see the module docstring; default
            `DEFAULT_PREFER`.

    Returns:
        One row per local day and metric with data: `local_day`, `metric`,
        `value` (canonical unit) and `sources` (the sources that counted).

    Example:
        >>> daily(None, ["steps"], start="2025-03-01", end="2025-03-07")  # doctest: +SKIP
    """
    # Local offsets lie within ±14 h, so samples ending more than a day before
    # `start` (or starting a day after `end`) cannot reach the range.
    sql = f"""
        WITH {source_rank_sql("health_samples", "list_contains($metrics, metric)")},
        samples AS (
            SELECT h.metric, h.source_name, r.source_rank, h.value,
                   coalesce(h.utc_offset_min, 0) AS offset_min,
                   epoch_us(h.start_at) AS start_us,
                   greatest(epoch_us(h.end_at), epoch_us(h.start_at)) AS end_us
            FROM health_samples AS h
            JOIN source_rank AS r ON h.source_name IS NOT DISTINCT FROM r.source_name
            WHERE list_contains($metrics, h.metric) AND h.value IS NOT NULL
              AND ($start IS NULL OR h.end_at AT TIME ZONE 'UTC' >= $start::DATE - 1)
              AND ($end IS NULL OR h.start_at AT TIME ZONE 'UTC' < $end::DATE + 2)
        ),
        minutes AS (
            SELECT *, unnest(range(
                start_us // {_MINUTE_US},
                greatest((end_us + {_MINUTE_US} - 1) // {_MINUTE_US}, start_us // {_MINUTE_US} + 1)
            )) AS minute
            FROM samples
        ),
        pieces AS (
            -- The part of a sample inside one minute, [lo, hi) in microseconds;
            -- an instant sample is one piece with lo = hi holding all its value.
            SELECT metric, source_name, source_rank, minute, offset_min,
                   greatest(start_us, minute * {_MINUTE_US}) AS lo,
                   least(end_us, (minute + 1) * {_MINUTE_US}) AS hi,
                   CASE WHEN end_us = start_us THEN value
                        ELSE value * (least(end_us, (minute + 1) * {_MINUTE_US})
                                      - greatest(start_us, minute * {_MINUTE_US}))
                             / (end_us - start_us)
                   END AS value
            FROM minutes
        ),
        kept AS (
            -- Overlap in time, not just a shared minute, drops a piece: two
            -- sources' back-to-back samples meeting mid-minute both count. An
            -- instant overlaps the pieces strictly around it, or the same instant.
            SELECT metric, source_name, minute + offset_min AS local_minute, value
            FROM pieces AS p
            WHERE NOT EXISTS (
                SELECT 1 FROM pieces AS b
                WHERE b.metric = p.metric AND b.minute = p.minute
                  AND b.source_rank < p.source_rank
                  AND ((b.lo < p.hi AND p.lo < b.hi) OR (b.lo = p.lo AND b.hi = p.hi))
            )
        ),
        days AS (
            SELECT DATE '1970-01-01' + CAST(local_minute // 1440 AS INTEGER) AS local_day,
                   metric, value, source_name
            FROM kept
        )
        SELECT local_day, metric, sum(value) AS value,
               list(DISTINCT source_name ORDER BY source_name) AS sources
        FROM days
        WHERE ($start IS NULL OR local_day >= $start::DATE)
          AND ($end IS NULL OR local_day <= $end::DATE)
        GROUP BY local_day, metric
        ORDER BY local_day, metric
    """
    # A lone name is one metric, not a sequence of one-letter metrics.
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    with connect(vault) as con:
        return query(con, sql, metrics=names, start=start, end=end, prefer=_prefer(prefer))


def sleep_nights(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    prefer: Sequence[str] | None = None,
    gap_hours: float = 3.0,
) -> pl.DataFrame:
    """One row per night: bedtime, wake time, minutes in bed, asleep and per stage.

    Segments from all sources are sorted by start; a segment starting more than
    `gap_hours` after every earlier segment has ended starts a new sleep
    session. A session's night is the local day it ends on. Within a session
    the stages come from one source, the most preferred one that recorded any
    asleep/core/deep/rem segment, and the in-bed span from the most preferred
    source with `in_bed` segments (often the phone). `asleep_min` is the union
    of that source's asleep/core/deep/rem time, so overlapping segments count
    once. The in-bed span runs from the first to the last in_bed segment (or
    the stage source's first to last segment when there are none), stretched to
    cover any asleep time outside it so `efficiency` (asleep / in bed) never
    exceeds 1. When several sessions end on one local day, the longest asleep
    is the night and the others (naps) are left out.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first night (local day of waking), inclusive.
        end: last night, inclusive.
        prefer: source preference, see the module docstring.
        gap_hours: hours without any segment that separate two sessions.

    Returns:
        `night`, `bedtime` and `wake_time` (local wall-clock times), `in_bed_min`,
        `asleep_min`, `awake_min`, `core_min`, `deep_min`, `rem_min`,
        `efficiency` and `sources`. Stage minutes are NULL when no source
        recorded sleep that night (in-bed data only).

    Example:
        >>> sleep_nights(None, start="2025-03-01")  # doctest: +SKIP
    """
    with connect(vault) as con:
        return query(
            con,
            _nights_sql() + " ORDER BY night",
            night_from=start,
            night_to=end,
            prefer=_prefer(prefer),
            gap_s=gap_hours * 3600,
        )


def sleep_regularity(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    prefer: Sequence[str] | None = None,
    gap_hours: float = 3.0,
) -> pl.DataFrame:
    """How much bedtime and wake time vary: standard deviations over 7 and 28 nights.

    Times are minutes from the midnight that starts the night's day (a 23:30
    bedtime is -30, a 07:15 wake is 435), so going to bed either side of
    midnight does not break the arithmetic. Each night's figures cover the
    nights of the 7 (or 28) calendar days ending on it, including nights before
    `start`; a standard deviation needs at least two nights, else it is NULL.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first night, inclusive.
        end: last night, inclusive.
        prefer: source preference, as for `sleep_nights()`.
        gap_hours: as for `sleep_nights()`.

    Returns:
        `night`, `bedtime_min`, `wake_min`, `bedtime_sd_7`, `wake_sd_7`,
        `bedtime_sd_28`, `wake_sd_28` (minutes).

    Example:
        >>> sleep_regularity(None, start="2025-03-01")  # doctest: +SKIP
    """
    sql = f"""
        WITH nights AS ({_nights_sql()}),
        clock AS (
            SELECT night,
                   date_diff('second', CAST(night AS TIMESTAMP), bedtime) / 60.0 AS bedtime_min,
                   date_diff('second', CAST(night AS TIMESTAMP), wake_time) / 60.0 AS wake_min
            FROM nights
        )
        SELECT * FROM (
            SELECT night, bedtime_min, wake_min,
                   stddev_samp(bedtime_min) OVER w7 AS bedtime_sd_7,
                   stddev_samp(wake_min) OVER w7 AS wake_sd_7,
                   stddev_samp(bedtime_min) OVER w28 AS bedtime_sd_28,
                   stddev_samp(wake_min) OVER w28 AS wake_sd_28
            FROM clock
            WINDOW w7 AS (ORDER BY night RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
                   w28 AS (ORDER BY night RANGE BETWEEN INTERVAL 27 DAYS PRECEDING AND CURRENT ROW)
        )
        WHERE $start IS NULL OR night >= $start::DATE
        ORDER BY night
    """
    with connect(vault) as con:
        lookback = None if start is None else _shift(start, -27)
        return query(
            con,
            sql,
            night_from=lookback,
            night_to=end,
            start=start,
            prefer=_prefer(prefer),
            gap_s=gap_hours * 3600,
        )


def resting_heart_rate(
    vault: Vault, *, window: int = 28, start: DateLike = None, end: DateLike = None
) -> pl.DataFrame:
    """Daily resting heart rate against its own recent baseline.

    `value` is the mean of the day's `resting_heart_rate` samples (all
    sources). `baseline` is the median of the daily values over the `window`
    days before (not including) the day, so one feverish day neither moves the
    baseline much nor hides in it; it is NULL until the window holds three days
    of data. `deviation` is value - baseline: a sustained rise of a few beats
    often precedes illness or follows hard training.

    Args:
        vault: connection, vault path, or None for the default vault.
        window: days of history in the baseline.
        start: first local day, inclusive (the baseline still looks back).
        end: last local day, inclusive.

    Returns:
        `local_day`, `value` (count/min), `baseline`, `deviation`.

    Example:
        >>> resting_heart_rate(None, window=28)  # doctest: +SKIP
    """
    return _against_baseline(vault, "resting_heart_rate", window, start, end)


def hrv(
    vault: Vault, *, window: int = 28, start: DateLike = None, end: DateLike = None
) -> pl.DataFrame:
    """Daily heart-rate variability (SDNN, ms) against its own recent baseline.

    Computed exactly as `resting_heart_rate()`, from `hrv_sdnn` samples; here a
    drop below the baseline is the usual sign of strain.

    Example:
        >>> hrv(None, window=28)  # doctest: +SKIP
    """
    return _against_baseline(vault, "hrv_sdnn", window, start, end)


def workouts_summary(
    vault: Vault,
    *,
    by: Literal["week", "month"] = "week",
    start: DateLike = None,
    end: DateLike = None,
    prefer: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Workouts per week (starting Monday) or month and sport.

    A workout is counted on the local day it starts. The same run recorded by
    a watch and by an app (Strava, GPX) is counted once: a workout is dropped
    when a more preferred source has one of the same sport overlapping it.
    `duration_h` uses `duration_s`, else end - start.

    Args:
        vault: connection, vault path, or None for the default vault.
        by: `"week"` or `"month"`.
        start: first local day, inclusive.
        end: last local day, inclusive.
        prefer: source preference, see the module docstring.

    Returns:
        `period` (first day of the week or month), `sport`, `workouts`,
        `duration_h`, `distance_km`, `energy_kcal` (NULL where no workout gave one).

    Example:
        >>> workouts_summary(None, by="month")  # doctest: +SKIP
    """
    if by not in ("week", "month"):
        raise ValueError(f"by must be 'week' or 'month', not {by!r}")
    sql = f"""
        WITH {source_rank_sql("workouts")},
        timed AS (
            SELECT w.*, r.source_rank, {LOCAL_DAY} AS local_day,
                   coalesce(w.end_at, w.start_at + to_microseconds(
                       CAST(coalesce(w.duration_s, 0) * 1e6 AS BIGINT))) AS stop_at
            FROM workouts AS w
            JOIN source_rank AS r ON w.source_name IS NOT DISTINCT FROM r.source_name
        ),
        kept AS (
            SELECT * FROM timed AS w
            WHERE NOT EXISTS (
                SELECT 1 FROM timed AS o
                WHERE o.sport = w.sport AND o.source_rank < w.source_rank
                  AND o.start_at < w.stop_at AND w.start_at < o.stop_at
            )
            AND ($start IS NULL OR local_day >= $start::DATE)
            AND ($end IS NULL OR local_day <= $end::DATE)
        )
        SELECT CAST(date_trunc($by, local_day) AS DATE) AS period, sport,
               count(*) AS workouts,
               sum(coalesce(duration_s, epoch(stop_at) - epoch(start_at))) / 3600 AS duration_h,
               sum(distance_m) / 1000 AS distance_km,
               sum(energy_kcal) AS energy_kcal
        FROM kept
        GROUP BY period, sport
        ORDER BY period, sport
    """
    with connect(vault) as con:
        return query(con, sql, by=by, start=start, end=end, prefer=_prefer(prefer))


def body_mass(
    vault: Vault, *, window: int = 7, start: DateLike = None, end: DateLike = None
) -> pl.DataFrame:
    """Daily body mass and its trend.

    `kg` is the mean of the day's `body_mass` samples; `trend` is the mean of
    the daily values over the `window` days ending on the day (days without a
    weighing are skipped, not zero), which smooths out water and meal swings.

    Args:
        vault: connection, vault path, or None for the default vault.
        window: days in the trend, including the day itself.
        start: first local day, inclusive (the trend still looks back).
        end: last local day, inclusive.

    Returns:
        `local_day`, `kg`, `trend`.

    Example:
        >>> body_mass(None, window=7)  # doctest: +SKIP
    """
    window = _positive(window)
    sql = f"""
        WITH days AS ({_daily_mean_sql()})
        SELECT * FROM (
            SELECT local_day, value AS kg,
                   avg(value) OVER (ORDER BY local_day RANGE BETWEEN INTERVAL {window - 1} DAYS
                                    PRECEDING AND CURRENT ROW) AS trend
            FROM days
        )
        WHERE $start IS NULL OR local_day >= $start::DATE
        ORDER BY local_day
    """
    with connect(vault) as con:
        lookback = None if start is None else _shift(start, -(window - 1))
        return query(con, sql, metric="body_mass", day_from=lookback, end=end, start=start)


def coverage(vault: Vault, *, start: DateLike = None, end: DateLike = None) -> pl.DataFrame:
    """Which days each source recorded something, and where the holes are.

    Counted per metric and source for `health_samples`, per source for
    `sleep_segments` and `workouts` (their `metric` is NULL), on the local day
    each row starts. `days_missing` counts the days between `first_day` and
    `last_day` without data; `longest_gap_days` is the longest run of them.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first local day, inclusive.
        end: last local day, inclusive.

    Returns:
        `table`, `metric`, `source`, `first_day`, `last_day`,
        `days_with_data`, `days_missing`, `longest_gap_days`.

    Example:
        >>> coverage(None).filter(pl.col("longest_gap_days") > 7)  # doctest: +SKIP
    """
    sql = f"""
        WITH days AS (
            SELECT DISTINCT 'health_samples' AS "table", metric, source_name AS source,
                   {LOCAL_DAY} AS day
            FROM health_samples
            UNION ALL
            SELECT DISTINCT 'sleep_segments', NULL, source_name, {LOCAL_DAY} FROM sleep_segments
            UNION ALL
            SELECT DISTINCT 'workouts', NULL, source_name, {LOCAL_DAY} FROM workouts
        ),
        gaps AS (
            SELECT *, day - lag(day) OVER (PARTITION BY "table", metric, source ORDER BY day) - 1
                      AS gap
            FROM days
            WHERE ($start IS NULL OR day >= $start::DATE) AND ($end IS NULL OR day <= $end::DATE)
        )
        SELECT "table", metric, source, min(day) AS first_day, max(day) AS last_day,
               count(*) AS days_with_data,
               max(day) - min(day) + 1 - count(*) AS days_missing,
               coalesce(max(gap), 0) AS longest_gap_days
        FROM gaps
        GROUP BY "table", metric, source
        ORDER BY "table", metric NULLS FIRST, source NULLS FIRST
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end)


def _nights_sql() -> str:
    """The query behind `sleep_nights()`, also the first step of `sleep_regularity()`.

    Parameters: $night_from, $night_to (night bounds), $prefer, $gap_s.
    """
    sleeping = "('asleep', 'core', 'deep', 'rem')"
    return f"""
        WITH {source_rank_sql("sleep_segments")},
        segments AS (
            SELECT s.start_at, greatest(s.end_at, s.start_at) AS end_at, s.stage,
                   s.source_name, r.source_rank,
                   s.start_at AT TIME ZONE 'UTC' + to_minutes(coalesce(s.utc_offset_min, 0))
                       AS start_local,
                   s.end_at AT TIME ZONE 'UTC' + to_minutes(coalesce(s.utc_offset_min, 0))
                       AS end_local
            FROM sleep_segments AS s
            JOIN source_rank AS r ON s.source_name IS NOT DISTINCT FROM r.source_name
            -- A margin of two days keeps whole every session ending in range.
            WHERE ($night_from IS NULL OR s.end_at AT TIME ZONE 'UTC' >= $night_from::DATE - 2)
              AND ($night_to IS NULL OR s.start_at AT TIME ZONE 'UTC' < $night_to::DATE + 2)
        ),
        {islands_sql("sessions", "segments", gap="to_seconds($gap_s)")},
        picks AS (
            SELECT island AS session,
                   min(source_rank) FILTER (WHERE stage IN {sleeping}) AS sleep_rank,
                   min(source_rank) FILTER (WHERE stage = 'in_bed') AS bed_rank
            FROM sessions GROUP BY island
        ),
        used AS (
            SELECT s.*, p.sleep_rank, p.bed_rank, s.island AS session
            FROM sessions AS s JOIN picks AS p ON s.island = p.session
            WHERE (s.stage = 'in_bed' AND s.source_rank = p.bed_rank)
               OR (s.stage <> 'in_bed' AND s.source_rank = p.sleep_rank)
        ),
        kinds AS (
            SELECT session, stage AS kind, start_at, end_at FROM used WHERE stage <> 'in_bed'
            UNION ALL
            SELECT session, 'sleep', start_at, end_at FROM used WHERE stage IN {sleeping}
        ),
        {islands_sql("stretches", "kinds", "session, kind")},
        stage_minutes AS (
            -- No row for a session without a stage source: its minutes stay NULL.
            SELECT session,
                   coalesce(sum(minutes) FILTER (WHERE kind = 'sleep'), 0) AS asleep_min,
                   coalesce(sum(minutes) FILTER (WHERE kind = 'awake'), 0) AS awake_min,
                   coalesce(sum(minutes) FILTER (WHERE kind = 'core'), 0) AS core_min,
                   coalesce(sum(minutes) FILTER (WHERE kind = 'deep'), 0) AS deep_min,
                   coalesce(sum(minutes) FILTER (WHERE kind = 'rem'), 0) AS rem_min
            FROM (
                SELECT session, kind,
                       (epoch_us(max(end_at)) - epoch_us(min(start_at))) / 6e7 AS minutes
                FROM stretches GROUP BY session, kind, island
            )
            GROUP BY session
        ),
        spans AS (
            -- The in-bed span: in_bed segments plus asleep time, or with no
            -- in_bed segments every segment of the stage source.
            SELECT session, min(start_at) AS bed_at, max(end_at) AS up_at,
                   arg_min(start_local, start_at) AS bedtime,
                   arg_max(end_local, end_at) AS wake_time,
                   list(DISTINCT source_name ORDER BY source_name) AS sources
            FROM used
            WHERE stage = 'in_bed' OR stage IN {sleeping} OR bed_rank IS NULL
            GROUP BY session
        ),
        nights AS (
            SELECT CAST(p.wake_time AS DATE) AS night, p.bedtime, p.wake_time,
                   (epoch_us(p.up_at) - epoch_us(p.bed_at)) / 6e7 AS in_bed_min,
                   m.* EXCLUDE (session), p.sources
            FROM spans AS p LEFT JOIN stage_minutes AS m USING (session)
        )
        SELECT night, bedtime, wake_time, in_bed_min, asleep_min, awake_min,
               core_min, deep_min, rem_min,
               CASE WHEN in_bed_min > 0 THEN asleep_min / in_bed_min END AS efficiency,
               sources
        FROM nights
        WHERE ($night_from IS NULL OR night >= $night_from::DATE)
          AND ($night_to IS NULL OR night <= $night_to::DATE)
        -- The night is the day's longest session, by time in bed or asleep, so a
        -- watch nap does not displace a night only the phone saw (in bed, no stages).
        QUALIFY row_number() OVER (
            PARTITION BY night
            ORDER BY greatest(coalesce(in_bed_min, 0), coalesce(asleep_min, 0)) DESC,
                     coalesce(asleep_min, 0) DESC) = 1
    """


def _against_baseline(
    vault: Vault, metric: str, window: int, start: DateLike, end: DateLike
) -> pl.DataFrame:
    window = _positive(window)
    sql = f"""
        WITH days AS ({_daily_mean_sql()}),
        based AS (
            SELECT local_day, value,
                   CASE WHEN count(value) OVER w >= 3 THEN median(value) OVER w END AS baseline
            FROM days
            WINDOW w AS (ORDER BY local_day RANGE BETWEEN INTERVAL {window} DAYS PRECEDING
                         AND INTERVAL 1 DAYS PRECEDING)
        )
        SELECT local_day, value, baseline, value - baseline AS deviation
        FROM based
        WHERE ($start IS NULL OR local_day >= $start::DATE)
        ORDER BY local_day
    """
    with connect(vault) as con:
        lookback = None if start is None else _shift(start, -window)
        return query(con, sql, metric=metric, day_from=lookback, end=end, start=start)


def _daily_mean_sql() -> str:
    """Mean value per local day of $metric, between $day_from and $end."""
    return f"""
        SELECT local_day, avg(value) AS value
        FROM (SELECT {LOCAL_DAY} AS local_day, value FROM health_samples
              WHERE metric = $metric AND value IS NOT NULL)
        WHERE ($day_from IS NULL OR local_day >= $day_from::DATE)
          AND ($end IS NULL OR local_day <= $end::DATE)
        GROUP BY local_day
    """


def _prefer(prefer: Sequence[str] | None) -> list[str]:
    return list(DEFAULT_PREFER if prefer is None else prefer)


def _positive(window: int) -> int:
    # The window is written into the SQL (DuckDB frames need a constant), so
    # it must be a real integer.
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window must be a whole number of days >= 1, not {window!r}")
    return window


def _shift(day: date | str, days: int) -> date:
    """`day` (a date or ISO text) moved by `days`: where a rolling window starts looking."""
    if isinstance(day, datetime):
        day = day.date()
    elif isinstance(day, str):
        day = date.fromisoformat(day)
    return day + timedelta(days=days)
