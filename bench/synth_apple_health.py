"""Synthetic Apple Health exports, as big as a benchmark needs, written fast and in flat memory.

`write_export(path, n_records)` writes an `export.xml` (or, with `zip=True`, an
`export.zip` with the workout-route GPX files beside it) of about `n_records`
top-level elements, laid out the way the Health app writes them:

- the HealthKit Export Version 14 inline DTD, `<HealthData locale>`,
  `ExportDate`, `Me`;
- Records grouped by type, each type in date order (Apple's order), one element
  per line, children indented, attributes in Apple's order (`type`,
  `sourceName`, `sourceVersion`, `device`, `unit`, `creationDate`, `startDate`,
  `endDate`, `value`);
- two devices, an iPhone and an Apple Watch, with `<<HKDevice: ...>>` strings
  and overlapping step records; steps, heart rate (with the motion-context
  MetadataEntry), active and basal energy (kcal, and kJ from a third-party
  app), distance in km, flights, body mass in lb, HRV with beat-to-beat lists,
  sleep (InBed/Asleep before iOS 16, stages after), oxygen saturation in %,
  blood pressure (the top-level pair and the Correlation repeating it);
- Workouts with MetadataEntry, WorkoutEvent (pause/resume), WorkoutActivity and
  WorkoutStatistics children; every 25th has pre-iOS 13 total attributes and an
  inline `<Location>` route; with `zip=True` the other outdoor ones get a
  `FileReference` and a GPX member;
- one ActivitySummary per day.

Times are local to Europe/London, with its DST changes. Everything is derived
from `seed`, so the same arguments give the same bytes.

Run: `python bench/synth_apple_health.py OUT.xml N [--zip] [--seed S]`.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

__all__ = ["DTD", "write_export"]

# The inline DTD of HealthKit Export Version 14 (iOS 17 and 18), as Apple writes it.
DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth                   CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex                 CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType                     CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse   CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  totalDistance         CDATA #IMPLIED
  totalDistanceUnit     CDATA #IMPLIED
  totalEnergyBurned     CDATA #IMPLIED
  totalEnergyBurnedUnit CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  sourceVersion         CDATA #IMPLIED
  device                CDATA #IMPLIED
  creationDate          CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutActivity ((MetadataEntry)*)>
<!ATTLIST WorkoutActivity
  uuid                 CDATA #REQUIRED
  startDate            CDATA #REQUIRED
  endDate              CDATA #IMPLIED
  duration             CDATA #IMPLIED
  durationUnit         CDATA #IMPLIED
>
<!ELEMENT WorkoutEvent ((MetadataEntry)*)>
<!ATTLIST WorkoutEvent
  type                 CDATA #REQUIRED
  date                 CDATA #REQUIRED
  duration             CDATA #IMPLIED
  durationUnit         CDATA #IMPLIED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type                 CDATA #REQUIRED
  startDate            CDATA #REQUIRED
  endDate              CDATA #REQUIRED
  average              CDATA #IMPLIED
  minimum              CDATA #IMPLIED
  maximum              CDATA #IMPLIED
  sum                  CDATA #IMPLIED
  unit                 CDATA #IMPLIED
>
<!ELEMENT WorkoutRoute ((MetadataEntry|FileReference)*)>
<!ATTLIST WorkoutRoute
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT FileReference EMPTY>
<!ATTLIST FileReference
  path CDATA #REQUIRED
>
<!ELEMENT ActivitySummary EMPTY>
<!ATTLIST ActivitySummary
  dateComponents           CDATA #IMPLIED
  activeEnergyBurned       CDATA #IMPLIED
  activeEnergyBurnedGoal   CDATA #IMPLIED
  activeEnergyBurnedUnit   CDATA #IMPLIED
  appleMoveTime            CDATA #IMPLIED
  appleMoveTimeGoal        CDATA #IMPLIED
  appleExerciseTime        CDATA #IMPLIED
  appleExerciseTimeGoal    CDATA #IMPLIED
  appleStandHours          CDATA #IMPLIED
  appleStandHoursGoal      CDATA #IMPLIED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!-- Note: Heart Rate Variability records captured by Apple Watch may include an associated list of instantaneous beats-per-minute readings. -->
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
<!ELEMENT ClinicalRecord EMPTY>
<!ATTLIST ClinicalRecord
  type              CDATA #REQUIRED
  identifier        CDATA #REQUIRED
  sourceName        CDATA #REQUIRED
  sourceURL         CDATA #REQUIRED
  fhirVersion       CDATA #REQUIRED
  receivedDate      CDATA #REQUIRED
  resourceFilePath  CDATA #REQUIRED
>
<!ELEMENT Audiogram ((MetadataEntry|SensitivityPoint)*)>
<!ATTLIST Audiogram
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT SensitivityPoint EMPTY>
<!ATTLIST SensitivityPoint
  frequencyValue   CDATA #REQUIRED
  frequencyUnit    CDATA #REQUIRED
  leftEarValue     CDATA #IMPLIED
  leftEarUnit      CDATA #IMPLIED
  leftEarMasked      CDATA #IMPLIED
  leftEarClampingRangeLowerBound   CDATA #IMPLIED
  leftEarClampingRangeUpperBound   CDATA #IMPLIED
  rightEarValue    CDATA #IMPLIED
  rightEarUnit     CDATA #IMPLIED
  rightEarMasked      CDATA #IMPLIED
  rightEarClampingRangeLowerBound  CDATA #IMPLIED
  rightEarClampingRangeUpperBound  CDATA #IMPLIED
>
<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  dateIssued       CDATA #REQUIRED
  expirationDate   CDATA #IMPLIED
  brand            CDATA #IMPLIED
>
<!ELEMENT RightEye EMPTY>
<!ATTLIST RightEye
  sphere           CDATA #IMPLIED
  sphereUnit       CDATA #IMPLIED
  cylinder         CDATA #IMPLIED
  cylinderUnit     CDATA #IMPLIED
  axis             CDATA #IMPLIED
  axisUnit         CDATA #IMPLIED
  add              CDATA #IMPLIED
  addUnit          CDATA #IMPLIED
  vertex           CDATA #IMPLIED
  vertexUnit       CDATA #IMPLIED
  prismAmount      CDATA #IMPLIED
  prismAmountUnit  CDATA #IMPLIED
  prismAngle       CDATA #IMPLIED
  prismAngleUnit   CDATA #IMPLIED
  farPD            CDATA #IMPLIED
  farPDUnit        CDATA #IMPLIED
  nearPD           CDATA #IMPLIED
  nearPDUnit       CDATA #IMPLIED
  baseCurve        CDATA #IMPLIED
  baseCurveUnit    CDATA #IMPLIED
  diameter         CDATA #IMPLIED
  diameterUnit     CDATA #IMPLIED
>
<!ELEMENT LeftEye EMPTY>
<!ATTLIST LeftEye
  sphere           CDATA #IMPLIED
  sphereUnit       CDATA #IMPLIED
  cylinder         CDATA #IMPLIED
  cylinderUnit     CDATA #IMPLIED
  axis             CDATA #IMPLIED
  axisUnit         CDATA #IMPLIED
  add              CDATA #IMPLIED
  addUnit          CDATA #IMPLIED
  vertex           CDATA #IMPLIED
  vertexUnit       CDATA #IMPLIED
  prismAmount      CDATA #IMPLIED
  prismAmountUnit  CDATA #IMPLIED
  prismAngle       CDATA #IMPLIED
  prismAngleUnit   CDATA #IMPLIED
  farPD            CDATA #IMPLIED
  farPDUnit        CDATA #IMPLIED
  nearPD           CDATA #IMPLIED
  nearPDUnit       CDATA #IMPLIED
  baseCurve        CDATA #IMPLIED
  baseCurveUnit    CDATA #IMPLIED
  diameter         CDATA #IMPLIED
  diameterUnit     CDATA #IMPLIED
>
<!ELEMENT Attachment EMPTY>
<!ATTLIST Attachment
  identifier       CDATA #IMPLIED
>
]>
"""  # noqa: E501 - Apple's own lines, kept byte for byte

