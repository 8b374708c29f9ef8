"""Spending analytics on a small vault whose right answers are worked out by hand.

The fixture is half a year of one person's money in three accounts: a UK
current account, its savings account and a French compte courant (whose rows
carry no currency, so the account's is used). It holds a monthly subscription
with one price rise (Netflix 9.99 -> 11.99), a yearly one (insurance), a
weekly one (a veg box), one that stopped (Spotify, written three ways), a
salary, rent, Tesco written three ways, a transfer pair between two accounts,
one unusually large purchase, two identical coffees on one day, French
statement lines (`CB CARREFOUR 12/03`, `PRLV SEPA EDF`, `VIR SALAIRE ...`) and
one uncategorisable payment per currency.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from selfdata import open_vault
from selfdata.analytics import categories, spending
from selfdata.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "bank_csv"

CURRENT, SAVINGS, COURANT = "gb-current", "gb-savings", "fr-courant"
ACCOUNTS = [
    (CURRENT, "Monzo", "Current account", "****1234", "GBP", "checking"),
    (SAVINGS, "Monzo", "Savings", "****5678", "GBP", "savings"),
    (COURANT, "Banque Populaire", "Compte courant", "****9012", "EUR", "checking"),
]


def _monthly(account: str, day: int, amount: str, text: str, months: range) -> list[tuple]:
    return [(account, f"2024-{m:02d}-{day:02d}", amount, text, None) for m in months]


# (account, booked_date, amount, description, counterparty)
ROWS: list[tuple[str, str, str, str, str | None]] = [
    *_monthly(CURRENT, 1, "-1200.00", "STANDING ORDER TO J SMITH RENT", range(1, 7)),
    *[
        (CURRENT, day, "2500.00", "ACME LTD SALARY", None)
        for day in ("2024-01-25", "2024-02-23", "2024-03-25", "2024-04-25", "2024-05-24")
    ],
    (CURRENT, "2024-06-25", "2500.00", "ACME LTD SALARY", None),
    *_monthly(CURRENT, 3, "-9.99", "NETFLIX.COM", range(1, 4)),
    *_monthly(CURRENT, 3, "-11.99", "NETFLIX.COM", range(4, 7)),
    (CURRENT, "2024-01-15", "-10.99", "PAYPAL *SPOTIFY", None),
    (CURRENT, "2024-02-15", "-10.99", "Spotify AB Stockholm", None),
    (CURRENT, "2024-03-15", "-10.99", "SPOTIFY P1A2B3C4", None),
    (CURRENT, "2023-05-20", "-240.00", "DIRECT LINE INSURANCE", None),
    (CURRENT, "2024-05-20", "-240.00", "DIRECT LINE INSURANCE", None),
    *[
        (CURRENT, f"2024-{day}", "-22.50", "RIVERFORD ORGANIC", None)
        for day in ("05-03", "05-10", "05-17", "05-24", "05-31", "06-07", "06-14", "06-21", "06-28")
    ],
    (CURRENT, "2024-06-04", "-23.47", "TESCO STORES 3297 LEEDS", None),
    (
        CURRENT,
        "2024-06-06",
        "-41.20",
        "CARD PAYMENT TO TESCO STORES 2231,41.20 GBP, RATE 1.00/GBP ON 05-06-2024",
        None,
    ),
    (CURRENT, "2024-06-19", "-12.34", "TESCO STORES 6011 LONDON GBR", "Tesco"),
    (CURRENT, "2024-06-12", "-4.50", "PRET A MANGER LONDON GBR", None),
    (CURRENT, "2024-06-12", "-4.50", "PRET A MANGER LONDON GBR", None),
    (CURRENT, "2024-06-08", "-18.90", "DELIVEROO LONDON GBR", None),
    (CURRENT, "2024-01-10", "-15.00", "AMAZON.CO.UK*2K3L45 LONDON GB", None),
    (CURRENT, "2024-01-24", "-22.00", "AMZN MKTP UK*1A2B3C", None),
    (CURRENT, "2024-03-12", "-18.00", "Amazon.co.uk*XY12Z", None),
    (CURRENT, "2024-04-02", "-30.00", "AMAZON.CO.UK*9Z8Y7X LONDON GB", None),
    (CURRENT, "2024-05-14", "-25.00", "AMZN MKTP UK*4D5E6F", None),
    (CURRENT, "2024-06-02", "-20.00", "AMAZON.CO.UK*AB12CD", None),
    (CURRENT, "2024-06-15", "-649.00", "AMAZON.CO.UK*QW12ER LONDON GB", None),
    (CURRENT, "2024-06-08", "-300.00", "Savings Pot", "Savings"),
    (CURRENT, "2024-06-10", "-500.00", "FPO J DOE 0041", None),
    (SAVINGS, "2024-06-11", "500.00", "FPI J DOE 0041", None),
    (CURRENT, "2024-06-22", "-35.00", "HAPPY PAWS GROOMING", None),
    *_monthly(COURANT, 5, "-65.00", "PRLV SEPA EDF", range(1, 7)),
    (COURANT, "2024-03-12", "-54.30", "CB CARREFOUR 12/03", None),
    (COURANT, "2024-06-18", "-23.10", "CARTE X1234 18/06 CARREFOUR MARKET", None),
    (COURANT, "2024-06-12", "-6.40", "CB BOULANGERIE PAUL 12/06 12H30", None),
    (COURANT, "2024-06-14", "-15.80", "PHARMACIE DU CENTRE", None),
    (COURANT, "2024-06-10", "-500.00", "CB FNAC PARIS", None),
    (COURANT, "2024-06-14", "-32.00", "CB CHEZ MARCEL 14/06", None),
    (COURANT, "2024-06-28", "3000.00", "VIR SALAIRE ACME FRANCE", None),
    (COURANT, "2024-06-29", "-200.00", "VIREMENT INTERNE LIVRET A", None),
]


def build_vault(path: Path, rows: list[tuple[str, str, str, str, str | None]] = ROWS) -> Path:
    """A vault at `path` holding ACCOUNTS and `rows`; French rows get no currency."""
    with open_vault(path, read_only=False) as con:
        con.executemany(
            "INSERT INTO accounts (account_id, institution, name, number_masked, currency, kind,"
            " import_id) VALUES (?, ?, ?, ?, ?, ?, 1)",
            ACCOUNTS,
        )
        currency = {CURRENT: "GBP", SAVINGS: "GBP", COURANT: None}
        con.executemany(
            "INSERT INTO transactions (import_id, account_id, booked_date, amount, currency,"
            " description, counterparty) VALUES (1, ?, ?, ?, ?, ?, ?)",
            [
                (account, day, Decimal(amount), currency[account], text, counterparty)
                for account, day, amount, text, counterparty in rows
            ],
        )
    return path


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture vault, categorised once with the default rules."""
    path = build_vault(tmp_path_factory.mktemp("spending") / "v.duckdb")
    spending.categorize(path)
    return path


