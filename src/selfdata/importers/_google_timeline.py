"""Google's Timeline exports: Semantic Location History, the on-device Timeline
(Android `Timeline.json`, iOS `location-history.json`) and `Timeline Edits.json`.

What goes where:

- **Semantic Location History** (`timelineObjects`):
  - `placeVisit` -> `visits`: `location` (`latitudeE7`/`longitudeE7`, `placeId`,
    `name`, `address`, `semanticType`), `duration` (`startTimestamp` ISO, or
    `startTimestampMs`), `confidence` = `visitConfidence` / 100. `extra` keeps
    the raw `semantic_type`, `place_confidence`, `location_confidence`,
    `edit_confirmation_status` and `candidates` (each of
    `otherCandidateLocations` as place_id, lat, lon, semantic_type, confidence).
    A visit without `location` takes its first candidate's place
    (`"location_from": "candidate"`).
  - `activitySegment` -> `trips`: `startLocation`/`endLocation` (when empty,
    the first/last waypoint), `distance` (else `waypointPath.distanceMeters`),
    the mode from `activityType` (else the most likely of `activities`, else
    `waypointPath.travelMode`). `extra`: `activity_type`, `confidence`,
    `travel_mode` and `waypoints` as `[lat, lon]` pairs (they have no time).
  - `simplifiedRawPath` points of either (they have times) -> `location_points`,
    source `google_semantic`.
- **On-device Timeline** (`semanticSegments`, or the iOS top-level array):
  - `visit` -> `visits`: `topCandidate` (`placeLocation` as `"48.1°, 11.5°"`
    or `"geo:48.1,11.5"`, `placeId` or iOS `placeID`, `semanticType`),
    `confidence` = the visit's `probability`; `extra`: raw `semantic_type`,
    `place_probability`, `hierarchy_level`.
  - `activity` -> `trips`: `start`/`end`, `distanceMeters`, `topCandidate.type`;
    `extra`: `activity_type`, `probability`.
  - `timelinePath` points -> `location_points` (source `google_timeline`,
    `extra.kind` `timeline_path`), timed by `time` or, on iOS, the segment's
    start plus `durationMinutesOffsetFromStartTime`. A point repeated within
    a path (same time and place) is kept once, counted in the repairs.
  - `rawSignals[].position` -> `location_points` (`extra.kind` `raw_signal`,
    `source`, and the top `activityRecord` activity of the same signal).
    `wifiScan`s, lone `activityRecord`s, `timelineMemory` and
    `userLocationProfile` (frequent places without times) are not imported.
- **Timeline Edits** (`timelineEdits`): `rawSignal.signal.position` ->
  `location_points` (source `google_timeline_edits`, `accuracyMm` in metres,
  `extra.device_id`). `placeAggregates` (place scores over a time window, not
  positions at a time) are not imported.

Semantic types become lower case without Google's `TYPE_`/`INFERRED_`
prefixes (`TYPE_HOME`, `INFERRED_HOME`, `Home` -> `home`; `UNKNOWN` -> NULL).
Numbers may be written as strings everywhere. A visit or trip without a
usable start time, and a point without a time or coordinates, is rejected
with its line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from selfdata.importers import _google_shapes as shapes
from selfdata.importers._google_stream import JsonStream, Piece
from selfdata.importers._local_offsets import LocalOffsets
from selfdata.importers.base import Batch, Source
from selfdata.importers.columns import canonical_schema, parse_iso_times

__all__ = ["mode_of", "read_timeline", "semantic_type_of"]

SEMANTIC_SOURCE = "google_semantic"
TIMELINE_SOURCE = "google_timeline"
EDITS_SOURCE = "google_timeline_edits"

_MODES = {
    **dict.fromkeys(("WALKING", "ON_FOOT", "WALK"), "walking"),
    "RUNNING": "running",
    **dict.fromkeys(("CYCLING", "ON_BICYCLE", "BICYCLE"), "cycling"),
    **dict.fromkeys(
        ("IN_PASSENGER_VEHICLE", "IN_VEHICLE", "DRIVING", "DRIVE", "IN_TAXI", "MOTORCYCLING"),
        "car",
    ),
    "IN_BUS": "bus",
    "IN_TRAIN": "train",
    "IN_TRAM": "tram",
    "IN_SUBWAY": "subway",
    **dict.fromkeys(("IN_FERRY", "SAILING"), "ferry"),
    "FLYING": "flying",
    **dict.fromkeys(("", "UNKNOWN", "UNKNOWN_ACTIVITY_TYPE"), "unknown"),
}
_LAT_LNG = re.compile(
    r"^\s*(?:geo:)?\s*([-+]?\d+(?:\.\d*)?)\s*°?\s*,\s*([-+]?\d+(?:\.\d*)?)\s*°?\s*$"
)
_E7 = 1e7
_INSTANT = pa.timestamp("us", tz="UTC")
_WRAP = 2**32
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --- reading


def read_timeline(stream: JsonStream, source: Source, kind: str) -> Iterator[Batch]:
    """Batches of visits, trips and points from one of the Timeline exports."""
    rows = _Rows(source, LocalOffsets())
    if kind == "ios":
        yield from rows.each(stream, shapes.Segment, rows.segment)
        return
    handlers: dict[str, tuple[type, Callable[[Any], None]]] = {
        "timelineObjects": (shapes.TimelineObject, rows.timeline_object),
        "semanticSegments": (shapes.Segment, rows.segment),
        "rawSignals": (shapes.RawSignal, rows.raw_signal),
        "timelineEdits": (shapes.Edit, rows.edit),
    }
    for key in stream.object_keys():
        if key in handlers and stream.is_array():
            yield from rows.each(stream, *handlers[key])


@dataclass
class _Rows:
    """Rows of the current piece, by table, turned into batches piece by piece."""

    source: Source
    zones: LocalOffsets
    piece: Piece[Any] | None = None
    index: int = 0  # the element being read, for the line of a reject
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def each(
        self, stream: JsonStream, kind: type, handle: Callable[[Any], None]
    ) -> Iterator[Batch]:
        for piece in stream.pieces(shapes.DECODERS[kind]):
            self.piece = piece
            for index, element in enumerate(self._elements(piece, kind)):
                self.index = index
                if element is not None:
                    handle(element)
            yield from self._flush()

    def _elements(self, piece: Piece[Any], kind: type) -> Sequence[Any]:
        if piece.items is not None:
            items: Sequence[Any] = piece.items
            return items
        decode: Callable[[bytes], Any] = msgspec.json.Decoder(kind, strict=False).decode
        elements: list[Any] = []
        for index, raw in enumerate(msgspec.json.decode(piece.data, type=list[msgspec.Raw])):
            try:
                elements.append(decode(raw))
            except msgspec.ValidationError as error:
                elements.append(None)
                reason = f"unexpected shape: {error}"
                self.source.reject(_table_of(str(error)), reason, piece.line_of(index))
        return elements

    def add(self, table: str, row: dict[str, Any]) -> None:
        row["_index"] = self.index
        self.tables.setdefault(table, []).append(row)

    # Semantic Location History

    def timeline_object(self, element: shapes.TimelineObject) -> None:
        if element.placeVisit is not None:
            self._place_visit(element.placeVisit)
        if element.activitySegment is not None:
            self._activity_segment(element.activitySegment)

    def _place_visit(self, visit: shapes.PlaceVisit) -> None:
        place, location_from = visit.location, None
        if place is None and visit.otherCandidateLocations:
            place, location_from = visit.otherCandidateLocations[0], "candidate"
        place = place or shapes.E7Place()
        start, end = _times(visit.duration)
        confidence = _number(visit.visitConfidence)
        self.add(
            "visits",
            {
                "start": start,
                "end": end,
                "lat": self._e7(place.latitudeE7, 90),
                "lon": self._e7(place.longitudeE7, 180),
                "place_id": _text(place.placeId),
                "place_name": _text(place.name),
                "place_address": _text(place.address),
                "semantic_type": semantic_type_of(place.semanticType),
                "confidence": confidence / 100 if confidence is not None else None,
                "extra": {
                    "semantic_type": _text(place.semanticType),
                    "place_confidence": _text(visit.placeConfidence),
                    "location_confidence": _number(place.locationConfidence),
                    "edit_confirmation_status": _text(visit.editConfirmationStatus),
                    "location_from": location_from,
                    "candidates": [self._candidate(c) for c in visit.otherCandidateLocations],
                },
            },
        )
        self._raw_path(visit.simplifiedRawPath)

    def _candidate(self, place: shapes.E7Place) -> dict[str, Any]:
        return _compact(
            {
                "place_id": _text(place.placeId),
                "lat": self._e7(place.latitudeE7, 90),
                "lon": self._e7(place.longitudeE7, 180),
                "semantic_type": _text(place.semanticType),
                "confidence": _number(place.locationConfidence),
            }
        )

    def _activity_segment(self, segment: shapes.ActivitySegment) -> None:
        path = segment.waypointPath or shapes.WaypointPath()
        waypoints = [self._e7_pair(point) for point in path.waypoints]
        known = [pair for pair in waypoints if pair is not None]
        start = self._e7_pair(segment.startLocation) or (known[0] if known else None)
        end = self._e7_pair(segment.endLocation) or (known[-1] if known else None)
        guesses = [g.activityType for g in segment.activities if g.activityType]
        activity_type = _text(segment.activityType) or (guesses[0] if guesses else None)
        start_at, end_at = _times(segment.duration)
        self.add(
            "trips",
            {
                "start": start_at,
                "end": end_at,
                "start_lat": start[0] if start else None,
                "start_lon": start[1] if start else None,
                "end_lat": end[0] if end else None,
                "end_lon": end[1] if end else None,
                "distance_m": _first(_number(segment.distance), _number(path.distanceMeters)),
                "mode": mode_of(activity_type or _text(path.travelMode)),
                "extra": {
                    "activity_type": activity_type,
                    "confidence": _text(segment.confidence),
                    "travel_mode": _text(path.travelMode),
                    "waypoints": [list(pair) for pair in known],
                },
            },
        )
        self._raw_path(segment.simplifiedRawPath)

    def _raw_path(self, path: shapes.RawPath | None) -> None:
        for point in path.points if path else ():
            pair = self._e7_pair(point)
            self.add(
                "location_points",
                {
                    "time": _time(point.timestamp, point.timestampMs),
                    "lat": pair[0] if pair else None,
                    "lon": pair[1] if pair else None,
                    "accuracy_m": _number(point.accuracyMeters),
                    "source": SEMANTIC_SOURCE,
                    "extra": {"kind": "simplified_raw_path"},
                },
            )

    # the on-device Timeline (Android and iOS)

    def segment(self, segment: shapes.Segment) -> None:
        start, end = _text(segment.startTime), _text(segment.endTime)
        hint = _number(segment.startTimeTimezoneUtcOffsetMinutes)
        if segment.visit is not None:
            self._visit(segment.visit, start, end, hint)
        if segment.activity is not None:
            self._activity(segment.activity, start, end, hint)
        seen: set[tuple[Any, ...]] = set()
        for point in segment.timelinePath:
            pair = _lat_lng(point.point)
            minutes = _number(point.durationMinutesOffsetFromStartTime)
            time = _text(point.time) or (start if minutes is not None else None)
            key = (time, minutes if point.time is None else None, pair)
            if key in seen:
                self.source.repaired("a timeline path point repeated in its segment dropped")
                continue
            seen.add(key)
            self.add(
                "location_points",
                {
                    "time": time,
                    "shift_min": minutes if point.time is None else None,
                    "hint": hint,
                    "lat": pair[0] if pair else None,
                    "lon": pair[1] if pair else None,
                    "source": TIMELINE_SOURCE,
                    "extra": {"kind": "timeline_path"},
                },
            )

    def _visit(self, visit: shapes.Visit, start: str | None, end: str | None, hint: Any) -> None:
        candidate = visit.topCandidate or shapes.Candidate()
        pair = _lat_lng(candidate.placeLocation)
        self.add(
            "visits",
            {
                "start": start,
                "end": end,
                "hint": hint,
                "lat": pair[0] if pair else None,
                "lon": pair[1] if pair else None,
                "place_id": _text(candidate.placeId) or _text(candidate.placeID),
                "semantic_type": semantic_type_of(candidate.semanticType),
                "confidence": _first(_number(visit.probability), _number(candidate.probability)),
                "extra": {
                    "semantic_type": _text(candidate.semanticType),
                    "place_probability": _number(candidate.probability),
                    "hierarchy_level": _integer(visit.hierarchyLevel),
                },
            },
        )

    def _activity(
        self, activity: shapes.Activity, start: str | None, end: str | None, hint: Any
    ) -> None:
        candidate = activity.topCandidate or shapes.Candidate()
        first, last = _lat_lng(activity.start), _lat_lng(activity.end)
        self.add(
            "trips",
            {
                "start": start,
                "end": end,
                "hint": hint,
                "start_lat": first[0] if first else None,
                "start_lon": first[1] if first else None,
                "end_lat": last[0] if last else None,
                "end_lon": last[1] if last else None,
                "distance_m": _number(activity.distanceMeters),
                "mode": mode_of(_text(candidate.type)),
                "extra": {
                    "activity_type": _text(candidate.type),
                    "probability": _number(candidate.probability),
                },
            },
        )

    def raw_signal(self, signal: shapes.RawSignal, extra: dict[str, Any] | None = None) -> None:
        position = signal.position
        if position is None:
            return  # a wifiScan or a lone activityRecord: not a position
        pair = _lat_lng(position.LatLng or position.latLng) or self._e7_pair(position.point)
        millimetres = _number(position.accuracyMm)
        record = signal.activityRecord
        top = record.probableActivities[0] if record and record.probableActivities else None
        self.add(
            "location_points",
            {
                "time": _text(position.timestamp),
                "lat": pair[0] if pair else None,
                "lon": pair[1] if pair else None,
                "accuracy_m": _first(
                    _number(position.accuracyMeters),
                    millimetres / 1000 if millimetres is not None else None,
                ),
                "altitude_m": _number(position.altitudeMeters),
                "speed_mps": _number(position.speedMetersPerSecond),
                "source": EDITS_SOURCE if extra else TIMELINE_SOURCE,
                "extra": {
                    "kind": "raw_signal",
                    "source": _text(position.source),
                    "activity": _text(top.type) if top else None,
                    "activity_confidence": _number(top.confidence) if top else None,
                    **(extra or {}),
                },
            },
        )

    # Timeline Edits

    def edit(self, edit: shapes.Edit) -> None:
        if edit.rawSignal is not None and edit.rawSignal.signal is not None:
            device = edit.deviceId
            self.raw_signal(edit.rawSignal.signal, {"device_id": _text(device) or str(device)})

    # coordinates

    def _e7(self, value: Any, limit: int) -> float | None:
        """Degrees from an E7 number or numeric string, mending an int32 overflow."""
        number = _number(value)
        if number is None:
            return None
        if number > limit * _E7 and number - _WRAP >= -limit * _E7:
            self.source.repaired(f"E7 coordinate past {limit} degrees mended by -2^32")
            number -= _WRAP
        degrees = number / _E7
        return degrees if -limit <= degrees <= limit else None

    def _e7_pair(self, place: shapes.E7Place | shapes.E7Point | None) -> tuple[float, float] | None:
        if place is None:
            return None
        if isinstance(place, shapes.E7Place):
            lat, lon = self._e7(place.latitudeE7, 90), self._e7(place.longitudeE7, 180)
        else:
            lat, lon = self._e7(place.latE7, 90), self._e7(place.lngE7, 180)
        return (lat, lon) if lat is not None and lon is not None else None

    # batches

    def _flush(self) -> Iterator[Batch]:
        tables, self.tables = self.tables, {}
        for table, rows in tables.items():
            batch = self._table(table, rows)
            if batch.num_rows:
                yield Batch(table, batch)

    def _table(self, table: str, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows of one table: times parsed at once, offsets filled, unusable rows rejected."""
        point = table == "location_points"
        time_key = "time" if point else "start"
        at, written, bad = parse_iso_times([row.get(time_key) for row in rows])
        shift = np.array([row.get("shift_min") or 0 for row in rows], np.float64)
        at_us = pc.fill_null(at.cast(pa.int64()), 0).to_numpy() + np.rint(shift * 60e6).astype(
            np.int64
        )
        lat_key, lon_key = ("lat", "lon") if "lat" in rows[0] else ("start_lat", "start_lon")
        lat = np.array([_nan(row.get(lat_key)) for row in rows], np.float64)
        lon = np.array([_nan(row.get(lon_key)) for row in rows], np.float64)
        usable = self._check(table, rows, time_key, bad, lat, lon)
        hints = pa.array([_minutes(row.get("hint")) for row in rows], pa.int16())
        offsets = pc.coalesce(written, hints, self.zones.minutes(lat, lon, at_us, usable))
        columns: dict[str, Any] = {
            "recorded_at" if point else "start_at": pa.array(at_us, _INSTANT),
            "utc_offset_min": offsets,
        }
        if not point:
            columns["end_at"] = parse_iso_times([row.get("end") for row in rows])[0]
            columns["derived"] = pa.repeat(False, len(rows))
        schema = canonical_schema(table)
        for name in schema.names:
            if name not in columns:
                columns[name] = pa.array(
                    [_value(row.get(name)) for row in rows], schema.field(name).type
                )
        return pa.table(columns, schema=schema).filter(pa.array(usable))

    def _check(
        self,
        table: str,
        rows: list[dict[str, Any]],
        time_key: str,
        bad: np.ndarray[Any, Any],
        lat: np.ndarray[Any, Any],
        lon: np.ndarray[Any, Any],
    ) -> np.ndarray[Any, Any]:
        usable = np.ones(len(rows), bool)
        assert self.piece is not None
        for index, row in enumerate(rows):
            reason = None
            if row.get(time_key) is None:
                reason = "no start time" if time_key == "start" else "no time"
            elif bad[index]:
                reason = f"unparsable time {row[time_key]!r}"
            elif table == "location_points" and (math.isnan(lat[index]) or math.isnan(lon[index])):
                reason = "no usable coordinates"
            if reason:
                usable[index] = False
                self.source.reject(table, reason, self.piece.line_of(row["_index"]))
        return usable


