"""FIT (Flexible and Interoperable Data Transfer): Garmin, Wahoo, Stryd... binaries.

Spec: the FIT SDK, https://developer.garmin.com/fit/protocol/ (file structure)
and https://developer.garmin.com/fit/file-types/ (activity, monitoring, weight).
Decoded with fitdecode, streaming, without its data processor so that times stay
FIT seconds and positions semicircles.

Activity files:

- Each `session` is a `workouts` row. `start_at` is its `start_time`, `end_at`
  start plus `total_elapsed_time`, `duration_s` the `total_timer_time` (else the
  elapsed time), `distance_m` `total_distance`, `energy_kcal` `total_calories`.
  `sport` maps `sport`/`sub_sport` onto running, cycling, walking, hiking,
  swimming, skiing, rowing, paddling, strength_training, yoga, hiit, elliptical,
  stair_climbing or other (`_SUB_SPORTS` is tried first, then `_SPORTS`).
  `workout_id` is `stable_id("fit", serial or "manufacturer/product", start_time
  as ISO 8601 UTC, FIT sport name)`. `extra` holds the FIT sport and sub_sport,
  the device serial, the laps (`count` and `totals`), an `hrv` summary of the
  beat-to-beat (RR) intervals (`count`, `mean_rr_ms`), the file's `records`, the
  number of messages the profile does not know (`unknown_messages`), the
  developer data (`ids`, field names with units), the session's developer
  fields (`dev`) and its other fields (`session`).
- `source_name` is file_id's manufacturer and product ("garmin fenix5",
  "wahoo_fitness 28"); `device` the creator's product name (else the product)
  and serial.
- Each `record` with a position is a `location_points` row: semicircles to
  degrees (x * 180 / 2**31), `enhanced_altitude`/`altitude` to `altitude_m`,
  `enhanced_speed`/`speed` to `speed_mps`, `source` = source_name, and the
  workout_id of the session whose span holds its time (a session spans from its
  start to the later of start + elapsed time and its own timestamp). `extra`
  has the record's other fields by FIT name (`heart_rate` as `hr`) and its
  developer fields under `dev` by their field_description names.
- A record's `heart_rate` is a `health_samples` row (metric heart_rate,
  count/min, an instant, source_type `fit:record.heart_rate`); 0 is no reading.
  So are the beats of `hr` messages (pool swims store heart rate after the fact):
  see `HrMessages` for how their times are rebuilt. Heart-rate samples inside a
  session carry its `workout_id` in `extra`; a record without a position keeps
  its other values there too. A record with neither is only counted.

Monitoring files (daily activity): the `steps`, `active_calories` (as
active_energy, kcal) and `distance` (as distance_walking_running, or
distance_cycling/distance_swimming by activity type, m) counters are cumulative
per `activity_type` within a local day. Each report becomes the increase since
the previous report of the same counter and activity type, over the interval
from that report's time to this one; reports that did not move give no row.
The first report of a day counts from zero from local midnight (the day start is
known from monitoring_info's local offset; without it, from the monitoring_info
time). A counter that goes down was reset and counts from zero. A report stamped
exactly at midnight closes the day before (the end-of-day summaries). A
`timestamp_16` is the low 16 bits of the time, unrolled forward from the last
full or rebuilt monitoring time. For walking and running, `cycles` are steps.

Weight scale files: each `weight_scale` value is an instant sample (body_mass,
body_fat_percentage, body_water_percentage, bone_mass, muscle_mass, bmi, ... see
`_fit_messages.WEIGHT_METRICS`); multi-user scales put `user_profile_index`, and
the profile's `friendly_name` as `user_name`, in extra.

Times are UTC. `utc_offset_min` is `activity.local_timestamp - timestamp` in
minutes (else monitoring_info's), applied to every row of the file; NULL when
the file gives neither. A truncated or corrupt file raises ParseError.

Rows wait until the end of each FIT file: the session and activity messages
that give the workout and the offset come after the records. FIT files are
compact (a ten-hour ride is under a megabyte), and batches are yielded in
bounded slices.
"""

from __future__ import annotations

import io
import math
import struct
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import fitdecode
import pyarrow as pa

