"""Message-level helpers for the FIT importer: field values, monitoring counters,
`hr` beat times and weight-scale readings.

Private to `selfdata.importers.fit`, whose docstring states the rules these
functions follow. Times here are FIT seconds (since 1989-12-31T00:00:00Z, as the
file stores them) until `micros` turns them into Unix microseconds.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = [
    "FIT_EPOCH_S",
    "MIN_ABSOLUTE",
    "WEIGHT_METRICS",
    "HrMessages",
    "Monitoring",
    "Sample",
    "field_label",
    "field_values",
    "micros",
    "weight_samples",
]

FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z in Unix seconds
# FIT date_time values below this are seconds since the device powered on, not dates.
MIN_ABSOLUTE = 0x10000000
_DAY_S = 86_400
# The hr message's event timestamps count 1/1024 s.
_TICKS_PER_S = 1024

# weight_scale field → (metric, canonical unit)
WEIGHT_METRICS: dict[str, tuple[str, str]] = {
    "weight": ("body_mass", "kg"),
    "percent_fat": ("body_fat_percentage", "%"),
    "percent_hydration": ("body_water_percentage", "%"),
    "bone_mass": ("bone_mass", "kg"),
    "muscle_mass": ("muscle_mass", "kg"),
    "visceral_fat_mass": ("visceral_fat_mass", "kg"),
    "visceral_fat_rating": ("visceral_fat_rating", "count"),
    "physique_rating": ("physique_rating", "count"),
    "metabolic_age": ("metabolic_age", "yr"),
    "basal_met": ("basal_metabolic_rate", "kcal/d"),
    "active_met": ("active_metabolic_rate", "kcal/d"),
    "bmi": ("bmi", "count"),
}
# monitoring activity_type → the distance metric its counter feeds
_DISTANCE_METRICS = {"cycling": "distance_cycling", "swimming": "distance_swimming"}
# The activity types whose `cycles` are steps (the FIT profile's `steps` subfield).
_STEPPING = frozenset({"walking", "running"})


class Sample(NamedTuple):
    """One health_samples row before the file's source, device and offset are known."""

    metric: str
    start_us: int
    end_us: int
    value: float
    unit: str
    source_type: str
    extra: dict[str, object]
    # Heart rate recorded during an activity: its extra gets the workout_id.
    in_workout: bool = False


