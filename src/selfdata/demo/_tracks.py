"""Tracks: timed points along a workout loop or a ride from one place to another.

A track is what a GPS device records every `SAMPLE_S` seconds: position with
drifting GPS error, elevation, heart rate warming up to a steady effort and
cadence (cycling cadence drops to 0 when freewheeling, as real files do).
Loops are bent circles of the length the sport's pace gives; rides between
two places follow the streets (a bent line a quarter longer than the crow
flies) with stops.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from selfdata.demo._persona import EARTH_RADIUS_M, Place

__all__ = [
    "SAMPLE_S",
    "SPORTS",
    "Sport",
    "TrackPlan",
    "TrackPoint",
    "haversine_m",
    "metres_between",
    "shift",
    "track_distance_m",
    "track_points",
]

SAMPLE_S = 5  # seconds between track points, as a watch in smart-recording mode


@dataclass(frozen=True)
class Sport:
    """How one kind of track moves: speeds, durations, heart rate, cadence."""

    speed_mps: tuple[float, float]
    minutes: tuple[int, int]
    hr_bpm: tuple[int, int] | None  # steady-state range; None: no strap worn
    cadence: tuple[int, int] | None  # per foot (Garmin's convention) or pedal rpm
    climb_m: float  # height gained over the loop


# Short outings keep the default demo small (points every 5 s add up fast).
SPORTS = {
    "running": Sport((2.8, 3.3), (15, 26), (140, 165), (82, 90), 6.0),
    "cycling": Sport((6.0, 8.0), (22, 34), (120, 150), (78, 92), 12.0),
    "hiking": Sport((1.1, 1.3), (50, 65), (105, 130), (50, 58), 180.0),
    "bus": Sport((5.0, 7.0), (0, 0), None, None, 0.0),
}


@dataclass(frozen=True)
class TrackPlan:
    """One track to record: what, where from, when (aware, local zone)."""

    sport: str
    name: str
    start: Place
    start_at: datetime
    minutes: float
    end: Place | None = None  # None: a loop back to `start`


@dataclass(frozen=True)
class TrackPoint:
    at: datetime  # aware, local offset
    lat: float  # rounded as written, so distances match what an importer computes
    lon: float
    ele_m: float
    hr_bpm: int | None
    cadence: int | None


def track_points(rng: random.Random, plan: TrackPlan) -> list[TrackPoint]:
    """The points a device records over `plan`, every `SAMPLE_S` seconds."""
    return _route(rng, plan) if plan.end else _loop(rng, plan)


def track_distance_m(points: list[TrackPoint]) -> float:
    """Haversine over consecutive points, as the importers compute it."""
    return sum(haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(points))


def metres_between(a: Place, b: Place) -> tuple[float, float]:
    """(east, north) in metres from `a` to `b`; flat-earth, fine over a city."""
    north = math.radians(b.lat - a.lat) * EARTH_RADIUS_M
    east = math.radians(b.lon - a.lon) * EARTH_RADIUS_M * math.cos(math.radians(a.lat))
    return east, north


def shift(origin: Place, east: float, north: float) -> tuple[float, float]:
    """The latitude and longitude `east`, `north` metres from `origin`."""
    lat = origin.lat + math.degrees(north / EARTH_RADIUS_M)
    lon = origin.lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(origin.lat))))
    return lat, lon


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres, with `EARTH_RADIUS_M`."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _loop(rng: random.Random, plan: TrackPlan) -> list[TrackPoint]:
    """A closed, wobbly loop through `plan.start`, at the sport's pace."""
    speed = rng.uniform(*SPORTS[plan.sport].speed_mps)
    shape = _wobbly_circle(rng, perimeter=speed * plan.minutes * 60)
    x0, y0, _ = shape(0.0)
    xy: list[tuple[float, float]] = []
    fractions: list[float] = []
    angle, pace = 0.0, 0.0
    while angle < math.tau:
        x, y, dr = shape(angle)
        xy.append((x - x0, y - y0))
        fractions.append(angle / math.tau)
        pace = 0.9 * pace + rng.gauss(0, 0.02)  # pace drifts, it does not jump
        # Arc length per radian is hypot(r, dr/dangle): steps keep the pace on any bend.
        angle += speed * (1 + pace) * SAMPLE_S / math.hypot(x, y, dr)
    xy.append((0.0, 0.0))  # back where it started
    fractions.append(1.0)
    return _points(rng, plan, xy, fractions)


