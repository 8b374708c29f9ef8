"""The demo persona writes every export format as real apps do, and knows what it wrote.

Each file is checked against its real format here (layout, quirks, what the
importer that reads it needs); `test_demo_truth.py` imports them all and
compares the analytics with the truth.
"""

from __future__ import annotations

import atexit
import csv
import functools
import importlib
import importlib.util
import itertools
import json
import math
import re
import shutil
import struct
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
from selfdata.demo._devices import PHONE, WATCH
from selfdata.demo._ledger import ledger
from selfdata.demo._life import plan_life
from selfdata.demo._persona import ALEX
from selfdata.importers import BUILTIN_IMPORTERS, Registry, Source

NS = {
    "gpx": "http://www.topografix.com/GPX/1/1",
    "gpxtpx": "http://www.garmin.com/xmlschemas/TrackPointExtension/v1",
    "camt": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
    "atom": "http://www.w3.org/2005/Atom",
    "espi": "http://naesb.org/espi",
}
LONDON = ZoneInfo("Europe/London")
MADRID = ZoneInfo("Europe/Madrid")
EXPORT_XML = "apple_health_export/export.xml"
GOOGLE = "selfdata.importers.google_location"


@dataclass(frozen=True)
class Demo:
    folder: Path
    paths: list[Path]
    truth: DemoTruth
    seconds: float


@functools.cache
def default_demo() -> Demo:
    """The default demo, generated once per test run (test_demo_truth.py uses it too)."""
    folder = Path(tempfile.mkdtemp(prefix="selfdata-demo-"))
    atexit.register(shutil.rmtree, folder, True)
    started = time.perf_counter()
    paths, truth = generate(folder)
    return Demo(folder, paths, truth, time.perf_counter() - started)


@pytest.fixture
def demo() -> Demo:
    return default_demo()


# -- The whole demo ------------------------------------------------------------


def test_same_seed_and_today_give_byte_identical_files(demo: Demo, tmp_path: Path) -> None:
    again = write_demo(tmp_path)
    assert [p.relative_to(tmp_path) for p in again] == [
        p.relative_to(demo.folder) for p in demo.paths
    ]
    for a, b in zip(demo.paths, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_another_year(demo: Demo, tmp_path: Path) -> None:
    other = write_demo(tmp_path, seed=8)
    records = Path("google/Takeout/Location History/Records.json")
    assert (tmp_path / records).read_bytes() != (demo.folder / records).read_bytes()
    assert {p.name for p in other if p.suffix == ".gpx"} != {
        p.name for p in demo.paths if p.suffix == ".gpx"
    }


def test_write_demo_returns_every_file_it_writes(demo: Demo) -> None:
    written = sorted(p for p in demo.folder.rglob("*") if p.is_file())
    assert sorted(demo.paths) == written
    assert Counter(p.relative_to(demo.folder).parts[0] for p in demo.paths) == {
        "apple_health": 1,
        "google": 9,  # Records.json, seven months of Semantic Location History, Timeline.json
        "bank": 27,  # one Monzo CSV; 13 monthly OFX and camt files (30 June is a month too)
        "energy": 1,
        "gpx": 38,  # 36 workouts, the bus ride, the favourites
        "fit": 14,
    }


def test_the_default_demo_is_quick_and_not_too_big(demo: Demo) -> None:
    # A few seconds on a laptop; the bound leaves room for a busy CI machine.
    assert demo.seconds < 20
    assert sum(p.stat().st_size for p in demo.paths) < 30_000_000


def test_every_file_is_detected_by_the_importer_meant_for_it(demo: Demo) -> None:
    registry = _registry()
    expected = {
        "apple_health": "apple_health",
        "google": "google_location",
        "energy": "green_button",
        "gpx": "gpx",
        "fit": "fit",
    }
    for path in demo.paths:
        top = path.relative_to(demo.folder).parts[0]
        meant = (
            expected.get(top) or {".csv": "bank_csv", ".ofx": "ofx", ".xml": "camt"}[path.suffix]
        )
        if meant == "google_location" and "google_location" not in {r.name for r in registry}:
            continue
        if path.suffix == ".zip":
            (claim,) = registry.claims(zipfile.ZipFile(path))
            assert claim[0].name == meant
            continue
        assert registry.detect(Source(path)).name == meant, path.name


def test_years_scale_the_demo(demo: Demo, tmp_path: Path) -> None:
    _, truth = generate(tmp_path, years=2)
    assert len(truth.workouts) == 2 * len(demo.truth.workouts)
    assert truth.workouts_by_sport["hiking"] == 2
    assert len(truth.trips) == 2
    assert len(truth.daily_steps) == (DEMO_TODAY - DEMO_TODAY.replace(year=2024)).days == 730
    assert truth.countries["ES"] == 2 * demo.truth.countries["ES"]
    assert min(truth.daily_steps) == DEMO_TODAY.replace(year=2024)
    assert len(list((tmp_path / "bank").glob("*.ofx"))) == 25


@pytest.mark.parametrize("today", [date(2024, 1, 15), date(2025, 7, 12), date(2024, 2, 29)])
def test_the_period_is_the_year_before_today(today: date) -> None:
    life = plan_life(ALEX, today=today, years=1, seed=7)
    first = today.replace(year=today.year - 1, day=min(today.day, 28))
    assert life.first == first
    assert all(first <= w.start.date() < today for w in life.workouts)
    (hike,) = [w for w in life.workouts if w.sport == "hiking"]
    assert hike.start.month == 7
    assert hike.start.utcoffset() == MADRID.utcoffset(hike.start.replace(tzinfo=None))
    assert life.segments[0].start == datetime.combine(first, datetime.min.time(), LONDON)
    assert all(a.end == b.start for a, b in itertools.pairwise(life.segments))


def test_years_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="years must be 1 or more"):
        generate(tmp_path, years=0)


