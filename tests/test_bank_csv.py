"""The bank CSV importer: detection, sniffing, profiles, rejects, options, the engine."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from selfdata import open_vault
from selfdata.errors import ParseError
from selfdata.importers import Registry, bank_csv
from selfdata.importers.base import Reject, Source
from selfdata.importers.money import account_id
from selfdata.ingest import FileResult, import_paths

DATA = Path(__file__).parent / "data" / "bank_csv"

Rows = dict[str, list[dict[str, Any]]]
TRANSACTION_COLUMNS = [
    *("account_id", "booked_date", "value_date", "amount", "currency", "description"),
    *("counterparty", "merchant", "category", "bank_ref", "balance_after", "extra"),
]


def read_rows(path: Path, options: dict[str, Any] | None = None) -> tuple[Rows, Source]:
    """Every batch's rows by table, `extra` parsed, and the source with its rejects."""
    source = Source(path, options=options or {})
    tables: Rows = {}
    for batch in bank_csv.read(source):
        rows = batch.rows.to_pylist()
        for row in rows:
            row["extra"] = json.loads(row["extra"]) if row["extra"] else None
        tables.setdefault(batch.table, []).extend(rows)
    return tables, source


def transaction(**values: Any) -> dict[str, Any]:
    """A whole transactions row: the columns not given are NULL."""
    return {column: values.get(column) for column in TRANSACTION_COLUMNS}


def write(tmp_path: Path, text: str, name: str = "statement.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_bank(paths: list[Path], vault: Path, **kwargs: Any) -> list[FileResult]:
    registry = Registry()
    registry.register(bank_csv, origin="builtin")
    return import_paths(paths, vault=vault, registry=registry, **kwargs)


def query(vault: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def error_of(path: Path, options: dict[str, Any] | None = None) -> str:
    with pytest.raises(ParseError) as raised:
        read_rows(path, options)
    return str(raised.value)


# detect


@pytest.mark.parametrize(
    "head",
    [
        b"Date;Libell\xe9;D\xe9bit;Cr\xe9dit\r\n31/01/2024;CB CAF\xc9;3,50;\r\n",  # cp1252
        b"Buchungstag;Verwendungszweck;Betrag\n02.01.2024;Miete;-1.234,56\n",
        b"\xef\xbb\xbfDate,Description,Amount\n2024-01-02,COFFEE,-3.00\n",
        b"\xff\xfe"
        + "Date\tDescription\tAmount\r\n2024-03-01\tCafe\t-3.20\r\n".encode("utf-16-le"),
        b'"Account Name:","FlexDirect ****12345"\n\n"Date","Transaction type","Description",'
        b'"Paid out","Paid in","Balance"\n"01 Sep 2026","Visa","TESCO","\xc2\xa312.34","",""\n',
        b"From: 01/09/2026 to 30/09/2026\r\n\r\nAccount: XXXX 9876\r\n\r\nDate: 05/09/2026\r\n"
        b"Description: DIRECT DEBIT\r\nAmount: -60.00 \r\nBalance: 2940.00 \r\n",
        b"Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,Balance\n",
    ],
    ids=["french-cp1252", "german", "utf8-bom", "utf16-bom", "nationwide", "santander", "revolut"],
)
def test_detect_accepts_bank_statements(head: bytes) -> None:
    assert bank_csv.detect(head, "export.csv")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<gpx version="1.1" creator="x">',
        b'<?xml version="1.0"?>\n<TrainingCenterDatabase xmlns="x">',
        b'[{"dateTime": "02/28/24 00:00:00", "value": "12"}]',
        b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1>",
        b'<?xml version="1.0"?><?OFX OFXHEADER="200"?><OFX>',
        (DATA / "green_button_usage.csv").read_bytes(),
        b"TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST\nElectric usage,2024-01-01,00:00,00:59,"
        b"0.52,kWh,$0.08\n",
        b"Date,Import (kWh),Export (kWh),Amount\n2024-01-01,5.2,0.0,1.20\n",
        b"Date,Steps,Distance\n2024-01-01,5200,3.9\n",
        b"Dear Sir, the amount of 12.00 is due on 01/02/2024.\n",
        b"",
    ],
    ids=[
        *("gpx", "tcx", "json", "ofx1", "ofx2", "green-button-preamble", "green-button-usage"),
        *("kwh", "steps", "prose", "empty"),
    ],
)
def test_detect_refuses_other_files_whatever_the_name(head: bytes) -> None:
    assert not bank_csv.detect(head, "statement.csv")