from selfdata.errors import ParseError
from selfdata.importers._fit_messages import (
    FIT_EPOCH_S,
    MIN_ABSOLUTE,
    HrMessages,
    Monitoring,
    Sample,
    field_label,
    field_values,
    micros,
    weight_samples,
)
from selfdata.importers.base import Batch, Source, stable_id
from selfdata.importers.columns import canonical_schema
from selfdata.importers.columns import json_text as _json

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "fit"
version = "1"
patterns = ("*.fit",)
tables = ("workouts", "location_points", "health_samples")

# Rows per batch: memory for Arrow stays flat whatever the file's size.
BATCH_ROWS = 50_000

HEALTH_SCHEMA = canonical_schema("health_samples")
LOCATION_SCHEMA = canonical_schema("location_points")
WORKOUT_SCHEMA = canonical_schema("workouts")

# FIT sub_sport → sport, tried before the sport itself (indoor variants and gym work).
_SUB_SPORTS = {
    **dict.fromkeys(("treadmill", "indoor_running"), "running"),
    **dict.fromkeys(("indoor_cycling", "spin"), "cycling"),
    **dict.fromkeys(("lap_swimming", "open_water"), "swimming"),
    **{"indoor_walking": "walking", "indoor_rowing": "rowing", "indoor_skiing": "skiing"},
    **{same: same for same in ("strength_training", "yoga", "hiit", "elliptical")},
    "stair_climbing": "stair_climbing",
}
# FIT sport → sport; anything else is "other".
_SPORTS = {
    **dict.fromkeys(("running", "wheelchair_push_run"), "running"),
    **dict.fromkeys(("cycling", "e_biking"), "cycling"),
    **dict.fromkeys(("walking", "wheelchair_push_walk"), "walking"),
    **dict.fromkeys(("hiking", "mountaineering", "snowshoeing"), "hiking"),
    **dict.fromkeys(("cross_country_skiing", "alpine_skiing", "snowboarding"), "skiing"),
    **dict.fromkeys(("paddling", "kayaking", "stand_up_paddleboarding", "rafting"), "paddling"),
    **{same: same for same in ("swimming", "rowing", "hiit")},
}
# Record fields that have canonical columns.
_RECORD_COLUMNS = frozenset(
    {"timestamp", "position_lat", "position_long", "altitude", "enhanced_altitude"}
    | {"speed", "enhanced_speed"}
)
# Session fields that are columns, or bookkeeping that says nothing about the workout.
_SESSION_USED = frozenset(
    {"timestamp", "start_time", "sport", "sub_sport", "total_elapsed_time", "total_timer_time"}
    | {"total_distance", "total_calories", "avg_heart_rate", "max_heart_rate", "event"}
    | {"event_type", "message_index", "trigger", "first_lap_index", "num_laps"}
)
# What fitdecode itself raises on some corrupt layouts (a zero-size field, an unknown type).
_DECODER_TRIPS = (ArithmeticError, LookupError, ValueError, TypeError, AssertionError, struct.error)
_SEMICIRCLE = 180 / 2**31
_MAX_OFFSET_MIN = 14 * 60  # the widest real UTC offsets are -12:00 and +14:00
_UTC = pa.timestamp("us", tz="UTC")


def detect(head: bytes, filename: str) -> bool:
    """True for a FIT header: its size (12 or 14) in byte 0 and ".FIT" at bytes 8..12.

    Example:
        >>> detect(bytes([14, 0x10]) + bytes(6) + b".FIT" + bytes(2), "ride.bin")
        True
    """
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"


def read(source: Source) -> Iterator[Batch]:
    """Decode a FIT file (or a chain of them) into workouts, points and health samples.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/fit/weight_scale_two_users.fit")))
        >>> sorted({batch.table for batch in batches})
        ['health_samples']
    """
    fit: _FitFile | None = None
    chained = False
    for frame in _frames(source):
        if isinstance(frame, fitdecode.FitHeader):
            chained = fit is not None
        elif isinstance(frame, fitdecode.FitDataMessage):
            # A chained file with a file_id of its own is another recording; one
            # without continues the one before (watches append `hr` data so).
            if fit is None or (chained and frame.name == "file_id"):
                if fit is not None:
                    yield from fit.batches()
                fit = _FitFile(source)
            chained = False
            fit.add(frame)
    if fit is not None:
        yield from fit.batches()


