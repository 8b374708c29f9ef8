"""Amounts and dates of bank CSVs as polars expressions, each decided from a whole column.

A bank writes every amount of a file the same way, so the decimal separator is
decided once from all money columns together, and the date order once from all
date columns: one value with a day above 12 settles DD/MM against MM/DD for the
file. A column that settles nothing raises `Undecided`, which the reader turns
into an error saying how to tell selfdata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from selfdata.importers._bank_csv_profiles import CURRENCY_SIGNS, MONTHS

__all__ = [
    "DateRule",
    "Undecided",
    "currency_in",
    "decide_dates",
    "decide_decimal",
    "money",
    "parse_dates",
]

# Signs and codes printed beside amounts (the same set as money.parse_amount).
_CURRENCY = r"[£€$¥₹₩₽₺₪฿]|\b[A-Z]{3}\b|\bFr\.|\bkr\b|zł"
# ASCII classes keep these on the regex engine's fast path.
_DEBIT_CREDIT = r"[ \t]*(?:[Cc][Rr]|[Dd][Rr])\.?$"
_DEBIT = r"[Dd][Rr]\.?$"
# After signs and grouping spaces are gone: which separator is the decimal point.
_POINT = r"^\d{1,3}(?:,\d{3})+\.\d+$|^\d*\.\d{1,2}$|^\d*\.\d{4,}$|^0\.\d+$|^\d{1,3}(?:,\d{3}){2,}$"
_COMMA = r"^\d{1,3}(?:\.\d{3})+,\d+$|^\d*,\d{1,2}$|^\d*,\d{4,}$|^0,\d+$|^\d{1,3}(?:\.\d{3}){2,}$"
_EITHER = r"^[1-9]\d{0,2}[.,]\d{3}$"  # 1,234 or 1.234: a grouping or a decimal separator?
_NUMBER = r"^(?:\d+\.?\d*|\.\d+)$"

# Date shapes; each ends where the date ends (a time may follow).
_END = r"(?:$|[T\s,])"
SHAPES: dict[str, str] = {
    "ymd": rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_END}",
    "compact": r"^(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)$",
    "numeric": rf"^(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})[-/.](?P<y>\d{{4}}|\d{{2}}){_END}",
    "day_month_name": (
        r"^(?P<d>\d{1,2})(?:\.|st|nd|rd|th|er)?[\s./-]*(?P<mon>\p{L}{3,})\.?[\s./,-]*"
        rf"(?P<y>\d{{4}}|\d{{2}}){_END}"
    ),
    "month_name_day": (
        rf"^(?P<mon>\p{{L}}{{3,}})\.?[\s-]+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[\s-]+(?P<y>\d{{4}}){_END}"
    ),
}
_ORDER_NAMES = {"DMY": "DD/MM/YYYY", "MDY": "MM/DD/YYYY", "YMD": "YYYY-MM-DD"}
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%p", "%z", "%:z")


class Undecided(Exception):
    """The values of a column fit more than one reading (or none)."""

    def __init__(self, what: str, setting: str, choices: tuple[str, ...]) -> None:
        self.what = what
        self.setting = setting  # the selfdata.toml key that settles it
        self.choices = choices  # its possible values, the likelier first
        super().__init__(what)


# amounts


def money(raw: pl.Expr, decimal: str) -> pl.Expr:
    """A signed Decimal(18, 2) from text as banks print it; null when it is no amount.

    Handles currency signs and codes, grouping by spaces, NBSP, apostrophes or
    the other separator, a leading or trailing minus (U+2212 too), accounting
    parentheses and `CR`/`DR` suffixes. More than two decimals are rounded
    half to even.
    """
    unsigned = _unsigned(raw)
    if decimal == ",":
        number = unsigned.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    else:
        number = unsigned.str.replace_all(",", "", literal=True)
    value = (
        pl.when(number.str.contains(_NUMBER))
        .then(number)
        .otherwise(None)
        .cast(pl.Decimal(38, 10), strict=False)
        .round(2)
        .cast(pl.Decimal(18, 2), strict=False)
    )
    return pl.when(_negative(raw)).then(-value).otherwise(value)


def decide_decimal(frame: pl.DataFrame, columns: list[str]) -> str:
    """`.` or `,`: the decimal separator of every amount in these columns together."""
    texts = [frame.get_column(c) for c in columns]
    values = (
        pl.concat(texts).drop_nulls().unique(maintain_order=True)
        if texts
        else pl.Series([], dtype=pl.String)
    )
    unsigned = pl.DataFrame({"t": values}).select(_unsigned(pl.col("t")).alias("t"))["t"]
    point = unsigned.filter(unsigned.str.contains(_POINT))
    comma = unsigned.filter(unsigned.str.contains(_COMMA))
    either = values.filter(unsigned.str.contains(_EITHER))
    if len(point) and len(comma):
        what = (
            f"amounts disagree on the decimal separator: {values[_first(unsigned, _POINT)]!r} "
            f"reads with '.', {values[_first(unsigned, _COMMA)]!r} with ','"
        )
        raise Undecided(what, "decimal", (".", ","))
    if len(comma):
        return ","
    if len(point) or not len(either):
        return "."
    what = (
        f"amounts such as {either[0]!r} read either way: every amount has one separator "
        "followed by three digits, so it may be a thousands separator or a decimal point"
    )
    raise Undecided(what, "decimal", (".", ","))


def currency_in(raw: pl.Expr) -> pl.Expr:
    """The ISO code an amount is printed with (`12.00 EUR`, `£12.00`), or null."""
    code = raw.str.extract(r"\b([A-Z]{3})\b", 1)
    signs = "".join(CURRENCY_SIGNS)
    sign = raw.str.extract(f"([{signs}])", 1).replace_strict(CURRENCY_SIGNS, default=None)
    return pl.coalesce(code, sign)


def _plain(raw: pl.Expr) -> pl.Expr:
    """The text without currency, `CR`/`DR` or surrounding spaces; U+2212 as `-`."""
    text = raw.str.replace_all("\u2212", "-", literal=True).str.replace_all(_CURRENCY, "")
    return text.str.replace(_DEBIT_CREDIT, "").str.strip_chars()


def _unsigned(raw: pl.Expr) -> pl.Expr:
    """Digits and separators only: signs, currency, grouping spaces and apostrophes gone."""
    text = _plain(raw).str.strip_chars("()").str.strip_chars().str.strip_chars("+-")
    return text.str.replace_all("[\\s'\u2019`\u00b4]", "")


def _negative(raw: pl.Expr) -> pl.Expr:
    text = _plain(raw)
    parenthesised = text.str.starts_with("(") & text.str.ends_with(")")
    text = text.str.strip_chars("()").str.strip_chars()
    minus = text.str.starts_with("-") | text.str.ends_with("-")
    return parenthesised ^ minus ^ raw.str.strip_chars().str.contains(_DEBIT)


def _first(values: pl.Series, pattern: str) -> int:
    return int(values.str.contains(pattern).fill_null(False).arg_true()[0])


# dates


@dataclass(frozen=True)
class DateRule:
    """How a file writes its dates: a shape and, for numeric ones, the order."""

    shape: str | None  # a key of SHAPES, or None with `date_format`
    order: str | None = None  # DMY or MDY for the "numeric" shape
    date_format: str | None = None  # the user's strptime format

    def describe(self) -> str:
        """The rule as error messages name it: `DD/MM/YYYY`, `date_format '%d.%m.%Y'`."""
        if self.date_format:
            return f"date_format {self.date_format!r}"
        if self.shape == "numeric":
            return _ORDER_NAMES[self.order or "DMY"]
        return {
            "ymd": "YYYY-MM-DD",
            "compact": "YYYYMMDD",
            "day_month_name": "DD Month YYYY",
            "month_name_day": "Month DD, YYYY",
        }.get(self.shape or "", "dates")


def decide_dates(
    values: pl.Series, *, date_format: str | None = None, order: str | None = None
) -> DateRule:
    """The rule the dates of a file follow, from every value of its date columns.

    `order` (DMY, MDY or YMD) settles numeric dates whose days are all 12 or less;
    without it, or a day above 12 somewhere, they raise Undecided. DD.MM.YYYY
    (dots) is read day first: no bank writes MM.DD.YYYY.
    """
    if date_format:
        return DateRule(None, date_format=date_format)
    values = values.drop_nulls().unique(maintain_order=True)  # a statement repeats its dates
    counts = {shape: int(values.str.contains(pattern).sum()) for shape, pattern in SHAPES.items()}
    shape = max(counts, key=lambda s: counts[s])
    if counts[shape] == 0:
        return DateRule("ymd")  # nothing looks like a date: every row will be rejected
    if shape != "numeric":
        return DateRule(shape)
    return DateRule(shape, _numeric_order(values, order))


def _numeric_order(values: pl.Series, order: str | None) -> str:
    parts = pl.DataFrame({"v": values}).select(
        pl.col("v").str.extract_groups(SHAPES["numeric"]).alias("p")
    )["p"]
    first = parts.struct.field("a").cast(pl.Int32, strict=False)
    second = parts.struct.field("b").cast(pl.Int32, strict=False)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        what = (
            f"dates disagree: {values[_index(first > 12)]!r} reads only as DD/MM/YYYY, "
            f"{values[_index(second > 12)]!r} only as MM/DD/YYYY"
        )
        raise Undecided(what, "date_order", ("DMY", "MDY"))
    if day_first or month_first:
        return "DMY" if day_first else "MDY"
    if order in ("DMY", "MDY"):
        return order
    separators = parts.struct.field("sep").drop_nulls().unique().to_list()
    if separators == ["."]:
        return "DMY"
    what = (
        f"dates such as {values[0]!r} read either way: no day or month is above 12, "
        "so DD/MM/YYYY and MM/DD/YYYY both fit"
    )
    raise Undecided(what, "date_order", ("DMY", "MDY"))


def _index(mask: pl.Series) -> int:
    return int(mask.fill_null(False).arg_true()[0])


def parse_dates(raw: pl.Expr, rule: DateRule) -> pl.Expr:
    """Dates by `rule`; null where a value does not follow it or is no real date."""
    if rule.date_format:
        timed = any(d in rule.date_format for d in _TIME_DIRECTIVES)
        kind = pl.Datetime if timed else pl.Date
        parsed = raw.str.strptime(kind, rule.date_format, strict=False)
        return parsed.dt.date() if timed else parsed
    assert rule.shape is not None
    parts = raw.str.extract_groups(SHAPES[rule.shape])
    year = parts.struct.field("y")
    if rule.shape == "numeric":
        day, month = (parts.struct.field(k) for k in ("ab" if rule.order == "DMY" else "ba"))
    else:
        day = parts.struct.field("d")
        month = parts.struct.field("m") if "m" in _group_names(rule.shape) else _month(parts)
    # Two-digit years as strptime's %y reads them: 69 is 2069, 70 is 1970.
    century = (
        pl.when(year.cast(pl.Int32, strict=False) < 70).then(pl.lit("20")).otherwise(pl.lit("19"))
    )
    full_year = pl.when(year.str.len_chars() == 2).then(century + year).otherwise(year)
    iso = pl.concat_str(full_year, month.str.zfill(2), day.str.zfill(2), separator="-")
    return iso.str.to_date("%Y-%m-%d", strict=False)


def _group_names(shape: str) -> set[str]:
    return set(re.findall(r"\?P<(\w+)>", SHAPES[shape]))


def _month(parts: pl.Expr) -> pl.Expr:
    """A month's number from its name in English, French, German, Spanish, Italian or Dutch."""
    word = (
        parts.struct.field("mon")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
    )
    numbers = {name: f"{number:02d}" for name, number in MONTHS.items()}
    return word.replace_strict(numbers, default=None, return_dtype=pl.String)