@pytest.fixture
def con(vault: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_vault(vault)
    yield connection
    connection.close()


def labelled(vault: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """{(booked_date, description): (merchant, category)} of every transaction."""
    with open_vault(vault) as con:
        rows = con.execute(
            "SELECT CAST(booked_date AS VARCHAR), description, merchant, category"
            " FROM transactions ORDER BY booked_date, description"
        ).fetchall()
    return {(day, text): (merchant, category) for day, text, merchant, category in rows}


# Merchant normalisation: Python and SQL from one rule list

NAMES = {
    "PAYPAL *SPOTIFY": "Spotify",
    "Spotify AB Stockholm": "Spotify",
    "SPOTIFY P1A2B3C4": "Spotify",
    "PAYPAL *SPOTIFY 35314369001 GB": "Spotify",
    "AMAZON.CO.UK LONDON GB": "Amazon",
    "AMZN MKTP UK*1A2B3C": "Amazon",
    "TESCO STORES 3297 LEEDS": "Tesco",
    "STARBUCKS #1234 SEATTLE WA": "Starbucks",
    "STARBUCKS SEATTLE WA": "Starbucks",
    "SQ *BLUE BOTTLE COFFEE": "Blue Bottle Coffee",
    "SumUp *Le Petit Cafe": "Le Petit Cafe",
    "ZETTLE_*MARKET STALL": "Market Stall",
    "IZ *COFFEE CART": "Coffee Cart",
    "TST* SHAKE SHACK 123": "Shake Shack",
    "SP * ALLBIRDS": "Allbirds",
    "GOOGLE *YOUTUBE PREMIUM": "Youtube Premium",
    "APPLE.COM/BILL CORK IE": "Apple",
    "CB CARREFOUR 12/03": "Carrefour",
    "CB*CARREFOUR": "Carrefour",
    "CARTE X1234 12/03 CARREFOUR MARKET": "Carrefour Market",
    "PAIEMENT PAR CARTE MONOPRIX PARIS 15": "Monoprix",
    "PRLV SEPA EDF": "Edf",
    "PRLV SEPA EDF CLIENTS PARTICULIERS ECH/050324 ID EMETTEUR/FR45ZZZ123456": (
        "Edf Clients Particuliers"
    ),
    "VIR SEPA LOYER JUIN": "Loyer Juin",
    "CARD 1234 BOOTS": "Boots",
    "XXXX1234 PRET A MANGER": "Pret A Manger",
    "AMAZON 2024-03-12 LONDON": "Amazon",
    "MCDONALD'S 12MAR": "Mcdonald's",
    "CB BOULANGERIE PAUL 12/06 12H30": "Boulangerie Paul",
    "DIRECT DEBIT PAYMENT TO BRITISH GAS REF 1234": "British Gas",
    "ACME LTD SALARY SEP": "Acme",
    "PayPal Europe S.a.r.l. et Cie S.C.A": "Paypal Europe",
    "UBER *TRIP HELP.UBER.COM": "Uber",
    "UBER *EATS": "Uber Eats",
    "Café de Flore": "Cafe De Flore",
    "CAFE DE FLORE PARIS FRA": "Cafe De Flore",
    "GARE DE LYON": "Gare De Lyon",
    "M&S SIMPLY FOOD 1234 LONDON": "M&S Simply Food",
    "SAINSBURYS S/MKTS": "Sainsburys",
    "Straße": "Strasse",
    "東京 ラーメン": "東京 ラーメン",
    "VIR SEPA": None,
    "  ": None,
}


@pytest.mark.parametrize(("text", "merchant"), NAMES.items())
def test_normalise_merchant_in_python_and_in_sql_agree_on_known_names(text, merchant):
    sql = categories.normalise_merchant_sql("$text")
    in_sql = duckdb.connect().execute(f"SELECT {sql}", {"text": text}).fetchall()[0][0]
    assert (categories.normalise_merchant(text), in_sql) == (merchant, merchant)


def test_normalise_merchant_of_null_is_null():
    assert categories.normalise_merchant(None) is None
    assert duckdb.sql(f"SELECT {categories.normalise_merchant_sql('NULL')}").fetchall() == [(None,)]


def test_merchant_is_the_counterparty_when_there_is_one():
    sql = categories.merchant_sql("$counterparty", "$description")
    con = duckdb.connect()
    pick = con.execute(
        f"SELECT {sql}", {"counterparty": "Tesco", "description": "CARD 4821 GROCERIES"}
    )
    assert pick.fetchall() == [("Tesco",)]
    fallback = con.execute(f"SELECT {sql}", {"counterparty": "  ", "description": "PRLV SEPA EDF"})
    assert fallback.fetchall() == [("Edf",)]


# categorize(): merchants, categories, transfers


def test_categorize_reports_rows_categorised_pairs_and_the_uncategorised_share(tmp_path):
    result = spending.categorize(build_vault(tmp_path / "v.duckdb"))
    assert (result.rows, result.categorised, result.transfer_pairs) == (63, 61, 1)
    # Unmatched: a dog groomer (35.00 of 8900.32 GBP), a bistro (32.00 of 1021.60 EUR).
    assert result.uncategorised_share == pytest.approx({"EUR": 32 / 1021.60, "GBP": 35 / 8900.32})


def test_categorize_sets_merchant_and_category_of_every_row(vault):
    found = labelled(vault)
    assert found[("2024-06-04", "TESCO STORES 3297 LEEDS")] == ("Tesco", "groceries")
    assert found[("2024-06-19", "TESCO STORES 6011 LONDON GBR")] == ("Tesco", "groceries")
    tesco_by_card = [v for (d, _), v in found.items() if d == "2024-06-06"]
    assert tesco_by_card == [("Tesco", "groceries")]
    assert found[("2024-01-15", "PAYPAL *SPOTIFY")] == ("Spotify", "subscriptions")
    assert found[("2024-02-15", "Spotify AB Stockholm")] == ("Spotify", "subscriptions")
    assert found[("2024-03-15", "SPOTIFY P1A2B3C4")] == ("Spotify", "subscriptions")
    assert found[("2024-01-24", "AMZN MKTP UK*1A2B3C")] == ("Amazon", "shopping")
    assert found[("2024-06-01", "STANDING ORDER TO J SMITH RENT")] == ("J Smith Rent", "housing")
    assert found[("2024-06-25", "ACME LTD SALARY")] == ("Acme", "income")
    assert found[("2024-06-12", "PRET A MANGER LONDON GBR")] == ("Pret A Manger", "eating_out")
    assert found[("2024-05-20", "DIRECT LINE INSURANCE")] == ("Direct Line Insurance", "insurance")
    assert found[("2024-06-22", "HAPPY PAWS GROOMING")] == ("Happy Paws Grooming", None)


def test_categorize_reads_french_statement_lines(vault):
    found = labelled(vault)
    assert found[("2024-03-12", "CB CARREFOUR 12/03")] == ("Carrefour", "groceries")
    assert found[("2024-06-18", "CARTE X1234 18/06 CARREFOUR MARKET")] == (
        "Carrefour Market",
        "groceries",
    )
    assert found[("2024-06-05", "PRLV SEPA EDF")] == ("Edf", "utilities")
    assert found[("2024-06-28", "VIR SALAIRE ACME FRANCE")] == ("Salaire Acme France", "income")
    assert found[("2024-06-12", "CB BOULANGERIE PAUL 12/06 12H30")] == (
        "Boulangerie Paul",
        "groceries",
    )
    assert found[("2024-06-14", "PHARMACIE DU CENTRE")] == ("Pharmacie Du Centre", "health")
    assert found[("2024-06-14", "CB CHEZ MARCEL 14/06")] == ("Chez Marcel", None)


def test_transfers_are_paired_across_accounts_or_named_by_keywords(vault):
    found = labelled(vault)
    # A pair: -500 in the current account, +500 in savings the next day.
    assert found[("2024-06-10", "FPO J DOE 0041")][1] == "transfers"
    assert found[("2024-06-11", "FPI J DOE 0041")][1] == "transfers"
    # Keywords: Monzo's pot, a French internal transfer to a livret.
    assert found[("2024-06-08", "Savings Pot")][1] == "transfers"
    assert found[("2024-06-29", "VIREMENT INTERNE LIVRET A")][1] == "transfers"
    # -500 EUR the same day is another currency: a purchase, not the transfer's other side.
    assert found[("2024-06-10", "CB FNAC PARIS")] == ("Fnac", "shopping")


def test_categorize_twice_gives_the_same_answer(tmp_path):
    path = build_vault(tmp_path / "v.duckdb")
    first = spending.categorize(path)
    before = labelled(path)
    assert spending.categorize(path) == first
    assert labelled(path) == before


def test_user_rules_beside_the_vault_override_the_defaults(tmp_path):
    path = build_vault(tmp_path / "v.duckdb")
    (tmp_path / "categories.toml").write_text(
        '[categories.takeaway]\nkeywords = ["Deliveroo"]\n\n'
        "[categories.pets]\npatterns = ['\\bhappy paws\\b']\n\n"
        '[categories.gifts]\nkeywords = ["j doe"]\n',
        encoding="utf-8",
    )
    result = spending.categorize(path)
    found = labelled(path)
    assert found[("2024-06-08", "DELIVEROO LONDON GBR")][1] == "takeaway"
    assert found[("2024-06-22", "HAPPY PAWS GROOMING")][1] == "pets"
    # Defaults still apply where the person said nothing.
    assert found[("2024-06-12", "PRET A MANGER LONDON GBR")][1] == "eating_out"
    # The person's rule outranks the transfer pair: neither side is paired.
    assert found[("2024-06-10", "FPO J DOE 0041")][1] == "gifts"
    assert found[("2024-06-11", "FPI J DOE 0041")][1] == "gifts"
    assert (result.categorised, result.transfer_pairs) == (62, 0)
    assert result.uncategorised_share == {"EUR": pytest.approx(32 / 1021.60), "GBP": 0.0}


def test_longest_matching_keyword_wins_and_direction_limits_a_rule(tmp_path):
    rows = [
        (CURRENT, "2024-06-01", "-21.40", "UBER *EATS PENDING", None),
        (CURRENT, "2024-06-02", "-9.80", "UBER *TRIP HELP.UBER.COM", None),
        (CURRENT, "2024-06-03", "-5.00", "SALARY ADVANCE FEE", None),
        (CURRENT, "2024-06-04", "5.00", "SALARY ADVANCE FEE REFUND", None),
    ]
    path = build_vault(tmp_path / "v.duckdb", rows)
    spending.categorize(path)
    assert [category for _, category in labelled(path).values()] == [
        "eating_out",
        "transport",
        "fees",  # income is money in only; a fee is money out only
        "income",
    ]


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ("[categories.x]\npatterns = ['(unclosed']\n", "[categories.x] has a bad pattern"),
        ('[categories.x]\nkeyword = ["typo"]\n', "[categories.x] has unknown keys: keyword"),
        ('[categories.x]\ndirection = "both"\n', 'direction must be "in" or "out"'),
        ("[categories.x]\nkeywords = 'tesco'\n", "keywords must be a list of non-empty strings"),
        ("[categories\n", "cannot be read"),
    ],
)
def test_a_bad_rules_file_is_refused_before_anything_changes(tmp_path, rules, problem):
    path = build_vault(tmp_path / "v.duckdb")
    (tmp_path / "categories.toml").write_text(rules, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("(", r"\(")):
        spending.categorize(path)
    assert {category for _, category in labelled(path).values()} == {None}


