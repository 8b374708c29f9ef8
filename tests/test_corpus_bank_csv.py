"""Conformance: every bank CSV (and Santander TXT) in the shared real-world corpus imports.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The figures were checked
against the files by reading them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, bank_csv
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.importers.money import account_id
from selfdata.ingest import FileResult, import_paths

CORPUS_BANK = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "bank_csv"
FILES = sorted(p for p in CORPUS_BANK.glob("*") if p.is_file()) if CORPUS_BANK.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no bank CSV corpus at {CORPUS_BANK}")

# Rows per table for each file, and the repairs its quirks need.
EXPECTED: dict[str, dict[str, Any]] = {
    "Revolut-Analysis_statement-example-EUR.txt": {"accounts": 1, "transactions": 9},
    "countinghouse_chase_uk.csv": {"accounts": 1, "transactions": 3},
    "countinghouse_monzo.csv": {"accounts": 1, "transactions": 9},
    "countinghouse_nationwide.csv": {"accounts": 1, "transactions": 3},
    # Current GBP, Savings GBP and Current EUR (the other side of the exchange).
    "countinghouse_revolut.csv": {"accounts": 3, "transactions": 6},
    "countinghouse_santander.txt": {"accounts": 1, "transactions": 3},
    "countinghouse_starling.csv": {"accounts": 1, "transactions": 3},
    "csv2ofx_capitalone.csv": {"accounts": 1, "transactions": 2},
    "csv2ofx_n26-fr.csv": {"accounts": 1, "transactions": 2},
    "csv2ofx_outbank.csv": {"accounts": 1, "transactions": 4},
    "csv2ofx_ubs-ch-fr_trimmed.csv": {"accounts": 1, "transactions": 3},
}
REPAIRS = {"countinghouse_starling.csv": {"Starling opening-balance line skipped": 1}}

# Rows read off each file: booked date, amount, currency, description, balance after.
ROWS: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {
    # Legacy Revolut: `" , "` padding, `Paid Out (EUR)`, `9 Feb 2021`; an unevenly padded row.
    "Revolut-Analysis_statement-example-EUR.txt": [
        ("2021-02-09", "-20.00", "EUR", "Groceries", "20.60"),
        ("2021-01-26", "55.60", "EUR", "Top-Up by *1234", "75.60"),
        ("2021-01-15", "-20.00", "EUR", "Hairdresser", "30.00"),
    ],
    # Chase UK: `12 August 2026`, a quoted `"1,454.33"` balance, a quoted description.
    "countinghouse_chase_uk.csv": [
        ("2026-08-12", "-45.67", "GBP", "To Revolving Line Account", "954.33"),
        ("2026-09-03", "500.00", "GBP", "From A N OTHER - CHASE-TOPUP", "1454.33"),
        ("2026-09-17", "-34.48", "GBP", "Cash withdrawal, Bank, Faro", "1386.70"),
    ],
    # Monzo: DD/MM/YYYY; the Paris row is in GBP, its EUR amount in extra.
    "countinghouse_monzo.csv": [
        ("2026-09-01", "2450.00", "GBP", "ACME LTD SALARY SEP", None),
        ("2026-09-06", "-12.40", "GBP", "CAFE DE FLORE PARIS FRA", None),
        ("2026-09-08", "-300.00", "GBP", "Savings Pot", None),
    ],
    # Nationwide: preamble, `01 Sep 2026`, `£` and thousands separators, Paid out/in.
    "countinghouse_nationwide.csv": [
        ("2026-09-01", "-12.34", "GBP", "TESCO STORES 3297", "1000.00"),
        ("2026-09-03", "2000.00", "GBP", "ACME LTD SALARY", "3000.00"),
    ],
    # Revolut: the fee is taken off; the pending row is booked on its Started Date.
    "countinghouse_revolut.csv": [
        ("2026-09-04", "-100.50", "GBP", "Exchanged to EUR", "1387.16"),
        ("2026-09-05", "-3.00", "GBP", "Pending Coffee", None),
        ("2026-09-04", "115.00", "EUR", "Exchanged from GBP", "115.00"),
    ],
    # Santander TXT: `Key: value` blocks, newest first, trailing spaces.
    "countinghouse_santander.txt": [
        ("2026-09-05", "-60.00", "GBP", "DIRECT DEBIT PAYMENT TO BRITISH GAS REF 1234", "2940.00"),
        (
            "2026-09-01",
            "-12.34",
            "GBP",
            "CARD PAYMENT TO TESCO STORES 3297,12.34 GBP, RATE 1.00/GBP ON 31-08-2026",
            "1000.00",
        ),
    ],
    # Starling: `Amount (GBP)`; the Opening Balance line is no transaction.
    "countinghouse_starling.csv": [
        ("2026-09-02", "-12.34", "GBP", "TESCO STORES 2231 LONDON", "987.66"),
        ("2026-09-05", "-60.00", "GBP", "BG DD REF 1234", "2927.66"),
    ],
    # Capital One: unsigned Debit/Credit, booked on the Posted Date.
    "csv2ofx_capitalone.csv": [
        ("2016-01-02", "-1000.00", "USD", "Airplanes R Us", None),
        ("2016-01-02", "1000.00", "USD", "CAPITAL ONE AUTOPAY PYMT", None),
    ],
    # N26: `Amount (EUR)`, an empty Value Date and Payment Reference.
    "csv2ofx_n26-fr.csv": [
        ("2020-03-07", "328.00", "EUR", None, None),
        ("2020-03-07", "-328.00", "EUR", None, None),
    ],
    # Outbank: `;`, decimal comma, M/D/YY (`2/20/19` settles the order).
    "csv2ofx_outbank.csv": [
        ("2019-02-20", "100.00", "EUR", "Jane Doe", None),
        ("2019-02-08", "-63.89", "EUR", "Shell Gas purchase MASTER 0123456789", None),
    ],
    # UBS: `;`, `11'373.94`, DD.MM.YYYY, Débit/Crédit, three description columns.
    "csv2ofx_ubs-ch-fr_trimmed.csv": [
        ("2019-03-31", "-10.00", "CHF", "Solde prix prestations", "11373.94"),
        (
            "2019-02-28",
            "240.00",
            "CHF",
            "Virement postal ASSOCIATION FOO-BAR BVD DE QUELQUE-PART 1, 1201 GENEVE, CH",
            "11613.94",
        ),
        (
            "2019-04-27",
            "-200.00",
            "CHF",
            "Ordre e-banking REMB-CASH Quuz-baz SàrL, CH - 1203 GENEVE, E-Banking CHF intérieur",
            "11413.94",
        ),
    ],
}


def import_corpus(vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(bank_csv, origin="builtin")
    results = import_paths([CORPUS_BANK], vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FileResult]]:
    if not FILES:
        pytest.skip(f"no bank CSV corpus at {CORPUS_BANK}")
    path = tmp_path_factory.mktemp("bank") / "v.duckdb"
    return path, import_corpus(path)


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no bank CSV corpus at {CORPUS_BANK}")
    assert bank_csv.detect(Source(path).head(HEAD_BYTES), path.name)


@needs_corpus
def test_every_corpus_file_imports_with_its_figures(
    vault: tuple[Path, dict[str, FileResult]],
) -> None:
    path, results = vault
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        p.name: ("imported", None, {}) for p in FILES
    }
    assert {name: r.new for name, r in results.items()} == {
        name: new for name, new in EXPECTED.items() if name in results
    }
    assert {name: r.repairs for name, r in results.items() if r.repairs} == REPAIRS
    again = import_corpus(path)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_corpus_amounts_and_dates_as_read_off_the_files(
    vault: tuple[Path, dict[str, FileResult]],
) -> None:
    path, _ = vault
    found = query(
        path,
        "SELECT regexp_extract(i.file_name, '[^/]+$'), t.booked_date::VARCHAR, t.amount::VARCHAR, "
        "t.currency, t.description, t.balance_after::VARCHAR "
        "FROM transactions t JOIN imports i USING (import_id)",
    )
    for name, rows in ROWS.items():
        for row in rows:
            assert (name, *row) in found, (name, row)


@needs_corpus
def test_corpus_profiles_put_bank_detail_in_extra(
    vault: tuple[Path, dict[str, FileResult]],
) -> None:
    path, _ = vault
    [(monzo,)] = query(path, "SELECT extra FROM transactions WHERE bank_ref = 'tx_0000A7'")
    assert json.loads(monzo) == {
        "time": "14:20:33",
        "type": "Card payment",
        "emoji": "🥐",
        "bank_category": "Eating out",  # the bank's category, never `category`
        "local_amount": "-14.00",
        "local_currency": "EUR",
        "address": "Paris",
    }
    [(value_date, pending)] = query(
        path, "SELECT value_date, extra FROM transactions WHERE description = 'Pending Coffee'"
    )
    assert value_date is None
    assert json.loads(pending)["state"] == "PENDING"
    [(fee,)] = query(
        path, "SELECT extra->>'$.fee' FROM transactions WHERE description = 'Exchanged to EUR'"
    )
    assert fee == "0.50"
    [(chase_type,)] = query(path, "SELECT extra->>'$.type' FROM transactions WHERE amount = -34.48")
    assert chase_type == "Cash withdrawal | EUR 40.00 | FX rate £1 = €1.1600"
    assert query(path, "SELECT count(*) FROM transactions WHERE category IS NOT NULL") == [(0,)]


@needs_corpus
def test_corpus_accounts(vault: tuple[Path, dict[str, FileResult]]) -> None:
    path, _ = vault
    accounts = query(
        path,
        "SELECT account_id, institution, name, number_masked, currency, kind FROM accounts",
    )
    assert len(accounts) == 13
    for expected in [
        (
            account_id("FlexDirect ****12345"[11:], institution="nationwide"),
            "Nationwide",
            "FlexDirect",
            "*****2345",
            "GBP",
            "checking",
        ),
        (
            account_id("XXXX XXXX XXXX 9876", institution="santander"),
            "Santander UK",
            "Santander UK",
            "************9876",
            "GBP",
            "checking",
        ),
        (
            account_id("1234", institution="capital_one"),
            "Capital One",
            "Capital One",
            "1234",
            "USD",
            "credit_card",
        ),
        (account_id("DE81254326973657190105"), None, None, "******************0105", "EUR", None),
        (
            account_id("0123 45678901.23A", institution="ubs"),
            "UBS",
            "UBS",
            "***********123A",
            "CHF",
            "checking",
        ),
        (account_id("monzo", institution="monzo"), "Monzo", "Monzo", None, "GBP", "checking"),
        (
            account_id("revolut Current EUR", institution="revolut"),
            "Revolut",
            "Revolut Current EUR",
            None,
            "EUR",
            "checking",
        ),
        (
            account_id("revolut_legacy EUR", institution="revolut_legacy"),
            "Revolut",
            "Revolut EUR",
            None,
            "EUR",
            "checking",
        ),
        (
            account_id("n26 Coffre fort", institution="n26"),
            "N26",
            "N26 Coffre fort",
            None,
            "EUR",
            "checking",
        ),
    ]:
        assert expected in accounts, expected


def every_importer() -> Registry:
    registry = Registry.default()
    if "bank_csv" not in [r.name for r in registry]:
        registry.register(bank_csv, origin="builtin")
    return registry


@needs_corpus
def test_only_bank_csv_claims_the_bank_files_and_it_claims_no_other_corpus_file() -> None:
    registry = every_importer()
    corpus = CORPUS_BANK.parent
    claims = {
        path.relative_to(corpus).as_posix(): [
            i.name for i in registry.candidates(Source(path).head(HEAD_BYTES), path.name)
        ]
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix != ".md"
    }
    assert {p: c for p, c in claims.items() if p.startswith("bank_csv/")} == {
        f"bank_csv/{path.name}": ["bank_csv"] for path in FILES
    }
    assert [p for p, c in claims.items() if "bank_csv" in c and not p.startswith("bank_csv/")] == []
