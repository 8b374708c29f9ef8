"""The demo persona: a year of one person's life written as real export files.

`write_demo()` invents Alex, who lives near London Bridge, works at King's Cross
and spends a summer week in Barcelona, and writes the files Alex's apps would
export. The files go through the same importers as real ones, so `make demo`,
the notebook templates and their tests all run without anybody's private data.

For now the persona writes GPX 1.1 (https://www.topografix.com/GPX/1/1/) the
way Strava exports it, with Garmin's TrackPointExtension v1 for heart rate and
cadence (https://www8.garmin.com/xmlschemas/TrackPointExtensionv1.xsd):

    gpx/<yyyy-mm-dd>-<sport>.gpx   about three workouts a month (running,
                                   cycling, hiking) and one bus commute a year
    gpx/favourites.gpx             saved places as <wpt>, without times

Each file carries the quirks an importer must get right: local times with an
explicit offset that follows the DST switches of Europe/London, a holiday in a
zone with another offset (Europe/Madrid is +02:00 in summer; Lisbon would not
do, it shares London's +01:00), a commute that is a vehicle trip rather than a
workout, names that need XML escaping, and cycling cadence that drops to 0.

The same seed and `today` give byte-identical files, and `generate()` also
returns a `DemoTruth`, computed from the very points written, that tests of
importers and analytics compare against.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths, truth = generate(Path(folder))
    >>> truth.workouts_by_sport
    {'cycling': 11, 'hiking': 1, 'running': 24}
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

__all__ = [
    "ALEX",
    "DEMO_TODAY",
    "EARTH_RADIUS_M",
    "GPX_CREATOR",
    "VEHICLE_TYPES",
    "DemoTruth",
    "Persona",
    "Place",
    "TrackTruth",
    "generate",
    "write_demo",
]

# A fixed "today" keeps the default demo, and every figure derived from it, reproducible.
DEMO_TODAY = date(2026, 6, 30)
# The mean Earth radius most GPS tools use for haversine distances.
EARTH_RADIUS_M = 6_371_000.0
GPX_CREATOR = "selfdata demo (Strava-like)"
# Track types that are a ride in a vehicle (a trip), not a workout.
VEHICLE_TYPES = frozenset({"bus"})


@dataclass(frozen=True)
class Place:
    """A named point the persona goes to."""

    name: str
    lat: float
    lon: float
    ele_m: float


@dataclass(frozen=True)
class Persona:
    """Who the demo is about: where they live, work, train and go on holiday."""

    name: str
    timezone: str
    home: Place
    work: Place
    gym: Place
    holiday_timezone: str
    holiday_hotel: Place
    holiday_trailhead: Place


ALEX = Persona(
    name="Alex",
    timezone="Europe/London",
    home=Place("Home", 51.5079, -0.0877, 8.0),
    work=Place("Work", 51.5308, -0.1238, 24.0),
    gym=Place("Borough Gym & Spa", 51.5030, -0.0915, 6.0),
    holiday_timezone="Europe/Madrid",
    holiday_hotel=Place("Hotel, Barceloneta", 41.3809, 2.1896, 4.0),
    holiday_trailhead=Place("Carretera de les Aigües", 41.4106, 2.1199, 330.0),
)


@dataclass(frozen=True)
class TrackTruth:
    """What one written track file holds, computed from the points as written."""

    path: Path
    sport: str  # the GPX <type>: running, cycling, hiking or bus
    start_at: datetime  # aware, in the local offset written in the file
    end_at: datetime
    points: int
    distance_m: float  # haversine over consecutive points, EARTH_RADIUS_M


@dataclass(frozen=True)
class DemoTruth:
    """The facts the demo files hold, for tests to compare imports and analytics with."""

    tracks: tuple[TrackTruth, ...]
    waypoints: int

    @property
    def workouts(self) -> tuple[TrackTruth, ...]:
        """Tracks that are workouts, in time order."""
        return tuple(t for t in self.tracks if t.sport not in VEHICLE_TYPES)

    @property
    def trips(self) -> tuple[TrackTruth, ...]:
        """Tracks that are rides in a vehicle (the bus commutes), in time order."""
        return tuple(t for t in self.tracks if t.sport in VEHICLE_TYPES)

    @property
    def workouts_by_sport(self) -> dict[str, int]:
        """Number of workouts per sport, sports in alphabetical order."""
        return dict(sorted(Counter(t.sport for t in self.workouts).items()))

    @property
    def distance_m_by_sport(self) -> dict[str, float]:
        """Total workout distance per sport, in metres."""
        totals: dict[str, float] = {}
        for track in self.workouts:
            totals[track.sport] = totals.get(track.sport, 0.0) + track.distance_m
        return dict(sorted(totals.items()))

    @property
    def track_points(self) -> int:
        """Every <trkpt> written, commutes included."""
        return sum(t.points for t in self.tracks)


def write_demo(
    folder: Path, *, years: int = 1, seed: int = 7, today: date | None = None
) -> list[Path]:
    """Write the demo persona's export files into `folder` and return their paths.

    Args:
        folder: where to write; created if missing. Files already there are
            overwritten only where a demo file has the same name.
        years: how many years before `today` the persona's data covers; more
            years make proportionally more files, for benchmarks.
        seed: the same seed and `today` give byte-identical files.
        today: the day after the period ends; `DEMO_TODAY` by default.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths = write_demo(Path(folder))
        ...     print(paths[0].relative_to(folder).as_posix())
        gpx/2025-07-11-running.gpx
    """
    paths, _ = generate(folder, years=years, seed=seed, today=today)
    return paths


def generate(
    folder: Path, *, years: int = 1, seed: int = 7, today: date | None = None
) -> tuple[list[Path], DemoTruth]:
    """Like `write_demo`, and also return the `DemoTruth` of what was written.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths, truth = generate(Path(folder), years=2)
        >>> len(truth.trips), truth.waypoints
        (2, 3)
    """
    if years < 1:
        raise ValueError(f"years must be 1 or more, not {years}")
    today = today or DEMO_TODAY
    gpx_folder = Path(folder) / "gpx"
    gpx_folder.mkdir(parents=True, exist_ok=True)
    # Each format draws from its own stream, so adding a format later leaves
    # the files of the others (and every figure tested on them) unchanged.
    rng = random.Random(f"selfdata-demo:{seed}:gpx")
    tracks = [
        _write_track(gpx_folder, plan, rng)
        for plan in _plan_tracks(rng, ALEX, today=today, years=years)
    ]
    places = (ALEX.home, ALEX.work, ALEX.gym)
    favourites = gpx_folder / "favourites.gpx"
    _write_lines(favourites, _waypoint_gpx(places))
    truth = DemoTruth(tracks=tuple(tracks), waypoints=len(places))
    return [t.path for t in tracks] + [favourites], truth


# -- What Alex does, and when ------------------------------------------------


@dataclass(frozen=True)
class _Sport:
    """How one kind of track moves: speeds, durations, heart rate, cadence."""

    speed_mps: tuple[float, float]
    minutes: tuple[int, int]
    hr_bpm: tuple[int, int] | None  # steady-state range; None: no strap worn
    cadence: tuple[int, int] | None  # per foot (Garmin's convention) or pedal rpm
    climb_m: float  # height gained over the loop


# Short outings keep the default demo small (points every 5 s add up fast).
_SPORTS = {
    "running": _Sport((2.8, 3.3), (15, 26), (140, 165), (82, 90), 6.0),
    "cycling": _Sport((6.0, 8.0), (22, 34), (120, 150), (78, 92), 12.0),
    "hiking": _Sport((1.1, 1.3), (50, 65), (105, 130), (50, 58), 180.0),
    "bus": _Sport((5.0, 7.0), (0, 0), None, None, 0.0),
}
_SAMPLE_S = 5  # seconds between track points, as a watch in smart-recording mode
_HOLIDAY_DAYS = 7
_WORKOUTS_PER_MONTH = 3


@dataclass(frozen=True)
class _Plan:
    """One track to generate: what, where from, when (aware, local zone)."""

    sport: str
    name: str
    start: Place
    start_at: datetime
    minutes: float
    end: Place | None = None  # None: a loop back to `start`


def _plan_tracks(rng: random.Random, persona: Persona, *, today: date, years: int) -> list[_Plan]:
    """Every track of the period, in time order."""
    first = _years_before(today, years)
    holidays = _holiday_starts(first, today, years)
    holiday_days = {h + timedelta(days=d) for h in holidays for d in range(_HOLIDAY_DAYS)}
    plans: list[_Plan] = []
    months = 12 * years
    span = (today - first).days
    for month in range(months):
        lo = first + timedelta(days=span * month // months)
        hi = first + timedelta(days=span * (month + 1) // months)
        days = [lo + timedelta(days=d) for d in range((hi - lo).days)]
        trip = [h for h in holidays if lo <= h < hi]
        home_days = [d for d in days if d not in holiday_days]
        count = _WORKOUTS_PER_MONTH - 2 * len(trip)  # a holiday brings a run and a hike
        plans += [_home_workout(rng, persona, d) for d in sorted(rng.sample(home_days, count))]
        plans += [p for h in trip for p in _holiday_workouts(rng, persona, h)]
        if month % 12 == 4:  # one commute a year, in the autumn of the default demo
            plans.append(_commute(rng, persona, next(d for d in home_days if d.weekday() < 5)))
    return sorted(plans, key=lambda p: p.start_at)


def _home_workout(rng: random.Random, persona: Persona, day: date) -> _Plan:
    """A run or a ride from home (or a run from the gym), at a time that suits the day."""
    weekend = day.weekday() >= 5
    # Rides mostly at weekends; runs before work on weekdays.
    sport = "cycling" if rng.random() < (0.7 if weekend else 0.15) else "running"
    hour = rng.uniform(8.0, 11.0) if weekend else rng.choice((rng.uniform(6.3, 7.6), 18.5))
    start = persona.gym if sport == "running" and rng.random() < 0.25 else persona.home
    return _plan(rng, sport, start, day, hour, persona.timezone)


def _holiday_workouts(rng: random.Random, persona: Persona, first_day: date) -> list[_Plan]:
    """A beach run and a hike in the hills, both on the holiday zone's clock."""
    zone = persona.holiday_timezone
    run = _plan(rng, "running", persona.holiday_hotel, first_day + timedelta(days=1), 8.2, zone)
    hike = _plan(rng, "hiking", persona.holiday_trailhead, first_day + timedelta(days=3), 9.5, zone)
    return [replace(run, name="Barceloneta beach run"), replace(hike, name="Collserola & Tibidabo")]


