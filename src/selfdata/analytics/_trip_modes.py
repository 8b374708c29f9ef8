"""Trips between visits: distance, speed profile and transport mode, in DuckDB SQL.

`_stay_points` hands over every edge (a point to the next) of every trip; this
module sums them per trip and reads the mode from the speed profile and from
the activity Google recorded on the points, if any (`extra->>'$.activity'`,
a type such as `IN_VEHICLE`, `ON_BICYCLE` or `WALKING`).

Speeds are per edge: the phone's own speed (`speed_mps`, from the GPS
Doppler shift) where it has one and the next fix is within a minute, else the
distance to the last fix within the next 30 s (or to the next fix) over the
time, which tames the jitter of fixes a second apart. The profile is
time-weighted over the moving edges (faster than `moving_mps`, not across a
gap longer than `max_gap_s`): `p50` its median, `p95` its 95th percentile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selfdata.analytics._stay_points import MobilitySettings

__all__ = ["ACTIVITY_MODES", "EARTH_RADIUS_M", "haversine_sql", "trips_sql"]

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

# Google's activity types (Records.json `activity[].type`, Timeline
# `activityRecord`, semantic `activityType`) → a trips.mode. Generic vehicle
# types leave the choice among vehicles to the speed profile.
ACTIVITY_MODES: Mapping[str, str] = {
    "WALKING": "walking",
    "ON_FOOT": "walking",
    "RUNNING": "running",
    "ON_BICYCLE": "cycling",
    "CYCLING": "cycling",
    "IN_VEHICLE": "vehicle",
    "IN_ROAD_VEHICLE": "vehicle",
    "IN_PASSENGER_VEHICLE": "car",
    "IN_CAR": "car",
    "DRIVING": "car",
    "IN_FOUR_WHEELER_VEHICLE": "car",
    "IN_TWO_WHEELER_VEHICLE": "other",
    "MOTORCYCLING": "other",
    "IN_BUS": "bus",
    "IN_RAIL_VEHICLE": "train",
    "IN_TRAIN": "train",
    "IN_SUBWAY": "subway",
    "IN_TRAM": "tram",
    "IN_FERRY": "ferry",
    "SAILING": "ferry",
    "FLYING": "flying",
}


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """SQL for the great-circle distance in metres between two positions in degrees.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> sql = haversine_sql("51.5074", "-0.1278", "48.8566", "2.3522")
        >>> round(con.sql(f"SELECT {sql}").fetchall()[0][0] / 1000)
        344
    """
    return (
        f"(2 * {EARTH_RADIUS_M} * asin(least(1, sqrt("
        f"pow(sin(radians({lat2} - {lat1}) / 2), 2) + cos(radians({lat1})) * cos(radians({lat2}))"
        f" * pow(sin(radians({lon2} - {lon1}) / 2), 2)))))"
    )


def trips_sql(p: MobilitySettings) -> str:
    """Create `_sp_trips` from the registered `_sp_edges` and `_sp_visits`."""
    straight = haversine_sql("first_lat", "first_lon", "last_lat", "last_lon")
    leaving = haversine_sql("a.lat", "a.lon", "t.first_lat", "t.first_lon")
    arriving = haversine_sql("t.last_lat", "t.last_lon", "b.lat", "b.lon")
    known = ", ".join(f"'{name}'" for name in ACTIVITY_MODES)
    told = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ACTIVITY_MODES.items())
    return f"""
        CREATE OR REPLACE TEMP TABLE _sp_trips AS
        WITH ranked AS (
            SELECT *,
                   sum(dt) FILTER (WHERE moving) OVER (
                       PARTITION BY trip_no ORDER BY speed, i ROWS UNBOUNDED PRECEDING) AS cum,
                   sum(dt) FILTER (WHERE moving) OVER (PARTITION BY trip_no) AS total
            FROM (SELECT *, speed >= {p.moving_mps} AND dt <= {p.max_gap_s} AS moving
                  FROM _sp_edges)
        ),
        activities AS (
            SELECT trip_no, first(activity ORDER BY n DESC, activity) AS activity
            FROM (SELECT trip_no, activity, count(*) AS n FROM _sp_edges
                  WHERE activity IN ({known}) GROUP BY ALL)
            GROUP BY trip_no
        ),
        stats AS (
            SELECT trip_no, sum(d) AS distance_m, count(*) AS edges,
                   arg_min(utc_offset_min, i) AS utc_offset_min,
                   min(speed) FILTER (WHERE moving AND cum >= 0.5 * total) AS p50,
                   sum(dt) FILTER (WHERE moving AND dt > {p.sparse_edge_s}) / any_value(total)
                       AS sparse_share,
                   min(speed) FILTER (WHERE moving AND cum >= 0.95 * total) AS p95,
                   max(speed) FILTER (WHERE moving) AS vmax,
                   coalesce(bool_or(d >= {p.flight_jump_m} AND d / dt >= {p.flight_jump_mps}),
                            false) AS jump,
                   arg_min(lat, i) AS first_lat, arg_min(lon, i) AS first_lon,
                   arg_max(next_lat, i) AS last_lat, arg_max(next_lon, i) AS last_lon
            FROM ranked
            GROUP BY trip_no
        ),
        judged AS (
            SELECT s.*, a.activity,
                   CASE WHEN s.distance_m > 0 THEN {straight} / s.distance_m END AS straightness,
                   CASE a.activity {told} END AS told
            FROM stats AS s LEFT JOIN activities AS a USING (trip_no)
        ),
        moded AS (
            SELECT *, {_speed_mode(p)} AS by_speed FROM judged
        )
        SELECT * FROM (
            -- From place to place: the visits' last and first points lie up to
            -- radius_m from their centres, and the walk to them counts.
            SELECT t.trip_no, a.end_at AS start_at, b.start_at AS end_at, t.utc_offset_min,
                   a.lat AS start_lat, a.lon AS start_lon, b.lat AS end_lat, b.lon AS end_lon,
                   t.distance_m + {leaving} + {arriving} AS distance_m,
                   {_final_mode(p)} AS mode, t.by_speed, t.activity,
                   t.p50, t.p95, t.vmax, t.straightness, t.edges
            FROM moded AS t
            JOIN _sp_visits AS a ON a.visit_no = t.trip_no
            JOIN _sp_visits AS b ON b.visit_no = t.trip_no + 1
        )
        WHERE distance_m >= {p.min_trip_m}
    """


def _speed_mode(p: MobilitySettings) -> str:
    """The mode the speed profile alone suggests; first match wins.

    p50 is the time-weighted median of the moving speed, p95 its 95th
    percentile; `jump` is a leap across a recording gap that only a plane
    makes; `straightness` is the crow-flies distance over the path. Running
    and cycling need fixes along the way: a trip mostly made of edges longer
    than `sparse_edge_s` (an underground ride between two fixes at 3 m/s,
    waits included) is `unknown` rather than a run.
    """
    return f"""CASE
        WHEN p50 IS NULL THEN 'unknown'
        WHEN p50 >= {p.flying_min_mps} OR jump THEN 'flying'
        WHEN p95 >= {p.train_p95_min_mps}
             OR (p50 >= {p.train_min_mps} AND straightness >= {p.train_straightness}) THEN 'train'
        WHEN p50 >= {p.car_min_mps} OR p95 >= {p.car_p95_min_mps} THEN 'car'
        WHEN coalesce(sparse_share, 0) > 0.5 AND p50 >= {p.walking_max_mps} THEN 'unknown'
        WHEN p50 >= {p.running_max_mps} OR p95 >= {p.running_p95_max_mps} THEN 'cycling'
        WHEN p50 >= {p.walking_max_mps} THEN 'running'
        ELSE 'walking' END"""


def _final_mode(p: MobilitySettings) -> str:
    """Google's activity (`told`) where it has one and the speeds allow it, else the speed's.

    The activity tells what speed cannot (bus from car, cycling from a fast
    run); a generic "in vehicle" keeps the speed's choice among vehicles; a
    plane is a plane whatever the phone guessed.
    """
    return f"""CASE
        WHEN told IS NULL OR by_speed IN ('flying', 'unknown') THEN by_speed
        WHEN told = 'vehicle' THEN CASE WHEN by_speed = 'train' THEN 'train' ELSE 'car' END
        WHEN told = 'cycling' THEN
            CASE WHEN p50 < 1.5 * {p.car_min_mps} THEN 'cycling' ELSE by_speed END
        WHEN told IN ('walking', 'running') AND by_speed IN ('cycling', 'car', 'train')
            THEN by_speed
        WHEN told = 'walking' AND by_speed = 'running' THEN 'running'
        ELSE told END"""
