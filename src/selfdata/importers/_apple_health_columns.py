"""Apple Health's export.xml read with numpy and polars: the path without the C extension.

`apple_health.py` uses it when `selfdata._xmltok` is not built (or
SELFDATA_PURE_PYTHON=1). `selfdata.xmlscan` cuts the file into chunks of
whole top-level elements as columns of tags; records, their metadata and
heart-beat lists become rows by column operations. It yields the same
`Part`s, and so the same rows, as the C path (`_apple_health_records.py`),
more slowly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from selfdata import xmlscan
from selfdata.importers._apple_health_elements import Element, Part
from selfdata.importers.healthkit import SLEEP_STAGES, conversion, metric_for
from selfdata.xmlscan import END, OTHER, Chunk, json_string, needs_json_escape

__all__ = ["parts"]

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
# The elements told apart in every chunk, and the attributes read as columns.
ELEMENTS = (
    "Record",
    "MetadataEntry",
    "InstantaneousBeatsPerMinute",
    "HeartRateVariabilityMetadataList",
    "Workout",
    "ActivitySummary",
)
RECORD = ("type", "sourceName", "sourceVersion", "device", "unit")
RECORD_DATES = ("creationDate", "startDate", "endDate", "value")
_ONE_BY_ONE = ("Workout", "ActivitySummary")
_HRV_LIST = "HeartRateVariabilityMetadataList"
_SLEEP_COLUMNS = ("start_at", "end_at", "utc_offset_min", "stage", "source_name", "device", "extra")
_BAD_DATES = "a Record without a usable startDate/endDate"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$"
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def parts(stream: IO[bytes], display_name: str, reopen: Callable[[], IO[bytes]]) -> Iterator[Part]:
    """The export's rows, one chunk (`xmlscan.CHUNK_BYTES`) of elements at a time."""
    chunks = xmlscan.scan(stream, display_name, elements=ELEMENTS, reopen=reopen)
    for chunk in chunks:
        rejects: list[tuple[str, str, int]] = []
        health, sleep = _records(chunk, rejects)
        yield Part(health, sleep, _elements(chunk), rejects, chunk.repairs)


# --- records ----------------------------------------------------------------------------


def _records(
    chunk: Chunk, rejects: list[tuple[str, str, int]]
) -> tuple[pa.Table | None, pa.Table | None]:
    """health_samples and sleep_segments of the chunk's top-level Records (or None)."""
    records = _is(chunk, "Record") & (chunk.depth == 1)
    if not records.any():
        return None, None
    values = chunk.attributes(records, RECORD + RECORD_DATES)
    where = pl.DataFrame({"top": chunk.top[records], "offset": chunk.offsets[records]})
    frame = pl.concat([where, values], how="horizontal")
    frame = frame.with_columns(
        start_at=_instant("startDate"),
        end_at=_instant("endDate"),
        utc_offset_min=_offset_minutes("startDate"),
    )
    dated = pl.col("start_at").is_not_null() & pl.col("end_at").is_not_null()
    for kind, offset in frame.filter(~dated).select("type", "offset").rows():
        rejects.append(
            ("sleep_segments" if kind == SLEEP_TYPE else "health_samples", _BAD_DATES, offset)
        )
    for offset in frame.filter(dated & pl.col("type").is_null())["offset"]:
        rejects.append(("health_samples", "a Record without a type", offset))
    frame = frame.filter(dated & pl.col("type").is_not_null())
    frame = frame.join(_metadata(chunk), on="top", how="left")
    frame = frame.join(_beats(chunk), on="top", how="left")
    sleep = frame.filter(pl.col("type") == SLEEP_TYPE)
    health = frame.filter(pl.col("type") != SLEEP_TYPE)
    return (
        _health_rows(health).to_arrow() if len(health) else None,
        _sleep_rows(sleep, rejects) if len(sleep) else None,
    )