def _frames(source: Source) -> Iterator[Any]:
    """fitdecode's frames, its failures turned into ParseError naming the file."""
    try:
        # Buffered, because fitdecode reads a few bytes at a time. Both kinds of stream
        # source.open() gives (a file, or a RawIOBase for zip members) have readinto.
        with io.BufferedReader(cast(io.RawIOBase, source.open())) as stream:
            yield from fitdecode.FitReader(
                stream,
                processor=None,
                check_crc=fitdecode.CrcCheck.RAISE,
                error_handling=fitdecode.ErrorHandling.IGNORE,
            )
    except fitdecode.FitError as error:
        raise ParseError(source.display_name, _broken(error)) from error
    except _DECODER_TRIPS as error:
        # Only fitdecode runs inside this try: our own errors are not masked.
        problem = f"the FIT file is malformed ({type(error).__name__}: {error})"
        raise ParseError(source.display_name, problem) from error


class _Point(NamedTuple):
    time_us: int
    time: int  # FIT seconds, to find the session
    lat: float
    lon: float
    altitude: float | None
    speed: float | None
    extra: dict[str, object]


@dataclass
class _Session:
    start: int  # FIT seconds
    span_end: int  # records up to here belong to it
    values: dict[str, Any]
    dev: dict[str, Any]
    laps: list[dict[str, object]] = field(default_factory=list)
    rr_s: list[float] = field(default_factory=list)
    workout_id: str | None = None