def _commute(rng: random.Random, persona: Persona, day: date) -> _Plan:
    plan = _plan(rng, "bus", persona.home, day, rng.uniform(8.0, 8.5), persona.timezone)
    return replace(plan, name="Bus to work", end=persona.work)


def _plan(rng: random.Random, sport: str, start: Place, day: date, hour: float, zone: str) -> _Plan:
    seconds = int(hour * 3600) + rng.randrange(60)
    start_at = datetime.combine(day, time(), ZoneInfo(zone)) + timedelta(seconds=seconds)
    minutes = rng.uniform(*_SPORTS[sport].minutes)
    return _Plan(sport, _strava_name(sport, start_at), start, start_at, minutes)


def _strava_name(sport: str, start_at: datetime) -> str:
    """The name Strava gives an activity it was not told a name for."""
    part = ("Morning", "Lunch", "Afternoon", "Evening")[
        sum(start_at.hour >= h for h in (11, 14, 18))
    ]
    return f"{part} {dict(running='Run', cycling='Ride', hiking='Hike').get(sport, 'Activity')}"


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _holiday_starts(first: date, today: date, years: int) -> list[date]:
    """A July week in each year of the period, the whole week before `today`."""
    latest = date(today.year, 7, 10)
    if latest + timedelta(days=_HOLIDAY_DAYS) > today:
        latest = latest.replace(year=today.year - 1)
    # Clamped to the period's first day, which is then itself in July.
    return sorted(max(first, latest.replace(year=latest.year - k)) for k in range(years))


