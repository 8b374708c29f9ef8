"""The camt importer: detection, whole rows per message kind, batches, reversals,
rejects, broken files, and the engine (re-import, one account across files)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.errors import ParseError
from selfdata.importers import Registry, camt
from selfdata.importers.base import Reject, Source
from selfdata.importers.money import account_id
from selfdata.ingest import FileResult, import_paths

DATA = Path(__file__).parent / "data" / "camt"

Rows = dict[str, list[dict[str, Any]]]

GIRO = account_id("DE89370400440532013000")
SAVINGS = account_id("DE75512108001245126199")


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed and NULL columns left out."""
    source = Source(path)
    tables: Rows = {}
    for batch in camt.read(source):
        for row in batch.rows.to_pylist():
            row["extra"] = json.loads(row["extra"])
            tables.setdefault(batch.table, []).append(
                {key: value for key, value in row.items() if value is not None}
            )
    return tables, source


def write_camt(tmp_path: Path, statement: str, message: str = "053.001.08") -> Path:
    """A one-statement camt message of `message`'s kind around `statement`'s body."""
    root, child = {
        "052": ("BkToCstmrAcctRpt", "Rpt"),
        "053": ("BkToCstmrStmt", "Stmt"),
        "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[message[:3]]
    path = tmp_path / "statement.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{message}">'
        f"<{root}><GrpHdr><MsgId>1</MsgId></GrpHdr>\n<{child}><Id>S1</Id>{statement}</{child}>"
        f"</{root}></Document>\n",
        encoding="utf-8",
    )
    return path


ACCOUNT = "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"


def entry(amount: str, body: str = "", indicator: str = "DBIT", ccy: str = "EUR") -> str:
    return (
        f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-05-02</Dt></BookgDt>{body}</Ntry>\n"
    )


def import_camt(paths: list[Path], vault: Path) -> list[FileResult]:
    registry = Registry()
    registry.register(camt, origin="builtin")
    return import_paths(paths, vault=vault, registry=registry)


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


# detect


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08">\n<BkToCstmrAcctRpt>',
        b"\xef\xbb\xbf<ns2:Document xmlns:ns2='urn:iso:std:iso:20022:tech:xsd:camt.054.001.04'>",
        b"<Document><BkToCstmrStmt>\n<GrpHdr>",  # no namespace at all
    ],
    ids=["053-v02", "052-v08-no-declaration", "054-prefixed-bom", "no-namespace"],
)
def test_detect_accepts_camt_heads(head: bytes) -> None:
    assert camt.detect(head, "statement.xml")


@pytest.mark.parametrize(
    "head",
    [
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.056.001.01"><FIToFIPmtCxlReq>',
        b'<?xml version="1.0"?>\n<gpx version="1.1">',
        b"<OFX><BkToCstmrStmtX/>",
        b"",
    ],
    ids=["pain.001", "camt.056", "gpx", "longer-name", "empty"],
)
def test_detect_refuses_other_heads_whatever_the_file_name(head: bytes) -> None:
    assert not camt.detect(head, "camt053.xml")


def test_detect_sees_every_fixture() -> None:
    for path in DATA.glob("*.xml"):
        assert camt.detect(path.read_bytes()[:4096], path.name), path.name


# whole rows


