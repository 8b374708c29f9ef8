"""The Green Button importer: detection, ESPI feeds, DST rules, the CSV download, the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from selfdata import open_vault, xmlsafe
from selfdata.errors import IngestError, ParseError
from selfdata.importers import Registry, green_button
from selfdata.importers import _green_button_espi as espi
from selfdata.importers.base import Reject, Source
from selfdata.ingest import FileResult, import_paths

DATA = Path(__file__).parent / "data" / "green_button"
LA = {"timezone": "America/Los_Angeles"}
PG_AND_E = "1234567890/Service 1"

Rows = list[dict[str, Any]]


def read_rows(path: Path, options: dict[str, Any] | None = None) -> tuple[Rows, Source]:
    """Every batch's rows, `extra` parsed, and the source with its rejects and repairs."""
    source = Source(path, options=options or {})
    rows: Rows = []
    for batch in green_button.read(source):
        assert batch.table == "energy_readings"
        rows.extend(batch.rows.to_pylist())
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return rows, source


def write_feed(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:espi="http://naesb.org/espi">\n{entries}\n</feed>\n',
        encoding="utf-8",
    )
    return path


def block(href: str, *readings: tuple[int, int, int]) -> str:
    """An IntervalBlock entry with (start, duration, value) readings."""
    body = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>{duration}</espi:duration>"
        f"<espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value>"
        "</espi:IntervalReading>"
        for start, duration, value in readings
    )
    return (
        f'<entry><link rel="self" href="{href}"/><content>'
        f"<espi:IntervalBlock>{body}</espi:IntervalBlock></content></entry>"
    )


def entry(href: str, resource: str, *related: str) -> str:
    links = "".join(f'<link rel="related" href="{r}"/>' for r in related)
    return f'<entry><link rel="self" href="{href}"/>{links}<content>{resource}</content></entry>'


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def import_files(paths: list[Path], vault: Path, **options: Any) -> list[FileResult]:
    registry = Registry()
    registry.register(green_button, origin="builtin")
    return import_paths(paths, vault=vault, registry=registry, options=options or None)


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


# detect


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="x"?>\n'
        b"<!-- a long licence header -->\n"
        b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">',
        b'<ns1:feed xmlns:ns0="http://naesb.org/espi" xmlns:ns1="http://www.w3.org/2005/Atom">',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<atom:feed xmlns:atom="x"><atom:entry><atom:content>'
        b"<ns:UsagePoint>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content>\n'
        b'<ApplicationInformation xmlns="http://naesb.org/espi">',
        b'Name,JANE DOE\r\nAddress,"1 MAIN ST, TOWN CA"\r\nAccount Number,1234567890\r\n'
        b"Service,Service 1\r\n\r\nTYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\r\n",
        b"\xef\xbb\xbfTYPE,DATE,START TIME,END TIME,IMPORT (kWh),EXPORT (kWh),COST\n",
        b'"TYPE","DATE","START TIME","END TIME","USAGE","UNITS","COST","NOTES"\n',
    ],
    ids=["nist-sample", "pge-prefixes", "atom-prefix", "utilityapi", "csv", "csv-solar", "quoted"],
)
def test_detect_accepts_green_button_heads(head: bytes) -> None:
    assert green_button.detect(head, "download")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<gpx version="1.1" creator="x"><trk>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Blog post</title>',
        b"Date,Description,Amount\n2024-01-01,Coffee,-3.50\n",
        b"Name,JANE DOE\nAccount Number,1\n\nDate,Description,Amount\n",
        b"TYPE,DATE\n",
    ],
    ids=["gpx", "plain-atom", "bank-csv", "preamble-other-header", "short-header"],
)
def test_detect_refuses_other_files(head: bytes) -> None:
    assert not green_button.detect(head, "download")


# ESPI feeds