def test_transfer_pairing_is_one_to_one_closest_first_and_within_the_window(tmp_path):
    rows = [
        # Two identical transfers on one day: two pairs, not one.
        (CURRENT, "2024-06-01", "-100.00", "MOVE A", None),
        (CURRENT, "2024-06-01", "-100.00", "MOVE A", None),
        (SAVINGS, "2024-06-01", "100.00", "MOVE B", None),
        (SAVINGS, "2024-06-02", "100.00", "MOVE B", None),
        # Three days apart pairs; four does not; the same account never pairs.
        (CURRENT, "2024-06-10", "-70.00", "MOVE C", None),
        (SAVINGS, "2024-06-13", "70.00", "MOVE D", None),
        (CURRENT, "2024-06-20", "-80.00", "MOVE E", None),
        (SAVINGS, "2024-06-24", "80.00", "MOVE F", None),
        (CURRENT, "2024-06-25", "-90.00", "MOVE G", None),
        (CURRENT, "2024-06-25", "90.00", "MOVE H", None),
    ]
    path = build_vault(tmp_path / "v.duckdb", rows)
    assert spending.categorize(path).transfer_pairs == 3
    with open_vault(path) as con:
        marked = con.execute(
            "SELECT description, count(*) FILTER (WHERE category = 'transfers')"
            " FROM transactions GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert marked == [
        ("MOVE A", 2),
        ("MOVE B", 2),
        ("MOVE C", 1),
        ("MOVE D", 1),
        ("MOVE E", 0),
        ("MOVE F", 0),
        ("MOVE G", 0),
        ("MOVE H", 0),
    ]
    assert spending.categorize(path, transfer_days=4).transfer_pairs == 4
    with pytest.raises(ValueError, match="transfer_days must be"):
        spending.categorize(path, transfer_days=-1)


