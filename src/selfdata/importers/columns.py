"""What importers share: the Arrow shape of each canonical table, and ISO 8601 times.

The schemas come from the migrations themselves (`selfdata.schema`), so an
importer's batches always match the vault's columns and types.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from selfdata.schema import canonical_columns

__all__ = [
    "canonical_schema",
    "coordinate",
    "finite",
    "json_text",
    "json_value",
    "parse_iso_times",
]

_ARROW = {
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
    "DECIMAL(18,4)": pa.decimal128(18, 4),
    "DECIMAL(18,5)": pa.decimal128(18, 5),
}

# Shared by Python's re and Arrow's RE2. A missing zone means UTC, as the spec says.
_TIME = (
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<clock>\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d+))?"
    r"\s*(?P<zone>[Zz]|(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})?)?\s*$"
)


def canonical_schema(table: str) -> pa.Schema:
    """The Arrow schema of a canonical table's columns (without `import_id`).

    Example:
        >>> canonical_schema("sleep_segments").names[:3]
        ['start_at', 'end_at', 'utc_offset_min']
    """
    return pa.schema(
        [(name, _ARROW.get(kind, pa.string())) for name, kind in canonical_columns()[table].items()]
    )


def parse_iso_times(raw: Sequence[str | None]) -> tuple[pa.Array, pa.Array, npt.NDArray[Any]]:
    """Parse ISO 8601 strings, vectorised: (UTC instants, offsets in minutes, unparsable mask).

    Fractions of any length are cut to microseconds; `Z` or no zone gives a NULL
    offset (an instant whose local offset is unknown).

    Example:
        >>> instants, offsets, bad = parse_iso_times(["2024-10-27T02:58:30+02:00", "x"])
        >>> offsets.to_pylist(), bad.tolist()
        ([120, None], [False, True])
    """
    text = pa.array(raw, pa.string())
    parts = pc.extract_regex(text, _TIME)

    def part(key: str) -> pa.Array:
        return pc.struct_field(parts, key)

    seconds = pc.strptime(
        pc.binary_join_element_wise(part("date"), part("clock"), "T"),
        format="%Y-%m-%dT%H:%M:%S",
        unit="us",
        error_is_null=True,
    )
    fraction = pc.utf8_slice_codeunits(pc.utf8_rpad(part("frac"), 6, "0"), 0, 6)
    local_us = pc.add(seconds.cast(pa.int64()), fraction.cast(pa.int64()))
    hours = pc.utf8_lpad(part("hours"), 2, "0").cast(pa.int64())
    minutes = pc.utf8_lpad(part("minutes"), 2, "0").cast(pa.int64())
    sign = pc.if_else(pc.equal(part("sign"), "-"), -1, 1)
    offset = pc.multiply(pc.add(pc.multiply(hours, 60), minutes), sign)
    instants = pc.subtract(local_us, pc.multiply(offset, 60_000_000))
    recorded_at = instants.cast(pa.timestamp("us", tz="UTC"))
    offset_min = pc.if_else(
        pc.and_(pc.is_valid(instants), pc.not_equal(part("sign"), "")), offset, None
    ).cast(pa.int16())
    bad = pc.and_(pc.is_valid(text), pc.is_null(recorded_at)).to_numpy(zero_copy_only=False)
    return recorded_at, offset_min, bad


_INTEGER = re.compile(r"[+-]?\d{1,15}")


def finite(text: str) -> float | None:
    """The number in `text`, or None when it is not one or not finite.

    Example:
        >>> finite("12.5"), finite("nan"), finite("abc")
        (12.5, None, None)
    """
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def coordinate(text: str | None, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (limit 180), or None when missing or out of range."""
    number = finite(text) if text is not None else None
    return number if number is not None and -limit <= number <= limit else None


# One encoder for every row (json.dumps with options builds a new one per call);
# non-ASCII text stays as it is, so `extra` reads as the source wrote it.
json_text = json.JSONEncoder(ensure_ascii=False).encode


def json_value(text: str) -> object:
    """A value as JSON wants it: an int, a finite float, or the text itself.

    Example:
        >>> json_value("3"), json_value("3.5"), json_value("Running")
        (3, 3.5, 'Running')
    """
    if _INTEGER.fullmatch(text):
        return int(text)
    number = finite(text)
    return text if number is None else number
