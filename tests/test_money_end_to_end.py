"""The money issue's "done when", end to end through the command line.

A person writes a French-style bank CSV of their own (cp1252, `;`, `1 234,56`,
DD/MM/YYYY, separate Débit and Crédit columns), imports it beside a Green
Button feed, and gets signed decimal amounts, categories for most rows, the
subscriptions they pay and an energy profile. Importing again adds nothing;
two identical purchases on one day stay two rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from selfdata import open_vault
from selfdata.analytics import energy, spending
from tests.conftest import DATA

MONTHS = (1, 2, 3, 4, 5)


def french_statement() -> str:
    lines = ["Date;Libellé;Débit;Crédit;Solde"]
    for month in MONTHS:
        lines += [
            f"01/{month:02d}/2024;PRLV SEPA LOYER SCI DES LILAS;850,00;;",
            f"05/{month:02d}/2024;PRLV SEPA NETFLIX.COM;13,49;;",
            f"14/{month:02d}/2024;PRLV SEPA EDF CLIENTS PARTICULIERS;65,00;;",
            f"18/{month:02d}/2024;CB CARREFOUR MARKET 17/{month:02d};54,32;;",
            f"28/{month:02d}/2024;VIR SALAIRE ACME SAS;;2 345,67;",
        ]
    # Two identical croissants on one day, and a big purchase with a thousands space.
    lines += [
        "20/05/2024;CB BOULANGERIE PAUL 20/05;2,40;;",
        "20/05/2024;CB BOULANGERIE PAUL 20/05;2,40;;",
        "22/05/2024;CB FNAC PARIS 22/05;1 234,56;;",
    ]
    return "\r\n".join(lines) + "\r\n"


def test_a_french_statement_and_an_energy_feed(tmp_path: Path, cli, vault: Path) -> None:
    statement = tmp_path / "releve.csv"
    statement.write_bytes(french_statement().encode("cp1252"))
    feed = DATA / "green_button" / "electricity_multiplier.xml"

    first = cli("import", "-o", "currency=EUR", str(statement))
    assert first.exit_code == 0, first.output
    assert "categorised 28 of 28 transactions" in first.output
    assert cli("import", str(feed)).exit_code == 0
    again = cli("import", str(statement), str(feed))
    assert again.exit_code == 0
    assert again.output.strip().splitlines()[-1].endswith("; 0 new rows.")

    with open_vault(vault) as con:
        rows = con.execute(
            "SELECT booked_date, amount, description, category FROM transactions"
            " ORDER BY booked_date, amount, description"
        ).fetchall()
        currencies = con.execute("SELECT DISTINCT currency FROM transactions").fetchall()
    assert currencies == [("EUR",)]
    assert len(rows) == 5 * len(MONTHS) + 3
    by_text = {(day, text): amount for day, amount, text, _ in rows}
    assert by_text[(date(2024, 1, 28), "VIR SALAIRE ACME SAS")] == Decimal("2345.67")
    assert by_text[(date(2024, 5, 22), "CB FNAC PARIS 22/05")] == Decimal("-1234.56")
    assert by_text[(date(2024, 3, 5), "PRLV SEPA NETFLIX.COM")] == Decimal("-13.49")
    croissants = [r for r in rows if r[2] == "CB BOULANGERIE PAUL 20/05"]
    assert [r[1] for r in croissants] == [Decimal("-2.40"), Decimal("-2.40")]
    categorised = [r for r in rows if r[3] is not None]
    assert len(categorised) / len(rows) >= 0.8, rows

    subscriptions = spending.recurring(vault).filter(pl.col("period") == "monthly")
    assert set(subscriptions["merchant"]) == {
        "Netflix",
        "Edf Clients Particuliers",
        "Loyer Sci Des Lilas",
        "Carrefour Market",
    }
    netflix = subscriptions.filter(pl.col("merchant") == "Netflix").row(0, named=True)
    assert (netflix["charges"], netflix["typical_amount"]) == (5, Decimal("13.49"))

    profile = energy.hourly_profile(vault)
    assert len(profile) > 0
    assert profile["commodity"].unique().to_list() == ["electricity"]


def test_an_ambiguous_csv_prints_the_settings_to_paste(tmp_path: Path, cli) -> None:
    statement = tmp_path / "s.csv"
    statement.write_text("Date,Description,Amount\n01/02/2024,COFFEE,-3.50\n03/04/2024,TESCO,-12\n")
    result = cli("import", str(statement))
    assert result.exit_code == 1
    # Square brackets are TOML tables here, not console markup: they must survive.
    assert "[importers.bank_csv]" in result.output
    assert "[importers.bank_csv.profiles.mybank]" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "1 file: 0 imported, 0 unchanged, 1 failed; 0 new rows."
    )
