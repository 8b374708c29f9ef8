"""Google Location History and Timeline, in each of the shapes Google exported it.

Google has no published schema for these files; the shapes below are the ones
its exports have had (https://support.google.com/maps/answer/6258979 says what
is exported, not how). Each is recognised by its content, never its name, so
the files are found inside a Takeout zip under any localised folder name
(`Location History`, `Standortverlauf`, `Historial de ubicaciones`...):

- **Records** (`Records.json`, and the older `Location History.json`):
  `{"locations": [...]}`, every raw position -> `location_points`, source
  `google_records`. Files of several GB are streamed: `_google_stream` cuts the
  array into pieces, DuckDB's JSON reader decodes them (see `_google_records`).
- **Semantic Location History** (monthly `2019_JANUARY.json`):
  `{"timelineObjects": [...]}`, `placeVisit` -> `visits`, `activitySegment` ->
  `trips`, their `simplifiedRawPath` points -> `location_points` (source `google_semantic`).
- **On-device Timeline, Android** (`Timeline.json`): `{"semanticSegments": [...],
  "rawSignals": [...], "userLocationProfile": {...}}`; `visit` -> `visits`,
  `activity` -> `trips`, `timelinePath` points and `rawSignals` positions ->
  `location_points` (source `google_timeline`). Coordinates are `"48.1°, 11.5°"`.
- **On-device Timeline, iOS** (`location-history.json`): a top-level array of
  segments with `"geo:48.1,11.5"` coordinates and numbers written as strings;
  mapped like the Android file.
- **Timeline Edits** (`Timeline Edits.json`): `{"timelineEdits": [...]}`; each
  `rawSignal.signal.position` -> `location_points` (source `google_timeline_edits`).

The Timeline shapes are read by `_google_timeline`, whose docstring details
what goes where. Visits and trips from Google have `derived = false`.

Google writes UTC instants (`Z`); the on-device exports sometimes an offset
too. `utc_offset_min` is the written offset where there is one, else the
segment's `startTimeTimezoneUtcOffsetMinutes`, else the offset of the time zone
at the coordinates at that instant (`_local_offsets`, offline: tzfpy's zone
boundaries and zoneinfo's rules).

A file that is not JSON, or ends early, is a ParseError naming the line; a
record without a usable time or place is rejected with its line, the rest kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from selfdata.errors import ParseError
from selfdata.importers._google_records import read_records
from selfdata.importers._google_stream import CHUNK_BYTES, JsonStream
from selfdata.importers._google_timeline import read_timeline
from selfdata.importers.base import Batch, Source

__all__ = ["detect", "kind_of", "name", "patterns", "read", "tables", "version"]

name = "google_location"
version = "1"
patterns = (
    "Records.json",
    "Location History.json",
    "Timeline.json",
    "location-history.json",
    "Timeline Edits.json",
    "[12][0-9][0-9][0-9]_*.json",
)
tables = ("location_points", "visits", "trips")

# What the root object's first key says about the file.
_FIRST_KEY = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"(\w+)"\s*:')
_KIND_OF_KEY = {
    b"locations": "records",
    b"timelineObjects": "semantic",
    b"semanticSegments": "timeline",
    b"rawSignals": "timeline",
    b"userLocationProfile": "timeline",
    b"timelineEdits": "edits",
}
_ARRAY = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\[\s*\{")
_START_TIME = re.compile(rb'"startTime"\s*:\s*"\d{4}-\d\d-\d\d')
_SEGMENT_KEYS = re.compile(rb'"(?:visit|activity|timelinePath|timelineMemory)"\s*:')


def detect(head: bytes, filename: str) -> bool:
    """True when the head is one of Google's location exports (whatever the file's name).

    Example:
        >>> detect(b'{\\n  "locations": [{\\n    "latitudeE7": 481234567,', "Records.json")
        True
        >>> detect(b'[{"startTime": "2023-08-27T15:48:56Z", "visit": {"topCandidate": {', "x")
        True
    """
    return kind_of(head) is not None


def kind_of(head: bytes) -> str | None:
    """Which export the head starts: records, semantic, timeline, ios or edits (None: not ours).

    Example:
        >>> kind_of(b'\\xef\\xbb\\xbf{"timelineObjects": [{"placeVisit": {')
        'semantic'
    """
    match = _FIRST_KEY.match(head)
    if match:
        kind = _KIND_OF_KEY.get(match.group(1))
        if kind == "records" and b'"latitudeE7"' not in head and b'"timestampMs"' not in head:
            return None  # some other file's `locations`
        return kind
    if _ARRAY.match(head) and _START_TIME.search(head) and _SEGMENT_KEYS.search(head):
        return "ios"
    return None


def read(source: Source) -> Iterator[Batch]:
    """Stream the file's rows, in batches per table.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/google_location/Records.json")))
        >>> sorted({batch.table for batch in batches})
        ['location_points']
    """
    kind = kind_of(source.head())
    if kind is None:
        raise ParseError(source.display_name, "not a Google location export, at line 1")
    with source.open() as raw:
        stream = JsonStream(raw, source.display_name, CHUNK_BYTES)
        stream.root()
        if kind == "records":
            for table in read_records(stream, source):
                yield Batch("location_points", table)
        else:
            yield from read_timeline(stream, source, kind)
