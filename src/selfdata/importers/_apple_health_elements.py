"""Apple Health elements built one by one: workouts, their routes, activity summaries.

They are few (one per workout or day), so plain Python reads them clearly; the
millions of records go through the C scanner (`_apple_health_records.py`) or
the column path (`_apple_health_columns.py`). Both hand the few elements here
as `Element`s. The rules are those of docs/apple_health_rows.md.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from selfdata.importers.base import stable_id
from selfdata.importers.columns import canonical_schema, parse_iso_times
from selfdata.importers.healthkit import convert, sport_for

__all__ = [
    "Element",
    "Part",
    "Route",
    "day",
    "location_row",
    "parse_date",
    "route_points",
    "rows_table",
    "summary_rows",
    "workout",
]

_DISTANCE_PREFIX = "HKQuantityTypeIdentifierDistance"
_DURATION_UNITS = {"s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}
_SUMMARY = (
    ("activity_move", "kcal", ("activeEnergyBurned",), ("activeEnergyBurnedGoal",)),
    ("activity_move_time", "min", ("appleMoveTime", "appleMoveMinutes"), None),
    ("activity_exercise", "min", ("appleExerciseTime",), ("appleExerciseTimeGoal",)),
    ("activity_stand_hours", "count", ("appleStandHours",), ("appleStandHoursGoal",)),
)
_MOVE_TIME_GOALS = ("appleMoveTimeGoal", "appleMoveMinutesGoal")


_JSON = pa.json_(pa.string())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# What the spec (and the oracle) call a date and a number.
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass
class Element:
    """A top-level element read one by one (a Workout, an ActivitySummary).

    `children` are all its descendants in document order, each a dict of
    `name`, `depth` (the element itself is 1), `offset` (of its `<` in the
    file), `attrs` and `parent` (the name of the element it is in).
    """

    name: str
    attrs: dict[str, str]
    offset: int
    children: list[dict[str, Any]] = field(default_factory=list)


# Rejects: (table, reason, byte offset in the file).
Rejects = list[tuple[str, str, int]]


@dataclass
class Part:
    """What one stretch of the export holds: Record rows as Arrow tables, the
    elements to read one by one, rejects, and the control characters removed.

    `route_points`, when the C scanner read the inline routes, gives their
    table (and rejects) once the workouts' ids are known, one per element
    (None for an element that is not a kept workout), with their sources.
    """

    health: pa.Table | None
    sleep: pa.Table | None
    elements: list[Element]
    rejects: Rejects
    repairs: int = 0
    route_points: (
        Callable[[Sequence[str | None], Sequence[str | None]], tuple[pa.Table | None, Rejects]]
        | None
    ) = None


def location_row(
    attrs: dict[str, str], source: str | None, workout_id: str
) -> dict[str, Any] | None:
    """A route point of an inline `<Location>` (iOS 12 and older); None without a
    usable date, latitude or longitude (one off the globe is not usable: the
    vault refuses it, and would fail the whole file)."""
    when = _instant(attrs.get("date"))
    lat, lon = _plain_number(attrs.get("latitude")), _plain_number(attrs.get("longitude"))
    if when is None or lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    extra = {
        "course": _plain_number(attrs.get("course")),
        "vertical_accuracy": _plain_number(attrs.get("verticalAccuracy")),
    }
    return {
        "recorded_at": when[0],
        "utc_offset_min": when[1],
        "lat": lat,
        "lon": lon,
        "accuracy_m": _plain_number(attrs.get("horizontalAccuracy")),
        "altitude_m": _plain_number(attrs.get("altitude")),
        "speed_mps": _plain_number(attrs.get("speed")),
        "source": source,
        "workout_id": workout_id,
        "extra": _compact_json(extra),
    }


def rows_table(rows: list[dict[str, Any]], table: str) -> pa.Table:
    """Rows built one by one as an Arrow table of the canonical table's types.

    Column by column from buffers: `pa.Table.from_pylist` would import pandas
    (0.3 s, 40 MB), and polars would keep its own memory for the rest of the
    import. `extra`, from json.dumps, is typed as JSON: DuckDB then stores it
    without parsing it again.
    """
    columns = [_column([row.get(f.name) for row in rows], f.type) for f in canonical_schema(table)]
    extra = canonical_schema(table).get_field_index("extra")
    columns[extra] = pa.ExtensionArray.from_storage(_JSON, columns[extra])
    return pa.Table.from_arrays(columns, names=canonical_schema(table).names)


def _column(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One column of a canonical table: timestamps, int16, float64 or strings (None is null)."""
    present = np.array([value is not None for value in values], dtype=np.bool_)
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    if kind == pa.string():
        encoded = [value.encode() if value is not None else b"" for value in values]
        ends = np.cumsum([0, *(len(text) for text in encoded)], dtype=np.int64)
        data = pa.py_buffer(b"".join(encoded))
        large = pa.Array.from_buffers(
            pa.large_string(), len(values), [validity, pa.py_buffer(ends), data]
        )
        return large.cast(pa.string())
    if pa.types.is_timestamp(kind):
        micros = [(v - _EPOCH) // _MICROSECOND if v is not None else 0 for v in values]
        numbers: npt.NDArray[Any] = np.array(micros, dtype=np.int64)
    else:
        dtype = np.int16 if kind == pa.int16() else np.float64
        numbers = np.array([v if v is not None else 0 for v in values], dtype=dtype)
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(numbers)])


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
    """One row per ring the summary has a value attribute for (the first name present)."""
    for metric, unit, names, goals in _SUMMARY:
        text = next((attrs[name] for name in names if name in attrs), None)
        if text is None:
            continue
        goal_names = goals if goals is not None else _MOVE_TIME_GOALS
        goal = _plain_number(next((attrs[name] for name in goal_names if name in attrs), None))
        # Only the move ring has a unit of its own; the others are fixed.
        written = (attrs.get("activeEnergyBurnedUnit") or unit) if unit == "kcal" else unit
        yield {
            "metric": metric,
            "start_at": day,
            "end_at": day + timedelta(days=1),
            "utc_offset_min": None,
            "value": _converted(_plain_number(text), unit, written),
            "unit": unit,
            "source_name": "Activity",
            "device": None,
            "source_type": "ActivitySummary",
            "extra": "{}" if goal is None else json.dumps({"goal": convert(goal, unit, written)}),
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
    """`2023-03-26 08:10:00 +0200` -> (06:10 UTC, 120); (None, None) when it is not such a date."""
    found = _instant(text)
    return (None, None) if found is None else found


def _instant(text: str | None) -> tuple[datetime, int] | None:
    """`2023-03-26 08:10:00 +0200` -> (06:10 UTC, 120); None when it is not such a date."""
    match = _DATE.fullmatch(text or "")
    if match is None:
        return None
    year, month, mday, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        local = datetime(int(year), int(month), int(mday), int(hour), int(minute), int(second))
    except ValueError:  # 2023-02-30 and the like
        return None
    offset = (1 if sign == "+" else -1) * (int(off_h) * 60 + int(off_m))
    return (local - timedelta(minutes=offset)).replace(tzinfo=UTC), offset


def _plain_number(text: str | None) -> float | None:
    """A plain decimal number (`inf`, `1_000` or `0x1` are not)."""
    return float(text) if text is not None and _NUMBER.fullmatch(text) else None


def day(text: str | None) -> datetime | None:
    """`2024-05-04` -> its midnight, UTC (an ActivitySummary's day is already local)."""
    if text is None or not _DAY.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:  # 2024-02-30
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
_APPLE_ROUTE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


@dataclass(frozen=True)
class Route:
    """A workout-route GPX file's bytes and the workout and source its points belong to."""

    data: bytes
    workout_id: str
    source: str


def route_points(routes: Sequence[Route]) -> tuple[pa.Table | None, list[int]]:
    """The location rows of the routes of Apple's shape, and the positions of the others.

    The routes are read together, one set of column operations for all their
    points: a workout's file holds a few thousand points, and converting each
    file on its own cost more in fixed overhead than in work. A file strays
    from Apple's shape when its layout differs or any of its values does not
    parse; the caller reads those with the gpx importer.
    """
    columns: list[list[bytes]] = [[] for _ in range(8)]
    taken: list[int] = []  # positions in `routes` of the files read here
    counts: list[int] = []  # their points
    others: list[int] = []
    for position, route in enumerate(routes):
        points = _apple_shaped_points(route.data)
        if points is None:
            others.append(position)
            continue
        for column, values in zip(columns, zip(*points, strict=True), strict=True):
            column.extend(values)
        taken.append(position)
        counts.append(len(points))
    if not taken:
        return None, others
    owner = np.repeat(np.arange(len(taken)), counts)  # per point: its file among `taken`
    lon, lat, ele, time, speed, course, h_acc, v_acc = (
        pl.Series(values, dtype=pl.Binary).cast(pl.String) for values in columns
    )
    numbers = pl.DataFrame({"lon": lon, "lat": lat, "ele": ele, "speed": speed, "hAcc": h_acc})
    floats = numbers.select(pl.all().cast(pl.Float64, strict=False))
    instants, offsets, bad_time = _route_times(time)
    bad_number = floats.select(
        pl.any_horizontal(pl.all().is_null())
        | ~pl.col("lat").is_between(-90, 90)
        | ~pl.col("lon").is_between(-180, 180)
    ).to_series()
    # course and vAcc go into the JSON as they are written, so they must be JSON numbers
    bad_json = ~course.str.contains(_JSON_NUMBER) | ~v_acc.str.contains(_JSON_NUMBER)
    bad = (bad_number | bad_json).to_numpy() | np.asarray(bad_time, dtype=bool)
    stray = np.bincount(owner, weights=bad, minlength=len(taken)) > 0
    others = sorted(others + [taken[i] for i in np.flatnonzero(stray)])
    keep = ~stray[owner]
    owner_of_kept = pa.array(owner[keep])
    kept = [routes[position] for position in taken]
    heads = pa.array([_extra_head(route.data) for route in kept], pa.string())
    extra = pl.DataFrame(
        {
            "head": pl.from_arrow(heads.take(owner_of_kept)),
            "course": course.filter(keep),
            "v_acc": v_acc.filter(keep),
        }
    ).select(
        extra=pl.col("head")
        + pl.lit(', "course": ')
        + pl.col("course")
        + pl.lit(', "vAcc": ')
        + pl.col("v_acc")
        + pl.lit("}")
    )
    table = pa.table(
        {
            "recorded_at": instants.filter(keep),
            "utc_offset_min": offsets.filter(keep),
            "lat": floats["lat"].filter(keep).to_arrow(),
            "lon": floats["lon"].filter(keep).to_arrow(),
            "accuracy_m": floats["hAcc"].filter(keep).to_arrow(),
            "altitude_m": floats["ele"].filter(keep).to_arrow(),
            "speed_mps": floats["speed"].filter(keep).to_arrow(),
            "source": pa.array([r.source for r in kept], pa.string()).take(owner_of_kept),
            "workout_id": pa.array([r.workout_id for r in kept], pa.string()).take(owner_of_kept),
            "extra": extra["extra"].to_arrow(),
        },
        schema=canonical_schema("location_points"),
    )
    return (table if table.num_rows else None), others


def _route_times(texts: pl.Series) -> tuple[pa.Array, pa.Array, npt.NDArray[Any]]:
    """`parse_iso_times` of the route's times, in one polars pass when they all have
    Apple's form (`2020-07-03T10:41:55Z`, UTC, so no local offset): the general
    parser took most of a route's reading time."""
    if texts.str.contains(_APPLE_ROUTE_TIME).all():
        utc = texts.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%SZ", strict=False)
        if not utc.null_count():  # else a date such as 02-30: the general parser's rule
            offsets = pa.nulls(len(texts), pa.int16())
            return utc.to_arrow(), offsets, np.zeros(len(texts), dtype=bool)
    return parse_iso_times(texts.to_list())


def _apple_shaped_points(data: bytes) -> list[tuple[bytes, ...]] | None:
    """Every trkpt's eight values, when the file's layout is Apple's (else None)."""
    if data.count(b"<trk>") != 1 or data.count(b"<trkseg>") != 1 or b"<rtept" in data:
        return None
    points: list[tuple[bytes, ...]] = _ROUTE_POINT.findall(data)
    if not points or len(points) != data.count(b"<trkpt") or b"<wpt" in data:
        return None
    return points


def _extra_head(data: bytes) -> str:
    """The start of each point's `extra` JSON: what the gpx importer writes for the track."""
    found = _ROUTE_NAME.search(data)
    name = html.unescape(found.group(1).decode()) if found else None
    return '{"kind": "track", "track": 0, "segment": 0' + (
        f', "name": {json.dumps(name, ensure_ascii=False)}' if name is not None else ""
    )