class _FitFile:
    """One FIT file of the stream: its messages, collected until its rows can be built."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.file_id: dict[str, Any] = {}
        self.creator: str | None = None
        self.sessions: list[_Session] = []
        self.starts: list[int] = []  # the sessions' starts, sorted, once all are read
        self.laps: list[tuple[int, dict[str, object]]] = []
        self.rr: list[tuple[int, float]] = []
        self.points: list[_Point] = []
        self.samples: list[tuple[int, Sample]] = []  # (FIT seconds, sample)
        self.records = 0
        self.unknown = 0
        self.dev_ids = 0
        self.dev_fields: dict[str, str | None] = {}
        self.users: dict[int, str] = {}  # user_profile message_index → friendly_name
        self.offset_min: int | None = None
        self.last_time: int | None = None  # for messages without a time of their own (hrv)
        self.monitoring = Monitoring()
        self.hr = HrMessages()

    def add(self, message: Any) -> None:
        """File one decoded message."""
        kind = message.name
        if kind.startswith("unknown_"):
            self.unknown += 1  # manufacturer-specific or newer than the profile: no meaning
            return
        values, dev = field_values(message)
        if isinstance(t := values.get("timestamp"), int) and t >= MIN_ABSOLUTE:
            self.last_time = t
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(message, values, dev)

    # message handlers

    def _on_file_id(self, _message: Any, values: dict[str, Any], _dev: dict[str, Any]) -> None:
        self.file_id = values

    def _on_device_info(self, _msg: Any, values: dict[str, Any], _dev: dict[str, Any]) -> None:
        if values.get("device_index") in ("creator", 0):
            label = values.get("descriptor") or values.get("product_name")
            self.creator = str(label) if label else self.creator

    def _on_developer_data_id(self, *_: Any) -> None:
        self.dev_ids += 1

    def _on_field_description(self, _msg: Any, values: dict[str, Any], _: Any) -> None:
        if (label := values.get("field_name")) is not None:
            self.dev_fields[field_label(label)] = values.get("units")

    def _on_activity(self, _message: Any, values: dict[str, Any], _dev: dict[str, Any]) -> None:
        offset = _offset(values)
        if offset is not None:
            self.offset_min = offset

    def _on_monitoring_info(self, _msg: Any, values: dict[str, Any], _dev: Any) -> None:
        time = values.get("timestamp")
        offset = _offset(values)
        self.monitoring.info(time if isinstance(time, int) else None, offset)
        if self.offset_min is None:
            self.offset_min = offset

    def _on_session(self, _message: Any, values: dict[str, Any], dev: dict[str, Any]) -> None:
        start = values.get("start_time")
        if not isinstance(start, int) or start < MIN_ABSOLUTE:
            self.source.reject("workouts", "session without a start_time")
            return
        elapsed = _number(values.get("total_elapsed_time")) or 0.0
        end = start + elapsed
        stamp = values.get("timestamp")
        span_end = max(end, stamp) if isinstance(stamp, int) else end
        self.sessions.append(_Session(start, math.ceil(span_end), values, dev))

    def _on_lap(self, _message: Any, values: dict[str, Any], dev: dict[str, Any]) -> None:
        start = values.get("start_time")
        if isinstance(start, int) and start >= MIN_ABSOLUTE:
            self.laps.append((start, _lap(start, values, dev)))

    def _on_hrv(self, _message: Any, values: dict[str, Any], _dev: dict[str, Any]) -> None:
        times = values.get("time")
        for rr in times if isinstance(times, tuple) else (times,):
            if isinstance(rr, float) and self.last_time is not None:
                self.rr.append((self.last_time, rr))

    def _on_record(self, _message: Any, values: dict[str, Any], dev: dict[str, Any]) -> None:
        self.records += 1
        time = values.get("timestamp")
        hr = values.get("heart_rate")
        lat, lon = values.get("position_lat"), values.get("position_long")
        if not isinstance(time, int) or time < MIN_ABSOLUTE:
            if lat is not None or hr is not None:
                self.source.reject("location_points", "record without an absolute timestamp")
            return
        extra = {("hr" if key == "heart_rate" else key): value for key, value in values.items()}
        extra = {key: value for key, value in extra.items() if key not in _RECORD_COLUMNS}
        if dev:
            extra["dev"] = dev
        has_point = self._point(time, lat, lon, values, extra)
        # Chest straps that lose contact write 0: no reading, not a heart rate.
        if isinstance(hr, int) and hr > 0:
            at = micros(time)
            detail = {} if has_point else extra  # a record without a place keeps its values here
            sample = Sample("heart_rate", at, at, float(hr), "count/min",
                            "fit:record.heart_rate", detail, in_workout=True)  # fmt: skip
            self.samples.append((time, sample))

    def _point(
        self, time: int, lat: Any, lon: Any, values: dict[str, Any], extra: dict[str, object]
    ) -> bool:
        if not isinstance(lat, int) or not isinstance(lon, int):
            return False
        lat_deg, lon_deg = lat * _SEMICIRCLE, lon * _SEMICIRCLE
        if abs(lat_deg) > 90 or abs(lon_deg) > 180:
            self.source.reject("location_points", f"position out of range: {lat}, {lon}")
            return False
        altitude = _first_number(values, "enhanced_altitude", "altitude")
        speed = _first_number(values, "enhanced_speed", "speed")
        self.points.append(_Point(micros(time), time, lat_deg, lon_deg, altitude, speed, extra))
        return True

    def _on_hr(self, message: Any, values: dict[str, Any], _dev: dict[str, Any]) -> None:
        beats = self.hr.beats(message, values)
        if beats is None:
            self.source.reject("health_samples", "hr message before any hr timestamp")
            return
        for time, bpm in beats:
            at = micros(time)
            sample = Sample("heart_rate", at, at, float(bpm), "count/min",
                            "fit:hr.filtered_bpm", {}, in_workout=True)  # fmt: skip
            self.samples.append((math.floor(time), sample))

    def _on_monitoring(self, message: Any, values: dict[str, Any], _dev: Any) -> None:
        rows = self.monitoring.samples(message, values)
        if rows is None:
            self.source.reject("health_samples", "monitoring message before any full timestamp")
            return
        self.samples.extend((0, row) for row in rows)  # the time only places workout HR

    def _on_user_profile(self, _msg: Any, values: dict[str, Any], _dev: Any) -> None:
        # Multi-user scales: weight_scale.user_profile_index refers to message_index.
        if (user := values.get("friendly_name")) is not None:
            self.users[values.get("message_index", 0)] = str(user)

    def _on_weight_scale(self, _msg: Any, values: dict[str, Any], _dev: Any) -> None:
        time = values.get("timestamp")
        if not isinstance(time, int) or time < MIN_ABSOLUTE:
            self.source.reject("health_samples", "weight_scale without an absolute timestamp")
            return
        user = self.users.get(values.get("user_profile_index", 0))
        self.samples.extend((time, row) for row in weight_samples(time, values, user))

    # building rows

    @property
    def source_name(self) -> str:
        """Manufacturer and product from file_id, e.g. "garmin fenix5"."""
        words = [self.file_id.get("manufacturer"), _product(self.file_id)]
        return " ".join(str(w) for w in words if w is not None) or "fit"

    @property
    def device(self) -> str | None:
        product = self.creator or _product(self.file_id) or self.file_id.get("manufacturer")
        serial = self.file_id.get("serial_number")
        words = [product, None if serial is None else f"serial {serial}"]
        return " ".join(str(w) for w in words if w is not None) or None

    def batches(self) -> Iterator[Batch]:
        """Every row of this FIT file, in bounded batches."""
        self._assign()
        if self.sessions:
            yield Batch("workouts", self._workouts())
        for chunk in _chunks(self.points):
            yield Batch("location_points", self._location_table(chunk))
        for chunk in _chunks(self.samples):
            yield Batch("health_samples", self._health_table(chunk))

    def _assign(self) -> None:
        """Give each session its id, laps and RR intervals (by time)."""
        self.sessions.sort(key=lambda s: s.start)
        self.starts = [session.start for session in self.sessions]
        origin = self.file_id.get("serial_number") or (
            f"{self.file_id.get('manufacturer')}/{_product(self.file_id)}"
        )
        for session in self.sessions:
            start = _iso(session.start)
            session.workout_id = stable_id("fit", origin, start, session.values.get("sport"))
        for time, lap in self.laps:
            if (owner := self._session_at(time)) is not None:
                owner.laps.append(lap)
        for time, rr in self.rr:
            if (owner := self._session_at(time)) is not None:
                owner.rr_s.append(rr)

    def _session_at(self, time: int) -> _Session | None:
        index = bisect_right(self.starts, time) - 1
        if index >= 0 and time <= self.sessions[index].span_end:
            return self.sessions[index]
        return None

    def _workout_id_at(self, time: int) -> str | None:
        return session.workout_id if (session := self._session_at(time)) else None

    def _workouts(self) -> pa.Table:
        rows = [self._workout_row(session) for session in self.sessions]
        return pa.Table.from_pylist(rows, schema=WORKOUT_SCHEMA)

    def _workout_row(self, session: _Session) -> dict[str, object]:
        values = session.values
        sport, sub_sport = values.get("sport"), values.get("sub_sport")
        elapsed = _number(values.get("total_elapsed_time"))
        return {
            "workout_id": session.workout_id,
            "sport": _sport(sport, sub_sport),
            "start_at": _instant(session.start),
            "end_at": _instant(session.start + (elapsed or 0.0)),
            "utc_offset_min": self.offset_min,
            "duration_s": _first_number(values, "total_timer_time", "total_elapsed_time"),
            "distance_m": _number(values.get("total_distance")),
            "energy_kcal": _number(values.get("total_calories")),
            "avg_heart_rate": _number(values.get("avg_heart_rate")),
            "max_heart_rate": _number(values.get("max_heart_rate")),
            "source_name": self.source_name,
            "device": self.device,
            "extra": _json(self._workout_extra(session)),
        }

    def _workout_extra(self, session: _Session) -> dict[str, object]:
        values = session.values
        extra: dict[str, object] = {
            "fit_sport": values.get("sport"),
            "sub_sport": values.get("sub_sport"),
            "serial": self.file_id.get("serial_number"),
            "laps": {"count": len(session.laps), "totals": session.laps},
            "records": self.records,
            "unknown_messages": self.unknown,
        }
        if session.rr_s:
            mean_ms = 1000 * sum(session.rr_s) / len(session.rr_s)
            extra["hrv"] = {"count": len(session.rr_s), "mean_rr_ms": round(mean_ms, 1)}
        if self.dev_ids or self.dev_fields:
            extra["developer"] = {"ids": self.dev_ids, "fields": self.dev_fields}
        if session.dev:
            extra["dev"] = session.dev
        extra["session"] = {k: v for k, v in values.items() if k not in _SESSION_USED} or None
        return {key: value for key, value in extra.items() if value is not None}

    def _location_table(self, points: Sequence[_Point]) -> pa.Table:
        columns: dict[str, tuple[Any, ...]] = dict(
            zip(_Point._fields, zip(*points, strict=True), strict=True)
        )
        count = len(points)
        return pa.Table.from_arrays(
            [
                pa.array(columns["time_us"], pa.int64()).cast(_UTC),
                pa.array([self.offset_min] * count, pa.int16()),
                pa.array(columns["lat"], pa.float64()),
                pa.array(columns["lon"], pa.float64()),
                pa.nulls(count, pa.float64()),
                pa.array(columns["altitude"], pa.float64()),
                pa.array(columns["speed"], pa.float64()),
                pa.array([self.source_name] * count, pa.string()),
                pa.array([self._workout_id_at(t) for t in columns["time"]], pa.string()),
                pa.array([_json(extra) for extra in columns["extra"]], pa.string()),
            ],
            schema=LOCATION_SCHEMA,
        )

    def _health_table(self, rows: Sequence[tuple[int, Sample]]) -> pa.Table:
        samples = [sample for _, sample in rows]
        columns: dict[str, tuple[Any, ...]] = dict(
            zip(Sample._fields, zip(*samples, strict=True), strict=True)
        )
        extras = [self._sample_extra(sample, time) for time, sample in rows]
        count = len(rows)
        return pa.Table.from_arrays(
            [
                pa.array(columns["metric"], pa.string()),
                pa.array(columns["start_us"], pa.int64()).cast(_UTC),
                pa.array(columns["end_us"], pa.int64()).cast(_UTC),
                pa.array([self.offset_min] * count, pa.int16()),
                pa.array(columns["value"], pa.float64()),
                pa.array(columns["unit"], pa.string()),
                pa.array([self.source_name] * count, pa.string()),
                pa.array([self.device] * count, pa.string()),
                pa.array(columns["source_type"], pa.string()),
                pa.array(extras, pa.string()),
            ],
            schema=HEALTH_SCHEMA,
        )

    def _sample_extra(self, sample: Sample, time: int) -> str:
        extra = sample.extra
        if sample.in_workout and (workout_id := self._workout_id_at(time)) is not None:
            extra = {**extra, "workout_id": workout_id}
        return _json(extra)


def _lap(start: int, values: dict[str, Any], dev: dict[str, Any]) -> dict[str, object]:
    """A lap's totals, keyed like the TCX importer's laps."""
    lap = {
        "start_at": _iso(start),
        "duration_s": _first_number(values, "total_timer_time", "total_elapsed_time"),
        "distance_m": _number(values.get("total_distance")),
        "energy_kcal": _number(values.get("total_calories")),
        "avg_hr": _number(values.get("avg_heart_rate")),
        "max_hr": _number(values.get("max_heart_rate")),
        "dev": dev or None,
    }
    return {key: value for key, value in lap.items() if value is not None}


def _sport(sport: Any, sub_sport: Any) -> str:
    """Our sport for FIT's sport and sub_sport names (numbers when the profile lacks them)."""
    return _SUB_SPORTS.get(str(sub_sport)) or _SPORTS.get(str(sport), "other")


