"""Apple Health elements built one by one: workouts and activity summaries.

They are few (one per workout or day), so plain Python reads them clearly; the
millions of records go through the column path in `apple_health.py`. The rules
are those of docs/apple_health_rows.md.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from selfdata import xmlscan
from selfdata.importers.base import stable_id
from selfdata.importers.columns import canonical_schema, parse_iso_times
from selfdata.importers.healthkit import convert, sport_for

__all__ = ["attrs", "day", "parse_date", "route_points", "summary_rows", "workout"]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
_DISTANCE_PREFIX = "HKQuantityTypeIdentifierDistance"
_DURATION_UNITS = {"s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}
_SUMMARY = (
    ("activity_move", "kcal", ("activeEnergyBurned",), ("activeEnergyBurnedGoal",)),
    ("activity_move_time", "min", ("appleMoveTime", "appleMoveMinutes"), None),
    ("activity_exercise", "min", ("appleExerciseTime",), ("appleExerciseTimeGoal",)),
    ("activity_stand_hours", "count", ("appleStandHours",), ("appleStandHoursGoal",)),
)
_MOVE_TIME_GOALS = ("appleMoveTimeGoal", "appleMoveMinutesGoal")


def attrs(piece: str) -> dict[str, str]:
    """One tag's attributes, for the few elements built one by one (workouts, summaries)."""
    return xmlscan.tag_attributes(piece)


def workout(attrs: dict[str, str], children: list[dict[str, Any]]) -> dict[str, Any] | None:
    start, offset = parse_date(attrs.get("startDate"))
    end, _ = parse_date(attrs.get("endDate"))
    if start is None or end is None:
        return None
    statistics = [c["attrs"] for c in children if c["name"] == "WorkoutStatistics"]
    duration = _number(attrs.get("duration"))
    distance = _number(attrs.get("totalDistance"))
    energy = _number(attrs.get("totalEnergyBurned"))
    heart = _first(statistics, lambda t: t == "HKQuantityTypeIdentifierHeartRate")
    route = next((c for c in children if c["name"] == "WorkoutRoute"), None)
    reference = next((c for c in children if c["name"] == "FileReference"), None)
    extra = {
        "source_version": attrs.get("sourceVersion"),
        "creation_date": attrs.get("creationDate"),
        "metadata": {
            c["attrs"].get("key"): c["attrs"].get("value")
            for c in children
            if c["name"] == "MetadataEntry" and c["depth"] == 2
        },
        "statistics": statistics,
        "events": [c["attrs"] for c in children if c["name"] == "WorkoutEvent"],
        "activities": [c["attrs"] for c in children if c["name"] == "WorkoutActivity"],
        "route": {
            "source_name": route["attrs"].get("sourceName") if route else None,
            "file": reference["attrs"].get("path") if reference else None,
        }
        if route
        else None,
    }
    distance_stat = _first(statistics, lambda t: t.startswith(_DISTANCE_PREFIX))
    energy_stat = _first(statistics, lambda t: t == "HKQuantityTypeIdentifierActiveEnergyBurned")
    return {
        "workout_id": stable_id(
            "apple_health",
            attrs.get("sourceName"),
            attrs.get("startDate"),
            attrs.get("workoutActivityType"),
        ),
        "sport": sport_for(attrs.get("workoutActivityType", "")),
        "start_at": start,
        "end_at": end,
        "utc_offset_min": offset,
        "duration_s": duration * _DURATION_UNITS.get(attrs.get("durationUnit", "min"), 60.0)
        if duration is not None
        else (end - start).total_seconds(),
        "distance_m": _converted(distance, "m", attrs.get("totalDistanceUnit"))
        if distance is not None
        else _stat(distance_stat, "sum", "m"),
        "energy_kcal": _converted(energy, "kcal", attrs.get("totalEnergyBurnedUnit"))
        if energy is not None
        else _stat(energy_stat, "sum", "kcal"),
        "avg_heart_rate": _number(heart.get("average")) if heart else None,
        "max_heart_rate": _number(heart.get("maximum")) if heart else None,
        "source_name": attrs.get("sourceName"),
        "device": attrs.get("device"),
        "extra": _compact_json(extra),
    }


def summary_rows(attrs: dict[str, str], day: datetime) -> Iterator[dict[str, Any]]:
    for metric, unit, names, goals in _SUMMARY:
        value = next((_number(attrs.get(n)) for n in names if attrs.get(n) is not None), None)
        if value is None:
            continue
        goal_names = goals if goals is not None else _MOVE_TIME_GOALS
        goal = next((_number(attrs.get(n)) for n in goal_names if attrs.get(n) is not None), None)
        written = attrs.get("activeEnergyBurnedUnit") if metric == "activity_move" else None
        yield {
            "metric": metric,
            "start_at": day,
            "end_at": day + timedelta(days=1),
            "utc_offset_min": None,
            "value": _converted(value, unit, written),
            "unit": unit,
            "source_name": "Activity",
            "device": None,
            "source_type": "ActivitySummary",
            "extra": _compact_json(
                {"goal": _converted(goal, unit, written) if goal is not None else None}
            ),
        }


