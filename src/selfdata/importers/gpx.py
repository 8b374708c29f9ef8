"""GPX 1.0 and 1.1: GPS tracks, routes and waypoints.

Spec: https://www.topografix.com/GPX/1/1/ (and /GPX/1/0/ for the older version).

Every point goes to `location_points`: track points (`trk/trkseg/trkpt`), route
points (`rte/rtept`) and waypoints (`wpt`). `extra` says which kind it was, the
track, segment or route index (0-based, in file order), the track's or route's
name (a waypoint's own name; a track point's own `<name>` becomes `point_name`)
and every other value the point carries, standard (`hdop`, `sat`, `fix`) or from
`<extensions>` (`hr`, `cad`, `course`, `vAcc`, ...), keyed by local name without
the namespace prefix. Values that have a canonical column go there instead:
`<ele>` to `altitude_m`, any `speed` (GPX 1.0 `<speed>`, Garmin
TrackPointExtension v2, Apple, OsmAnd) to `speed_mps`, Apple's `hAcc` to
`accuracy_m`. `source` is the file's `creator`, or "gpx" when it names none.

Times are ISO 8601 with any number of fraction digits (truncated to
microseconds). `utc_offset_min` is the offset the time was written with
(`+07:00` gives 420); a `Z` time, or one without a zone (the spec says UTC), is
an instant whose local offset is unknown, so it is NULL.

Which tracks are workouts:

- A track is a workout when two of its timestamps are at least one second apart.
  So routes, untimed tracks, and tracks whose every point has the same time (a
  device bug that stamps 1901-12-13T20:45:52Z, the int32 epoch minimum) are not.
- Its `<type>` gives the sport: running, cycling, walking, hiking, swimming,
  skiing (English words and Strava's names or numbers), else "other". A track
  with no `<type>` is a workout with sport "other".
- A vehicle type (car, taxi, bus, train, airplane, boat, ...) or "stationary"
  makes the track a trip, not a workout; its points still go to
  `location_points`. The type must come before the track's points, as the spec
  orders it.

The workout's points carry its `workout_id`; its distance is the great-circle
sum within each segment, and its heart rate comes from `hr` extensions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
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

name = "gpx"
version = "1"
patterns = ("*.gpx",)
tables = ("location_points", "workouts")

# Points per location_points batch: memory stays flat whatever the file's size.
BATCH_POINTS = 50_000

LOCATION_SCHEMA = canonical_schema("location_points")
WORKOUT_SCHEMA = canonical_schema("workouts")

# Before the root element: a BOM, whitespace, the declaration, comments, a DOCTYPE.
# Each alternative starts differently and none nests a repeat, so a head that does
# not match fails in linear time.
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?"
    rb"(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->|<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>)*"
    rb"<(?:[A-Za-z_][\w.-]*:)?gpx[\s/>]"
)

_POINTS = ("trkpt", "rtept", "wpt")
_KIND = {"trkpt": "track", "rtept": "route", "wpt": "waypoint"}
# Standard point elements that hold text, kept as text even when it looks like a number.
_TEXT_VALUES = frozenset({"cmt", "desc", "src", "sym", "type", "fix"})
# Extension names that mean the same thing in different vendors' schemas.
_ALIASES = {"heartrate": "hr", "HeartRate": "hr", "cadence": "cad", "Cadence": "cad"}
_STRAVA_TYPES = {"1": "cycling", "9": "running", "10": "walking"}
# Word stems, first match wins; vehicles and lifts are ruled out before these are tried.
_SPORT_STEMS = (
    ("run", "running"),
    ("jog", "running"),
    ("cycl", "cycling"),
    ("bik", "cycling"),
    ("ride", "cycling"),
    ("walk", "walking"),
    ("hik", "hiking"),
    ("swim", "swimming"),
    ("ski", "skiing"),
)
_NOT_ACTIVITIES = frozenset(
    {
        *("taxi", "car", "cab", "automotive", "automobile", "driving", "drive", "truck"),
        *("bus", "coach", "train", "rail", "railway", "tram", "metro", "subway", "underground"),
        *("airplane", "aeroplane", "plane", "flying", "flight", "boat", "ferry", "ship"),
        *("motorcycle", "motorbike", "moped", "tractor", "tuktuk", "songthaew"),
        *("cablecar", "funicular", "chairlift", "lift", "gondola", "balloon"),
        *("transport", "vehicle", "stationary"),
    }
)
_EARTH_RADIUS_M = 6_371_008.8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def detect(head: bytes, filename: str) -> bool:
    """True when the head's root element is `<gpx>`, whatever the file is called.

    Example:
        >>> detect(b'\\xef\\xbb\\xbf<?xml version="1.0"?>\\n<gpx>', "track.xml")
        True
    """
    return _ROOT.match(head) is not None


def read(source: Source) -> Iterator[Batch]:
    """Stream a GPX file as `location_points` batches, then one `workouts` batch.

    Example:
        >>> from pathlib import Path
        >>> batches = list(read(Source(Path("tests/data/gpx/run_dst_change.gpx"))))
        >>> [batch.table for batch in batches]
        ['location_points', 'workouts']
    """
    reader = _Reader(source)
    with source.open() as stream:
        for _ in xmlsafe.feed(reader.parser, stream, source.display_name):
            yield from reader.drain(final=False)
    yield from reader.drain(final=True)
    if reader.workouts:
        yield Batch("workouts", reader.workout_table())


@dataclass
class _Track:
    index: int
    start_row: int  # where its points begin in the reader's buffer
    name: str | None = None
    type: str | None = None
    segment: int = -1
    decided: bool = False  # whether it is a workout is settled
    workout_id: str | None = None
    first_time: str | None = None
    first_micros: int | None = None


@dataclass
class _Point:
    kind: str
    lat: float
    lon: float
    line: int
    depth: int
    rejected: bool = False
    time: str | None = None
    altitude: float | None = None
    speed: float | None = None
    accuracy: float | None = None
    hr: float | None = None
    name: str | None = None
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class _Workout:
    workout_id: str
    sport: str
    track: _Track
    utc_offset_min: int | None
    start_us: int | None = None
    end_us: int | None = None
    distance_m: float = 0.0
    hr_sum: float = 0.0
    hr_count: int = 0
    hr_max: float | None = None


class _Row(NamedTuple):
    """One point as the callbacks collect it; batches are built column-wise from these."""

    time: str | None
    lat: float
    lon: float
    accuracy: float | None
    altitude: float | None
    speed: float | None
    workout_id: str | None
    extra: str
    line: int  # for rejects found after parsing (unparsable times)
    segment: int  # running segment number, -1 outside tracks: distances stop at breaks
    hr: float | None


class _Reader:
    """Expat callbacks that turn GPX elements into point rows and workout totals."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.parser = xmlsafe.make_parser()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.creator: str | None = None
        self.stack: list[str] = []
        self.chars: list[str] = []
        self.leaf = False
        self.rows: list[_Row] = []
        self.point: _Point | None = None
        self.track: _Track | None = None
        self.tracks = 0
        self.routes = 0
        self.route_name: str | None = None
        self.segments = 0  # running segment number across the file, for distances
        self.workouts: dict[str, _Workout] = {}
        self.last: tuple[float, float, int] | None = None  # previous batch's last point

    @property
    def origin(self) -> str:
        return self.creator or "gpx"

    def drain(self, *, final: bool) -> Iterator[Batch]:
        """A location batch once enough rows are settled (all of them when final)."""
        ready = len(self.rows)
        if self.track is not None and not self.track.decided:
            # Until the open track is known to be a workout or not, its points wait.
            ready = self.track.start_row
        if ready and (final or ready >= BATCH_POINTS):
            if self.track is not None:
                self.track.start_row = max(0, self.track.start_row - ready)
            rows, self.rows = self.rows[:ready], self.rows[ready:]
            yield Batch("location_points", self._location_table(rows))

    def workout_table(self) -> pa.Table:
        rows = [_workout_row(w, self.creator) for w in self.workouts.values()]
        return pa.Table.from_pylist([r for r in rows if r], schema=WORKOUT_SCHEMA)

    # expat callbacks

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        tag = tag.rpartition(":")[2]
        if not self.stack:
            self._root(tag, attrs)
        self.stack.append(tag)
        self.chars = []
        self.leaf = True
        if self.point is not None:
            return
        if tag in _POINTS:
            self.point = self._new_point(tag, attrs)
        elif tag == "trk":
            self.track = _Track(self.tracks, start_row=len(self.rows))
            self.tracks += 1
        elif tag == "trkseg" and self.track is not None:
            self._new_segment(self.track)
        elif tag == "rte":
            self.route_name = None

    def _end(self, _tag: str) -> None:
        tag = self.stack[-1]  # expat guarantees it is the element being closed
        depth = len(self.stack)
        text = "".join(self.chars).strip() if self.leaf else ""
        point = self.point
        if point is not None and depth > point.depth:
            if text and "link" not in self.stack[point.depth :]:
                _set_value(point, tag, text)
        elif point is not None:
            self._commit(point)
            self.point = None
        elif tag == "trk" and self.track is not None:
            self.track.decided = True
            self.track = None
        elif tag == "rte":
            self.routes += 1
        elif text and depth >= 2:
            self._describe(self.stack[-2], tag, text)
        self.stack.pop()
        self.leaf = False

    def _text(self, data: str) -> None:
        self.chars.append(data)

    # building points and tracks

    def _root(self, tag: str, attrs: dict[str, str]) -> None:
        if tag != "gpx":
            raise ParseError(self.source.display_name, f"not GPX: the root element is <{tag}>")
        self.creator = (attrs.get("creator") or "").strip() or None

    def _describe(self, parent: str, tag: str, text: str) -> None:
        """A track's or route's own name and type."""
        if parent == "trk" and self.track is not None and tag in ("name", "type"):
            setattr(self.track, tag, text)
        elif parent == "rte" and tag == "name":
            self.route_name = text

    def _new_segment(self, track: _Track) -> None:
        track.segment += 1
        self.segments += 1

    def _new_point(self, tag: str, attrs: dict[str, str]) -> _Point:
        line = self.parser.CurrentLineNumber
        lat = coordinate(attrs.get("lat"), 90.0)
        lon = coordinate(attrs.get("lon"), 180.0)
        point = _Point(tag, lat or 0.0, lon or 0.0, line, depth=len(self.stack))
        if lat is None or lon is None:
            point.rejected = True
            self.source.reject(
                "location_points",
                f"<{tag}> with lat={attrs.get('lat')!r} lon={attrs.get('lon')!r}: "
                "missing, not a number or out of range",
                line,
            )
        return point

    def _commit(self, point: _Point) -> None:
        if point.rejected:
            return
        extra: dict[str, object] = {"kind": _KIND[point.kind]}
        workout_id = None
        segment = -1
        if point.kind == "trkpt" and self.track is not None:
            if self.track.segment < 0:
                self._new_segment(self.track)  # a GPX 1.0 writer that skipped <trkseg>
            extra |= {"track": self.track.index, "segment": self.track.segment}
            extra["name"] = self.track.name
            segment = self.segments
            workout_id = self._workout_for(self.track, point.time)
        elif point.kind == "rtept":
            extra |= {"route": self.routes, "name": self.route_name}
        if point.kind == "wpt":
            extra["name"] = point.name
        else:
            extra["point_name"] = point.name
        extra |= point.values
        self.rows.append(
            _Row(
                point.time,
                point.lat,
                point.lon,
                point.accuracy,
                point.altitude,
                point.speed,
                workout_id,
                _json({k: v for k, v in extra.items() if v is not None}),
                point.line,
                segment,
                point.hr,
            )
        )

    def _workout_for(self, track: _Track, time: str | None) -> str | None:
        """The track's workout id, deciding whether it is a workout when this point settles it."""
        if track.decided:
            return track.workout_id
        if _sport(track.type) is None:
            track.decided = True
            return None
        if time is None or time == track.first_time:
            return None
        micros, _ = _parse_one(time)
        if micros is None:
            return None
        if track.first_micros is None:
            track.first_time, track.first_micros = time, micros
        elif abs(micros - track.first_micros) >= 1_000_000:
            self._start_workout(track)
        return track.workout_id

    def _start_workout(self, track: _Track) -> None:
        assert track.first_time is not None and track.first_micros is not None
        first = (_EPOCH + timedelta(microseconds=track.first_micros)).isoformat()
        workout_id = stable_id("gpx", self.origin, first, track.index)
        track.decided, track.workout_id = True, workout_id
        self.rows[track.start_row :] = [
            row._replace(workout_id=workout_id) for row in self.rows[track.start_row :]
        ]
        sport = _sport(track.type) or "other"
        offset = _parse_one(track.first_time)[1]
        self.workouts[workout_id] = _Workout(workout_id, sport, track, offset)

    # batches

    def _location_table(self, rows: list[_Row]) -> pa.Table:
        # Rows to columns in one C-level pass.
        columns: dict[str, tuple[Any, ...]] = dict(
            zip(_Row._fields, zip(*rows, strict=True), strict=True)
        )
        recorded_at, offsets, bad = parse_iso_times(columns["time"])
        for index in np.flatnonzero(bad):
            reason = f"unparsable time {columns['time'][index]!r}"
            self.source.reject("location_points", reason, columns["line"][index])
        keep = pa.array(~bad)

        def floats(values: Sequence[float | None]) -> pa.Array:
            return pa.array(values, pa.float64())

        table = pa.Table.from_arrays(
            [
                recorded_at,
                offsets,
                floats(columns["lat"]),
                floats(columns["lon"]),
                floats(columns["accuracy"]),
                floats(columns["altitude"]),
                floats(columns["speed"]),
                pa.array([self.origin] * len(rows), pa.string()),
                pa.array(columns["workout_id"], pa.string()),
                pa.array(columns["extra"], pa.string()),
            ],
            schema=LOCATION_SCHEMA,
        ).filter(keep)
        segments = pa.array(columns["segment"], pa.int64()).filter(keep)
        self._add_to_workouts(table, segments, floats(columns["hr"]).filter(keep))
        return table

    def _add_to_workouts(self, table: pa.Table, segments: pa.Array, hr: pa.Array) -> None:
        """Fold this batch's workout points into each workout's time span, distance and HR."""
        if not len(table):
            return
        lat = table["lat"].to_numpy()
        lon = table["lon"].to_numpy()
        seg = segments.to_numpy(zero_copy_only=False)
        last = self.last or (math.nan, math.nan, -1)
        self.last = (float(lat[-1]), float(lon[-1]), int(seg[-1]))
        prev_lat = np.concatenate(([last[0]], lat[:-1]))
        prev_lon = np.concatenate(([last[1]], lon[:-1]))
        prev_seg = np.concatenate(([last[2]], seg[:-1]))
        same_segment = (seg == prev_seg) & (seg >= 0)
        steps = np.where(same_segment, _haversine_m(prev_lat, prev_lon, lat, lon), 0.0)
        parts = pa.table(
            {
                "workout_id": table["workout_id"],
                "t": table["recorded_at"].cast(pa.int64()),
                "hr": hr,
                "step": pa.array(steps, pa.float64()),
            }
        ).filter(pc.is_valid(table["workout_id"]))
        totals = parts.group_by("workout_id").aggregate(
            [
                *(("t", "min"), ("t", "max"), ("step", "sum")),
                *(("hr", "sum"), ("hr", "count"), ("hr", "max")),
            ]
        )
        for row in totals.to_pylist():
            _fold(self.workouts[row["workout_id"]], row)


