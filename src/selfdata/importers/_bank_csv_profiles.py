"""The bank CSV layouts `bank_csv` knows, as data: one `Profile` per bank export,
the header synonyms the generic reader maps unknown layouts with, and the month
names and currency signs it reads values with.

Column names in a profile are matched by `header_key`: case, accents, spacing,
punctuation and a currency suffix (`Amount (GBP)`) do not matter, so
`"Débit"` matches `DEBIT` and `"Amount"` matches `Amount (EUR)`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields

__all__ = [
    "BUILTIN_PROFILES",
    "COLUMN_ROLES",
    "CURRENCY_SIGNS",
    "MONTHS",
    "NEGATIVE_WORDS",
    "SYNONYMS",
    "Profile",
    "header_key",
    "overlay",
]

# Roles a column can play; each maps to a canonical column or to `extra`.
COLUMN_ROLES = (
    "date",  # booked_date: the first non-empty of the listed columns
    "value_date",
    "amount",  # signed
    "debit",  # unsigned money out (made negative)
    "credit",  # unsigned money in
    "fee",  # charged on top of the amount (Revolut): amount = amount - fee
    "sign",  # a debit/credit indicator column (ING's `Af Bij`) for an unsigned amount
    "description",  # several columns are joined with a space
    "counterparty",
    "balance",  # balance_after
    "reference",  # bank_ref
    "category",  # the bank's own category: extra.bank_category
    "currency_column",
    "account_column",  # the account number or IBAN, per row
)

# A currency written after a header name: `Amount (GBP)`, `Betrag [EUR]`, `Amount in EUR`.
_CURRENCY_SUFFIX = re.compile(r"\s*(?:[(\[]\s*(?:in\s+)?[A-Z]{3}\s*[)\]]|\s(?:in\s+)?[A-Z]{3})\s*$")


def header_key(name: str) -> str:
    """A header name as compared: no accents, case, punctuation or currency suffix.

    Example:
        >>> header_key(" Auftraggeber/Empfänger "), header_key("Amount (GBP)")
        ('auftraggeber empfanger', 'amount')
    """
    name = _CURRENCY_SUFFIX.sub("", name.strip().strip('"').strip())
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w#]+", " ", plain.casefold()).split())


@dataclass(frozen=True)
class Profile:
    """How one bank writes its export. Unset fields are sniffed from the file.

    Column fields (see COLUMN_ROLES) list header names; the other fields are the
    same settings a user profile in selfdata.toml has (see the bank_csv docs).
    """

    name: str
    institution: str | None = None
    header: tuple[str, ...] = ()  # every one present in a header row recognises the profile
    date: tuple[str, ...] = ()
    value_date: tuple[str, ...] = ()
    amount: tuple[str, ...] = ()
    debit: tuple[str, ...] = ()
    credit: tuple[str, ...] = ()
    fee: tuple[str, ...] = ()
    sign: tuple[str, ...] = ()
    description: tuple[str, ...] = ()
    counterparty: tuple[str, ...] = ()
    balance: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    currency_column: tuple[str, ...] = ()
    account_column: tuple[str, ...] = ()
    # Column -> key in `extra` for columns with a better name than their snake_case header.
    extra: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # columns that only repeat others
    # Values that split one export into several accounts (a column, or `currency`).
    subaccount: tuple[str, ...] = ()
    # (column, value, why): pseudo-rows that are not transactions.
    skip: tuple[tuple[str, str, str], ...] = ()
    overflow: str | None = None  # the column an unquoted delimiter spills out of
    excel_guard: bool = False  # text written as 'TEXT so spreadsheets leave it alone
    complete: bool = False  # built-ins map every column: no synonym guessing
    date_format: str | None = None  # strptime format, when the sniffer must not decide
    date_order: str | None = None  # DMY, MDY or YMD for numeric dates
    decimal: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    skip_rows: int | None = None
    currency: str | None = None  # when the file does not say
    account: str | None = None  # the account number, when the file does not say
    account_name: str | None = None
    kind: str | None = None

    def recognises(self, keys: list[str]) -> bool:
        """True when every header name of the profile is among a row's keys."""
        return bool(self.header) and {header_key(h) for h in self.header} <= set(keys)


def overlay(base: Profile, top: Profile) -> Profile:
    """`base` with every field that `top` sets taken from `top` (the name is top's)."""
    changes: dict[str, object] = {"name": top.name}
    for spec in fields(Profile):
        value = getattr(top, spec.name)
        if value is not None and value != () and value != {} and value is not False:
            changes[spec.name] = value
    return Profile(**{**{f.name: getattr(base, f.name) for f in fields(Profile)}, **changes})


def _profile(name: str, **settings: object) -> Profile:
    return Profile(name=name, complete=True, **settings)  # type: ignore[arg-type]


BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        _profile(
            "monzo",
            institution="Monzo",
            header=("Transaction ID", "Date", "Time", "Type", "Name", "Emoji", "Amount"),
            date=("Date",),
            amount=("Amount",),
            description=("Description",),
            counterparty=("Name",),
            reference=("Transaction ID",),
            category=("Category",),
            currency_column=("Currency",),
            extra={"Notes and #tags": "notes", "Category split": "category_split"},
            ignore=("Money Out", "Money In"),  # the signed Amount, split in two
            date_order="DMY",
            currency="GBP",
        ),
        _profile(
            "starling",
            institution="Starling Bank",
            header=("Date", "Counter Party", "Reference", "Type", "Amount", "Balance"),
            date=("Date",),
            amount=("Amount",),
            description=("Reference",),
            counterparty=("Counter Party",),
            balance=("Balance",),
            category=("Spending Category",),
            skip=(("Counter Party", "Opening Balance", "Starling opening-balance line skipped"),),
            date_order="DMY",
            currency="GBP",
        ),
        _profile(
            "revolut",
            institution="Revolut",
            header=("Type", "Product", "Started Date", "Completed Date", "Amount", "State"),
            # A pending row has no Completed Date yet; the Started Date is the
            # same before and after it completes, so the two exports meet.
            date=("Started Date",),
            value_date=("Completed Date",),
            amount=("Amount",),
            fee=("Fee",),
            description=("Description",),
            balance=("Balance",),
            currency_column=("Currency",),
            extra={"Started Date": "started_at", "Completed Date": "completed_at"},
            subaccount=("Product", "currency"),
            date_order="YMD",
        ),
        _profile(
            "revolut_legacy",
            institution="Revolut",
            header=("Completed Date", "Description", "Paid Out", "Paid In", "Balance"),
            date=("Completed Date",),
            debit=("Paid Out",),
            credit=("Paid In",),
            description=("Description",),
            balance=("Balance",),
            category=("Category",),
            subaccount=("currency",),
        ),
        _profile(
            "n26",
            institution="N26",
            header=("Booking Date", "Value Date", "Partner Name", "Partner Iban", "Amount"),
            date=("Booking Date",),
            value_date=("Value Date",),
            amount=("Amount",),
            description=("Payment Reference",),
            counterparty=("Partner Name",),
            extra={"Partner Iban": "counterparty_iban"},
            subaccount=("Account Name",),  # N26 "Spaces" are sub-accounts
            date_order="YMD",
            currency="EUR",
        ),
        _profile(
            "n26_legacy",
            institution="N26",
            header=("Date", "Payee", "Account number", "Transaction type", "Amount"),
            date=("Date",),
            amount=("Amount",),
            description=("Payment reference",),
            counterparty=("Payee",),
            category=("Category",),
            extra={"Account number": "counterparty_account"},  # the payee's, not ours
            date_order="YMD",
            currency="EUR",
        ),
        _profile(
            "chase_uk",
            institution="Chase UK",
            header=("Date", "Time", "Transaction Type", "Transaction Description", "Amount"),
            date=("Date",),
            amount=("Amount",),
            description=("Transaction Description",),
            balance=("Balance",),
            currency_column=("Currency",),
            extra={"Transaction Type": "type"},
            # FX details such as `FX rate £1 = €1,1600` come unquoted.
            overflow="Transaction Type",
            date_order="DMY",
            currency="GBP",
        ),
        _profile(
            "chase_us",
            institution="Chase",
            header=("Details", "Posting Date", "Description", "Amount", "Type", "Balance"),
            date=("Posting Date",),
            amount=("Amount",),
            description=("Description",),
            balance=("Balance",),
            extra={"Check or Slip #": "check_number"},
            date_order="MDY",
            currency="USD",
        ),
        _profile(
            "chase_us_card",
            institution="Chase",
            header=("Transaction Date", "Post Date", "Description", "Category", "Type", "Amount"),
            date=("Post Date",),
            amount=("Amount",),
            description=("Description",),
            category=("Category",),
            date_order="MDY",
            currency="USD",
            kind="credit_card",
        ),
        _profile(
            "capital_one",
            institution="Capital One",
            header=("Transaction Date", "Posted Date", "Card No.", "Description", "Debit"),
            date=("Posted Date",),
            debit=("Debit",),
            credit=("Credit",),
            description=("Description",),
            category=("Category",),
            account_column=("Card No.",),
            date_order="YMD",
            currency="USD",
            kind="credit_card",
        ),
        _profile(
            "nationwide",
            institution="Nationwide",
            header=("Date", "Transaction type", "Description", "Paid out", "Paid in", "Balance"),
            date=("Date",),
            debit=("Paid out",),
            credit=("Paid in",),
            description=("Description",),
            balance=("Balance",),
            currency="GBP",
        ),
        _profile(
            "nationwide_card",
            institution="Nationwide",
            header=("Date", "Transactions", "Location", "Paid out", "Paid in"),
            date=("Date",),
            debit=("Paid out",),
            credit=("Paid in",),
            description=("Transactions",),
            currency="GBP",
            kind="credit_card",
        ),
        # Santander UK's TXT statement, read as `Key: value` blocks, never by header.
        _profile(
            "santander",
            institution="Santander UK",
            date=("Date",),
            amount=("Amount",),
            description=("Description",),
            balance=("Balance",),
            date_order="DMY",
            currency="GBP",
        ),
        _profile(
            "ubs",
            institution="UBS",
            header=("Produit", "Monn.", "Date de valeur", "Débit", "Crédit", "Solde"),
            date=("Date de comptabilisation", "Date de valeur"),
            value_date=("Date de valeur",),
            debit=("Débit",),
            credit=("Crédit",),
            description=("Description 1", "Description 2", "Description 3"),
            balance=("Solde",),
            reference=("N° de transaction",),
            currency_column=("Monn.",),
            account_column=("Produit",),
            extra={"Description": "product", "Date de transaction": "transaction_date"},
            date_order="DMY",
            currency="CHF",
        ),
        # The UK midata layout (Barclays, HSBC, Lloyds, NatWest...): `'` guards the text.
        _profile(
            "midata",
            header=("Date", "Type", "Merchant/Description", "Debit/Credit", "Balance"),
            date=("Date",),
            amount=("Debit/Credit",),
            description=("Merchant/Description",),
            balance=("Balance",),
            skip=(("Date", "Arranged overdraft limit", "midata overdraft-limit line skipped"),),
            overflow="Balance",
            excel_guard=True,
            date_order="DMY",
            currency="GBP",
        ),
    )
}

