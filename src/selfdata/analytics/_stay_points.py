"""Stay points, visits and the edges of trips from raw `location_points`.

The classic stay-point algorithm (Li et al., 2008, "Mining user similarity
based on location history") walks the points one by one from an anchor: a
Python loop per point. This module reaches the same stays with whole-array
numpy steps over the time-ordered stream (cumulative sums, sorted searches,
running maxima), so millions of points take seconds:

1. **Points.** Timed points only, at most `max_accuracy_m` uncertain; in each
   minute only those of the source with the most points in it (two apps
   logging the same walk would otherwise zig-zag between their fixes and
   inflate the distance), and one per second (the most accurate).
2. **Still or moving.** For each point, the mean position of the points in the
   `window_s` before it and of those in the `window_s` after it. Moving at `v`,
   the two means lie about `v * window_s` apart; standing still, only GPS
   jitter (shrunk by the averaging) separates them. A point is *still* when
   they are less than `radius_m` apart. Where recording is sparse a window
   holds only the point itself, so sparse stretches are judged by their edges.
3. **Runs.** Consecutive still points form a run, broken by a moving point, by
   a jump of `radius_m` or more across a gap longer than `window_s` (the phone
   was off while travelling), or by a gap longer than `max_gap_s`. A gap of any
   length up to that with both ends within `radius_m` continues the run: the
   phone records little while it lies still.
4. **Edges back.** Averaging blurs arrivals and departures (a car stopping is
   still for the windows only after a minute or so). Moving points next to a
   run and within `radius_m` of its centre (the median of its points) join
   it, up to the first that is not.
5. **Stays.** Runs lasting `min_dwell_s` or more; shorter ones are pauses of a
   trip (traffic lights, a queue).
6. **Visits.** Consecutive stays less than `radius_m` apart and at most
   `merge_gap_s` apart in time are one visit: a GPS spike or a step outside
   does not split the day at home.
7. **Trips.** Everything between two consecutive visits; `_trip_modes` sums
   the distance and reads the mode.

A slow drift stays "still" (under `radius_m` per `window_s`, about 0.7 m/s:
a museum stroll, a traffic jam) and makes one long visit, as it does for the
anchor-based algorithm. Positions are averaged in degrees, so a stay astride
the antimeridian (Fiji, Chukotka) gets a wrong centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl

from selfdata.analytics._trip_modes import EARTH_RADIUS_M, trips_sql
from selfdata.vault import first_row

__all__ = ["MobilitySettings", "build_tables", "segment"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

_NONE = np.iinfo(np.int64).max  # "no run after this point", for running minima


@dataclass(frozen=True)
class MobilitySettings:
    """Every threshold of `derive()` and the place analyses, with its default.

    Set them in `selfdata.toml` beside the vault under `[mobility]`, or pass
    `MobilitySettings(radius_m=150)` to `derive()`. Speeds are m/s, time s.

    Stays and visits:
        radius_m: a stay's points lie within this of its centre; also the
            largest jitter read as standing still.
        min_dwell_s: shorter stays are pauses of a trip.
        window_s: the span averaged on each side of a point to judge it still;
            about half of `min_dwell_s`, so a stay of `min_dwell_s` has a
            point whose both windows lie inside it.
        max_gap_s: a recording gap at one place longer than this ends the
            visit (the phone may have been left there).
        merge_gap_s: two stays at one place this close in time are one visit.
        max_accuracy_m: points less accurate than this (cell-tower fixes) are
            left out.
        min_trip_m: movements between visits shorter than this are no trip.

    Modes (`_trip_modes._speed_mode()` tries them in this order):
        moving_mps: slower edges count as standing, not in the speed profile.
        sparse_edge_s: edges longer than this are gaps in recording; a trip
            mostly made of them at running or cycling speed is `unknown`.
        walking_max_mps, running_max_mps, running_p95_max_mps: walking below,
            running up to, cycling above (median; or 95th percentile above the
            last).
        car_min_mps, car_p95_min_mps: a median or 95th percentile above these
            is a motor vehicle.
        train_min_mps, train_straightness, train_p95_min_mps: a sustained
            median this fast on a path this straight (crow-flies / path), or a
            95th percentile above the last, is a train.
        flying_min_mps: a median this fast is a plane.
        flight_jump_m, flight_jump_mps: a jump this long, this fast, across a
            recording gap is a flight with the phone off.

    Places:
        place_radius_m: visits within this of a place's leader belong to it.
        min_city_population: smallest GeoNames city for reverse geocoding
            (500, 1000, 5000 or 15000).
        max_city_km: places farther from every city get no city or country.
    """

    radius_m: float = 100.0
    min_dwell_s: float = 300.0
    window_s: float = 150.0
    max_gap_s: float = 3 * 86400.0
    merge_gap_s: float = 300.0
    max_accuracy_m: float = 200.0
    min_trip_m: float = 100.0
    moving_mps: float = 0.5
    sparse_edge_s: float = 120.0
    walking_max_mps: float = 2.0
    running_max_mps: float = 4.0
    running_p95_max_mps: float = 6.0
    car_min_mps: float = 8.0
    car_p95_min_mps: float = 13.0
    train_min_mps: float = 28.0
    train_straightness: float = 0.85
    train_p95_min_mps: float = 42.0
    flying_min_mps: float = 70.0
    flight_jump_m: float = 100_000.0
    flight_jump_mps: float = 55.0
    place_radius_m: float = 150.0
    min_city_population: int = 15000
    max_city_km: float = 150.0


def build_tables(con: duckdb.DuckDBPyConnection, p: MobilitySettings) -> None:
    """Create temp tables `_sp_visits` and `_sp_trips` from `location_points`.

    `_sp_visits`: visit_no, start_at, end_at, utc_offset_min, lat, lon, points.
    `_sp_trips`: trip_no (the visit it leaves), start_at, end_at,
    utc_offset_min, start_lat, start_lon, end_lat, end_lon, distance_m, mode,
    and the figures behind the mode.
    """
    visits, edges = segment(load_points(con, p), p)
    # Registered frames are views on the Python objects; inside derive's
    # transaction, unregistering after a failed statement would hide its error.
    con.register("_sp_visit_frame", visits)
    con.register("_sp_edges", edges)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sp_visits AS"
        " SELECT visit_no, to_timestamp(start_ts) AS start_at, to_timestamp(end_ts) AS end_at,"
        " utc_offset_min, lat, lon, points FROM _sp_visit_frame"
    )
    con.execute(trips_sql(p))
    con.unregister("_sp_visit_frame")
    con.unregister("_sp_edges")


def load_points(con: duckdb.DuckDBPyConnection, p: MobilitySettings) -> pl.DataFrame:
    """Timed, accurate enough points in time order, one per second."""
    where = f"""
        WHERE recorded_at IS NOT NULL
          AND (accuracy_m IS NULL OR accuracy_m <= {p.max_accuracy_m})
    """
    frame: pl.DataFrame = con.sql(
        f"""
        SELECT epoch_us(recorded_at) // 1000000 AS ts, utc_offset_min, lat, lon,
               speed_mps AS speed, source,
               CASE WHEN extra IS NOT NULL THEN upper(extra->>'$.activity') END AS activity
        FROM location_points {where}
        ORDER BY ts, accuracy_m NULLS LAST, lat, lon, source
        """
    ).pl()
    sources = first_row(con, f"SELECT count(DISTINCT source) FROM location_points {where}")
    if sources and sources[0] > 1:
        frame = _one_source_a_minute(frame)
    ts = frame["ts"].to_numpy()
    first_of_second = np.concatenate([[True], ts[1:] != ts[:-1]]) if len(ts) else np.zeros(0, bool)
    return frame.filter(pl.Series(first_of_second)).drop("source")


def _one_source_a_minute(frame: pl.DataFrame) -> pl.DataFrame:
    """In each minute, only the points of the source with the most points in it.

    Two apps logging the same walk a few metres apart would otherwise zig-zag
    between their fixes and inflate the distance.
    """
    minute = (pl.col("ts") // 60).alias("minute")
    best = (
        frame.group_by(minute, "source")
        .agg(pl.len().alias("n"))
        .sort(["minute", "n", "source"], descending=[False, True, False])
        .unique("minute", keep="first")
    )
    return (
        frame.with_columns(minute)
        .join(
            best.select("minute", "source"),
            on=["minute", "source"],
            how="semi",
            maintain_order="left",
        )
        .drop("minute")
    )


def segment(points: pl.DataFrame, p: MobilitySettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Visits and trip edges of time-ordered points (`ts` seconds, one per second).

    Returns:
        visits: visit_no, start_ts, end_ts, utc_offset_min, lat, lon, points.
        edges: one row per edge of a trip: i, trip_no (the visit it leaves),
        utc_offset_min, lat, lon, next_lat, next_lon, dt, d, speed, activity.
    """
    ts, lat, lon = _positions(points)
    if len(ts) == 0:
        return _visit_frame(points, np.zeros(0, np.int64)), _edge_frame(
            points, p, np.zeros(0, np.int64)
        )
    d_prev = np.concatenate([[0.0], metres(lat[:-1], lon[:-1], lat[1:], lon[1:])])
    dt_prev = np.concatenate([[0], np.diff(ts)])
    run = _runs(_still(ts, lat, lon, p), d_prev, dt_prev, p)
    member = _claim(run, lat, lon, dt_prev, p)
    own = _visits(member, ts, lat, lon, p)
    return _visit_frame(points, own), _edge_frame(points, p, own)


