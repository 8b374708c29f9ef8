"""Apple Health elements built one by one: workouts and activity summaries.

They are few (one per workout or day), so plain Python reads them clearly; the
millions of records go through the column path in `apple_health.py`. The rules
are those of docs/apple_health_rows.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from selfdata import xmlscan
from selfdata.importers.base import stable_id
from selfdata.importers.healthkit import convert, sport_for

__all__ = ["attrs", "day", "parse_date", "summary_rows", "workout"]

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