def test_camt053_v02_batch_entry_of_three_details_is_three_transactions() -> None:
    tables, source = read_rows(DATA / "batch_v02.xml")
    statement = {"message": "camt.053.001.02", "statement_id": "2024-03-04-EUR-001"}
    booked = {**statement, "status": "BOOK"}
    transfer = {
        "bank_tx_code": "PMNT/ICDT/ESCT",
        "bank_tx_code_proprietary": "NTRF+116",
        "bank_tx_code_issuer": "DK",
    }

    def batch(index: int) -> dict[str, Any]:
        return {"index": index, "of": 3, "entry_amount": "-300.00", "entry_currency": "EUR"}

    march_1 = {"account_id": GIRO, "booked_date": date(2024, 3, 1), "value_date": date(2024, 3, 1)}
    assert tables["transactions"] == [
        {
            **march_1,
            "amount": Decimal("-150.00"),
            "currency": "EUR",
            "description": "Miete März 2024 Whg. 3",
            "counterparty": "Hausverwaltung Schmidt GmbH",  # the Dbtr is the account's owner
            "bank_ref": "2024030100001",  # the entry's reference, shared by its details
            "extra": {
                **booked,
                **transfer,
                "end_to_end_id": "MIETE-2024-03",
                "counterparty_account": "******************2051",
                "counterparty_bic": "BYLADEM1001",
                "batch": batch(1),
            },
        },
        {
            **march_1,
            "amount": Decimal("-100.00"),
            "currency": "EUR",
            "description": "Abschlag Strom März",
            "counterparty": "Stadtwerke München",
            "bank_ref": "2024030100001",
            # EndToEndId NOTPROVIDED is the scheme's "none given": not kept.
            "extra": {
                **booked,
                **transfer,
                "counterparty_account": "******************3456",
                "batch": batch(2),
            },
        },
        {
            **march_1,
            "amount": Decimal("-50.00"),
            "currency": "EUR",
            "description": "RF18539007547034",  # structured: the creditor reference
            "counterparty": "Sportverein Grün-Weiß e.V.",
            "bank_ref": "2024030100001",
            "extra": {**booked, **transfer, "end_to_end_id": "BEITRAG-Q1", "batch": batch(3)},
        },
        {
            **march_1,
            "amount": Decimal("2500.00"),
            "currency": "EUR",
            "description": "LOHN/GEHALT 03/2024 PERSONALNR 4711",  # two Ustrd blocks
            "counterparty": "Beispiel AG",
            "bank_ref": "2024030100002",  # the detail's own AcctSvcrRef
            "extra": {
                **booked,
                "bank_tx_code": "PMNT/RCDT/SALA",
                "counterparty_account": "******************4931",
            },
        },
        {
            "account_id": GIRO,
            "booked_date": date(2024, 3, 4),  # from DtTm, the date as written
            "value_date": date(2024, 3, 4),
            "amount": Decimal("-2.50"),
            "currency": "CHF",  # a charge in another currency than the account's
            "description": "Auslandsentgelt",
            "bank_ref": "2024030400003",
            "extra": {
                **booked,
                "booking_time": "2024-03-04T09:30:00+01:00",
                "bank_tx_code": "ACMT/MDOP/CHRG",
            },
        },
        {
            "account_id": GIRO,
            "booked_date": date(2024, 3, 4),
            "value_date": date(2024, 3, 2),
            "amount": Decimal("-26.05"),
            "currency": "EUR",
            "description": "REWE SAGT DANKE 12345",
            "counterparty": "REWE Markt GmbH",
            "bank_ref": "2024030400004",
            "extra": {**booked, "bank_tx_code": "PMNT/CCRD/POSD", "entry_info": "KARTENZAHLUNG"},
        },
    ]

    def balance(kind: str, amount: str, day: str) -> dict[str, str]:
        return {"statement_id": "2024-03-04-EUR-001", "type": kind} | {
            "amount": amount,
            "currency": "EUR",
            "date": day,
        }

    assert tables["accounts"] == [
        {
            "account_id": GIRO,
            "institution": "COBADEFFXXX",
            "name": "Girokonto",
            "number_masked": "******************3000",
            "currency": "EUR",
            "kind": "checking",
            "extra": {
                "owner": "Erika Mustermann",
                "servicer_bic": "COBADEFFXXX",
                "account_type": "CACC",
                "balances": [
                    balance("OPBD", "1200.00", "2024-03-01"),
                    balance("CLBD", "3373.95", "2024-03-04"),
                    balance("CLAV", "3373.95", "2024-03-04"),
                ],
            },
        }
    ]
    assert (source.rejects, source.repairs) == ([], {})


