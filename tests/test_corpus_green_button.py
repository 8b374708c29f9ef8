"""Conformance: every Green Button file in the shared real-world corpus imports through the engine.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The figures were checked
against the files themselves (reading counts, values, costs and offsets by hand
or with a regex over the XML).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, green_button
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.ingest import FileResult, import_paths

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "green_button"
FILES = sorted(CORPUS.glob("*.xml")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no Green Button corpus at {CORPUS}")

SCE = "green-button-data_BulkSCEUsageSummaryAndIntervalBlock.xml"
PGE = "green-button-data_PGEIntervalBlock.xml"
NIST = "greenbutton_objects_TestGBDataHourlyNineDaysBinnedDaily.xml"
GAS_PROVIDER = "greenbutton_objects_ngma_gas_provider_2024-07-16.xml"
GAS_BILLING = "greenbutton_objects_ngma_natural_gas_billing_2021-05-26_to_2024-04-25.xml"
UTILITY_API = "node-green-button-parser_intervals_APUC000000_electric.xml"

# Per file: rows, (commodity, unit), the offsets seen, sum of quantity, sum of cost, currency.
EXPECTED: dict[str, tuple[int, tuple[str, str], set[int | None], float, Decimal | None, Any]] = {
    # Three 15-minute readings of 210, 200, 210 Wh; cost 0. tzOffset -28800 and the
    # truncated DST rules B40E/B60E: standard time only.
    SCE: (3, ("electricity", "kWh"), {-480}, 0.62, Decimal("0"), "USD"),
    # 24 ever-growing blocks, 2556 IntervalReadings of which 2280 distinct hours.
    # No ReadingType and no LocalTimeParameters: Wh assumed, offset unknown.
    PGE: (2280, ("electricity", "kWh"), {None}, 496406.375, None, None),
    # 9 daily blocks x 24 hourly readings; tzOffset -18000 in January: EST.
    NIST: (216, ("electricity", "kWh"), {-300}, 199.563, Decimal("22.05567"), "USD"),
    # An empty ReadingType and <kind/>: Wh of electricity assumed (flagged in extra).
    # tzOffset +18000 kept as given, plus DST in July: +360.
    GAS_PROVIDER: (36, ("electricity", "kWh"), {360}, 2651.0, Decimal("5164.14"), None),
    # 35 monthly bills in therms (uom 169, multiplier -3), currency 840; no local time.
    GAS_BILLING: (35, ("gas", "therm"), {None}, 3484.0, Decimal("7207.11"), "USD"),
    # 300 hourly readings, each with its own <timezone>-0500</timezone>; no costs.
    UTILITY_API: (300, ("electricity", "kWh"), {-300}, 248.53, None, None),
}

REPAIRS = {
    SCE: {
        "ReadingType entries sharing one self link: the first is used": 1,
        "UsageSummary entries skipped (bill totals, not interval readings)": 7,
        "unreadable DST rule in LocalTimeParameters: standard time used": 1,
    },
    PGE: {
        "IntervalBlocks without a unit of measure read as Wh": 24,
        "repeated IntervalReadings kept once": 276,
    },
    NIST: {"UsageSummary entries skipped (bill totals, not interval readings)": 1},
    GAS_PROVIDER: {"IntervalBlocks without a unit of measure read as Wh": 1},
    GAS_BILLING: {},
    UTILITY_API: {},
}


def import_corpus(vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(green_button, origin="builtin")
    results = import_paths([CORPUS], vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FILES:
        pytest.skip(f"no Green Button corpus at {CORPUS}")
    path = tmp_path_factory.mktemp("corpus") / "v.duckdb"
    results = import_corpus(path)
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        path.name: ("imported", None, {}) for path in FILES
    }
    assert {name: r.repairs for name, r in results.items()} == {
        name: REPAIRS[name] for name in results
    }
    return path


def by_file(vault: Path, select: str, where: str = "TRUE") -> dict[str, list[tuple[Any, ...]]]:
    rows = query(
        vault,
        f"SELECT i.file_name, {select} FROM energy_readings e JOIN imports i USING (import_id) "
        f"WHERE {where} ORDER BY i.file_name, e.start_at, e.duration_s, e.quantity",
    )
    found: dict[str, list[tuple[Any, ...]]] = {}
    for file, *rest in rows:
        found.setdefault(Path(file).name, []).append(tuple(rest))
    return found


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no Green Button corpus at {CORPUS}")
    assert green_button.detect(Source(path).head(HEAD_BYTES), path.name)


@needs_corpus
def test_every_corpus_file_imports_with_the_checked_figures(vault: Path) -> None:
    summary = query(
        vault,
        "SELECT i.file_name, count(*), any_value(commodity), any_value(unit), "
        "list(DISTINCT utc_offset_min), sum(quantity), sum(cost), any_value(currency), "
        "count(DISTINCT meter_id), count(DISTINCT (commodity, unit)) "
        "FROM energy_readings JOIN imports i USING (import_id) GROUP BY i.file_name",
    )
    found = {
        Path(file).name: (count, (commodity, unit), set(offsets), quantity, cost, currency)
        for file, count, commodity, unit, offsets, quantity, cost, currency, *_ in summary
    }
    # One meter and one (commodity, unit) per file: no corpus file is a bulk feed.
    assert {tuple(row[-2:]) for row in summary} == {(1, 1)}
    assert found.keys() == {path.name for path in FILES}
    for name, expected in EXPECTED.items():
        if name in found:
            count, kind, offsets, quantity, cost, currency = found[name]
            assert (count, kind, offsets) == expected[:3], name
            assert quantity == pytest.approx(expected[3]), name
            assert (cost, currency) == expected[4:], name


@needs_corpus
def test_a_second_import_of_the_corpus_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    again = import_corpus(vault)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_corpus_readings_read_exactly_as_written(vault: Path) -> None:
    firsts = {
        name: rows[0]
        for name, rows in by_file(
            vault, "meter_id, start_at, utc_offset_min, duration_s, quantity, cost"
        ).items()
    }
    assert firsts[NIST] == (
        "DataCustodian/espi/1_1/resource/RetailCustomer/2/UsagePoint/2",
        utc(2014, 1, 1, 5),  # 1388552400, "1/1/2014 5:00:00 AM" in the file's comment
        -300,
        3600,
        0.273,  # 273 Wh
        Decimal("0.00819"),  # 819 hundred-thousandths of a dollar
    )
    assert firsts[PGE] == (
        "GreenButtonConnect/espi/1_1/resource/Subscription/0/UsagePoint/1",
        utc(2015, 4, 30, 7),  # 1430377200
        None,
        3600,
        86.4,  # 86400, read as Wh
        None,
    )
    assert firsts[GAS_BILLING] == (
        "v1/BillingAccount/1234567890/UsagePoint/NET_USAGE",
        utc(2021, 5, 26),  # 1621987200
        None,
        3024000,  # 35 days
        37.0,  # 37000 x 10^-3 therm
        Decimal("51.0000"),  # 5100000
    )
    assert firsts[UTILITY_API] == (
        "User/237422/UsagePoint/1402026",
        utc(2023, 2, 22, 18),  # 1677088800; the feed lists its readings newest first
        -300,
        3600,
        0.52,  # 520 Wh
        None,
    )
    assert firsts[SCE][0].endswith("RetailCustomer/VJEWP31BE/UsagePoint/NB6WRU")
    # Every bill of the gas provider file starts at the export time, 1721154384.66136.
    starts = by_file(vault, "start_at", f"i.file_name LIKE '%{GAS_PROVIDER}'")[GAS_PROVIDER]
    assert set(starts) == {(datetime(2024, 7, 16, 18, 26, 24, 661360, tzinfo=UTC),)}


@needs_corpus
def test_corpus_quirks_survive_into_extra(vault: Path) -> None:
    extras = by_file(vault, "e.extra")
    pge = {row[0] for row in extras[PGE]}
    assert {json.dumps(json.loads(e), sort_keys=True) for e in pge} == {
        '{"assumed_unit": "Wh", "commodity_assumed": true, "quality": "validated"}'
    }
    provider = {row[0] for row in extras[GAS_PROVIDER]}
    assert [json.loads(e) for e in provider] == [
        {"assumed_unit": "Wh", "commodity_assumed": True, "quality": "valid"}
    ]
    assert {row[0] for row in extras[NIST]} == {None}
    # The NIST sample's tier prices: 273 Wh at 819, 819 Wh at 2457 hundred-thousandths.
    prices = by_file(vault, "quantity, cost", "i.file_name LIKE '%TestGBData%'")
    assert (0.819, Decimal("0.02457")) in prices[NIST]
