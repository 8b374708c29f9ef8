"""The OFX importer: detection, whole rows per statement kind, one path for SGML and XML,
charsets, the tolerant tokenizer, rejects, broken files, and the engine."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.errors import ParseError
from selfdata.importers import Registry, money, ofx
from selfdata.importers.base import Reject, Source
from selfdata.ingest import FileResult, import_paths

DATA = Path(__file__).parent / "data" / "ofx"

Rows = dict[str, list[dict[str, Any]]]

SGML_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
CHECKING = money.account_id("000123456789", "021000021")
UNCLOSED = "element with neither a value nor an end tag: read as empty, its contents one level up"


def read_rows(path: Path) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path)
    tables: Rows = {}
    for batch in ofx.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"])
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def import_ofx(paths: list[Path], vault: Path) -> list[FileResult]:
    registry = Registry()
    registry.register(ofx, origin="builtin")
    return import_paths(paths, vault=vault, registry=registry)


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def statement(transactions: str, *, curdef: str = "USD", header: str = SGML_HEADER) -> str:
    """A one-account SGML bank statement around the given <STMTTRN>s."""
    return (
        f"{header}<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>{curdef}\n"
        "<BANKACCTFROM><BANKID>1<ACCTID>42<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST>\n{transactions}\n</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def write(tmp_path: Path, content: str | bytes, name: str = "test.ofx") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def one_transaction(path: Path) -> tuple[dict[str, Any], Source]:
    tables, source = read_rows(path)
    [row] = tables["transactions"]
    return row, source


# detect


@pytest.mark.parametrize(
    ("head", "filename"),
    [
        (SGML_HEADER.encode(), "statement.ofx"),
        (b"\xef\xbb\xbfOFXHEADER:100\r\nDATA:OFXSGML\r\n", "download.txt"),
        (b"OFXHEADER:100 DATA:OFXSGML VERSION:102 <OFX>", "one-line-header.qbo"),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n<OFX>', "a.xml"),
        (b"\n\n<OFX>\n<SIGNONMSGSRSV1>", "no-header.qfx"),
        (b"<ofx><signonmsgsrsv1>", "EXPORT"),
    ],
    ids=["sgml", "bom-crlf-txt", "one-line-header", "xml-pi", "bare-root", "lower-case"],
)
def test_detect_accepts_every_ofx_head_whatever_the_name(head: bytes, filename: str) -> None:
    assert ofx.detect(head, filename)


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<gpx version="1.1" creator="x">',
        b"Date,Description,Amount\n2024-01-05,OFX fees,-1.00\n",
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">',
    ],
    ids=["gpx", "csv", "camt"],
)
def test_detect_refuses_other_formats(head: bytes) -> None:
    assert not ofx.detect(head, "statement.ofx")


# whole rows


def test_sgml_checking_file_in_cp1252_gives_whole_rows() -> None:
    tables, source = read_rows(DATA / "checking_102_cp1252.ofx")
    assert tables["accounts"] == [
        {
            "account_id": CHECKING,
            "institution": "Banque Exemple",
            "name": None,
            "number_masked": "********6789",
            "currency": "EUR",
            "kind": "checking",
            "extra": {
                "account_type": "CHECKING",
                "bank_id": "021000021",
                "fid": "4321",
                "statement_start": "2024-01-01",
                "statement_end": "2024-01-31",
                "ledger_balance": {"amount": 1234.56, "as_of": "2024-01-31"},
                "available_balance": {"amount": 1200.0, "as_of": "2024-01-31"},
            },
        }
    ]
    common = {
        "account_id": CHECKING,
        "currency": "EUR",
        "value_date": None,
        "merchant": None,
        "category": None,
        "balance_after": None,
    }
    coffee = {
        **common,
        "booked_date": date(2024, 1, 5),
        "amount": Decimal("-4.50"),
        # The memo repeats the name, so it alone is the description.
        "description": "CARTE 04/01 Café Crème",
        "counterparty": "Café Crème",
        "extra": {
            "trntype": "POS",
            "posted": "20240105120000.000[-5:EST]",
            "user_date": "2024-01-04",
        },
    }
    assert tables["transactions"] == [
        {**coffee, "bank_ref": "20240105001"},
        {**coffee, "bank_ref": "20240105002"},
        {
            **common,
            "booked_date": date(2024, 1, 8),
            "amount": Decimal("-120.00"),
            "description": "Smith & Sons / Check 1042",
            "counterparty": "Smith & Sons",
            "bank_ref": "20240108001",
            "extra": {"trntype": "CHECK", "checknum": "1042"},
        },
        {
            **common,
            "booked_date": date(2024, 1, 10),
            "value_date": date(2024, 1, 12),  # DTAVAIL
            "amount": Decimal("2500.00"),
            "description": "ACME PAYROLL / SALARY JAN",
            "counterparty": "ACME PAYROLL",
            "bank_ref": "20240110001",
            "extra": {"trntype": "DEP", "sic": "6011", "refnum": "REF-77"},
        },
        {
            **common,
            "booked_date": date(2024, 1, 15),
            "amount": Decimal("-61.30"),
            "description": "Électricité Sud / PRLV SEPA janvier",
            "counterparty": "Électricité Sud",  # from <PAYEE>, as there is no <NAME>
            "bank_ref": "20240115001",
            "extra": {
                "trntype": "DIRECTDEBIT",
                "payee_name": "Électricité Sud",
                "payee_addr1": "1 rue de la Paix",
                "payee_city": "Marseille",
                "payee_state": "13",
                "payee_postalcode": "13001",
                "payee_country": "FRA",
                "payee_phone": "0400000000",
            },
        },
        {
            **common,
            "booked_date": date(2024, 1, 20),
            "amount": Decimal("-200.00"),
            "description": "VIREMENT EPARGNE",
            "counterparty": "VIREMENT EPARGNE",
            "bank_ref": "20240120001",
            "extra": {
                "trntype": "XFER",
                "bankacctto_bankid": "021000021",
                "bankacctto_acctid": "********4321",  # never a whole account number
                "bankacctto_accttype": "SAVINGS",
            },
        },
    ]
    assert (source.rejects, source.repairs) == ([], {})


def test_xml_credit_card_file_gives_whole_rows_with_both_kinds_of_foreign_currency() -> None:
    tables, source = read_rows(DATA / "creditcard_2x.ofx")
    [account] = tables["accounts"]
    assert account == {
        "account_id": money.account_id("4111111111111111"),
        "institution": "Example Card Co",
        "name": None,
        "number_masked": "************1111",
        "currency": "USD",
        "kind": "credit_card",
        "extra": {
            "fid": "9876",
            "statement_start": "2024-01-16",
            "statement_end": "2024-02-15",
            "ledger_balance": {"amount": -1250.75, "as_of": "2024-02-15"},
            "available_balance": {"amount": 3749.25, "as_of": "2024-02-15"},
        },
    }
    rows = [
        (r["booked_date"], r["amount"], r["currency"], r["description"], r["bank_ref"], r["extra"])
        for r in tables["transactions"]
    ]
    assert rows == [
        (
            date(2024, 1, 17),
            Decimal("-45.20"),
            "USD",
            "AMAZON MKTPLACE / Books",
            "CC-0001",
            {"trntype": "DEBIT"},
        ),
        # ORIGCURRENCY: the amount is already in USD; the euros it was are in extra.
        (
            date(2024, 1, 20),
            Decimal("-13.20"),
            "USD",
            "BOULANGERIE PAUL PARIS",  # <MEMO></MEMO> adds nothing
            "CC-0002",
            {
                "trntype": "DEBIT",
                "original_currency": "EUR",
                "currency_rate": 1.1,
                "original_amount": -12.0,
            },
        ),
        # CURRENCY: the amount is in yen; what it cost in USD is in extra.
        (
            date(2024, 1, 25),
            Decimal("-1500.00"),
            "JPY",
            "JR EAST TOKYO",
            "CC-0003",
            {
                "trntype": "DEBIT",
                "account_currency": "USD",
                "currency_rate": 0.0068,
                "account_amount": -10.2,
            },
        ),
        (
            date(2024, 2, 15),
            Decimal("-3.14"),  # half to even
            "USD",
            "INTEREST CHARGE",
            "CC-0004",
            {"trntype": "INT", "amount_exact": "-3.145"},
        ),
        (
            date(2024, 2, 10),
            Decimal("500.00"),
            "USD",
            "PAYMENT - THANK YOU <3",  # CDATA is literal
            "CC-0005",
            {"trntype": "PAYMENT"},
        ),
    ]
    assert source.rejects == []


def test_two_statements_give_two_accounts_each_with_its_transactions() -> None:
    tables, _ = read_rows(DATA / "two_statements.ofx")
    accounts = [
        (a["number_masked"], a["kind"], a["extra"]["account_type"]) for a in tables["accounts"]
    ]
    assert accounts == [("****1234", "checking", "CHECKING"), ("****9876", "savings", "MONEYMRKT")]
    checking, savings = (a["account_id"] for a in tables["accounts"])
    assert checking == money.account_id("55501234", "111000025")
    by_account = [(t["account_id"], t["bank_ref"], t["amount"]) for t in tables["transactions"]]
    assert by_account == [
        (checking, "CHK-1", Decimal("-75.00")),
        (savings, "MM-1", Decimal("3.12")),
        (savings, "MM-2", Decimal("75.00")),
    ]


def test_hybrid_qfx_reads_mixed_closed_and_unclosed_leaves() -> None:
    tables, source = read_rows(DATA / "hybrid.qfx")
    [account] = tables["accounts"]
    assert (account["institution"], account["kind"], account["extra"]["intu_bid"]) == (
        "Hybrid Credit Union",
        "savings",
        "24680",
    )
    rows = [(t["amount"], t["description"], t["counterparty"]) for t in tables["transactions"]]
    assert rows == [
        (Decimal("1000.00"), "DEPOSIT FROM CHECKING", "DEPOSIT FROM CHECKING"),  # empty <MEMO>
        (
            Decimal("-40.00"),
            "ATM WITHDRAWAL 5TH & MAIN SEATTLE WA",
            "ATM WITHDRAWAL 5TH & MAIN",
        ),
    ]
    assert (source.rejects, source.repairs) == ([], {})


def test_comma_decimals_and_an_iso_8859_1_charset() -> None:
    tables, source = read_rows(DATA / "comma_decimals.ofx")
    rows = [(t["amount"], t["description"]) for t in tables["transactions"]]
    assert rows == [
        (Decimal("-1234.56"), "LOYER MARS / Prélèvement loyer"),
        (Decimal("89.90"), "REMBOURSEMENT SÉCU"),
        (Decimal("-0.50"), "FRAIS"),
    ]
    [account] = tables["accounts"]
    assert account["extra"]["ledger_balance"] == {"amount": 1520.34, "as_of": "2024-03-31"}
    assert (account["extra"]["bank_id"], account["extra"]["branch_id"]) == ("30004", "00123")
    assert source.repairs == {}


def test_investment_statement_gives_the_cash_side_only() -> None:
    tables, source = read_rows(DATA / "investment.ofx")
    [account] = tables["accounts"]
    assert account["account_id"] == money.account_id("Z12345678", "broker.example.com")
    assert (account["kind"], account["institution"], account["extra"]) == (
        "investment_cash",
        "broker.example.com",  # no <FI>: the BROKERID names the institution
        {
            "broker_id": "broker.example.com",
            "statement_start": "2024-03-01",
            "statement_end": "2024-04-04",
            "available_cash": {"amount": 512.34, "as_of": "2024-04-04"},
        },
    )
    security = {
        "security_id": "922908769",
        "security_id_type": "CUSIP",
        "ticker": "VTSAX",
        "security_name": "VANGUARD TOTAL STOCK MARKET INDEX FUND",
    }
    rows = [
        (
            t["booked_date"],
            t["value_date"],
            t["amount"],
            t["description"],
            t["bank_ref"],
            t["extra"],
        )
        for t in tables["transactions"]
    ]
    # REINVEST and SPLIT move no cash; positions are not transactions.
    assert rows == [
        (
            date(2024, 3, 5),
            date(2024, 3, 6),  # DTSETTLE
            Decimal("-1000.00"),
            "YOU BOUGHT",
            "B-1",
            {
                "investment_type": "BUYMF",
                **security,
                "units": 10.5,
                "unitprice": 95.238,
                "commission": 0.0,
                "subacctsec": "CASH",
                "subacctfund": "CASH",
                "buytype": "BUY",
            },
        ),
        (
            date(2024, 3, 28),
            None,
            Decimal("12.34"),
            "DIVIDEND RECEIVED",
            "D-1",
            {
                "investment_type": "INCOME",
                **security,
                "incometype": "DIV",
                "subacctsec": "CASH",
                "subacctfund": "CASH",
            },
        ),
        (
            date(2024, 3, 2),
            None,
            Decimal("1500.00"),
            "ELECTRONIC FUNDS TRANSFER RCVD",
            "C-1",
            {"trntype": "CREDIT", "subacctfund": "CASH"},
        ),
    ]
    assert source.rejects == []


# one path for every version


def as_sgml(xml_text: str) -> str:
    """The 2.x file's content as OFX 1.02 SGML: header block, leaf end tags dropped."""
    body = xml_text.split("<OFX>", 1)[1]
    return SGML_HEADER + "<OFX>" + re.sub(r"(<(\w+)>[^<]*)</\2>", r"\1", body)