def test_detect_sees_every_statement_fixture() -> None:
    others = {"green_button_usage.csv", "odd_headers.csv"}  # energy; unknown header names
    for path in sorted(DATA.iterdir()):
        assert bank_csv.detect(path.read_bytes()[:4096], path.name) is (path.name not in others)


def test_detect_ignores_a_character_cut_by_the_head() -> None:
    text = "Date,Description,Amount\n" + "2024-01-02,CAFÉ,-3.00\n" * 300
    head = text.encode()[:4096]
    head = head[: head.rindex("É".encode()) + 1]  # ends inside the É
    assert head.endswith(b"\xc3")
    assert bank_csv.detect(head, "x.csv")


# the generic reader: whole rows


def test_french_cp1252_with_debit_credit_nbsp_grouping_and_an_iban_preamble() -> None:
    tables, source = read_rows(DATA / "french_cp1252.csv")
    iban = "FR76 3000 6000 0112 3456 7890 189"
    account = account_id(iban)
    assert tables["accounts"] == [
        {
            "account_id": account,
            "institution": None,
            "name": None,
            "number_masked": "***********************0189",
            "currency": None,
            "kind": None,
            "extra": {"numero_de_compte": iban},
        }
    ]
    assert tables["transactions"] == [
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 3),
            amount=Decimal("-3.50"),
            description="CB CAFÉ DE LA GARE",
            balance_after=Decimal("1996.50"),
        ),
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 15),
            amount=Decimal("2500.00"),
            description="VIR SALAIRE ACME",
            balance_after=Decimal("4496.50"),
        ),
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 20),
            amount=Decimal("-1234.56"),  # `1 234,56` grouped by an NBSP
            description="PRLV EDF ÉLECTRICITÉ",
            balance_after=Decimal("3261.94"),
        ),
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 31),
            amount=Decimal("-3.50"),
            description="CB CAFÉ DE LA GARE",
            balance_after=Decimal("3258.44"),
        ),
    ]
    assert source.repairs == {"not UTF-8: read as cp1252": 1}
    assert source.rejects == []


def test_an_encoding_option_reads_the_file_without_a_repair() -> None:
    tables, source = read_rows(DATA / "french_cp1252.csv", {"encoding": "cp1252"})
    assert len(tables["transactions"]) == 4
    assert source.repairs == {}


def test_german_decimal_comma_dotted_dates_and_german_headers() -> None:
    tables, source = read_rows(DATA / "german_sparkasse.csv")
    [account] = tables["accounts"]
    header = "buchungstag valutadatum verwendungszweck auftraggeber empfanger betrag wahrung saldo"
    # No account number in the file: the default account is named after the header.
    assert account["account_id"] == account_id(f"csv {header}", institution="bank_csv")
    common = {"account_id": account["account_id"], "currency": "EUR"}
    assert tables["transactions"] == [
        transaction(
            **common,
            booked_date=date(2024, 1, 2),
            value_date=date(2024, 1, 2),
            amount=Decimal("-1234.56"),
            description="Miete Januar",
            counterparty="Hausverwaltung Müller",
            balance_after=Decimal("2765.44"),
        ),
        transaction(
            **common,
            booked_date=date(2024, 1, 15),
            value_date=date(2024, 1, 16),
            amount=Decimal("3000.00"),
            description="Gehalt Januar",
            counterparty="ACME GmbH",
            balance_after=Decimal("5765.44"),
        ),
        transaction(
            **common,
            booked_date=date(2024, 1, 20),
            value_date=date(2024, 1, 20),
            amount=Decimal("-4.20"),
            description="Kartenzahlung Bäckerei",
            counterparty="Bäckerei Schmidt",
            balance_after=Decimal("5761.24"),
        ),
    ]
    assert (source.rejects, source.repairs) == ([], {})


