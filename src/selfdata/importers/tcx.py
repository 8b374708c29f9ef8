"""Garmin Training Center XML (TCX) v2: activities, their laps and trackpoints.

Spec: https://www8.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd, with the
ActivityExtension v2 schema (https://www8.garmin.com/xmlschemas/ActivityExtensionv2.xsd)
for the `TPX` (trackpoint) and `LX` (lap) extensions. Element names are matched
without their namespace prefix (Garmin Connect writes `ns3:TPX`, others `ext:TPX`).

Each `Activity` becomes one `workouts` row:

- `sport` from the `Sport` attribute: Running → running, Biking → cycling,
  Other → other (non-standard words such as "Walking" are matched too); the
  attribute itself, `Notes`, the creator's version, the file's `Author` and a
  compact list of lap totals (`laps`) go to `extra`. Lap keys are the element
  names in snake_case, with the totals renamed to canonical units (`duration_s`,
  `distance_m`, `energy_kcal`, `avg_hr`, `max_hr`, `max_speed_mps`).
- `start_at` is the `Id` (or, when unusable, the first lap's `StartTime`), and
  `utc_offset_min` that time's written offset. `end_at` is the last trackpoint
  time, or start plus the laps' `TotalTimeSeconds` when there are none.
- `duration_s`, `distance_m`, `energy_kcal` are the sums over laps. Without lap
  totals (indoor files), duration is end minus start and distance the largest
  trackpoint `DistanceMeters`.
- `avg_heart_rate` is the laps' `AverageHeartRateBpm` weighted by their
  `TotalTimeSeconds` (else the mean trackpoint heart rate); `max_heart_rate` the
  largest lap maximum or trackpoint value.
- `source_name` is the `Creator`'s `Name` ("tcx" without one); `device` adds its
  `ProductID` and `UnitId`. `workout_id` is `stable_id("tcx", source_name,
  start_at, sport)` with start_at as a UTC instant, so `...21.000Z` and `...21Z`
  give the same id.

Every `Trackpoint` with a `Position` is a `location_points` row carrying the
workout's id, `AltitudeMeters` as `altitude_m`, the TPX `Speed` as `speed_mps`,
and in `extra` the lap index, `hr`, `cadence`, `distance_m`, `sensor_state` and
every other TPX value (`run_cadence`, `watts`...). Every trackpoint heart rate
(with or without a Position) is a `health_samples` row, metric `heart_rate`,
whose `extra` is the trackpoint's plus `workout_id`, so an indoor point's cadence
is kept too. A heart rate of 0 is no reading (chest straps that lose contact
write it). A bad Position or heart rate is rejected, with its line, from its
table and the rest of the trackpoint kept; a trackpoint without a usable time
is rejected from each table it would have filled.

Times follow the GPX importer's rule: ISO 8601, any fraction (cut to
microseconds); `utc_offset_min` is the written numeric offset (`+00:00` gives 0)
and NULL for `Z`, an instant whose local offset is unknown. Courses (planned
routes, not recordings) are not imported.

The `Creator` comes after an activity's laps, so an activity's points are held,
as compact Arrow chunks, until it ends: memory is bounded by the largest activity.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from selfdata import xmlsafe
from selfdata.errors import ParseError
from selfdata.importers.base import Batch, Source, stable_id
from selfdata.importers.columns import (
    canonical_schema,
    coordinate,
    finite,
    json_value,
    parse_iso_times,
)
from selfdata.importers.columns import json_text as _json

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "tcx"
version = "1"
patterns = ("*.tcx",)
tables = ("workouts", "location_points", "health_samples")

# Trackpoints per chunk, and so the largest batch: memory stays flat per chunk.
BATCH_POINTS = 50_000

HEALTH_SCHEMA = canonical_schema("health_samples")
LOCATION_SCHEMA = canonical_schema("location_points")
WORKOUT_SCHEMA = canonical_schema("workouts")

# Before the root: a BOM, whitespace, declarations (either quote), comments, a
# DOCTYPE. No alternative nests a repeat, so a non-matching head fails in linear time.
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?"
    rb"(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->|<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>)*"
    rb"<(?:[A-Za-z_][\w.-]*:)?TrainingCenterDatabase[\s/>]"
)

# The schema's three words, and the other sports some writers put in `Sport` anyway.
_SPORTS = {
    **{"running": "running", "biking": "cycling", "other": "other", "cycling": "cycling"},
    **{"walking": "walking", "hiking": "hiking", "swimming": "swimming"},
}
# Lap totals that have a canonical meaning get canonical names; the rest are snake_cased.
_LAP_KEYS = {
    "TotalTimeSeconds": "duration_s",
    "DistanceMeters": "distance_m",
    "MaximumSpeed": "max_speed_mps",
    "Calories": "energy_kcal",
    "AverageHeartRateBpm": "avg_hr",
    "MaximumHeartRateBpm": "max_hr",
}
_POINT_KEYS = {"HeartRateBpm": "hr", "DistanceMeters": "distance_m"}
_VERSION_PARTS = ("VersionMajor", "VersionMinor", "BuildMajor", "BuildMinor")
_HEART_RATE = "tcx:Trackpoint.HeartRateBpm"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def detect(head: bytes, filename: str) -> bool:
    """True when the head's root element is `<TrainingCenterDatabase>`.

    Example:
        >>> detect(b"<?xml version='1.0'?>\\n<TrainingCenterDatabase xmlns='x'>", "a.xml")
        True
    """
    return _ROOT.match(head) is not None


def read(source: Source) -> Iterator[Batch]:
    """Stream a TCX file: each activity's points and heart rates, then the workouts.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/tcx/indoor_no_gps.tcx")))
        >>> [batch.table for batch in batches]
        ['health_samples', 'workouts']
    """
    reader = _Reader(source)
    with source.open() as stream:
        for _ in xmlsafe.feed(reader.parser, stream, source.display_name):
            yield from reader.out
            reader.out.clear()
    if reader.workouts:
        yield Batch("workouts", reader.workout_table())


class _Row(NamedTuple):
    """One trackpoint as the callbacks collect it; chunks are built column-wise."""

    time: str
    lat: float | None  # None: no usable Position, so not a location point
    lon: float | None
    altitude: float | None
    speed: float | None
    hr: float | None  # None: no reading
    distance: float | None
    extra: str
    line: int


@dataclass
class _Point:
    line: int
    lap: int
    positioned: bool = False
    time: str | None = None
    lat: str | None = None
    lon: str | None = None
    altitude: float | None = None
    speed: float | None = None
    hr: str | None = None
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class _Activity:
    sport: str | None
    line: int
    values: dict[str, str] = field(default_factory=dict)  # Id, Notes
    creator: dict[str, str] = field(default_factory=dict)
    laps: list[dict[str, object]] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    chunks: list[pa.Table] = field(default_factory=list)
    t_max: int | None = None  # trackpoint figures, folded in chunk by chunk
    hr_sum: float = 0.0
    hr_count: int = 0
    hr_max: float | None = None
    distance_max: float | None = None


class _Reader:
    """Expat callbacks that turn activities into rows, chunk by chunk."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.parser = xmlsafe.make_parser()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.stack: list[str] = []
        self.chars: list[str] = []
        self.leaf = False
        self.activity: _Activity | None = None
        self.lap: dict[str, object] | None = None
        self.point: _Point | None = None
        self.author: str | None = None
        self.out: list[Batch] = []
        self.workouts: list[dict[str, Any]] = []

    def workout_table(self) -> pa.Table:
        # The file's Author comes after every activity, so extra is written last.
        for row in self.workouts:
            row["extra"] = _json(_compact({**row["extra"], "author": self.author}))
        return pa.Table.from_pylist(self.workouts, schema=WORKOUT_SCHEMA)

    # expat callbacks

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        tag = tag.rpartition(":")[2]
        if not self.stack and tag != "TrainingCenterDatabase":
            reason = f"not TCX: the root element is <{tag}>"
            raise ParseError(self.source.display_name, reason)
        self.stack.append(tag)
        self.chars = []
        self.leaf = True
        line = self.parser.CurrentLineNumber
        if tag == "Activity":
            self.activity = _Activity(attrs.get("Sport"), line)
        elif self.activity is None:
            return  # Courses, Workouts, Author: no recorded activity
        elif tag == "Lap":
            self.lap = {"start_at": attrs.get("StartTime")}
            self.activity.laps.append(self.lap)
        elif tag == "Trackpoint":
            self.point = _Point(line, lap=len(self.activity.laps) - 1)
        elif self.point is not None and tag == "Position":
            self.point.positioned = True
        elif self.point is not None and "CadenceSensor" in attrs:
            self.point.values["cadence_sensor"] = attrs["CadenceSensor"]

    def _end(self, _tag: str) -> None:
        tag = self.stack[-1]  # expat guarantees it is the element being closed
        parent = self.stack[-2] if len(self.stack) > 1 else ""
        text = "".join(self.chars).strip() if self.leaf else ""
        if self.point is not None and tag == "Trackpoint":
            self._commit(self.point)
            self.point = None
        elif self.point is not None:
            if text:
                _set_point_value(self.point, tag, parent, text)
        elif tag == "Lap":
            self.lap = None
        elif tag == "Activity" and self.activity is not None:
            self._finish(self.activity)
            self.activity = None
        elif text:
            self._describe(tag, parent, text)
        self.stack.pop()
        self.leaf = False

    def _text(self, data: str) -> None:
        self.chars.append(data)

    # collecting

    def _describe(self, tag: str, parent: str, text: str) -> None:
        """A leaf outside trackpoints: a lap total, the activity's Id, Notes or Creator."""
        key = parent if tag == "Value" else tag  # AverageHeartRateBpm/Value
        if self.lap is not None:
            self.lap[_LAP_KEYS.get(key, _snake(key))] = json_value(text)
        elif self.activity is not None and parent == "Activity":
            self.activity.values[tag] = text
        elif self.activity is not None and "Creator" in self.stack:
            self.activity.creator[tag] = text
        elif parent == "Author" and tag == "Name":
            self.author = text

    def _commit(self, point: _Point) -> None:
        """Keep a trackpoint as a row, or reject what of it cannot be used."""
        assert self.activity is not None
        lat, lon = coordinate(point.lat, 90.0), coordinate(point.lon, 180.0)
        if point.positioned and (lat is None or lon is None):
            reason = (
                f"<Position> with LatitudeDegrees={point.lat!r} LongitudeDegrees={point.lon!r}: "
                "missing, not a number or out of range"
            )
            self.source.reject("location_points", reason, point.line)
        positioned = point.positioned and lat is not None and lon is not None
        hr = finite(point.hr) if point.hr is not None else None
        if point.hr is not None and hr is None:
            reason = f"heart rate {point.hr!r} is not a number"
            self.source.reject("health_samples", reason, point.line)
        heart = hr if hr is not None and hr > 0 else None
        if point.time is None:
            _reject_point(self.source, positioned, heart, "<Trackpoint> without <Time>", point.line)
            return
        extra = _json({"lap": point.lap, **point.values})
        distance = point.values.get("distance_m")
        self.activity.rows.append(
            _Row(
                point.time,
                lat if positioned else None,
                lon if positioned else None,
                point.altitude,
                point.speed,
                heart,
                float(distance) if isinstance(distance, int | float) else None,
                extra,
                point.line,
            )
        )
        if len(self.activity.rows) >= BATCH_POINTS:
            self._chunk(self.activity)

    def _chunk(self, activity: _Activity) -> None:
        """Turn the held rows into one Arrow chunk, its times parsed in one pass."""
        rows, activity.rows = activity.rows, []
        columns: dict[str, tuple[Any, ...]] = dict(
            zip(_Row._fields, zip(*rows, strict=True), strict=True)
        )
        recorded_at, offsets, bad = parse_iso_times(columns["time"])
        for index in bad.nonzero()[0]:
            row = rows[index]
            reason = f"unparsable time {row.time!r}"
            _reject_point(self.source, row.lat is not None, row.hr, reason, row.line)
        chunk = pa.table(
            {
                "recorded_at": recorded_at,
                "utc_offset_min": offsets,
                "lat": _floats(columns["lat"]),
                "lon": _floats(columns["lon"]),
                "altitude_m": _floats(columns["altitude"]),
                "speed_mps": _floats(columns["speed"]),
                "hr": _floats(columns["hr"]),
                "distance": _floats(columns["distance"]),
                "extra": pa.array(columns["extra"], pa.string()),
            }
        ).filter(pa.array(~bad))
        _fold(activity, chunk)
        activity.chunks.append(chunk.drop_columns(["distance"]))

    # an activity's rows

    def _finish(self, activity: _Activity) -> None:
        """The activity's location and heart-rate batches, and its workout row."""
        if activity.rows:
            self._chunk(activity)
        source_name = activity.creator.get("Name") or "tcx"
        device = _device(activity.creator)
        start_us, offset = _start_of(activity)
        sport = _sport(activity.sport)
        workout_id = None
        if start_us is None:
            reason = "<Activity> without a usable <Id> or lap StartTime"
            self.source.reject("workouts", reason, activity.line)
        else:
            workout_id = stable_id("tcx", source_name, _iso(start_us), sport)
            row = _workout_row(activity, start_us, offset, sport)
            identity = {"workout_id": workout_id, "source_name": source_name, "device": device}
            self.workouts.append(identity | row)
        for chunk in activity.chunks:
            self.out.extend(_batches(chunk, source_name, device, workout_id))
        activity.chunks.clear()


