"""Apple Health: `export.zip` (read in place) or its `export.xml`.

Spec of the rows: docs/apple_health_rows.md. Format: the HealthKit export,
one XML file with an inline DTD (broken on iOS 16, never read here), one
element per line, often 0.5 to 2.5 GB, plus workout routes as GPX files in
`workout-routes/` beside it. The file name is localised (`exportar.xml`,
`Export.xml`), so the export is found by its content.

Speed: a Python callback per element is slower than the goal (twice as fast as
a do-nothing expat parse), so the millions of Records are read in C
(`_apple_health_records.py`, with `selfdata._xmltok`), or, where the C
extension is not built, by column operations (`_apple_health_columns.py`).
Both hand over Arrow tables of rows and the few elements built one by one
here (`_apple_health_elements.py`): workouts, their routes and activity
summaries. Memory stays flat: one buffer (`xmlscan.CHUNK_BYTES` of XML) at a
time.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyarrow as pa

from selfdata import xmlscan
from selfdata.importers import _apple_health_columns as columns
from selfdata.importers import _apple_health_elements as elements
from selfdata.importers import _apple_health_records as records
from selfdata.importers import gpx
from selfdata.importers.base import Batch, Source

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

_MARKERS = (b"<!DOCTYPE HealthData", b"<HealthData")
# Route files are converted together up to this many bytes at a time: fewer,
# bigger column operations, and memory still flat however many routes there are.
_ROUTE_GROUP_BYTES = 2 << 20


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
    path = records if xmlscan.native() else columns
    with opener() as stream:
        for part in path.parts(stream, source.display_name, reopen=opener):
            yield from reader.part(part)
    yield from reader.finish(opener)


# --- the export, one part at a time ---------------------------------------------------


@dataclass
class _Reader:
    source: Source
    workouts: list[dict[str, Any]] = field(default_factory=list)
    routes: list[tuple[str, str, str, int]] = field(default_factory=list)  # id, file, source, byte
    pending: list[tuple[str, str, int]] = field(default_factory=list)  # rejects: table, why, byte

    def part(self, part: elements.Part) -> Iterator[Batch]:
        self.source.repaired("control characters removed", part.repairs)
        self.pending.extend(part.rejects)
        if part.health is not None:
            yield Batch("health_samples", part.health)
        if part.sleep is not None:
            yield Batch("sleep_segments", part.sleep)
        if part.elements:
            yield from self._one_by_one(part)

    def finish(self, opener: Callable[[], IO[bytes]]) -> Iterator[Batch]:
        if self.workouts:
            yield Batch("workouts", elements.rows_table(self.workouts, "workouts"))
        yield from self._route_files()
        if self.pending:
            self.pending.sort(key=lambda reject: reject[2])  # document order, as the oracle
            lines = xmlscan.lines_at(opener, [offset for _, _, offset in self.pending])
            for (table, why, _), line in zip(self.pending, lines, strict=True):
                self.source.reject(table, why, line)

    def _one_by_one(self, part: elements.Part) -> Iterator[Batch]:
        """The part's workouts (kept for the end), their inline routes and activity summaries."""
        points: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        kept: list[dict[str, Any] | None] = []  # per element: its workout row, if it is one
        for element in part.elements:
            workout = None
            if element.name == "Workout":
                workout = self._workout(element)
                if workout is not None and part.route_points is None:
                    points.extend(self._points(element, workout))
            elif element.name == "ActivitySummary":
                summaries.extend(self._summary(element))
            kept.append(workout)
        if summaries:
            yield Batch("health_samples", elements.rows_table(summaries, "health_samples"))
        if points:
            yield Batch("location_points", elements.rows_table(points, "location_points"))
        if part.route_points is not None:  # the C scanner read them
            ids = [w["workout_id"] if w else None for w in kept]
            table, rejects = part.route_points(ids, [w["source_name"] if w else None for w in kept])
            self.pending.extend(rejects)
            if table is not None:
                yield Batch("location_points", table)

    # Workouts and their routes ------------------------------------------------------------

    def _workout(self, element: elements.Element) -> dict[str, Any] | None:
        """The workout's row, kept for the end (None when it has no usable dates)."""
        children = [child for child in element.children if child["name"] != "Location"]
        workout = elements.workout(element.attrs, children)
        if workout is None:
            self.pending.append(("workouts", "a Workout without valid dates", element.offset))
            return None
        self.workouts.append(workout)
        route = json.loads(workout["extra"]).get("route") or {}
        if route.get("file"):
            reference = next(c for c in children if c["name"] == "FileReference")
            route_source = route.get("source_name") or workout["source_name"]
            self.routes.append(
                (workout["workout_id"], route["file"], route_source, reference["offset"])
            )
        return workout

    def _points(self, element: elements.Element, workout: dict[str, Any]) -> list[dict[str, Any]]:
        """Inline route points (iOS 12 and older): the Locations of each WorkoutRoute,
        whose sourceName they take (the workout's when it has none)."""
        points: list[dict[str, Any]] = []
        route_sources: dict[int, str | None] = {}  # depth -> source of the route opened there
        for child in element.children:
            if child["name"] == "WorkoutRoute":
                route_sources[child["depth"]] = child["attrs"].get("sourceName")
            elif child["name"] == "Location" and child["parent"] == "WorkoutRoute":
                source = route_sources.get(child["depth"] - 1)
                owner = source if source is not None else workout["source_name"]
                point = elements.location_row(child["attrs"], owner, workout["workout_id"])
                if point is None:
                    why = "a Location without a usable date, latitude or longitude"
                    self.pending.append(("location_points", why, child["offset"]))
                else:
                    points.append(point)
        return points

    def _route_files(self) -> Iterator[Batch]:
        """The route files' points, read a few megabytes of files at a time."""
        group: list[tuple[Source, elements.Route]] = []
        size = 0
        with self._route_reader() as read_route:
            for workout_id, path, route_source, offset in self.routes:
                found = read_route(path)
                if found is None:
                    why = f"route file {path} is not in the export"
                    self.pending.append(("location_points", why, offset))
                    continue
                source, data = found
                if self.source.on_bytes:
                    self.source.on_bytes(len(data))
                group.append((source, elements.Route(data, workout_id, route_source)))
                size += len(data)
                if size >= _ROUTE_GROUP_BYTES:
                    yield from self._route_group(group)
                    group, size = [], 0
        yield from self._route_group(group)

    @contextmanager
    def _route_reader(self) -> Iterator[Callable[[str], tuple[Source, bytes] | None]]:
        """Reads a route file by the path its workout gives (None when it is not
        there), with the zip opened once: reading its directory again for each of
        hundreds of routes took longer than reading the routes."""
        export = self.source.members[0] if self.source.members else self.source.member
        if export is None:  # an unzipped export.xml: the routes are beside it

            def from_folder(path: str) -> tuple[Source, bytes] | None:
                candidate = self.source.path.parent / path.lstrip("/")
                return (Source(candidate), candidate.read_bytes()) if candidate.is_file() else None

            yield from_folder
            return
        folder = PurePosixPath(export).parent
        with zipfile.ZipFile(self.source.path) as archive:
            there = set(self.source.members) or set(archive.namelist())

            def from_zip(path: str) -> tuple[Source, bytes] | None:
                member = str(folder / path.lstrip("/"))
                if member not in there:
                    return None
                return Source(self.source.path, member=member), archive.read(member)

            yield from_zip

    def _route_group(self, group: list[tuple[Source, elements.Route]]) -> Iterator[Batch]:
        if not group:
            return
        table, others = elements.route_points([route for _, route in group])
        if table is not None:
            yield Batch("location_points", table)
        for position in others:  # not of Apple's shape: the gpx importer reads it
            source, route = group[position]
            yield from self._gpx_route(source, route)

    def _gpx_route(self, source: Source, route: elements.Route) -> Iterator[Batch]:
        for batch in gpx.read(source):
            if batch.table != "location_points":
                continue  # the workout itself comes from export.xml
            rows = batch.rows
            rows = rows.set_column(
                rows.column_names.index("source"), "source", pa.array([route.source] * len(rows))
            )
            rows = rows.set_column(
                rows.column_names.index("workout_id"),
                "workout_id",
                pa.array([route.workout_id] * len(rows)),
            )
            yield Batch("location_points", rows)
        self.source.rejects.extend(source.rejects)

    # Activity summaries ---------------------------------------------------------------

    def _summary(self, element: elements.Element) -> list[dict[str, Any]]:
        day = elements.day(element.attrs.get("dateComponents"))
        if day is None:
            why = "an ActivitySummary without a date"
            self.pending.append(("health_samples", why, element.offset))
            return []
        return list(elements.summary_rows(element.attrs, day))


def _opener(source: Source) -> Callable[[], IO[bytes]]:
    if source.members:
        export = source.members[0]
        return lambda: source.open_member(export)
    return source.open