def test_electricity_feed_with_reading_type_last_gives_whole_rows() -> None:
    rows, source = read_rows(DATA / "electricity_multiplier.xml")
    meter = "DataCustodian/espi/1_1/resource/RetailCustomer/7/UsagePoint/1"
    common = {"meter_id": meter, "commodity": "electricity", "duration_s": 3600, "unit": "kWh"}
    assert rows == [
        # 01:00 PST, an hour before the clocks go forward (second Sunday of March).
        {
            **common,
            "start_at": utc(2024, 3, 10, 9),
            "utc_offset_min": -480,
            "quantity": 1.25,  # 1250000 x 10^-3 Wh
            "cost": Decimal("0.3125"),  # 31250 hundred-thousandths of a dollar
            "currency": "USD",
            "extra": None,
        },
        {
            **common,
            "start_at": utc(2024, 3, 10, 10),
            "utc_offset_min": -420,
            "quantity": 0.9805,
            "cost": Decimal("0.24513"),  # exact: the column keeps ESPI's 5 places
            "currency": "USD",
            "extra": {"quality": "estimated_reference_day"},
        },
        {
            **common,
            "start_at": utc(2024, 3, 10, 11),
            "utc_offset_min": -420,
            "quantity": 0.001,
            "cost": Decimal("0.00025"),  # 25 hundred-thousandths, kept
            "currency": "USD",
            "extra": {"tou": 1},
        },
    ]
    assert source.rejects == []
    assert source.repairs == {
        "UsageSummary entries skipped (bill totals, not interval readings)": 1
    }


def test_gas_feed_with_an_empty_kind_takes_the_commodity_from_the_therm_unit() -> None:
    rows, source = read_rows(DATA / "gas_monthly.xml")
    common = {"meter_id": "v1/User/55/UsagePoint/GAS_1", "commodity": "gas", "unit": "therm"}
    # tzOffset -18000 and DST rules FFFFFFFF: Eastern standard time all year.
    common |= {"utc_offset_min": -300, "currency": "CAD", "extra": None}
    assert rows == [
        {
            **common,
            "start_at": datetime(2024, 1, 1, 5, 0, 0, 500000, tzinfo=UTC),  # 1704085200.5
            "duration_s": 2678400,
            "quantity": 45.0,
            "cost": Decimal("67.8000"),
        },
        {
            **common,
            "start_at": utc(2024, 2, 1, 5),
            "duration_s": 2505600,
            "quantity": 38.5,
            "cost": Decimal("58.12345"),
        },
        {
            **common,
            "start_at": utc(2024, 3, 1, 5),
            "duration_s": 2678400,
            "quantity": 20.0,
            "cost": Decimal("31.5000"),
        },
    ]
    assert (source.rejects, source.repairs) == ([], {})


def test_bulk_feed_keeps_each_usage_point_and_the_solar_series_apart() -> None:
    rows, source = read_rows(DATA / "bulk_two_usage_points.xml")
    got = [
        (r["meter_id"], r["commodity"], r["start_at"], r["duration_s"], r["quantity"], r["unit"])
        for r in rows
    ]
    electric, gas = "RetailCustomer/9/UsagePoint/1", "RetailCustomer/9/UsagePoint/2"
    quarter, quarter_past = utc(2024, 7, 1, 4), utc(2024, 7, 1, 4, 15)
    assert got == [
        (electric, "electricity", quarter, 900, 0.25, "kWh"),
        (electric, "electricity", quarter_past, 900, 0.3, "kWh"),
        (f"{electric}#reverse", "electricity", quarter, 900, 0.0, "kWh"),
        (f"{electric}#reverse", "electricity", quarter_past, 900, 0.12, "kWh"),
        # No <duration>: the ReadingType's intervalLength. 152 x 10^-2 m3.
        (gas, "gas", quarter, 86400, 1.52, "m3"),
    ]
    assert {r["utc_offset_min"] for r in rows} == {-240}  # EDT, from the shared rules
    assert source.repairs == {
        "UsageSummary entries skipped (bill totals, not interval readings)": 1
    }


def test_partial_feed_without_reading_type_assumes_wh_and_keeps_repeats_once() -> None:
    rows, source = read_rows(DATA / "partial_no_reading_type.xml")
    meter = "GreenButtonConnect/espi/1_1/resource/Subscription/0/UsagePoint/1"
    extra = {"assumed_unit": "Wh", "commodity_assumed": True, "quality": "validated"}
    common = {"meter_id": meter, "commodity": "electricity", "utc_offset_min": None}
    common |= {"duration_s": 3600, "unit": "kWh", "cost": None, "currency": None, "extra": extra}
    assert rows == [
        {**common, "start_at": utc(2015, 4, 30, 7), "quantity": 86.4},
        {**common, "start_at": utc(2015, 4, 30, 8), "quantity": 33.0},
    ]
    assert source.repairs == {
        "IntervalBlocks without a unit of measure read as Wh": 2,
        "repeated IntervalReadings kept once": 1,
    }


