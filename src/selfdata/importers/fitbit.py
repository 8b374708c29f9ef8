"""Fitbit data export: the per-kind JSON files of "Global Export Data".

Fitbit's account export (fitbit.com "Export your data", folder `user-site-export/`)
and Google Takeout (`Takeout/Fitbit/Global Export Data/`) write one JSON array per
kind and period, named `<kind>-YYYY-MM-DD.json` after the first day it holds (a
day to a month of data). Exercise files may be numbered instead
(`exercise-0.json`, `exercise-100.json`). Copies renamed with a prefix
(`FitOut_resting_heart_rate-2023-03-02.json`) are recognised: the kind is the
word just before `-DATE.json`. The writer is Jackson (`"key" : value` spacing).
There is no public spec; the shapes below come from published examples:
danlsn/fitport's README (weight, sleep, resting heart rate, steps, exercise,
distance, annotated), kev-m/FitOut's Takeout readers and test files, a Rust test
holding a real sleep log with `shortData` and an `unknown` level, and
andykong.org's "Timezone correcting Fitbit sleep data" (times are device-local).

Kinds read, and what they become (`source_name` "Fitbit", `source_type`
"fitbit:<kind>", `device` NULL unless the record names one):

- `steps`, `distance`, `calories`: `[{"dateTime": "03/20/17 23:55:00", "value": "68"}]`,
  one entry per minute, values as strings. Each is a 1-minute `health_samples`
  interval: `steps` (count); `distance_walking_running` in m, from centimetres
  (fitport annotates the values "centimetres"; a Takeout dashboard scales them
  by 1e-5 to km); `total_energy` in kcal, because Fitbit's per-minute calories
  are all energy burned, basal included (its API calls the day's sum
  caloriesOut, "including BMR"), so they are neither `active_energy` nor
  `basal_energy`. Minutes are listed whether the tracker was worn or not (fitport's
  sample has "0" values): a minute of 0 steps or 0 distance adds nothing to any
  sum and is skipped, not rejected.
- `heart_rate`: `{"dateTime": ..., "value": {"bpm": 62, "confidence": 2}}` every
  few seconds: `heart_rate` count/min instants, `confidence` (0-3) in `extra`.
- `resting_heart_rate`: `{"dateTime": "02/28/24 00:00:00", "value": {"date":
  "02/28/24", "value": 52.27, "error": 6.79}}`: `resting_heart_rate` over the
  local day (midnight to midnight, 23 or 25 h on DST days), `error` in `extra`.
  Days without an estimate carry value 0 (and date null): rejected, counted.
- `weight`: `{"logId": ..., "weight": 193.9, "bmi": 28.08, "fat": 24.0, "date":
  "07/05/17", "time": "12:44:00", "source": "Aria"}`: instants of `body_mass` (kg),
  `body_fat_percentage` (%, only when `fat` is there) and `bmi` (count, as
  HealthKit and FIT write it). The
  weight is in the account's unit, which the file does not say; every published
  example and converter reads pounds (fitport: "weight in pounds"; 191.8 with BMI
  27.77 fits a 1.77 m person only in pounds), so `weight_unit = "lb"` is the
  default and `"kg"` the option. `extra` keeps the number as exported and the
  unit assumed, so a wrong assumption can be repaired. `source` becomes the
  `device` when it names a scale ("Aria"), not when it names a channel ("API",
  "Web"); it is in `extra` either way.
- `sleep`: logs with `logId`, `startTime`/`endTime` ("2015-06-15T23:46:00.000"),
  `type` "stages" or "classic", `levels.data` (`dateTime`, `level`, `seconds`) and,
  for stages, `levels.shortData`. Each log gives one `in_bed` segment
  (startTime..endTime; logId, dateOfSleep, efficiency, mainSleep, minutesAsleep,
  minutesAwake, timeInBed, type, logType in `extra`) and one segment per
  `levels.data` entry: wake→awake, light→core, deep→deep, rem→rem; classic
  asleep→asleep, restless→awake, awake→awake. A segment ends `seconds` after
  its start instant (elapsed time, right across a DST change). `unknown` (the
  tracker lost contact) has no stage and gives no segment; `in_bed` still covers
  it. `shortData` holds wakes of 3 minutes or less (30-180 s in the samples) that
  Fitbit leaves inside a longer light/deep/rem entry: they become `awake` segments
  overlaid on it, with `"short": true` in `extra`; leave them out to get a
  partition of the night.
- `exercise`: `logId`, `activityName`, `startTime` ("06/22/15 06:14:49"),
  `duration`/`activeDuration` in ms, `distance` with `distanceUnit` ("Kilometer",
  "Mile"), `calories`, `averageHeartRate`, `source.name` (the tracker): one
  `workouts` row, `workout_id = stable_id("fitbit", logId)`, ending `duration`
  after its start; the active duration, steps, elevation gain and Fitbit's own
  names are in `extra`. activityName words give the sport (Run, Walk, Hike,
  Bike/Outdoor Bike/Spinning, Swim, Ski), else "other".

Not read (their files are left to other importers or reported as unknown):
`altitude` (its unit is undocumented and unconfirmed, so not `flights_climbed`),
`sedentary_`/`lightly_`/`moderately_`/`very_active_minutes` (Fitbit's intensity
bands, not `exercise_minutes`), VO2 max, heart-rate zones, badges.

Time. Fitbit writes device-local wall times without offsets. They are read in
the IANA zone `timezone` of `[importers.fitbit]` in selfdata.toml, else the
machine's zone: `$TZ`, else the name `/etc/localtime` links to (after
`zoneinfo/`), else `/etc/timezone`, else UTC. Instants are stored in UTC with
`utc_offset_min` from that zone's rules at that moment, and every row says
`{"timezone_assumed": NAME}` in `extra`. A wall time that occurs twice (clocks
going back) is read as the earlier instant; one that does not exist (clocks
going forward, written by a tracker that had not changed its clock yet) with the
offset in force before the change, so its minute is kept (zoneinfo's fold=0).
Either way `extra` says `"dst_local_time": "ambiguous"` or `"nonexistent"`.
Published scripts disagree for two kinds: one shifts heart_rate times by the
zone's offset to line them up with sleep, one says exercise startTime matched GPS
as UTC. Kinds listed in `utc_kinds = ["heart_rate"]` are read as UTC instants
(the offset still comes from `timezone`; `extra` says `"times_in": "UTC"`).

A file is parsed whole (one day of heart rate, up to a month of anything else)
and yields batches of at most BATCH_ROWS records. One that is not a JSON array,
or is cut off, is a ParseError naming the line; a record that cannot be used is
rejected with its line (found only then) and the rest imported.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import pyarrow as pa

from selfdata.errors import IngestError, ParseError
from selfdata.importers.base import Batch, Source, stable_id

__all__ = ["KINDS", "detect", "name", "patterns", "read", "tables", "version"]

name = "fitbit"
version = "1"
patterns = ("*-????-??-??.json", "exercise-*.json")
tables = ("health_samples", "sleep_segments", "workouts")

# Records per batch (sleep: logs, each tens of segments): memory stays flat.
BATCH_ROWS = 50_000
BATCH_SLEEP_LOGS = 500
SOURCE_NAME = "Fitbit"

# Canonical columns and their Arrow types; the rest are text.
_TYPES = {
    **dict.fromkeys(("start_at", "end_at"), pa.timestamp("us", tz="UTC")),
    "utc_offset_min": pa.int16(),
    **dict.fromkeys(("value", "duration_s", "distance_m", "energy_kcal"), pa.float64()),
    **dict.fromkeys(("avg_heart_rate", "max_heart_rate"), pa.float64()),
}


def _schema(*columns: str) -> pa.Schema:
    return pa.schema([(column, _TYPES.get(column, pa.string())) for column in columns])


_SHARED = ("source_name", "device", "extra")
_SCHEMAS = {
    "health_samples": _schema(
        "metric", "start_at", "end_at", "utc_offset_min", "value", "unit", "source_type", *_SHARED
    ),
    "sleep_segments": _schema("start_at", "end_at", "utc_offset_min", "stage", *_SHARED),
    "workouts": _schema(
        *("workout_id", "sport", "start_at", "end_at", "utc_offset_min", "duration_s"),
        *("distance_m", "energy_kcal", "avg_heart_rate", "max_heart_rate", *_SHARED),
    ),
}

# Per-minute series: kind -> (metric, unit, factor to the unit, skip zeros).
_MINUTES = {
    "steps": ("steps", "count", 1.0, True),
    "distance": ("distance_walking_running", "m", 0.01, True),  # centimetres
    "calories": ("total_energy", "kcal", 1.0, False),  # basal included: never 0 when worn
}
# The keys a file of each kind starts its first record with, for detection.
_FIRST_KEYS = {
    **{kind: (b"dateTime",) for kind in (*_MINUTES, "heart_rate", "resting_heart_rate")},
    "weight": (b"logId", b"weight", b"date"),
    "sleep": (b"logId", b"dateOfSleep"),
    "exercise": (b"logId", b"activityName"),
}
KINDS = tuple(_FIRST_KEYS)
# Longest kind first, so "resting_heart_rate" wins over "heart_rate".
_FILE = re.compile(
    r"(?:^|[^a-z0-9])(" + "|".join(sorted(KINDS, key=len, reverse=True)) + r")"
    r"-(?:\d{4}-\d{2}-\d{2}|\d+)\.json$"
)
_HEAD = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\[\s*(?:\]|\{\s*"(\w+)"\s*:)')
_TIME_FORMATS = ("%m/%d/%y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S")
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_STAGES = {"wake": "awake", "light": "core", "deep": "deep", "rem": "rem"}  # "stages" logs
_STAGES |= {"asleep": "asleep", "restless": "awake", "awake": "awake"}  # "classic" logs
_SLEEP_FIELDS = (
    *("logId", "dateOfSleep", "efficiency", "mainSleep", "minutesAsleep", "minutesAwake"),
    *("minutesToFallAsleep", "timeInBed", "type", "logType"),
)
_SPORTS = {
    **dict.fromkeys(("run", "running", "jog", "jogging"), "running"),
    **dict.fromkeys(("walk", "walking"), "walking"),
    **dict.fromkeys(("hike", "hiking"), "hiking"),
    **dict.fromkeys(("bike", "biking", "cycling", "spinning"), "cycling"),
    **dict.fromkeys(("swim", "swimming"), "swimming"),
    **dict.fromkeys(("ski", "skiing"), "skiing"),
}
_METRES_PER = {"kilometer": 1000.0, "mile": 1609.344, "meter": 1.0, "yard": 0.9144}
_KG_PER = {"kg": 1.0, "lb": 0.45359237}
# Weight `source` values that name how the entry arrived, not a device.
_CHANNELS = frozenset({"api", "web", "manual", "android", "ios", "mobile", "app"})
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

Record = tuple[int, Any]  # (index in the file's array, the record)


def detect(head: bytes, filename: str) -> bool:
    """True for `<kind>-YYYY-MM-DD.json` of a known kind holding the kind's JSON array.

    Example:
        >>> detect(b'[{\\n  "dateTime" : "02/28/24 00:00:00",', "steps-2024-02-28.json")
        True
    """
    kind = _kind(filename)
    found = _HEAD.match(head)
    if kind is None or found is None:
        return False
    return found[1] is None or found[1] in _FIRST_KEYS[kind]


def read(source: Source) -> Iterator[Batch]:
    """Read one export file as batches of the tables its kind fills.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/fitbit/heart_rate-2023-10-29.json")))
        >>> next(batches).table
        'health_samples'
    """
    kind = _kind(source.file_name)
    if kind is None:
        raise ParseError(source.display_name, f"not KIND-YYYY-MM-DD.json, KIND one of {KINDS}")
    context = _context(source, kind)
    with source.open() as stream:
        context.text = _decode(stream, source.display_name)
    records = _load(context.text, source.display_name)
    size = BATCH_SLEEP_LOGS if kind == "sleep" else BATCH_ROWS
    build = _BUILDERS.get(kind, _minute_series)
    for start in range(0, len(records), size):
        chunk = list(enumerate(records[start : start + size], start))
        yield from build(chunk, context)


@dataclass
class _Context:
    """What every row of one file shares, and the file's text for finding lines."""

    source: Source
    kind: str
    zone: str
    utc_times: bool
    weight_unit: str
    text: str = ""
    lines: list[int] = field(default_factory=list)

    @property
    def source_type(self) -> str:
        return f"fitbit:{self.kind}"

    def reject(self, table: str, reason: str, index: int) -> None:
        # Lines are counted only when a record is rejected: most files have none.
        if not self.lines:
            self.lines = _record_lines(self.text)
        self.source.reject(table, reason, self.lines[index])


