"""GPX 1.1 files as Strava exports them, and a favourites file of saved places.

Spec: https://www.topografix.com/GPX/1/1/ with Garmin's TrackPointExtension
v1 for heart rate and cadence
(https://www8.garmin.com/xmlschemas/TrackPointExtensionv1.xsd).

    gpx/<yyyy-mm-dd>-<sport>.gpx   every workout of the year (Strava holds the
                                   Watch's runs and the Garmin's rides alike)
                                   and the yearly bus ride to work
    gpx/favourites.gpx             saved places as <wpt>, without times

Quirks an importer must get right: local times with an explicit offset that
follows the DST switches of Europe/London, a holiday in a zone with another
offset (Europe/Madrid is +02:00 in summer), a bus ride that is a vehicle trip
rather than a workout, names that need XML escaping, and cycling cadence that
drops to 0. One point per line, where Strava gives each element its own line:
whitespace means nothing in GPX, and this keeps the files small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from selfdata.demo._life import Workout
from selfdata.demo._persona import Place
from selfdata.demo._tracks import TrackPoint

__all__ = ["GPX_CREATOR", "track_path", "write_favourites", "write_track"]

GPX_CREATOR = "selfdata demo (Strava-like)"

_GPX_OPEN = (
    '<gpx version="1.1" creator={creator}'
    ' xmlns="http://www.topografix.com/GPX/1/1"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
    ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
    " http://www.topografix.com/GPX/1/1/gpx.xsd"
    " http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
    ' http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd">'
)


def track_path(folder: Path, workout: Workout) -> Path:
    """`<yyyy-mm-dd>-<sport>.gpx`, the local date it started."""
    return folder / f"{workout.start.date().isoformat()}-{workout.sport}.gpx"


def write_track(folder: Path, workout: Workout) -> Path:
    """Write one workout (or the bus ride) as a one-track GPX file; returns its path."""
    path = track_path(folder, workout)
    write_lines(path, _track_gpx(workout.plan.name, workout.sport, workout.points))
    return path


def write_favourites(path: Path, places: Iterable[Place]) -> Path:
    """A GPX file of saved places: <wpt> only, no times, as map apps export favourites."""
    write_lines(path, _waypoint_gpx(places))
    return path


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write text lines as UTF-8 with `\\n` endings: the same bytes on every platform."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as file:
        file.writelines(lines)


def _track_gpx(name: str, sport: str, points: Iterable[TrackPoint]) -> Iterator[str]:
    """The lines of a one-track GPX file, in the element order GPX 1.1 requires."""
    points = list(points)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _GPX_OPEN.format(creator=quoteattr(GPX_CREATOR)) + "\n"
    yield f" <metadata>\n  <time>{points[0].at.isoformat()}</time>\n </metadata>\n"
    yield f" <trk>\n  <name>{escape(name)}</name>\n  <type>{escape(sport)}</type>\n"
    yield "  <trkseg>\n"
    for p in points:
        yield (
            f'   <trkpt lat="{p.lat:.7f}" lon="{p.lon:.7f}"><ele>{p.ele_m:.1f}</ele>'
            f"<time>{p.at.isoformat()}</time>{_extensions(p)}</trkpt>\n"
        )
    yield "  </trkseg>\n </trk>\n</gpx>\n"


def _extensions(point: TrackPoint) -> str:
    """Garmin's TrackPointExtension, or nothing for a phone without sensors."""
    fields = ""
    if point.hr_bpm is not None:
        fields += f"<gpxtpx:hr>{point.hr_bpm}</gpxtpx:hr>"
    if point.cadence is not None:
        fields += f"<gpxtpx:cad>{point.cadence}</gpxtpx:cad>"
    if not fields:
        return ""
    return (
        f"<extensions><gpxtpx:TrackPointExtension>{fields}"
        "</gpxtpx:TrackPointExtension></extensions>"
    )


def _waypoint_gpx(places: Iterable[Place]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _GPX_OPEN.format(creator=quoteattr(GPX_CREATOR)) + "\n"
    for place in places:
        yield (
            f' <wpt lat="{place.lat:.7f}" lon="{place.lon:.7f}">\n'
            f"  <ele>{place.ele_m:.1f}</ele>\n"
            f"  <name>{escape(place.name)}</name>\n"
            "  <sym>Flag, Blue</sym>\n"
            " </wpt>\n"
        )
    yield "</gpx>\n"
