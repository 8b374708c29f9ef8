"""The demo persona: a year of one person's life written as real export files.

`write_demo()` invents Alex, who lives by London Bridge, works at King's
Cross and spends a week of July in Barcelona, and writes the files Alex's
apps, devices and banks would export, in their real formats, so that the demo
goes through the very importers real files do:

    apple_health/export.zip      Apple Health: an iPhone and an Apple Watch
                                 (steps from both, overlapping), heart rate,
                                 resting HR, HRV with beats, body mass, sleep
                                 stages, workouts with routes (`_apple_health`)
    google/Takeout/Location History/Records.json and Semantic Location
                                 History/YYYY/YYYY_MONTH.json, then
    google/Timeline.json         the on-device Timeline for the latest months
                                 (`_google`)
    bank/MonzoDataExport_*.csv   the current account (Monzo's CSV)
    bank/barclaycard_*.ofx       the credit card, OFX 2, one file a month
    bank/savings_camt053_*.xml   the savings account, camt.053.001.08 (`_bank`)
    energy/electricity_green_button.xml
                                 hourly electricity, NAESB ESPI (`_green_button`)
    gpx/*.gpx                    Strava's copy of every workout, the yearly
                                 bus ride, and saved places (`_gpx`)
    fit/*.fit                    the Garmin Edge's rides (`_fit`)

Every file is drawn from one plan of the year (`_life`: where Alex is, minute
by minute, when Alex sleeps, trains and pays), so the domains agree: the
Barcelona week shows in the location history, on the card in euros, on the
Watch's clock at +02:00, in the sleep data and on the electricity meter.

The same seed and `today` give byte-identical files. `generate()` also
returns a `DemoTruth`: what the files hold, computed from the plan and the
samples as written (`_truth`), never by the analytics, so tests can compare
the analytics' answers with it.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths, truth = generate(Path(folder))
    >>> truth.workouts_by_sport
    {'cycling': 14, 'hiking': 1, 'running': 21}
    >>> sorted(truth.countries)
    ['ES', 'GB']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from selfdata.demo import (
    _apple_health,
    _bank,
    _devices,
    _fit,
    _google,
    _gpx,
    _green_button,
    _ledger,
    _truth,
)
from selfdata.demo._life import Life, Stay, Workout, plan_life
from selfdata.demo._persona import ALEX, EARTH_RADIUS_M, Persona, Place
from selfdata.demo._tracks import track_distance_m

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
GPX_CREATOR = _gpx.GPX_CREATOR
# Track types that are a ride in a vehicle (a trip), not a workout.
VEHICLE_TYPES = frozenset({"bus"})
NightTruth = _truth.NightTruth
Subscription = _ledger.Subscription


@dataclass(frozen=True)
class TrackTruth:
    """What one written GPX track holds, computed from the points as written."""

    path: Path
    sport: str  # the GPX <type>: running, cycling, hiking or bus
    start_at: datetime  # aware, in the local offset written in the file
    end_at: datetime
    points: int
    distance_m: float  # haversine over consecutive points, EARTH_RADIUS_M


@dataclass(frozen=True)
class DemoTruth:
    """The facts the demo files hold, for tests to compare imports and analytics with.

    Attributes:
        tracks: the Strava GPX tracks (workouts and the bus ride), in time order.
        waypoints: saved places in favourites.gpx.
        daily_steps: steps per local day, each minute counted once across the
            Watch and the iPhone, as `health.daily()` documents it.
        nights: every night slept, dated by the local day of waking.
        spending: money out per (first of month, category, currency), as the
            shipped rules categorise it, transfers left out.
        subscriptions: the subscriptions and bills, with each amount charged.
        other_regular: regular payments that are no subscription (the monthly
            cinema at a fixed price), which `spending.recurring()` finds too.
        home, work: where Alex lives and works.
        countries: local days spent in each country (ISO code).
        baseload_w: the flat's always-on load, and the most the fridge adds.
        energy_months: kWh and cost (GBP) per local month of the meter readings.
        workout_months: workouts per (first of month, sport), each counted once
            however many devices recorded it.
        transfer_pairs: transfers between Alex's accounts (each written on both sides).
        naps: local days with an afternoon nap (naps are not nights).
        watch_forgotten: days the Watch stayed on its charger until the evening.
        holidays: the first days of the Barcelona weeks (seven days, travel included).
    """

    tracks: tuple[TrackTruth, ...]
    waypoints: int
    daily_steps: dict[date, float]
    nights: tuple[NightTruth, ...]
    spending: dict[tuple[date, str | None, str], Decimal]
    subscriptions: tuple[Subscription, ...]
    other_regular: tuple[Subscription, ...]
    home: Place
    work: Place
    countries: dict[str, int]
    baseload_w: tuple[float, float]
    energy_months: dict[date, tuple[float, Decimal]]
    workout_months: dict[tuple[date, str], int]
    transfer_pairs: int
    naps: tuple[date, ...]
    watch_forgotten: tuple[date, ...]
    holidays: tuple[date, ...]

    @property
    def workouts(self) -> tuple[TrackTruth, ...]:
        """Tracks that are workouts, in time order."""
        return tuple(t for t in self.tracks if t.sport not in VEHICLE_TYPES)

    @property
    def trips(self) -> tuple[TrackTruth, ...]:
        """Tracks that are rides in a vehicle (the bus to work), in time order."""
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
        """Every <trkpt> written to the Strava GPX files, the bus ride included."""
        return sum(t.points for t in self.tracks)

    @property
    def nights_with_stages(self) -> tuple[NightTruth, ...]:
        """The nights the Watch was worn: those with sleep stages."""
        return tuple(n for n in self.nights if n.asleep_min is not None)

    @property
    def average_asleep_min(self) -> float:
        """Mean minutes asleep over the nights with stages."""
        staged = self.nights_with_stages
        return sum(n.asleep_min or 0.0 for n in staged) / len(staged)


def write_demo(
    folder: Path, *, years: int = 1, seed: int = 7, today: date | None = None
) -> list[Path]:
    """Write the demo persona's export files into `folder` and return their paths.

    Args:
        folder: where to write; created if missing. Files already there are
            overwritten only where a demo file has the same name.
        years: how many years before `today` the persona's data covers; more
            years make proportionally more data, for benchmarks.
        seed: the same seed and `today` give byte-identical files.
        today: the day after the period ends; `DEMO_TODAY` by default.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths = write_demo(Path(folder))
        ...     print(paths[0].relative_to(folder).as_posix())
        apple_health/export.zip
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
    folder = Path(folder)
    life = plan_life(ALEX, today=today or DEMO_TODAY, years=years, seed=seed)
    recording = _devices.record(life, seed)
    entries = _ledger.ledger(life, seed)
    readings = _green_button.readings(life, seed)
    export = folder / "apple_health" / "export.zip"
    _apple_health.write_export(export, life, recording)
    paths = [export]
    paths += _google.write_google(folder / "google", life, seed)
    paths += _bank.write_bank(folder / "bank", life, entries)
    energy = folder / "energy" / "electricity_green_button.xml"
    paths.append(_green_button.write_green_button(energy, life, readings))
    tracks = [_track_truth(folder / "gpx", w) for w in life.workouts]
    paths += [t.path for t in tracks]
    favourites = (ALEX.home, ALEX.work, ALEX.gym)
    paths.append(_gpx.write_favourites(folder / "gpx" / "favourites.gpx", favourites))
    paths += [_fit.write_ride(folder / "fit", w) for w in life.workouts if w.recorder == "garmin"]
    truth = DemoTruth(
        tracks=tuple(tracks),
        waypoints=len(favourites),
        daily_steps=_truth.daily_steps(recording.samples),
        nights=tuple(_truth.nights(life.nights, recording.samples)),
        spending=_truth.monthly_spending(entries),
        subscriptions=tuple(_ledger.subscriptions(life)),
        other_regular=tuple(_ledger.other_regular(life, entries)),
        home=ALEX.home,
        work=ALEX.work,
        countries=_countries(life),
        baseload_w=(float(_green_button.BASELOAD_W), float(_green_button.FRIDGE_W)),
        energy_months=_energy_months(life, readings),
        workout_months=_workout_months(life),
        transfer_pairs=sum(e.category == "transfers" for e in entries) // 2,
        naps=tuple(
            n.wake.astimezone(ZoneInfo(n.place.zone)).date()
            for n in life.nights
            if n.nap and n.watch
        ),
        watch_forgotten=_forgotten(life),
        holidays=life.holidays,
    )
    return paths, truth