def test_camt053_v08_reversal_keeps_its_sign_and_structured_remittance() -> None:
    tables, source = read_rows(DATA / "reversal_v08.xml")
    booked = {"message": "camt.053.001.08", "statement_id": "SVGS-2024-04", "status": "BOOK"}
    assert tables["transactions"] == [
        {
            "account_id": SAVINGS,
            "booked_date": date(2024, 4, 2),
            "value_date": date(2024, 3, 28),
            "amount": Decimal("49.99"),  # CRDT: the debit's money comes back
            "currency": "EUR",
            "description": "RF18539007547034",
            # The parties keep the original debit's roles; the Dbtr is the holder.
            "counterparty": "Stadtwerke München",
            "bank_ref": "R-0402-001",
            "extra": {
                **booked,
                "reversal": True,
                "entry_ref": "0402-1",
                "bank_tx_code": "PMNT/IDDT/UPDD",
                "bank_tx_code_proprietary": "NRLS+109",
                "end_to_end_id": "E2E-STROM-0328",
                "tx_id": "TX-9911",
                "mandate_id": "MANDAT-77",
                "counterparty_account": "******************3456",
                "counterparty_bic": "HYVEDEMMXXX",
                "ultimate_counterparty": "SWM Versorgungs GmbH",
                "remittance_info": "Strom Abschlag März",
                "return_reason": "MD06",
            },
        },
        {
            "account_id": SAVINGS,
            "booked_date": date(2024, 4, 3),
            "value_date": date(2024, 4, 3),
            "amount": Decimal("-15.00"),
            "currency": "EUR",
            "description": "RF712348231",
            "counterparty": "Bücherhalle Hamburg",
            "bank_ref": "D-0403-7",
            "extra": {
                **booked,
                "booking_time": "2024-04-03T08:00:00+02:00",
                "additional_info": "Jahresgebühr Leseausweis",
            },
        },
    ]
    [account] = tables["accounts"]
    assert (account["kind"], account["currency"], account["institution"]) == (
        "savings",  # Tp/Cd SVGS
        "EUR",  # no Acct/Ccy: the currency all its balances share
        "SOGEDEFFXXX",  # BICFI, v8's name for the BIC
    )
    assert account["extra"]["servicer"] == "Beispielbank Frankfurt"
    assert source.rejects == []


def test_camt054_prefixed_names_batch_split_and_rejects_with_lines() -> None:
    tables, source = read_rows(DATA / "notification_v04.xml")
    other = account_id("0532013000", "COBADEFFXXX")  # not an IBAN: unique at its bank
    notified = {"message": "camt.054.001.04", "statement_id": "NTF-20240410-7-1", "status": "BOOK"}

    def batch(index: int) -> dict[str, Any]:
        return {"index": index, "of": 3, "entry_amount": "75.00", "entry_currency": "EUR"}

    april_10 = {"account_id": other, "booked_date": date(2024, 4, 10)}
    assert tables["transactions"] == [
        {
            **april_10,
            "value_date": date(2024, 4, 10),
            "amount": Decimal("50.00"),
            "currency": "EUR",
            "description": "Alles Gute zum Geburtstag",
            "counterparty": "Max Mustermann",
            "bank_ref": "N-0410-1",
            "extra": {**notified, "end_to_end_id": "GEB-1", "batch": batch(1)},
        },
        {
            **april_10,
            "value_date": date(2024, 4, 10),
            "amount": Decimal("25.00"),  # no CdtDbtInd of its own: the entry's CRDT
            "currency": "EUR",
            "counterparty": "Inge Mustermann",
            "bank_ref": "N-0410-1",
            "extra": {**notified, "end_to_end_id": "GEB-2", "batch": batch(2)},
        },
        {
            **april_10,
            "amount": Decimal("-4.20"),
            "currency": "EUR",
            "description": "Kontoführung April",
            "extra": notified,
        },
    ]
    assert tables["accounts"] == [
        {
            "account_id": other,
            "institution": "COBADEFFXXX",
            "number_masked": "******3000",
            "currency": "EUR",
            "kind": "checking",
            "extra": {"servicer_bic": "COBADEFFXXX"},
        }
    ]
    assert source.rejects == [
        Reject("transactions", "detail 3 of a batch <Ntry> (line 20) has no usable <Amt>", 45),
        Reject("transactions", "<Ntry> without <Amt>", 53),
        Reject("transactions", "<Ntry> without <BookgDt> or <ValDt>", 59),
    ]