def test_us_month_first_dates_are_decided_by_a_day_above_twelve() -> None:
    tables, _ = read_rows(DATA / "us_checking.csv")
    assert [
        (t["booked_date"], t["amount"], t["balance_after"]) for t in tables["transactions"]
    ] == [
        (date(2024, 1, 15), Decimal("2500.00"), Decimal("3500.00")),
        (date(2024, 1, 20), Decimal("-4.95"), Decimal("3495.05")),
        (date(2024, 2, 3), Decimal("-120.00"), Decimal("3375.05")),
    ]


def test_utf16_with_bom_tab_separated() -> None:
    tables, source = read_rows(DATA / "excel_utf16.txt")
    rows = [
        (t["booked_date"], t["amount"], t["currency"], t["description"])
        for t in tables["transactions"]
    ]
    assert rows == [
        (date(2024, 3, 1), Decimal("-3.20"), "EUR", "Café Crème"),
        (date(2024, 3, 2), Decimal("12.00"), "EUR", "Refund ☂ shop"),
    ]
    assert tables["accounts"][0]["currency"] == "EUR"
    assert source.repairs == {}


def test_an_unsigned_amount_is_signed_by_its_af_bij_column_and_compact_dates_read() -> None:
    tables, _ = read_rows(DATA / "ing_nl.csv")
    first, second = tables["transactions"]
    assert (first["booked_date"], first["amount"], first["counterparty"]) == (
        date(2024, 1, 5),
        Decimal("-23.45"),
        "Albert Heijn 1234",
    )
    assert (second["amount"], second["description"]) == (Decimal("2500.00"), "Salaris januari")
    assert second["extra"]["tegenrekening"] == "NL91ABNA0417164300"
    assert first["account_id"] == account_id("NL20INGB0001234567")


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        # One amount with a decimal comma settles `1.234` as a thousand and more.
        ("2024-01-02;X;1.234\n2024-01-03;Y;12,50\n", ["1234.00", "12.50"]),
        (
            "2024-01-02;X;1 234,56 €\n2024-01-03;Y;(12,00)\n2024-01-04;Z;7,00-\n",
            ["1234.56", "-12.00", "-7.00"],
        ),
        ("2024-01-02;X;11'373.94\n2024-01-03;Y;\u22123.5\n", ["11373.94", "-3.50"]),
        ("2024-01-02;X;£1,454.33\n2024-01-03;Y;12.00 DR\n", ["1454.33", "-12.00"]),
    ],
    ids=["comma-decides", "space-parens-trailing-minus", "apostrophe-unicode-minus", "sign-dr"],
)
def test_amount_formats_decided_from_the_whole_column(
    tmp_path: Path, text: str, amounts: list[str]
) -> None:
    tables, _ = read_rows(write(tmp_path, "Datum;Text;Betrag\n" + text))
    assert [t["amount"] for t in tables["transactions"]] == [Decimal(a) for a in amounts]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["12 Aug 2026", "3 Sept 2026"], [date(2026, 8, 12), date(2026, 9, 3)]),
        (["12 August 2026", "1 août 2026"], [date(2026, 8, 12), date(2026, 8, 1)]),
        (["Aug 12, 2026", "Sep 3, 2026"], [date(2026, 8, 12), date(2026, 9, 3)]),
        (["01.02.2024", "03.04.2024"], [date(2024, 2, 1), date(2024, 4, 3)]),  # dots: day first
        (["2/20/19", "1/5/19"], [date(2019, 2, 20), date(2019, 1, 5)]),
        (["2024-01-31 10:00:00", "2024-02-01T08:00"], [date(2024, 1, 31), date(2024, 2, 1)]),
    ],
    ids=["short-month", "long-and-french-month", "us-text", "dotted", "us-short-year", "iso-time"],
)
def test_date_formats_decided_from_the_whole_column(
    tmp_path: Path, dates: list[str], expected: list[date]
) -> None:
    rows = "".join(f'"{d}",X,-1.00\n' for d in dates)
    tables, _ = read_rows(write(tmp_path, "Date,Description,Amount\n" + rows))
    assert [t["booked_date"] for t in tables["transactions"]] == expected


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "sep=;\nDate;Description;Amount\n2024-01-02;A, B;-1,50\n")
    tables, _ = read_rows(path)
    assert [(t["description"], t["amount"]) for t in tables["transactions"]] == [
        ("A, B", Decimal("-1.50"))
    ]