def test_default_rules_cover_english_and_french_and_every_category_named():
    rules = categories.load_rules()
    assert {rule.category for rule in rules} >= {
        "groceries", "eating_out", "transport", "travel", "housing", "utilities",
        "subscriptions", "shopping", "health", "entertainment", "income", "transfers",
        "cash", "fees",
    }  # fmt: skip
    groceries = next(rule.pattern for rule in rules if rule.category == "groceries")
    for word in ("tesco", "sainsbury", "carrefour", "monoprix", "lidl", "aldi", "leclerc"):
        assert f"\\b{word}\\b" in groceries


# Reports


def test_monthly_income_spending_and_net_per_currency_without_transfers(vault):
    frame = spending.monthly(vault, start="2024-05-01")
    assert frame.rows() == [
        (date(2024, 5, 1), "EUR", Decimal("0.00"), Decimal("65.00"), Decimal("-65.00"), 1),
        (date(2024, 5, 1), "GBP", Decimal("2500.00"), Decimal("1589.49"), Decimal("910.51"), 10),
        (date(2024, 6, 1), "EUR", Decimal("3000.00"), Decimal("642.30"), Decimal("2357.70"), 7),
        (date(2024, 6, 1), "GBP", Decimal("2500.00"), Decimal("2110.90"), Decimal("389.10"), 16),
    ]
    assert frame.columns == ["month", "currency", "income", "spending", "net", "transactions"]