def test_camt052_pending_entry_is_kept_with_its_status_and_value_date() -> None:
    tables, _ = read_rows(DATA / "intraday_v02_052.xml")
    pending = tables["transactions"][1]
    assert pending == {
        "account_id": GIRO,  # Othr/Id with the IBAN written in groups
        "booked_date": date(2024, 3, 5),
        "value_date": date(2024, 3, 5),
        "amount": Decimal("-12.00"),
        "currency": "EUR",
        "description": "VORMERKUNG KARTENZAHLUNG",
        "extra": {
            "message": "camt.052.001.02",
            "statement_id": "2024-03-05-INTRADAY-1",
            "status": "PDNG",
            "booked_date_from": "value_date",
        },
    }


def test_single_detail_takes_the_entry_amount_and_keeps_its_own(tmp_path: Path) -> None:
    detail = (
        '<NtryDtls><TxDtls><Amt Ccy="USD">21.70</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<RltdPties><Cdtr><Pty><Nm>Shop Inc</Nm></Pty></Cdtr></RltdPties></TxDtls></NtryDtls>"
    )
    path = write_camt(tmp_path, ACCOUNT + entry("20.00", detail))
    tables, _ = read_rows(path)
    [row] = tables["transactions"]
    # The entry's amount is what the account was booked with; the detail's is the
    # instructed amount in another currency.
    assert (row["amount"], row["currency"], row["counterparty"]) == (
        Decimal("-20.00"),
        "EUR",
        "Shop Inc",
    )
    assert row["extra"]["detail_amount"] == {"amount": "-21.70", "currency": "USD"}


def test_batch_whose_details_have_no_amounts_stays_one_transaction(tmp_path: Path) -> None:
    details = "<NtryDtls>" + "<TxDtls><Refs><TxId>A</TxId></Refs></TxDtls>" * 2 + "</NtryDtls>"
    body = details + "<AddtlNtryInf>SAMMLER 2 POSTEN</AddtlNtryInf>"
    tables, source = read_rows(write_camt(tmp_path, ACCOUNT + entry("80.00", body)))
    [row] = tables["transactions"]
    assert (row["amount"], row["description"], row["extra"]["details"]) == (
        Decimal("-80.00"),
        "SAMMLER 2 POSTEN",
        2,
    )
    assert source.rejects == []


def test_amount_with_more_than_two_decimals_is_rounded_and_kept_exact(tmp_path: Path) -> None:
    path = write_camt(tmp_path, ACCOUNT + entry("1.235", indicator="CRDT", ccy="KWD"))
    tables, source = read_rows(path)
    [row] = tables["transactions"]
    assert (row["amount"], row["currency"], row["extra"]["amount_exact"]) == (
        Decimal("1.24"),
        "KWD",
        "1.235",
    )
    assert list(source.repairs.values()) == [1]


def test_bad_indicator_amount_and_date_are_rejected_with_their_lines(tmp_path: Path) -> None:
    entries = (
        entry("5.00", indicator="DEBIT")
        + entry("12,50")
        + entry("7.00").replace("2024-05-02", "02.05.2024")
        + entry("3.00")
    )
    tables, source = read_rows(write_camt(tmp_path, ACCOUNT + entries))
    assert [row["amount"] for row in tables["transactions"]] == [Decimal("-3.00")]
    assert source.rejects == [
        Reject("transactions", "<Ntry> whose <CdtDbtInd> is 'DEBIT', not CRDT or DBIT", 3),
        Reject("transactions", "<Ntry> <Amt> '12,50' is no amount", 4),
        Reject("transactions", "<Ntry> date '02.05.2024' is not an ISO date (YYYY-MM-DD)", 5),
    ]


def test_several_statements_of_one_account_give_one_account_row(tmp_path: Path) -> None:
    balance = (
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{}</Amt>'
        "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-05-0{}</Dt></Dt></Bal>"
    )
    second = f"</Stmt><Stmt><Id>S2</Id>{ACCOUNT}{balance.format('4.00', 3)}{entry('1.00')}"
    statement = ACCOUNT + balance.format("3.00", 2) + entry("2.00") + second
    tables, _ = read_rows(write_camt(tmp_path, statement))
    assert [row["extra"]["statement_id"] for row in tables["transactions"]] == ["S1", "S2"]
    [account] = tables["accounts"]
    assert [(b["statement_id"], b["amount"]) for b in account["extra"]["balances"]] == [
        ("S1", "-3.00"),  # a DBIT balance is an overdraft
        ("S2", "-4.00"),
    ]