def test_the_same_content_as_sgml_xml_or_hybrid_gives_the_same_rows(tmp_path: Path) -> None:
    xml_text = (DATA / "checking_200.ofx").read_text(encoding="utf-8")
    sgml = as_sgml(xml_text)
    assert "</TRNAMT>" not in sgml and "</STMTTRN>" in sgml
    # Hybrid: the 2.x header over the SGML body.
    hybrid = xml_text.split("<OFX>", 1)[0] + "<OFX>" + sgml.split("<OFX>", 1)[1]
    xml_rows, _ = read_rows(DATA / "checking_200.ofx")
    sgml_rows, _ = read_rows(write(tmp_path, sgml.encode("cp1252"), "sgml.ofx"))
    hybrid_rows, _ = read_rows(write(tmp_path, hybrid, "hybrid.ofx"))
    assert sgml_rows == xml_rows == hybrid_rows
    assert len(xml_rows["transactions"]) == 4


def test_the_same_account_in_1x_and_2x_files_meets_as_one_account(tmp_path: Path) -> None:
    old, _ = read_rows(DATA / "checking_102_cp1252.ofx")
    new, _ = read_rows(DATA / "checking_200.ofx")
    # 2.x has no <FI> block and writes the number with dashes: still one account.
    assert old["accounts"][0]["account_id"] == new["accounts"][0]["account_id"] == CHECKING
    assert old["transactions"][:3] == new["transactions"][:3]

    vault = tmp_path / "v.duckdb"
    first, second = import_ofx([DATA / "checking_102_cp1252.ofx", DATA / "checking_200.ofx"], vault)
    assert (first.new, second.new) == (
        {"accounts": 1, "transactions": 6},
        {"accounts": 0, "transactions": 1},
    )
    assert second.duplicate == {"accounts": 1, "transactions": 3}
    assert query(vault, "SELECT account_id, institution FROM accounts") == [
        (CHECKING, "Banque Exemple")  # the first import's row stays
    ]
    assert query(vault, "SELECT count(*), sum(amount) FROM transactions") == [
        (7, Decimal("2107.70"))
    ]


