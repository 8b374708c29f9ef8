"""Where Alex is, as data: stays at places, legs between them, nights, purchases.

`Itinerary` builds the year one move at a time and always knows where Alex
is: `go()` closes the stay at the current place and appends the leg to the
next (a walk along a gently bent street path, the tube, a taxi, a flight),
`wait()` keeps Alex somewhere a while (shopping, eating), `workout()` records
a loop from the current place. `_life` plans the days with it.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from selfdata.demo._persona import Place
from selfdata.demo._tracks import (
    TrackPlan,
    TrackPoint,
    haversine_m,
    metres_between,
    shift,
    track_distance_m,
)

__all__ = [
    "Itinerary",
    "Leg",
    "Night",
    "Purchase",
    "Segment",
    "Stay",
    "Workout",
    "local_instant",
]

_WALK_MPS = 1.35


@dataclass(frozen=True)
class Stay:
    """Alex at one place from `start` to `end` (UTC)."""

    place: Place
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Workout:
    """A recorded workout (or the yearly bus ride): its plan and the points recorded.

    `recorder` says which device recorded it: `watch` (the Apple Watch, so
    Apple Health, and Strava), `garmin` (the Edge bike computer: a FIT file,
    and Strava) or `tracker` (a GPS app: only the GPX file).
    """

    plan: TrackPlan
    points: tuple[TrackPoint, ...]
    recorder: str

    @property
    def sport(self) -> str:
        return self.plan.sport

    @property
    def start(self) -> datetime:
        return self.points[0].at

    @property
    def end(self) -> datetime:
        return self.points[-1].at

    @property
    def distance_m(self) -> float:
        return track_distance_m(list(self.points))


@dataclass(frozen=True)
class Leg:
    """Alex moving from `origin` to `dest` between `start` and `end` (UTC).

    `path` holds the corners of the way, covered at a steady pace; a
    workout's points replace it. `phone` is false when the phone stays
    behind (at home or in the gym's locker during a run): it then keeps
    reporting `origin`.
    """

    mode: str  # walking, running, cycling, hiking, bus, subway, train, taxi, flying
    origin: Place
    dest: Place
    start: datetime
    end: datetime
    path: tuple[tuple[float, float], ...]
    workout: Workout | None = None
    phone: bool = True

    @cached_property
    def distance_m(self) -> float:
        return self._reach[-1]

    def position(self, at: datetime) -> tuple[float, float]:
        """Where Alex is at `at` (UTC), on the path at a steady pace."""
        fraction = (at - self.start) / (self.end - self.start) if self.end > self.start else 1.0
        target = min(max(fraction, 0.0), 1.0) * self._reach[-1]
        i = max(1, bisect.bisect_left(self._reach, target))
        if i >= len(self.path):
            return self.path[-1]
        length = self._reach[i] - self._reach[i - 1]
        f = (target - self._reach[i - 1]) / length if length > 0 else 0.0
        (lat1, lon1), (lat2, lon2) = self.path[i - 1], self.path[i]
        return lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f

    @cached_property
    def _reach(self) -> list[float]:
        """Metres along the path at each corner."""
        reach = [0.0]
        for a, b in itertools.pairwise(self.path):
            reach.append(reach[-1] + haversine_m(*a, *b))
        return reach


Segment = Stay | Leg


@dataclass(frozen=True)
class Night:
    """A sleep: in bed from `bed` to `wake` (UTC) at `place`; `watch` if the Watch was worn.

    A nap is a Night with `nap` true: a short sleep in the afternoon.
    """

    bed: datetime
    wake: datetime
    place: Place
    watch: bool
    nap: bool = False


@dataclass(frozen=True)
class Purchase:
    """Something Alex paid for at a moment of the plan: `merchant` is a `_ledger` key."""

    at: datetime  # aware, the local time where it was bought
    merchant: str
    amount: Decimal  # positive, in `currency`
    currency: str = "GBP"


@dataclass
class Itinerary:
    """Stays and legs appended in time order; Alex is always somewhere.

    `since` is when Alex arrived where Alex is; `now` the earliest moment
    Alex can leave (later than `since` while shopping or eating).
    """

    place: Place
    since: datetime  # UTC
    segments: list[Segment] = field(default_factory=list)
    ready: datetime | None = None

    @property
    def now(self) -> datetime:
        return max(self.since, self.ready or self.since)

    def wait(self, minutes: float) -> None:
        """Stay where Alex is for at least `minutes` more."""
        self.ready = self.now + timedelta(minutes=minutes)

    def go(
        self,
        dest: Place,
        mode: str,
        depart: datetime | None = None,
        *,
        seconds: float | None = None,
        path: tuple[tuple[float, float], ...] | None = None,
    ) -> datetime:
        """Leave for `dest` at `depart` (not before now) and arrive; returns the arrival."""
        leave = max(depart or self.now, self.now)
        path = path or street_path(self.place, dest, bend=0.06 if mode == "walking" else 0.03)
        length = sum(haversine_m(*a, *b) for a, b in itertools.pairwise(path))
        took = seconds if seconds is not None else length / _SPEEDS[mode]
        self._stay_until(leave)
        arrive = leave + timedelta(seconds=round(took))
        self.segments.append(Leg(mode, self.place, dest, leave, arrive, path))
        self.place, self.since, self.ready = dest, arrive, None
        return arrive

    def workout(self, workout: Workout, *, phone: bool) -> None:
        """A recorded loop (or ride) from here, at the workout's own times."""
        start = workout.start.astimezone(UTC)
        end = workout.end.astimezone(UTC)
        dest = workout.plan.end or self.place
        self._stay_until(max(start, self.now))
        path = tuple((p.lat, p.lon) for p in workout.points)
        leg = Leg(workout.sport, self.place, dest, start, end, path, workout, phone)
        self.segments.append(leg)
        self.place, self.since, self.ready = dest, end, None

    def _stay_until(self, until: datetime) -> None:
        if until > self.since:
            self.segments.append(Stay(self.place, self.since, until))
        self.since = max(self.since, until)

    def close(self, until: datetime) -> tuple[Segment, ...]:
        self._stay_until(until)
        return tuple(self.segments)


_SPEEDS = {"walking": _WALK_MPS, "bus": 4.5, "taxi": 7.5, "train": 19.0, "subway": 6.0}


def street_path(a: Place, b: Place, *, bend: float) -> tuple[tuple[float, float], ...]:
    """Corners of a way from `a` to `b`: a gently bent line, a little longer than straight."""
    east, north = metres_between(a, b)
    corners = []
    for i in range(7):
        f = i / 6
        sway = bend * math.sin(math.pi * f) * (1 if (i % 2) else 0.6)
        x, y = east * f - north * sway, north * f + east * sway
        lat, lon = shift(a, x, y)
        corners.append((round(lat, 7), round(lon, 7)))
    corners[-1] = (b.lat, b.lon)
    return tuple(corners)


def local_instant(day: date, hour: float, zone: str) -> datetime:
    """The UTC instant of `hour` (may pass 24) on `day`'s local clock in `zone`."""
    local = datetime.combine(day, time(), ZoneInfo(zone)) + timedelta(seconds=round(hour * 3600))
    # Adding to an aware datetime keeps its offset: re-read the wall time in the zone.
    wall = local.replace(tzinfo=None)
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