def _sleep_rows(sleep: pl.DataFrame, rejects: list[tuple[str, str, int]]) -> pa.Table | None:
    stages = sleep.with_columns(
        stage=pl.col("value")
        .fill_null("")
        .str.strip_prefix("HKCategoryValueSleepAnalysis")
        .replace_strict(SLEEP_STAGES, default=None, return_dtype=pl.String)
    )
    for value, offset in stages.filter(pl.col("stage").is_null()).select("value", "offset").rows():
        rejects.append(("sleep_segments", f"unknown sleep value {value or ''!r}", offset))
    rows = stages.filter(pl.col("stage").is_not_null()).select(
        "start_at",
        "end_at",
        "utc_offset_min",
        "stage",
        source_name=pl.col("sourceName"),
        device=pl.col("device"),
        extra=_extra(
            stages,
            source_version=pl.col("sourceVersion"),
            creation_date=pl.col("creationDate"),
            metadata=pl.col("metadata"),
        ),
    )
    return rows.select(_SLEEP_COLUMNS).to_arrow() if len(rows) else None


def _instant(column: str) -> pl.Expr:
    # Parsing the fixed-width local time and subtracting the offset is several
    # times faster than a %z parse; only the exact shape Apple writes is a date.
    text = pl.col(column)
    shaped = text.str.contains(_DATE) & ~text.str.starts_with("0000")
    local = text.str.slice(0, 19).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    utc = local - pl.duration(minutes=_offset_minutes(column))
    return pl.when(shaped).then(utc.dt.replace_time_zone("UTC"))


def _offset_minutes(column: str) -> pl.Expr:
    zone = pl.col(column).str.slice(-5)
    sign = pl.when(zone.str.starts_with("-")).then(-1).when(zone.str.starts_with("+")).then(1)
    hours = zone.str.slice(1, 2).cast(pl.Int16, strict=False)
    minutes = zone.str.slice(3, 2).cast(pl.Int16, strict=False)
    return (sign * (hours * 60 + minutes)).cast(pl.Int16)


def _extra(frame: pl.DataFrame, **fields: pl.Expr) -> pl.Expr:
    """A JSON object of the non-null fields (`metadata` and `beats` are JSON already)."""
    parts = []
    for key, value in fields.items():
        if key in {"metadata", "beats"}:
            encoded = value
        else:
            escape = needs_json_escape(frame.select(value.alias("v")).to_series())
            encoded = json_string(value, escape=escape)
        parts.append(pl.lit(f'"{key}":') + encoded)
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.lit("{") + body + pl.lit("}")


def _health_rows(frame: pl.DataFrame) -> pl.DataFrame:
    units = frame.select("type", "unit").unique()
    mapping = pl.DataFrame(
        [_unit_row(t, u) for t, u in units.rows()],
        schema={
            "type": pl.String,
            "unit": pl.String,
            "metric": pl.String,
            "canonical": pl.String,
            "factor": pl.Float64,
            "shift": pl.Float64,
        },
        orient="row",
    )
    frame = frame.join(mapping, on=["type", "unit"], how="left", nulls_equal=True)
    frame = frame.with_columns(number=_number(pl.col("value")))
    return frame.select(
        "metric",
        "start_at",
        "end_at",
        "utc_offset_min",
        value=pl.col("number") * pl.col("factor") + pl.col("shift"),
        unit=pl.col("canonical"),
        source_name=pl.col("sourceName"),
        device=pl.col("device"),
        source_type=pl.col("type"),
        extra=_extra(
            frame,
            source_version=pl.col("sourceVersion"),
            creation_date=pl.col("creationDate"),
            unit=pl.when(pl.col("unit") != pl.col("canonical")).then(pl.col("unit")),
            category=pl.when(pl.col("number").is_null()).then(pl.col("value")),
            metadata=pl.col("metadata"),
            beats=pl.col("beats"),
        ),
    )


def _number(text: pl.Expr) -> pl.Expr:
    """A plain decimal number as a float; null for anything else (`NaN`, `inf`, ` 5`)."""
    return pl.when(text.str.contains(_NUMBER)).then(text.cast(pl.Float64, strict=False))


def _unit_row(type_identifier: str, unit: str | None) -> tuple[Any, ...]:
    metric, canonical = metric_for(type_identifier, unit)
    return (type_identifier, unit, metric, canonical, *conversion(canonical, unit))