def test_several_statements_of_one_account_give_one_row_from_the_latest(tmp_path: Path) -> None:
    def one(start: str, end: str, balance: str) -> str:
        return (
            "<STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>1<ACCTID>42"
            f"<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST><DTSTART>{start}<DTEND>{end}"
            f"<STMTTRN><DTPOSTED>{end}<TRNAMT>-1.00<FITID>{end}</STMTTRN></BANKTRANLIST>"
            f"<LEDGERBAL><BALAMT>{balance}<DTASOF>{end}</LEDGERBAL></STMTRS></STMTTRNRS>\n"
        )

    text = (
        f"{SGML_HEADER}<OFX><BANKMSGSRSV1>\n"
        + one("20240201", "20240229", "20.00")
        + one("20240101", "20240131", "10.00")
        + "</BANKMSGSRSV1></OFX>\n"
    )
    tables, _ = read_rows(write(tmp_path, text))
    [account] = tables["accounts"]
    assert account["extra"]["ledger_balance"] == {"amount": 20.0, "as_of": "2024-02-29"}
    assert [t["bank_ref"] for t in tables["transactions"]] == ["20240229", "20240131"]


# values


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("20120908190849.317[-4:EDT]", date(2012, 9, 8)),  # the local date, not UTC's
        ("20120908", date(2012, 9, 8)),
        ("20120908120000", date(2012, 9, 8)),
        ("200510291120", date(2005, 10, 29)),
        ("20240402000000[-3:GMT]", date(2024, 4, 2)),
        ("20120908235959.000[+5.30:IST]", date(2012, 9, 8)),
        ("20241345", None),
        ("2024-01-05", None),
        ("", None),
    ],
)
def test_dates_are_the_calendar_date_as_written(written: str, expected: date | None) -> None:
    assert ofx._parse_date(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("-200,00", Decimal("-200.00")),
        ("+00000000000005.5300", Decimal("5.5300")),
        ("-0,5", Decimal("-0.5")),
        ("1,234", Decimal("1.234")),  # OFX has no thousands separator
        ("12", Decimal("12")),
        ("twelve", None),
    ],
)
def test_amounts_take_a_point_or_a_comma(written: str, expected: Decimal | None) -> None:
    assert ofx._decimal(written) == expected


