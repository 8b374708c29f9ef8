"""Apple Health's `export.zip`, as the Health app on an iPhone writes it.

Format: the HealthKit export (not published as a spec; Apple's DTD at the top
of the file names the elements; see docs/apple_health_rows.md for what the
importer makes of each). The zip holds:

    apple_health_export/export.xml        the DTD (HealthKit Export Version 13),
                                          ExportDate, Me, Records grouped by
                                          type, Workouts, ActivitySummaries
    apple_health_export/export_cda.xml    the clinical-document twin (a stub:
                                          no importer reads it)
    apple_health_export/workout-routes/route_<date>_<h.mmam>.gpx
                                          each Watch workout's route, GPX with
                                          UTC times and Apple's extensions
                                          (speed, course, hAcc, vAcc)

Quirks carried, as real exports have them: two sources for the same steps
(`Alex's Apple Watch` and `Alex's iPhone`, spelled with Apple's typographic apostrophe)
whose samples overlap; the `<<HKDevice: ...>>` description escaped as
`&lt;&lt;...&gt;&gt;`; dates as `2025-10-26 01:59:58 +0100` whose offsets
follow the clock changes of Europe/London and read +0200 for the Barcelona
week (real exports may write every date with the offset of the phone at the
time of export instead: see the corpus file apple-health-parser_export.xml,
whose January dates carry Amsterdam's summer offset; the demo writes the
offset of where Alex was, which the importer and the analytics must get
right); `HKTimeZone` metadata on sleep and workouts; sleep stages from the
Watch inside the iPhone's `InBed`; HRV records with their
`InstantaneousBeatsPerMinute` lists; a workout's statistics as
`WorkoutStatistics` and its route as a `FileReference`; Apple's odd
`HKWeatherHumidity` of "6800 %".
"""

from __future__ import annotations

import itertools
import math
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from selfdata.demo._devices import PHONE, SCALE, WATCH, Recording, Sample, workout_kcal
from selfdata.demo._life import Life, Workout
from selfdata.demo._tracks import haversine_m

__all__ = ["ROUTE_FOLDER", "route_name", "write_export"]

ROUTE_FOLDER = "apple_health_export/workout-routes"
_DEVICES = {
    WATCH: (
        "11.5",
        "<<HKDevice: 0x30113a6c0>, name:Apple Watch, manufacturer:Apple Inc., model:Watch,"
        " hardware:Watch7,4, software:11.5, creation date:2025-05-12 18:41:07 +0000>",
    ),
    PHONE: (
        "18.5",
        "<<HKDevice: 0x3012f4b40>, name:iPhone, manufacturer:Apple Inc., model:iPhone,"
        " hardware:iPhone15,2, software:18.5, creation date:2025-05-20 07:02:11 +0000>",
    ),
    SCALE: ("6.3.1", None),
}
# The order Apple lists record types in (it groups records by type).
_TYPE_ORDER = (
    "HKQuantityTypeIdentifierBodyMass",
    "HKQuantityTypeIdentifierHeartRate",
    "HKQuantityTypeIdentifierStepCount",
    "HKQuantityTypeIdentifierDistanceWalkingRunning",
    "HKQuantityTypeIdentifierActiveEnergyBurned",
    "HKQuantityTypeIdentifierRestingHeartRate",
    "HKQuantityTypeIdentifierHeartRateVariabilitySDNN",
    "HKCategoryTypeIdentifierSleepAnalysis",
)
_SPORTS = {"running": "Running", "hiking": "Hiking", "walking": "Walking"}


def write_export(path: Path, life: Life, recording: Recording) -> list[str]:
    """Write `export.zip` at `path`; returns the names of its members."""
    exported = datetime.combine(life.today, datetime.min.time(), ZoneInfo(life.persona.timezone))
    exported += timedelta(hours=8, minutes=14, seconds=37)
    members: dict[str, bytes] = {
        "apple_health_export/export.xml": "".join(_export_xml(life, recording, exported)).encode(),
        "apple_health_export/export_cda.xml": _CDA.encode(),
    }
    for workout in recording.watch_workouts:
        name = f"{ROUTE_FOLDER}/{route_name(workout)}"
        members[name] = "".join(_route_gpx(workout, exported)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = exported.timetuple()[:6]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            # A fixed date and mode keep the zip byte-identical from run to run.
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=1)
    return list(members)