# --- values


def _table_of(problem: str) -> str:
    """The table a misshapen element would have filled, from where msgspec found the problem."""
    if "placeVisit" in problem or "visit" in problem:
        return "visits"
    if "activitySegment" in problem or "activity`" in problem or ".activity." in problem:
        return "trips"
    return "location_points"


def mode_of(activity_type: str | None) -> str:
    """Our trip mode for a Google activity type (any case, spaces or underscores).

    Example:
        >>> mode_of("IN_PASSENGER_VEHICLE"), mode_of("in bus"), mode_of("SKIING"), mode_of(None)
        ('car', 'bus', 'other', 'unknown')
    """
    key = (activity_type or "").strip().upper().replace(" ", "_")
    return _MODES.get(key, "other")


def semantic_type_of(value: Any) -> str | None:
    """`home`, `work`, ... from Google's `TYPE_HOME`, `INFERRED_WORK`, `Home`; UNKNOWN is None.

    Example:
        >>> [semantic_type_of(word) for word in ("TYPE_HOME", "INFERRED_WORK", "Unknown")]
        ['home', 'work', None]
    """
    text = (_text(value) or "").strip().lower().replace(" ", "_")
    text = text.removeprefix("type_").removeprefix("inferred_")
    return None if text in ("", "unknown") else text