def test_bad_readings_are_rejected_with_their_lines_and_the_rest_kept() -> None:
    rows, source = read_rows(DATA / "bad_readings.xml")
    assert [(r["start_at"], r["quantity"]) for r in rows] == [(utc(2024, 1, 1), 0.5)]
    reading = "<IntervalReading>"
    assert source.rejects == [
        Reject("energy_readings", f"{reading} without <timePeriod><start>", 8),
        Reject("energy_readings", f"{reading} without <value>", 9),
        Reject("energy_readings", f"{reading} value 'n/a' is not a number", 10),
        Reject("energy_readings", f"{reading} start 'yesterday' is not epoch seconds", 11),
        Reject(
            "energy_readings",
            f"{reading} has no <duration> and its ReadingType no intervalLength",
            12,
        ),
        Reject("energy_readings", f"{reading} cost 'free' is not a number", 13),
    ]


def test_truncated_feed_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="cut off") as raised:
        read_rows(DATA / "truncated.xml")
    assert raised.value.line == 42
    assert raised.value.path.endswith("truncated.xml")


def test_a_root_other_than_an_atom_feed_or_entry_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "summary.xml"
    path.write_text('<UsagePoint xmlns="http://naesb.org/espi"><ServiceCategory/></UsagePoint>')
    with pytest.raises(ParseError, match="root element is <UsagePoint>"):
        read_rows(path)


def test_a_bare_entry_document_is_read(tmp_path: Path) -> None:
    path = tmp_path / "entry.xml"
    path.write_text(
        '<entry xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">'
        + block("User/1/UsagePoint/3/MeterReading/1/IntervalBlock/1", (1704067200, 3600, 700))[7:]
    )
    rows, _ = read_rows(path)
    assert [(r["meter_id"], r["quantity"]) for r in rows] == [("User/1/UsagePoint/3", 0.7)]


def test_a_reading_timezone_wins_and_an_unreadable_dst_rule_gives_standard_time(
    tmp_path: Path,
) -> None:
    rules = (
        "<espi:LocalTimeParameters><espi:dstEndRule>B40E</espi:dstEndRule>"
        "<espi:dstOffset>3600</espi:dstOffset><espi:dstStartRule>B60E</espi:dstStartRule>"
        "<espi:tzOffset>-28800</espi:tzOffset></espi:LocalTimeParameters>"
    )
    own_zone = block("U/1/MeterReading/1/IntervalBlock/1", (1719806400, 3600, 1)).replace(
        "</espi:start>", "</espi:start><espi:timezone>-0500</espi:timezone>"
    )
    path = write_feed(
        tmp_path,
        entry("LocalTimeParameters/1", rules)
        + own_zone
        + block("U/1/MeterReading/2/IntervalBlock/1", (1719806400, 3600, 2)),
    )
    rows, source = read_rows(path)
    # July: daylight time in truth, but SCE's truncated rules cannot say so.
    assert [(r["meter_id"], r["utc_offset_min"]) for r in rows] == [("U/1", -300), ("U/1", -480)]
    assert "unreadable DST rule in LocalTimeParameters: standard time used" in source.repairs


def test_rates_and_money_series_get_their_own_meter_id(tmp_path: Path) -> None:
    reading_type = "<espi:ReadingType><espi:uom>{}</espi:uom><espi:currency>978</espi:currency>"
    reading_type += "<espi:powerOfTenMultiplier>{}</espi:powerOfTenMultiplier></espi:ReadingType>"
    feed = (
        entry("UP/1", "<espi:UsagePoint/>")
        + entry("UP/1/MeterReading/kw", "<espi:MeterReading/>", "RT/kw")
        + entry("UP/1/MeterReading/eur", "<espi:MeterReading/>", "RT/eur")
        + entry("RT/kw", reading_type.format(38, 0))
        + entry("RT/eur", reading_type.format(80, -2))
        + block("UP/1/MeterReading/kw/IntervalBlock/1", (1704067200, 900, 2400))
        + block("UP/1/MeterReading/eur/IntervalBlock/1", (1704067200, 900, 37))
    )
    rows, _ = read_rows(write_feed(tmp_path, feed))
    got = [(r["meter_id"], r["commodity"], r["quantity"], r["unit"], r["extra"]) for r in rows]
    assert got == [
        ("UP/1#kW", "electricity", 2.4, "kW", None),
        ("UP/1#cost", "electricity", 0.37, "EUR", {"commodity_assumed": True}),
    ]


