"""What the money importers share: account ids that meet across formats, masked
account numbers, and amounts written the way banks write them.

A statement of one account may arrive as OFX one month, camt the next and CSV
after that; `account_id` derives the same id from the same account number in
every format, so `accounts` holds the account once and its transactions meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from selfdata.importers.base import stable_id
from selfdata.importers.columns import canonical_schema

__all__ = [
    "account_id",
    "mask_number",
    "normalise_account_number",
    "parse_amount",
    "table_of",
]

_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
# Currency signs and codes banks print beside amounts; removed before parsing.
_CURRENCY = re.compile(r"[£€$¥₹₩₽₺₪฿]|\b[A-Z]{3}\b|\bCHF\b|\bFr\.|\bkr\b|\bzł\b")
# Thousands separators that are never a decimal point.
_GROUPING = re.compile(r"[\s\u00a0\u202f\u2009']")
_DIGITS = re.compile(r"^\d+(?:\.\d+)?$")


def normalise_account_number(number: str) -> str:
    """An account number without spaces, dashes or dots, upper case.

    Example:
        >>> normalise_account_number("gb29 nwbk 6016-1331 9268 19")
        'GB29NWBK60161331926819'
    """
    return re.sub(r"[\s\-./]", "", number).upper()


def account_id(number: str, institution: str | None = None) -> str:
    """The id of an account, the same in every statement format.

    An IBAN is unique on its own, so it is the whole identity; any other account
    number is unique only at its bank (`institution`: a bank id, BIC or name,
    whatever the format carries consistently).

    Example:
        >>> account_id("GB29 NWBK 6016 1331 9268 19") == account_id("GB29NWBK60161331926819")
        True
    """
    normalised = normalise_account_number(number)
    if _IBAN.match(normalised):
        return "acct-" + stable_id("iban", normalised)
    return "acct-" + stable_id("account", (institution or "").strip().lower(), normalised)


def mask_number(number: str | None) -> str | None:
    """All but the last four characters masked, so the vault never holds a whole number.

    Example:
        >>> mask_number("GB29 NWBK 6016 1331 9268 19")
        '******************6819'
    """
    if number is None:
        return None
    normalised = normalise_account_number(number)
    if not normalised:
        return None
    return "*" * max(len(normalised) - 4, 0) + normalised[-4:]


def parse_amount(text: str, *, decimal: str | None = None) -> Decimal:
    """A signed amount as a Decimal, from the way banks print them.

    Handles currency signs and codes, grouping by spaces, NBSP, apostrophes or
    the other separator (`1.234,56`, `1 234,56`, `11'373.94`, `£1,454.33`),
    leading `+`, `-` or U+2212, a trailing minus (`12.00-`), and accounting parentheses
    (`(12.00)`). `decimal` is the decimal separator when the caller knows it
    (a CSV column decided as a whole); when None, the rightmost of `.` and `,`
    is the decimal point, and a lone `,` before exactly three digits is refused
    as ambiguous.

    Raises ValueError with the text when it is not an amount.

    Example:
        >>> parse_amount("-1.234,56 €")
        Decimal('-1234.56')
        >>> parse_amount("(12.50)")
        Decimal('-12.50')
    """
    raw = text.strip()
    cleaned = _CURRENCY.sub("", raw.replace("\u2212", "-")).strip()
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1].strip()
    if cleaned.endswith("-"):
        negative, cleaned = True, cleaned[:-1].strip()
    if cleaned[:1] in "+-" and cleaned:
        negative ^= cleaned[0] == "-"
        cleaned = cleaned[1:].strip()
    cleaned = _GROUPING.sub("", cleaned)
    cleaned = _with_point(cleaned, decimal, raw)
    if not _DIGITS.match(cleaned):
        raise ValueError(f"not an amount: {raw!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as error:  # pragma: no cover - the regex already refused it
        raise ValueError(f"not an amount: {raw!r}") from error
    return -value if negative else value


def _with_point(cleaned: str, decimal: str | None, raw: str) -> str:
    """`cleaned` with grouping removed and `.` as the decimal point."""
    if decimal is None:
        decimal = _guess_decimal(cleaned, raw)
    grouping = "," if decimal == "." else "."
    return cleaned.replace(grouping, "").replace(decimal, ".")


def _guess_decimal(cleaned: str, raw: str) -> str:
    last_point, last_comma = cleaned.rfind("."), cleaned.rfind(",")
    if last_point >= 0 and last_comma >= 0:
        return "." if last_point > last_comma else ","
    if last_comma < 0:
        return "."
    if cleaned.count(",") > 1:
        return "."  # 1,234,567: commas group
    if len(cleaned) - last_comma - 1 == 3:
        raise ValueError(f"ambiguous amount {raw!r}: is ',' a decimal or a thousands separator?")
    return ","


def table_of(table: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts of canonical column -> value) as an Arrow table of `table`'s shape.

    Amounts may be Decimal, dates `datetime.date` or ISO strings; columns a row
    does not name are NULL.
    """
    schema = canonical_schema(table)
    listed = list(rows)
    return pa.table(
        {
            name: pa.array([row.get(name) for row in listed], type=schema.field(name).type)
            for name in schema.names
        },
        schema=schema,
    )