def test_one_plan_of_the_year_agrees_across_domains(demo: Demo) -> None:
    life = plan_life(ALEX, today=DEMO_TODAY, years=1, seed=7)
    (start,) = life.holidays
    away = {start + timedelta(days=n) for n in range(7)}
    assert demo.truth.countries == {"ES": 7, "GB": 365 - 5}  # travel days count for both
    # Sleep in Barcelona is on Madrid's clock, and so are the holiday's workouts.
    for night in life.nights:
        if night.wake.astimezone(MADRID).date() in away - {start}:
            assert night.place.zone == "Europe/Madrid"
    euros = {month for month, _, currency in demo.truth.spending if currency == "EUR"}
    assert euros == {date(2025, 7, 1)}


# -- Apple Health ----------------------------------------------------------------


def test_apple_health_zip_holds_the_export_and_every_route(demo: Demo) -> None:
    with zipfile.ZipFile(demo.folder / "apple_health" / "export.zip") as archive:
        names = archive.namelist()
        xml = archive.read(EXPORT_XML).decode()
    routes = re.findall(r'<FileReference path="/(workout-routes/[^"]+)"/>', xml)
    assert len(routes) == 22  # every run and the hike: the Watch recorded them
    assert sorted(names) == sorted(
        [EXPORT_XML, "apple_health_export/export_cda.xml"]
        + [f"apple_health_export/{r}" for r in routes]
    )
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n')
    assert "<!-- HealthKit Export Version: 13 -->" in xml
    assert '<HealthData locale="en_GB">' in xml


def test_apple_health_records_carry_the_real_quirks(demo: Demo) -> None:
    with zipfile.ZipFile(demo.folder / "apple_health" / "export.zip") as archive:
        xml = archive.read(EXPORT_XML).decode()
    records = re.findall(
        r'<Record type="HKQuantityTypeIdentifierStepCount" sourceName="([^"]+)".*?'
        r'startDate="([^"]+)" endDate="([^"]+)" value="(\d+)"',
        xml,
    )
    assert {source for source, *_ in records} == {WATCH, PHONE}
    offsets = Counter(start[-5:] for _, start, _, _ in records)
    assert set(offsets) == {"+0000", "+0100", "+0200"}  # winter, summer, Barcelona
    assert 'device="&lt;&lt;HKDevice: 0x' in xml
    assert '<MetadataEntry key="HKTimeZone" value="Europe/Madrid"/>' in xml
    assert "<InstantaneousBeatsPerMinute bpm=" in xml
    for stage in ("InBed", "AsleepCore", "AsleepDeep", "AsleepREM", "Awake"):
        assert f'value="HKCategoryValueSleepAnalysis{stage}"' in xml
    assert '<WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning"' in xml


def test_the_watch_and_the_phone_count_the_same_walks(demo: Demo) -> None:
    with zipfile.ZipFile(demo.folder / "apple_health" / "export.zip") as archive:
        xml = archive.read(EXPORT_XML).decode()
    spans: dict[str, list[tuple[datetime, datetime]]] = {"Watch": [], "iPhone": []}
    for source, start, end in re.findall(
        r'StepCount" sourceName="Alex\u2019s (Apple Watch|iPhone)".*?'
        r'startDate="([^"]+)" endDate="([^"]+)"',
        xml,
    ):
        spans["Watch" if "Watch" in source else "iPhone"].append((_apple(start), _apple(end)))
    watch = sorted(spans["Watch"])
    overlapping = sum(
        any(w0 < p1 and p0 < w1 for w0, w1 in watch[max(0, i - 3) : i + 3])
        for p0, p1 in spans["iPhone"]
        for i in [_bisect(watch, p0)]
    )
    assert overlapping > len(spans["iPhone"]) / 2  # most phone samples overlap the Watch's