LOCALE = "en_GB"
ZONE = ZoneInfo("Europe/London")
LAST_DAY = date(2025, 3, 30)  # the data ends the day before; the export is the next morning
IOS16_DAY = date(2022, 9, 12)  # sleep stages (Core, Deep, REM) from here on
EXPORT_FOLDER = "apple_health_export"
HOME = (51.4613, -0.1156)  # where routes start: south London

Q = "HKQuantityTypeIdentifier"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
SLEEP_VALUE = "HKCategoryValueSleepAnalysis"

# Records per day for each type that scales with n_records. Sleep (about 13 a
# night), blood pressure (a pair every third day), workouts (every other day)
# and ActivitySummary (one a day) keep their real rate.
DAILY = {
    "body_mass": 1.0,
    "heart_rate": 130.0,
    "steps": 105.0,  # 60 from the Watch, 45 from the iPhone, overlapping
    "distance": 55.0,
    "basal_energy": 110.0,
    "active_energy": 140.0,  # a tenth in kJ from a third-party app
    "flights": 9.0,
    "oxygen": 6.0,
    "hrv": 5.0,
}
FIXED_DAILY = 13.0 + 2 / 3 + 1 / 3 + 1 / 2 + 1.0
PHONE_VERSIONS = {
    2019: "13.3",
    2020: "14.2",
    2021: "15.1",
    2022: "16.1",
    2023: "17.1",
    2024: "18.1",
}
WATCH_VERSIONS = {2019: "6.1.3", 2020: "7.1", 2021: "8.1", 2022: "9.1", 2023: "10.1", 2024: "11.1"}
OUTDOOR = ("Running", "Walking", "Cycling", "Hiking")
SPORTS = (*OUTDOOR, "TraditionalStrengthTraining", "Yoga", "HighIntensityIntervalTraining")