def test_monthly_covers_every_month_with_data(vault):
    frame = spending.monthly(vault)
    gbp = frame.filter(pl.col("currency") == "GBP")
    assert gbp["month"].to_list()[:2] == [date(2023, 5, 1), date(2024, 1, 1)]
    assert gbp["spending"].to_list()[1:5] == [
        Decimal("1257.98"),
        Decimal("1220.98"),
        Decimal("1238.98"),
        Decimal("1241.99"),
    ]
    assert frame.filter(pl.col("currency") == "EUR")["spending"].sum() == Decimal("1021.60")


def test_by_category_shares_of_one_month(vault):
    frame = spending.by_category(vault, start="2024-06-01", end="2024-06-30")
    assert frame.select("category", "currency", "spending", "transactions").rows() == [
        ("shopping", "EUR", Decimal("500.00"), 1),
        ("utilities", "EUR", Decimal("65.00"), 1),
        (None, "EUR", Decimal("32.00"), 1),
        ("groceries", "EUR", Decimal("29.50"), 2),
        ("health", "EUR", Decimal("15.80"), 1),
        ("housing", "GBP", Decimal("1200.00"), 1),
        ("shopping", "GBP", Decimal("669.00"), 2),
        ("groceries", "GBP", Decimal("167.01"), 7),
        (None, "GBP", Decimal("35.00"), 1),
        ("eating_out", "GBP", Decimal("27.90"), 3),
        ("subscriptions", "GBP", Decimal("11.99"), 1),
    ]
    assert frame["share"][0] == pytest.approx(500 / 642.30)
    assert frame["share"][5] == pytest.approx(1200 / 2110.90)
    assert frame.group_by("currency").agg(pl.col("share").sum())["share"].to_list() == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]


