"""A minimal FIT encoder, so tests can write the small FIT files they need.

Protocol: https://developer.garmin.com/fit/protocol/ . A FIT file is a header
(12 or 14 bytes), records, and a CRC-16 of everything before it. A definition
record gives a local message number the layout of one global message (field
numbers, sizes, base types, and developer fields); data records then carry
values in that layout. Values here are raw: already scaled and offset, as the
profile stores them (a speed of 2.5 m/s with scale 1000 is written 2500).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# base type name → (base type byte, struct code; None for strings)
BASE_TYPES: dict[str, tuple[int, str | None]] = {
    "enum": (0x00, "B"),
    "sint8": (0x01, "b"),
    "uint8": (0x02, "B"),
    "sint16": (0x83, "h"),
    "uint16": (0x84, "H"),
    "sint32": (0x85, "i"),
    "uint32": (0x86, "I"),
    "string": (0x07, None),
    "float32": (0x88, "f"),
    "uint8z": (0x0A, "B"),
    "uint16z": (0x8B, "H"),
    "uint32z": (0x8C, "I"),
    "byte": (0x0D, "B"),
}
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_CRC_TABLE = (
    *(0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401),
    *(0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400),
)

# (field number, base type name, raw value); a list or bytes value is an array.
Field = tuple[int, str, Any]
# (field number, developer data index, base type name, raw value)
DevField = tuple[int, int, str, Any]


def fit_time(text: str) -> int:
    """FIT seconds (since 1989-12-31T00:00:00Z) of an ISO 8601 UTC instant."""
    return int((datetime.fromisoformat(text) - FIT_EPOCH).total_seconds())


def semicircles(degrees: float) -> int:
    return round(degrees * 2**31 / 180)


def crc16(data: bytes, crc: int = 0) -> int:
    """The FIT CRC-16, four bits at a time as the SDK computes it."""
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _CRC_TABLE[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[nibble]
    return crc


class FitWriter:
    """Collects messages; `to_bytes` gives the whole FIT file (or `chain` several)."""

    def __init__(self, *, header_size: int = 14, profile_version: int = 2132) -> None:
        self.header_size = header_size
        self.profile_version = profile_version
        self.body = bytearray()
        self._layouts: dict[int, tuple[Any, ...]] = {}

    def message(
        self,
        global_num: int,
        fields: Sequence[Field],
        dev_fields: Sequence[DevField] = (),
        *,
        local: int = 0,
    ) -> FitWriter:
        """Append one data message, preceded by a definition when its layout is new."""
        encoded = [(num, kind, _encode(kind, value)) for num, kind, value in fields]
        dev_encoded = [(num, index, _encode(kind, value)) for num, index, kind, value in dev_fields]
        layout = (
            global_num,
            tuple((num, len(data), BASE_TYPES[kind][0]) for num, kind, data in encoded),
            tuple((num, len(data), index) for num, index, data in dev_encoded),
        )
        if self._layouts.get(local) != layout:
            self._define(local, layout)
        self.body.append(local & 0x0F)
        for _, _, data in encoded:
            self.body += data
        for _, _, data in dev_encoded:
            self.body += data
        return self

    def _define(self, local: int, layout: tuple[Any, ...]) -> None:
        global_num, field_defs, dev_defs = layout
        header = 0x40 | (0x20 if dev_defs else 0) | (local & 0x0F)
        self.body += struct.pack("<BBBHB", header, 0, 0, global_num, len(field_defs))
        for definition in field_defs:
            self.body += struct.pack("<BBB", *definition)
        if dev_defs:
            self.body.append(len(dev_defs))
            for definition in dev_defs:
                self.body += struct.pack("<BBB", *definition)
        self._layouts[local] = layout

    def to_bytes(self) -> bytes:
        header = struct.pack(
            "<BBHI4s", self.header_size, 0x20, self.profile_version, len(self.body), b".FIT"
        )
        if self.header_size == 14:
            header += struct.pack("<H", crc16(header))
        data = header + bytes(self.body)
        return data + struct.pack("<H", crc16(data))


def chain(*writers: FitWriter) -> bytes:
    """Chained FIT files: one stream of several, as watches write some activities."""
    return b"".join(writer.to_bytes() for writer in writers)


def _encode(kind: str, value: Any) -> bytes:
    code = BASE_TYPES[kind][1]
    if code is None:
        return str(value).encode("utf-8") + b"\0"
    if isinstance(value, bytes):
        return value
    values = value if isinstance(value, list | tuple) else [value]
    return struct.pack(f"<{len(values)}{code}", *values)