def _first(
    statistics: list[dict[str, str]], wanted: Callable[[str], bool]
) -> dict[str, str] | None:
    return next((s for s in statistics if wanted(s.get("type", ""))), None)


def _stat(statistic: dict[str, str] | None, key: str, unit: str) -> float | None:
    if statistic is None:
        return None
    value = _number(statistic.get(key))
    return _converted(value, unit, statistic.get("unit")) if value is not None else None


def _converted(value: float | None, canonical: str, unit: str | None) -> float | None:
    return None if value is None else convert(value, canonical, unit)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def parse_date(text: str | None) -> tuple[datetime | None, int | None]:
    if text is None:
        return None, None
    try:
        moment = datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        return None, None
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else None
    return moment.astimezone(UTC), minutes


def day(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _compact_json(value: dict[str, Any]) -> str:
    """JSON without the keys whose value is null, empty or an empty container."""
    kept = {k: v for k, v in value.items() if v not in (None, "", [], {})}
    for key, item in list(kept.items()):
        if isinstance(item, dict):
            inner = {k: v for k, v in item.items() if v not in (None, "", [], {})}
            if inner:
                kept[key] = inner
            else:
                del kept[key]
    return json.dumps(kept, ensure_ascii=False)


# Apple's workout-route GPX files all have one shape; reading them with a regular
# expression is about ten times faster than the general GPX reader, which stays
# the fallback for any file that strays from it. Rows are the gpx importer's.
_ROUTE_POINT = re.compile(
    rb'<trkpt lon="([^"<>]*)" lat="([^"<>]*)"><ele>([^<]*)</ele><time>([^<]*)</time>'
    rb"<extensions><speed>([^<]*)</speed><course>([^<]*)</course>"
    rb"<hAcc>([^<]*)</hAcc><vAcc>([^<]*)</vAcc></extensions></trkpt>"
)
_ROUTE_NAME = re.compile(rb"<trk>\s*<name>([^<]*)</name>")
_JSON_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"


def route_points(data: bytes, workout_id: str, source: str) -> pa.Table | None:
    """The location rows of an Apple route GPX file, or None when it is not of Apple's shape."""
    if data.count(b"<trk>") != 1 or data.count(b"<trkseg>") != 1 or b"<rtept" in data:
        return None
    points = _ROUTE_POINT.findall(data)
    if not points or len(points) != data.count(b"<trkpt") or b"<wpt" in data:
        return None
    lon, lat, ele, time, speed, course, h_acc, v_acc = (
        pl.Series(values).cast(pl.String) for values in zip(*points, strict=True)
    )
    numbers = pl.DataFrame({"lon": lon, "lat": lat, "ele": ele, "speed": speed, "hAcc": h_acc})
    floats = numbers.select(pl.all().cast(pl.Float64, strict=False))
    if floats.null_count().sum_horizontal()[0] or not _json_numbers(course, v_acc):
        return None
    if not (floats["lat"].is_between(-90, 90).all() and floats["lon"].is_between(-180, 180).all()):
        return None
    instants, offsets, bad = parse_iso_times(time.to_list())
    if bad.any():
        return None
    found = _ROUTE_NAME.search(data)
    name = html.unescape(found.group(1).decode()) if found else None
    head = '{"kind": "track", "track": 0, "segment": 0' + (
        f', "name": {json.dumps(name, ensure_ascii=False)}' if name is not None else ""
    )
    frame = pl.DataFrame({"course": course, "v_acc": v_acc}).select(
        extra=pl.lit(head + ', "course": ')
        + pl.col("course")
        + pl.lit(', "vAcc": ')
        + pl.col("v_acc")
        + pl.lit("}")
    )
    return pa.table(
        {
            "recorded_at": instants,
            "utc_offset_min": offsets,
            "lat": floats["lat"].to_arrow(),
            "lon": floats["lon"].to_arrow(),
            "accuracy_m": floats["hAcc"].to_arrow(),
            "altitude_m": floats["ele"].to_arrow(),
            "speed_mps": floats["speed"].to_arrow(),
            "source": pa.array([source] * len(points), pa.string()),
            "workout_id": pa.array([workout_id] * len(points), pa.string()),
            "extra": frame["extra"].to_arrow(),
        },
        schema=canonical_schema("location_points"),
    )


def _json_numbers(*columns: pl.Series) -> bool:
    """Whether the texts can go into JSON as they are (what gpx's reader writes as numbers)."""
    return all(column.str.contains(_JSON_NUMBER).all() for column in columns)