def test_readings_that_share_a_start_but_differ_are_all_kept(tmp_path: Path) -> None:
    # The NGMA gas provider file writes its export time as every bill's start.
    feed = block("U/1/MeterReading/1/IntervalBlock/1", (1721154384, 2505600, 12000)) + block(
        "U/1/MeterReading/1/IntervalBlock/2", (1721154384, 2505600, 43000)
    )
    rows, source = read_rows(write_feed(tmp_path, feed))
    assert [r["quantity"] for r in rows] == [12.0, 43.0]
    assert "repeated IntervalReadings kept once" not in source.repairs


def test_accumulation_other_than_interval_data_is_said_in_extra(tmp_path: Path) -> None:
    reading_type = "<espi:ReadingType><espi:accumulationBehaviour>1</espi:accumulationBehaviour>"
    reading_type += "<espi:uom>72</espi:uom></espi:ReadingType>"
    feed = entry("RT/1", reading_type) + block("U/1/MeterReading/1/IntervalBlock/1", (0, 60, 5))
    rows, _ = read_rows(write_feed(tmp_path, feed))
    assert [r["extra"] for r in rows] == [{"accumulation": "bulk_quantity"}]


def test_small_chunks_and_batches_give_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = DATA / "electricity_multiplier.xml"
    whole, _ = read_rows(path)
    monkeypatch.setattr(green_button, "BATCH_ROWS", 2)
    monkeypatch.setattr(xmlsafe, "CHUNK_BYTES", 64)
    sizes = [batch.rows.num_rows for batch in green_button.read(Source(path))]
    pieces, _ = read_rows(path)
    assert (sizes, pieces) == ([2, 1], whole)


# DST rules


@pytest.mark.parametrize(
    ("rule", "year", "expected"),
    [
        ("360E2000", 2024, datetime(2024, 3, 10, 2)),  # second Sunday of March
        ("B40E2000", 2024, datetime(2024, 11, 3, 2)),  # first Sunday of November
        ("3E0E1000", 2024, datetime(2024, 3, 31, 1)),  # EU: last Sunday of March, 01:00
        ("A40E2000", 2024, datetime(2024, 10, 6, 2)),  # AU: first Sunday of October
        ("41A00708", 2024, datetime(2024, 4, 26, 0, 30)),  # 26 April, 1800 s past midnight
        ("328E2000", 2024, datetime(2024, 3, 10, 2)),  # the Sunday on or after the 8th
    ],
    ids=["us-start", "us-end", "eu-last", "au-first", "fixed-day", "on-or-after"],
)
def test_dst_rules_decode_to_the_day_and_time(rule: str, year: int, expected: datetime) -> None:
    decoded = espi.dst_rule(rule)
    assert decoded is not None
    assert espi.transition(decoded, year) == expected


@pytest.mark.parametrize("rule", ["B40E", "zz", "0"])
def test_unreadable_dst_rules_raise_value_error(rule: str) -> None:
    with pytest.raises(ValueError):
        espi.dst_rule(rule)


def test_offsets_follow_the_rules_in_both_hemispheres() -> None:
    eastern = espi.LocalTime(-18000, 3600, espi.dst_rule("360E2000"), espi.dst_rule("B40E2000"))
    # 06:59 and 07:00 UTC on 10 March 2024 are 01:59 EST and 03:00 EDT.
    change = np.array([1710053940, 1710054000]) * 1_000_000
    assert espi.offsets_min(change, eastern).tolist() == [-300, -240]
    # 05:59 and 06:00 UTC on 3 November are 01:59 EDT and 01:00 EST.
    back = np.array([1730613540, 1730613600]) * 1_000_000
    assert espi.offsets_min(back, eastern).tolist() == [-240, -300]
    sydney = espi.LocalTime(36000, 3600, espi.dst_rule("A40E2000"), espi.dst_rule("440E3000"))
    january, july = np.array([1704067200, 1719792000]) * 1_000_000
    assert espi.offsets_min(np.array([january, july]), sydney).tolist() == [660, 600]