def _fold(workout: _Workout, row: dict[str, Any]) -> None:
    """Add one batch's totals for a workout (a workout can span batches)."""
    if row["t_min"] is not None:
        starts = [t for t in (workout.start_us, row["t_min"]) if t is not None]
        ends = [t for t in (workout.end_us, row["t_max"]) if t is not None]
        workout.start_us, workout.end_us = min(starts), max(ends)
    workout.distance_m += row["step_sum"] or 0.0
    workout.hr_sum += row["hr_sum"] or 0.0
    workout.hr_count += row["hr_count"] or 0
    if row["hr_max"] is not None:
        workout.hr_max = max(row["hr_max"], workout.hr_max or row["hr_max"])


def _workout_row(workout: _Workout, creator: str | None) -> dict[str, object] | None:
    if workout.start_us is None or workout.end_us is None:
        return None  # every timed point was rejected
    track = workout.track
    extra = {"name": track.name, "type": track.type, "track": track.index}
    return {
        "workout_id": workout.workout_id,
        "sport": workout.sport,
        "start_at": _EPOCH + timedelta(microseconds=workout.start_us),
        "end_at": _EPOCH + timedelta(microseconds=workout.end_us),
        "utc_offset_min": workout.utc_offset_min,
        "duration_s": (workout.end_us - workout.start_us) / 1e6,
        "distance_m": workout.distance_m,
        "avg_heart_rate": workout.hr_sum / workout.hr_count if workout.hr_count else None,
        "max_heart_rate": workout.hr_max,
        "source_name": creator,
        "extra": _json({k: v for k, v in extra.items() if v is not None}),
    }