# -- Tracks: points along a path ---------------------------------------------


@dataclass(frozen=True)
class _Point:
    at: datetime  # aware, local offset
    lat: float  # rounded as written, so distances match what an importer computes
    lon: float
    ele_m: float
    hr_bpm: int | None
    cadence: int | None


def _write_track(folder: Path, plan: _Plan, rng: random.Random) -> TrackTruth:
    points = _route(rng, plan) if plan.end else _loop(rng, plan)
    path = folder / f"{plan.start_at.date().isoformat()}-{plan.sport}.gpx"
    _write_lines(path, _track_gpx(plan, points))
    distance = sum(_haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(points))
    return TrackTruth(path, plan.sport, points[0].at, points[-1].at, len(points), distance)


def _loop(rng: random.Random, plan: _Plan) -> list[_Point]:
    """A closed, wobbly loop through `plan.start`, at the sport's pace."""
    speed = rng.uniform(*_SPORTS[plan.sport].speed_mps)
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
        angle += speed * (1 + pace) * _SAMPLE_S / math.hypot(x, y, dr)
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


def _route(rng: random.Random, plan: _Plan) -> list[_Point]:
    """A bus ride from `plan.start` to `plan.end`: cruising, with stops."""
    assert plan.end is not None
    east, north = _metres_between(plan.start, plan.end)
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
        travelled += rng.uniform(*_SPORTS["bus"].speed_mps) * _SAMPLE_S
    xy.append((east, north))
    fractions = [i / (len(xy) - 1) for i in range(len(xy))]
    return _points(rng, plan, xy, fractions)


