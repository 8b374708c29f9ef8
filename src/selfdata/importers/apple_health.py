"""Apple Health: `export.zip` (read in place) or its `export.xml`.

Spec of the rows: docs/apple_health_rows.md. Format: the HealthKit export,
one XML file with an inline DTD (broken on iOS 16, never read here), one
element per line, often 0.5 to 2.5 GB, plus workout routes as GPX files in
`workout-routes/` beside it. The file name is localised (`exportar.xml`,
`Export.xml`), so the export is found by its content.

Speed: a Python callback per element is slower than the goal (twice as fast as
a do-nothing expat parse), so the file is read with `selfdata.xmlscan`: chunks
of whole top-level elements become columns of tags, and records, their
metadata and heart-beat lists are turned into rows by column operations
(polars). Workouts and activity summaries are few and are built one by one.
Memory stays flat: one chunk (16 MB of XML) at a time.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from selfdata import xmlscan
from selfdata.importers import _apple_health_elements as elements
from selfdata.importers import gpx
from selfdata.importers.base import Batch, Source
from selfdata.importers.healthkit import SLEEP_STAGES, convert, metric_for
from selfdata.xmlscan import END, OTHER, Chunk, attributes, json_string, needs_json_escape

__all__ = [
    "claim_archive",
    "companions",
    "detect",
    "name",
    "patterns",
    "read",
    "tables",
    "version",
]

name = "apple_health"
version = "1"
patterns = ("export.xml", "export.zip")
tables = ("health_samples", "sleep_segments", "workouts", "location_points")

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
# The elements told apart in every chunk, and the attributes read as columns.
ELEMENTS = (
    "Record",
    "MetadataEntry",
    "InstantaneousBeatsPerMinute",
    "Workout",
    "WorkoutStatistics",
    "WorkoutEvent",
    "WorkoutActivity",
    "WorkoutRoute",
    "FileReference",
    "Location",
    "ActivitySummary",
)
RECORD = ("type", "sourceName", "sourceVersion", "device", "unit")
RECORD_DATES = ("creationDate", "startDate", "endDate", "value")
NAMES = (*RECORD, *RECORD_DATES, "key", "bpm", "time")
_MARKERS = (b"<!DOCTYPE HealthData", b"<HealthData")
_HEALTH_COLUMNS = (
    "metric",
    "start_at",
    "end_at",
    "utc_offset_min",
    "value",
    "unit",
    "source_name",
    "device",
    "source_type",
    "extra",
)
_SLEEP_COLUMNS = ("start_at", "end_at", "utc_offset_min", "stage", "source_name", "device", "extra")
_LOCATION = (
    "date",
    "latitude",
    "longitude",
    "altitude",
    "horizontalAccuracy",
    "verticalAccuracy",
    "course",
    "speed",
)


def detect(head: bytes, filename: str) -> bool:
    """An XML file whose root is `HealthData` (the DTD names it first).

    Example:
        >>> detect(b'<?xml version="1.0"?>\\n<!DOCTYPE HealthData [', "exportar.xml")
        True
    """
    return any(marker in head for marker in _MARKERS) and b"<ClinicalDocument" not in head


def claim_archive(archive: zipfile.ZipFile) -> tuple[str, ...]:
    """The export XML and the workout-route GPX files beside it, read as one import."""
    for info in archive.infolist():
        lower = info.filename.lower()
        if info.is_dir() or not lower.endswith(".xml") or lower.endswith("_cda.xml"):
            continue
        with archive.open(info) as stream:
            if detect(stream.read(8192), info.filename):
                folder = PurePosixPath(info.filename).parent
                routes = [
                    n
                    for n in archive.namelist()
                    if n.lower().endswith(".gpx")
                    and PurePosixPath(n).parent == folder / "workout-routes"
                ]
                return (info.filename, *sorted(routes))
    return ()


def companions(path: Path) -> tuple[Path, ...]:
    """The route GPX files an unzipped export.xml refers to: its import reads them."""
    return tuple(sorted((path.parent / "workout-routes").glob("*.gpx")))


def read(source: Source) -> Iterator[Batch]:
    """Stream the export as health_samples, sleep_segments, workouts and route points."""
    opener = _opener(source)
    reader = _Reader(source)
    with opener() as stream:
        chunks = xmlscan.scan(
            stream, source.display_name, elements=ELEMENTS, names=NAMES, reopen=opener
        )
        for chunk in chunks:
            yield from reader.chunk(chunk)
    yield from reader.finish(opener)


# --- one chunk of elements ---------------------------------------------------------


@dataclass
class _Reader:
    source: Source
    workouts: list[dict[str, Any]] = field(default_factory=list)
    routes: list[tuple[str, str, str, int]] = field(default_factory=list)  # id, file, source, byte
    pending: list[tuple[str, str, int]] = field(default_factory=list)  # rejects: table, why, byte

    def chunk(self, chunk: Chunk) -> Iterator[Batch]:
        self.source.repaired("control characters removed", chunk.repairs)
        records = _is(chunk, "Record") & (chunk.depth == 1)
        if records.any():
            yield from self._records(chunk, records)
        yield from self._workouts(chunk)
        yield from self._summaries(chunk)

    def finish(self, opener: Callable[[], IO[bytes]]) -> Iterator[Batch]:
        if self.workouts:
            yield Batch("workouts", pa.Table.from_pylist(self.workouts))
        for workout_id, path, route_source, offset in self.routes:
            yield from self._route_file(workout_id, path, route_source, offset)
        if self.pending:
            lines = xmlscan.lines_at(opener, [offset for _, _, offset in self.pending])
            for (table, why, _), line in zip(self.pending, lines, strict=True):
                self.source.reject(table, why, line)

    # Records -----------------------------------------------------------------------

    def _records(self, chunk: Chunk, records: npt.NDArray[np.bool_]) -> Iterator[Batch]:
        values = chunk.attributes(records, RECORD + RECORD_DATES)
        where = pl.DataFrame({"top": chunk.top[records], "offset": chunk.offsets[records]})
        frame = pl.concat([where, values], how="horizontal")
        frame = frame.with_columns(
            start_at=_instant("startDate"),
            end_at=_instant("endDate"),
            utc_offset_min=_offset_minutes("startDate"),
        )
        bad = frame.filter(pl.col("start_at").is_null() | pl.col("end_at").is_null())
        for offset in bad["offset"]:
            self.pending.append(("health_samples", "a Record without valid dates", offset))
        frame = frame.filter(pl.col("start_at").is_not_null() & pl.col("end_at").is_not_null())
        frame = frame.join(_metadata(chunk), on="top", how="left")
        frame = frame.join(_beats(chunk), on="top", how="left")
        sleep = frame.filter(pl.col("type") == SLEEP_TYPE)
        health = frame.filter(pl.col("type") != SLEEP_TYPE)
        if len(health):
            yield Batch("health_samples", _health_rows(health).to_arrow())
        if len(sleep):
            yield from self._sleep(sleep)

    def _sleep(self, sleep: pl.DataFrame) -> Iterator[Batch]:
        stages = sleep.with_columns(
            stage=pl.col("value")
            .str.strip_prefix("HKCategoryValueSleepAnalysis")
            .replace_strict(SLEEP_STAGES, default=None, return_dtype=pl.String)
        )
        for value, offset in (
            stages.filter(pl.col("stage").is_null()).select("value", "offset").rows()
        ):
            self.pending.append(("sleep_segments", f"unknown sleep value {value!r}", offset))
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
        if len(rows):
            yield Batch("sleep_segments", rows.select(_SLEEP_COLUMNS).to_arrow())

    # Workouts ----------------------------------------------------------------------

    def _workouts(self, chunk: Chunk) -> Iterator[Batch]:
        heads = _is(chunk, "Workout") & (chunk.depth == 1)
        if not heads.any():
            return
        inside = np.isin(chunk.top, chunk.top[heads]) & (chunk.depth > 1) & _opening(chunk)
        locations = inside & (chunk.element == ELEMENTS.index("Location"))
        by_top: dict[int, list[dict[str, Any]]] = {}
        for index in np.flatnonzero(inside & ~locations):
            element = int(chunk.element[index])
            child = {
                "name": ELEMENTS[element] if element >= 0 else None,
                "depth": int(chunk.depth[index]),
                "offset": int(chunk.offsets[index]),
                "attrs": elements.attrs(chunk.pieces[int(index)]),
            }
            by_top.setdefault(int(chunk.top[index]), []).append(child)
        heads_frame = pl.DataFrame(
            {
                "top": chunk.top[heads],
                "piece": chunk.pieces.filter(pl.Series(heads)),
                "offset": chunk.offsets[heads],
            }
        )
        routes: dict[int, tuple[str, str]] = {}  # top -> workout id, route source
        for top, piece, offset in heads_frame.rows():
            workout = elements.workout(elements.attrs(piece), by_top.get(top, []))
            if workout is None:
                self.pending.append(("workouts", "a Workout without valid dates", offset))
                continue
            self.workouts.append(workout)
            route = json.loads(workout["extra"]).get("route") or {}
            route_source = route.get("source_name") or workout["source_name"]
            routes[top] = (workout["workout_id"], route_source)
            if route.get("file"):
                reference = next(c for c in by_top[top] if c["name"] == "FileReference")
                self.routes.append(
                    (workout["workout_id"], route["file"], route_source, reference["offset"])
                )
        if locations.any():
            yield from self._locations(chunk, locations, routes)

    def _locations(
        self, chunk: Chunk, mask: npt.NDArray[np.bool_], routes: dict[int, tuple[str, str]]
    ) -> Iterator[Batch]:
        """Inline route points (iOS 12 and older), column by column."""
        values = attributes(chunk.pieces.filter(pl.Series(mask)), _LOCATION)
        owners = pl.DataFrame(
            [(top, workout_id, source) for top, (workout_id, source) in routes.items()],
            schema={"top": pl.Int64, "workout_id": pl.String, "source": pl.String},
            orient="row",
        )
        frame = pl.concat(
            [pl.DataFrame({"top": chunk.top[mask], "offset": chunk.offsets[mask]}), values],
            how="horizontal",
        ).join(owners, on="top", how="inner")
        number = {name: pl.col(name).cast(pl.Float64, strict=False) for name in _LOCATION[1:]}
        frame = frame.with_columns(
            recorded_at=_instant("date"), utc_offset_min=_offset_minutes("date"), **number
        )
        usable = (
            pl.col("recorded_at").is_not_null()
            & pl.col("latitude").is_between(-90, 90)
            & pl.col("longitude").is_between(-180, 180)
        ).fill_null(False)
        for offset in frame.filter(~usable)["offset"]:
            self.pending.append(
                ("location_points", "a Location without a usable date or position", offset)
            )
        rows = frame.filter(usable).select(
            "recorded_at",
            "utc_offset_min",
            lat=pl.col("latitude"),
            lon=pl.col("longitude"),
            accuracy_m=pl.col("horizontalAccuracy"),
            altitude_m=pl.col("altitude"),
            speed_mps=pl.col("speed"),
            source=pl.col("source"),
            workout_id=pl.col("workout_id"),
            extra=pl.lit("{")
            + pl.concat_str(
                [
                    pl.lit('"course":') + pl.col("course").cast(pl.String),
                    pl.lit('"vertical_accuracy":') + pl.col("verticalAccuracy").cast(pl.String),
                ],
                separator=",",
                ignore_nulls=True,
            )
            + pl.lit("}"),
        )
        if len(rows):
            yield Batch("location_points", rows.to_arrow())

    def _route_file(
        self, workout_id: str, path: str, route_source: str, offset: int
    ) -> Iterator[Batch]:
        source = self._route_source(path)
        if source is None:
            self.pending.append(
                ("location_points", f"route file {path} is not in the export", offset)
            )
            return
        source.on_bytes = self.source.on_bytes
        with source.open() as stream:
            data = stream.read()
        table = elements.route_points(data, workout_id, route_source)
        if table is not None:
            yield Batch("location_points", table)
            return
        source.on_bytes = None  # read once already, for the progress bar
        for batch in gpx.read(source):
            if batch.table != "location_points":
                continue  # the workout itself comes from export.xml
            rows = batch.rows
            rows = rows.set_column(
                rows.column_names.index("source"), "source", pa.array([route_source] * len(rows))
            )
            rows = rows.set_column(
                rows.column_names.index("workout_id"),
                "workout_id",
                pa.array([workout_id] * len(rows)),
            )
            yield Batch("location_points", rows)
        self.source.rejects.extend(source.rejects)

    def _route_source(self, path: str) -> Source | None:
        relative = path.lstrip("/")
        if self.source.members:
            folder = PurePosixPath(self.source.members[0]).parent
            wanted = str(folder / relative)
            if wanted in self.source.members:
                return Source(self.source.path, member=wanted)
            return None
        if self.source.member is not None:
            wanted = str(PurePosixPath(self.source.member).parent / relative)
            with zipfile.ZipFile(self.source.path) as archive:
                return (
                    Source(self.source.path, member=wanted)
                    if wanted in archive.namelist()
                    else None
                )
        candidate = self.source.path.parent / relative
        return Source(candidate) if candidate.is_file() else None

    # Activity summaries ---------------------------------------------------------------

    def _summaries(self, chunk: Chunk) -> Iterator[Batch]:
        mask = _is(chunk, "ActivitySummary") & (chunk.depth == 1)
        if not mask.any():
            return
        heads = pl.DataFrame(
            {"piece": chunk.pieces.filter(pl.Series(mask)), "offset": chunk.offsets[mask]}
        )
        rows: list[dict[str, Any]] = []
        for piece, offset in heads.select("piece", "offset").rows():
            attrs = elements.attrs(piece)
            day = elements.day(attrs.get("dateComponents"))
            if day is None:
                self.pending.append(("health_samples", "an ActivitySummary without a date", offset))
                continue
            rows.extend(elements.summary_rows(attrs, day))
        if rows:
            yield Batch("health_samples", pa.Table.from_pylist(rows))


# --- column expressions -------------------------------------------------------------


def _instant(column: str) -> pl.Expr:
    # Parsing the fixed-width local time and subtracting the offset is several
    # times faster than a %z parse.
    local = (
        pl.col(column)
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    )
    utc = local - pl.duration(minutes=_offset_minutes(column))
    return utc.dt.replace_time_zone("UTC")


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
    frame = frame.with_columns(number=pl.col("value").cast(pl.Float64, strict=False))
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


def _unit_row(type_identifier: str, unit: str | None) -> tuple[Any, ...]:
    metric, canonical = metric_for(type_identifier, unit)
    factor = convert(1.0, canonical, unit) - convert(0.0, canonical, unit)
    return (type_identifier, unit, metric, canonical, factor, convert(0.0, canonical, unit))


def _is(chunk: Chunk, element: str) -> npt.NDArray[np.bool_]:
    """Start and empty tags of `element` in the chunk."""
    return np.asarray(_opening(chunk) & (chunk.element == ELEMENTS.index(element)), dtype=bool)


def _opening(chunk: Chunk) -> npt.NDArray[np.bool_]:
    return np.asarray((chunk.kind != END) & (chunk.kind != OTHER), dtype=bool)


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
    """{top: JSON list of its InstantaneousBeatsPerMinute}."""
    mask = _is(chunk, "InstantaneousBeatsPerMinute")
    if not mask.any():
        return pl.DataFrame(schema={"top": pl.Int64, "beats": pl.String})
    values = chunk.attributes(mask, ("bpm", "time"))
    joined = pl.concat([pl.DataFrame({"top": chunk.top[mask]}), values], how="horizontal")
    bpm = pl.col("bpm").cast(pl.Float64, strict=False).cast(pl.String).fill_null("null")
    time = json_string(pl.col("time"), escape=needs_json_escape(joined["time"]))
    item = pl.lit('{"bpm":') + bpm + pl.lit(',"time":') + time + pl.lit("}")
    return joined.group_by("top", maintain_order=True).agg(
        beats=pl.lit("[") + item.str.join(",") + pl.lit("]")
    )


def _opener(source: Source) -> Callable[[], IO[bytes]]:
    if source.members:
        export = source.members[0]
        return lambda: source.open_member(export)
    return source.open