# Header names of unknown layouts, by role, most telling first (compared by header_key).
_SYNONYMS = {
    "date": "booking date; booked date; posting date; posted date; post date; transaction date;"
    " completed date; date; datum; buchungstag; buchungsdatum; buchung; date operation;"
    " date de l'opération; date comptable; date de comptabilisation; date de transaction;"
    " fecha; fecha operación; fecha de operación; fecha contable; data; data operazione;"
    " data contabile; data registrazione; boekdatum; boekingsdatum; transactiedatum",
    "value_date": "value date; valuta; valutadatum; wertstellung; date de valeur; fecha valor;"
    " data valuta; rentedatum",
    "amount": "amount; transaction amount; betrag; umsatz; montant; importe; importo; bedrag;"
    " debit/credit; value",
    "debit": "debit; debit amount; paid out; money out; withdrawal; withdrawals; out; soll;"
    " belastung; ausgang; cargo; cargos; addebito; addebiti; uscite",
    "credit": "credit; credit amount; paid in; money in; deposit; deposits; in; haben;"
    " gutschrift; eingang; abono; abonos; accredito; accrediti; entrate",
    "sign": "af bij; soll/haben; s/h; d/c; dr/cr; cr/dr; credit debit indicator",
    "description": "description; transaction description; details; narrative; memo; reason;"
    " verwendungszweck; buchungstext; text; libellé; libellé de l'opération; détail; concepto;"
    " descripción; descrizione; causale; omschrijving; mededelingen; payment reference;"
    " reference",
    "counterparty": "counterparty; counter party; payee; merchant; name; beneficiary;"
    " auftraggeber/empfänger; begünstigter/zahlungspflichtiger; empfänger;"
    " zahlungsempfänger; tiers; bénéficiaire; beneficiario; ordenante; naam / omschrijving;"
    " naam; tegenpartij; partner name",
    "balance": "balance; running balance; running bal.; balance after; solde; saldo; kontostand;"
    " saldo na mutatie",
    "reference": "transaction id; reference number; bank reference; ref; id;"
    " n° de transaction; transaktionsnummer; referenz",
    "category": "category; kategorie; catégorie; categoría; categoria; spending category",
    "currency_column": "currency; währung; waehrung; whrg.; devise; moneda; monn.; ccy; munt",
    "account_column": "iban; account number; account; konto; kontonummer; auftragskonto;"
    " compte; numéro de compte; cuenta; conto; rekening; rekeningnummer",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    role: tuple(header_key(name) for name in names.split(";")) for role, names in _SYNONYMS.items()
}

# Words in a sign column meaning money out (compared lower-case).
NEGATIVE_WORDS = ("af", "debit", "d", "dr", "dbit", "s", "soll", "-", "out", "withdrawal")

# Month names and abbreviations, accents removed, lower case: en, fr, de, es, it, nl.
MONTHS: dict[str, int] = {
    word: number
    for number, words in enumerate(
        (
            "jan january janv janvier januar janner jaenner enero ene gennaio gen januari",
            "feb february fev fevr fevrier februar febrero febbraio februari",
            "mar march mars maerz marz marzo mrt maart",
            "apr april avr avril abril abr aprile",
            "may mai mayo maggio mag mei",
            "jun june juin juni junio giugno giu",
            "jul july juil juillet juli julio luglio lug",
            "aug august aout agosto ago augustus",
            "sep sept september septembre septiembre setiembre settembre set",
            "oct october octobre oktober okt octubre ottobre ott",
            "nov november novembre noviembre",
            "dec december decembre dez dezember diciembre dic dicembre",
        ),
        start=1,
    )
    for word in words.split()
}

# Signs that name one currency; `$` does not (USD, CAD, AUD...).
CURRENCY_SIGNS: dict[str, str] = {"£": "GBP", "€": "EUR", "₹": "INR", "₩": "KRW", "₺": "TRY"}