def test_by_merchant_counts_two_identical_coffees_twice(vault):
    frame = spending.by_merchant(vault, start="2024-06-01", end="2024-06-30")
    pret = frame.filter(pl.col("merchant") == "Pret A Manger").row(0, named=True)
    assert (pret["spending"], pret["transactions"], pret["category"]) == (
        Decimal("9.00"),
        2,
        "eating_out",
    )
    tesco = frame.filter(pl.col("merchant") == "Tesco").row(0, named=True)
    assert (tesco["spending"], tesco["transactions"]) == (Decimal("77.01"), 3)
    top = spending.by_merchant(vault, start="2024-06-01", end="2024-06-30", top=2)
    assert top.select("currency", "merchant", "spending").rows() == [
        ("EUR", "Fnac", Decimal("500.00")),
        ("EUR", "Edf", Decimal("65.00")),
        ("GBP", "J Smith Rent", Decimal("1200.00")),
        ("GBP", "Amazon", Decimal("669.00")),
    ]
    assert top["share"][2] == pytest.approx(1200 / 2110.90)


def test_compare_months_against_the_average_of_the_months_before(vault):
    frame = spending.compare_months(vault, "2024-06", months=3)
    assert frame.rows() == [
        ("shopping", "EUR", Decimal("500.00"), Decimal("0.00"), Decimal("500.00"), 3),
        (None, "EUR", Decimal("32.00"), Decimal("0.00"), Decimal("32.00"), 3),
        ("health", "EUR", Decimal("15.80"), Decimal("0.00"), Decimal("15.80"), 3),
        ("groceries", "EUR", Decimal("29.50"), Decimal("18.10"), Decimal("11.40"), 3),
        ("utilities", "EUR", Decimal("65.00"), Decimal("65.00"), Decimal("0.00"), 3),
        ("shopping", "GBP", Decimal("669.00"), Decimal("24.33"), Decimal("644.67"), 3),
        ("groceries", "GBP", Decimal("167.01"), Decimal("37.50"), Decimal("129.51"), 3),
        (None, "GBP", Decimal("35.00"), Decimal("0.00"), Decimal("35.00"), 3),
        ("eating_out", "GBP", Decimal("27.90"), Decimal("0.00"), Decimal("27.90"), 3),
        ("housing", "GBP", Decimal("1200.00"), Decimal("1200.00"), Decimal("0.00"), 3),
        ("subscriptions", "GBP", Decimal("11.99"), Decimal("14.99"), Decimal("-3.00"), 3),
        ("insurance", "GBP", Decimal("0.00"), Decimal("80.00"), Decimal("-80.00"), 3),
    ]


def test_compare_months_averages_only_months_holding_data(vault):
    # The twelve months before January 2024 hold only May 2023 (the insurance).
    frame = spending.compare_months(vault, date(2024, 1, 20), months=12)
    gbp = frame.filter(pl.col("currency") == "GBP")
    insurance = gbp.filter(pl.col("category") == "insurance").row(0, named=True)
    assert (insurance["average"], insurance["months_averaged"]) == (Decimal("240.00"), 1)
    eur = frame.filter(pl.col("currency") == "EUR").row(0, named=True)
    assert (eur["average"], eur["months_averaged"]) == (None, 0)
    with pytest.raises(ValueError, match="months must be"):
        spending.compare_months(vault, "2024-06", months=0)


