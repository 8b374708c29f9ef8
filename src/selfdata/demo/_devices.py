"""What Alex's Apple Watch, iPhone and bathroom scale record from the plan of the year.

The plan says where Alex is and when Alex sleeps; this module turns it into
the samples each device writes to HealthKit, with each device's habits:

- **Steps.** Alex takes steps in bouts: every walk of the itinerary, runs and
  the hike, and short shuffles at home, at the office and in Barcelona while
  awake. The Watch records a bout when it is on the wrist (not on the
  charger in the morning, not on the days it was forgotten) in samples of one
  to five minutes; the iPhone records it when it is carried (out of the
  house, except on runs, when it stays behind; at home only now and then) in
  longer samples that start and end a little later, and counts about a tenth
  fewer steps. So the two overlap most of the day and differ where one of
  them was not there: the truth is the Watch where it recorded, the phone
  where only it did, minute by minute.
- **Distance** walking and running, from the same bouts and samples.
- **Heart rate** every few minutes while the Watch is worn (every 5 s in a
  workout), **resting heart rate** once a day, **HRV** (SDNN) once a night
  with the beat-to-beat list, **active energy** with each step sample and
  workout.
- **Sleep**: the iPhone's `InBed` from bedtime to waking every night; the
  Watch's stages (core, deep, REM, short awakenings) on nights it is worn,
  and a short `AsleepCore` for afternoon naps.
- **Body mass** from a Withings scale through its Health Mate app, three
  mornings a week at home.

Every sample carries the time zone Alex's devices were in (London, or Madrid
for the Barcelona week), so dates come out with the right local offset.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from selfdata.demo._life import Leg, Life, Night, Stay, Workout

__all__ = ["PHONE", "SCALE", "WATCH", "Recording", "Sample", "record"]

WATCH = "Alex\u2019s Apple Watch"  # Apple writes the typographic apostrophe
PHONE = "Alex\u2019s iPhone"
SCALE = "Health Mate"

_STEP = "HKQuantityTypeIdentifierStepCount"
_DISTANCE = "HKQuantityTypeIdentifierDistanceWalkingRunning"
_ENERGY = "HKQuantityTypeIdentifierActiveEnergyBurned"
_HEART = "HKQuantityTypeIdentifierHeartRate"
_RESTING = "HKQuantityTypeIdentifierRestingHeartRate"
_HRV = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
_MASS = "HKQuantityTypeIdentifierBodyMass"
_SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
_STRIDE_M = {"walking": 0.74, "running": 1.12, "hiking": 0.68, "shuffle": 0.55}


@dataclass(frozen=True)
class Sample:
    """One HealthKit sample as it will be written: type, source, UTC span, value."""

    type: str
    source: str
    start: datetime
    end: datetime
    value: str  # as written: a number, or a category value
    unit: str | None
    zone: str  # the zone of the device's clock: the dates' offsets
    metadata: tuple[tuple[str, str], ...] = ()
    beats: tuple[tuple[int, str], ...] = ()  # HRV: (bpm, local time of day)

    def __post_init__(self) -> None:
        # Apple writes whole seconds: the truth must see the times as written.
        if self.start.microsecond:
            object.__setattr__(self, "start", self.start.replace(microsecond=0))
        if self.end.microsecond:
            object.__setattr__(self, "end", self.end.replace(microsecond=0))


@dataclass(frozen=True)
class Bout:
    """A stretch of steps: what Alex really walked."""

    start: datetime
    end: datetime
    steps: int
    kind: str  # walking, running, hiking or shuffle
    zone: str
    phone: bool  # the phone was carried


@dataclass
class Recording:
    """Everything the devices wrote, in no particular order."""

    samples: list[Sample] = field(default_factory=list)
    watch_workouts: list[Workout] = field(default_factory=list)
    bouts: list[Bout] = field(default_factory=list)


def record(life: Life, seed: int) -> Recording:
    """The samples of the whole period, from the plan."""
    rng = random.Random(f"selfdata-demo:{seed}:devices")
    wrist = _Wrist(life)
    recording = Recording()
    recording.bouts = list(_bouts(rng, life))
    for bout in recording.bouts:
        if wrist.on(bout.start, bout.end):
            recording.samples += _watch_steps(rng, bout)
        if bout.phone:
            recording.samples += _phone_steps(rng, bout)
    recording.samples += _sleep(rng, life)
    recording.samples += _heart(rng, life, wrist)
    recording.samples += _daily(rng, life, wrist)
    recording.watch_workouts = [w for w in life.workouts if w.recorder == "watch"]
    for workout in recording.watch_workouts:
        recording.samples += _workout_samples(workout)
    return recording


# -- Steps --------------------------------------------------------------------


def _bouts(rng: random.Random, life: Life) -> Iterator[Bout]:
    asleep = _Asleep(life.nights)
    for segment in life.segments:
        if isinstance(segment, Leg) and segment.mode in ("walking", "running", "hiking"):
            cadence = {"walking": (98, 114), "running": (160, 174), "hiking": (96, 110)}
            minutes = (segment.end - segment.start).total_seconds() / 60
            steps = round(minutes * rng.uniform(*cadence[segment.mode]))
            zone = segment.dest.zone
            yield Bout(segment.start, segment.end, steps, segment.mode, zone, segment.phone)
        elif isinstance(segment, Stay):
            yield from _shuffles(rng, segment, asleep, life)


def _shuffles(rng: random.Random, stay: Stay, asleep: _Asleep, life: Life) -> Iterator[Bout]:
    """Short bouts of steps every half hour or so while awake at a place."""
    at_home = stay.place == life.persona.home
    at = stay.start + timedelta(seconds=rng.expovariate(1 / 900))
    while at < stay.end:
        seconds = rng.uniform(20, 150)
        end = min(at + timedelta(seconds=seconds), stay.end)
        if not asleep.during(at, end) and end > at:
            steps = round((end - at).total_seconds() / 60 * rng.uniform(55, 95))
            carried = not at_home or rng.random() < 0.3
            yield Bout(at, end, steps, "shuffle", stay.place.zone, carried)
        at = end + timedelta(seconds=rng.expovariate(1 / 1500))


def _watch_steps(rng: random.Random, bout: Bout) -> list[Sample]:
    """The Watch: samples of one to five minutes, about every step counted."""
    counted = round(bout.steps * rng.uniform(0.98, 1.02))
    return _step_samples(rng, bout, WATCH, counted, bout.start, bout.end, (60, 300))


def _phone_steps(rng: random.Random, bout: Bout) -> list[Sample]:
    """The iPhone in a pocket: longer samples, starting and ending a little late, fewer steps."""
    counted = round(bout.steps * rng.uniform(0.85, 0.95))
    start = bout.start + timedelta(seconds=rng.uniform(2, 25))
    end = bout.end + timedelta(seconds=rng.uniform(2, 25))
    return _step_samples(rng, bout, PHONE, counted, start, end, (150, 600))


def _step_samples(
    rng: random.Random,
    bout: Bout,
    source: str,
    steps: int,
    start: datetime,
    end: datetime,
    chunk_s: tuple[int, int],
) -> list[Sample]:
    """`steps` over start..end cut into samples; a distance sample beside each."""
    cuts = [start]
    while (end - cuts[-1]).total_seconds() > chunk_s[1]:
        cuts.append(cuts[-1] + timedelta(seconds=round(rng.uniform(*chunk_s), 3)))
    cuts.append(end)
    total = (end - start).total_seconds()
    samples: list[Sample] = []
    given = 0
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        share = (b - start).total_seconds() / total if i < len(cuts) - 2 else 1.0
        count = round(steps * share) - given
        given += count
        if count <= 0:
            continue
        km = count * _STRIDE_M[bout.kind] / 1000
        samples.append(Sample(_STEP, source, a, b, str(count), "count", bout.zone))
        samples.append(Sample(_DISTANCE, source, a, b, f"{km:.5f}", "km", bout.zone))
        if source == WATCH:
            samples.append(Sample(_ENERGY, source, a, b, f"{count * 0.041:.3f}", "kcal", bout.zone))
    return samples


# -- Sleep --------------------------------------------------------------------


def _sleep(rng: random.Random, life: Life) -> Iterator[Sample]:
    for night in life.nights:
        zone = night.place.zone
        if night.nap:
            if not night.watch:
                continue  # only the Watch notices a nap
            meta = (("HKTimeZone", zone),)
            value = "HKCategoryValueSleepAnalysisAsleepCore"
            yield Sample(_SLEEP, WATCH, night.bed, night.wake, value, None, zone, meta)
            continue
        meta = (("HKTimeZone", zone),)
        value = "HKCategoryValueSleepAnalysisInBed"
        yield Sample(_SLEEP, PHONE, night.bed, night.wake, value, None, zone, meta)
        if night.watch:
            for stage, start, end in _stages(rng, night):
                value = f"HKCategoryValueSleepAnalysis{stage}"
                yield Sample(_SLEEP, WATCH, start, end, value, None, zone, meta)


def _stages(rng: random.Random, night: Night) -> Iterator[tuple[str, datetime, datetime]]:
    """Sleep cycles of about 90 minutes: core, deep (early in the night), core, REM (later),
    now and then a minute or two awake; contiguous, from falling asleep to the last waking."""
    at = night.bed + timedelta(minutes=rng.uniform(6, 22))
    last = night.wake - timedelta(minutes=rng.uniform(1, 9))
    cycle = 0
    while at < last - timedelta(minutes=5):
        deep = max(0.0, rng.gauss(24 - 6 * cycle, 5))
        plan = [
            ("AsleepCore", rng.uniform(25, 45)),
            ("AsleepDeep", deep),
            ("AsleepCore", rng.uniform(8, 20)),
            ("AsleepREM", rng.uniform(8, 16) + 5 * cycle),
        ]
        if rng.random() < 0.5:
            plan.append(("Awake", rng.uniform(0.5, 4)))
        for stage, minutes in plan:
            end = min(at + timedelta(seconds=round(minutes * 60)), last)
            if end - at >= timedelta(seconds=30):
                yield stage, at, end
                at = end
        cycle += 1


# -- Heart and the rest of the day --------------------------------------------


def _heart(rng: random.Random, life: Life, wrist: _Wrist) -> Iterator[Sample]:
    """Heart rate every few minutes while worn, except in Watch workouts (every 5 s there)."""
    asleep = _Asleep(life.nights)
    busy = sorted(
        (w.start.astimezone(UTC), w.end.astimezone(UTC))
        for w in life.workouts
        if w.recorder == "watch"
    )
    at = life.segments[0].start
    for segment in life.segments:
        moving = isinstance(segment, Leg)
        zone = segment.place.zone if isinstance(segment, Stay) else life.zone_at(segment.start)
        while at < segment.end:
            sleeping = asleep.during(at, at)
            if wrist.on(at, at) and not _inside(busy, at):
                lift = -5 if sleeping else 28 if moving else 14
                bpm = round(_resting(life, at) + lift + rng.gauss(0, 4))
                motion = "1" if not sleeping and rng.random() < 0.3 else "0"
                meta = (("HKMetadataKeyHeartRateMotionContext", motion),)
                yield Sample(_HEART, WATCH, at, at, str(bpm), "count/min", zone, meta)
            step = rng.uniform(1200, 2100) if sleeping else rng.uniform(420, 960)
            at += timedelta(seconds=round(step))


def _resting(life: Life, at: datetime) -> float:
    """Resting heart rate falls a little over the year, as Alex gets fitter."""
    progress = (at.date() - life.first).days / max(1, (life.today - life.first).days)
    return 58 - 3 * progress


def _daily(rng: random.Random, life: Life, wrist: _Wrist) -> Iterator[Sample]:
    """Resting heart rate once a day, HRV once a night, body mass three mornings a week."""
    nights = [n for n in life.nights if not n.nap]
    for night in nights:
        zone = night.place.zone
        local = night.wake.astimezone(ZoneInfo(zone))
        if wrist.on(night.wake - timedelta(hours=3), night.wake - timedelta(hours=3)):
            day = local.replace(hour=0, minute=4, second=0, microsecond=0)
            value = f"{_resting(life, night.wake) + rng.gauss(0, 1.5):.0f}"
            span = (day.astimezone(UTC), (day + timedelta(hours=23, minutes=52)).astimezone(UTC))
            yield Sample(_RESTING, WATCH, *span, value, "count/min", zone)
            yield _hrv(rng, night, zone)
        if local.weekday() in (0, 2, 5) and night.place == life.persona.home:
            weighed = night.wake + timedelta(minutes=rng.uniform(8, 20))
            progress = (local.date() - life.first).days / max(1, (life.today - life.first).days)
            kg = 74.8 - 1.7 * progress + rng.gauss(0, 0.35)
            meta = (("HKWasUserEntered", "0"), ("Withings User Identifier", "31842207"))
            yield Sample(_MASS, SCALE, weighed, weighed, f"{kg:.2f}", "kg", zone, meta)


def _hrv(rng: random.Random, night: Night, zone: str) -> Sample:
    """SDNN over a minute of sleep, with the beat-to-beat list the Watch attaches."""
    start = night.bed + (night.wake - night.bed) * 0.3
    start = start.replace(microsecond=0)
    beats: list[tuple[int, str]] = []
    at = start
    while at < start + timedelta(seconds=60):
        bpm = round(rng.gauss(56, 4))
        local = at.astimezone(ZoneInfo(zone))
        beats.append((bpm, f"{local:%H:%M:%S}.{local.microsecond // 10000:02d}"))
        at += timedelta(seconds=60 / bpm)
    sdnn = f"{max(18.0, rng.gauss(48, 9)):.5f}"
    return Sample(
        _HRV, WATCH, start, start + timedelta(seconds=60), sdnn, "ms", zone, (), tuple(beats)
    )


def _workout_samples(workout: Workout) -> Iterator[Sample]:
    """During a Watch workout: heart rate from every track point, and the energy burned."""
    zone = str(workout.start.tzinfo)
    meta = (("HKMetadataKeyHeartRateMotionContext", "2"),)
    for point in workout.points:
        if point.hr_bpm is not None:
            at = point.at.astimezone(UTC)
            yield Sample(_HEART, WATCH, at, at, str(point.hr_bpm), "count/min", zone, meta)
    start, end = workout.start.astimezone(UTC), workout.end.astimezone(UTC)
    yield Sample(_ENERGY, WATCH, start, end, f"{workout_kcal(workout):.3f}", "kcal", zone)


def workout_kcal(workout: Workout) -> float:
    """What the Watch says a workout burned: by sport and minutes."""
    minutes = (workout.end - workout.start).total_seconds() / 60
    return minutes * {"running": 11.2, "hiking": 6.4}.get(workout.sport, 8.0)


# -- When the Watch is worn, when Alex is asleep -----------------------------


class _Wrist:
    """Whether the Watch is on the wrist: off during the plan's `watch_off` spans."""

    def __init__(self, life: Life) -> None:
        spans = sorted(life.watch_off)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def on(self, start: datetime, end: datetime) -> bool:
        """Worn the whole time from `start` to `end`."""
        # Spans do not overlap and last under a day: look back a day at most.
        i = bisect.bisect_right(self.starts, end) - 1
        while i >= 0 and self.starts[i] > start - timedelta(days=1):
            if start <= self.ends[i]:
                return False
            i -= 1
        return i < 0 or self.ends[i] < start


class _Asleep:
    """Whether a moment falls in a night's sleep (naps included)."""

    def __init__(self, nights: tuple[Night, ...]) -> None:
        spans = sorted((n.bed, n.wake) for n in nights)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def during(self, start: datetime, end: datetime) -> bool:
        i = bisect.bisect_right(self.starts, end) - 1
        return i >= 0 and self.ends[i] >= start


def _inside(spans: list[tuple[datetime, datetime]], at: datetime) -> bool:
    i = bisect.bisect_right(spans, (at, datetime.max.replace(tzinfo=UTC))) - 1
    return i >= 0 and spans[i][0] <= at <= spans[i][1]