@pytest.mark.parametrize(
    ("name", "memo", "expected"),
    [
        ("SHOP", None, "SHOP"),
        (None, "card payment", "card payment"),
        (
            "DIVIDEND EARNED FOR PERIOD OF 03",  # NAME cut at 32 characters
            "DIVIDEND EARNED FOR PERIOD OF 03/01/2011",
            "DIVIDEND EARNED FOR PERIOD OF 03/01/2011",
        ),
        ("Gas Co  Monthly", "GAS CO MONTHLY", "GAS CO MONTHLY"),  # the same words once
        ("ACME", "Invoice 7", "ACME / Invoice 7"),
        (None, None, None),
    ],
)
def test_description_joins_name_and_memo_without_repeating(
    name: str | None, memo: str | None, expected: str | None
) -> None:
    assert ofx._describe(name, memo) == expected


# charsets


def test_utf8_bytes_under_a_1252_header_are_read_as_utf8_and_counted(tmp_path: Path) -> None:
    text = statement("<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00<NAME>Zürich Café</STMTTRN>")
    row, source = one_transaction(write(tmp_path, text.encode("utf-8")))
    assert row["counterparty"] == "Zürich Café"
    assert source.repairs == {"bytes are UTF-8 although the header says cp1252: read as UTF-8": 1}