def route_name(workout: Workout) -> str:
    """`route_2025-07-11_8.12am.gpx`: the local start, as the Health app names routes."""
    start = workout.start
    hour = start.hour % 12 or 12
    return f"route_{start:%Y-%m-%d}_{hour}.{start:%M}{'am' if start.hour < 12 else 'pm'}.gpx"


def stamp(at: datetime, zone: str) -> str:
    """Apple's `2025-07-01 08:10:02 +0100`: local time in `zone`, with its offset.

    Hundreds of thousands of dates are written, so the local date and the
    offset (which changes only on the hour) are looked up, not recomputed.
    """
    seconds = int(at.timestamp())
    offset = _offset_s(zone, seconds // 3600)
    day, clock = divmod(seconds + offset, 86400)
    hours, rest = divmod(clock, 3600)
    return f"{_iso_day(day)} {hours:02d}:{rest // 60:02d}:{rest % 60:02d} {_offset_text(offset)}"


@cache
def _offset_s(zone: str, hour: int) -> int:
    offset = datetime.fromtimestamp(hour * 3600, UTC).astimezone(_zone(zone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@cache
def _iso_day(days_since_epoch: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days_since_epoch)).isoformat()


@cache
def _offset_text(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, minutes = divmod(abs(offset_s) // 60, 60)
    return f"{sign}{hours:02d}{minutes:02d}"


# -- export.xml ---------------------------------------------------------------


def _export_xml(life: Life, recording: Recording, exported: datetime) -> Iterator[str]:
    yield _HEADER
    yield '<HealthData locale="en_GB">\n'
    yield f' <ExportDate value="{stamp(exported, life.persona.timezone)}"/>\n'
    yield (
        ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1991-04-12"'
        ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet"'
        ' HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet"'
        ' HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"'
        ' HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n'
    )
    by_type: dict[str, list[Sample]] = defaultdict(list)
    for sample in recording.samples:
        by_type[sample.type].append(sample)
    for kind in _TYPE_ORDER:
        for sample in sorted(by_type.pop(kind, []), key=lambda s: (s.start, s.end, s.source)):
            yield _record(sample)
    assert not by_type, f"no place in the export for {sorted(by_type)}"
    for workout in recording.watch_workouts:
        yield from _workout(workout)
    yield from _summaries(life, recording)
    yield "</HealthData>\n"


def _record(sample: Sample) -> str:
    attributes = _attributes(sample.type, sample.source, sample.unit)
    created = sample.end + timedelta(seconds=_creation_delay(sample))
    start = stamp(sample.start, sample.zone)
    end = start if sample.end == sample.start else stamp(sample.end, sample.zone)
    attributes += (
        f' creationDate="{stamp(created, sample.zone)}"'
        f' startDate="{start}" endDate="{end}" value="{sample.value}"'
    )
    if not sample.metadata and not sample.beats:
        return f" <Record {attributes}/>\n"
    lines = [f" <Record {attributes}>\n"]
    lines += [_metadata(key, value) for key, value in sample.metadata]
    if sample.beats:
        lines.append("  <HeartRateVariabilityMetadataList>\n")
        lines += [
            f'   <InstantaneousBeatsPerMinute bpm="{bpm}" time="{time}"/>\n'
            for bpm, time in sample.beats
        ]
        lines.append("  </HeartRateVariabilityMetadataList>\n")
    lines.append(" </Record>\n")
    return "".join(lines)


@cache
def _metadata(key: str, value: str) -> str:
    return f"  <MetadataEntry key={quoteattr(key)} value={quoteattr(value)}/>\n"


@cache
def _attributes(kind: str, source: str, unit: str | None) -> str:
    """The attributes a record's type, source and unit give, escaped once."""
    version, device = _DEVICES[source]
    attributes = f"type={quoteattr(kind)} sourceName={quoteattr(source)}"
    attributes += f' sourceVersion="{version}"'
    if device is not None:
        attributes += f" device={quoteattr(device)}"
    if unit is not None:
        attributes += f' unit="{escape(unit)}"'
    return attributes


def _creation_delay(sample: Sample) -> int:
    """Seconds between a sample's end and when it was saved: the Watch syncs in batches."""
    return (sample.start.second * 7 + sample.start.minute) % 240 + 4


def _workout(workout: Workout) -> Iterator[str]:
    zone = str(workout.start.tzinfo)
    start, end = workout.start, workout.end
    minutes = (end - start).total_seconds() / 60
    version, device = _DEVICES[WATCH]
    rates = [p.hr_bpm for p in workout.points if p.hr_bpm is not None]
    climb = sum(max(0.0, b.ele_m - a.ele_m) for a, b in itertools.pairwise(workout.points))
    span = f'startDate="{stamp(start, zone)}" endDate="{stamp(end, zone)}"'
    yield (
        f' <Workout workoutActivityType="HKWorkoutActivityType{_SPORTS[workout.sport]}"'
        f' duration="{minutes:.12g}" durationUnit="min" sourceName={quoteattr(WATCH)}'
        f' sourceVersion="{version}" device={quoteattr(device or "")}'
        f' creationDate="{stamp(end + timedelta(seconds=41), zone)}" {span}>\n'
    )
    yield '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
    yield f'  <MetadataEntry key="HKTimeZone" value="{zone}"/>\n'
    fahrenheit = 64 if workout.start.month in (6, 7, 8) else 48
    yield f'  <MetadataEntry key="HKWeatherTemperature" value="{fahrenheit} degF"/>\n'
    yield f'  <MetadataEntry key="HKWeatherHumidity" value="{6800 + 100 * (start.day % 20)} %"/>\n'
    yield f'  <MetadataEntry key="HKElevationAscended" value="{round(climb * 100)} cm"/>\n'
    yield (
        f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{stamp(start, zone)}"'
        f' duration="{minutes:.12g}" durationUnit="min"/>\n'
    )
    yield (
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" {span}'
        f' sum="{workout_kcal(workout):.3f}" unit="kcal"/>\n'
    )
    yield (
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" {span}'
        f' sum="{workout.distance_m / 1000:.6f}" unit="km"/>\n'
    )
    yield (
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" {span}'
        f' average="{sum(rates) / len(rates):.4f}" minimum="{min(rates)}"'
        f' maximum="{max(rates)}" unit="count/min"/>\n'
    )
    yield (
        f'  <WorkoutRoute sourceName={quoteattr(WATCH)} sourceVersion="{version}"'
        f' creationDate="{stamp(end + timedelta(seconds=44), zone)}" {span}>\n'
    )
    yield '   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n'
    yield f'   <FileReference path="/workout-routes/{route_name(workout)}"/>\n'
    yield "  </WorkoutRoute>\n"
    yield " </Workout>\n"


def _summaries(life: Life, recording: Recording) -> Iterator[str]:
    """One ActivitySummary a day: the rings, from the Watch's energy and workouts."""
    energy: dict[date, float] = defaultdict(float)
    exercise: dict[date, float] = defaultdict(float)
    for sample in recording.samples:
        if sample.source == WATCH and sample.type.endswith("ActiveEnergyBurned"):
            energy[sample.start.astimezone(_zone(sample.zone)).date()] += float(sample.value)
    for workout in recording.watch_workouts:
        exercise[workout.start.date()] += (workout.end - workout.start).total_seconds() / 60
    for day in life.days:
        stand = 8 + (day.toordinal() * 5) % 6
        yield (
            f' <ActivitySummary dateComponents="{day.isoformat()}"'
            f' activeEnergyBurned="{energy[day]:.4f}" activeEnergyBurnedGoal="420"'
            ' activeEnergyBurnedUnit="Cal" appleMoveTime="0" appleMoveTimeGoal="0"'
            f' appleExerciseTime="{round(exercise[day])}" appleExerciseTimeGoal="30"'
            f' appleStandHours="{stand}" appleStandHoursGoal="12"/>\n'
        )


# -- workout-routes/*.gpx ------------------------------------------------------


def _route_gpx(workout: Workout, exported: datetime) -> Iterator[str]:
    """The route as the Health app exports it: UTC times, six decimals, lon before lat."""
    start = workout.start
    hour = start.hour % 12 or 12
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<gpx version="1.1" creator="Apple Health Export"'
        ' xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
        ' http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
    )
    yield f"  <metadata>\n    <time>{_utc(exported)}</time>\n  </metadata>\n"
    name = f"Route {start:%Y-%m-%d} {hour}:{start:%M}{'am' if start.hour < 12 else 'pm'}"
    yield f"  <trk>\n    <name>{name}</name>\n    <trkseg>\n"
    points = workout.points
    for i, point in enumerate(points):
        after = points[min(i + 1, len(points) - 1)]
        before = points[max(i - 1, 0)]
        metres = haversine_m(before.lat, before.lon, after.lat, after.lon)
        seconds = max((after.at - before.at).total_seconds(), 1.0)
        yield (
            f'      <trkpt lon="{point.lon:.6f}" lat="{point.lat:.6f}">'
            f"<ele>{point.ele_m:.6f}</ele><time>{_utc(point.at)}</time>"
            f"<extensions><speed>{metres / seconds:.6f}</speed>"
            f"<course>{_course(before.lat, before.lon, after.lat, after.lon):.6f}</course>"
            f"<hAcc>{2.5 + (i * 7) % 30 / 10:.6f}</hAcc><vAcc>{1.8 + (i * 3) % 20 / 10:.6f}</vAcc>"
            "</extensions></trkpt>\n"
        )
    yield "    </trkseg>\n  </trk>\n</gpx>\n"


def _course(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Degrees clockwise from north, as Core Location gives `course`."""
    y = math.sin(math.radians(lon2 - lon1)) * math.cos(math.radians(lat2))
    x = math.cos(math.radians(lat1)) * math.sin(math.radians(lat2)) - math.sin(
        math.radians(lat1)
    ) * math.cos(math.radians(lat2)) * math.cos(math.radians(lon2 - lon1))
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


# The DTD Apple writes at the top of export.xml (iOS 17 and 18: export version 13).
_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|{clinical})*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse CDATA #IMPLIED
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
<!-- Note: Any Records that appear as children of a correlation also appear as {top_level}. -->
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
<!-- Note: Heart Rate Variability records captured by Apple Watch may include {beats}. -->
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
  rightEarValue    CDATA #IMPLIED
  rightEarUnit     CDATA #IMPLIED
>
<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  dateIssued       CDATA #REQUIRED
  expirationDate   CDATA #IMPLIED
  brand            CDATA #IMPLIED
>
<!ELEMENT RightEye EMPTY>
<!ELEMENT LeftEye EMPTY>
<!ELEMENT Attachment EMPTY>
<!ATTLIST Attachment
  identifier       CDATA #IMPLIED
>
]>
""".format(
    # Apple's own lines are longer than ours: kept whole in the file, split here.
    clinical="ClinicalRecord|Audiogram|VisionPrescription",
    top_level="top-level records in this document",
    beats="an associated list of instantaneous beats-per-minute readings",
)

# What the Health app writes beside export.xml when there are no clinical records.
_CDA = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <realmCode code="GB"/>
 <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
 <templateId root="2.16.840.1.113883.10.20.22.1.2"/>
 <title>Health Data Export</title>
</ClinicalDocument>
"""