def test_a_header_without_rows_gives_no_rows(tmp_path: Path) -> None:
    tables, source = read_rows(write(tmp_path, "Date,Description,Amount\n\n"))
    assert (tables["accounts"], tables["transactions"], source.rejects) == ([], [], [])


def test_a_hundred_thousand_rows_are_read_column_wise(tmp_path: Path) -> None:
    lines = "".join(
        f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024;Karte {i};Shop {i % 50};"
        f"-{i % 900 + 1},{i % 100:02d}\n"
        for i in range(100_000)
    )
    path = write(tmp_path, "Buchungstag;Verwendungszweck;Empfänger;Betrag\n" + lines)
    source = Source(path)
    batches = [b for b in bank_csv.read(source) if b.table == "transactions"]
    assert [b.rows.num_rows for b in batches] == [100_000]
    amounts = batches[0].rows.column("amount").to_pylist()
    assert sum(amounts) == -sum(Decimal(f"{i % 900 + 1}.{i % 100:02d}") for i in range(100_000))
    assert source.rejects == []


# built-in profiles beyond the corpus


def test_chase_uk_unquoted_comma_in_the_type_column_is_rejoined() -> None:
    tables, source = read_rows(DATA / "chase_uk_unquoted_comma.csv")
    first, second = tables["transactions"]
    assert first["extra"] == {
        "time": "10:36",
        "type": "Card payment | EUR 40.00 | FX rate £1 = €1,16",
    }
    assert (first["description"], first["amount"], first["balance_after"]) == (
        "Cafe, Faro",
        Decimal("-34.48"),
        Decimal("1386.70"),
    )
    assert second["balance_after"] == Decimal("1376.70")
    assert source.repairs == {"unquoted ',' in 'Transaction Type' re-joined": 1}


def test_midata_guards_signs_and_the_overdraft_trailer() -> None:
    tables, source = read_rows(DATA / "midata.csv")
    assert [
        (t["booked_date"], t["amount"], t["description"], t["balance_after"], t["currency"])
        for t in tables["transactions"]
    ] == [
        (date(2013, 10, 2), Decimal("-15.76"), "SAINSBURYS S/MKTS", Decimal("2345.33"), "GBP"),
        (date(2013, 10, 3), Decimal("1500.00"), "ACME LTD SALARY", Decimal("3845.33"), "GBP"),
    ]
    assert source.repairs == {
        "unquoted ',' in 'Balance' re-joined": 1,
        "midata overdraft-limit line skipped": 1,
    }
    assert source.rejects == []


def test_a_row_with_more_fields_than_the_header_is_rejected_when_no_profile_mends_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "Date,Description,Amount\n2024-01-02,A,-1.00\n2024-01-03,B,x,-2.00\n")
    tables, source = read_rows(path)
    assert len(tables["transactions"]) == 1
    assert source.rejects == [Reject("transactions", "4 fields where the header has 3", 3)]


# rejects and errors