def _lat_lng(value: Any) -> tuple[float, float] | None:
    """(lat, lon) from `"48.1°, 11.5°"`, `"geo:48.1,11.5"` or `{"latLng": ...}`."""
    if isinstance(value, dict):
        value = value.get("latLng") or value.get("LatLng")
    match = _LAT_LNG.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _times(duration: shapes.Duration | None) -> tuple[str | None, str | None]:
    if duration is None:
        return None, None
    start = _time(duration.startTimestamp, duration.startTimestampMs)
    return start, _time(duration.endTimestamp, duration.endTimestampMs)


def _time(iso: Any, milliseconds: Any) -> str | None:
    """The ISO text, or epoch milliseconds written as ISO text in UTC."""
    text = _text(iso)
    if text is not None:
        return text
    number = _number(milliseconds)
    if number is None:
        return None
    instant = datetime.fromtimestamp(number / 1000, UTC)
    return instant.isoformat().replace("+00:00", "Z")


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | float | None:
    """A whole number as an int (`"0"`, `0.0` -> 0), another number as it is."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else number


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _minutes(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None and abs(number) < 24 * 60 else None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, [], "")}


def _value(value: Any) -> Any:
    """A row's value as its column wants it: `extra` dicts as compact JSON (NULL when empty)."""
    if isinstance(value, dict):
        compact = _compact(value)
        return _json(compact) if compact else None
    return value
