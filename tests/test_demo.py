"""The demo persona writes real-format GPX files that match its own `DemoTruth`."""

from __future__ import annotations

import itertools
import math
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from selfdata.demo import (
    DEMO_TODAY,
    GPX_CREATOR,
    VEHICLE_TYPES,
    DemoTruth,
    generate,
    write_demo,
)

NS = {
    "gpx": "http://www.topografix.com/GPX/1/1",
    "gpxtpx": "http://www.garmin.com/xmlschemas/TrackPointExtension/v1",
}
LONDON = ZoneInfo("Europe/London")
MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class Demo:
    folder: Path
    paths: list[Path]
    truth: DemoTruth
    seconds: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The default demo, generated once for the whole module, and how long it took."""
    folder = tmp_path_factory.mktemp("demo")
    started = time.perf_counter()
    paths, truth = generate(folder)
    return Demo(folder, paths, truth, time.perf_counter() - started)


def test_same_seed_and_today_give_byte_identical_files(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a")
    second = write_demo(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_other_tracks(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a", seed=1)
    second = write_demo(tmp_path / "b", seed=2)
    assert {p.name for p in first} != {p.name for p in second}


def test_write_demo_returns_the_files_generate_describes(demo: Demo, tmp_path: Path) -> None:
    paths = write_demo(tmp_path)
    assert [p.relative_to(tmp_path) for p in paths] == [
        p.relative_to(demo.folder) for p in demo.paths
    ]
    assert sorted(paths) == sorted(tmp_path.glob("gpx/*.gpx"))


def test_the_default_demo_is_small_and_quick(demo: Demo) -> None:
    assert len(demo.paths) < 40
    assert sum(p.stat().st_size for p in demo.paths) < 3_000_000
    assert demo.seconds < 2.0


def test_every_file_is_gpx_1_1_as_a_real_app_writes_it(demo: Demo) -> None:
    for path in demo.paths:
        root = ET.parse(path).getroot()
        assert root.tag == f"{{{NS['gpx']}}}gpx", path.name
        assert root.get("version") == "1.1"
        assert root.get("creator") == GPX_CREATOR
        assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')


def test_track_files_are_named_after_their_local_date_and_type(demo: Demo) -> None:
    for track in demo.truth.tracks:
        assert track.path.name == f"{track.start_at.date().isoformat()}-{track.sport}.gpx"
        assert _text(track.path, "gpx:trk/gpx:type") == track.sport
        assert _text(track.path, "gpx:metadata/gpx:time") == track.start_at.isoformat()


def test_every_time_carries_the_offset_of_its_zone(demo: Demo) -> None:
    for track in demo.truth.tracks:
        zone = MADRID if _points(track.path)[0].lon > 1 else LONDON
        for point in _points(track.path):
            at = datetime.fromisoformat(point.time)
            assert at.utcoffset() == at.astimezone(zone).utcoffset(), (track.path.name, point)


def test_london_times_switch_with_dst(demo: Demo) -> None:
    offsets = {p.name[:7]: _points(p)[0].time[-6:] for p in demo.paths if p.name[0] == "2"}
    assert offsets["2026-01"] == "+00:00"
    assert offsets["2025-12"] == "+00:00"
    assert offsets["2025-08"] == "+01:00"
    assert offsets["2026-05"] == "+01:00"


def test_the_holiday_hike_is_on_barcelona_summer_time(demo: Demo) -> None:
    (hike,) = [t for t in demo.truth.tracks if t.sport == "hiking"]
    assert hike.start_at.month == 7
    points = _points(hike.path)
    assert {p.time[-6:] for p in points} == {"+02:00"}
    assert all(41.3 < p.lat < 41.5 and 2.0 < p.lon < 2.3 for p in points)
    assert _text(hike.path, "gpx:trk/gpx:name") == "Collserola & Tibidabo"
    assert b"<name>Collserola &amp; Tibidabo</name>" in hike.path.read_bytes()


def test_truth_counts_match_the_files(demo: Demo) -> None:
    truth = demo.truth
    track_paths = [p for p in demo.paths if p.name != "favourites.gpx"]
    assert [t.path for t in truth.tracks] == track_paths
    types = [_text(p, "gpx:trk/gpx:type") for p in track_paths]
    workouts = [t for t in types if t not in VEHICLE_TYPES]
    assert truth.workouts_by_sport == {s: workouts.count(s) for s in sorted(set(workouts))}
    assert set(truth.workouts_by_sport) == {"cycling", "hiking", "running"}
    assert types.count("bus") == len(truth.trips) == 1
    assert truth.track_points == sum(len(_points(p)) for p in track_paths)


def test_truth_distances_and_times_come_from_the_written_points(demo: Demo) -> None:
    totals: dict[str, float] = {}
    for track in demo.truth.tracks:
        points = _points(track.path)
        distance = sum(_haversine_m(a, b) for a, b in itertools.pairwise(points))
        assert track.distance_m == pytest.approx(distance, rel=1e-9)
        assert track.points == len(points)
        assert track.start_at == datetime.fromisoformat(points[0].time)
        assert track.end_at == datetime.fromisoformat(points[-1].time)
        if track.sport not in VEHICLE_TYPES:
            totals[track.sport] = totals.get(track.sport, 0.0) + distance
    assert demo.truth.distance_m_by_sport == pytest.approx(totals, rel=1e-9)


@pytest.mark.parametrize(
    ("sport", "low", "high"),
    [("running", 2.7, 3.4), ("cycling", 5.8, 8.2), ("hiking", 1.0, 1.4), ("bus", 3.0, 7.0)],
)
def test_speeds_are_those_of_the_sport(demo: Demo, sport: str, low: float, high: float) -> None:
    tracks = [t for t in demo.truth.tracks if t.sport == sport]
    assert tracks
    for track in tracks:
        speed = track.distance_m / (track.end_at - track.start_at).total_seconds()
        assert low < speed < high, (track.path.name, speed)


def test_points_come_every_five_seconds(demo: Demo) -> None:
    for track in demo.truth.tracks:
        times = [datetime.fromisoformat(p.time) for p in _points(track.path)]
        assert {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {5.0}


def test_workouts_are_loops_and_the_commute_goes_to_work(demo: Demo) -> None:
    for track in demo.truth.tracks:
        points = _points(track.path)
        ends = _haversine_m(points[0], points[-1])
        if track.sport in VEHICLE_TYPES:
            assert 2_500 < ends < 5_000, track.path.name  # home to King's Cross
        else:
            assert ends < 20, track.path.name


def test_workouts_carry_heart_rate_and_cadence_and_the_bus_does_not(demo: Demo) -> None:
    for track in demo.truth.tracks:
        root = ET.parse(track.path).getroot()
        rates = [int(e.text or "") for e in root.iterfind(".//gpxtpx:hr", NS)]
        cadences = [int(e.text or "") for e in root.iterfind(".//gpxtpx:cad", NS)]
        if track.sport in VEHICLE_TYPES:
            assert rates == cadences == []
        else:
            assert len(rates) == len(cadences) == track.points
            assert all(60 < r < 200 for r in rates)
    ride = next(t for t in demo.truth.tracks if t.sport == "cycling")
    assert "<gpxtpx:cad>0</gpxtpx:cad>" in ride.path.read_text()  # freewheeling


def test_favourite_places_are_waypoints_without_times(demo: Demo) -> None:
    favourites = demo.folder / "gpx" / "favourites.gpx"
    root = ET.parse(favourites).getroot()
    waypoints = root.findall("gpx:wpt", NS)
    assert len(waypoints) == demo.truth.waypoints == 3
    assert [w.findtext("gpx:name", namespaces=NS) for w in waypoints] == [
        "Home",
        "Work",
        "Borough Gym & Spa",
    ]
    assert root.find(".//gpx:time", NS) is None
    assert root.find("gpx:trk", NS) is None


def test_years_scale_the_demo(demo: Demo, tmp_path: Path) -> None:
    _, truth = generate(tmp_path, years=3)
    assert len(truth.workouts) == 3 * len(demo.truth.workouts)
    assert truth.workouts_by_sport["hiking"] == 3
    assert len(truth.trips) == 3
    assert DEMO_TODAY.replace(year=2023) <= truth.tracks[0].start_at.date()


@pytest.mark.parametrize("today", [date(2024, 1, 15), date(2025, 7, 12), date(2024, 2, 29)])
def test_the_period_is_the_year_before_today(tmp_path: Path, today: date) -> None:
    _, truth = generate(tmp_path, today=today)
    first = today.replace(year=today.year - 1, day=min(today.day, 28))
    assert all(first <= t.start_at.date() < today for t in truth.tracks)
    (hike,) = [t for t in truth.workouts if t.sport == "hiking"]
    assert hike.start_at.month == 7
    assert hike.start_at.utcoffset() == MADRID.utcoffset(hike.start_at.replace(tzinfo=None))


def test_years_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="years must be 1 or more"):
        generate(tmp_path, years=0)


def test_the_gpx_importer_detects_every_demo_file(demo: Demo) -> None:
    gpx = pytest.importorskip("selfdata.importers.gpx")
    from selfdata.importers import HEAD_BYTES

    for path in demo.paths:
        assert gpx.detect(path.read_bytes()[:HEAD_BYTES], path.name), path.name


@dataclass(frozen=True)
class _TrackPoint:
    lat: float
    lon: float
    time: str


def _points(path: Path) -> list[_TrackPoint]:
    root = ET.parse(path).getroot()
    return [
        _TrackPoint(
            float(e.get("lat", "")), float(e.get("lon", "")), e.findtext("gpx:time", "", NS)
        )
        for e in root.iterfind(".//gpx:trkpt", NS)
    ]


def _text(path: Path, element: str) -> str:
    return ET.parse(path).getroot().findtext(element, default="", namespaces=NS)


def _haversine_m(a: _TrackPoint, b: _TrackPoint) -> float:
    """Written independently of the demo's own, with the same Earth radius."""
    dlat, dlon = math.radians(b.lat - a.lat), math.radians(b.lon - a.lon)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(a.lat)) * math.cos(math.radians(b.lat)) * math.sin(dlon / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