def test_unusable_rows_are_rejected_with_their_line_in_the_file() -> None:
    tables, source = read_rows(DATA / "bad_rows.csv")
    assert source.rejects == [
        Reject("transactions", "date '2024-01-3x' in 'Date' is not YYYY-MM-DD", 6),
        Reject("transactions", "amount 'abc' in 'Amount' is not a number", 7),
        Reject("transactions", "no amount: 'Amount' is empty", 10),
    ]
    # The preamble's account; a quoted line break; blank lines are not rows.
    account = account_id("12345678", institution="bank_csv")
    assert tables["transactions"] == [
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 2),
            amount=Decimal("-3.00"),
            description="COFFEE\nSHOP",
        ),
        transaction(
            account_id=account,
            booked_date=date(2024, 1, 5),
            amount=Decimal("-12.00"),
            description="LUNCH",
        ),
    ]


def test_undecidable_dates_say_what_and_how_to_settle_it() -> None:
    message = error_of(DATA / "ambiguous_dates.csv")
    assert "dates such as '01/02/2024' read either way" in message
    assert "DD/MM/YYYY and MM/DD/YYYY both fit (in 'Date')" in message
    assert '    [importers.bank_csv]\n    date_order = "DMY"  # or "MDY"\n' in message
    assert "    [importers.bank_csv.profiles.mybank]\n" in message
    assert '    header = ["Date", "Description", "Amount"]\n    date = "Date"\n' in message
    assert '    delimiter = ","\n    encoding = "utf-8"\n    skip_rows = 0\n' in message
    assert 'profile = "mybank"' in message


def test_the_settled_date_order_reads_the_ambiguous_file() -> None:
    tables, _ = read_rows(DATA / "ambiguous_dates.csv", {"date_order": "MDY"})
    assert [t["booked_date"] for t in tables["transactions"]] == [
        date(2024, 1, 2),
        date(2024, 3, 4),
        date(2024, 5, 6),
    ]


def test_undecidable_decimal_separator_says_how_to_settle_it(tmp_path: Path) -> None:
    path = write(tmp_path, 'Date,Description,Amount\n2024-01-02,X,"1,234"\n2024-01-03,Y,"2,500"\n')
    message = error_of(path)
    assert "amounts such as '1,234' read either way" in message
    assert 'decimal = "."  # or ","' in message
    tables, _ = read_rows(path, {"decimal": "."})
    assert [t["amount"] for t in tables["transactions"]] == [Decimal("1234"), Decimal("2500")]


def test_no_amount_column_names_the_columns_to_set(tmp_path: Path) -> None:
    message = error_of(DATA / "odd_headers.csv")
    assert "no header row with a date column and an amount column in the first 40 lines" in message
    assert '    date = "Dt"\n    amount = "Val"\n    delimiter = "|"\n' in message
    tables, _ = read_rows(
        DATA / "odd_headers.csv", {"date": "Dt", "amount": "Val", "date_order": "DMY"}
    )
    assert [(t["booked_date"], t["amount"]) for t in tables["transactions"]] == [
        (date(2024, 2, 1), Decimal("-1200.00")),
        (date(2024, 2, 3), Decimal("2500.50")),
    ]


def test_a_date_format_that_fits_no_row_fails_the_file() -> None:
    with pytest.raises(ParseError) as raised:
        read_rows(DATA / "ambiguous_dates.csv", {"date_format": "%Y.%m.%d"})
    assert raised.value.line == 2
    assert "no row could be read; the first: date '01/02/2024' in 'Date' is not date_format" in str(
        raised.value
    )


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"bogus": 1}, "[importers.bank_csv] has an unknown key 'bogus'; known keys: account,"),
        ({"decimal": ";"}, "[importers.bank_csv] decimal = ';': must be '.' or ','"),
        ({"profile": "nope"}, "profile = 'nope' is unknown; known: monzo, starling"),
        ({"profiles": {"x": {"date": 3}}}, "[importers.bank_csv.profiles.x] date must be a column"),
        ({"encoding": "klingon"}, "encoding = 'klingon': must be an encoding Python knows"),
    ],
)
def test_bad_options_name_the_key(options: dict[str, Any], problem: str) -> None:
    assert problem in error_of(DATA / "us_checking.csv", options)


