"""Home energy analytics: daily and monthly use, the shape of a day, baseload, price.

Reads `energy_readings` (docs/schema.md): one row per meter reading, the
`quantity` used in the `duration_s` seconds from `start_at`, with `cost` and
`currency` where the feed carries them. Feeds such as Green Button
(https://www.greenbuttonalliance.org/) come as 15-minute, hourly, daily or
monthly billing intervals. Every function takes `vault` first (a connection,
a path, or None for the default vault, see `selfdata.analytics.connect`),
optional `start` and `end` local days (inclusive), a `commodity`
(`electricity`, `gas`...) and a `meter` (one `meter_id`), and returns a
polars DataFrame.

**Per commodity and unit.** Every result row belongs to one `commodity` and
one `unit`: kWh are never added to therms or m3. Meters of one commodity and
unit are added together (pass `meter=` to see one).

**What counts as use.** Left out: readings without a `quantity` or with
`duration_s <= 0`; series whose `meter_id` carries a `#` qualifier, which the
Green Button importer gives to everything that is not energy delivered to the
home (`#reverse` for energy sent to the grid, `#net`, `#cost`, `#kW`...), so
solar export is never added to consumption (pass such a series as `meter=` to
analyse it alone); and readings whose `extra` names an ESPI `accumulation`
other than `delta_data` (register totals, instantaneous values), which are not
use per interval.

**Only readings short enough for the question.** A monthly bill says nothing
about evenings, so each analysis uses readings up to a length, and every
result carries `intervals_s`, the reading lengths (seconds) behind the row:

| function | readings used |
|---|---|
| `daily()`, `weekday_weekend()` | up to 25 h (the autumn clock change makes a 25-hour day) |
| `hourly_profile()`, `baseload()` | up to 1 h |
| `monthly()`, `cost_per_unit()` | all, billing intervals included |

**Local time, prorated.** A reading is placed on the local clock by its
`utc_offset_min` (UTC where NULL), as `selfdata.analytics.LOCAL_DAY` does, and
cut at local midnights (at local hours for the hourly analyses). Each piece
gets the reading's quantity and cost in proportion to its share of the
reading's time, so a reading is never counted whole on the day it starts: a
bill from 15 January to 14 February (30 days) gives January 17/30 of its gas
and February 13/30. A reading longer than an hour may contain a clock change:
its end is placed by the offset of the reading that starts where it ends
(same meter), and it is spread evenly over that local span, so a 23-hour
reading on the spring-forward day fills exactly that day. Hourly and shorter
readings keep their own offset: on the autumn day two readings both start at
02:00 local time, and both count.

**Overlapping feeds.** One meter may be in the vault twice over, as hourly
data and as monthly bills. Where readings of one meter (and commodity and
unit) overlap within a local day (hour, for hourly analyses), the shorter
readings win and the longer reading's piece for that day is dropped; days
that only the bill covers keep the bill's share.

**Coverage.** `coverage_h` is the real time covered by readings of any meter,
in hours (a union: two meters read at once count once, and a meter replaced
mid-month by another still covers the month); a day (month) is `partial` when
that falls short of its length: 24 hours, or 23 or 25 on clock-change days,
as the offsets of its first and last readings say.

**Cost.** Costs are summed from the readings that carry them, prorated like
the quantities, and given as DECIMAL(18, 5). A sum across currencies means
nothing, so `cost` and `currency` are NULL on a row whose costs come in more
than one; `cost_per_unit()` keeps currencies apart.

Example:
    >>> from selfdata.analytics import energy
    >>> energy.daily(None, commodity="electricity", start="2025-01-01")  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from selfdata.analytics import DateLike, Vault, connect, islands_sql, query

__all__ = [
    "HOURS_PER_YEAR",
    "baseload",
    "cost_per_unit",
    "daily",
    "hourly_profile",
    "monthly",
    "weekday_weekend",
]

HOURS_PER_YEAR = 8760
"""Hours in the year `baseload()` scales to (365 days): 100 W always on is 876 kWh a year."""

_MINUTE_US = 60_000_000
_HOUR_US = 3_600_000_000
_DAY_US = 86_400_000_000
_HOURLY_MAX_S = 3600
_DAILY_MAX_S = 25 * 3600
# Prorating a long reading across a clock change is an estimate; a month an
# hour or less short of its length is not called partial.
_MONTH_SLACK_H = 1.0
_DAY_SLACK_H = 1e-6
_WATTS_PER_UNIT_PER_HOUR = (
    "CASE lower(unit) WHEN 'wh' THEN 1 WHEN 'kwh' THEN 1e3 WHEN 'mwh' THEN 1e6 END"
)


def daily(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
) -> pl.DataFrame:
    """Use per local day, prorated from readings of up to 25 hours.

    Readings are cut at local midnight and shared between the days they
    touch (module docstring); monthly bills are left out, see `monthly()`.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first local day, inclusive.
        end: last local day, inclusive.
        commodity: only this commodity, e.g. `"electricity"`.
        meter: only this `meter_id`.

    Returns:
        One row per local day, commodity and unit with data: `local_day`,
        `commodity`, `unit`, `quantity`, `cost` (NULL without cost, or with
        several currencies), `currency`, `coverage_h` (hours of the day
        covered by readings), `partial` (coverage short of the day's 23, 24
        or 25 hours) and `intervals_s` (reading lengths used, seconds).

    Example:
        >>> daily(None, commodity="electricity", start="2025-03-01")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_days_sql()}
        SELECT local_day, commodity, unit, quantity, cost, currency, coverage_h, partial,
               intervals_s
        FROM days
        ORDER BY commodity, unit, local_day
    """
    with connect(vault) as con:
        return query(con, sql, commodity=commodity, meter=meter, day_from=start, day_to=end)


def hourly_profile(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
) -> pl.DataFrame:
    """Average use in each local hour of the day, weekdays and weekends apart.

    Only readings of one hour or less are used. An hour's average is the use
    recorded in that local hour over the time recorded (so a missing
    15-minute reading does not pull it down); on the autumn clock change the
    repeated hour counts both its halves. Weekend means Saturday and Sunday.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first local day, inclusive.
        end: last local day, inclusive.
        commodity: only this commodity.
        meter: only this `meter_id`.

    Returns:
        `commodity`, `unit`, `day_type` (`weekday` or `weekend`), `hour`
        (0-23, local), `per_hour` (average use in that hour, in `unit`),
        `days` (days with readings in that hour) and `intervals_s`.

    Example:
        >>> hourly_profile(None, commodity="electricity")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_pieces_sql(_HOUR_US, _HOURLY_MAX_S)},
        meter_hours AS (
            SELECT meter_id, commodity, unit, {_day_type("local_day")} AS day_type, hour,
                   sum(quantity) * 3600 / sum(covered_s) AS per_hour,
                   count(DISTINCT local_day) AS days,
                   list(DISTINCT duration_s) AS intervals_s
            FROM kept
            GROUP BY ALL
        )
        SELECT commodity, unit, day_type, hour, sum(per_hour) AS per_hour, max(days) AS days,
               {_merged("intervals_s")} AS intervals_s
        FROM meter_hours
        GROUP BY ALL
        ORDER BY commodity, unit, day_type, hour
    """
    with connect(vault) as con:
        return query(con, sql, commodity=commodity, meter=meter, day_from=start, day_to=end)


def baseload(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
    quantile: float = 0.1,
    min_hours: int = 20,
) -> pl.DataFrame:
    """Always-on use per day: a low quantile of the day's hourly rates.

    Method: readings of one hour or less are summed per local hour; an hour
    counts when every meter recorded all of it. The day's baseload is the
    `quantile` of its hourly rates (`quantile_cont`, interpolating; 0 is the
    quietest hour), which ignores an odd hour with everything off better
    than the minimum does. Days with fewer than `min_hours` complete hours
    are left out, since a few evening hours say nothing about the night.
    The rate is also given as average power in W (for units Wh, kWh and
    MWh) and as use per year of `HOURS_PER_YEAR` hours: the fridge, router
    and standby load of a whole year.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first local day, inclusive.
        end: last local day, inclusive.
        commodity: only this commodity.
        meter: only this `meter_id`.
        quantile: between 0 and 1; 0.1 is the 10th percentile.
        min_hours: complete hours a day needs to get a baseload.

    Returns:
        `local_day`, `commodity`, `unit`, `hours` (complete hours used),
        `per_hour` (baseload in `unit` per hour), `watts` (NULL unless the
        unit is energy), `per_year` (`unit` per year) and `intervals_s`.

    Example:
        >>> baseload(None, commodity="electricity")["watts"].median()  # doctest: +SKIP
    """
    if not 0 <= quantile <= 1:
        raise ValueError(f"quantile must be between 0 and 1, not {quantile!r}")
    sql = f"""
        WITH {_pieces_sql(_HOUR_US, _HOURLY_MAX_S)},
        meter_hours AS (
            SELECT meter_id, commodity, unit, local_day, hour,
                   sum(quantity) * 3600 / sum(covered_s) AS rate,
                   sum(covered_s) >= 3599.999 AS complete,
                   list(DISTINCT duration_s) AS intervals_s
            FROM kept
            GROUP BY ALL
        ),
        counted AS (
            SELECT *, count(DISTINCT meter_id) OVER (PARTITION BY commodity, unit, local_day)
                          AS meters
            FROM meter_hours
        ),
        hours AS (
            SELECT commodity, unit, local_day, hour, sum(rate) AS rate,
                   {_merged("intervals_s")} AS intervals_s
            FROM counted
            GROUP BY commodity, unit, local_day, hour, meters
            HAVING count(*) FILTER (WHERE complete) = meters
        ),
        days AS (
            SELECT local_day, commodity, unit, count(*) AS hours,
                   quantile_cont(rate, $quantile) AS per_hour,
                   {_merged("intervals_s")} AS intervals_s
            FROM hours
            GROUP BY ALL
            HAVING count(*) >= $min_hours
        )
        SELECT local_day, commodity, unit, hours, per_hour,
               per_hour * {_WATTS_PER_UNIT_PER_HOUR} AS watts,
               per_hour * {HOURS_PER_YEAR} AS per_year, intervals_s
        FROM days
        ORDER BY commodity, unit, local_day
    """
    with connect(vault) as con:
        return query(
            con,
            sql,
            commodity=commodity,
            meter=meter,
            day_from=start,
            day_to=end,
            quantile=quantile,
            min_hours=min_hours,
        )


def weekday_weekend(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
) -> pl.DataFrame:
    """Average use per day on weekdays and on weekend days (Saturday, Sunday).

    Averages the complete days of `daily()` (its `partial` days are left
    out, so the day the data starts does not drag a mean down); readings of
    up to 25 hours are used.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first local day, inclusive.
        end: last local day, inclusive.
        commodity: only this commodity.
        meter: only this `meter_id`.

    Returns:
        `commodity`, `unit`, `day_type` (`weekday` or `weekend`), `days`
        (complete days averaged), `per_day` (average use per day) and
        `intervals_s`.

    Example:
        >>> weekday_weekend(None, commodity="electricity")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_days_sql()}
        SELECT commodity, unit, {_day_type("local_day")} AS day_type, count(*) AS days,
               avg(quantity) AS per_day, {_merged("intervals_s")} AS intervals_s
        FROM days
        WHERE NOT partial
        GROUP BY ALL
        ORDER BY commodity, unit, day_type
    """
    with connect(vault) as con:
        return query(con, sql, commodity=commodity, meter=meter, day_from=start, day_to=end)


def monthly(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
) -> pl.DataFrame:
    """Use per local calendar month, with change on the month before and the year before.

    All readings count, billing intervals too: a bill spanning two months is
    shared between them by its time in each (module docstring). A month is
    `partial` when its readings cover more than an hour less than the month
    (an hour of slack, because a long reading spread over a clock change is
    an estimate). Changes compare complete months only: a month the data
    starts in would otherwise look like a collapse. The previous months are
    read even when they fall before `start`.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: a day in the first month, inclusive.
        end: a day in the last month, inclusive.
        commodity: only this commodity.
        meter: only this `meter_id`.

    Returns:
        `month` (its first day), `commodity`, `unit`, `quantity`, `cost`,
        `currency`, `coverage_h`, `partial`, `mom_change` and `mom_pct`
        (against the month before: difference in `unit`, and percent),
        `yoy_change` and `yoy_pct` (against the same month a year before),
        and `intervals_s`. Changes are NULL where either month is missing or
        partial.

    Example:
        >>> monthly(None, commodity="gas", start="2024-01-01")  # doctest: +SKIP
    """
    first = _first_of_month(start)
    last = _first_of_month(end)
    month = "CAST(date_trunc('month', local_day) AS DATE)"
    totals = _periods_sql(month, "24 * day(last_day(period))", _MONTH_SLACK_H)
    sql = f"""
        WITH {_pieces_sql(_DAY_US)},
        {totals},
        months AS (SELECT * RENAME (period AS month) FROM periods)
        SELECT m.month, m.commodity, m.unit, m.quantity, m.cost, m.currency, m.coverage_h,
               m.partial,
               {_change("m", "p", "mom")},
               {_change("m", "y", "yoy")},
               m.intervals_s
        FROM months AS m
        LEFT JOIN months AS p
            ON p.commodity = m.commodity AND p.unit IS NOT DISTINCT FROM m.unit
           AND p.month = CAST(m.month - INTERVAL 1 MONTH AS DATE)
        LEFT JOIN months AS y
            ON y.commodity = m.commodity AND y.unit IS NOT DISTINCT FROM m.unit
           AND y.month = CAST(m.month - INTERVAL 1 YEAR AS DATE)
        WHERE ($first IS NULL OR m.month >= $first::DATE)
          AND ($last IS NULL OR m.month <= $last::DATE)
        ORDER BY m.commodity, m.unit, m.month
    """
    with connect(vault) as con:
        return query(
            con,
            sql,
            commodity=commodity,
            meter=meter,
            # A year and a month back, for the changes of the first month.
            day_from=None if first is None else _months_before(first, 13),
            day_to=None if last is None else _months_before(last, -1) - timedelta(days=1),
            first=first,
            last=last,
        )


def cost_per_unit(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    commodity: str | None = None,
    meter: str | None = None,
) -> pl.DataFrame:
    """Effective price per month: cost over quantity, from the readings that carry cost.

    Only readings with a `cost` count, on both sides of the division, so a
    feed that prices some intervals and not others still gives the right
    price. Readings are prorated into months like `monthly()`, overlapping
    priced readings of one meter give way to the shorter ones, and each
    currency gets its own rows. The price includes whatever the feed put
    into `cost` (standing charges, taxes), so it is what was paid per unit.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: a day in the first month, inclusive.
        end: a day in the last month, inclusive.
        commodity: only this commodity.
        meter: only this `meter_id`.

    Returns:
        `month`, `commodity`, `unit`, `currency`, `quantity` (use with a
        cost), `cost` (DECIMAL(18, 5)), `cost_per_unit` (currency per
        `unit`; NULL when `quantity` is 0) and `intervals_s`.

    Example:
        >>> cost_per_unit(None, commodity="electricity")  # doctest: +SKIP
    """
    first = _first_of_month(start)
    last = _first_of_month(end)
    sql = f"""
        WITH {_pieces_sql(_DAY_US, where="cost IS NOT NULL")}
        SELECT CAST(date_trunc('month', local_day) AS DATE) AS month, commodity, unit, currency,
               sum(quantity) AS quantity, {_decimal("sum(cost)")} AS cost,
               sum(cost) / nullif(sum(quantity), 0) AS cost_per_unit,
               {_merged("[duration_s]")} AS intervals_s
        FROM kept
        GROUP BY ALL
        ORDER BY commodity, unit, currency, month
    """
    with connect(vault) as con:
        return query(
            con,
            sql,
            commodity=commodity,
            meter=meter,
            day_from=first,
            day_to=None if last is None else _months_before(last, -1) - timedelta(days=1),
        )


def _pieces_sql(step_us: int, max_s: int | None = None, where: str = "true") -> str:
    """CTEs ending in `kept`: readings cut at local `step_us` boundaries and prorated.

    Parameters: $commodity, $meter, $day_from, $day_to (local days, inclusive;
    NULL for open). `kept` has one row per piece: `meter_id`, `commodity`,
    `unit`, `currency`, `duration_s` (of the reading), `local_day`, `hour`,
    `quantity` and `cost` (the piece's share), `piece_lo`/`piece_hi` (local
    clock, microseconds since 1970-01-01 00:00), `real_start`/`real_end` (the
    same ends as UTC microseconds), `covered_s` (real seconds) and
    `offset_before`/`offset_after` (the UTC offsets at its ends).
    """
    longest = "" if max_s is None else f"AND duration_s <= {max_s}"
    return f"""
        scope AS (
            SELECT meter_id, commodity, unit, quantity, CAST(cost AS DOUBLE) AS cost, currency,
                   CAST(duration_s AS BIGINT) AS duration_s, start_at,
                   CAST(coalesce(utc_offset_min, 0) AS BIGINT) AS offset_min
            FROM energy_readings
            WHERE quantity IS NOT NULL AND duration_s > 0 {longest} AND ({where})
              AND ($commodity IS NULL OR commodity = $commodity)
              -- A qualified series (`#reverse`, `#cost`...) only when asked for by name.
              AND (meter_id = $meter OR ($meter IS NULL AND NOT contains(meter_id, '#')))
              AND coalesce(json_extract_string(extra, '$.accumulation'), 'delta_data')
                  = 'delta_data'
              -- Offsets lie within a day, so readings a day clear of the range cannot reach it.
              AND ($day_from IS NULL OR start_at AT TIME ZONE 'UTC' + to_seconds(duration_s)
                                        >= $day_from::DATE - 1)
              AND ($day_to IS NULL OR start_at AT TIME ZONE 'UTC' < $day_to::DATE + 2)
        ),
        ends AS (
            SELECT DISTINCT meter_id, commodity, start_at + to_seconds(duration_s) AS end_at
            FROM scope
            WHERE duration_s > 3600
        ),
        next_offsets AS (
            -- Any reading of the meter will do, in range or not, long or short.
            SELECT e.meter_id, e.commodity, e.end_at,
                   min(CAST(coalesce(r.utc_offset_min, 0) AS BIGINT)) AS next_offset
            FROM ends AS e
            JOIN energy_readings AS r
                ON r.meter_id = e.meter_id AND r.commodity = e.commodity AND r.start_at = e.end_at
            GROUP BY e.meter_id, e.commodity, e.end_at
        ),
        ended AS (
            -- A reading over an hour may hold a clock change: its end takes the
            -- offset of the reading starting where it ends, unless that would
            -- leave it no local time at all.
            SELECT s.*,
                   CASE WHEN s.duration_s > 3600
                             AND abs(n.next_offset - s.offset_min) * 60 < s.duration_s
                        THEN n.next_offset ELSE s.offset_min END AS end_offset
            FROM scope AS s
            LEFT JOIN next_offsets AS n
                ON n.meter_id = s.meter_id AND n.commodity = s.commodity
               AND n.end_at = s.start_at + to_seconds(s.duration_s)
        ),
        spans AS (
            SELECT *, epoch_us(start_at) AS real_lo,
                   epoch_us(start_at) + duration_s * 1000000 AS real_hi,
                   epoch_us(start_at) + offset_min * {_MINUTE_US} AS lo,
                   epoch_us(start_at) + duration_s * 1000000 + end_offset * {_MINUTE_US} AS hi
            FROM ended
        ),
        cut AS (
            SELECT *, unnest(range(lo // {step_us}, (hi - 1) // {step_us} + 1)) AS bucket
            FROM spans
        ),
        bounded AS (
            SELECT *, greatest(lo, bucket * {step_us}) AS piece_lo,
                   least(hi, (bucket + 1) * {step_us}) AS piece_hi
            FROM cut
        ),
        pieces AS (
            SELECT meter_id, commodity, unit, currency, duration_s, bucket, real_lo, real_hi,
                   piece_lo, piece_hi,
                   DATE '1970-01-01' + CAST(piece_lo // {_DAY_US} AS INTEGER) AS local_day,
                   CAST(piece_lo % {_DAY_US} // {_HOUR_US} AS INTEGER) AS hour,
                   quantity * (piece_hi - piece_lo) / (hi - lo) AS quantity,
                   cost * (piece_hi - piece_lo) / (hi - lo) AS cost,
                   ({_real("piece_hi")} - {_real("piece_lo")}) / 1e6 AS covered_s,
                   offset_min AS offset_before,
                   CASE WHEN piece_hi = hi THEN end_offset ELSE offset_min END AS offset_after,
                   {_real("piece_lo")} AS real_start,
                   {_real("piece_hi")} AS real_end
            FROM bounded
        ),
        ranged AS (
            SELECT *, min(duration_s) OVER (PARTITION BY meter_id, commodity, unit, bucket)
                          AS finest
            FROM pieces
            WHERE ($day_from IS NULL OR local_day >= $day_from::DATE)
              AND ($day_to IS NULL OR local_day <= $day_to::DATE)
        ),
        kept AS (
            -- Where one meter's readings overlap, the shorter ones win.
            SELECT * EXCLUDE (finest) FROM ranged AS p
            WHERE p.duration_s = p.finest OR NOT EXISTS (
                SELECT 1 FROM pieces AS f
                WHERE f.meter_id = p.meter_id AND f.commodity = p.commodity
                  AND f.unit IS NOT DISTINCT FROM p.unit AND f.bucket = p.bucket
                  AND f.duration_s < p.duration_s
                  AND f.real_lo < p.real_hi AND p.real_lo < f.real_hi
                  AND f.piece_lo < p.piece_hi AND p.piece_lo < f.piece_hi
            )
        )"""


def _days_sql() -> str:
    """CTEs ending in `days`: the rows of `daily()`."""
    return f"""
        {_pieces_sql(_DAY_US, _DAILY_MAX_S)},
        {_periods_sql("local_day", "24", _DAY_SLACK_H)},
        days AS (SELECT * RENAME (period AS local_day) FROM periods)"""


def _periods_sql(period: str, wall_hours: str, slack_h: float) -> str:
    """CTEs ending in `periods`: `kept` totalled per `period`, commodity and unit.

    `period` is an expression of `local_day`; `wall_hours` the period's length
    on the local clock, an expression of `period`. Its real length differs by
    the clock change between the offsets at its first and last pieces; the
    period is `partial` when the time covered by any meter (a union, so a
    meter replaced mid-period still covers it) is more than `slack_h` short.
    """
    currencies = "list(DISTINCT currency) FILTER (WHERE cost IS NOT NULL AND currency IS NOT NULL)"
    return f"""
        dated AS (SELECT *, {period} AS period FROM kept),
        real_spans AS (
            SELECT commodity, unit, period, real_start AS start_at, real_end AS end_at FROM dated
        ),
        {islands_sql("covering", "real_spans", "commodity, unit, period", gap="0")},
        covered AS (
            SELECT commodity, unit, period, sum(span) / {_HOUR_US} AS coverage_h
            FROM (SELECT commodity, unit, period, max(end_at) - min(start_at) AS span
                  FROM covering GROUP BY commodity, unit, period, island)
            GROUP BY commodity, unit, period
        ),
        totals AS (
            SELECT commodity, unit, period, sum(quantity) AS quantity, sum(cost) AS cost,
                   coalesce({currencies}, []) AS currencies,
                   {wall_hours}
                       - (arg_max(offset_after, piece_hi) - arg_min(offset_before, piece_lo)) / 60
                       AS length_h,
                   list_sort(list(DISTINCT duration_s)) AS intervals_s
            FROM dated
            GROUP BY commodity, unit, period
        ),
        periods AS (
            -- A sum across currencies means nothing: cost only in one.
            SELECT t.period, t.commodity, t.unit, t.quantity,
                   CASE WHEN len(t.currencies) <= 1 THEN {_decimal("t.cost")} END AS cost,
                   CASE WHEN len(t.currencies) = 1 THEN t.currencies[1] END AS currency,
                   c.coverage_h, c.coverage_h < t.length_h - {slack_h} AS partial,
                   t.intervals_s
            FROM totals AS t
            JOIN covered AS c
                ON c.commodity = t.commodity AND c.unit IS NOT DISTINCT FROM t.unit
               AND c.period = t.period
        )"""


def _change(now: str, before: str, prefix: str) -> str:
    """`{prefix}_change` and `{prefix}_pct` of `now` against `before`, complete months only."""
    both = f"NOT {now}.partial AND NOT {before}.partial"
    return f"""CASE WHEN {both} THEN {now}.quantity - {before}.quantity END AS {prefix}_change,
               CASE WHEN {both} AND {before}.quantity <> 0
                    THEN 100 * ({now}.quantity - {before}.quantity) / {before}.quantity
               END AS {prefix}_pct"""


def _real(clock: str) -> str:
    """The real instant (UTC microseconds) of a local `clock` time inside a reading."""
    return f"""CASE WHEN {clock} = lo THEN real_lo WHEN {clock} = hi THEN real_hi
                    WHEN end_offset = offset_min THEN {clock} - offset_min * {_MINUTE_US}
                    ELSE real_lo + CAST(({clock} - lo) * ((real_hi - real_lo) / (hi - lo))
                                        AS BIGINT)
               END"""


def _merged(lists: str) -> str:
    """The sorted distinct values of an aggregate's list column."""
    return f"list_sort(list_distinct(flatten(list({lists}))))"


def _decimal(amount: str) -> str:
    # Prorated costs are fractions of a cent; four places, as the column is stored.
    return f"CAST(round({amount}, 5) AS DECIMAL(18, 5))"


def _day_type(day: str) -> str:
    return f"CASE WHEN isodow({day}) >= 6 THEN 'weekend' ELSE 'weekday' END"


def _first_of_month(day: DateLike) -> date | None:
    if day is None:
        return None
    if isinstance(day, datetime):
        day = day.date()
    elif isinstance(day, str):
        day = date.fromisoformat(day)
    return day.replace(day=1)


def _months_before(first: date, months: int) -> date:
    """The first of the month `months` before the month starting on `first` (negative: after)."""
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