def _points(
    rng: random.Random, plan: _Plan, xy: list[tuple[float, float]], fractions: list[float]
) -> list[_Point]:
    """Timed points with sensor values, from offsets (metres east, north) of the start."""
    start_utc = plan.start_at.astimezone(UTC)
    rows = zip(xy, _gps_noise(rng, len(xy)), _elevations(rng, plan, fractions), strict=True)
    heart_rates = _heart_rates(rng, _SPORTS[plan.sport], len(xy))
    points = []
    for i, (((x, y), (dx, dy), ele), hr) in enumerate(zip(rows, heart_rates, strict=True)):
        lat, lon = _shift(plan.start, x + dx, y + dy)
        # Step in UTC, then convert: the offset is then right even across a DST switch.
        at = (start_utc + timedelta(seconds=i * _SAMPLE_S)).astimezone(plan.start_at.tzinfo)
        cadence = _cadence(rng, plan.sport)
        points.append(_Point(at, round(lat, 7), round(lon, 7), ele, hr, cadence))
    return points


def _gps_noise(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """GPS error in metres (about 1.4 m): it drifts from fix to fix, it does not jump."""
    dx = dy = 0.0
    noise = []
    for _ in range(count):
        dx, dy = 0.9 * dx + rng.gauss(0, 0.6), 0.9 * dy + rng.gauss(0, 0.6)
        noise.append((dx, dy))
    return noise


def _elevations(rng: random.Random, plan: _Plan, fractions: list[float]) -> list[float]:
    """Up to the far side of the loop and back (or across to `plan.end`), with bumps."""
    climb = _SPORTS[plan.sport].climb_m
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


def _heart_rates(rng: random.Random, sport: _Sport, count: int) -> list[int | None]:
    """Beats per minute warming up to a steady effort; None when no strap is worn."""
    if sport.hr_bpm is None:
        return [None] * count
    steady = rng.randint(*sport.hr_bpm)
    warm_up = [1 - math.exp(-i * _SAMPLE_S / 120) for i in range(count)]
    return [round(95 + (steady - 95) * w + rng.gauss(0, 2)) for w in warm_up]


def _cadence(rng: random.Random, name: str) -> int | None:
    sport = _SPORTS[name]
    if sport.cadence is None:
        return None
    if name == "cycling" and rng.random() < 0.06:
        return 0  # freewheeling downhill or at a light: real files are full of zeros
    low, high = sport.cadence
    return round(rng.gauss((low + high) / 2, (high - low) / 6))


def _metres_between(a: Place, b: Place) -> tuple[float, float]:
    """(east, north) in metres from `a` to `b`; flat-earth, fine over a city."""
    north = math.radians(b.lat - a.lat) * EARTH_RADIUS_M
    east = math.radians(b.lon - a.lon) * EARTH_RADIUS_M * math.cos(math.radians(a.lat))
    return east, north


def _shift(origin: Place, east: float, north: float) -> tuple[float, float]:
    lat = origin.lat + math.degrees(north / EARTH_RADIUS_M)
    lon = origin.lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(origin.lat))))
    return lat, lon


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