def test_a_forced_profile_whose_columns_are_missing_says_so() -> None:
    message = error_of(DATA / "us_checking.csv", {"profile": "monzo"})
    assert "no header row with the columns of profile 'monzo' (Transaction ID, Date," in message


def test_a_file_that_is_not_its_forced_encoding_fails(tmp_path: Path) -> None:
    message = error_of(DATA / "french_cp1252.csv", {"encoding": "utf-8"})
    assert "is not utf-8: invalid continuation byte at byte" in message


# through the engine


def test_two_identical_purchases_survive_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [first] = import_bank([DATA / "two_coffees.csv"], vault)
    assert (first.status, first.new) == ("imported", {"accounts": 1, "transactions": 3})
    assert query(
        vault,
        "SELECT booked_date::VARCHAR, amount::VARCHAR, description FROM transactions ORDER BY ALL",
    ) == [
        ("2024-03-01", "-3.00", "COFFEE BAR"),
        ("2024-03-01", "-3.00", "COFFEE BAR"),
        ("2024-03-02", "-2.50", "BAKERY"),
    ]
    [again] = import_bank([DATA / "two_coffees.csv"], vault)
    assert again.status == "already_imported"
    copy = tmp_path / "re-export.csv"  # other bytes, the same rows
    copy.write_bytes((DATA / "two_coffees.csv").read_bytes() + b"\n")
    [overlap] = import_bank([copy], vault)
    assert (overlap.new, overlap.duplicate) == (
        {"accounts": 0, "transactions": 0},
        {"accounts": 1, "transactions": 3},
    )


