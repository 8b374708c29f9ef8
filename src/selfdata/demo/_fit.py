"""The Garmin Edge's rides as FIT activity files.

Spec: the FIT SDK, https://developer.garmin.com/fit/protocol/ (file
structure: a 14-byte header with its CRC, definition and data messages, a
CRC-16 of everything) and https://developer.garmin.com/fit/file-types/activity/
(the messages of an activity file). Each ride is

    fit/<yyyy-mm-dd>-<hhmm>-ride.fit
        file_id (activity, Garmin, Edge 530 = product 3121, a serial number),
        device_info of the creator, a timer start event, a record every 5 s
        (position in semicircles, enhanced_altitude, heart_rate, cadence,
        cumulative distance, enhanced_speed), a timer stop event, one lap, the
        session (cycling / road: start, elapsed and timer time, distance,
        calories, average and maximum heart rate) and the activity with its
        `local_timestamp` (the local offset: +01:00 in summer, +00:00 in winter)

written in the order the Edge writes them. Only what the demo needs of the
profile is here: the message and field numbers and base types below.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from selfdata.demo._life import Workout
from selfdata.demo._tracks import haversine_m

__all__ = ["fit_path", "write_ride"]

GARMIN, EDGE_530, SERIAL = 1, 3121, 3_391_804_417
_FILE_ID, _DEVICE_INFO, _EVENT, _RECORD, _LAP, _SESSION, _ACTIVITY = 0, 23, 21, 20, 19, 18, 34
_CYCLING, _ROAD = 2, 7
# base type -> (type byte, struct code)
_BASE = {
    "enum": (0x00, "B"),
    "uint8": (0x02, "B"),
    "uint16": (0x84, "H"),
    "sint32": (0x85, "i"),
    "uint32": (0x86, "I"),
    "uint32z": (0x8C, "I"),
}
_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_CRC_TABLE = (
    *(0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401),
    *(0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400),
)

Field = tuple[int, str, int]  # (field number, base type, raw value)


def fit_path(folder: Path, workout: Workout) -> Path:
    """`<yyyy-mm-dd>-<hhmm>-ride.fit`, the local start, as Garmin Connect names downloads."""
    return folder / f"{workout.start:%Y-%m-%d-%H%M}-ride.fit"


def write_ride(folder: Path, workout: Workout) -> Path:
    """Write one ride as a FIT activity file; returns its path."""
    path = fit_path(folder, workout)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_activity(workout))
    return path


def fit_time(at: datetime) -> int:
    """FIT seconds: since 1989-12-31T00:00:00Z."""
    return int((at.astimezone(UTC) - _EPOCH).total_seconds())


def semicircles(degrees: float) -> int:
    return round(degrees * 2**31 / 180)


@dataclass
class _Writer:
    """Messages with their definitions, as a FIT file body."""

    body: bytearray
    layouts: dict[int, tuple[int, tuple[tuple[int, str], ...]]]

    def message(self, number: int, fields: Sequence[Field], local: int = 0) -> None:
        layout = (number, tuple((f, kind) for f, kind, _ in fields))
        if self.layouts.get(local) != layout:
            self.body += struct.pack("<BBBHB", 0x40 | local, 0, 0, number, len(fields))
            for field, kind, _ in fields:
                self.body += struct.pack(
                    "<BBB", field, struct.calcsize(_BASE[kind][1]), _BASE[kind][0]
                )
            self.layouts[local] = layout
        self.body.append(local)
        for _, kind, value in fields:
            self.body += struct.pack("<" + _BASE[kind][1], value)

    def file(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self.body), b".FIT")
        header += struct.pack("<H", _crc(header))
        data = header + bytes(self.body)
        return data + struct.pack("<H", _crc(data))


def _activity(workout: Workout) -> bytes:
    points = workout.points
    start, end = fit_time(points[0].at), fit_time(points[-1].at)
    offset = points[0].at.utcoffset()
    local_offset = int(offset.total_seconds()) if offset is not None else 0
    fit = _Writer(bytearray(), {})
    fit.message(
        _FILE_ID,
        [(0, "enum", 4), (1, "uint16", GARMIN), (2, "uint16", EDGE_530),
         (3, "uint32z", SERIAL), (4, "uint32", start)],
    )  # fmt: skip
    fit.message(
        _DEVICE_INFO,
        [(253, "uint32", start), (0, "uint8", 0), (2, "uint16", GARMIN),
         (4, "uint16", EDGE_530), (3, "uint32z", SERIAL), (5, "uint16", 975)],
    )  # fmt: skip
    fit.message(_EVENT, [(253, "uint32", start), (0, "enum", 0), (1, "enum", 0)], local=2)
    distance = 0.0
    for i, point in enumerate(points):
        if i:
            before = points[i - 1]
            distance += haversine_m(before.lat, before.lon, point.lat, point.lon)
        speed = _speed(points, i)
        fit.message(
            _RECORD,
            [
                (253, "uint32", fit_time(point.at)),
                (0, "sint32", semicircles(point.lat)),
                (1, "sint32", semicircles(point.lon)),
                (78, "uint32", round((point.ele_m + 500) * 5)),
                (3, "uint8", point.hr_bpm or 0),
                (4, "uint8", point.cadence or 0),
                (5, "uint32", round(distance * 100)),
                (73, "uint32", round(speed * 1000)),
            ],
            local=1,
        )
    fit.message(_EVENT, [(253, "uint32", end), (0, "enum", 0), (1, "enum", 4)], local=2)
    totals = _totals(workout, start, end, distance)
    fit.message(
        _LAP,
        [(253, "uint32", end), (2, "uint32", start), *totals[:4], (25, "enum", _CYCLING)],
        local=3,
    )
    fit.message(
        _SESSION,
        [(253, "uint32", end), (2, "uint32", start), (5, "enum", _CYCLING),
         (6, "enum", _ROAD), *totals],
        local=4,
    )  # fmt: skip
    fit.message(
        _ACTIVITY,
        [(253, "uint32", end), (0, "uint32", (end - start) * 1000), (1, "uint16", 1),
         (2, "enum", 0), (3, "enum", 26), (4, "enum", 1), (5, "uint32", end + local_offset)],
        local=5,
    )  # fmt: skip
    return fit.file()


def _totals(workout: Workout, start: int, end: int, distance: float) -> list[Field]:
    rates = [p.hr_bpm for p in workout.points if p.hr_bpm]
    elapsed = (end - start) * 1000
    return [
        (7, "uint32", elapsed),
        (8, "uint32", elapsed),
        (9, "uint32", round(distance * 100)),
        (11, "uint16", round((end - start) / 60 * ride_kcal_per_minute())),
        (16, "uint8", round(sum(rates) / len(rates))),
        (17, "uint8", max(rates)),
    ]


def ride_kcal_per_minute() -> float:
    """What the Edge estimates a steady ride burns, per minute."""
    return 9.5


def _speed(points: Sequence[Any], i: int) -> float:
    before, after = points[max(i - 1, 0)], points[min(i + 1, len(points) - 1)]
    seconds = (after.at - before.at).total_seconds()
    return haversine_m(before.lat, before.lon, after.lat, after.lon) / seconds if seconds else 0.0


def _crc(data: bytes) -> int:
    """The FIT CRC-16, four bits at a time as the SDK computes it."""
    crc = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _CRC_TABLE[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[nibble]
    return crc
