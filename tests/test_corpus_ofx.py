"""Conformance: every OFX file in the shared real-world corpus imports through the engine.

The corpus lives outside the project (../shared/corpus, see its MANIFEST.md) and
is never copied in; these tests skip when it is absent. The expected figures
were checked by reading each file (amounts summed by hand).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.importers import Registry, ofx
from selfdata.importers.base import HEAD_BYTES, Source
from selfdata.ingest import FileResult, import_paths

CORPUS_OFX = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "ofx"
FILES = sorted(CORPUS_OFX.glob("*.ofx")) if CORPUS_OFX.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"no OFX corpus at {CORPUS_OFX}")

# Transactions per file, and its account: kind, currency, institution, masked number,
# then the number of transactions and their sum as the vault holds them.
EXPECTED: dict[str, tuple[int, tuple[Any, ...]]] = {
    # 2.03 header over an SGML body; a card with no <FI>.
    "ofxparse_anzcc.ofx": (
        1,
        ("credit_card", "AUD", None, "************1234", 1, Decimal("-5.50")),
    ),
    # QFX on two long lines, INTU.BID, a space inside ACCTID.
    "ofxparse_bank_medium.ofx": (
        3,
        ("checking", "CAD", None, "*************5678", 3, Decimal("-345.27")),
    ),
    # Tab-indented 1.02; ACCTID with a tilde.
    "ofxparse_checking.ofx": (
        3,
        ("checking", "USD", "FAKE", "*****87~7", 3, Decimal("-59.50")),
    ),
    # 8 buys, 4 dividends, 2 sells and 3 INVBANKTRAN: all move cash.
    "ofxparse_fidelity.ofx": (
        17,
        ("investment_cash", "USD", "fidelity.com", "*******7890", 17, Decimal("-10526.67")),
    ),
    # 2.00 XML, CRLF, CDATA names.
    "ofxparse_suncorp.ofx": (
        1,
        ("checking", "AUD", "SUNCORP", "*****6789", 1, Decimal("-16.85")),
    ),
    # <BANKTRANLIST> never closed; six charges that add up to the ledger balance.
    "ofxtools_br_nubank_cc.ofx": (
        6,
        ("credit_card", "BRL", None, "*" * 28 + "1111", 6, Decimal("-1280.91")),
    ),
    # Comma decimals under CURDEF USD.
    "ofxtools_stmtrs_euro.ofx": (
        2,
        ("checking", "USD", "NCH", "**9988", 2, Decimal("-500.00")),
    ),
}
NUBANK_REPAIR = (
    "element with neither a value nor an end tag: read as empty, its contents one level up"
)


def import_corpus(vault: Path) -> dict[str, FileResult]:
    registry = Registry()
    registry.register(ofx, origin="builtin")
    results = import_paths([CORPUS_OFX], vault=vault, registry=registry)
    return {Path(result.name).name: result for result in results}


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p.name if p else "absent")
def test_corpus_file_is_detected(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no OFX corpus at {CORPUS_OFX}")
    assert ofx.detect(Source(path).head(HEAD_BYTES), path.name)


@needs_corpus
def test_every_corpus_file_imports_with_the_expected_figures(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_corpus(vault)
    assert {name: (r.status, r.error, r.rejected) for name, r in results.items()} == {
        path.name: ("imported", None, {}) for path in FILES
    }
    for name, (transactions, _) in EXPECTED.items():
        if name in results:
            assert results[name].new == {"accounts": 1, "transactions": transactions}, name
    assert {name: r.repairs for name, r in results.items() if r.repairs} == {
        "ofxtools_br_nubank_cc.ofx": {NUBANK_REPAIR: 1}
    }
    accounts = query(
        vault,
        "SELECT i.file_name, a.kind, a.currency, a.institution, a.number_masked, "
        "count(t.amount), sum(t.amount) FROM accounts a JOIN imports i USING (import_id) "
        "LEFT JOIN transactions t USING (account_id) GROUP BY ALL",
    )
    by_file = {Path(file).name: tuple(rest) for file, *rest in accounts}
    assert by_file == {name: e[1] for name, e in EXPECTED.items() if name in by_file}
    again = import_corpus(vault)
    assert {r.status for r in again.values()} == {"already_imported"}


@needs_corpus
def test_corpus_quirks_survive_into_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_corpus(vault)
    # Suncorp: the CDATA name loses its trailing spaces; the memo that contains it
    # becomes the description.
    assert query(
        vault,
        "SELECT booked_date::VARCHAR, counterparty, description, extra->>'$.checknum' "
        "FROM transactions WHERE currency = 'AUD' AND bank_ref = '1'",
    ) == [
        (
            "2013-12-15",
            "EFTPOS WDL HANDYWAY ALDI STORE",
            "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU",
            "0",
        )
    ]
    # Fidelity: `[-4:EDT]` dates give the date as written; the security list names the buy.
    [(booked, amount, extra)] = query(
        vault,
        "SELECT booked_date::VARCHAR, amount, extra FROM transactions "
        "WHERE bank_ref = '0123456789020201120120720'",
    )
    assert (booked, amount) == ("2012-07-20", Decimal("-2571.45"))
    assert json.loads(extra) == {
        "investment_type": "BUYSTOCK",
        "security_id": "458140100",
        "security_id_type": "CUSIP",
        "units": 100.0,
        "unitprice": 25.635,
        "commission": 7.95,
        "fees": 0.0,
        "subacctsec": "CASH",
        "subacctfund": "CASH",
        "buytype": "BUY",
        "ticker": "INTC",
        "security_name": "INTEL CORP",
    }
    # ofxtools euro: `-200,00` is minus two hundred; DTUSER is kept in extra.
    assert query(
        vault,
        "SELECT bank_ref, amount, extra->>'$.trntype', extra->>'$.user_date' "
        "FROM transactions WHERE bank_ref IN ('00002', '00003') ORDER BY bank_ref",
    ) == [
        ("00002", Decimal("-200.00"), "CHECK", None),
        ("00003", Decimal("-300.00"), "ATM", "2005-10-20"),
    ]
    # Balances with their dates in the account's extra.
    balances = query(
        vault,
        "SELECT number_masked, extra->'$.ledger_balance', extra->'$.available_balance' "
        "FROM accounts WHERE kind <> 'investment_cash' ORDER BY number_masked",
    )
    assert {
        masked: (json.loads(ledger), avail and json.loads(avail))
        for masked, ledger, avail in balances
    } == {
        "**9988": ({"amount": 200.29, "as_of": "2005-10-29"},) * 2,
        "*****6789": ({"amount": 1234.12, "as_of": "2013-12-15"},) * 2,
        "*****87~7": (
            {"amount": 100.99, "as_of": "2013-05-25"},
            {"amount": 75.99, "as_of": "2013-05-25"},
        ),
        "*************5678": (
            {"amount": 382.34, "as_of": "2009-05-23"},
            {"amount": 682.34, "as_of": "2009-05-23"},
        ),
        "************1234": (
            {"amount": -123.45, "as_of": "2017-05-10"},
            {"amount": 123.45, "as_of": "2017-05-10"},
        ),
        "*" * 28 + "1111": ({"amount": -1280.91, "as_of": "2024-03-25"}, None),
    }
    [(cash,)] = query(
        vault, "SELECT extra->'$.available_cash' FROM accounts WHERE kind = 'investment_cash'"
    )
    assert json.loads(cash) == {"amount": 18073.98, "as_of": "2012-09-08"}