def _batches(
    chunk: pa.Table, source_name: str, device: str | None, workout_id: str | None
) -> Iterator[Batch]:
    """One chunk's trackpoints as location_points and health_samples batches."""
    points = chunk.filter(pc.is_valid(chunk["lat"]))
    if points.num_rows:
        n = points.num_rows
        columns = {
            **{key: points[key] for key in ("recorded_at", "utc_offset_min", "lat", "lon")},
            "accuracy_m": pa.nulls(n, pa.float64()),
            **{key: points[key] for key in ("altitude_m", "speed_mps")},
            "source": pa.array([source_name] * n, pa.string()),
            "workout_id": pa.array([workout_id] * n, pa.string()),
            "extra": points["extra"],
        }
        yield Batch("location_points", pa.table(columns, schema=LOCATION_SCHEMA))
    beats = chunk.filter(pc.is_valid(chunk["hr"]))
    if beats.num_rows:
        n = beats.num_rows

        def constant(value: str | None) -> pa.Array:
            return pa.array([value] * n, pa.string())

        columns = {
            "metric": constant("heart_rate"),
            "start_at": beats["recorded_at"],
            "end_at": beats["recorded_at"],
            "utc_offset_min": beats["utc_offset_min"],
            "value": beats["hr"],
            "unit": constant("count/min"),
            "source_name": constant(source_name),
            "device": constant(device),
            "source_type": constant(_HEART_RATE),
            "extra": _with_workout_id(beats["extra"], workout_id),
        }
        yield Batch("health_samples", pa.table(columns, schema=HEALTH_SCHEMA))


