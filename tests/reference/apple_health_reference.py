"""The test oracle for the Apple Health importer: a plain, slow, obviously-correct parse.

It follows docs/apple_health_rows.md one table at a time and is written to be
read, not to be fast: the whole export is read into memory, expat builds a
small tree of each top-level element (a plain element stack, so children land
on the right parent however the tags are wrapped over lines), and each tree is
turned into rows by a function that mirrors one section of the spec. The fast
importer (`src/selfdata/importers/apple_health.py`) must produce the same rows;
`normalise` makes the two comparable with `==`.

Two repairs happen before parsing, because real exports need them:

- The internal DTD (`<!DOCTYPE HealthData [ ... ]>`) is replaced by as many
  newlines as it spanned. iOS 16 writes it broken (an `<!ATTLIST
  VisionPrescription` that never closes), which expat rejects at line 156; the
  rows never need it, and keeping its newlines keeps every later line number
  true to the file.
- Control characters that XML forbids (`\\x00`-`\\x08`, `\\x0b`, `\\x0c`,
  `\\x0e`-`\\x1f`; real iOS 16 exports put `\\x0b` in source names) are removed
  and counted as repairs.

Example:
    >>> from pathlib import Path
    >>> ref = reference_rows(Path("tests/data/apple_health/control_chars.xml"))
    >>> ref.repairs
    2
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.parsers import expat

from selfdata.errors import ParseError
from selfdata.importers import gpx
from selfdata.importers.base import Reject, Source, stable_id
from selfdata.importers.healthkit import SLEEP_STAGES, convert, metric_for, sport_for

__all__ = [
    "Reference",
    "Rows",
    "find_export_member",
    "normalise",
    "reference_rejects",
    "reference_rows",
]

Row = dict[str, Any]
Rows = dict[str, list[Row]]

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
SLEEP_PREFIX = "HKCategoryValueSleepAnalysis"
HEART_RATE_TYPE = "HKQuantityTypeIdentifierHeartRate"
ACTIVE_ENERGY_TYPE = "HKQuantityTypeIdentifierActiveEnergyBurned"
DISTANCE_TYPE_PREFIX = "HKQuantityTypeIdentifierDistance"

# Apple writes every date as `2023-03-26 08:10:00 +0200`, nothing else.
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A plain decimal number; category values (`HKCategoryValue...`) are not numbers.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DTD = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL)
_FORBIDDEN = bytes(range(0x00, 0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
# Enough of a zip member to see past the DTD (about 10 KB) to `<HealthData`.
_HEAD_BYTES = 64 * 1024

# ActivitySummary columns: metric, canonical unit, value attributes, goal attributes
# (first present wins: iOS 14 renamed appleMoveMinutes to appleMoveTime).
_ACTIVITY = (
    ("activity_move", "kcal", ("activeEnergyBurned",), ("activeEnergyBurnedGoal",)),
    (
        "activity_move_time",
        "min",
        ("appleMoveTime", "appleMoveMinutes"),
        ("appleMoveTimeGoal", "appleMoveMinutesGoal"),
    ),
    ("activity_exercise", "min", ("appleExerciseTime",), ("appleExerciseTimeGoal",)),
    ("activity_stand_hours", "count", ("appleStandHours",), ("appleStandHoursGoal",)),
)
_STATISTIC_KEYS = ("type", "startDate", "endDate", "average", "minimum", "maximum", "sum", "unit")
_EVENT_KEYS = ("type", "date", "duration", "durationUnit")
_ACTIVITY_KEYS = ("uuid", "startDate", "endDate", "duration", "durationUnit")


@dataclass
class Reference:
    """What the oracle makes of one export: rows per table, repairs and rejects."""

    rows: Rows
    repairs: int = 0
    rejects: list[Reject] = field(default_factory=list)


def reference_rows(path_or_zip: Path) -> Reference:
    """Rows per canonical table for an `export.xml`, or an `export.zip` holding one.

    Instants are timezone-aware UTC datetimes, `extra` a dict; tables without
    rows are left out.

    Raises:
        ParseError: the XML is malformed or truncated (naming the line), or a
            zip holds no Apple Health export.

    Example:
        >>> from pathlib import Path
        >>> ref = reference_rows(Path("tests/data/apple_health/sleep_generations.xml"))
        >>> sorted(ref.rows)
        ['sleep_segments']
    """
    path = Path(path_or_zip)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = find_export_member(archive)
            if member is None:
                raise ParseError(str(path), "holds no Apple Health export.xml")
            data = archive.read(member)
        files = _RouteFiles(path, member)
        display_name = f"{path}!{member}"
    else:
        data = path.read_bytes()
        files = _RouteFiles(path, None)
        display_name = str(path)
    reader = _Reader(files)
    repairs = reader.parse(data, display_name)
    rows = {table: table_rows for table, table_rows in reader.rows.items() if table_rows}
    return Reference(rows, repairs, reader.rejects)


def reference_rejects(path_or_zip: Path) -> list[Reject]:
    """The records the spec says to reject, in document order, with their lines.

    Example:
        >>> from pathlib import Path
        >>> path = Path("tests/data/apple_health/sleep_generations.xml")
        >>> [(reject.table, reject.line) for reject in reference_rejects(path)]
        [('sleep_segments', 28)]
    """
    return reference_rows(path_or_zip).rejects


def find_export_member(archive: zipfile.ZipFile) -> str | None:
    """The archive's export: the XML member whose head has `<HealthData`.

    Localized iPhones name it `exportar.xml`, `Export.xml`...; `export_cda.xml`
    (the clinical document beside it) is never the export.
    """
    for name in archive.namelist():
        base = posixpath.basename(name).lower()
        if not base.endswith(".xml") or base == "export_cda.xml":
            continue
        with archive.open(name) as stream:
            if b"<HealthData" in stream.read(_HEAD_BYTES):
                return name
    return None


def normalise(rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> Rows:
    """Rows in a canonical order and form, so that two row sets compare with `==`.

    Works on the oracle's rows and on a fast importer's `batch.rows.to_pylist()`
    alike: `extra` given as JSON text is parsed, NULL columns are dropped (a
    batch may leave out a column that is all NULL), instants become UTC,
    numbers become floats rounded to 9 significant digits (1e-9 relative), and
    each table's rows are sorted. Tables without rows are dropped.

    Example:
        >>> normalise({"t": [{"v": 0.1 + 0.2, "x": None, "extra": '{"a": 1}'}], "u": []})
        {'t': [{'v': 0.3, 'extra': {'a': 1.0}}]}
    """
    out: Rows = {}
    for table, table_rows in rows.items():
        clean = [_normalise_row(row) for row in table_rows]
        if clean:
            out[table] = sorted(clean, key=_sort_key)
    return out


# Parsing


@dataclass
class _Element:
    """One element of a top-level subtree: its attributes, line and children."""

    name: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return self.attrs.get(key)

    def kids(self, name: str) -> list[_Element]:
        """Direct children called `name`, in document order."""
        return [child for child in self.children if child.name == name]

    def descendants(self, name: str) -> Iterator[_Element]:
        """Every element called `name` below this one, in document order."""
        for child in self.children:
            if child.name == name:
                yield child
            yield from child.descendants(name)


@dataclass
class _RouteFiles:
    """Where FileReference paths point: beside export.xml, in its folder or its zip."""

    path: Path
    export_member: str | None

    def source(self, reference: str) -> Source | None:
        """A Source for the referenced GPX file, or None when it is missing."""
        relative = reference.lstrip("/")
        if self.export_member is None:
            on_disk = self.path.parent / relative
            return Source(on_disk) if on_disk.is_file() else None
        member = posixpath.join(posixpath.dirname(self.export_member), relative)
        with zipfile.ZipFile(self.path) as archive:
            if member not in archive.namelist():
                return None
        return Source(self.path, member=member)


class _Reader:
    """Expat callbacks keeping a stack of open elements; each finished top-level
    element (a child of `HealthData`) is turned into rows."""

    def __init__(self, files: _RouteFiles) -> None:
        self.files = files
        self.stack: list[_Element] = []
        self.rows: Rows = {
            "health_samples": [],
            "sleep_segments": [],
            "workouts": [],
            "location_points": [],
        }
        self.rejects: list[Reject] = []

    def parse(self, data: bytes, display_name: str) -> int:
        """Parse the whole export; returns the number of control characters removed."""
        data = _strip_dtd(data)
        cleaned = data.translate(None, _FORBIDDEN)
        parser = expat.ParserCreate()
        parser.StartElementHandler = lambda name, attrs: self._start(name, attrs, parser)
        parser.EndElementHandler = self._end
        try:
            parser.Parse(cleaned, True)
        except expat.ExpatError as error:
            reason = f"not well-formed XML: {expat.ErrorString(error.code)}"
            raise ParseError(display_name, reason, line=error.lineno) from None
        return len(data) - len(cleaned)

    def _start(self, name: str, attrs: dict[str, str], parser: expat.XMLParserType) -> None:
        # In a start handler expat's position is the start tag's `<`, however many
        # lines the tag is wrapped over.
        element = _Element(name, attrs, parser.CurrentLineNumber)
        if self.stack:
            self.stack[-1].children.append(element)
        self.stack.append(element)

    def _end(self, _name: str) -> None:
        element = self.stack.pop()
        if len(self.stack) == 1:  # its parent is the root, HealthData
            self._top_level(element)

    def reject(self, table: str, reason: str, line: int) -> None:
        self.rejects.append(Reject(table, reason, line))

    def _top_level(self, element: _Element) -> None:
        if element.name == "Record":
            self._record(element)
        elif element.name == "Workout":
            self._workout(element)
        elif element.name == "ActivitySummary":
            self._activity_summary(element)
        # ExportDate, Me, Correlation (and the Records inside it), ClinicalRecord,
        # Audiogram, VisionPrescription: not stored.

    # Record → health_samples, sleep_segments

    def _record(self, record: _Element) -> None:
        kind = record.get("type")
        start = _instant(record.get("startDate"))
        end = _instant(record.get("endDate"))
        if start is None or end is None:
            reason = (
                f"Record without a usable startDate/endDate "
                f"({record.get('startDate')!r}, {record.get('endDate')!r})"
            )
            table = "sleep_segments" if kind == SLEEP_TYPE else "health_samples"
            self.reject(table, reason, record.line)
        elif kind is None:
            self.reject("health_samples", "Record without a type", record.line)
        elif kind == SLEEP_TYPE:
            self._sleep(record, start, end)
        else:
            self._sample(record, kind, start, end)

    def _sample(
        self, record: _Element, kind: str, start: tuple[datetime, int], end: tuple[datetime, int]
    ) -> None:
        written_unit = record.get("unit")
        metric, unit = metric_for(kind, written_unit)
        text = record.get("value")
        number = _number(text)
        beats = [
            _drop_empty({"bpm": _number(beat.get("bpm")), "time": beat.get("time")})
            for beats in record.kids("HeartRateVariabilityMetadataList")
            for beat in beats.kids("InstantaneousBeatsPerMinute")
        ]
        extra = {
            "source_version": record.get("sourceVersion"),
            "creation_date": record.get("creationDate"),
            "unit": written_unit if written_unit != unit else None,
            "category": text if number is None else None,
            "metadata": _metadata(record),
            "beats": beats,
        }
        self.rows["health_samples"].append(
            {
                "metric": metric,
                "start_at": start[0],
                "end_at": end[0],
                "utc_offset_min": start[1],
                "value": None if number is None else convert(number, unit, written_unit),
                "unit": unit,
                "source_name": record.get("sourceName"),
                "device": record.get("device"),
                "source_type": kind,
                "extra": _drop_empty(extra),
            }
        )

    def _sleep(
        self, record: _Element, start: tuple[datetime, int], end: tuple[datetime, int]
    ) -> None:
        value = record.get("value") or ""
        stage = SLEEP_STAGES.get(value.removeprefix(SLEEP_PREFIX))
        if stage is None:
            self.reject("sleep_segments", f"unknown sleep value {value!r}", record.line)
            return
        extra = {
            "source_version": record.get("sourceVersion"),
            "creation_date": record.get("creationDate"),
            "metadata": _metadata(record),
        }
        self.rows["sleep_segments"].append(
            {
                "start_at": start[0],
                "end_at": end[0],
                "utc_offset_min": start[1],
                "stage": stage,
                "source_name": record.get("sourceName"),
                "device": record.get("device"),
                "extra": _drop_empty(extra),
            }
        )

    # Workout → workouts, location_points

    def _workout(self, workout: _Element) -> None:
        start = _instant(workout.get("startDate"))
        end = _instant(workout.get("endDate"))
        if start is None or end is None:
            # The spec names no rule for workouts; without its dates a workout has
            # neither a time nor an id, so it is rejected like a Record.
            reason = (
                f"Workout without a usable startDate/endDate "
                f"({workout.get('startDate')!r}, {workout.get('endDate')!r})"
            )
            self.reject("workouts", reason, workout.line)
            return
        activity_type = workout.get("workoutActivityType") or ""
        source_name = workout.get("sourceName")
        workout_id = stable_id("apple_health", source_name, workout.get("startDate"), activity_type)
        statistics = list(workout.descendants("WorkoutStatistics"))
        heart_rate = _first_statistic(statistics, lambda kind: kind == HEART_RATE_TYPE)
        routes = list(workout.descendants("WorkoutRoute"))
        extra = {
            "source_version": workout.get("sourceVersion"),
            "creation_date": workout.get("creationDate"),
            "metadata": _metadata(workout),
            "statistics": [_pick(s, _STATISTIC_KEYS) for s in statistics],
            "events": [_pick(e, _EVENT_KEYS) for e in workout.descendants("WorkoutEvent")],
            "activities": [
                _pick(a, _ACTIVITY_KEYS) for a in workout.descendants("WorkoutActivity")
            ],
            "route": _route_extra(routes[0]) if routes else None,
        }
        self.rows["workouts"].append(
            {
                "workout_id": workout_id,
                "sport": sport_for(activity_type),
                "start_at": start[0],
                "end_at": end[0],
                "utc_offset_min": start[1],
                "duration_s": _duration_s(workout, start[0], end[0]),
                "distance_m": _distance_m(workout, statistics),
                "energy_kcal": _energy_kcal(workout, statistics),
                "avg_heart_rate": _number(heart_rate.get("average")) if heart_rate else None,
                "max_heart_rate": _number(heart_rate.get("maximum")) if heart_rate else None,
                "source_name": source_name,
                "device": workout.get("device"),
                "extra": _drop_empty(extra),
            }
        )
        for route in routes:
            route_source = route.get("sourceName")
            self._route(
                route, route_source if route_source is not None else source_name, workout_id
            )

    def _route(self, route: _Element, source: str | None, workout_id: str) -> None:
        for location in route.kids("Location"):
            self._location(location, source, workout_id)
        for reference in route.kids("FileReference"):
            self._route_file(reference, source, workout_id)

    def _location(self, location: _Element, source: str | None, workout_id: str) -> None:
        when = _instant(location.get("date"))
        lat = _number(location.get("latitude"))
        lon = _number(location.get("longitude"))
        if when is None or lat is None or lon is None:
            # Not in the spec: a point without a time or a position is no point.
            reason = f"Location without a usable date, latitude or longitude {location.attrs!r}"
            self.reject("location_points", reason, location.line)
            return
        extra = {
            "course": _number(location.get("course")),
            "vertical_accuracy": _number(location.get("verticalAccuracy")),
        }
        self.rows["location_points"].append(
            {
                "recorded_at": when[0],
                "utc_offset_min": when[1],
                "lat": lat,
                "lon": lon,
                "accuracy_m": _number(location.get("horizontalAccuracy")),
                "altitude_m": _number(location.get("altitude")),
                "speed_mps": _number(location.get("speed")),
                "source": source,
                "workout_id": workout_id,
                "extra": _drop_empty(extra),
            }
        )

    def _route_file(self, reference: _Element, source: str | None, workout_id: str) -> None:
        path = reference.get("path") or ""
        gpx_source = self.files.source(path)
        if gpx_source is None:
            self.reject("location_points", f"route file {path!r} is missing", reference.line)
            return
        for batch in gpx.read(gpx_source):
            if batch.table != "location_points":
                continue  # the GPX track's own workout row: the Workout already is one
            for row in batch.rows.to_pylist():
                row["extra"] = json.loads(row["extra"])
                if row["recorded_at"] is not None:  # an untimed GPX point has none
                    row["recorded_at"] = row["recorded_at"].astimezone(UTC)
                row["source"] = source
                row["workout_id"] = workout_id
                self.rows["location_points"].append(row)
        self.rejects.extend(gpx_source.rejects)

    # ActivitySummary → health_samples

    def _activity_summary(self, summary: _Element) -> None:
        day = summary.get("dateComponents")
        start = _day_start(day)
        if start is None:
            self.reject(
                "health_samples", f"ActivitySummary with dateComponents {day!r}", summary.line
            )
            return
        for metric, unit, value_keys, goal_keys in _ACTIVITY:
            value_text = _first_present(summary, value_keys)
            if value_text is None:
                continue
            # Only the move ring has a unit of its own; the others are fixed.
            written = (summary.get("activeEnergyBurnedUnit") or "kcal") if unit == "kcal" else unit
            value = _number(value_text)
            goal = _number(_first_present(summary, goal_keys))
            self.rows["health_samples"].append(
                {
                    "metric": metric,
                    "start_at": start,
                    "end_at": start + timedelta(days=1),
                    "utc_offset_min": None,
                    "value": None if value is None else convert(value, unit, written),
                    "unit": unit,
                    "source_name": "Activity",
                    "device": None,
                    "source_type": "ActivitySummary",
                    "extra": _drop_empty(
                        {"goal": None if goal is None else convert(goal, unit, written)}
                    ),
                }
            )


# Values


def _strip_dtd(data: bytes) -> bytes:
    """The export with its DOCTYPE (before the root element) replaced by its newlines."""
    root = data.find(b"<HealthData")
    match = _DTD.search(data, 0, root if root >= 0 else len(data))
    if match is None:
        return data
    blank = b"\n" * match.group().count(b"\n")
    return data[: match.start()] + blank + data[match.end() :]


def _instant(text: str | None) -> tuple[datetime, int] | None:
    """`2023-03-26 08:10:00 +0200` → (2023-03-26 06:10:00 UTC, 120); None if it does not parse."""
    match = _DATE.fullmatch(text or "")
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:  # 2023-02-30 and the like
        return None
    offset = (1 if sign == "+" else -1) * (int(off_h) * 60 + int(off_m))
    return (local - timedelta(minutes=offset)).replace(tzinfo=UTC), offset


def _day_start(text: str | None) -> datetime | None:
    """`2024-05-04` → 2024-05-04 00:00 UTC (an ActivitySummary's day is already local)."""
    if text is None or not _DAY.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _number(text: str | None) -> float | None:
    """The attribute as a float, or None when it is missing or not a plain number."""
    if text is None or not _NUMBER.fullmatch(text):
        return None
    return float(text)


def _metadata(element: _Element) -> dict[str, str]:
    """The element's own MetadataEntry children, key → value; later keys win."""
    return {
        entry.attrs["key"]: entry.attrs["value"]
        for entry in element.kids("MetadataEntry")
        if "key" in entry.attrs and "value" in entry.attrs
    }


def _pick(element: _Element, keys: tuple[str, ...]) -> dict[str, str]:
    """The element's attributes among `keys`, present ones only."""
    return {key: element.attrs[key] for key in keys if key in element.attrs}


def _first_present(element: _Element, keys: tuple[str, ...]) -> str | None:
    return next((element.attrs[key] for key in keys if key in element.attrs), None)


def _first_statistic(statistics: list[_Element], wanted: Callable[[str], bool]) -> _Element | None:
    """The first WorkoutStatistics (document order) whose type `wanted` accepts."""
    return next((s for s in statistics if wanted(s.get("type") or "")), None)


def _route_extra(route: _Element) -> dict[str, str] | None:
    files = route.kids("FileReference")
    return _drop_empty(
        {"source_name": route.get("sourceName"), "file": files[0].get("path") if files else None}
    )


def _duration_s(workout: _Element, start: datetime, end: datetime) -> float:
    duration = _number(workout.get("duration"))
    if duration is not None:
        return convert(duration, "s", workout.get("durationUnit") or "min")
    return (end - start).total_seconds()


def _distance_m(workout: _Element, statistics: list[_Element]) -> float | None:
    total = _number(workout.get("totalDistance"))
    if total is not None:
        return convert(total, "m", workout.get("totalDistanceUnit"))
    first = _first_statistic(statistics, lambda kind: kind.startswith(DISTANCE_TYPE_PREFIX))
    return _statistic_sum(first, "m")


def _energy_kcal(workout: _Element, statistics: list[_Element]) -> float | None:
    total = _number(workout.get("totalEnergyBurned"))
    if total is not None:
        return convert(total, "kcal", workout.get("totalEnergyBurnedUnit"))
    first = _first_statistic(statistics, lambda kind: kind == ACTIVE_ENERGY_TYPE)
    return _statistic_sum(first, "kcal")


def _statistic_sum(statistic: _Element | None, canonical: str) -> float | None:
    if statistic is None:
        return None
    total = _number(statistic.get("sum"))
    return None if total is None else convert(total, canonical, statistic.get("unit"))


def _drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    """`extra` without the keys whose value is null, an empty object or an empty list."""
    return {key: value for key, value in values.items() if value not in (None, {}, [])}


# Normalising


def _normalise_row(row: Mapping[str, Any]) -> Row:
    out: Row = {}
    for key, value in row.items():
        if key == "import_id" or value is None:
            continue
        if key == "extra" and isinstance(value, str):
            value = json.loads(value)
        out[key] = _normalise_value(value)
    return out


def _normalise_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        # Floats only, so 5 and 5.0 also sort alike.
        return float(f"{value:.9g}") if math.isfinite(value) else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, Mapping):
        return {key: _normalise_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_value(item) for item in value]
    return value


def _sort_key(row: Row) -> str:
    return json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