def write_export(path: Path, n_records: int, *, seed: int = 1, zip: bool = False) -> dict[str, int]:
    """Write a synthetic export of about `n_records` top-level elements to `path`.

    Returns counts per element kind (every element, nested ones included, as
    `grep -c '<Kind'` would count them), `Record top-level` (Records outside
    Correlations), `gpx points`, `bytes` (the export.xml's size), and the rows
    docs/apple_health_rows.md turns the file into as `rows <table>`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     counts = write_export(Path(folder) / "export.xml", 2000)
        >>> 1800 < counts["Record top-level"] + counts["Workout"] < 2200
        True
    """
    days = max(1, round(n_records / (sum(DAILY.values()) + FIXED_DAILY)))
    scale = max(0.0, (n_records / days - FIXED_DAILY) / sum(DAILY.values()))
    generator = _Generator(days, scale, seed, routes=zip)
    if not zip:
        with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            generator.write_xml(out)
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            _write_member(archive, "export.xml", generator.write_xml)
            _write_member(archive, "export_cda.xml", lambda out: out.write(_CDA))
            for route in generator.routes:
                _write_member(
                    archive,
                    route.path.lstrip("/"),
                    lambda out, r=route: generator.write_gpx(out, r),
                )
    return generator.summary()


def _write_member(archive: zipfile.ZipFile, name: str, write: Callable[[IO[str]], None]) -> None:
    """Stream one text member into the archive (a fixed date: same arguments, same bytes)."""
    info = zipfile.ZipInfo(f"{EXPORT_FOLDER}/{name}", date_time=(2025, 3, 30, 9, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # The fastest level: a member passed as ZipInfo does not take the archive's
    # level, and ZipInfo names it publicly (compress_level) only from Python 3.13.
    info._compresslevel = 1
    with archive.open(info, "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        write(out)
        out.flush()
        out.detach()  # the archive closes `raw`


# Dates


class _Clock:
    """Apple's date strings for local wall-clock seconds, from lookup tables.

    `t` counts local seconds from midnight of day 0; formatting one date is a
    few list look-ups, where `strftime` and a zone lookup would take the most
    time of the whole generator.
    """

    def __init__(self, first: date, days: int) -> None:
        self.first = first
        self.hms = [
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]
        span = range(-1, days + 4)  # nights and workouts run past the last day
        self.day_text = {d: f"{first + timedelta(d)} " for d in span}
        self.utc_text = {d: f"{first + timedelta(d)}T" for d in span}
        # Per day: (suffix, offset s) before the clocks change, the second they
        # change (02:00 local in spring and autumn), and after.
        self.zone: dict[int, tuple[str, int, int, str, int]] = {}
        for d in span:
            day = first + timedelta(d)
            before = _offset_s(day, 0)
            after = _offset_s(day, 86399)
            switch = 7200 if before != after else 86400
            self.zone[d] = (_suffix(before), before, switch, _suffix(after), after)

    def local(self, t: int) -> str:
        """`2024-05-04 07:42:10 +0100`."""
        day, sec = divmod(t, 86400)
        before, _, switch, after, _ = self.zone[day]
        return self.day_text[day] + self.hms[sec] + (before if sec < switch else after)

    def to_utc(self, t: int) -> int:
        day, sec = divmod(t, 86400)
        _, before, switch, _, after = self.zone[day]
        return t - (before if sec < switch else after)

    def utc(self, u: int) -> str:
        """`2024-05-04T06:42:10Z` for UTC seconds from midnight (UTC) of day 0."""
        day, sec = divmod(u, 86400)
        return self.utc_text[day] + self.hms[sec] + "Z"

    def date(self, day: int) -> str:
        return self.day_text[day][:-1]


def _offset_s(day: date, second: int) -> int:
    moment = datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(seconds=second)
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _suffix(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, minutes = divmod(abs(offset_s) // 60, 60)
    return f" {sign}{hours:02d}{minutes:02d}"


# Sources


@dataclass(frozen=True)
class _Source:
    """The attributes naming where a sample came from, ready to paste."""

    attrs: str  # sourceName, sourceVersion and device, in Apple's order
    name: str


def _apple_source(name: str, model: str, hardware: str, address: str, version: str) -> _Source:
    device = (
        f"&lt;&lt;HKDevice: {address}&gt;, name:{model}, manufacturer:Apple Inc., "
        f"model:{'Watch' if model == 'Apple Watch' else model}, hardware:{hardware}, "
        f"software:{version}&gt;"
    )
    return _Source(f'sourceName="{name}" sourceVersion="{version}" device="{device}"', name)


def _app_source(name: str, version: str) -> _Source:
    return _Source(f'sourceName="{name}" sourceVersion="{version}"', name)


@dataclass(frozen=True)
class _Route:
    """A workout route GPX file to write after export.xml (it cannot be held open meanwhile)."""

    path: str
    start_utc: int
    duration_s: int
    seed: int


# The generator


class _Generator:
    """Writes the export one (type, day) chunk at a time: memory stays flat."""

    def __init__(self, days: int, scale: float, seed: int, *, routes: bool) -> None:
        self.days = days
        self.scale = scale
        self.seed = seed
        self.with_routes = routes
        self.first = LAST_DAY - timedelta(days)
        self.clock = _Clock(self.first, days)
        self.counts: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.routes: list[_Route] = []
        self.route_names: set[str] = set()
        self.outdoor = 0  # outdoor workouts so far
        self.phone = {
            y: _apple_source("Alex\u2019s iPhone", "iPhone", "iPhone14,5", "0x283d8a1c0", v)
            for y, v in PHONE_VERSIONS.items()
        }
        self.watch = {
            y: _apple_source("Alex\u2019s Apple Watch", "Apple Watch", "Watch6,2", "0x283d8b2a0", v)
            for y, v in WATCH_VERSIONS.items()
        }
        self.scale_app = _app_source("Health Mate", "6.1.0")
        self.energy_app = _app_source("Strava", "362.0.1")
        self.sleep_app = _app_source("AutoSleep", "6.7.2")
        self.lines: list[str] = []

    def summary(self) -> dict[str, int]:
        out = dict(self.counts)
        out.update({f"rows {table}": count for table, count in self.rows.items()})
        return out

    # the document

    def write_xml(self, out: IO[str]) -> None:
        clock = self.clock
        export_t = (self.days + 1) * 86400 + 9 * 3600
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + DTD
            + f'<HealthData locale="{LOCALE}">\n'
            + f' <ExportDate value="{clock.local(export_t)}"/>\n'
            + ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1987-06-14"'
            ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"'
            ' HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet"'
            ' HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"'
            ' HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n'
        )
        written = len(head.encode())
        out.write(head)
        self.counts.update(HealthData=1, ExportDate=1, Me=1)
        # Apple's order: Records grouped by type, then Correlations, Workouts and
        # ActivitySummary; each in date order.
        sections: list[Callable[[int, random.Random], None]] = [
            self._body_mass,
            self._heart_rate,
            self._steps,
            self._distance,
            self._basal_energy,
            self._active_energy,
            self._flights,
            self._oxygen,
            self._bp_record(systolic=True),
            self._bp_record(systolic=False),
            self._sleep,
            self._hrv,
            self._bp_correlation,
            self._workout,
            self._activity_summary,
        ]
        for index, section in enumerate(sections):
            rng = random.Random(self.seed * 1000 + index)
            for day in range(self.days):
                section(day, rng)
                chunk = "".join(self.lines)
                self.lines.clear()
                written += len(chunk.encode())
                out.write(chunk)
        out.write("</HealthData>\n")
        self.counts["bytes"] = written + len("</HealthData>\n")

    def _count(self, rng: random.Random, kind: str) -> int:
        """How many records of `kind` today: the scaled rate, rounded at random."""
        mean = DAILY[kind] * self.scale
        whole = int(mean)
        return whole + (rng.random() < mean - whole)

    def _times(
        self, day: int, n: int, rng: random.Random, start_h: int = 6, end_h: int = 23
    ) -> list[int]:
        """`n` sorted start times spread over the waking hours of `day`."""
        base = day * 86400 + start_h * 3600
        span = (end_h - start_h) * 3600
        return [base + int((i + rng.random()) * span / n) for i in range(n)]

    def _year(self, day: int) -> int:
        return min(2024, max(2019, (self.first + timedelta(day)).year))

    def _record(
        self,
        kind: str,
        source: _Source,
        unit: str | None,
        start: int,
        end: int,
        value: str,
        children: str = "",
    ) -> None:
        """One Record line (and its children), attributes in Apple's order."""
        local = self.clock.local
        unit_attr = f' unit="{unit}"' if unit is not None else ""
        head = (
            f' <Record type="{kind}" {source.attrs}{unit_attr} creationDate="{local(end + 37)}"'
            f' startDate="{local(start)}" endDate="{local(end)}" value="{value}"'
        )
        if children:
            self.lines.append(f"{head}>\n{children} </Record>\n")
        else:
            self.lines.append(head + "/>\n")
        self.counts["Record"] += 1
        self.counts["Record top-level"] += 1
        self.rows["sleep_segments" if kind == SLEEP else "health_samples"] += 1

    # Records, one type at a time

    def _body_mass(self, day: int, rng: random.Random) -> None:
        for t in self._times(day, self._count(rng, "body_mass"), rng, 6, 8):
            pounds = f"{150 + 6 * rng.random() + day * 0.002:.1f}"
            meta = '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n'
            self.counts["MetadataEntry"] += 1
            self._record(f"{Q}BodyMass", self.scale_app, "lb", t, t, pounds, meta)

    def _heart_rate(self, day: int, rng: random.Random) -> None:
        watch = self.watch[self._year(day)]
        for t in self._times(day, self._count(rng, "heart_rate"), rng, 0, 24):
            context = 1 if rng.random() < 0.2 else 0
            meta = (
                f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="{context}"/>\n'
            )
            self.counts["MetadataEntry"] += 1
            bpm = str(55 + int(rng.random() * 45))
            self._record(f"{Q}HeartRate", watch, "count/min", t, t, bpm, meta)

    def _steps(self, day: int, rng: random.Random) -> None:
        # Both devices count the same walks, so their records overlap in time.
        year = self._year(day)
        for t in self._times(day, self._count(rng, "steps"), rng):
            source = self.watch[year] if rng.random() < 0.57 else self.phone[year]
            length = 60 + int(rng.random() * 540)
            steps = str(10 + int(rng.random() * length * 1.6))
            self._record(f"{Q}StepCount", source, "count", t, t + length, steps)

    def _distance(self, day: int, rng: random.Random) -> None:
        year = self._year(day)
        for t in self._times(day, self._count(rng, "distance"), rng):
            source = self.watch[year] if rng.random() < 0.57 else self.phone[year]
            length = 60 + int(rng.random() * 540)
            km = f"{length * 0.0012 * rng.random():.5f}"
            self._record(f"{Q}DistanceWalkingRunning", source, "km", t, t + length, km)

    def _basal_energy(self, day: int, rng: random.Random) -> None:
        watch = self.watch[self._year(day)]
        for t in self._times(day, self._count(rng, "basal_energy"), rng, 0, 24):
            kcal = f"{0.8 + rng.random() * 0.6:.3f}"
            self._record(
                f"{Q}BasalEnergyBurned", watch, "kcal", t, t + 60 + int(rng.random() * 600), kcal
            )

    def _active_energy(self, day: int, rng: random.Random) -> None:
        watch = self.watch[self._year(day)]
        for t in self._times(day, self._count(rng, "active_energy"), rng):
            length = 30 + int(rng.random() * 90)
            if rng.random() < 0.1:  # a third-party app that writes kilojoules
                kj = f"{rng.random() * 40:.2f}"
                self._record(f"{Q}ActiveEnergyBurned", self.energy_app, "kJ", t, t + length, kj)
            else:
                kcal = f"{rng.random() * 9:.3f}"
                self._record(f"{Q}ActiveEnergyBurned", watch, "kcal", t, t + length, kcal)

    def _flights(self, day: int, rng: random.Random) -> None:
        phone = self.phone[self._year(day)]
        for t in self._times(day, self._count(rng, "flights"), rng):
            self._record(
                f"{Q}FlightsClimbed",
                phone,
                "count",
                t,
                t + 30 + int(rng.random() * 60),
                str(1 + int(rng.random() * 3)),
            )

    def _oxygen(self, day: int, rng: random.Random) -> None:
        watch = self.watch[self._year(day)]
        for t in self._times(day, self._count(rng, "oxygen"), rng, 0, 24):
            # HealthKit writes percentages as fractions.
            self._record(
                f"{Q}OxygenSaturation", watch, "%", t, t, f"{0.93 + rng.random() * 0.06:.2f}"
            )

    def _hrv(self, day: int, rng: random.Random) -> None:
        watch = self.watch[self._year(day)]
        hms = self.clock.hms
        for t in self._times(day, self._count(rng, "hrv"), rng, 0, 24):
            beats = 40 + int(rng.random() * 20)
            lines = ["  <HeartRateVariabilityMetadataList>\n"]
            moment = t * 100  # hundredths of a second
            for _ in range(beats):
                bpm = 58 + int(rng.random() * 20)
                moment += 6000 // bpm
                second, hundredths = divmod(moment, 100)
                lines.append(
                    f'   <InstantaneousBeatsPerMinute bpm="{bpm}"'
                    f' time="{hms[second % 86400]}.{hundredths:02d}"/>\n'
                )
            lines.append("  </HeartRateVariabilityMetadataList>\n")
            self.counts["HeartRateVariabilityMetadataList"] += 1
            self.counts["InstantaneousBeatsPerMinute"] += beats
            sdnn = f"{20 + rng.random() * 60:.4f}"
            self._record(
                f"{Q}HeartRateVariabilitySDNN", watch, "ms", t, moment // 100, sdnn, "".join(lines)
            )

    def _sleep(self, day: int, rng: random.Random) -> None:
        """One night, from 22:30-23:30 on `day`: stages after iOS 16, Asleep before."""
        year = self._year(day)
        bed = day * 86400 + 22 * 3600 + 1800 + int(rng.random() * 3600)
        wake = bed + 7 * 3600 + int(rng.random() * 5400)
        meta = '  <MetadataEntry key="HKTimeZone" value="Europe/London"/>\n'
        self.counts["MetadataEntry"] += 1
        self._record(SLEEP, self.phone[year], None, bed, wake, f"{SLEEP_VALUE}InBed", meta)
        if self.first + timedelta(day) >= IOS16_DAY:
            stages = (
                "Core",
                "Deep",
                "Core",
                "REM",
                "Awake",
                "Core",
                "Deep",
                "Core",
                "REM",
                "Core",
                "REM",
                "Awake",
            )
        else:
            stages = ("", "", "", "")
        start = bed + 600 + int(rng.random() * 900)
        step = (wake - start) // len(stages)
        for stage in stages:
            value = f"{SLEEP_VALUE}{'Asleep' if stage != 'Awake' else ''}{stage}"
            length = step if stage != "Awake" else 120 + int(rng.random() * 300)
            self._record(SLEEP, self.watch[year], None, start, start + length, value)
            start += step
        if rng.random() < 0.1:  # an app that cannot tell stages apart
            self._record(
                SLEEP,
                self.sleep_app,
                None,
                bed + 900,
                wake - 600,
                f"{SLEEP_VALUE}AsleepUnspecified",
            )

    # Blood pressure: the pair at top level, then the Correlation repeating it

    def _bp_values(self, day: int) -> tuple[int, str, str]:
        """Time and values of `day`'s reading, the same in both places (no shared RNG)."""
        t = day * 86400 + 7 * 3600 + (day * 7919 + self.seed) % 3600
        return (
            t,
            str(105 + (day * 104729 + self.seed) % 30),
            str(65 + (day * 1299709 + self.seed) % 20),
        )

    def _bp_record(self, *, systolic: bool) -> Callable[[int, random.Random], None]:
        def write(day: int, rng: random.Random) -> None:
            if day % 3:
                return
            t, high, low = self._bp_values(day)
            kind = f"{Q}BloodPressureSystolic" if systolic else f"{Q}BloodPressureDiastolic"
            self._record(kind, self.phone[self._year(day)], "mmHg", t, t, high if systolic else low)

        return write

    def _bp_correlation(self, day: int, rng: random.Random) -> None:
        if day % 3:
            return
        t, high, low = self._bp_values(day)
        local = self.clock.local
        source = self.phone[self._year(day)]
        dates = f'creationDate="{local(t + 37)}" startDate="{local(t)}" endDate="{local(t)}"'
        inner = "".join(
            f'  <Record type="{Q}{kind}" {source.attrs} unit="mmHg" {dates} value="{value}"/>\n'
            for kind, value in (("BloodPressureSystolic", high), ("BloodPressureDiastolic", low))
        )
        self.lines.append(
            ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure"'
            f" {source.attrs} {dates}>\n"
            '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n'
            f"{inner} </Correlation>\n"
        )
        self.counts.update(Correlation=1, MetadataEntry=1, Record=2)

    # Workouts and their routes

    def _workout(self, day: int, rng: random.Random) -> None:
        if day % 2:
            return
        sport = SPORTS[int(rng.random() * len(SPORTS))]
        outdoor = sport in OUTDOOR
        start = day * 86400 + 7 * 3600 + int(rng.random() * 12 * 3600)
        length = 1200 + int(rng.random() * 3300)
        end = start + length
        minutes = f"{length / 60:.4f}"
        kcal = length * (0.12 + rng.random() * 0.05)
        km = length * (0.0028 if sport != "Cycling" else 0.007) * (0.8 + rng.random() * 0.4)
        watch = self.watch[self._year(day)]
        local = self.clock.local
        dates = (
            f'creationDate="{local(end + 20)}" startDate="{local(start)}" endDate="{local(end)}"'
        )
        # Every 25th outdoor workout is an old one, with totals and an inline route.
        old_style = outdoor and self.outdoor % 25 == 0
        self.outdoor += outdoor
        totals = (
            f' totalDistance="{km:.4f}" totalDistanceUnit="km"'
            f' totalEnergyBurned="{kcal:.3f}" totalEnergyBurnedUnit="kcal"'
            if old_style
            else ""
        )
        mets = 3 + rng.random() * 8
        lines = [
            f' <Workout workoutActivityType="HKWorkoutActivityType{sport}" duration="{minutes}"'
            f' durationUnit="min"{totals} {watch.attrs} {dates}>\n',
            f'  <MetadataEntry key="HKIndoorWorkout" value="{0 if outdoor else 1}"/>\n',
            '  <MetadataEntry key="HKTimeZone" value="Europe/London"/>\n',
            f'  <MetadataEntry key="HKAverageMETs" value="{mets:.5f} kcal/hr\u00b7kg"/>\n',
        ]
        self.counts["MetadataEntry"] += 3
        if not old_style:
            lines.extend(self._workout_children(start, end, sport, kcal, km, rng))
        if old_style:
            lines.extend(self._inline_route(start, end, rng))
        elif outdoor and self.with_routes:
            lines.extend(self._file_route(start, end))
        lines.append(" </Workout>\n")
        self.lines.append("".join(lines))
        self.counts["Workout"] += 1
        self.rows["workouts"] += 1

    def _workout_children(
        self, start: int, end: int, sport: str, kcal: float, km: float, rng: random.Random
    ) -> list[str]:
        local = self.clock.local
        pause = start + (end - start) // 2
        span = f'startDate="{local(start)}" endDate="{local(end)}"'
        uuid = f"{rng.getrandbits(128):032X}"
        uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
        distance = "DistanceCycling" if sport == "Cycling" else "DistanceWalkingRunning"
        lines = [
            f'  <WorkoutEvent type="HKWorkoutEventTypePause" date="{local(pause)}"/>\n',
            f'  <WorkoutEvent type="HKWorkoutEventTypeResume" date="{local(pause + 45)}"/>\n',
            f'  <WorkoutActivity uuid="{uuid}" {span} duration="{(end - start) / 60:.4f}"'
            ' durationUnit="min"/>\n',
            f'  <WorkoutStatistics type="{Q}ActiveEnergyBurned" {span} sum="{kcal:.3f}"'
            ' unit="kcal"/>\n',
            f'  <WorkoutStatistics type="{Q}BasalEnergyBurned" {span} sum="{kcal * 0.3:.3f}"'
            ' unit="kcal"/>\n',
        ]
        if sport in OUTDOOR:
            lines.append(
                f'  <WorkoutStatistics type="{Q}{distance}" {span} sum="{km:.4f}" unit="km"/>\n'
            )
        low = 90 + int(rng.random() * 20)
        average = low + 45 + rng.random() * 10
        lines.append(
            f'  <WorkoutStatistics type="{Q}HeartRate" {span} average="{average:.4f}"'
            f' minimum="{low}" maximum="{low + 70}" unit="count/min"/>\n'
        )
        self.counts.update(WorkoutEvent=2, WorkoutActivity=1, WorkoutStatistics=len(lines) - 3)
        return lines

    def _route_head(self, start: int, end: int, source: _Source) -> str:
        local = self.clock.local
        return (
            f'  <WorkoutRoute {source.attrs} creationDate="{local(end + 30)}"'
            f' startDate="{local(start + 1)}" endDate="{local(end - 1)}">\n'
            '   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n'
        )

    def _inline_route(self, start: int, end: int, rng: random.Random) -> list[str]:
        """Before iOS 13 the route was inline: a <Location> every 5 seconds here."""
        phone = self.phone[self._year(start // 86400)]
        lines = [self._route_head(start, end, phone)]
        local = self.clock.local
        lat, lon = HOME
        heading = rng.random() * 360
        for t in range(start + 1, end - 1, 5):
            heading = (heading + rng.random() * 20 - 10) % 360
            lat += 0.00011 * (rng.random() - 0.3)
            lon += 0.00017 * (rng.random() - 0.3)
            lines.append(
                f'   <Location date="{local(t)}" latitude="{lat:.6f}" longitude="{lon:.6f}"'
                f' altitude="{20 + rng.random() * 5:.4f}"'
                f' horizontalAccuracy="{3 + rng.random() * 3:.5f}"'
                f' verticalAccuracy="{2 + rng.random() * 2:.5f}" course="{heading:.4f}"'
                f' speed="{2.5 + rng.random():.5f}"/>\n'
            )
        lines.append("  </WorkoutRoute>\n")
        points = len(lines) - 2
        self.counts.update(WorkoutRoute=1, MetadataEntry=1, Location=points)
        self.rows["location_points"] += points
        return lines

    def _file_route(self, start: int, end: int) -> list[str]:
        """iOS 13 and later: a FileReference to a GPX file in workout-routes/."""
        day, sec = divmod(start, 86400)
        hour, minute = divmod(sec // 60, 60)
        clock = f"{(hour - 1) % 12 + 1}.{minute:02d}{'am' if hour < 12 else 'pm'}"
        name = f"route_{self.clock.date(day)}_{clock}"
        while name in self.route_names:  # two workouts in one minute
            name += "_1"
        self.route_names.add(name)
        path = f"/workout-routes/{name}.gpx"
        start_utc = self.clock.to_utc(start) + 1
        # Seeded apart from `rng`, so that export.xml's other lines are the same
        # with and without routes.
        self.routes.append(_Route(path, start_utc, end - start - 2, self.seed * 1_000_003 + day))
        self.counts.update(WorkoutRoute=1, MetadataEntry=1, FileReference=1)
        source = self.watch[self._year(day)]
        return [
            self._route_head(start, end, source),
            f'   <FileReference path="{path}"/>\n',
            "  </WorkoutRoute>\n",
        ]

    def write_gpx(self, out: IO[str], route: _Route) -> None:
        """A route file as the Health app writes it: a point every 2 s here (1 s in life)."""
        rng = random.Random(route.seed)
        utc = self.clock.utc
        name = (
            route.path.rsplit("/", 1)[1]
            .removeprefix("route_")
            .removesuffix(".gpx")
            .replace("_", " ")
        )
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<gpx version="1.1" creator="Apple Health Export"'
            ' xmlns="http://www.topografix.com/GPX/1/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
            f"  <metadata>\n    <time>{utc(route.start_utc + route.duration_s + 600)}</time>\n"
            "  </metadata>\n"
            f"  <trk>\n    <name>Route {name}</name>\n    <trkseg>\n"
        )
        lat, lon = HOME
        heading = rng.random() * 360
        lines = []
        for u in range(route.start_utc, route.start_utc + route.duration_s, 2):
            heading = (heading + rng.random() * 20 - 10) % 360
            lat += 0.00004 * (rng.random() - 0.3)
            lon += 0.00007 * (rng.random() - 0.3)
            lines.append(
                f'      <trkpt lon="{lon:.6f}" lat="{lat:.6f}">'
                f"<ele>{20 + rng.random() * 5:.6f}</ele>"
                f"<time>{utc(u)}</time><extensions><speed>{2.5 + rng.random():.6f}</speed>"
                f"<course>{heading:.6f}</course><hAcc>{3 + rng.random() * 3:.6f}</hAcc>"
                f"<vAcc>{2 + rng.random() * 2:.6f}</vAcc></extensions></trkpt>\n"
            )
        out.write("".join(lines))
        out.write("    </trkseg>\n  </trk>\n</gpx>\n")
        self.counts["gpx points"] += len(lines)
        self.rows["location_points"] += len(lines)

    # One ActivitySummary a day

    def _activity_summary(self, day: int, rng: random.Random) -> None:
        move = 300 + rng.random() * 500
        self.lines.append(
            f' <ActivitySummary dateComponents="{self.clock.date(day)}"'
            f' activeEnergyBurned="{move:.4f}"'
            ' activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="kcal"'
            f' appleMoveTime="{int(move / 12)}" appleMoveTimeGoal="30"'
            f' appleExerciseTime="{int(rng.random() * 70)}" appleExerciseTimeGoal="30"'
            f' appleStandHours="{6 + int(rng.random() * 9)}" appleStandHoursGoal="12"/>\n'
        )
        self.counts["ActivitySummary"] += 1
        self.rows["health_samples"] += 4


_CDA = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
 <title>Health Data Export</title>
</ClinicalDocument>
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="export.xml (or export.zip with --zip) to write")
    parser.add_argument("n_records", type=int, help="about how many top-level elements")
    parser.add_argument("--zip", action="store_true", help="write export.zip with GPX routes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = write_export(args.out, args.n_records, seed=args.seed, zip=args.zip)
    elapsed = time.perf_counter() - started
    for kind, count in sorted(counts.items()):
        print(f"{kind:36} {count:14,}")
    size = args.out.stat().st_size
    print(f"{args.out}: {size / 1e6:.1f} MB on disk, export.xml {counts['bytes'] / 1e6:.1f} MB")
    print(f"written in {elapsed:.2f} s: {counts['bytes'] / 1e6 / elapsed:.1f} MB/s of export.xml")


if __name__ == "__main__":
    sys.exit(main())