def _product(file_id: dict[str, Any]) -> object:
    # fitdecode names the product through a subfield (garmin_product, favero_product).
    for key in ("garmin_product", "favero_product", "product_name", "product"):
        if file_id.get(key) is not None:
            return file_id[key]
    return None


def _offset(values: dict[str, Any]) -> int | None:
    """Minutes from UTC to the local time the device wrote beside `timestamp`."""
    utc, local = values.get("timestamp"), values.get("local_timestamp")
    if not isinstance(utc, int) or not isinstance(local, int) or utc < MIN_ABSOLUTE:
        return None
    minutes = round((local - utc) / 60)
    return minutes if abs(minutes) <= _MAX_OFFSET_MIN else None


def _number(value: Any) -> float | None:
    if isinstance(value, tuple):
        value = value[0]  # some devices write enhanced_speed as a one-item array
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _first_number(values: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        if (number := _number(values.get(key))) is not None:
            return number
    return None


def _instant(fit_seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=fit_seconds + FIT_EPOCH_S)


def _iso(fit_seconds: int) -> str:
    return _instant(fit_seconds).isoformat()


def _chunks(rows: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start : start + BATCH_ROWS]


def _broken(error: Exception) -> str:
    """Why fitdecode gave up, in words that suggest what happened to the file."""
    if isinstance(error, fitdecode.FitEOFError):
        end = error.offset + error.got
        return f"the FIT file ends early at byte {end} (truncated or still being copied?)"
    if isinstance(error, fitdecode.FitCRCError):
        return f"the FIT file's checksum does not match its bytes (damaged?): {error}"
    if isinstance(error, fitdecode.FitHeaderError):
        return f"not a readable FIT file: {error}"
    return f"the FIT file is malformed: {error}"