def test_bytes_no_charset_defines_become_replacement_characters(tmp_path: Path) -> None:
    # 0x81 and 0x8D are undefined in Windows-1252; 0xE9 is é.
    text = statement("<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00<NAME>Caf\xe9 \x81\x8d</STMTTRN>")
    row, source = one_transaction(write(tmp_path, text.encode("latin-1")))
    assert row["counterparty"] == "Café \ufffd\ufffd"
    assert source.repairs == {"undecodable bytes (cp1252) replaced by U+FFFD": 2}


def test_a_utf8_header_over_windows_1252_bytes_is_read_as_1252(tmp_path: Path) -> None:
    header = SGML_HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8")
    text = statement(
        "<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00<NAME>Caf\xe9</STMTTRN>", header=header
    )
    row, source = one_transaction(write(tmp_path, text.encode("cp1252")))
    assert row["counterparty"] == "Café"
    assert source.repairs == {"bytes are not the UTF-8 the header says: read as Windows-1252": 1}


# the tokenizer


def test_entities_decode_and_nothing_is_ever_resolved(tmp_path: Path) -> None:
    text = statement(
        "<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00"
        "<NAME>A&amp;B &lt;x&gt; &#233;&#xE9;&nbsp;&xxe; AT&T</STMTTRN>"
    ).replace("<OFX>", '<!DOCTYPE OFX [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><OFX>')
    row, _ = one_transaction(write(tmp_path, text))
    assert row["counterparty"] == "A&B <x> éé\xa0&xxe; AT&T"