def _track_truth(folder: Path, workout: Workout) -> TrackTruth:
    path = _gpx.write_track(folder, workout)
    points = list(workout.points)
    distance = track_distance_m(points)
    return TrackTruth(path, workout.sport, points[0].at, points[-1].at, len(points), distance)


def _countries(life: Life) -> dict[str, int]:
    """Local days with a stay of ten minutes or more in each country."""
    days: dict[str, set[date]] = {}
    for stay in life.segments:
        if isinstance(stay, Stay) and stay.end - stay.start >= timedelta(minutes=10):
            zone = ZoneInfo(stay.place.zone)
            first, last = stay.start.astimezone(zone).date(), stay.end.astimezone(zone).date()
            spanned = {first + timedelta(days=n) for n in range((last - first).days + 1)}
            days.setdefault(stay.place.country, set()).update(
                d for d in spanned if life.first <= d < life.today
            )
    return {country: len(found) for country, found in sorted(days.items())}


def _forgotten(life: Life) -> tuple[date, ...]:
    """Days the Watch stayed on its charger from the morning until the evening."""
    zone = ZoneInfo(life.persona.timezone)
    days = []
    for start, end in life.watch_off:
        local = start.astimezone(zone)
        if 4 <= local.hour < 12 and end - start > timedelta(hours=6):
            days.append(local.date())
    return tuple(days)


def _energy_months(
    life: Life, readings: list[_green_button.Reading]
) -> dict[date, tuple[float, Decimal]]:
    zone = ZoneInfo(life.persona.timezone)
    months: dict[date, tuple[float, Decimal]] = {}
    for reading in readings:
        month = reading.start.astimezone(zone).date().replace(day=1)
        kwh, cost = months.get(month, (0.0, Decimal(0)))
        months[month] = (kwh + reading.wh / 1000, cost + Decimal(reading.cost) / 100_000)
    return months


def _workout_months(life: Life) -> dict[tuple[date, str], int]:
    counted = Counter(
        (w.start.date().replace(day=1), w.sport) for w in life.workouts if w.sport != "bus"
    )
    return dict(sorted(counted.items()))
