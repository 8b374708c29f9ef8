"""Conformance: every camt file in the shared real-world corpus imports through the engine.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The figures below were
checked by reading each file's XML.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, camt
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.importers.money import account_id
from selfdata.ingest import FileResult, import_paths

CORPUS_CAMT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "camt"
FILES = sorted(CORPUS_CAMT.glob("*.xml")) if CORPUS_CAMT.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no camt corpus at {CORPUS_CAMT}")

OCA_053 = "oca-bank-statement-import_test-camt053.xml"
OCA_054 = "oca-bank-statement-import_test-camt054.xml"
V2_MINIMAL = "genkgo-camt_camt053.v2.minimal.xml"
V2_MULTI = "genkgo-camt_camt053.v2.multi.statement.xml"
V8_053 = "genkgo-camt_camt053.v8.xml"
V2_052 = "genkgo-camt_camt052.v2.xml"
V8_052 = "genkgo-camt_camt052.v8.xml"
V8_054 = "genkgo-camt_camt054.v8.xml"

# Per file: transactions read, then what a folder import (sorted by name) adds
# to the vault and finds there already.
EXPECTED: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {
    # One debit entry with a batch detail, no balances; the account is new.
    V2_052: (1, {"accounts": 1, "transactions": 1}, {"accounts": 0, "transactions": 0}),
    # The same entry as the v2 report (date, amount, "Credit", AcctSvcrRef): a duplicate.
    V8_052: (1, {"accounts": 0, "transactions": 0}, {"accounts": 1, "transactions": 1}),
    V2_MINIMAL: (1, {"accounts": 1, "transactions": 1}, {"accounts": 0, "transactions": 0}),
    # Two <Stmt> of the same account: one account row, one transaction each.
    V2_MULTI: (2, {"accounts": 0, "transactions": 2}, {"accounts": 1, "transactions": 0}),
    # "Same content" as v2, but it adds an AcctSvcrRef, so its row is its own.
    V8_053: (1, {"accounts": 0, "transactions": 1}, {"accounts": 1, "transactions": 0}),
    # One entry of 3 TxDtls; its account is the camt.052 files' (same IBAN).
    V8_054: (3, {"accounts": 0, "transactions": 3}, {"accounts": 1, "transactions": 0}),
    # 3 entries, 4 TxDtls: the reversed batch entry is two transactions.
    OCA_053: (4, {"accounts": 1, "transactions": 4}, {"accounts": 0, "transactions": 0}),
    # Same IBAN as the OCA statement, no servicer: the same account.
    OCA_054: (1, {"accounts": 0, "transactions": 1}, {"accounts": 1, "transactions": 0}),
}


def import_corpus(vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(camt, origin="builtin")
    results = import_paths([CORPUS_CAMT], vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def transactions_of(vault: Path, file_name: str) -> list[tuple[Any, ...]]:
    """(booked, value, amount, currency, description, counterparty, bank_ref, extra) by file."""
    rows = query(
        vault,
        "SELECT t.booked_date, t.value_date, t.amount, t.currency, t.description, "
        "t.counterparty, t.bank_ref, t.extra FROM transactions t JOIN imports i USING (import_id) "
        # The vault keeps no row order: statement, amount, then counterparty and
        # description (two details may share an amount) is a stable one.
        f"WHERE i.file_name LIKE '%{file_name}' "
        "ORDER BY t.extra->>'$.statement_id', t.amount, t.counterparty, t.description",
    )
    return [(*row[:-1], json.loads(row[-1])) for row in rows]


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected_and_read_without_rejects(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no camt corpus at {CORPUS_CAMT}")
    source = Source(path)
    assert camt.detect(source.head(HEAD_BYTES), path.name)
    batches = list(camt.read(source))
    read = sum(b.rows.num_rows for b in batches if b.table == "transactions")
    assert (read, source.rejects, source.repairs) == (EXPECTED[path.name][0], [], {})


@needs_corpus
def test_every_corpus_file_imports_with_the_expected_figures(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_corpus(vault)
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        path.name: ("imported", None, {}) for path in FILES
    }
    assert {name: (r.new, r.duplicate) for name, r in results.items()} == {
        name: (new, duplicate) for name, (_, new, duplicate) in EXPECTED.items()
    }
    assert query(vault, "SELECT count(*) FROM transactions") == [(13,)]
    again = import_corpus(vault)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_oca_statement_without_declaration_batch_reversal_and_balances(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    rows = transactions_of(vault, OCA_053)
    assert [(row[2], row[4], row[5]) for row in rows] == [
        (Decimal("-754.25"), "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014",
         "INSURANCE COMPANY TESTX"),
        # The reversed batch entry (DBIT 664.05, RvslInd true) split into its two details.
        (Decimal("-564.05"), "Direct Debit S14 0410", "Test Customer"),
        (Decimal("-100.00"), "Direct Debit S14 0410", "Test Customer"),
        # No remittance: the AddtlTxInf is the text.
        (Decimal("1405.31"), "#RD PARTY MEDIA CUSNO 90782 4210773", "3rd party Media"),
    ]  # fmt: skip
    assert {(row[0], row[1]) for row in rows} == {(date(2014, 1, 5), date(2014, 1, 5))}
    first, reversed_one = rows[0][-1], rows[1][-1]
    assert (first["mandate_id"], first["bank_tx_code"], first["bank_tx_code_proprietary"]) == (
        "1880000341866",
        "PMNT/RDDT/ESDD",
        "EI",
    )
    assert first["counterparty_account"] == "**************8748"  # NL46ABNA0499998748, masked
    assert (reversed_one["reversal"], reversed_one["return_reason"]) == (True, "AC06")
    assert reversed_one["batch"] == {
        "index": 1,
        "of": 2,
        "entry_amount": "-664.05",
        "entry_currency": "EUR",
    }
    [(institution, name, currency, extra)] = query(
        vault,
        "SELECT institution, name, currency, extra FROM accounts "
        f"WHERE account_id = '{account_id('NL77ABNA0574908765')}'",
    )
    assert (institution, name, currency) == ("ABNANL2A", "Example company", "EUR")
    assert [(b["type"], b["amount"]) for b in json.loads(extra)["balances"]] == [
        ("OPBD", "15568.27"),
        ("CLBD", "15121.12"),
    ]


@needs_corpus
def test_genkgo_versions_and_kinds_agree_on_one_account(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    # v2 and v8 statements: IBAN in v2, the same IBAN as Othr/Id in v8.
    v2 = transactions_of(vault, V2_MINIMAL)
    v8 = transactions_of(vault, V8_053)
    assert [row[:6] for row in v2] == [
        (date(2014, 12, 31), date(2015, 1, 2), Decimal("8.85"), "EUR", "4654654654654654",
         "NAME NAME"),
    ]  # fmt: skip
    # v8 books at a DtTm (13:15+01:00, the date as written) and its detail's 0 SEK
    # is kept beside the entry's 8.85 EUR, which is what the account was booked with.
    assert v8[0][:7] == (*v2[0][:6], "AAAASESS-FP-CN_98765/01")
    assert v8[0][-1]["detail_amount"] == {"amount": "0", "currency": "SEK"}
    assert v8[0][-1]["booking_time"] == "2014-12-31T13:15:00+01:00"
    multi = transactions_of(vault, V2_MULTI)
    assert [(row[2], row[4], row[-1]["statement_id"]) for row in multi] == [
        (Decimal("8.85"), "Transaction Description 1", "253EURNL26VAYB8060476890"),
        (Decimal("-7.00"), "Transaction Description 2", "254EURNL26VAYB8060476890"),
    ]
    [(extra,)] = query(
        vault, f"SELECT extra FROM accounts WHERE account_id = '{account_id('NL26VAYB8060476890')}'"
    )
    # The minimal statement came first: its four balances in four currencies.
    assert [(b["type"], b["amount"], b["currency"]) for b in json.loads(extra)["balances"]] == [
        ("OPBD", "18.15", "EUR"),
        ("CLBD", "-27.00", "SEK"),
        ("OPAV", "35.00", "CHF"),
        ("CLAV", "-2700", "JPY"),
    ]
    report = transactions_of(vault, V2_052)
    assert [row[2:7] for row in report] == [
        (Decimal("-200000.00"), "SEK", "Credit", "Company Name", "AAAASESS-FP-ACCR-01")
    ]
    notification = transactions_of(vault, V8_054)
    # Three CRDT details of a DBIT entry, each in CHF; the Dbtr is the holder itself.
    assert [(row[2], row[3], row[5]) for row in notification] == [
        (Decimal("3.10"), "CHF", "Example Creditor 3 - V1"),
        (Decimal("3.20"), "CHF", "Example Creditor 3 - V2"),
        (Decimal("3.20"), "CHF", "Example Creditor 3 - V3"),
    ]
    assert notification[2][4] == (
        "Unstructured Remittance Information V3 block 1 "
        "Unstructured Remittance Information V3 block 2"
    )
    assert query(vault, "SELECT count(DISTINCT account_id) FROM accounts") == [(3,)]


@needs_corpus
def test_swiss_camt054_without_time_zones(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    [row] = transactions_of(vault, OCA_054)
    assert row[:7] == (
        date(2022, 1, 26),
        date(2022, 1, 26),
        Decimal("5.00"),
        "EUR",
        "000000000000000000000000003",  # QRR reference: structured only
        "Test Customer",
        "15180015077602405",  # the detail's AcctSvcrRef wins over the entry's
    )
    assert (row[-1]["entry_ref"], row[-1]["entry_info"]) == (
        "NL0000000000000000000",
        "Additional entry info",
    )