def _wobbly_circle(
    rng: random.Random, perimeter: float
) -> Callable[[float], tuple[float, float, float]]:
    """angle -> (east, north, dr/dangle) in metres from the centre of a bent circle.

    Harmonics of the angle bend the circle while keeping it closed; the radius
    is scaled so that the loop is `perimeter` metres long whatever its bends.
    """
    wobble = [(k, rng.uniform(0.05, 0.2), rng.uniform(0, math.tau)) for k in (2, 3, 4)]
    heading = rng.uniform(0, math.tau)
    turn = rng.choice((-1, 1))  # clockwise or not

    def unit(angle: float) -> tuple[float, float]:
        r = 1 + sum(a * math.sin(k * angle + p) for k, a, p in wobble)
        return r, sum(a * k * math.cos(k * angle + p) for k, a, p in wobble)

    steps = 360
    radius = perimeter / sum(
        math.hypot(*unit(math.tau * i / steps)) * math.tau / steps for i in range(steps)
    )

    def shape(angle: float) -> tuple[float, float, float]:
        r, dr = unit(angle)
        bearing = heading + turn * angle
        return radius * r * math.cos(bearing), radius * r * math.sin(bearing), radius * dr

    return shape


def _route(rng: random.Random, plan: TrackPlan) -> list[TrackPoint]:
    """A bus ride from `plan.start` to `plan.end`: cruising, with stops."""
    assert plan.end is not None
    east, north = metres_between(plan.start, plan.end)
    length = math.hypot(east, north) * 1.25  # streets are not straight
    xy: list[tuple[float, float]] = []
    travelled, next_stop = 0.0, rng.uniform(300, 500)
    while travelled < length:
        f = travelled / length
        bend = 0.08 * math.sin(math.pi * f) * math.sin(3 * math.pi * f)
        xy.append((east * f - north * bend, north * f + east * bend))
        if travelled >= next_stop:  # 10-25 s at a stop: the same place, fix after fix
            xy += [xy[-1]] * rng.randint(2, 5)
            next_stop += rng.uniform(300, 500)
        travelled += rng.uniform(*SPORTS["bus"].speed_mps) * SAMPLE_S
    xy.append((east, north))
    fractions = [i / (len(xy) - 1) for i in range(len(xy))]
    return _points(rng, plan, xy, fractions)


def _points(
    rng: random.Random, plan: TrackPlan, xy: list[tuple[float, float]], fractions: list[float]
) -> list[TrackPoint]:
    """Timed points with sensor values, from offsets (metres east, north) of the start."""
    start_utc = plan.start_at.astimezone(UTC)
    rows = zip(xy, _gps_noise(rng, len(xy)), _elevations(rng, plan, fractions), strict=True)
    heart_rates = _heart_rates(rng, SPORTS[plan.sport], len(xy))
    points = []
    for i, (((x, y), (dx, dy), ele), hr) in enumerate(zip(rows, heart_rates, strict=True)):
        lat, lon = shift(plan.start, x + dx, y + dy)
        # Step in UTC, then convert: the offset is then right even across a DST switch.
        at = (start_utc + timedelta(seconds=i * SAMPLE_S)).astimezone(plan.start_at.tzinfo)
        cadence = _cadence(rng, plan.sport)
        points.append(TrackPoint(at, round(lat, 7), round(lon, 7), ele, hr, cadence))
    return points


def _gps_noise(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """GPS error in metres (about 1.4 m): it drifts from fix to fix, it does not jump."""
    dx = dy = 0.0
    noise = []
    for _ in range(count):
        dx, dy = 0.9 * dx + rng.gauss(0, 0.6), 0.9 * dy + rng.gauss(0, 0.6)
        noise.append((dx, dy))
    return noise


def _elevations(rng: random.Random, plan: TrackPlan, fractions: list[float]) -> list[float]:
    """Up to the far side of the loop and back (or across to `plan.end`), with bumps."""
    climb = SPORTS[plan.sport].climb_m
    rise = (plan.end.ele_m if plan.end else plan.start.ele_m) - plan.start.ele_m
    phase = rng.uniform(0, math.tau)
    return [
        round(
            plan.start.ele_m
            + rise * f
            + climb * (1 - math.cos(math.tau * f)) / 2
            + 2 * math.sin(3 * math.tau * f + phase)
            + rng.gauss(0, 0.3),
            1,
        )
        for f in fractions
    ]


def _heart_rates(rng: random.Random, sport: Sport, count: int) -> list[int | None]:
    """Beats per minute warming up to a steady effort; None when no strap is worn."""
    if sport.hr_bpm is None:
        return [None] * count
    steady = rng.randint(*sport.hr_bpm)
    warm_up = [1 - math.exp(-i * SAMPLE_S / 120) for i in range(count)]
    return [round(95 + (steady - 95) * w + rng.gauss(0, 2)) for w in warm_up]


def _cadence(rng: random.Random, name: str) -> int | None:
    sport = SPORTS[name]
    if sport.cadence is None:
        return None
    if name == "cycling" and rng.random() < 0.06:
        return 0  # freewheeling downhill or at a light: real files are full of zeros
    low, high = sport.cadence
    return round(rng.gauss((low + high) / 2, (high - low) / 6))