def _positions(points: pl.DataFrame) -> tuple[Ints, Floats, Floats]:
    """Times and positions as numpy arrays, views on the frame's own memory where
    their types already match (a copy of each would be 40 MB per million points)."""
    ts = points["ts"].to_numpy().astype(np.int64, copy=False)
    lat = points["lat"].to_numpy().astype(np.float64, copy=False)
    lon = points["lon"].to_numpy().astype(np.float64, copy=False)
    return ts, lat, lon


def metres(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Great-circle distances in metres between positions in degrees, element-wise."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    distance: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def near_metres(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Distances in metres on a flat map: within 0.1 % of `metres()` under a few km.

    Cheaper than the haversine, for deciding whether points lie within
    `radius_m` of each other; NaN positions give NaN (never near).
    """
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    y = np.radians(lat2 - lat1)
    distance: Floats = EARTH_RADIUS_M * np.hypot(x, y)
    return distance


def _still(ts: Ints, lat: Floats, lon: Floats, p: MobilitySettings) -> Flags:
    """Whether the mean positions of the window before and the window after are close."""
    index = np.arange(len(ts))
    lo = np.searchsorted(ts, ts - p.window_s, side="left")
    hi = np.searchsorted(ts, ts + p.window_s, side="right")
    before_lat, after_lat = _window_means(lat, index, lo, hi)
    before_lon, after_lon = _window_means(lon, index, lo, hi)
    still: Flags = near_metres(before_lat, before_lon, after_lat, after_lon) < p.radius_m
    return still


def _window_means(values: Floats, index: Ints, lo: Ints, hi: Ints) -> tuple[Floats, Floats]:
    """Means of values[lo..index] and values[index..hi-1], from one cumulative sum."""
    origin = values[0]  # summing offsets from it keeps the sums small and exact enough
    total = np.concatenate([[0.0], np.cumsum(values - origin)])
    before = (total[index + 1] - total[lo]) / (index + 1 - lo) + origin
    after = (total[hi] - total[index]) / (hi - index) + origin
    return before, after


def _runs(still: Flags, d_prev: Floats, dt_prev: Ints, p: MobilitySettings) -> Ints:
    """A run label (1, 2, ...; not consecutive) per still point, 0 for moving ones."""
    after_moving = np.concatenate([[True], ~still[:-1]])
    jumped = (dt_prev > p.window_s) & (d_prev >= p.radius_m)
    starts = after_moving | jumped | (dt_prev > p.max_gap_s)
    runs: Ints = np.where(still, np.cumsum(starts), 0)
    return runs


def _claim(run: Ints, lat: Floats, lon: Floats, dt_prev: Ints, p: MobilitySettings) -> Ints:
    """Runs grown by the moving points next to them that lie within `radius_m` of their centre."""
    centre_lat, centre_lon = _run_centres(run, lat, lon)
    prev_run = np.maximum.accumulate(run)
    next_run = np.minimum.accumulate(np.where(run > 0, run, _NONE)[::-1])[::-1]
    dt_next = np.concatenate([dt_prev[1:], [0]])
    has_prev, has_next = prev_run > 0, next_run != _NONE
    prev_at = np.where(has_prev, prev_run, 0)
    next_at = np.where(has_next, next_run, 0)
    near_prev = (run > 0) | (
        has_prev
        & (near_metres(lat, lon, centre_lat[prev_at], centre_lon[prev_at]) < p.radius_m)
        & (dt_prev <= p.max_gap_s)
    )
    near_next = (run > 0) | (
        has_next
        & (near_metres(lat, lon, centre_lat[next_at], centre_lon[next_at]) < p.radius_m)
        & (dt_next <= p.max_gap_s)
    )
    # Points sharing a previous run form one block (prev_run never decreases):
    # claimed while no point since the block began was far from that run.
    far = np.concatenate([[0], np.cumsum(~near_prev)])
    block_start = np.searchsorted(prev_run, prev_run, side="left")
    by_prev = has_prev & (far[np.arange(len(run)) + 1] - far[block_start] == 0)
    far = np.concatenate([[0], np.cumsum(~near_next)])
    block_end = np.searchsorted(next_run, next_run, side="right")
    by_next = has_next & (far[block_end] - far[np.arange(len(run))] == 0)
    claimed: Ints = np.where(
        run > 0, run, np.where(by_prev, prev_at, np.where(by_next, next_at, 0))
    )
    return claimed


def _run_centres(run: Ints, lat: Floats, lon: Floats) -> tuple[Floats, Floats]:
    """Median position of each run's points, indexable by run label."""
    centres = (
        pl.DataFrame({"run": run, "lat": lat, "lon": lon})
        .filter(pl.col("run") > 0)
        .group_by("run")
        .agg(pl.col("lat").median(), pl.col("lon").median())
    )
    size = int(run.max()) + 1
    centre_lat, centre_lon = np.full(size, np.nan), np.full(size, np.nan)
    labels = centres["run"].to_numpy()
    centre_lat[labels] = centres["lat"].to_numpy()
    centre_lon[labels] = centres["lon"].to_numpy()
    return centre_lat, centre_lon


def _visits(member: Ints, ts: Ints, lat: Floats, lon: Floats, p: MobilitySettings) -> Ints:
    """Visit number (1, 2, ...) of each point in a stay, 0 elsewhere."""
    # A grown run is one contiguous block of points, its label never below an earlier one.
    at = np.flatnonzero(member)
    labels, first, counts = np.unique(member[at], return_index=True, return_counts=True)
    start_ts, end_ts = ts[at[first]], ts[at[first + counts - 1]]
    long_enough = end_ts - start_ts >= p.min_dwell_s
    labels, start_ts, end_ts = labels[long_enough], start_ts[long_enough], end_ts[long_enough]
    centre_lat, centre_lon = _run_centres(np.where(np.isin(member, labels), member, 0), lat, lon)
    c_lat, c_lon = centre_lat[labels], centre_lon[labels]
    same = np.zeros(len(labels), dtype=bool)
    same[1:] = (start_ts[1:] - end_ts[:-1] <= p.merge_gap_s) & (
        metres(c_lat[1:], c_lon[1:], c_lat[:-1], c_lon[:-1]) < p.radius_m
    )
    visit_of_label = np.zeros(int(member.max(initial=0)) + 1, dtype=np.int64)
    visit_of_label[labels] = np.cumsum(~same)
    own: Ints = visit_of_label[member]
    return own


def _visit_frame(points: pl.DataFrame, own: Ints) -> pl.DataFrame:
    return (
        points.with_columns(pl.Series("visit_no", own))
        .filter(pl.col("visit_no") > 0)
        .group_by("visit_no")
        .agg(
            pl.col("ts").min().alias("start_ts"),
            pl.col("ts").max().alias("end_ts"),
            pl.col("utc_offset_min").sort_by("ts").first(),
            pl.col("lat").median(),
            pl.col("lon").median(),
            pl.len().cast(pl.Int64).alias("points"),
        )
        .sort("visit_no")
    )


def _edge_frame(points: pl.DataFrame, p: MobilitySettings, own: Ints) -> pl.DataFrame:
    """Each point's edge to the next, where it belongs to a trip, with its speed."""
    n = len(own)
    after = np.maximum.accumulate(own) if n else own
    before = np.minimum.accumulate(np.where(own > 0, own, _NONE)[::-1])[::-1]
    # A point between two stays of one visit is part of that visit.
    inside = np.where(after == before, after, 0)
    in_trip = np.zeros(n, dtype=bool)
    in_trip[:-1] = (after[:-1] > 0) & ~((inside[:-1] > 0) & (inside[:-1] == inside[1:]))
    ts, lat, lon = _positions(points)
    at = np.flatnonzero(in_trip)
    dt = (ts[at + 1] - ts[at]).astype(np.float64)
    d = metres(lat[at], lon[at], lat[at + 1], lon[at + 1])
    span = np.searchsorted(ts, ts[at] + 30, side="right") - 1
    spanned = span > at
    span_speed = metres(lat[at], lon[at], lat[span], lon[span]) / np.maximum(ts[span] - ts[at], 1)
    speed = np.where(spanned, span_speed, d / dt)
    own_speed = points["speed"].to_numpy()[at] if n else np.zeros(0)
    speed = np.where(~np.isnan(own_speed) & (dt <= 60), own_speed, speed)
    return pl.DataFrame(
        {
            "i": at.astype(np.int64),
            "trip_no": after[at],
            "utc_offset_min": points["utc_offset_min"].gather(at),
            "lat": lat[at],
            "lon": lon[at],
            "next_lat": lat[at + 1],
            "next_lon": lon[at + 1],
            "dt": dt,
            "d": d,
            "speed": speed,
            "activity": points["activity"].gather(at),
        }
    )