def _with_workout_id(extra: pa.ChunkedArray, workout_id: str | None) -> pa.ChunkedArray:
    """The trackpoints' extra JSON objects with `workout_id` added as their first key.

    Spliced as text, in one vectorised pass: every object was written by `_commit`
    and starts with `{"lap": `, so it is never empty.
    """
    if workout_id is None:
        return extra
    rest = pc.utf8_slice_codeunits(extra, 1)
    return pc.binary_join_element_wise(_json({"workout_id": workout_id})[:-1] + ", ", rest, "")


def _fold(activity: _Activity, chunk: pa.Table) -> None:
    """Add one chunk's last time, heart rates and distance to the activity's figures."""
    t_max = pc.max(chunk["recorded_at"].cast(pa.int64())).as_py()
    if t_max is not None:
        activity.t_max = max(t_max, activity.t_max if activity.t_max is not None else t_max)
    hr = chunk["hr"]
    activity.hr_sum += pc.sum(hr).as_py() or 0.0
    activity.hr_count += pc.count(hr).as_py()
    activity.hr_max = _max(activity.hr_max, pc.max(hr).as_py())
    activity.distance_max = _max(activity.distance_max, pc.max(chunk["distance"]).as_py())


def _start_of(activity: _Activity) -> tuple[int | None, int | None]:
    """The activity's start (UTC microseconds) and offset: its Id, else its first lap's."""
    first_lap = activity.laps[0].get("start_at") if activity.laps else None
    candidates = [activity.values.get("Id"), first_lap if isinstance(first_lap, str) else None]
    instants, offsets, _ = parse_iso_times(candidates)
    for micros, offset in zip(
        instants.cast(pa.int64()).to_pylist(), offsets.to_pylist(), strict=True
    ):
        if micros is not None:
            return micros, offset
    return None, None