def test_a_user_profile_in_selfdata_toml_is_recognised_and_applied(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    (tmp_path / "selfdata.toml").write_text(
        """
[importers.bank_csv.profiles.mybank]
header = ["Datum", "Buchungstext", "Betrag", "Notiz"]
date = "Datum"
amount = "Betrag"
description = "Buchungstext"
date_format = "%d-%m-%Y"
decimal = ","
currency = "EUR"
account = "DE89 3704 0044 0532 0130 00"
institution = "Meine Bank"
extra = { Notiz = "note" }
""",
        encoding="utf-8",
    )
    [result] = import_bank([DATA / "mybank.csv"], vault)
    assert (result.status, result.error) == ("imported", None)
    account = account_id("DE89370400440532013000")
    assert query(
        vault,
        "SELECT account_id, institution, name, number_masked, currency, kind, extra FROM accounts",
    ) == [
        (
            account,
            "Meine Bank",
            "Meine Bank",
            "******************3000",
            "EUR",
            "checking",
            '{"profile": "mybank"}',
        ),
    ]
    assert query(
        vault,
        "SELECT account_id, booked_date::VARCHAR, amount::VARCHAR, currency, description, "
        "extra->>'$.note' FROM transactions ORDER BY booked_date",
    ) == [
        (account, "2024-02-01", "-1200.00", "EUR", "Miete Februar", "Wohnung"),
        (account, "2024-02-03", "2500.00", "EUR", "Gehalt", None),
    ]


def test_without_the_profile_the_same_file_is_ambiguous(tmp_path: Path) -> None:
    [result] = import_bank([DATA / "mybank.csv"], tmp_path / "v.duckdb")
    assert result.status == "failed" and isinstance(result.error, ParseError)
    assert "dates such as '01-02-2024' read either way" in str(result.error)


def test_an_unknown_layout_is_read_with_top_level_keys_and_a_forced_importer(
    tmp_path: Path,
) -> None:
    vault = tmp_path / "v.duckdb"
    (tmp_path / "selfdata.toml").write_text(
        '[importers.bank_csv]\ndate = "Dt"\namount = "Val"\ndescription = "Txt"\n'
        'date_order = "DMY"\ncurrency = "EUR"\naccount = "12345678"\n',
        encoding="utf-8",
    )
    [result] = import_bank([DATA / "odd_headers.csv"], vault, importer="bank_csv")
    assert result.new == {"accounts": 1, "transactions": 2}
    assert query(vault, "SELECT account_id, currency, number_masked FROM accounts") == [
        (account_id("12345678", institution="bank_csv"), "EUR", "****5678")
    ]


def test_rejects_and_repairs_are_counted_in_the_imports_row(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    [bad] = import_bank([DATA / "bad_rows.csv"], vault)
    assert (bad.status, bad.rejected, bad.new["transactions"]) == (
        "imported",
        {"transactions": 3},
        2,
    )
    [midata] = import_bank([DATA / "midata.csv"], vault)
    rows = query(vault, "SELECT status, rows_rejected, extra FROM imports ORDER BY import_id")
    assert [(status, json.loads(rejected)) for status, rejected, _ in rows] == [
        ("ok_with_rejects", {"transactions": 3}),
        ("ok", {}),
    ]
    assert json.loads(rows[1][2])["repairs"] == midata.repairs


def test_an_ambiguous_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v.duckdb"
    import_bank([DATA / "two_coffees.csv"], vault)
    [result] = import_bank([DATA / "ambiguous_dates.csv"], vault)
    assert result.status == "failed"
    assert query(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM transactions") == [
        (3, 1)
    ]


def test_a_recognised_user_profile_says_how_the_file_is_encoded(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes("Datum;Text;Betrag\n01.02.2024;Bäckerei;-3,50\n".encode("mac_roman"))
    profile = {"header": ["Datum", "Text", "Betrag"], "date": "Datum", "description": "Text"}
    tables, source = read_rows(path, {"profiles": {"mac": {**profile, "encoding": "mac_roman"}}})
    assert [t["description"] for t in tables["transactions"]] == ["Bäckerei"]
    assert source.repairs == {}
    tables, source = read_rows(path)  # sniffed: not UTF-8, so cp1252
    assert [t["description"] for t in tables["transactions"]] == ["BŠckerei"]
    assert source.repairs == {"not UTF-8: read as cp1252": 1}


def test_an_account_column_splits_accounts_and_an_empty_one_falls_back(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Transaction Date,Posted Date,Card No.,Description,Category,Debit,Credit\n"
        "2024-01-02,2024-01-03,1234,SHOP,Other,10.00,\n"
        "2024-01-02,2024-01-03,9876,CAFE,Dining,4.50,\n"
        "2024-01-05,2024-01-05,,PAYMENT,Payment,,14.50\n",
    )
    tables, _ = read_rows(path)
    assert [(a["number_masked"], a["kind"]) for a in tables["accounts"]] == [
        ("1234", "credit_card"),
        ("9876", "credit_card"),
        (None, "credit_card"),  # no card number: the profile's default account
    ]
    assert [t["account_id"] for t in tables["transactions"]] == [
        account_id("1234", institution="capital_one"),
        account_id("9876", institution="capital_one"),
        account_id("capital_one", institution="capital_one"),
    ]


def test_no_other_importer_claims_a_statement_fixture() -> None:
    registry = Registry.default()
    if "bank_csv" not in [r.name for r in registry]:
        registry.register(bank_csv, origin="builtin")
    others = {"green_button_usage.csv": ["green_button"], "odd_headers.csv": []}
    for path in sorted(DATA.iterdir()):
        claims = [i.name for i in registry.candidates(path.read_bytes()[:4096], path.name)]
        assert claims == others.get(path.name, ["bank_csv"]), path.name


def test_a_quote_that_is_never_closed_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'Date,Description,Amount\n2024-01-01,A,-1.00\n2024-01-02,"B,-2.00\n')
    with pytest.raises(ParseError, match="a quoted field opened here is never closed") as raised:
        read_rows(path)
    assert raised.value.line == 3


def test_a_quote_inside_an_unquoted_field_is_text(tmp_path: Path) -> None:
    path = write(tmp_path, 'Date,Description,Amount\n2024-01-01,Say "hi" there,-1.00\n')
    tables, _ = read_rows(path)
    assert [t["description"] for t in tables["transactions"]] == ['Say "hi" there']