# CSV download


def test_csv_download_reads_the_hour_the_clocks_go_back_twice() -> None:
    rows, source = read_rows(DATA / "pge_electric_dst.csv", LA)
    common = {"meter_id": PG_AND_E, "commodity": "electricity", "duration_s": 3600}
    common |= {"unit": "kWh", "currency": "USD", "extra": {"timezone": "America/Los_Angeles"}}
    assert rows == [
        {**common, "start_at": utc(2024, 11, 3, 6), "utc_offset_min": -420, "quantity": 0.41,
         "cost": Decimal("0.1400")},
        {**common, "start_at": utc(2024, 11, 3, 7), "utc_offset_min": -420, "quantity": 0.38,
         "cost": Decimal("0.1300")},
        # 01:00 PDT, then 01:00 PST: the file lists that hour twice.
        {**common, "start_at": utc(2024, 11, 3, 8), "utc_offset_min": -420, "quantity": 0.35,
         "cost": Decimal("0.1200")},
        {**common, "start_at": utc(2024, 11, 3, 9), "utc_offset_min": -480, "quantity": 0.33,
         "cost": Decimal("0.1100")},
        {**common, "start_at": utc(2024, 11, 3, 10), "utc_offset_min": -480, "quantity": 0.3,
         "cost": Decimal("0.1000"),
         "extra": {"timezone": "America/Los_Angeles", "notes": "Estimated"}},
    ]  # fmt: skip
    assert (source.rejects, source.repairs) == ([], {})


def test_csv_gas_download_has_daily_therms() -> None:
    rows, _ = read_rows(DATA / "pge_gas_daily.csv", LA)
    got = [(r["meter_id"], r["commodity"], r["start_at"], r["duration_s"]) for r in rows]
    assert got == [
        ("1234567890/Service 2", "gas", utc(2024, 1, day, 8), 86400) for day in (1, 2, 3)
    ]
    assert [(r["quantity"], r["unit"], r["cost"]) for r in rows] == [
        (1.02, "therm", Decimal("1.4500")),
        (0.98, "therm", Decimal("1.3900")),
        (2.1, "therm", Decimal("2.9800")),
    ]


def test_csv_solar_download_gives_export_its_own_meter_id() -> None:
    rows, source = read_rows(DATA / "solar_import_export.csv", LA)
    got = [(r["meter_id"], r["start_at"], r["quantity"], r["cost"], r["currency"]) for r in rows]
    assert got == [
        ("green_button_csv", utc(2024, 6, 1, 19), 0.0, Decimal("-0.0600"), "USD"),
        ("green_button_csv", utc(2024, 6, 1, 19, 15), 0.05, Decimal("-0.0300"), "USD"),
        ("green_button_csv", utc(2024, 6, 1, 19, 30), 0.12, Decimal("0.0200"), "USD"),
        # A blank EXPORT (the last row) is no reading.
        ("green_button_csv#reverse", utc(2024, 6, 1, 19), 0.42, None, None),
        ("green_button_csv#reverse", utc(2024, 6, 1, 19, 15), 0.31, None, None),
    ]
    assert {(r["duration_s"], r["utc_offset_min"], r["unit"]) for r in rows} == {(900, -420, "kWh")}
    assert source.repairs == {
        "no Account Number or Service in the preamble: meter_id green_button_csv": 1
    }


def test_csv_bad_rows_are_rejected_with_their_lines() -> None:
    rows, source = read_rows(DATA / "bad_rows.csv", LA)
    assert [(r["start_at"], r["utc_offset_min"]) for r in rows] == [
        (utc(2024, 3, 10, 9), -480),
        (utc(2024, 3, 10, 10), -420),  # 03:00 PDT follows 01:00 PST
    ]
    assert source.rejects == [
        Reject(
            "energy_readings",
            "local time 2024-03-10 02:00:00 does not exist in America/Los_Angeles",
            6,
        ),
        Reject("energy_readings", "DATE '2024-13-10' is not a date", 8),
        Reject("energy_readings", "USAGE is empty", 9),
        Reject("energy_readings", "COST 'about $1' is not an amount", 10),
    ]