def _workout_row(
    activity: _Activity, start_us: int, offset: int | None, sport: str
) -> dict[str, Any]:
    """Totals from the laps, falling back to the trackpoints where the laps lack them."""
    laps = activity.laps
    duration = _lap_sum(laps, "duration_s")
    end_us = activity.t_max
    if end_us is None and duration is not None:
        end_us = start_us + round(duration * 1e6)
    if duration is None and end_us is not None:
        duration = (end_us - start_us) / 1e6
    points_hr = activity.hr_sum / activity.hr_count if activity.hr_count else None
    lap_max = [v for lap in laps if isinstance(v := lap.get("max_hr"), int | float)]
    version = ".".join(activity.creator[p] for p in _VERSION_PARTS if p in activity.creator)
    extra = {
        "sport": activity.sport,
        "notes": activity.values.get("Notes"),
        "creator_version": version or None,
        "laps": [_compact(lap) for lap in laps],
    }
    return {
        "sport": sport,
        "start_at": _EPOCH + timedelta(microseconds=start_us),
        "end_at": None if end_us is None else _EPOCH + timedelta(microseconds=end_us),
        "utc_offset_min": offset,
        "duration_s": duration,
        "distance_m": _first(_lap_sum(laps, "distance_m"), activity.distance_max),
        "energy_kcal": _lap_sum(laps, "energy_kcal"),
        "avg_heart_rate": _first(_weighted_lap_hr(laps), points_hr),
        "max_heart_rate": _max(activity.hr_max, max(lap_max, default=None)),
        "extra": extra,
    }