def test_workout_routes_are_apple_gpx_in_utc(demo: Demo) -> None:
    with zipfile.ZipFile(demo.folder / "apple_health" / "export.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".gpx"))
        text = archive.read(name).decode()
    assert re.fullmatch(r".*/route_\d{4}-\d\d-\d\d_\d{1,2}\.\d\d[ap]m\.gpx", name)
    root = ET.fromstring(text)
    assert root.get("creator") == "Apple Health Export"
    times = [e.text or "" for e in root.iterfind(".//gpx:trkpt/gpx:time", NS)]
    assert times and all(t.endswith("Z") for t in times)
    assert re.search(r'<trkpt lon="-?\d+\.\d{6}" lat="\d+\.\d{6}">', text)
    assert "<speed>" in text and "<hAcc>" in text


# -- Google ------------------------------------------------------------------------


def test_records_json_is_takeout_shaped_and_ends_at_the_cutover(demo: Demo) -> None:
    path = demo.folder / "google/Takeout/Location History/Records.json"
    assert path.read_text(encoding="utf-8").startswith('{\n  "locations": [{\n    "latitudeE7": ')
    locations = json.loads(path.read_text(encoding="utf-8"))["locations"]
    assert all(isinstance(p["latitudeE7"], int) for p in locations)
    assert Counter(p["source"] for p in locations).keys() == {"WIFI", "GPS"}
    assert any("activity" in p for p in locations)
    times = [datetime.fromisoformat(p["timestamp"]) for p in locations]
    assert times == sorted(times)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", locations[0]["timestamp"])
    assert times[0].astimezone(LONDON).date() == date(2025, 6, 30)
    assert times[-1] < datetime(2026, 1, 1, tzinfo=LONDON)
    # The phone was in Barcelona for the holiday, and off in the air.
    assert any(41.2 < p["latitudeE7"] / 1e7 < 41.5 for p in locations)


def test_semantic_location_history_has_a_file_a_month(demo: Demo) -> None:
    folder = demo.folder / "google/Takeout/Location History/Semantic Location History"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json"))
    assert files == [
        "2025/2025_AUGUST.json",
        "2025/2025_DECEMBER.json",
        "2025/2025_JULY.json",
        "2025/2025_JUNE.json",  # the period's first day, 30 June
        "2025/2025_NOVEMBER.json",
        "2025/2025_OCTOBER.json",
        "2025/2025_SEPTEMBER.json",
    ]
    july = json.loads((folder / "2025/2025_JULY.json").read_text(encoding="utf-8"))
    objects = july["timelineObjects"]
    semantic = {
        o["placeVisit"]["location"].get("semanticType") for o in objects if "placeVisit" in o
    }
    assert {"TYPE_HOME", "TYPE_WORK"} <= semantic
    kinds = {o["activitySegment"]["activityType"] for o in objects if "activitySegment" in o}
    assert {"WALKING", "IN_SUBWAY", "FLYING", "IN_PASSENGER_VEHICLE", "IN_TRAIN"} <= kinds


def test_timeline_json_has_segments_raw_signals_and_local_offsets(demo: Demo) -> None:
    document = json.loads((demo.folder / "google/Timeline.json").read_text(encoding="utf-8"))
    assert list(document) == ["semanticSegments", "rawSignals", "userLocationProfile"]
    segments = document["semanticSegments"]
    assert {k for s in segments for k in s if k in ("visit", "activity", "timelinePath")} == {
        "visit",
        "activity",
        "timelinePath",
    }
    assert {s["startTimeTimezoneUtcOffsetMinutes"] for s in segments} == {0, 60}
    first = datetime.fromisoformat(segments[0]["startTime"])
    assert first == datetime(2026, 1, 1, tzinfo=LONDON)  # the cutover, at midnight
    latlng = segments[0]["visit"]["topCandidate"]["placeLocation"]["latLng"]
    assert re.fullmatch(r"51\.\d{7}°, -0\.\d{7}°", latlng)
    positions = [s["position"] for s in document["rawSignals"]]
    assert positions[0]["timestamp"].endswith("+00:00")
    assert any(p["timestamp"].endswith("+01:00") for p in positions)


# -- Money ---------------------------------------------------------------------------


def test_monzo_csv_is_monzos_export(demo: Demo) -> None:
    (path,) = (demo.folder / "bank").glob("MonzoDataExport_*.csv")
    assert path.name == "MonzoDataExport_2025-06-30_2026-06-29.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == [
        "Transaction ID", "Date", "Time", "Type", "Name", "Emoji", "Category", "Amount",
        "Currency", "Local amount", "Local currency", "Notes and #tags", "Address", "Receipt",
        "Description", "Category split", "Money Out", "Money In",
    ]  # fmt: skip
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", r["Date"]) for r in rows)
    assert all(re.fullmatch(r"tx_0000\w{15}", r["Transaction ID"]) for r in rows)
    coffees = Counter(
        (r["Date"], r["Name"], r["Amount"]) for r in rows if r["Name"] == "Pret A Manger"
    )
    assert max(coffees.values()) == 2  # two identical coffees on one day
    assert {"Sainsbury's", "Standing order", "Direct Debit"} <= {
        v for r in rows for v in (r["Name"], r["Type"])
    }
    assert any(r["Description"].startswith("SQ *") for r in rows)