def test_recurring_finds_each_rhythm_with_price_changes_and_stopped_ones(vault):
    frame = spending.recurring(vault)
    none: list[dict[str, object]] = []
    expected = [
        ("Edf", "utilities", "EUR", "monthly", 6, "2024-01-05", "2024-06-05", "65.00",
         "65.00", "2024-07-05", True, none),
        ("Direct Line Insurance", "insurance", "GBP", "yearly", 2, "2023-05-20", "2024-05-20",
         "240.00", "240.00", "2025-05-20", True, none),
        ("J Smith Rent", "housing", "GBP", "monthly", 6, "2024-01-01", "2024-06-01", "1200.00",
         "1200.00", "2024-07-01", True, none),
        ("Netflix", "subscriptions", "GBP", "monthly", 6, "2024-01-03", "2024-06-03", "10.99",
         "11.99", "2024-07-03", True,
         [{"date": date(2024, 4, 3), "old_amount": Decimal("9.99"),
           "new_amount": Decimal("11.99")}]),
        ("Riverford Organic", "groceries", "GBP", "weekly", 9, "2024-05-03", "2024-06-28",
         "22.50", "22.50", "2024-07-05", True, none),
        ("Spotify", "subscriptions", "GBP", "monthly", 3, "2024-01-15", "2024-03-15", "10.99",
         "10.99", "2024-04-15", False, none),
    ]  # fmt: skip
    assert frame.rows() == [
        (m, c, cur, p, n, date.fromisoformat(f), date.fromisoformat(la), Decimal(t),
         Decimal(last), date.fromisoformat(nx), active, changes)
        for m, c, cur, p, n, f, la, t, last, nx, active, changes in expected
    ]  # fmt: skip
    assert frame.columns == [
        "merchant", "category", "currency", "period", "charges", "first_charge",
        "last_charge", "typical_amount", "last_amount", "next_expected", "active",
        "price_changes",
    ]  # fmt: skip


def test_recurring_activity_is_judged_at_the_end_asked_for(vault):
    frame = spending.recurring(vault, end="2024-03-31")
    spotify = frame.filter(pl.col("merchant") == "Spotify").row(0, named=True)
    assert (spotify["active"], spotify["next_expected"]) == (True, date(2024, 4, 15))
    # Before the price rise Netflix has no change; the yearly and weekly ones are not yet seen.
    netflix = frame.filter(pl.col("merchant") == "Netflix").row(0, named=True)
    assert (netflix["price_changes"], netflix["charges"]) == ([], 3)
    assert "Riverford Organic" not in frame["merchant"].to_list()


def test_price_changes_lists_each_change(vault):
    assert spending.price_changes(vault).rows() == [
        ("Netflix", "GBP", date(2024, 4, 3), Decimal("9.99"), Decimal("11.99"), Decimal("2.00"))
    ]


def test_unusual_flags_the_big_purchase_by_its_merchant_median_and_mad(vault):
    frame = spending.unusual(vault)
    # Amazon: 15, 18, 20, 22, 25, 30, 649 -> median 22, MAD 4, z = 0.6745 * 627 / 4.
    assert frame.select("booked_date", "merchant", "category", "currency", "amount").rows() == [
        (date(2024, 6, 15), "Amazon", "shopping", "GBP", Decimal("649.00"))
    ]
    row = frame.row(0, named=True)
    assert (row["typical"], row["basis"]) == (22.0, "merchant")
    assert row["robust_z"] == pytest.approx(0.6745 * 627 / 4)
    assert "account_id" not in frame.columns
    assert spending.unusual(vault, end="2024-06-14").is_empty()


def test_unusual_falls_back_to_the_category_baseline(vault):
    # Tesco (3 shops) has no baseline of its own; groceries (12) has MAD 0, so
    # the mean absolute deviation scores the 41.20 shop, 1.83 times the 22.50 median.
    frame = spending.unusual(vault, min_ratio=1.5)
    tesco = frame.filter(pl.col("merchant") == "Tesco").row(0, named=True)
    assert (tesco["amount"], tesco["basis"], tesco["typical"]) == (
        Decimal("41.20"),
        "category",
        22.5,
    )
    mean_ad = (0.97 + 18.70 + 10.16) / 12
    assert tesco["robust_z"] == pytest.approx(18.70 / (1.253314 * mean_ad))


def test_uncategorised_share_per_currency(vault):
    assert spending.uncategorised_share(vault).rows() == [
        ("EUR", Decimal("1021.60"), Decimal("32.00"), pytest.approx(32 / 1021.60)),
        ("GBP", Decimal("8900.32"), Decimal("35.00"), pytest.approx(35 / 8900.32)),
    ]
    june = spending.uncategorised_share(vault, start="2024-06-01")
    assert june["share"].to_list() == [pytest.approx(32 / 642.30), pytest.approx(35 / 2110.90)]


def test_reports_work_before_categorize_with_merchants_computed_on_the_fly(tmp_path, con):
    path = build_vault(tmp_path / "raw.duckdb")
    frame = spending.by_merchant(path, start="2024-06-01", end="2024-06-30", top=1)
    assert frame.select("currency", "merchant", "category").rows() == [
        ("EUR", "Fnac", None),
        ("GBP", "J Smith Rent", None),
    ]
    # A connection is used as it is and left open.
    assert spending.monthly(con, start="2024-06-01").height == 2
    assert con.execute("SELECT 1").fetchall() == [(1,)]


