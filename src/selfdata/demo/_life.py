"""The shared plan of Alex's year: where Alex is, minute by minute, and what happens there.

`plan_life()` walks the days from the first of the period to the day before
`today` and builds one continuous itinerary (`_itinerary`): `Stay`s at
places and `Leg`s between them (walking, the Northern line, a bus, a train to Gatwick, a
flight, taxis, and the workouts). Every format writer draws from it, so the
domains agree: the Barcelona week is in the location history, on the card in
euros, on the Watch's clock at +02:00, in the sleep data and as a quiet week
on the electricity meter.

A week in London: Monday to Thursday at the office (the Northern line from
London Bridge to King's Cross, lunch at Coal Drops Yard some days, the gym
some evenings, Sainsbury's on the way home on Tuesdays), Fridays working from
home (a walk to Borough Market at lunch, Wagamama some evenings), Saturdays
at Tesco and the market, Sundays a walk in Southwark Park and now and then
the cinema. Bank holidays and Christmas are spent at home. About three
workouts a month (runs before or after work, rides at weekends), plus a run
and a hike in Barcelona, and one bus ride to work a year.

The plan also says when the Apple Watch is off the wrist (charging every
morning, forgotten on the charger some days, not worn some nights), the
nights slept (bedtime and waking time), naps, and the purchases made along
the way (coffees, lunches, groceries, fares, holiday spending); the money
that moves on a calendar (salary, rent, subscriptions) is `_ledger`'s.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from selfdata.demo import _persona as places
from selfdata.demo._itinerary import (
    Itinerary,
    Leg,
    Night,
    Purchase,
    Segment,
    Stay,
    Workout,
    local_instant,
)
from selfdata.demo._persona import Persona, Place
from selfdata.demo._tracks import SPORTS, TrackPlan, track_points

__all__ = [
    "HOLIDAY_DAYS",
    "Leg",
    "Life",
    "Night",
    "Purchase",
    "Stay",
    "Workout",
    "days_of",
    "plan_life",
    "years_before",
]

HOLIDAY_DAYS = 7
_WORKOUTS_PER_MONTH = 3
# UK bank holidays in the default period (England); Alex stays home on them.
_BANK_HOLIDAYS = {
    date(2025, 8, 25),
    date(2025, 12, 25),
    date(2025, 12, 26),
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
}


@dataclass(frozen=True)
class Life:
    """The whole plan of the period: what every format writer draws from."""

    persona: Persona
    first: date
    today: date
    segments: tuple[Segment, ...]
    nights: tuple[Night, ...]
    workouts: tuple[Workout, ...]
    watch_off: tuple[tuple[datetime, datetime], ...]  # UTC spans off the wrist
    purchases: tuple[Purchase, ...]
    holidays: tuple[date, ...]  # first days of the Barcelona weeks
    office_days: tuple[date, ...]

    @property
    def days(self) -> list[date]:
        return days_of(self.first, self.today)

    @property
    def stays(self) -> list[Stay]:
        return [s for s in self.segments if isinstance(s, Stay)]

    @property
    def legs(self) -> list[Leg]:
        return [s for s in self.segments if isinstance(s, Leg)]

    def zone_at(self, at: datetime) -> str:
        """The time zone Alex's devices are set to at `at`: the zone of where Alex is."""
        segment = self.segment_at(at)
        if isinstance(segment, Leg):
            return segment.origin.zone if segment.mode == "flying" else segment.dest.zone
        return segment.place.zone

    def segment_at(self, at: datetime) -> Segment:
        """The stay or leg holding `at` (UTC); the first or last one outside the plan."""
        lo, hi = 0, len(self.segments) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.segments[mid].start <= at:
                lo = mid
            else:
                hi = mid - 1
        return self.segments[lo]


def plan_life(persona: Persona, *, today: date, years: int, seed: int) -> Life:
    """Alex's days from `years` before `today` to the day before it."""
    rng = random.Random(f"selfdata-demo:{seed}:life")
    tracks = random.Random(f"selfdata-demo:{seed}:tracks")
    first = years_before(today, years)
    holidays = _holiday_starts(first, today, years)
    days = _Days(first, today, holidays)
    workouts = _plan_workouts(rng, persona, days, years)
    day = _DayPlanner(rng, tracks, persona, days, workouts)
    for each in days_of(first, today):
        day.plan(each)
    return day.life(first, today, holidays)