def test_card_ofx_pays_the_holiday_in_euros(demo: Demo) -> None:
    text = (demo.folder / "bank/barclaycard_2025-07.ofx").read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<?OFX ')
    root = ET.fromstring(text[text.index("<OFX>") :])
    lines = root.findall(".//STMTTRN")
    euros = [t for t in lines if t.find("CURRENCY/CURSYM") is not None]
    assert euros and {t.findtext("CURRENCY/CURSYM") for t in euros} == {"EUR"}
    fees = [t for t in lines if t.findtext("NAME") == "NON-STERLING TRANSACTION FEE"]
    assert len(fees) == len(euros)
    assert root.findtext(".//CCACCTFROM/ACCTID") == "4929381044017734"
    fitids = [t.findtext("FITID") for t in root.iter("STMTTRN")]
    assert len(set(fitids)) == len(fitids)
    assert all(
        (t.findtext("DTUSER") or "")[:8] <= (t.findtext("DTPOSTED") or "")[:8] for t in lines
    )
    # DTUSER says GMT, so a payment in Barcelona (+02:00) is written two hours earlier.
    entries = ledger(plan_life(ALEX, today=DEMO_TODAY, years=1, seed=7), 7)
    paid = next(e.at for e in entries if e.name == "TAXI BARCELONA" and e.at)
    taxi = next(
        t
        for t in lines
        if t.findtext("FITID")
        == next(e.ref for e in entries if e.at == paid and e.name == "TAXI BARCELONA")
    )
    assert taxi.findtext("DTUSER") == f"{paid.astimezone(UTC):%Y%m%d%H%M%S}.000[0:GMT]"
    assert paid.utcoffset() == timedelta(hours=2)


def test_card_ledger_balance_is_what_is_owed(demo: Demo) -> None:
    owed = Decimal("312.45")  # the statement before the period
    for path in sorted((demo.folder / "bank").glob("barclaycard_*.ofx")):
        text = path.read_text(encoding="utf-8")
        root = ET.fromstring(text[text.index("<OFX>") :])
        for line in root.iter("STMTTRN"):
            amount = Decimal(line.findtext("TRNAMT") or "")
            rate = line.findtext("CURRENCY/CURRATE")
            owed -= (amount * Decimal(rate)).quantize(Decimal("0.01")) if rate else amount
        assert Decimal(root.findtext(".//LEDGERBAL/BALAMT") or "") == -owed, path.name


def test_savings_camt053_balances_add_up(demo: Demo) -> None:
    files = sorted((demo.folder / "bank").glob("savings_camt053_*.xml"))
    assert len(files) == 13
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag == f"{{{NS['camt']}}}Document"
        assert root.findtext(".//camt:Acct/camt:Id/camt:IBAN", namespaces=NS) == (
            "GB53THSB40512331804417"
        )
        balances = {
            b.findtext("camt:Tp/camt:CdOrPrtry/camt:Cd", namespaces=NS): _signed(b)
            for b in root.iterfind(".//camt:Bal", NS)
        }
        moved = sum((_signed(e) for e in root.iterfind(".//camt:Ntry", NS)), Decimal(0))
        assert balances["OPBD"] + moved == balances["CLBD"], path.name


def test_iban_check_digits_are_valid() -> None:
    iban = "GB53THSB40512331804417"
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    assert int(digits) % 97 == 1