def _set_value(point: _Point, tag: str, text: str) -> None:
    """Store one leaf value found inside a point, standard element or extension."""
    if tag == "time":
        point.time = text
    elif tag == "name":
        point.name = text
    elif tag == "ele" and (number := finite(text)) is not None:
        point.altitude = number
    elif tag == "speed" and (number := finite(text)) is not None:
        point.speed = number
    elif tag == "hAcc" and (number := finite(text)) is not None:
        point.accuracy = number
    else:
        key = _ALIASES.get(tag, tag)
        value = text if key in _TEXT_VALUES else json_value(text)
        point.values[key] = value
        # Chest straps that lose contact write 0; that is no reading, not a heart rate.
        if key == "hr" and isinstance(value, int | float) and value > 0:
            point.hr = float(value)


def _sport(kind: str | None) -> str | None:
    """The sport a track's `<type>` names, or None when it is a vehicle (a trip)."""
    if kind is None:
        return "other"
    text = kind.strip()
    if text in _STRAVA_TYPES:
        return _STRAVA_TYPES[text]
    # Split camelCase (Arc's "cableCar") and snake_case into lower-case words.
    words = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower())
    if any(word in _NOT_ACTIVITIES or word.startswith("motor") for word in words):
        return None
    joined = "".join(words)
    return next((sport for stem, sport in _SPORT_STEMS if stem in joined), "other")


def _parse_one(time: str) -> tuple[int | None, int | None]:
    """One time as (UTC microseconds, offset minutes), by the same rules as `_parse_times`."""
    recorded_at, offset_min, _ = parse_iso_times([time])
    micros = recorded_at.cast(pa.int64())[0].as_py()
    return micros, offset_min[0].as_py()


def _haversine_m(
    lat1: npt.NDArray[Any], lon1: npt.NDArray[Any], lat2: npt.NDArray[Any], lon2: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """Great-circle distances in metres between paired points, element-wise."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlambda = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2) ** 2
    distances: npt.NDArray[Any] = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distances