def field_values(message: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A message's fields by name, as JSON-ready values: (profile fields, developer fields).

    Fields without a value (FIT's invalid markers) and fields the profile does not
    name (`unknown_N`) are left out.
    """
    values: dict[str, Any] = {}
    dev: dict[str, Any] = {}
    for item in message.fields:
        value = _plain(item.value)
        if value is None:
            continue
        if item.field_def is not None and item.field_def.is_dev:
            dev[field_label(item.name)] = value
        elif not item.name.startswith("unknown_"):
            values[item.name] = value
    return values, dev


def field_label(name: Any) -> str:
    """A developer field's name as text: damaged files can make it an array of strings."""
    if isinstance(name, tuple | list):
        return "".join(str(part) for part in name if part is not None)
    return str(name)


def micros(fit_seconds: float) -> int:
    """Unix microseconds of a FIT time.

    Example:
        >>> micros(0)  # the FIT epoch, 1989-12-31T00:00:00Z
        631065600000000
    """
    return round((fit_seconds + FIT_EPOCH_S) * 1_000_000)


def weight_samples(time: int, values: dict[str, Any], user: str | None = None) -> list[Sample]:
    """One sample per body measurement of a `weight_scale` message.

    `user` is the friendly name of the user profile the reading belongs to.

    Example:
        >>> [s.metric for s in weight_samples(MIN_ABSOLUTE, {"weight": 75.8, "bmi": 23.1})]
        ['body_mass', 'bmi']
    """
    extra: dict[str, object] = {}
    if isinstance(index := values.get("user_profile_index"), int):
        extra["user_profile_index"] = index
    if user is not None:
        extra["user_name"] = user
    at = micros(time)
    return [
        Sample(metric, at, at, float(value), unit, f"fit:weight_scale.{key}", extra)
        for key, (metric, unit) in WEIGHT_METRICS.items()
        # Scales write "calculating" (0xFFFE) while they settle: no reading.
        if isinstance(value := values.get(key), int | float) and not isinstance(value, bool)
    ]


class Monitoring:
    """Turns the cumulative counters of `monitoring` messages into per-interval deltas."""

    def __init__(self) -> None:
        self.offset_min: int | None = None
        self.info_time: int | None = None
        # The reference that a timestamp_16 completes: the last full or rebuilt time.
        self.last_time: int | None = None
        # (activity type, counter) → (last cumulative value, when it was reported)
        self.counters: dict[tuple[str, str], tuple[float, int]] = {}

    def info(self, time: int | None, offset_min: int | None) -> None:
        """A monitoring_info message: the day's start and the local offset."""
        if time is not None:
            self.info_time = self.last_time = time
        if offset_min is not None:
            self.offset_min = offset_min

    def samples(self, message: Any, values: dict[str, Any]) -> list[Sample] | None:
        """The rows of one monitoring message; None when it has values but no usable time."""
        time = self._time(values)
        activity = str(values.get("activity_type", "generic"))
        counters = _counters(message, values, activity)
        heart_rate = values.get("heart_rate")
        if time is None:
            return None if counters or heart_rate else []
        rows = [row for c in counters if (row := self._delta(activity, *c, time)) is not None]
        if isinstance(heart_rate, int) and heart_rate > 0:
            at = micros(time)
            rows.append(
                Sample("heart_rate", at, at, float(heart_rate), "count/min",
                       "fit:monitoring.heart_rate", {})
            )  # fmt: skip
        return rows

    def _time(self, values: dict[str, Any]) -> int | None:
        full = values.get("timestamp")
        if isinstance(full, int) and full >= MIN_ABSOLUTE:
            self.last_time = full
            return full
        short = values.get("timestamp_16")
        if not isinstance(short, int) or self.last_time is None:
            return None
        # The low 16 bits of the time: unroll forward from the reference (wraps every 18 h).
        self.last_time += (short - self.last_time) & 0xFFFF
        return self.last_time

    def _delta(
        self, activity: str, field: str, metric: str, unit: str, value: float, time: int
    ) -> Sample | None:
        key = (activity, field)
        previous = self.counters.get(key)
        self.counters[key] = (value, time)
        day_start = self._day_start(time)
        if previous is None:
            start, increase = self._first_start(day_start, time), value
        elif day_start is not None and previous[1] < day_start:
            start, increase = day_start, value  # a new local day: the counter restarted at 0
        elif value < previous[0]:
            start, increase = previous[1], value  # reset without a day change we could see
        else:
            start, increase = previous[1], value - previous[0]
        increase = round(increase, 6)  # scaled values (cm, half cycles) subtract with noise
        if not increase:
            return None
        extra: dict[str, object] = {"activity_type": activity, "cumulative": value}
        source_type = f"fit:monitoring.{field}"
        return Sample(metric, micros(start), micros(time), increase, unit, source_type, extra)

    def _day_start(self, time: int) -> int | None:
        """The local midnight that began the day `time` closes, or None without an offset.

        A time exactly at midnight belongs to the day before: devices stamp their
        end-of-day summaries at the midnight that ends the day.
        """
        if self.offset_min is None:
            return None
        shift = self.offset_min * 60
        return (time + shift - 1) // _DAY_S * _DAY_S - shift

    def _first_start(self, day_start: int | None, time: int) -> int:
        if day_start is not None:
            return day_start
        if self.info_time is not None and self.info_time <= time:
            return self.info_time
        return time


def _counters(
    message: Any, values: dict[str, Any], activity: str
) -> list[tuple[str, str, str, float]]:
    """(field, metric, unit, cumulative value) of each counter in a monitoring message."""
    found: list[tuple[str, str, str, float]] = []
    steps = values.get("steps")
    if steps is None and activity in _STEPPING and "cycles" in values:
        # fitdecode resolves the `steps` subfield only when activity_type is a field of
        # its own, not when it comes from current_activity_type_intensity; for walking
        # and running, cycles are steps, unscaled.
        steps = message.get_field("cycles").raw_value
    if isinstance(steps, int | float):
        found.append(("steps", "steps", "count", float(steps)))
    if isinstance(kcal := values.get("active_calories"), int | float):
        found.append(("active_calories", "active_energy", "kcal", float(kcal)))
    if isinstance(metres := values.get("distance"), int | float):
        metric = _DISTANCE_METRICS.get(activity, "distance_walking_running")
        found.append(("distance", metric, "m", float(metres)))
    return found


class HrMessages:
    """Rebuilds the beat times of `hr` messages, as the FIT SDK's HR-to-record plugin does.

    The message that carries a `timestamp` is the anchor: its time (plus
    `fractional_timestamp`) is the instant of its first `event_timestamp`. Later
    messages pack each `event_timestamp` as its low 12 bits (`event_timestamp_12`,
    in 1/1024 s); each is unrolled forward from the previous one, and a beat's
    time is the anchor's time plus its distance from the anchor's event timestamp.
    """

    def __init__(self) -> None:
        self.anchor: tuple[float, int] | None = None  # (FIT seconds, event ticks)
        self.last_tick: int | None = None

    def beats(self, message: Any, values: dict[str, Any]) -> list[tuple[float, int]] | None:
        """(FIT seconds, bpm) of each beat; None when there is no anchor to place them."""
        time = values.get("timestamp")
        ticks = _direct_ticks(message)
        if isinstance(time, int) and time >= MIN_ABSOLUTE and ticks:
            fraction = values.get("fractional_timestamp")
            fraction = fraction if isinstance(fraction, float) else 0.0
            self.anchor, self.last_tick = (time + fraction, ticks[0]), None
        elif not ticks:
            ticks = self._unrolled(message)
        if self.anchor is None or not ticks:
            return None
        bpm = values.get("filtered_bpm")
        bpms = bpm if isinstance(bpm, tuple) else (bpm,)
        anchor_time, anchor_tick = self.anchor
        beats: list[tuple[float, int]] = []
        for tick, rate in zip(ticks, bpms, strict=False):
            # A tick that did not move is padding after the last beat of the recording.
            if tick != self.last_tick and isinstance(rate, int) and rate > 0:
                beats.append((anchor_time + (tick - anchor_tick) / _TICKS_PER_S, rate))
            self.last_tick = tick
        return beats

    def _unrolled(self, message: Any) -> list[int]:
        if self.anchor is None or not message.has_field("event_timestamp_12"):
            return []
        packed = message.get_field("event_timestamp_12").raw_value
        packed = packed if isinstance(packed, tuple) else (packed,)
        if not all(isinstance(byte, int) and 0 <= byte < 256 for byte in packed):
            return []  # a damaged definition gave the field another base type
        data = bytes(packed)
        bits = int.from_bytes(data, "little")
        last = self.anchor[1] if self.last_tick is None else self.last_tick
        ticks: list[int] = []
        for index in range(len(data) * 8 // 12):
            low = (bits >> (12 * index)) & 0xFFF
            last += (low - last) & 0xFFF
            ticks.append(last)
        return ticks


def _direct_ticks(message: Any) -> list[int]:
    """The event timestamps written in full (not expanded from event_timestamp_12)."""
    for field in message.fields:
        if field.name == "event_timestamp" and field.field_def is not None:
            raw = field.raw_value
            raws = raw if isinstance(raw, tuple) else (raw,)
            return [value for value in raws if isinstance(value, int)]
    return []


def _plain(value: Any) -> Any:
    """A decoded value as JSON holds it: NaN and all-invalid arrays become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, tuple | list):
        items = tuple(_plain(item) for item in value)
        return items if any(item is not None for item in items) else None
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, int | str):
        return value
    return str(value)