# Real statements: one merchant written by four banks normalises to one name.


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file {name} is absent")
    return path


def test_corpus_monzo_descriptions_give_monzo_own_merchant_names():
    with corpus_file("countinghouse_monzo.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 9
    pairs = [
        (categories.normalise_merchant(r["Description"]), categories.normalise_merchant(r["Name"]))
        for r in rows
    ]
    assert pairs == [
        ("Pret A Manger", "Pret A Manger"),
        ("Tesco", "Tesco"),
        ("Acme", "Acme"),
        ("Deliveroo", "Deliveroo"),
        ("Tfl", "Transport For London"),
        ("Octopus Energy", "Octopus Energy"),
        ("Cafe De Flore", "Cafe De Flore"),
        ("Savings Pot", "Savings"),
        ("Netflix", "Netflix"),
    ]


def test_corpus_uk_banks_name_tesco_british_gas_and_acme_alike():
    santander = corpus_file("countinghouse_santander.txt").read_text(encoding="utf-8")
    descriptions = [
        line.removeprefix("Description: ").strip()
        for line in santander.splitlines()
        if line.startswith("Description: ")
    ]
    with corpus_file("countinghouse_nationwide.csv").open(encoding="utf-8", newline="") as f:
        descriptions += [row[2] for row in list(csv.reader(f))[5:]]
    with corpus_file("countinghouse_starling.csv").open(encoding="utf-8", newline="") as f:
        descriptions += [row["Counter Party"] for row in list(csv.DictReader(f))[1:]]
    assert [categories.normalise_merchant(text) for text in descriptions] == [
        "British Gas", "Acme", "Tesco",  # Santander, newest first
        "Tesco", "Acme", "British Gas",  # Nationwide
        "Tesco", "Acme", "British Gas",  # Starling's counterparties
    ]  # fmt: skip


def test_corpus_monzo_statement_is_categorised_as_monzo_would(tmp_path):
    with corpus_file("countinghouse_monzo.csv").open(encoding="utf-8", newline="") as f:
        rows = [
            (CURRENT, "-".join(reversed(r["Date"].split("/"))), r["Amount"], r["Description"], None)
            for r in csv.DictReader(f)
        ]
    path = build_vault(tmp_path / "v.duckdb", rows)
    result = spending.categorize(path)
    with open_vault(path) as con:
        found = con.execute(
            "SELECT merchant, category FROM transactions ORDER BY booked_date, amount"
        ).fetchall()
    assert found == [
        ("Tesco", "groceries"),
        ("Pret A Manger", "eating_out"),
        ("Acme", "income"),
        ("Deliveroo", "eating_out"),
        ("Tfl", "transport"),
        ("Octopus Energy", "utilities"),
        ("Cafe De Flore", "eating_out"),
        ("Savings Pot", "transfers"),
        ("Netflix", "subscriptions"),
    ]
    assert (result.rows, result.categorised, result.uncategorised_share) == (9, 9, {"GBP": 0.0})


def test_pending_entries_are_not_spent_yet(tmp_path):
    path = build_vault(tmp_path / "v.duckdb", ROWS[:1])
    with open_vault(path, read_only=False) as con:
        con.executemany(
            "INSERT INTO transactions (import_id, account_id, booked_date, amount, currency,"
            " description, extra) VALUES (1, ?, '2024-01-05', ?, 'GBP', 'CAFE', ?)",
            [
                (CURRENT, Decimal("-3.00"), '{"status": "PDNG"}'),
                (CURRENT, Decimal("-4.00"), '{"state": "PENDING"}'),
                (CURRENT, Decimal("-5.00"), '{"status": "BOOK"}'),
            ],
        )
    frame = spending.monthly(path)
    assert frame.select("month", "spending").rows() == [(date(2024, 1, 1), Decimal("1205.00"))]


def test_recurring_payments_in_an_unknown_currency_are_still_found(tmp_path):
    path = tmp_path / "v.duckdb"
    with open_vault(path, read_only=False) as con:
        con.execute("INSERT INTO accounts (account_id, import_id) VALUES ('csv-default', 1)")
        con.executemany(
            "INSERT INTO transactions (import_id, account_id, booked_date, amount, description)"
            " VALUES (1, 'csv-default', ?, -13.49, 'PRLV SEPA NETFLIX.COM')",
            [(f"2024-{month:02d}-05",) for month in range(1, 6)],
        )
    found = spending.recurring(path)
    assert found.select("merchant", "currency", "period", "charges").rows() == [
        ("Netflix", None, "monthly", 5)
    ]
