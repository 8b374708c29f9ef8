"""The shapes of Google's Timeline exports, as msgspec structs of the fields that are read.

Values are typed `Any` where Google wrote them in more than one way (numbers
as strings on iOS, `placeLocation` as an object on Android and a `geo:` string
on iOS): `_google_timeline` converts them. Fields not named here are skipped by
the decoder without being built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "DECODERS",
    "Activity",
    "ActivityGuess",
    "ActivityRecord",
    "ActivitySegment",
    "Candidate",
    "Duration",
    "E7Place",
    "E7Point",
    "Edit",
    "EditSignal",
    "PathPoint",
    "PlaceVisit",
    "Position",
    "ProbableActivity",
    "RawPath",
    "RawSignal",
    "Segment",
    "TimelineObject",
    "Visit",
    "WaypointPath",
]


class E7Place(msgspec.Struct):
    latitudeE7: Any = None
    longitudeE7: Any = None
    placeId: Any = None
    name: Any = None
    address: Any = None
    semanticType: Any = None
    locationConfidence: Any = None


class Duration(msgspec.Struct):
    startTimestamp: Any = None
    endTimestamp: Any = None
    startTimestampMs: Any = None
    endTimestampMs: Any = None


class E7Point(msgspec.Struct):
    latE7: Any = None
    lngE7: Any = None
    accuracyMeters: Any = None
    timestamp: Any = None
    timestampMs: Any = None


class RawPath(msgspec.Struct):
    points: list[E7Point] = []


class WaypointPath(msgspec.Struct):
    waypoints: list[E7Point] = []
    distanceMeters: Any = None
    travelMode: Any = None


class ActivityGuess(msgspec.Struct):
    activityType: Any = None
    probability: Any = None


class PlaceVisit(msgspec.Struct):
    location: E7Place | None = None
    duration: Duration | None = None
    visitConfidence: Any = None
    placeConfidence: Any = None
    editConfirmationStatus: Any = None
    otherCandidateLocations: list[E7Place] = []
    simplifiedRawPath: RawPath | None = None


class ActivitySegment(msgspec.Struct):
    startLocation: E7Place | None = None
    endLocation: E7Place | None = None
    duration: Duration | None = None
    distance: Any = None
    activityType: Any = None
    confidence: Any = None
    activities: list[ActivityGuess] = []
    waypointPath: WaypointPath | None = None
    simplifiedRawPath: RawPath | None = None


class TimelineObject(msgspec.Struct):
    placeVisit: PlaceVisit | None = None
    activitySegment: ActivitySegment | None = None


class Candidate(msgspec.Struct):
    placeId: Any = None
    placeID: Any = None  # iOS
    semanticType: Any = None
    probability: Any = None
    placeLocation: Any = None  # {"latLng": "48.1°, 11.5°"} or "geo:48.1,11.5"
    type: Any = None  # an activity's candidate


class Visit(msgspec.Struct):
    topCandidate: Candidate | None = None
    probability: Any = None
    hierarchyLevel: Any = None


class Activity(msgspec.Struct):
    start: Any = None
    end: Any = None
    distanceMeters: Any = None
    topCandidate: Candidate | None = None


class PathPoint(msgspec.Struct):
    point: Any = None
    time: Any = None
    durationMinutesOffsetFromStartTime: Any = None


class Segment(msgspec.Struct):
    startTime: Any = None
    endTime: Any = None
    startTimeTimezoneUtcOffsetMinutes: Any = None
    visit: Visit | None = None
    activity: Activity | None = None
    timelinePath: list[PathPoint] = []


class Position(msgspec.Struct):
    LatLng: Any = None
    latLng: Any = None
    point: E7Point | None = None  # Timeline Edits
    accuracyMeters: Any = None
    accuracyMm: Any = None
    altitudeMeters: Any = None
    speedMetersPerSecond: Any = None
    source: Any = None
    timestamp: Any = None


class ProbableActivity(msgspec.Struct):
    type: Any = None
    confidence: Any = None


class ActivityRecord(msgspec.Struct):
    probableActivities: list[ProbableActivity] = []


class RawSignal(msgspec.Struct):
    position: Position | None = None
    activityRecord: ActivityRecord | None = None


class EditSignal(msgspec.Struct):
    signal: RawSignal | None = None


class Edit(msgspec.Struct):
    deviceId: Any = None
    rawSignal: EditSignal | None = None


DECODERS: dict[type, Callable[[bytes], Any]] = {
    kind: msgspec.json.Decoder(list[kind], strict=False).decode  # type: ignore[valid-type]
    for kind in (TimelineObject, Segment, RawSignal, Edit)
}
