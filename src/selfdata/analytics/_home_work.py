"""Home and work from visits that know their place: the most dwell in given local hours.

`home_and_work()` takes the visits `mobility` has placed (`place_id`,
`place_lat`, `place_lon`, `city`, `country_code`, `local_start`, `local_end`)
and finds home, the place with the most hours inside the nightly window, then
work, the place other than home with the most weekday hours inside the
working window. Each comes with a sentence saying why.
"""

from __future__ import annotations

from typing import cast

import polars as pl

__all__ = ["home_and_work"]


def home_and_work(
    located: pl.DataFrame, night: tuple[int, int], work_hours: tuple[int, int], min_work_days: int
) -> pl.DataFrame:
    """At most two rows, `home` then `work`; see `mobility.home_work()` for the columns."""
    rows: list[dict[str, object]] = []
    nights = _hours_in_window(located, *night, weekdays_only=False)
    home = _best(nights, exclude=None, min_days=1)
    if home is not None:
        rows.append(_role("home", home, nights, located, night, "nights"))
        days = _hours_in_window(located, *work_hours, weekdays_only=True)
        work = _best(days, exclude=str(home["place_id"]), min_days=min_work_days)
        if work is not None:
            rows.append(_role("work", work, days, located, work_hours, "weekdays"))
    schema = {
        "role": pl.String,
        "place_id": pl.String,
        "lat": pl.Float64,
        "lon": pl.Float64,
        "city": pl.String,
        "country_code": pl.String,
        "hours": pl.Float64,
        "days": pl.Int64,
        "of_days": pl.Int64,
        "explanation": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _hours_in_window(
    located: pl.DataFrame, start_h: int, end_h: int, *, weekdays_only: bool
) -> pl.DataFrame:
    """Hours each place had inside the daily local window, per day the window starts on.

    A window ending at or before it starts (22 → 6) runs into the next day.
    """
    span_h = (end_h - start_h) % 24 or 24
    expanded = located.select(
        "place_id",
        "local_start",
        "local_end",
        pl.date_ranges(
            pl.col("local_start").dt.date() - pl.duration(days=1), pl.col("local_end").dt.date()
        ).alias("day"),
    ).explode("day")
    opens = pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=start_h)
    closes = opens + pl.duration(hours=span_h)
    overlap = pl.min_horizontal(pl.col("local_end"), closes) - pl.max_horizontal(
        pl.col("local_start"), opens
    )
    hours = expanded.with_columns((overlap.dt.total_seconds() / 3600).alias("hours")).filter(
        pl.col("hours") > 0
    )
    if weekdays_only:
        hours = hours.filter(pl.col("day").dt.weekday() <= 5)
    return hours.group_by("place_id", "day").agg(pl.col("hours").sum())


def _best(per_day: pl.DataFrame, *, exclude: str | None, min_days: int) -> dict[str, object] | None:
    candidates = per_day if exclude is None else per_day.filter(pl.col("place_id") != exclude)
    ranked = (
        candidates.group_by("place_id")
        .agg(
            pl.col("hours").sum(),
            (pl.col("hours") >= 1).sum().cast(pl.Int64).alias("days"),
            pl.col("day").min().alias("first"),
            pl.col("day").max().alias("last"),
        )
        .filter(pl.col("days") >= min_days)
        .sort(["hours", "place_id"], descending=[True, False])
    )
    return None if ranked.is_empty() else ranked.row(0, named=True)


def _role(
    role: str,
    best: dict[str, object],
    per_day: pl.DataFrame,
    located: pl.DataFrame,
    window: tuple[int, int],
    unit: str,
) -> dict[str, object]:
    place = located.filter(pl.col("place_id") == best["place_id"]).row(0, named=True)
    of_days = per_day["day"].n_unique()
    where = ", ".join(str(v) for v in (place["city"], place["country_code"]) if v)
    explanation = (
        f"{role}: {best['days']} of {of_days} {unit} with data, at least an hour there "
        f"between {window[0]:02d}:00 and {window[1]:02d}:00, {best['first']} to {best['last']} "
        f"({cast(float, best['hours']):,.0f} h) at {best['place_id']}"
        + (f" ({where})" if where else "")
    )
    return {
        "role": role,
        "place_id": best["place_id"],
        "lat": place["place_lat"],
        "lon": place["place_lon"],
        "city": place["city"],
        "country_code": place["country_code"],
        "hours": best["hours"],
        "days": best["days"],
        "of_days": of_days,
        "explanation": explanation,
    }