def _kind(filename: str) -> str | None:
    found = _FILE.search(Path(filename).name.lower())
    return found[1] if found else None


def _context(source: Source, kind: str) -> _Context:
    """The file's settings from `[importers.fitbit]`, checked, with a hint on how to fix them."""
    options = source.options
    zone = options.get("timezone") or _machine_zone()
    unit = options.get("weight_unit", "lb")
    utc_kinds = options.get("utc_kinds", [])
    problem = None
    if not isinstance(zone, str) or not _is_zone(zone):
        problem = f'timezone = {zone!r} is not an IANA time zone; use one like "Europe/London"'
    elif unit not in _KG_PER:
        problem = f'weight_unit = {unit!r}: use "kg" or "lb"'
    elif not isinstance(utc_kinds, list) or not set(utc_kinds) <= set(KINDS):
        problem = f"utc_kinds = {utc_kinds!r}: list kinds from {', '.join(KINDS)}"
    if problem:
        raise IngestError(source.display_name, f"selfdata.toml [importers.fitbit] {problem}")
    return _Context(source, kind, zone, kind in utc_kinds, unit)


def _machine_zone() -> str:
    """This machine's IANA zone name: $TZ, the /etc/localtime link, /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").removeprefix(":"), os.path.realpath("/etc/localtime")]
    with suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for candidate in candidates:
        # A path such as /usr/share/zoneinfo/Europe/London names the zone after "zoneinfo/".
        zone = candidate.rpartition("zoneinfo/")[2]
        if zone and _is_zone(zone):
            return zone
    return "UTC"


def _is_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# JSON


def _decode(stream: IO[bytes], path: str) -> str:
    # Read in chunks so the progress bar moves.
    data = b"".join(iter(partial(stream.read, 1 << 20), b""))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(path, f"not UTF-8 text: {error.reason} at byte {error.start}") from None


def _load(text: str, path: str) -> list[Any]:
    """The file's array, parsed in one C-speed pass, or a ParseError naming the line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(path, _why(error, text), line=error.lineno) from None
    if not isinstance(data, list):
        raise ParseError(path, "not a Fitbit export file: it holds no JSON array", line=1)
    return data