# broken files


def test_truncated_file_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="cut off") as raised:
        read_rows(DATA / "truncated.xml")
    assert raised.value.line == 69


def test_another_iso20022_message_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "pain.xml"
    path.write_text(
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">\n'
        "<CstmrCdtTrfInitn/></Document>"
    )
    with pytest.raises(ParseError, match=r"not a camt.*<Document> holds <CstmrCdtTrfInitn>") as e:
        read_rows(path)
    assert e.value.line == 2


def test_a_statement_without_an_account_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="<Stmt> S1 has no <Acct>") as raised:
        read_rows(write_camt(tmp_path, "<Bal/>"))
    assert raised.value.line == 3


def test_an_account_without_an_id_is_a_parse_error(tmp_path: Path) -> None:
    path = write_camt(tmp_path, "<Acct><Ccy>EUR</Ccy></Acct>" + entry("1.00"))
    with pytest.raises(ParseError, match=r"<Acct> of <Stmt> has no <Id><IBAN>"):
        read_rows(path)


# through the engine


def test_reimport_adds_nothing_and_an_overlapping_copy_adds_no_rows(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [first] = import_camt([DATA / "batch_v02.xml"], vault)
    assert (first.status, first.new) == ("imported", {"accounts": 1, "transactions": 6})
    [again] = import_camt([DATA / "batch_v02.xml"], vault)
    assert again.status == "already_imported"
    # The same statement delivered again under a new message id: other bytes, same rows.
    copy = tmp_path / "copy.xml"
    text = (DATA / "batch_v02.xml").read_text(encoding="utf-8")
    copy.write_text(text.replace("STMT-20240304-0001", "STMT-20240304-0002"), encoding="utf-8")
    [overlap] = import_camt([copy], vault)
    assert (overlap.new, overlap.duplicate) == (
        {"accounts": 0, "transactions": 0},
        {"accounts": 1, "transactions": 6},
    )
    [(count, total)] = query(vault, "SELECT count(*), sum(amount) FROM transactions")
    assert (count, total) == (6, Decimal("2171.45"))  # EUR 2173.95 and CHF -2.50


def test_the_same_account_in_camt053_and_camt052_is_one_account(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    statement, intraday = import_camt(
        [DATA / "batch_v02.xml", DATA / "intraday_v02_052.xml"], vault
    )
    assert statement.new == {"accounts": 1, "transactions": 6}
    # The booked card payment is in both; only the pending one is new.
    assert (intraday.new, intraday.duplicate) == (
        {"accounts": 0, "transactions": 1},
        {"accounts": 1, "transactions": 1},
    )
    assert query(vault, "SELECT account_id, name FROM accounts") == [(GIRO, "Girokonto")]
    assert query(
        vault,
        "SELECT extra->>'$.status', count(*) FROM transactions GROUP BY ALL ORDER BY 1",
    ) == [("BOOK", 6), ("PDNG", 1)]


def test_rejects_reach_the_import_summary(tmp_path: Path) -> None:
    [result] = import_camt([DATA / "notification_v04.xml"], tmp_path / "v.duckdb")
    assert (result.status, result.new, result.rejected) == (
        "imported",
        {"accounts": 1, "transactions": 3},
        {"transactions": 3},
    )
    assert [sample.line for sample in result.reject_samples] == [45, 53, 59]


def test_a_truncated_file_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_camt([DATA / "reversal_v08.xml"], vault)
    # The truncated statement's account is read before the cut: it must not land.
    [result] = import_camt([DATA / "truncated.xml"], vault)
    assert result.status == "failed"
    assert "line 69" in str(result.error)
    assert query(vault, "SELECT count(*) FROM transactions") == [(2,)]
    assert query(vault, "SELECT count(*) FROM accounts") == [(1,)]
