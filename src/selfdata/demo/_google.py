"""Google's location exports: Takeout's Location History and the on-device Timeline.

Google publishes no schema for these files; the shapes are the ones its
exports have had (https://support.google.com/maps/answer/6258979 says what is
exported; the corpus in ../shared/corpus/google_location/ has real samples).
The phone reports its position all year; Alex exported Takeout before the
Timeline moved onto the phone, so the year is split at `cutover` (the first
of the month about six months before `today`):

    Takeout/Location History/Records.json
        every raw fix before the cutover: `latitudeE7`/`longitudeE7`,
        `accuracy`, `source` (WIFI at rest, GPS on the move), `deviceTag`,
        `platformType`, ISO `timestamp` with milliseconds, and now and then
        `activity` guesses, `velocity`, `heading`, `altitude`
    Takeout/Location History/Semantic Location History/YYYY/YYYY_MONTH.json
        the same months summarised: `placeVisit` (place id, name, address,
        TYPE_HOME/TYPE_WORK) and `activitySegment` (start and end, distance,
        activity type and guesses, waypoints), one file per month
    Timeline.json
        the months after: `semanticSegments` (visits with `topCandidate`,
        activities, `timelinePath` points as "51.5079°, -0.0877°"), times
        with the local offset and `startTimeTimezoneUtcOffsetMinutes`,
        `rawSignals` positions, and `userLocationProfile`

The phone's fixes come from the plan: every 10-20 minutes at rest (sparser at
night), every one or two minutes on the move, none underground or in the
air (the flight shows as a jump), and on runs none at all along the way: the
phone stayed at home, the Watch recorded the run.

Alex's phone is an iPhone (the Health export says so); Google Maps on iOS
exports its on-device Timeline as `location-history.json`, a top-level array.
The demo writes the Android `Timeline.json` shape instead, as issue 6 asks,
so that shape is exercised end to end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from selfdata.demo._gpx import write_lines
from selfdata.demo._life import Leg, Life, Stay
from selfdata.demo._persona import Place
from selfdata.demo._tracks import shift

__all__ = ["Fix", "cutover", "fixes", "write_google"]

_DEVICE_TAG = -1523948701
_ACTIVITIES = {
    "walking": "WALKING",
    "running": "RUNNING",
    "cycling": "CYCLING",
    "hiking": "WALKING",
    "bus": "IN_BUS",
    "subway": "IN_SUBWAY",
    "train": "IN_TRAIN",
    "taxi": "IN_PASSENGER_VEHICLE",
    "flying": "FLYING",
}
_RAW_ACTIVITY = {"WALKING": "ON_FOOT", "RUNNING": "ON_FOOT", "CYCLING": "ON_BICYCLE"}
_MONTHS = (
    "JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE",
    "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER",
)  # fmt: skip


@dataclass(frozen=True)
class Fix:
    """One position the phone reported."""

    at: datetime  # UTC, milliseconds
    lat: float
    lon: float
    accuracy: int
    source: str  # WIFI, GPS, CELL
    zone: str
    speed: float | None = None
    heading: int | None = None
    altitude: int | None = None
    activity: str | None = None  # Google's guess of what the phone was doing


def cutover(life: Life) -> date:
    """The first day of the on-device Timeline: the first of the six months ending with today's."""
    index = life.today.year * 12 + life.today.month - 1 - 5
    month = date(index // 12, index % 12 + 1, 1)
    return max(month, life.first)


def write_google(folder: Path, life: Life, seed: int) -> list[Path]:
    """Write Takeout's Location History and Timeline.json under `folder`; returns their paths."""
    rng = random.Random(f"selfdata-demo:{seed}:google")
    split = datetime.combine(cutover(life), datetime.min.time(), ZoneInfo(life.persona.timezone))
    every = list(fixes(rng, life))
    takeout = folder / "Takeout" / "Location History"
    paths = [_write_records(takeout / "Records.json", [f for f in every if f.at < split])]
    # A visit across the cutover is cut in two, one part in each export.
    cut = split.astimezone(UTC)
    segments = _visits_and_moves(life)
    earlier = [(k, a, min(b, cut), p) for k, a, b, p in segments if a < cut]
    later = [(k, max(a, cut), b, p) for k, a, b, p in segments if b > cut]
    paths += _write_semantic(takeout / "Semantic Location History", earlier)
    paths.append(_write_timeline(folder / "Timeline.json", rng, life, later, every, split))
    return paths


# -- The phone's fixes --------------------------------------------------------


def fixes(rng: random.Random, life: Life) -> Iterator[Fix]:
    """Every fix of the period, in time order."""
    asleep = sorted((n.bed, n.wake) for n in life.nights)
    night = 0
    for segment in life.segments:
        if isinstance(segment, Leg) and segment.phone:
            yield from _moving(rng, segment)
            continue
        place = segment.place if isinstance(segment, Stay) else segment.origin
        at = segment.start + timedelta(seconds=rng.uniform(20, 240))
        while at < segment.end:
            while night < len(asleep) - 1 and asleep[night][1] < at:
                night += 1
            sleeping = asleep[night][0] <= at <= asleep[night][1]
            yield _still(rng, place, at)
            at += timedelta(seconds=rng.uniform(1500, 2700) if sleeping else rng.uniform(600, 1200))


def _still(rng: random.Random, place: Place, at: datetime) -> Fix:
    """A fix at rest: Wi-Fi positioning, some metres off."""
    lat, lon = shift(place, rng.gauss(0, 7), rng.gauss(0, 7))
    activity = "STILL" if rng.random() < 0.15 else None
    accuracy = rng.randint(9, 35)
    lat, lon = round(lat, 7), round(lon, 7)
    return Fix(_ms(at), lat, lon, accuracy, "WIFI", place.zone, activity=activity)


def _moving(rng: random.Random, leg: Leg) -> Iterator[Fix]:
    """Fixes along a leg: GPS every minute or two; none underground or in the air."""
    if leg.mode in ("subway", "flying"):
        return
    at = leg.start + timedelta(seconds=rng.uniform(5, 60))
    speed = leg.distance_m / max((leg.end - leg.start).total_seconds(), 1.0)
    while at < leg.end:
        lat, lon = leg.position(at)
        after = leg.position(min(at + timedelta(seconds=10), leg.end))
        lat, lon = shift(Place("", lat, lon, 0.0), rng.gauss(0, 3), rng.gauss(0, 3))
        guess = _ACTIVITIES[leg.mode] if rng.random() < 0.3 else None
        yield Fix(
            _ms(at), round(lat, 7), round(lon, 7), rng.randint(4, 14), "GPS", leg.dest.zone,
            round(speed + rng.gauss(0, 0.2), 1), round(_bearing((lat, lon), after)),
            round(leg.dest.ele_m + rng.gauss(0, 4)), guess,
        )  # fmt: skip
        at += timedelta(seconds=rng.uniform(60, 120))


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    y = math.sin(math.radians(b[1] - a[1])) * math.cos(math.radians(b[0]))
    x = math.cos(math.radians(a[0])) * math.sin(math.radians(b[0])) - math.sin(
        math.radians(a[0])
    ) * math.cos(math.radians(b[0])) * math.cos(math.radians(b[1] - a[1]))
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def _ms(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


# -- Records.json -------------------------------------------------------------


def _write_records(path: Path, found: list[Fix]) -> Path:
    """Takeout's Records.json: one pretty-printed object per fix, as Google writes them."""

    def records() -> Iterator[str]:
        yield '{\n  "locations": [{\n'
        for i, fix in enumerate(found):
            if i:
                yield "  }, {\n"
            yield from _record_lines(fix)
        yield "  }]\n}\n"

    write_lines(path, records())
    return path


def _record_lines(fix: Fix) -> Iterator[str]:
    yield f'    "latitudeE7": {round(fix.lat * 1e7)},\n'
    yield f'    "longitudeE7": {round(fix.lon * 1e7)},\n'
    yield f'    "accuracy": {fix.accuracy},\n'
    if fix.speed is not None:
        yield f'    "velocity": {max(0, round(fix.speed))},\n'
        yield f'    "heading": {fix.heading},\n'
        yield f'    "altitude": {fix.altitude},\n'
        yield '    "verticalAccuracy": 3,\n'
    if fix.activity is not None:
        yield '    "activity": [{\n      "activity": [{\n'
        yield f'        "type": "{fix.activity}",\n        "confidence": 86\n'
        yield '      }, {\n        "type": "UNKNOWN",\n        "confidence": 9\n      }],\n'
        yield f'      "timestamp": "{_z(fix.at)}"\n    }}],\n'
    yield f'    "source": "{fix.source}",\n'
    yield f'    "deviceTag": {_DEVICE_TAG},\n'
    yield '    "platformType": "IOS",\n'
    yield '    "formFactor": "PHONE",\n'
    yield f'    "timestamp": "{_z(fix.at)}"\n'


# -- Visits and moves, as Google summarises them --------------------------------

# (kind, start, end, payload): a visit's Place or a move's Leg.
_Summary = tuple[str, datetime, datetime, Any]


def _visits_and_moves(life: Life) -> list[_Summary]:
    """Stays as visits and legs as moves, as the phone saw them.

    A leg the phone did not come on (a run) is invisible to it: the stays on
    either side and the leg are one visit. Stays shorter than five minutes
    (changing trains) are not visits.
    """
    found: list[_Summary] = []
    for segment in life.segments:
        if isinstance(segment, Leg) and segment.phone:
            found.append(("move", segment.start, segment.end, segment))
            continue
        place = segment.place if isinstance(segment, Stay) else segment.origin
        if found and found[-1][0] == "visit" and found[-1][3] == place:
            found[-1] = ("visit", found[-1][1], segment.end, place)
        else:
            found.append(("visit", segment.start, segment.end, place))
    return [s for s in found if s[0] == "move" or s[2] - s[1] >= timedelta(minutes=5)]


def _write_semantic(folder: Path, summaries: list[_Summary]) -> list[Path]:
    """One file per local month of the Takeout period: YYYY/YYYY_MONTH.json."""
    months: dict[tuple[int, int], list[_Summary]] = {}
    for summary in summaries:
        zone = summary[3].zone if summary[0] == "visit" else summary[3].origin.zone
        start = summary[1].astimezone(ZoneInfo(zone))
        months.setdefault((start.year, start.month), []).append(summary)
    paths = []
    for (year, month), items in sorted(months.items()):
        path = folder / str(year) / f"{year}_{_MONTHS[month - 1]}.json"
        objects = [_timeline_object(item) for item in items]
        write_lines(path, [json.dumps({"timelineObjects": objects}, indent=2, ensure_ascii=False)])
        paths.append(path)
    return paths


def _timeline_object(summary: _Summary) -> dict[str, Any]:
    kind, start, end, payload = summary
    duration = {"startTimestamp": _z(start), "endTimestamp": _z(end)}
    if kind == "visit":
        place: Place = payload
        location = {
            "latitudeE7": round(place.lat * 1e7),
            "longitudeE7": round(place.lon * 1e7),
            "placeId": place_id(place),
            "address": _address(place),
            "name": place.name,
            **({"semanticType": _SEMANTIC[place.name]} if place.name in _SEMANTIC else {}),
            "sourceInfo": {"deviceTag": _DEVICE_TAG},
            "locationConfidence": 92.4,
        }
        return {
            "placeVisit": {
                "location": location,
                "duration": duration,
                "placeConfidence": "HIGH_CONFIDENCE",
                "visitConfidence": 94,
                "locationAssertionType": "ASSERTED_BY_LOCATION",
                "editConfirmationStatus": "NOT_CONFIRMED",
                "placeVisitType": "SINGLE_PLACE",
            }
        }
    leg: Leg = payload
    activity = _ACTIVITIES[leg.mode]
    corners = [leg.path[i] for i in range(0, len(leg.path), max(1, len(leg.path) // 4))]
    return {
        "activitySegment": {
            "startLocation": _e7(leg.origin.lat, leg.origin.lon),
            "endLocation": _e7(leg.dest.lat, leg.dest.lon),
            "duration": duration,
            "distance": round(leg.distance_m),
            "activityType": activity,
            "confidence": "HIGH",
            "activities": [
                {"activityType": activity, "probability": 91.3},
                {
                    "activityType": "WALKING" if activity != "WALKING" else "IN_BUS",
                    "probability": 5.2,
                },
            ],
            "waypointPath": {
                "waypoints": [
                    {"latE7": round(a * 1e7), "lngE7": round(b * 1e7)} for a, b in corners
                ],
                "source": "INFERRED",
                "distanceMeters": round(leg.distance_m, 1),
                "travelMode": {"WALKING": "WALK", "CYCLING": "BICYCLE"}.get(activity, "DRIVE"),
                "confidence": 0.9,
            },
            "editConfirmationStatus": "NOT_CONFIRMED",
        }
    }


_SEMANTIC = {"Home": "TYPE_HOME", "Work": "TYPE_WORK"}


def place_id(place: Place) -> str:
    """A Google-style place id (`ChIJ...`), the same for a place in every file."""
    digest = hashlib.sha256(place.name.encode()).digest()
    return "ChIJ" + base64.urlsafe_b64encode(digest).decode()[:23]


def _address(place: Place) -> str:
    if place.country == "ES":
        return f"{place.name}, 08003 Barcelona, Spain"
    return f"{place.name}, London, UK"


def _e7(lat: float, lon: float) -> dict[str, int]:
    return {"latitudeE7": round(lat * 1e7), "longitudeE7": round(lon * 1e7)}


# -- Timeline.json ------------------------------------------------------------


def _write_timeline(
    path: Path,
    rng: random.Random,
    life: Life,
    summaries: list[_Summary],
    every: list[Fix],
    split: datetime,
) -> Path:
    segments: list[dict[str, Any]] = []
    for kind, start, end, payload in summaries:
        times = _segment_times(start, end, payload.zone if kind == "visit" else payload.dest.zone)
        if kind == "visit":
            segments.append({**times, "visit": _visit(payload)})
        else:
            segments.append({**times, "activity": _activity(payload)})
            path_points = list(_path_points(rng, payload))
            if path_points:
                segments.append({**times, "timelinePath": path_points})
    raw = [_raw_signal(f) for f in every if f.at >= split]
    document = {
        "semanticSegments": segments,
        "rawSignals": raw,
        "userLocationProfile": {
            "frequentPlaces": [
                _frequent(life.persona.home, "HOME"),
                _frequent(life.persona.work, "WORK"),
            ],
            "persona": {"travelModeAffinities": [{"mode": "WALKING", "affinity": 0.74}]},
        },
    }
    write_lines(path, _json_lines(document))
    return path


def _json_lines(document: dict[str, Any]) -> Iterator[str]:
    """The document with one array element a line: readable, and quick to write."""
    yield "{\n"
    for n, (key, value) in enumerate(document.items()):
        comma = "," if n < len(document) - 1 else ""
        if isinstance(value, list):
            yield f'  "{key}": [\n'
            for i, item in enumerate(value):
                tail = "," if i < len(value) - 1 else ""
                yield "    " + json.dumps(item, ensure_ascii=False) + tail + "\n"
            yield f"  ]{comma}\n"
        else:
            yield f'  "{key}": {json.dumps(value, ensure_ascii=False)}{comma}\n'
    yield "}\n"


def _segment_times(start: datetime, end: datetime, zone: str) -> dict[str, Any]:
    first, last = _local(start, zone), _local(end, zone)
    return {
        "startTime": _iso(first),
        "endTime": _iso(last),
        "startTimeTimezoneUtcOffsetMinutes": _minutes(first),
        "endTimeTimezoneUtcOffsetMinutes": _minutes(last),
    }


def _visit(place: Place) -> dict[str, Any]:
    semantic = {"Home": "INFERRED_HOME", "Work": "INFERRED_WORK"}.get(place.name, "UNKNOWN")
    return {
        "hierarchyLevel": 0,
        "probability": 0.93,
        "topCandidate": {
            "placeId": place_id(place),
            "semanticType": semantic,
            "probability": 0.87,
            "placeLocation": {"latLng": _degrees(place.lat, place.lon)},
        },
    }


def _activity(leg: Leg) -> dict[str, Any]:
    return {
        "start": {"latLng": _degrees(leg.origin.lat, leg.origin.lon)},
        "end": {"latLng": _degrees(leg.dest.lat, leg.dest.lon)},
        "distanceMeters": round(leg.distance_m, 1),
        "probability": 0.97,
        "topCandidate": {"type": _ACTIVITIES[leg.mode], "probability": 0.91},
    }


def _path_points(rng: random.Random, leg: Leg) -> Iterator[dict[str, str]]:
    """The Timeline's path of a move: points every couple of minutes, on the way itself."""
    if leg.mode in ("subway", "flying"):
        return
    at = leg.start + timedelta(seconds=rng.uniform(30, 90))
    while at < leg.end:
        lat, lon = leg.position(at)
        yield {"point": _degrees(lat, lon), "time": _iso(_local(_ms(at), leg.dest.zone))}
        at += timedelta(seconds=rng.uniform(100, 160))


def _raw_signal(fix: Fix) -> dict[str, Any]:
    position: dict[str, Any] = {
        "LatLng": _degrees(fix.lat, fix.lon),
        "accuracyMeters": fix.accuracy,
        "source": fix.source,
        "timestamp": _iso(_local(fix.at, fix.zone)),
    }
    if fix.speed is not None:
        position["altitudeMeters"] = float(fix.altitude or 0)
        position["speedMetersPerSecond"] = fix.speed
    signal: dict[str, Any] = {"position": position}
    if fix.activity is not None:
        guess = _RAW_ACTIVITY.get(fix.activity, fix.activity)
        signal["activityRecord"] = {
            "probableActivities": [{"type": guess, "confidence": 0.86}],
            "timestamp": position["timestamp"],
        }
    return signal


def _frequent(place: Place, label: str) -> dict[str, str]:
    return {
        "placeId": place_id(place),
        "placeLocation": _degrees(place.lat, place.lon),
        "label": label,
    }


def _degrees(lat: float, lon: float) -> str:
    return f"{lat:.7f}°, {lon:.7f}°"


def _local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


def _iso(at: datetime) -> str:
    """`2026-01-05T08:05:12.345+00:00`: milliseconds and the local offset."""
    return at.isoformat(timespec="milliseconds")


def _minutes(at: datetime) -> int:
    offset = at.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