def _why(error: json.JSONDecodeError, text: str) -> str:
    if not text.strip():
        return "the file is empty"
    if error.pos >= len(text.rstrip()):
        return "the file ends inside the JSON array: cut off?"
    if error.msg == "Extra data":
        return "text after the end of the JSON array"
    return f"broken JSON: {error.msg}"


def _record_lines(text: str) -> list[int]:
    """The line each element of a valid JSON array starts on."""
    decoder, lines = json.JSONDecoder(), []
    position, line = _skip(text, 0, 1)
    position, line = _skip(text, position + 1, line)  # past "["
    while text[position] != "]":
        lines.append(line)
        end = decoder.raw_decode(text, position)[1]
        position, line = _skip(text, end, line + text.count("\n", position, end))
        if text[position] == ",":
            position, line = _skip(text, position + 1, line)
    return lines


def _skip(text: str, position: int, line: int) -> tuple[int, int]:
    """Past the whitespace at `position`, counting the lines it spans."""
    found = _WHITESPACE.match(text, position)
    end = found.end() if found else position
    return end, line + text.count("\n", position, end)


def _get(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None where a level is missing or not an object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _floats(values: list[Any]) -> pl.Series:
    """Numbers, numeric text included, as floats; anything else (and NaN, inf) as null."""
    series = pl.Series(values, dtype=pl.Float64, strict=False)
    return series.set(~series.is_finite().fill_null(True), None)


def _column(chunk: list[Record], *keys: str) -> list[Any]:
    """record[k1][k2]... of every record, None where a level is missing: one pass per key."""
    values = [record for _, record in chunk]
    for key in keys:
        values = [value.get(key) if isinstance(value, dict) else None for value in values]
    return values


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# Kinds: each makes a frame of raw times and values; `_place` turns the times into instants

# Every frame has these columns; `problem` set means the record is rejected for that reason.
_BASE = {"record": pl.Int64, "time": pl.String, "end_time": pl.String, "seconds": pl.Float64}
_BASE |= {"problem": pl.String, "extra": pl.String}


def _frame(chunk: list[Record], key: str, **columns: Any) -> pl.DataFrame:
    """The base frame of time-series records (`key` holds the time), then `columns`."""
    frame = pl.DataFrame(
        {"record": [index for index, _ in chunk], "time": _column(chunk, key)},
        schema={"record": pl.Int64, "time": pl.String},
        strict=False,
    )
    defaults = {"end_time": None, "seconds": None, "problem": None, "extra": "{}"}
    return frame.with_columns(
        *(pl.lit(value, _BASE[column]).alias(column) for column, value in defaults.items()),
    ).with_columns(**columns)


def _rows(rows: list[tuple[Any, ...]], columns: tuple[str, ...], **types: Any) -> pl.DataFrame:
    """A frame from row tuples, with the base columns the rows leave out."""
    schema = {column: _BASE.get(column) or types.get(column, pl.String) for column in columns}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    missing = [pl.lit(None, kind).alias(col) for col, kind in _BASE.items() if col not in schema]
    return frame.with_columns(missing)


def _problems(bad: pl.Series, message: Callable[[int], str]) -> pl.Series:
    """A reason for each bad row (built in Python only for those), None for the others."""
    reasons: list[str | None] = [None] * len(bad)
    for index in bad.fill_null(True).arg_true():
        reasons[index] = message(index)
    return pl.Series(reasons, dtype=pl.String)


def _minute_series(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    metric, unit, factor, skip_zeros = _MINUTES[context.kind]
    raw = _column(chunk, "value")
    value = _floats(raw)
    frame = _frame(
        chunk,
        "dateTime",
        metric=pl.lit(metric),
        unit=pl.lit(unit),
        value=value * factor,
        seconds=pl.lit(60.0),
        problem=_problems(value.is_null(), lambda i: f"{context.kind} {raw[i]!r} is not a number"),
    )
    if skip_zeros:  # a minute without steps, worn or not, adds nothing
        frame = frame.filter((pl.col("value") != 0) | pl.col("value").is_null())
    yield from _finish(frame, context, "health_samples")


def _heart_rate(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    raw = _column(chunk, "value", "bpm")
    bpm = _floats(raw)
    confidence = _floats(_column(chunk, "value", "confidence"))
    frame = _frame(
        chunk,
        "dateTime",
        metric=pl.lit("heart_rate"),
        unit=pl.lit("count/min"),
        value=bpm,
        problem=_problems(bpm <= 0, lambda i: f"heart rate {raw[i]!r} is not a positive number"),
        extra=pl.format('{{"confidence":{}}}', pl.lit(confidence).cast(pl.Int64)).fill_null("{}"),
    )
    yield from _finish(frame, context, "health_samples")


def _resting_heart_rate(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    raw = _column(chunk, "value", "value")
    value = _floats(raw)
    error = _floats(_column(chunk, "value", "error"))

    def no_estimate(index: int) -> str:
        day = _get(chunk[index][1], "dateTime")
        return f"no resting heart rate on {day}: value {raw[index]!r}"

    frame = _frame(
        chunk,
        "dateTime",
        metric=pl.lit("resting_heart_rate"),
        unit=pl.lit("count/min"),
        value=value,
        problem=_problems(value <= 0, no_estimate),  # Fitbit writes 0 for days without one
        extra=pl.format('{{"error":{}}}', pl.lit(error)).fill_null("{}"),
    )
    yield from _finish(frame, context, "health_samples", whole_day=True)


def _weight(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    rows: list[tuple[Any, ...]] = []
    for index, record in chunk:
        date, clock = _text(_get(record, "date")), _text(_get(record, "time"))
        time = f"{date} {clock}" if date and clock else None
        channel = _text(_get(record, "source"))
        device = channel if channel and channel.lower() not in _CHANNELS else None
        base = {"logId": _get(record, "logId"), "source": channel}
        weight = _number(_get(record, "weight"))
        problem = (
            None if weight and weight > 0 else f"weight {_get(record, 'weight')!r} is not positive"
        )
        kg = weight * _KG_PER[context.weight_unit] if weight else None
        exported = {"weight": _get(record, "weight"), "weight_unit": context.weight_unit}
        rows.append((index, time, problem, _json(base | exported), "body_mass", "kg", kg, device))
        for key, metric, unit in (("fat", "body_fat_percentage", "%"), ("bmi", "bmi", "count")):
            number = _number(_get(record, key))
            if number is not None and problem is None:
                rows.append((index, time, None, _json(base), metric, unit, number, device))
    columns = ("record", "time", "problem", "extra", "metric", "unit", "value", "device")
    frame = _rows(rows, columns, value=pl.Float64)
    yield from _finish(frame, context, "health_samples")


def _sleep(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    rows: list[tuple[Any, ...]] = []
    for index, log in chunk:
        fields = {key: _get(log, key) for key in _SLEEP_FIELDS}
        start, end = _text(_get(log, "startTime")), _text(_get(log, "endTime"))
        problem = None if end else "a sleep log without endTime"
        extra = _json({key: value for key, value in fields.items() if value is not None})
        rows.append((index, start, end, None, problem, extra, "in_bed"))
        for key, short in (("data", False), ("shortData", True)):
            entries = _get(log, "levels", key)
            for entry in entries if isinstance(entries, list) else []:
                segment = _segment(index, fields["logId"], entry, short)
                if segment:
                    rows.append(segment)
    columns = ("record", "time", "end_time", "seconds", "problem", "extra", "stage")
    frame = _rows(rows, columns, stage=pl.String)
    yield from _finish(frame, context, "sleep_segments")


def _segment(index: int, log_id: Any, entry: Any, short: bool) -> tuple[Any, ...] | None:
    """One `levels.data` (or `shortData`) entry as a segment row; None for `unknown`."""
    level = _get(entry, "level")
    if level == "unknown":  # the tracker could not tell: no stage, in_bed still covers it
        return None
    stage = _STAGES.get(level) if isinstance(level, str) else None
    seconds = _number(_get(entry, "seconds"))
    problem = None
    if stage is None:
        problem = f"unknown sleep level {level!r}"
    elif seconds is None or seconds < 0:
        problem = f"sleep level {level!r} lasting {_get(entry, 'seconds')!r} seconds"
    extra = {"logId": log_id, "level": level} | ({"short": True} if short else {})
    return (index, _text(_get(entry, "dateTime")), None, seconds, problem, _json(extra), stage)


def _exercise(chunk: list[Record], context: _Context) -> Iterator[Batch]:
    rows: list[tuple[Any, ...]] = []
    for index, record in chunk:
        log_id = _get(record, "logId")
        duration = _number(_get(record, "duration"))
        active = _number(_get(record, "activeDuration"))
        distance, unit = _get(record, "distance"), _get(record, "distanceUnit")
        metres = _metres(distance, unit)
        extra = {
            "name": _get(record, "activityName"),
            "activityTypeId": _get(record, "activityTypeId"),
            "logType": _get(record, "logType"),
            "active_duration_s": None if active is None else active / 1000,
            "steps": _get(record, "steps"),
            "elevationGain": _get(record, "elevationGain"),
        }
        if metres is None and distance is not None:  # an unknown unit: keep what was written
            extra |= {"distance": distance, "distanceUnit": unit}
        rows.append(
            (
                index,
                _text(_get(record, "startTime")),
                None if duration is None else duration / 1000,
                None if log_id is not None else "an exercise without logId",
                _json({key: value for key, value in extra.items() if value is not None}),
                stable_id("fitbit", log_id),
                _sport(_get(record, "activityName")),
                metres,
                _number(_get(record, "calories")),
                _number(_get(record, "averageHeartRate")),
                _text(_get(record, "source", "name")),
            )
        )
    columns = (
        *("record", "time", "seconds", "problem", "extra", "workout_id", "sport"),
        *("distance_m", "energy_kcal", "avg_heart_rate", "device"),
    )
    floats = dict.fromkeys(("distance_m", "energy_kcal", "avg_heart_rate"), pl.Float64)
    frame = _rows(rows, columns, workout_id=pl.String, sport=pl.String, device=pl.String, **floats)
    yield from _finish(frame, context, "workouts")


def _sport(activity: Any) -> str:
    words = re.findall(r"[a-z]+", activity.lower()) if isinstance(activity, str) else []
    return next((_SPORTS[word] for word in words if word in _SPORTS), "other")


def _metres(distance: Any, unit: Any) -> float | None:
    number = _number(distance)
    factor = _METRES_PER.get(unit.lower()) if isinstance(unit, str) else None
    return None if number is None or factor is None else number * factor


_BUILDERS: dict[str, Callable[[list[Record], _Context], Iterator[Batch]]] = {
    "heart_rate": _heart_rate,
    "resting_heart_rate": _resting_heart_rate,
    "weight": _weight,
    "sleep": _sleep,
    "exercise": _exercise,
}


# Time: local wall times to UTC instants, offsets and DST notes, column-wise


def _place(
    frame: pl.DataFrame, context: _Context, table: str, *, whole_day: bool = False
) -> pl.DataFrame:
    """Reject the frame's bad records, then give the rest start_at, end_at, utc_offset_min
    and the zone in `extra`. Ends come from `end_time`, else the next local midnight
    (`whole_day`), else `seconds` after the start, else the start (an instant)."""
    frame = frame.with_columns(local=_parse("time"), end_local=_parse("end_time"))
    frame = frame.with_columns(
        problem=pl.coalesce(
            pl.col("problem"),
            pl.when(pl.col("time").is_null()).then(pl.lit("no time given")),
            pl.when(pl.col("local").is_null()).then(pl.format("unparsable time '{}'", "time")),
            pl.when(pl.col("end_local").is_null() & pl.col("end_time").is_not_null()).then(
                pl.format("unparsable end time '{}'", "end_time")
            ),
        )
    )
    rejected = frame.filter(pl.col("problem").is_not_null()).select("record", "problem")
    for index, problem in rejected.iter_rows():
        context.reject(table, problem, index)
    good = frame.filter(pl.col("problem").is_null())
    start = _localize(good["local"], context)
    end_local = good["local"].dt.offset_by("1d") if whole_day else good["end_local"]
    end = _localize(end_local, context)["at"]
    elapsed = pl.duration(microseconds=(pl.col("seconds") * 1e6).round().cast(pl.Int64))
    return good.with_columns(
        start_at=start["at"], utc_offset_min=start["offset"], dst_local_time=start["note"]
    ).with_columns(
        end_at=pl.coalesce(pl.lit(end), pl.col("start_at") + elapsed, pl.col("start_at")),
        extra=_with_zone(context),
    )


def _parse(column: str) -> pl.Expr:
    """Fitbit's two time layouts ("01/01/23 00:00:05", "2023-01-01T23:10:30.000") as naive times."""
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        [text.str.to_datetime(layout, strict=False, time_unit="us") for layout in _TIME_FORMATS]
    )


def _localize(local: pl.Series, context: _Context) -> pl.DataFrame:
    """UTC instants `at`, offsets in minutes and DST notes for naive wall times (or UTC times)."""
    if context.utc_times:
        at = local.dt.replace_time_zone("UTC")
        wall = at.dt.convert_time_zone(context.zone).dt.replace_time_zone(None)
        note = pl.Series([None] * len(local), dtype=pl.String)
    else:
        at, note = _from_wall_time(local, context.zone)
        wall = local
    offset = (wall - at.dt.replace_time_zone(None)).dt.total_minutes().cast(pl.Int16)
    return pl.DataFrame({"at": at, "offset": offset, "note": note})


def _from_wall_time(local: pl.Series, zone: str) -> tuple[pl.Series, pl.Series]:
    """Wall times in `zone` as instants: the earlier of two, and for a time the clocks
    skipped, the offset before the change (zoneinfo's fold=0), so no minute is lost."""
    frame = pl.DataFrame({"local": local}).with_columns(
        early=pl.col("local").dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null"),
        late=pl.col("local").dt.replace_time_zone(zone, ambiguous="latest", non_existent="null"),
    )
    frame = frame.with_columns(
        at=pl.col("early").dt.convert_time_zone("UTC"),
        note=pl.when(pl.col("early").is_null() & pl.col("local").is_not_null())
        .then(pl.lit("nonexistent"))
        .when(pl.col("early") != pl.col("late"))
        .then(pl.lit("ambiguous")),
    )
    at, gaps = frame["at"], (frame["note"] == "nonexistent").fill_null(False)
    if gaps.any():  # rare: at most the skipped hour's minutes of a DST day
        info = ZoneInfo(zone)
        fixed = [wall.replace(tzinfo=info).astimezone(UTC) for wall in local.filter(gaps)]
        at = at.scatter(gaps.arg_true(), pl.Series(fixed, dtype=pl.Datetime("us", "UTC")))
    return at, frame["note"]


def _with_zone(context: _Context) -> pl.Expr:
    """`extra` with the zone assumed (and the DST note, if any) added to its object."""
    added = {"timezone_assumed": context.zone} | ({"times_in": "UTC"} if context.utc_times else {})
    body = pl.col("extra").str.strip_suffix("}")
    return pl.concat_str(
        body,
        pl.when(body == "{").then(pl.lit("")).otherwise(pl.lit(",")),
        pl.lit(_json(added)[1:-1]),
        pl.when(pl.col("dst_local_time").is_not_null())
        .then(pl.format(',"dst_local_time":"{}"', "dst_local_time"))
        .otherwise(pl.lit("")),
        pl.lit("}"),
    )


def _finish(
    frame: pl.DataFrame, context: _Context, table: str, *, whole_day: bool = False
) -> Iterator[Batch]:
    """The frame's usable rows as one batch of `table`; columns it lacks are NULL."""
    placed = _place(frame, context, table, whole_day=whole_day)
    if placed.is_empty():
        return
    shared = {
        "source_name": pl.lit(SOURCE_NAME),
        "source_type": pl.lit(context.source_type),
        "duration_s": pl.col("seconds"),
    }
    schema = _SCHEMAS[table]
    columns = [
        pl.col(name) if name in placed.columns else shared.get(name, pl.lit(None)).alias(name)
        for name in schema.names
    ]
    yield Batch(table, placed.select(columns).to_arrow().cast(schema))