# -- Energy ------------------------------------------------------------------------


def test_green_button_feed_is_hourly_on_londons_clock(demo: Demo) -> None:
    root = ET.parse(demo.folder / "energy/electricity_green_button.xml").getroot()
    local = root.find(".//espi:LocalTimeParameters", NS)
    assert local is not None
    assert [local.findtext(f"espi:{k}", namespaces=NS) for k in ("dstStartRule", "dstEndRule")] == [
        "3E0E1000",
        "AE0E2000",
    ]
    reading_type = root.find(".//espi:ReadingType", NS)
    assert reading_type is not None
    fields = {c.tag.split("}")[1]: c.text for c in reading_type}
    assert {
        "uom": "72",
        "powerOfTenMultiplier": "0",
        "currency": "826",
        "intervalLength": "3600",
        "accumulationBehaviour": "4",
    }.items() <= fields.items()
    blocks = root.findall(".//espi:IntervalBlock", NS)
    assert len(blocks) == 365
    sizes = {
        datetime.fromtimestamp(int(b.findtext("espi:interval/espi:start", namespaces=NS) or 0), UTC)
        .astimezone(LONDON)
        .date(): len(b.findall("espi:IntervalReading", NS))
        for b in blocks
    }
    assert sizes[date(2025, 10, 26)] == 25 and sizes[date(2026, 3, 29)] == 23
    assert sum(sizes.values()) == 365 * 24


# -- FIT -----------------------------------------------------------------------------


def test_fit_rides_are_valid_activity_files(demo: Demo) -> None:
    fitdecode = pytest.importorskip("fitdecode")
    rides = sorted((demo.folder / "fit").glob("*.fit"))
    assert len(rides) == demo.truth.workouts_by_sport["cycling"]
    for path in rides:
        data = path.read_bytes()
        size, _, _, body, magic = struct.unpack("<BBHI4s", data[:12])
        assert (size, magic, len(data)) == (14, b".FIT", 14 + body + 2)
    with fitdecode.FitReader(rides[0]) as reader:
        frames = [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    (session,) = [f for f in frames if f.name == "session"]
    assert (session.get_value("sport"), session.get_value("sub_sport")) == ("cycling", "road")
    records = [f for f in frames if f.name == "record"]
    assert len(records) > 100
    (activity,) = [f for f in frames if f.name == "activity"]
    offset = activity.get_raw_value("local_timestamp") - activity.get_raw_value("timestamp")
    assert offset in (0, 3600)


# -- Strava GPX (workouts, the bus ride, favourites) ---------------------------------


def test_every_gpx_file_is_gpx_1_1_as_strava_writes_it(demo: Demo) -> None:
    for path in _gpx_paths(demo):
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
    offsets = {t.path.name[:7]: t.start_at.isoformat()[-6:] for t in demo.truth.tracks}
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
    track_paths = sorted(p for p in _gpx_paths(demo) if p.name != "favourites.gpx")
    assert sorted(t.path for t in truth.tracks) == track_paths
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


def test_workouts_are_loops_and_the_bus_goes_to_work(demo: Demo) -> None:
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


def test_strava_copies_each_device_workout(demo: Demo) -> None:
    """Each workout is in Strava's GPX and in one device's file: two copies, meant for dedupe."""
    with zipfile.ZipFile(demo.folder / "apple_health" / "export.zip") as archive:
        routes = [n for n in archive.namelist() if n.endswith(".gpx")]
    rides = list((demo.folder / "fit").glob("*.fit"))
    assert len(routes) + len(rides) == len(demo.truth.workouts)


# -- helpers -----------------------------------------------------------------------


def _registry() -> Registry:
    """The built-in importers, and Google's location importer where it is not one yet."""
    registry = Registry()
    names = list(BUILTIN_IMPORTERS)
    if GOOGLE not in names and importlib.util.find_spec(GOOGLE) is not None:
        names.append(GOOGLE)
    for name in names:
        registry.register(importlib.import_module(name), origin="builtin")
    return registry


def _gpx_paths(demo: Demo) -> list[Path]:
    return [p for p in demo.paths if p.suffix == ".gpx"]


def _apple(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")


def _bisect(spans: list[tuple[datetime, datetime]], at: datetime) -> int:
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        if spans[mid][0] < at:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _signed(element: ET.Element) -> Decimal:
    amount = Decimal(element.findtext("camt:Amt", namespaces=NS) or "")
    return amount if element.findtext("camt:CdtDbtInd", namespaces=NS) == "CRDT" else -amount


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