def test_a_never_closed_aggregate_is_read_one_level_up_and_counted(tmp_path: Path) -> None:
    text = statement("<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00<FITID>1</STMTTRN>").replace(
        "</BANKTRANLIST>", ""
    )
    row, source = one_transaction(write(tmp_path, text))
    assert (row["bank_ref"], row["amount"]) == ("1", Decimal("-1.00"))
    assert source.repairs == {UNCLOSED: 1}


def test_stray_end_tags_and_bare_angle_brackets_are_mended(tmp_path: Path) -> None:
    text = statement("<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00</FOO><NAME>1 < 2</STMTTRN>")
    row, source = one_transaction(write(tmp_path, text))
    assert row["counterparty"] == "1 < 2"
    assert source.repairs == {
        "closing tag that closes nothing ignored": 1,
        "unescaped '<' kept as text": 1,
    }


def test_an_empty_sgml_leaf_does_not_swallow_its_siblings(tmp_path: Path) -> None:
    text = statement("<STMTTRN><DTPOSTED>20240101<MEMO><TRNAMT>-1.00<NAME>SHOP</STMTTRN>")
    row, source = one_transaction(write(tmp_path, text))
    assert (row["amount"], row["description"]) == (Decimal("-1.00"), "SHOP")
    assert source.repairs == {UNCLOSED: 1}


# rejects and broken files


def test_transactions_without_a_usable_date_or_amount_are_rejected_with_their_line() -> None:
    tables, source = read_rows(DATA / "bad_records.ofx")
    assert source.rejects == [
        Reject("transactions", "<STMTTRN> without <DTPOSTED>", 25),
        Reject("transactions", "<STMTTRN> without <TRNAMT>", 30),
        Reject("transactions", "<DTPOSTED> '20241345' is not a date", 35),
        Reject("transactions", "<TRNAMT> 'twelve' is not an amount", 41),
    ]
    assert [t["bank_ref"] for t in tables["transactions"]] == ["GOOD"]


def test_an_investment_transaction_without_dttrade_is_rejected(tmp_path: Path) -> None:
    text = (DATA / "investment.ofx").read_text(encoding="utf-8")
    text = text.replace("<DTTRADE>20240328</DTTRADE>", "", 1)
    tables, source = read_rows(write(tmp_path, text))
    assert source.rejects == [Reject("transactions", "<INCOME> without <DTTRADE>", 43)]
    assert [t["bank_ref"] for t in tables["transactions"]] == ["B-1", "C-1"]


def test_truncated_file_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match=r"ends inside <STMTTRN> \(opened at line 31\)") as raised:
        read_rows(DATA / "truncated.ofx")
    assert raised.value.line == 34
    assert raised.value.path.endswith("truncated.ofx")


def test_a_file_cut_inside_a_tag_is_a_parse_error(tmp_path: Path) -> None:
    cut = statement("<STMTTRN><DTPOSTED>20240101<TRNAMT>-1.00</STMTTRN>").split("<TRNAMT>")[0]
    with pytest.raises(ParseError, match="ends inside a tag") as raised:
        read_rows(write(tmp_path, cut + "<TRNA"))
    assert raised.value.line == 14


def test_a_file_without_a_statement_says_what_the_institution_answered() -> None:
    with pytest.raises(ParseError, match="code 15500: Signon invalid") as raised:
        read_rows(DATA / "no_statement.ofx")
    assert raised.value.line == 11