def _lap_sum(laps: Sequence[dict[str, object]], key: str) -> float | None:
    values = [float(v) for lap in laps if isinstance(v := lap.get(key), int | float)]
    return math.fsum(values) if values else None


def _weighted_lap_hr(laps: Sequence[dict[str, object]]) -> float | None:
    """Laps' average heart rates weighted by lap time: a long lap counts for more."""
    pairs = [
        (float(hr), float(seconds))
        for lap in laps
        if isinstance(hr := lap.get("avg_hr"), int | float)
        and isinstance(seconds := lap.get("duration_s"), int | float)
        and seconds > 0
    ]
    total = sum(seconds for _, seconds in pairs)
    return sum(hr * seconds for hr, seconds in pairs) / total if total else None


def _set_point_value(point: _Point, tag: str, parent: str, text: str) -> None:
    """Store one leaf value found inside a trackpoint, standard or TPX extension."""
    if tag == "Time":
        point.time = text
    elif tag == "LatitudeDegrees":
        point.lat = text
    elif tag == "LongitudeDegrees":
        point.lon = text
    elif tag == "AltitudeMeters":
        point.altitude = finite(text)
    elif tag == "Speed" and (speed := finite(text)) is not None:
        point.speed = speed
    else:
        key = parent if tag == "Value" else tag  # HeartRateBpm/Value
        value = json_value(text)
        point.values[_POINT_KEYS.get(key, _snake(key))] = value
        if key == "HeartRateBpm":
            point.hr = text


def _reject_point(
    source: Source, positioned: bool, hr: float | None, reason: str, line: int
) -> None:
    """One reject for each table the trackpoint would have filled."""
    if positioned:
        source.reject("location_points", reason, line)
    if hr is not None:
        source.reject("health_samples", reason, line)


def _device(creator: dict[str, str]) -> str | None:
    """The Creator's name with its product and unit ids, e.g. "Edge 530 (ProductID 3121)"."""
    ids = [f"{key} {creator[key]}" for key in ("ProductID", "UnitId") if key in creator]
    label = creator.get("Name")
    if ids:
        return f"{label or 'unknown device'} ({', '.join(ids)})"
    return label


def _sport(attribute: str | None) -> str:
    return _SPORTS.get((attribute or "").strip().lower(), "other")


@functools.cache  # a few dozen distinct tags, met once per trackpoint each
def _snake(tag: str) -> str:
    """`AvgRunCadence` → `avg_run_cadence`, `ProductID` → `product_id`."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", tag).lower()


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _iso(micros: int) -> str:
    return (_EPOCH + timedelta(microseconds=micros)).isoformat()


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _max(a: float | None, b: float | None) -> float | None:
    return max((x for x in (a, b) if x is not None), default=None)


def _floats(values: Sequence[float | None]) -> pa.Array:
    return pa.array(values, pa.float64())