def test_csv_without_a_timezone_option_is_read_as_utc_and_says_so() -> None:
    rows, source = read_rows(DATA / "pge_gas_daily.csv")
    first = rows[0]
    assert (first["start_at"], first["utc_offset_min"], first["extra"]) == (
        utc(2024, 1, 1),
        0,
        {"timezone": "UTC"},
    )
    assert source.repairs == {"no [importers.green_button] timezone: local times read as UTC": 1}


def test_csv_with_a_bad_timezone_option_says_how_to_fix_it() -> None:
    with pytest.raises(IngestError, match=r"\[importers.green_button\] timezone = .Mars/Olympus"):
        read_rows(DATA / "pge_gas_daily.csv", {"timezone": "Mars/Olympus"})


def test_csv_options_set_the_currency(tmp_path: Path) -> None:
    path = tmp_path / "hydro.csv"
    path.write_text(
        "TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\n"
        'Electric usage,2024-01-01,00:00,01:00,"1,250.5",Wh,$0.10,\n'
    )
    rows, _ = read_rows(path, {"timezone": "America/Toronto", "currency": "CAD"})
    assert [(r["duration_s"], r["quantity"], r["currency"]) for r in rows] == [
        (3600, 1.2505, "CAD")  # 01:00 is on a boundary: the interval's end, exclusive
    ]


def test_csv_without_a_usage_column_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Account Number,1\n\nTYPE,DATE,START TIME,END TIME,READING\n")
    with pytest.raises(ParseError, match="no USAGE or IMPORT") as raised:
        read_rows(path, LA)
    assert raised.value.line == 3


# through the engine


def test_feed_lands_in_the_vault_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    path = DATA / "electricity_multiplier.xml"
    [first] = import_files([path], vault)
    assert (first.status, first.importer, first.new) == (
        "imported",
        "green_button",
        {"energy_readings": 3},
    )
    assert query(
        vault,
        "SELECT sum(quantity), sum(cost), min(start_at)::VARCHAR, max(utc_offset_min) "
        "FROM energy_readings",
    ) == [(pytest.approx(2.2315), Decimal("0.55788"), "2024-03-10 09:00:00+00", -420)]
    [again] = import_files([path], vault)
    assert again.status == "already_imported"


def test_a_copy_with_different_bytes_adds_zero_rows(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    original = DATA / "bulk_two_usage_points.xml"
    import_files([original], vault)
    copy = tmp_path / "again.xml"
    copy.write_text(original.read_text(encoding="utf-8") + "<!-- downloaded again -->\n")
    [again] = import_files([copy], vault)
    assert (again.status, again.new, again.duplicate) == (
        "imported",
        {"energy_readings": 0},
        {"energy_readings": 5},
    )


def test_csv_import_with_its_option_and_a_repeat_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    path = DATA / "pge_electric_dst.csv"
    [first] = import_files([path], vault, timezone="America/Los_Angeles")
    assert (first.status, first.new) == ("imported", {"energy_readings": 5})
    assert query(
        vault,
        "SELECT count(*) FROM energy_readings WHERE CAST(start_at AT TIME ZONE 'UTC' "
        "+ to_minutes(utc_offset_min) AS TIME) = TIME '01:00'",
    ) == [(2,)]
    copy = tmp_path / "pge_again.csv"
    copy.write_bytes(path.read_bytes() + b"\r\n")
    [again] = import_files([copy], vault, timezone="America/Los_Angeles")
    assert (again.new, again.duplicate) == ({"energy_readings": 0}, {"energy_readings": 5})


def test_a_truncated_feed_fails_and_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_files([DATA / "gas_monthly.xml"], vault)
    [result] = import_files([DATA / "truncated.xml"], vault)
    assert result.status == "failed"
    assert isinstance(result.error, ParseError) and result.error.line == 42
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM energy_readings") == [
        (3, 1)
    ]


def test_rejects_and_repairs_are_recorded_in_the_imports_row(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [result] = import_files([DATA / "bad_readings.xml"], vault)
    assert result.rejected == {"energy_readings": 6}
    [(status, rejected, extra)] = query(vault, "SELECT status, rows_rejected, extra FROM imports")
    assert (status, json.loads(rejected)) == ("ok_with_rejects", {"energy_readings": 6})
    assert json.loads(extra)["repairs"] == {
        "IntervalBlocks without a unit of measure read as Wh": 1
    }