def test_a_statement_without_an_account_number_is_a_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path, statement("").replace("<ACCTID>42", ""))
    with pytest.raises(ParseError, match="no <BANKACCTFROM>/<ACCTID>") as raised:
        read_rows(path)
    assert raised.value.line == 11


def test_implausibly_deep_nesting_is_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    deep = statement("<A>" * 5000 + "x" + "</A>" * 5000)
    with pytest.raises(ParseError, match="nest more than 200 deep") as raised:
        read_rows(write(tmp_path, deep))
    assert raised.value.line == 14


# batches


def test_transactions_come_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = "\n".join(
        f"<STMTTRN><DTPOSTED>20240101<TRNAMT>-{i}.00<FITID>{i}</STMTTRN>" for i in range(1, 8)
    )
    monkeypatch.setattr(ofx, "BATCH_ROWS", 3)
    batches = list(ofx.read(Source(write(tmp_path, statement(many)))))
    assert [(b.table, b.rows.num_rows) for b in batches] == [
        ("accounts", 1),
        ("transactions", 3),
        ("transactions", 3),
        ("transactions", 1),
    ]


# through the engine


def test_identical_transactions_survive_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [first] = import_ofx([DATA / "checking_102_cp1252.ofx"], vault)
    assert (first.status, first.importer) == ("imported", "ofx")
    assert first.new == {"accounts": 1, "transactions": 6}
    # Two 4.50 coffees on one day, told apart only by their FITIDs.
    assert query(
        vault,
        "SELECT bank_ref, booked_date::VARCHAR, amount, description FROM transactions "
        "WHERE amount = -4.50 ORDER BY bank_ref",
    ) == [
        ("20240105001", "2024-01-05", Decimal("-4.50"), "CARTE 04/01 Café Crème"),
        ("20240105002", "2024-01-05", Decimal("-4.50"), "CARTE 04/01 Café Crème"),
    ]
    [again] = import_ofx([DATA / "checking_102_cp1252.ofx"], vault)
    assert again.status == "already_imported"

    copy = tmp_path / "renamed-download.txt"  # other bytes, same content, any name
    copy.write_bytes((DATA / "checking_102_cp1252.ofx").read_bytes() + b"\r\n")
    [third] = import_ofx([copy], vault)
    assert (third.status, third.new) == ("imported", {"accounts": 0, "transactions": 0})
    assert third.duplicate == {"accounts": 1, "transactions": 6}


def test_credit_card_and_investment_accounts_land_in_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    results = import_ofx([DATA / "creditcard_2x.ofx", DATA / "investment.ofx"], vault)
    assert [r.new for r in results] == [
        {"accounts": 1, "transactions": 5},
        {"accounts": 1, "transactions": 3},
    ]
    assert query(
        vault,
        "SELECT kind, currency, extra->>'$.ledger_balance.amount' FROM accounts ORDER BY kind",
    ) == [("credit_card", "USD", "-1250.75"), ("investment_cash", "USD", None)]
    assert query(
        vault, "SELECT currency, sum(amount) FROM transactions GROUP BY ALL ORDER BY currency"
    ) == [("JPY", Decimal("-1500.00")), ("USD", Decimal("950.80"))]


def test_a_truncated_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_ofx([DATA / "two_statements.ofx"], vault)
    [result] = import_ofx([DATA / "truncated.ofx"], vault)
    assert result.status == "failed"
    assert isinstance(result.error, ParseError) and result.error.line == 34
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM transactions") == [
        (3, 1)
    ]


def test_rejects_and_repairs_are_counted_in_the_imports_row(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [result] = import_ofx([DATA / "bad_records.ofx"], vault)
    assert (result.rejected, result.new) == (
        {"transactions": 4},
        {"accounts": 1, "transactions": 1},
    )
    [(status, rejected)] = query(vault, "SELECT status, rows_rejected FROM imports")
    assert (status, json.loads(rejected)) == ("ok_with_rejects", {"transactions": 4})