def _metadata(chunk: Chunk) -> pl.DataFrame:
    """{top: JSON object of its direct MetadataEntry children}."""
    mask = _is(chunk, "MetadataEntry") & (chunk.depth == 2)
    if not mask.any():
        return pl.DataFrame(schema={"top": pl.Int64, "metadata": pl.String})
    pairs = chunk.attributes(mask, ("key", "value"))
    joined = pl.concat([pl.DataFrame({"top": chunk.top[mask]}), pairs], how="horizontal")
    key = json_string(pl.col("key"), escape=needs_json_escape(joined["key"]))
    value = json_string(pl.col("value"), escape=needs_json_escape(joined["value"]))
    return joined.group_by("top", maintain_order=True).agg(
        metadata=pl.lit("{") + (key + pl.lit(":") + value).str.join(",") + pl.lit("}")
    )


def _beats(chunk: Chunk) -> pl.DataFrame:
    """{top: JSON list of the beats in its HeartRateVariabilityMetadataList}."""
    mask = _is(chunk, "InstantaneousBeatsPerMinute") & (chunk.depth == 3)
    if mask.any():
        # The element last opened at depth 2 is a beat's parent.
        opened = np.where(_opening(chunk) & (chunk.depth == 2), np.arange(len(chunk.kind)), -1)
        parent = np.maximum.accumulate(opened)
        lists = (parent >= 0) & (chunk.element[np.maximum(parent, 0)] == _id(_HRV_LIST))
        mask &= lists & (chunk.top[np.maximum(parent, 0)] == chunk.top)
    if not mask.any():
        return pl.DataFrame(schema={"top": pl.Int64, "beats": pl.String})
    values = chunk.attributes(mask, ("bpm", "time"))
    joined = pl.concat([pl.DataFrame({"top": chunk.top[mask]}), values], how="horizontal")
    bpm = pl.lit('"bpm":') + _number(pl.col("bpm")).cast(pl.String)
    time = pl.lit('"time":') + json_string(pl.col("time"), escape=needs_json_escape(joined["time"]))
    item = pl.lit("{") + pl.concat_str([bpm, time], separator=",", ignore_nulls=True) + pl.lit("}")
    return joined.group_by("top", maintain_order=True).agg(
        beats=pl.lit("[") + item.str.join(",") + pl.lit("]")
    )


# --- the elements read one by one -------------------------------------------------------


def _elements(chunk: Chunk) -> list[Element]:
    """The chunk's top-level Workouts and ActivitySummaries with their descendants."""
    opening = _opening(chunk)
    heads = opening & (chunk.depth == 1) & np.isin(chunk.element, [_id(n) for n in _ONE_BY_ONE])
    inside = opening & np.isin(chunk.top, chunk.top[heads])
    if not inside.any():
        return []
    names = xmlscan.tag_names(chunk.pieces.filter(pl.Series(inside))).to_list()
    found: list[Element] = []
    open_names: dict[int, str] = {}  # depth -> name of the element last opened there
    for index, name in zip(np.flatnonzero(inside), names, strict=True):
        depth, offset = int(chunk.depth[index]), int(chunk.offsets[index])
        attrs = xmlscan.tag_attributes(chunk.pieces[int(index)])
        if depth == 1:
            found.append(Element(name, attrs, offset))
        else:
            child = {"name": name, "depth": depth, "offset": offset, "attrs": attrs}
            found[-1].children.append({**child, "parent": open_names.get(depth - 1)})
        open_names[depth] = name
    return found


def _id(element: str) -> int:
    return ELEMENTS.index(element)


def _is(chunk: Chunk, element: str) -> npt.NDArray[np.bool_]:
    """Start and empty tags of `element` in the chunk."""
    return np.asarray(_opening(chunk) & (chunk.element == _id(element)), dtype=bool)


def _opening(chunk: Chunk) -> npt.NDArray[np.bool_]:
    return np.asarray((chunk.kind != END) & (chunk.kind != OTHER), dtype=bool)