def days_of(first: date, today: date) -> list[date]:
    """Every day from `first` to the day before `today`."""
    return [first + timedelta(days=n) for n in range((today - first).days)]


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (28 February for a 29th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- The calendar -------------------------------------------------------------


def _holiday_starts(first: date, today: date, years: int) -> list[date]:
    """A July week in each year of the period, the whole week before `today`."""
    latest = date(today.year, 7, 10)
    if latest + timedelta(days=HOLIDAY_DAYS) > today:
        latest = latest.replace(year=today.year - 1)
    # Clamped to the period's first day, which is then itself in July.
    return sorted(max(first, latest.replace(year=latest.year - k)) for k in range(years))


@dataclass(frozen=True)
class _Days:
    """What kind of day each day is."""

    first: date
    today: date
    holidays: list[date]

    def away(self, day: date) -> bool:
        """In Barcelona (the travel days included)."""
        return any(h <= day < h + timedelta(days=HOLIDAY_DAYS) for h in self.holidays)

    def off(self, day: date) -> bool:
        """A day off at home: a bank holiday, or Christmas to New Year."""
        christmas = date(day.year, 12, 24) <= day or day <= date(day.year, 1, 1)
        return day in _BANK_HOLIDAYS or christmas

    def kind(self, day: date) -> str:
        if self.away(day):
            return "away"
        if day.weekday() >= 5 or self.off(day):
            return "saturday" if day.weekday() == 5 else "sunday"
        return "wfh" if day.weekday() == 4 else "office"


def _plan_workouts(
    rng: random.Random, persona: Persona, days: _Days, years: int
) -> dict[date, TrackPlan]:
    """About three workouts a month from home, the holiday run and hike, a yearly bus ride."""
    plans: dict[date, TrackPlan] = {}
    months = 12 * years
    span = (days.today - days.first).days
    for month in range(months):
        lo = days.first + timedelta(days=span * month // months)
        hi = days.first + timedelta(days=span * (month + 1) // months)
        month_days = [lo + timedelta(days=d) for d in range((hi - lo).days)]
        trip = [h for h in days.holidays if lo <= h < hi]
        home_days = [d for d in month_days if not days.away(d)]
        count = _WORKOUTS_PER_MONTH - 2 * len(trip)  # a holiday brings a run and a hike
        for day in sorted(rng.sample(home_days, count)):
            plans[day] = _home_workout(rng, persona, day, days.kind(day))
        for start in trip:
            run, hike = _holiday_workouts(rng, persona, start)
            plans[run.start_at.date()] = run
            plans[hike.start_at.date()] = hike
        if month % 12 == 4:  # one bus ride a year, in the autumn of the default demo
            office = [d for d in home_days if days.kind(d) == "office" and d not in plans]
            if office:
                plans[office[0]] = _bus_ride(rng, persona, office[0])
    return plans


def _home_workout(rng: random.Random, persona: Persona, day: date, kind: str) -> TrackPlan:
    """A run or a ride from home (or a run from the gym), at a time that suits the day."""
    weekend = kind in ("saturday", "sunday")
    # Rides mostly at weekends; runs before or after work on weekdays.
    sport = "cycling" if rng.random() < (0.7 if weekend else 0.15) else "running"
    hour = rng.uniform(8.0, 10.5) if weekend else rng.choice((rng.uniform(6.3, 6.8), 18.6))
    start = persona.gym if sport == "running" and rng.random() < 0.25 else persona.home
    return _track_plan(rng, sport, start, day, hour, persona.timezone)


def _holiday_workouts(
    rng: random.Random, persona: Persona, first_day: date
) -> tuple[TrackPlan, TrackPlan]:
    """A beach run and a hike in the hills, both on the holiday zone's clock."""
    zone = persona.holiday_timezone
    run = _track_plan(rng, "running", persona.holiday_hotel, first_day + timedelta(1), 8.2, zone)
    trailhead = persona.holiday_trailhead
    hike = _track_plan(rng, "hiking", trailhead, first_day + timedelta(3), 9.5, zone)
    return replace(run, name="Barceloneta beach run"), replace(hike, name="Collserola & Tibidabo")


def _bus_ride(rng: random.Random, persona: Persona, day: date) -> TrackPlan:
    plan = _track_plan(rng, "bus", persona.home, day, rng.uniform(8.0, 8.3), persona.timezone)
    return replace(plan, name="Bus to work", end=persona.work)


def _track_plan(
    rng: random.Random, sport: str, start: Place, day: date, hour: float, zone: str
) -> TrackPlan:
    seconds = int(hour * 3600) + rng.randrange(60)
    start_at = datetime.combine(day, time(), ZoneInfo(zone)) + timedelta(seconds=seconds)
    minutes = rng.uniform(*SPORTS[sport].minutes)
    return TrackPlan(sport, _strava_name(sport, start_at), start, start_at, minutes)


def _strava_name(sport: str, start_at: datetime) -> str:
    """The name Strava gives an activity it was not told a name for."""
    part = ("Morning", "Lunch", "Afternoon", "Evening")[
        sum(start_at.hour >= h for h in (11, 14, 18))
    ]
    return f"{part} {dict(running='Run', cycling='Ride', hiking='Hike').get(sport, 'Activity')}"


# -- One day at a time --------------------------------------------------------


class _DayPlanner:
    """Plans each day in turn on one itinerary: the night before, the day, the workouts."""

    def __init__(
        self,
        rng: random.Random,
        tracks: random.Random,
        persona: Persona,
        days: _Days,
        workouts: dict[date, TrackPlan],
    ) -> None:
        self.rng, self.tracks, self.persona, self.days = rng, tracks, persona, days
        self.plans = workouts
        # The itinerary starts at the period's first midnight; the first night's
        # bedtime is the evening before.
        self.way = Itinerary(persona.home, local_instant(days.first, 0.0, persona.timezone))
        self.bed = local_instant(days.first - timedelta(days=1), 23.0, persona.timezone)
        self.nights: list[Night] = []
        self.workouts: list[Workout] = []
        self.watch_off: list[tuple[datetime, datetime]] = []
        self.purchases: list[Purchase] = []
        self.office: list[date] = []
        self.watch_at_night = True
        self.forgotten = False  # the Watch stays on its charger today

    def plan(self, day: date) -> None:
        kind = self.days.kind(day)
        plan = self.plans.get(day)
        zone = self.way.place.zone
        wake = local_instant(day, self._wake_hour(day, kind, plan), zone)
        self.nights.append(Night(self.bed, wake, self.way.place, self.watch_at_night))
        forgotten = plan is None and kind != "away" and self.rng.random() < 1 / 25
        self.forgotten = forgotten
        getattr(self, f"_{kind}")(day, wake, plan)
        self._watch_day(wake, forgotten, plan)
        self.bed = local_instant(day, self._bed_hour(day, kind), self.way.place.zone)
        self.watch_at_night = kind == "away" or self.rng.random() >= 1 / 12
        if not self.watch_at_night:
            self.watch_off.append((self.bed - timedelta(minutes=10), self.bed))

    def life(self, first: date, today: date, holidays: list[date]) -> Life:
        end = local_instant(today, 0.0, self.way.place.zone)
        segments = self.way.close(end)
        return Life(
            persona=self.persona,
            first=first,
            today=today,
            segments=segments,
            nights=tuple(n for n in self.nights if n.wake < end),
            workouts=tuple(sorted(self.workouts, key=lambda w: w.start)),
            watch_off=tuple(self.watch_off),
            purchases=tuple(self.purchases),
            holidays=tuple(holidays),
            office_days=tuple(self.office),
        )

    # -- sleep and the Watch

    def _wake_hour(self, day: date, kind: str, plan: TrackPlan | None) -> float:
        if kind == "away" and day in self.days.holidays:
            return 5.5  # the early flight
        base = {"office": 6.75, "wfh": 6.9, "saturday": 8.25, "sunday": 8.65, "away": 8.5}[kind]
        woken = base + self.rng.uniform(-0.25, 0.25)
        if plan is not None and plan.start_at.hour < 12:  # up in time for the workout
            woken = min(woken, plan.start_at.hour + plan.start_at.minute / 60 - 0.35)
        return woken

    def _bed_hour(self, day: date, kind: str) -> float:
        if kind == "away" and not self._last_holiday_day(day):
            return 24.15 + self.rng.uniform(-0.3, 0.3)
        late = day.weekday() in (4, 5)
        return (23.75 if late else 23.0) + self.rng.uniform(-0.35, 0.35)

    def _watch_day(self, wake: datetime, forgotten: bool, plan: TrackPlan | None) -> None:
        """On the charger after waking (after a morning workout), or forgotten all day."""
        if not self.watch_at_night:
            self.watch_off[-1] = (self.watch_off[-1][0], wake + timedelta(minutes=8))
            return
        start = wake + timedelta(minutes=10)
        if plan is not None and plan.start_at.astimezone(UTC) < wake + timedelta(hours=2):
            start = plan.start_at.astimezone(UTC) + timedelta(minutes=plan.minutes + 15)
        if forgotten:
            self.watch_off.append((start, local_instant(wake.date(), 19.5, self.persona.timezone)))
        else:
            self.watch_off.append((start, start + timedelta(minutes=self.rng.randint(20, 35))))

    # -- the kinds of day

    def _office(self, day: date, wake: datetime, plan: TrackPlan | None) -> None:
        self.office.append(day)
        zone = self.persona.timezone
        if plan is not None and plan.sport == "bus":
            self._record(plan)
            self._buy(self.way.now, "tfl_bus", "1.75")
        else:
            self._morning_workout(plan)
            self.way.go(
                places.LONDON_BRIDGE_STATION, "walking", local_instant(day, self._depart(), zone)
            )
            self.way.go(places.KINGS_CROSS_STATION, "subway", seconds=self._tube_s())
            self.way.go(self.persona.work, "walking")
            self._buy(self.way.now, "tfl", "2.80")
        if self.rng.random() < 0.6:
            self._buy(self.way.now + timedelta(minutes=3), "pret", "3.45")
        self._lunch(day)
        leave = local_instant(day, 17.6 + self.rng.uniform(-0.25, 0.25), zone)
        self.way.go(places.KINGS_CROSS_STATION, "walking", leave)
        self.way.go(places.LONDON_BRIDGE_STATION, "subway", seconds=self._tube_s())
        self._buy(self.way.now, "tfl", "2.80")
        if day.weekday() == 1:
            self.way.go(places.SAINSBURYS, "walking")
            self._shop("sainsburys", 12, 8.0, 26.0)
        self.way.go(self.persona.home, "walking")
        self._evening(day, plan)

    def _wfh(self, day: date, wake: datetime, plan: TrackPlan | None) -> None:
        zone = self.persona.timezone
        self._morning_workout(plan)
        self.way.go(places.BOROUGH_MARKET, "walking", local_instant(day, 12.7, zone))
        self._shop("bakery", self.rng.randint(15, 25), 3.5, 9.0)
        self.way.go(self.persona.home, "walking")
        if plan is not None and plan.start_at.hour >= 12:
            self._record(plan)
        elif self.rng.random() < 0.6:
            self.way.go(places.WAGAMAMA, "walking", local_instant(day, 19.4, zone))
            self._shop("wagamama", self.rng.randint(55, 80), 16.0, 34.0)
            self.way.go(self.persona.home, "walking")

    def _saturday(self, day: date, wake: datetime, plan: TrackPlan | None) -> None:
        zone = self.persona.timezone
        self._weekend_workout(plan)
        self.way.go(places.TESCO, "walking", local_instant(day, self.rng.uniform(11.0, 12.0), zone))
        self._shop("tesco", self.rng.randint(15, 25), 34.0, 88.0)
        self.way.go(self.persona.home, "walking")
        if self.rng.random() < 0.5:
            self.way.go(places.BOROUGH_MARKET, "walking", local_instant(day, 15.0, zone))
            self._shop("bakery", self.rng.randint(40, 60), 4.0, 12.0)
            self.way.go(self.persona.home, "walking")

    def _sunday(self, day: date, wake: datetime, plan: TrackPlan | None) -> None:
        zone = self.persona.timezone
        self._weekend_workout(plan)
        self.way.go(places.SOUTHWARK_PARK, "walking", local_instant(day, 11.5, zone))
        self.way.go(self.persona.home, "walking", self.way.now + timedelta(minutes=45))
        if self.rng.random() < 0.25:
            nap = local_instant(day, 15.4, zone) + timedelta(minutes=self.rng.randint(0, 30))
            slept = timedelta(minutes=self.rng.randint(18, 35))
            watch = not self.forgotten
            self.nights.append(Night(nap, nap + slept, self.way.place, watch, nap=True))
        if day.day <= 7 and day.weekday() == 6:  # the first Sunday of the month: a film
            self.way.go(places.CINEMA, "bus", local_instant(day, 18.4, zone))
            self._buy(self.way.now - timedelta(minutes=1), "tfl_bus", "1.75")
            self._buy(self.way.now + timedelta(minutes=4), "odeon", "12.95")
            self.way.go(self.persona.home, "bus", self.way.now + timedelta(minutes=150))
            self._buy(self.way.now - timedelta(minutes=1), "tfl_bus", "1.75")

    def _away(self, day: date, wake: datetime, plan: TrackPlan | None) -> None:
        start = max(h for h in self.days.holidays if h <= day)
        n = (day - start).days
        if n == 0:
            self._fly_out(day)
        elif self._last_holiday_day(day):
            self._fly_home(day)
        else:
            self._barcelona_day(day, n, plan)

    # -- the pieces of a day

    def _morning_workout(self, plan: TrackPlan | None) -> None:
        if plan is not None and plan.start_at.hour < 12:
            self._record(plan)

    def _weekend_workout(self, plan: TrackPlan | None) -> None:
        if plan is not None:
            self._record(plan)

    def _evening(self, day: date, plan: TrackPlan | None) -> None:
        zone = self.persona.timezone
        if plan is not None and plan.start_at.hour >= 12:
            ready = (self.way.now + timedelta(minutes=10)).astimezone(plan.start_at.tzinfo)
            self._record(replace(plan, start_at=max(plan.start_at, ready)))
        elif day.weekday() in (0, 3) and self.rng.random() < 0.6:
            self.way.go(self.persona.gym, "walking", local_instant(day, 19.0, zone))
            self.way.go(self.persona.home, "walking", self.way.now + timedelta(minutes=55))

    def _lunch(self, day: date) -> None:
        if day.weekday() in (0, 2, 3) and self.rng.random() < 0.7:
            zone = self.persona.timezone
            self.way.go(
                places.LUNCH, "walking", local_instant(day, 12.5 + self.rng.uniform(0, 0.3), zone)
            )
            self._shop(self.rng.choice(("itsu", "wasabi", "five_guys")), 28, 7.0, 13.5)
            self.way.go(self.persona.work, "walking")

    def _record(self, plan: TrackPlan) -> None:
        """Go to the workout's start if needed, record it, and come back home.

        Runs and hikes are recorded by the Watch, rides by the Garmin, the bus
        ride by a GPS app. The phone rides along on rides, hikes and the bus,
        and stays behind (at home, at the hotel, in the gym's locker) on runs.
        """
        recorder = {"cycling": "garmin", "bus": "tracker"}.get(plan.sport, "watch")
        phone = plan.sport != "running"
        plan = replace(plan, start_at=plan.start_at.replace(microsecond=0))
        if plan.start != self.way.place:
            walk_from = plan.start_at.astimezone(UTC) - timedelta(minutes=14)
            self.way.go(plan.start, "walking", walk_from)
        if self.way.now > plan.start_at:  # running late: start when there
            plan = replace(plan, start_at=self.way.now.astimezone(plan.start_at.tzinfo))
        workout = Workout(plan, tuple(track_points(self.tracks, plan)), recorder)
        self.workouts.append(workout)
        self.way.workout(workout, phone=phone)
        if plan.start == self.persona.gym:
            self.way.go(self.persona.home, "walking", self.way.now + timedelta(minutes=12))

    def _fly_out(self, day: date) -> None:
        zone = self.persona.timezone
        self.way.go(places.LONDON_BRIDGE_STATION, "walking", local_instant(day, 6.1, zone))
        self._buy(self.way.now, "trainline", "19.80")
        self.way.go(places.GATWICK, "train", self.way.now + timedelta(minutes=6))
        self._buy(self.way.now + timedelta(minutes=50), "pret_airport", "6.85")
        self.way.go(
            places.BCN_AIRPORT, "flying", local_instant(day, 9.05, zone), seconds=2 * 3600 + 600
        )
        self.way.go(self.persona.holiday_hotel, "taxi", self.way.now + timedelta(minutes=25))
        self._buy(self.way.now, "taxi_bcn", "39.50", "EUR")
        self._barcelona_outing(day, 19.5, places.BEACH, "restaurant", 48.0, 75.0)

    def _fly_home(self, day: date) -> None:
        zone = self.persona.holiday_timezone
        self._buy(
            local_instant(day, 11.0, zone), "hotel_bcn", f"{118 * (HOLIDAY_DAYS - 1):.2f}", "EUR"
        )
        self._barcelona_outing(day, 11.5, places.BOQUERIA, "bar", 14.0, 26.0)
        self.way.go(places.BCN_AIRPORT, "taxi", local_instant(day, 15.8, zone))
        self._buy(self.way.now, "taxi_bcn", "41.00", "EUR")
        self.way.go(
            places.GATWICK, "flying", local_instant(day, 18.5, zone), seconds=2 * 3600 + 300
        )
        self.way.go(places.LONDON_BRIDGE_STATION, "train", self.way.now + timedelta(minutes=40))
        self.way.go(self.persona.home, "walking")

    def _barcelona_day(self, day: date, n: int, plan: TrackPlan | None) -> None:
        zone = self.persona.holiday_timezone
        if plan is not None and plan.sport == "running":
            self._record(plan)
        if plan is not None and plan.sport == "hiking":
            ride = plan.start_at.astimezone(UTC) - timedelta(minutes=35)
            self.way.go(plan.start, "taxi", ride)
            self._buy(self.way.now, "taxi_bcn", "21.40", "EUR")
            self._record(plan)
            self.way.go(self.persona.holiday_hotel, "taxi", self.way.now + timedelta(minutes=20))
            self._buy(self.way.now, "taxi_bcn", "23.10", "EUR")
        sights = [places.SAGRADA_FAMILIA, places.BOQUERIA, places.BEACH]
        sight = sights[n % len(sights)]
        sight_at = 15.0 if plan is not None and plan.sport == "hiking" else 11.0
        self.way.go(sight, "walking", local_instant(day, sight_at, zone))
        if sight == places.SAGRADA_FAMILIA:
            self._buy(self.way.now, "sagrada", "26.00", "EUR")
        elif sight == places.BOQUERIA:
            self._shop("bar", 35, 9.0, 21.0, "EUR")
        self.way.go(self.persona.holiday_hotel, "walking", self.way.now + timedelta(minutes=90))
        if n == 2:
            self.way.go(places.CASA_BATLLO, "taxi", local_instant(day, 16.5, zone))
            self._buy(self.way.now, "taxi_bcn", "14.20", "EUR")
            self._buy(self.way.now + timedelta(minutes=5), "casa_batllo", "35.00", "EUR")
            self.way.go(self.persona.holiday_hotel, "walking", self.way.now + timedelta(hours=1))
        self._barcelona_outing(day, 20.5, places.BEACH, "restaurant", 38.0, 82.0)

    def _barcelona_outing(
        self, day: date, hour: float, place: Place, merchant: str, low: float, high: float
    ) -> None:
        zone = self.persona.holiday_timezone
        self.way.go(place, "walking", local_instant(day, hour, zone))
        self._shop(merchant, self.rng.randint(60, 100), low, high, "EUR")
        self.way.go(self.persona.holiday_hotel, "walking")

    def _last_holiday_day(self, day: date) -> bool:
        return any(day == h + timedelta(days=HOLIDAY_DAYS - 1) for h in self.days.holidays)

    # -- money spent along the way

    def _shop(
        self, merchant: str, minutes: int, low: float, high: float, currency: str = "GBP"
    ) -> None:
        """Stay `minutes` and pay about the middle of `low`..`high` on the way out."""
        paid_at = self.way.now + timedelta(minutes=minutes - 2)
        amount = self.rng.triangular(low, high)
        self._buy(paid_at, merchant, f"{amount:.2f}", currency)
        self.way.wait(minutes)

    def _buy(self, at: datetime, merchant: str, amount: str, currency: str = "GBP") -> None:
        local = at.astimezone(ZoneInfo(self.way.place.zone))
        self.purchases.append(Purchase(local, merchant, Decimal(amount), currency))

    def _depart(self) -> float:
        return 8.1 + self.rng.uniform(-0.15, 0.15)

    def _tube_s(self) -> float:
        """Northern line, London Bridge to King's Cross: waiting and riding."""
        return self.rng.uniform(15, 21) * 60
