"""Bank and card statements exported as CSV (and Santander UK's TXT), any bank's layout.

There is no standard: each bank picks its columns, delimiter, encoding, date
order and number format (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180, covers
only the quoting). So the reader works in two ways:

- **Built-in profiles**, recognised from the header row (see
  `_bank_csv_profiles.py`): Monzo, Starling, Revolut (current, and the legacy
  `" , "`-padded `Paid Out (EUR)` statement), N26 (current and legacy), Chase UK,
  Chase US (checking and card), Capital One, Nationwide (3-line account preamble
  and a blank line before the header, `£` signs; and its card layout), UBS
  (French locale), the UK midata layout (`Date, Type, Merchant/Description,
  Debit/Credit, Balance`, `'`-guarded text, its overdraft-limit trailer line),
  and Santander UK's TXT statement (`Key: value` blocks, not CSV).
- **A generic reader** for any other layout, which sniffs the encoding (UTF-8
  with or without BOM, UTF-16 with BOM, else cp1252 or latin-1, counted as a
  repair), the delimiter (`,` `;` tab `|`, or an Excel `sep=;` first line), the
  preamble lines before the header, the columns (from header names in English,
  French, German, Spanish, Italian and Dutch), the decimal separator (decided
  from every amount of the file: `1.234,56`, `1 234,56` with NBSP, `11'373.94`),
  and the date order (decided from every date: one day above 12 settles DD/MM
  against MM/DD; `YYYY-MM-DD`, `YYYYMMDD`, `DD.MM.YYYY`, `12 Aug 2026`,
  `12 August 2026`, `Aug 12, 2026` and month names in those six languages).

When the file cannot settle something (every date fits DD/MM and MM/DD, no
amount column, `1,234` could be either), the import fails with a ParseError
saying what was ambiguous and the lines of selfdata.toml that settle it.

Rows become `transactions`: `amount` is signed (< 0 money out): a Debit/Paid
out column is made negative whatever its sign, a sign column (`Af Bij`, `S/H`)
signs an unsigned amount, and Revolut's `Fee` is taken off its `Amount` so that
balances add up. The bank's own category goes to `extra.bank_category`
(`category` belongs to the person's rules); every other column the canonical
ones do not hold goes to `extra` as the file's text, under its header in
snake_case. Revolut rows keep `State` in `extra.state`: a PENDING row is kept,
booked on its `Started Date` (the date that does not change when it completes,
so a later export of the completed row meets it); `Completed Date` is the
value date. Pseudo-rows (Starling's "Opening Balance", midata's overdraft
limit) are skipped and counted as repairs. A row whose date or amount does not
parse is rejected with its line in the file; blank lines are not rows.

`accounts` has one row per account. Its id is `money.account_id(number,
institution=profile name)` with the number the file gives (a column such as
UBS's `Produit` or an IBAN column, or a preamble line such as Nationwide's
`Account Name:`), else the `account` option, else the profile's name (`monzo`),
plus what splits one export into several accounts (Revolut's product and
currency, N26 spaces). An unknown layout's default account is named after its
header row, so two exports of the same bank meet. The file's name is never
part of an id, so overlapping exports of one account meet.

Options, `[importers.bank_csv]` in selfdata.toml (all optional):

    profile = "mybank"        # use this profile (built-in or below) for every file
    date_format = "%d/%m/%Y"  # and any profile key: settles what the sniffer cannot

    [importers.bank_csv.profiles.mybank]   # a user profile
    header = ["Buchungstag", "Verwendungszweck", "Betrag"]  # recognises it
    date = "Buchungstag"      # columns: date, value_date, amount, debit, credit,
    amount = "Betrag"         #   fee, sign, description, counterparty, balance,
    description = ["Verwendungszweck", "Buchungstext"]  # reference, category,
                              #   currency_column, account_column (a name or a list)
    date_format = "%d.%m.%Y"  # strptime; or date_order = "DMY" | "MDY" | "YMD"
    decimal = ","             # "." or ","
    delimiter = ";"           # ",", ";", "\\t" or "|"
    encoding = "cp1252"       # any Python codec
    skip_rows = 0             # lines before the header row
    currency = "EUR"          # when the file has no currency column
    account = "DE89 3704 0044 0532 0130 00"   # when the file has no account number
    institution = "My Bank"   # also: account_name, kind ("checking", "credit_card")

A user profile with `header` is recognised like a built-in, before them (and
`extra = { "Notiz" = "note" }` names a column's key in `extra`). Keys at the
top level apply to every file and fill what a profile leaves unset; a
profile's own settings win over them. `detect` cannot see these options: a
file whose header no synonym knows is imported with `--importer bank_csv`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from selfdata.errors import ParseError
from selfdata.importers._bank_csv_layout import (
    GENERIC,
    SANTANDER,
    Layout,
    Settings,
    decode_head,
    hint,
    is_energy,
    rows_of,
    search_layout,
    split_line,
    unique,
)
from selfdata.importers._bank_csv_profiles import (
    COLUMN_ROLES,
    NEGATIVE_WORDS,
    SYNONYMS,
    header_key,
)
from selfdata.importers._bank_csv_values import (
    DateRule,
    Undecided,
    currency_in,
    decide_dates,
    decide_decimal,
    money,
    parse_dates,
)
from selfdata.importers.base import HEAD_BYTES, Batch, Source
from selfdata.importers.columns import canonical_schema
from selfdata.importers.money import account_id, mask_number, table_of

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "bank_csv"
version = "1"
patterns = ("*.csv", "*.tsv", "*.txt")
tables = ("accounts", "transactions")

# Rows per transactions batch.
BATCH_ROWS = 100_000

TRANSACTIONS_SCHEMA = canonical_schema("transactions")
_DATE_LIKE = re.compile(
    r"^\s*\"?\s*(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{8}\b|\d{1,2}[\s./-]*[^\W\d_]{3,}\.?[\s./,-]*\d{2,4}"
    r"|[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4})"
)
_ACCOUNT_LABELS = {*SYNONYMS["account_column"], "account name", "n de compte", "kontonr"}
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_NUMBER_TAIL = re.compile(r"((?:[\dXx*]{2,}[\s-]?)+)$")


def detect(head: bytes, filename: str) -> bool:
    """True for a delimited table with a date column and an amount column, a known
    bank's header, or Santander's TXT statement; never for XML, JSON, OFX or energy CSVs.

    Example:
        >>> detect(b"Date;Libelle;Debit;Credit\\n31/01/2024;CB CAFE;3,50;\\n", "releve.csv")
        True
        >>> detect(b"OFXHEADER:100\\nDATA:OFXSGML\\n", "statement.csv")
        False
    """
    text = decode_head(head)
    start = text.lstrip()[:16]
    if not start or start[0] in "<{[" or start.upper().startswith("OFXHEADER"):
        return False
    if SANTANDER.search(text):
        return True
    lines = text.split("\n")
    if len(head) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line is cut off
    if is_energy(lines):
        return False
    layout = search_layout(lines, Settings(GENERIC, {}, None))
    if layout is None:
        return False
    if not layout.generic:
        return True
    date_index = layout.names.index(layout.roles["date"][0])
    rows = lines[layout.header_index + 1 : layout.header_index + 6]
    return any(
        len(cells) > date_index and _DATE_LIKE.match(cells[date_index])
        for cells in (split_line(line, layout.delimiter) for line in rows)
    )


def read(source: Source) -> Iterator[Batch]:
    """Read a bank CSV (or Santander TXT) into its accounts and transactions.

    Example:
        >>> from pathlib import Path
        >>> [b.table for b in read(Source(Path("tests/data/bank_csv/german_sparkasse.csv")))]
        ['accounts', 'transactions']
    """
    with source.open() as stream:
        data = stream.read()
    frame, layout = rows_of(data, source)
    accounts, rows = _Statement(source, layout, frame).transactions()
    yield Batch("accounts", accounts)
    for offset in range(0, max(rows.height, 1), BATCH_ROWS):
        yield Batch("transactions", _arrow(rows.slice(offset, BATCH_ROWS)))


# from rows to transactions


class _Statement:
    """One file's rows, its layout and what it decided: turned into the two tables."""

    def __init__(self, source: Source, layout: Layout, frame: pl.DataFrame) -> None:
        self.source = source
        self.layout = layout
        self.profile = layout.profile
        blank = pl.all_horizontal(pl.col(c).is_null() for c in layout.names)
        self.frame = self._skip_pseudo_rows(frame.filter(~blank))

    def transactions(self) -> tuple[pa.Table, pl.DataFrame]:
        self.rule = self._date_rule()
        self.decimal = self._decimal()
        frame = self.frame.with_columns(
            parse_dates(self._raw("date"), self.rule).alias("booked_date"),
            self._value_date().alias("value_date"),
            self._amount().alias("amount"),
            self._balance().alias("balance_after"),
        )
        self._count_unusable(frame)
        frame = self._without_rejects(frame)
        frame = frame.with_columns(
            self._currency().alias("currency"),
            self._joined("description").alias("description"),
            self._joined("counterparty").alias("counterparty"),
            self._joined("reference").alias("bank_ref"),
            self._extra().alias("extra"),
        )
        frame, accounts = self._accounts(frame)
        # `merchant` and `category` are for the person's rules, not the bank's words.
        empty = pl.lit(None, pl.String)
        frame = frame.with_columns(empty.alias("merchant"), empty.alias("category"))
        return accounts, frame.select(TRANSACTIONS_SCHEMA.names)

    # rows

    def _skip_pseudo_rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        for column, value, why in self.profile.skip:
            present = self._column(column)
            if present is None:
                continue
            pseudo = pl.col(present).str.to_lowercase() == value.lower()
            self.source.repaired(why, int(frame.select(pseudo.sum()).item()))
            frame = frame.filter(~pseudo.fill_null(False))
        return frame

    def _column(self, wanted: str) -> str | None:
        keys = [header_key(n) for n in self.layout.names]
        key = header_key(wanted)
        return self.layout.names[keys.index(key)] if key in keys else None

    def _role(self, role: str) -> list[str]:
        return self.layout.roles.get(role, [])

    def _without_rejects(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows whose date or amount is unusable, reported with their line."""
        reason = (
            pl.when(pl.col("booked_date").is_null())
            .then(self._date_problem())
            .when(pl.col("amount").is_null())
            .then(self._amount_problem())
        )
        frame = frame.with_columns(reason.alias("__reason"))
        rejected = frame.filter(pl.col("__reason").is_not_null())
        if rejected.height and rejected.height == frame.height:
            first_line, first_reason = rejected.select("__line", "__reason").row(0)
            problem = f"no row could be read; the first: {first_reason}. " + self._fix(first_reason)
            raise ParseError(self.source.display_name, problem, line=first_line)
        for line, why in rejected.select("__line", "__reason").iter_rows():
            self.source.reject("transactions", why, line)
        return frame.filter(pl.col("__reason").is_null())

    def _fix(self, reason: str) -> str:
        if reason.startswith(("date", "no date")):
            return hint(self.layout, "describe the file", [("date_format", "%d/%m/%Y", ())])
        column = self.layout.names[-1]
        return hint(self.layout, "name the amount column", [("amount", column, ())])

    # dates

    def _value_date(self) -> pl.Expr:
        if not self._role("value_date"):
            return pl.lit(None, pl.Date)
        return parse_dates(self._raw("value_date"), self.rule)

    def _count_unusable(self, frame: pl.DataFrame) -> None:
        """Value dates and balances that do not parse are left empty, and counted."""
        for role, column, why in (
            ("value_date", "value_date", "value date not a date: left empty"),
            ("balance", "balance_after", "balance not a number: left empty"),
        ):
            if self._role(role):
                unusable = pl.col(column).is_null() & self._raw(role).is_not_null()
                self.source.repaired(why, int(frame.select(unusable.sum()).item()))

    def _date_rule(self) -> DateRule:
        columns = [*self._role("date"), *self._role("value_date")]
        values = pl.concat([self.frame.get_column(c) for c in dict.fromkeys(columns)])
        try:
            return decide_dates(
                values, date_format=self.profile.date_format, order=self.profile.date_order
            )
        except Undecided as undecided:
            raise self._undecided(undecided, self._role("date")) from None

    def _raw(self, role: str) -> pl.Expr:
        return pl.coalesce([pl.col(c) for c in self._role(role)])

    def _date_problem(self) -> pl.Expr:
        columns = " or ".join(repr(c) for c in self._role("date"))
        raw = self._raw("date")
        return (
            pl.when(raw.is_null())
            .then(pl.lit(f"no date: {columns} is empty"))
            .otherwise(pl.format(f"date '{{}}' in {columns} is not {self.rule.describe()}", raw))
        )

    # amounts

    def _amount(self) -> pl.Expr:
        if self._role("amount"):
            value = money(pl.col(self._role("amount")[0]), self.decimal)
            value = self._signed(value)
        else:
            debit, credit = self._money_of("debit"), self._money_of("credit")
            value = (
                pl.when(debit.is_null() & credit.is_null())
                .then(None)
                .otherwise(credit.abs().fill_null(0) - debit.abs().fill_null(0))
            )
        for fee in self._role("fee")[:1]:
            value = value - money(pl.col(fee), self.decimal).fill_null(0)
        return value.cast(pl.Decimal(18, 2))

    def _signed(self, value: pl.Expr) -> pl.Expr:
        if not self._role("sign"):
            return value
        word = pl.col(self._role("sign")[0]).str.to_lowercase().str.strip_chars(". ")
        return pl.when(word.is_in(NEGATIVE_WORDS)).then(-value.abs()).otherwise(value.abs())

    def _money_of(self, role: str) -> pl.Expr:
        columns = self._role(role)
        return (
            money(pl.col(columns[0]), self.decimal) if columns else pl.lit(None, pl.Decimal(18, 2))
        )

    def _decimal(self) -> str:
        if self.profile.decimal:
            return self.profile.decimal
        roles = ("amount", "debit", "credit", "fee", "balance")
        columns = list(dict.fromkeys(c for r in roles for c in self._role(r)))
        try:
            return decide_decimal(self.frame, columns)
        except Undecided as undecided:
            raise self._undecided(undecided, columns) from None

    def _amount_problem(self) -> pl.Expr:
        if self._role("amount"):
            column = self._role("amount")[0]
            return (
                pl.when(pl.col(column).is_null())
                .then(pl.lit(f"no amount: {column!r} is empty"))
                .otherwise(
                    pl.format(f"amount '{{}}' in {column!r} is not a number", pl.col(column))
                )
            )
        columns = [*self._role("debit")[:1], *self._role("credit")[:1]]
        raw = pl.concat_str([pl.col(c) for c in columns], separator=" / ", ignore_nulls=True)
        named = " and ".join(repr(c) for c in columns)
        return (
            pl.when(raw == "")
            .then(pl.lit(f"no amount: {named} are empty"))
            .otherwise(pl.format(f"amount '{{}}' in {named} is not a number", raw))
        )

    def _balance(self) -> pl.Expr:
        if not self._role("balance"):
            return pl.lit(None, pl.Decimal(18, 2))
        return money(pl.col(self._role("balance")[0]), self.decimal)

    # text

    def _currency(self) -> pl.Expr:
        money_columns = [c for r in ("amount", "debit", "credit") for c in self._role(r)]
        written = [currency_in(pl.col(c)) for c in money_columns]
        from_column = [
            pl.col(c).str.to_uppercase().str.extract(r"^([A-Z]{3})$", 1)
            for c in self._role("currency_column")[:1]
        ]
        in_header = [
            self.layout.currencies[c] for c in money_columns if c in self.layout.currencies
        ]
        fallback = in_header[0] if in_header else self.profile.currency
        return pl.coalesce([*from_column, *written, pl.lit(fallback, pl.String)])

    def _joined(self, role: str) -> pl.Expr:
        columns = self._role(role)
        if not columns:
            return pl.lit(None, pl.String)
        text = pl.concat_str([pl.col(c) for c in columns], separator=" ", ignore_nulls=True)
        return pl.when(text == "").then(None).otherwise(text)

    def _extra(self) -> pl.Expr:
        """The columns the canonical ones do not hold, as a JSON object (nulls left out)."""
        renamed = {header_key(c): key for c, key in self.profile.extra.items()}
        used = {c for role in COLUMN_ROLES if role != "category" for c in self._role(role)}
        ignored = {header_key(c) for c in self.profile.ignore}
        parts: list[tuple[str, pl.Expr]] = []
        for column in self.layout.names:
            key = header_key(column)
            if key in renamed:
                parts.append((renamed[key], pl.col(column)))
            elif column in self._role("category"):
                parts.append(("bank_category", pl.col(column)))
            elif column not in used and key not in ignored:
                parts.append((_snake(column), pl.col(column)))
        for fee in self._role("fee")[:1]:
            charged = money(pl.col(fee), self.decimal)
            parts.append(("fee", pl.when(charged != 0).then(pl.col(fee))))
        if self._role("sign"):
            parts.append(("sign", pl.col(self._role("sign")[0])))
        return _json_object(parts)

    # accounts

    def _accounts(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pa.Table]:
        """Each row's account_id, and one `accounts` row per account."""
        number, real = self._account_number()
        parts = []
        for part in self.profile.subaccount:
            column = "currency" if part == "currency" else self._column(part)
            if column is not None:
                parts.append(pl.col(column))
        suffix = pl.concat_str(parts, separator=" ", ignore_nulls=True) if parts else pl.lit("")
        frame = frame.with_columns(
            number.alias("__number"), suffix.alias("__suffix"), real.alias("__real")
        )
        keys = frame.group_by("__number", "__suffix", "__real", maintain_order=True).agg(
            pl.col("currency").drop_nulls().first()
        )
        rows, ids = [], {}
        for number_text, sub, is_real, currency in keys.iter_rows():
            row = self._account_row(number_text, sub, currency, is_real)
            ids[f"{number_text}\x1f{sub}"] = row["account_id"]
            rows.append(row)
        key = pl.concat_str("__number", pl.lit("\x1f"), "__suffix")
        frame = frame.with_columns(
            key.replace_strict(ids, return_dtype=pl.String).alias("account_id")
        )
        return frame, table_of("accounts", rows)

    def _account_number(self) -> tuple[pl.Expr, pl.Expr]:
        """Each row's account number, and whether it is a real one (not a default)."""
        given = self._preamble_account()[0] or self.profile.account
        number = pl.lit(given or self._default_account())
        real = pl.lit(given is not None)
        for column in self._role("account_column")[:1]:
            number = pl.coalesce(pl.col(column), number)
            real = pl.col(column).is_not_null() | real
        return number, real

    def _default_account(self) -> str:
        if not self.layout.generic:
            return self.profile.name
        # An unknown layout: its header, so exports of one bank meet and others do not.
        return "csv " + " ".join(header_key(n) for n in self.layout.names)

    def _preamble_account(self) -> tuple[str | None, str | None]:
        """(number, name) from a preamble line such as `Account Name:,FlexDirect ****12345`."""
        for label, value in self.layout.preamble.items():
            if header_key(label) not in _ACCOUNT_LABELS:
                continue
            iban = _IBAN.search(value.upper())
            if iban:
                return iban[0], None
            tail = _NUMBER_TAIL.search(value.strip())
            if tail and any(ch.isdigit() for ch in tail[1]):
                return tail[1].strip(), value[: tail.start()].strip() or None
        return None, None

    def _account_row(
        self, number: str, sub: str, currency: str | None, real: bool
    ) -> dict[str, Any]:
        institution = self.profile.institution
        identity = f"{number} {sub}".strip()
        preamble_name = self._preamble_account()[1]
        label = self.profile.account_name or preamble_name
        if label is None and not self.layout.generic:
            label = " ".join(p for p in (institution or self.profile.name, sub) if p)
        extra = {} if self.layout.generic else {"profile": self.profile.name}
        extra |= {_snake(k): v for k, v in self.layout.preamble.items()}
        return {
            "account_id": account_id(identity, institution=self.profile.name),
            "institution": institution,
            "name": label,
            "number_masked": mask_number(number) if real else None,
            "currency": currency,
            "kind": self.profile.kind or (None if self.layout.generic else "checking"),
            "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
        }

    # errors

    def _undecided(self, undecided: Undecided, columns: list[str]) -> ParseError:
        what = f"{undecided.what} (in {', '.join(repr(c) for c in columns)})"
        first, *others = undecided.choices
        how = hint(self.layout, "say which", [(undecided.setting, first, tuple(others))])
        return ParseError(self.source.display_name, f"{what}. {how}")


def _snake(header: str) -> str:
    return re.sub(r"\W+", "_", header_key(header).replace("#", " no ")).strip("_") or "column"


def _json_object(parts: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """A JSON object of the non-null values, vectorised; null when all are null."""
    members = [
        pl.when(value.is_not_null()).then(
            pl.struct(value.alias(key))
            .struct.json_encode()
            .str.strip_prefix("{")
            .str.strip_suffix("}")
        )
        for key, value in zip(unique([key for key, _ in parts]), [v for _, v in parts], strict=True)
    ]
    if not members:
        return pl.lit(None, pl.String)
    joined = pl.concat_str(members, separator=",", ignore_nulls=True)
    return (
        pl.when(joined == "").then(None).otherwise(pl.concat_str(pl.lit("{"), joined, pl.lit("}")))
    )


def _arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow().cast(TRANSACTIONS_SCHEMA)