# -- GPX text ----------------------------------------------------------------

_GPX_OPEN = (
    '<gpx version="1.1" creator={creator}'
    ' xmlns="http://www.topografix.com/GPX/1/1"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
    ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
    " http://www.topografix.com/GPX/1/1/gpx.xsd"
    " http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
    ' http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd">'
)


def _track_gpx(plan: _Plan, points: list[_Point]) -> Iterator[str]:
    """The lines of a one-track GPX file, in the element order GPX 1.1 requires."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _GPX_OPEN.format(creator=quoteattr(GPX_CREATOR)) + "\n"
    yield f" <metadata>\n  <time>{points[0].at.isoformat()}</time>\n </metadata>\n"
    yield f" <trk>\n  <name>{escape(plan.name)}</name>\n  <type>{escape(plan.sport)}</type>\n"
    yield "  <trkseg>\n"
    # One line per point, where Strava gives each element its own line:
    # whitespace means nothing in GPX, and this keeps the default demo under 3 MB.
    for p in points:
        yield (
            f'   <trkpt lat="{p.lat:.7f}" lon="{p.lon:.7f}"><ele>{p.ele_m:.1f}</ele>'
            f"<time>{p.at.isoformat()}</time>{_extensions(p)}</trkpt>\n"
        )
    yield "  </trkseg>\n </trk>\n</gpx>\n"


def _extensions(point: _Point) -> str:
    """Garmin's TrackPointExtension, or nothing for a phone without sensors."""
    fields = ""
    if point.hr_bpm is not None:
        fields += f"<gpxtpx:hr>{point.hr_bpm}</gpxtpx:hr>"
    if point.cadence is not None:
        fields += f"<gpxtpx:cad>{point.cadence}</gpxtpx:cad>"
    if not fields:
        return ""
    return (
        f"<extensions><gpxtpx:TrackPointExtension>{fields}"
        "</gpxtpx:TrackPointExtension></extensions>"
    )


def _waypoint_gpx(places: Iterable[Place]) -> Iterator[str]:
    """A GPX file of saved places: <wpt> only, no times, as map apps export favourites."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _GPX_OPEN.format(creator=quoteattr(GPX_CREATOR)) + "\n"
    for place in places:
        yield (
            f' <wpt lat="{place.lat:.7f}" lon="{place.lon:.7f}">\n'
            f"  <ele>{place.ele_m:.1f}</ele>\n"
            f"  <name>{escape(place.name)}</name>\n"
            "  <sym>Flag, Blue</sym>\n"
            " </wpt>\n"
        )
    yield "</gpx>\n"


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    # newline="\n": the same bytes on every platform, for the determinism promise.
    with path.open("w", encoding="utf-8", newline="\n") as file:
        file.writelines(lines)
