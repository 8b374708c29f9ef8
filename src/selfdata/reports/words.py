"""How report sentences say numbers, durations, times of day, money, days and periods.

One style across templates: `8,412 steps`, `6 h 42 min`, `23:14`, `£1,234`,
`23 min less than the month before`, `week 7 of 2025`. A missing value is an
en dash. `selfdata.reports.notebook` re-exports all of these, so notebooks
write `sd.duration(...)`.

Example:
    >>> duration(402.4), money(1234.5, "GBP")
    ('6 h 42 min', '£1,234')
"""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal
from typing import Any

from selfdata.reports.periods import Period

__all__ = [
    "change",
    "clock",
    "day_words",
    "duration",
    "money",
    "number",
    "percent",
    "period_words",
    "previous_words",
]

_NONE = "\u2013"  # an en dash stands for "no value" in sentences and tables
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "CHF": "CHF "}


def number(value: float | int | Decimal | None, digits: int = 0) -> str:
    """`8,412`, `6.5`; a dash for nothing.

    Example:
        >>> number(8412.4), number(6.53, 1), number(None)
        ('8,412', '6.5', '\u2013')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _NONE
    return f"{float(value):,.{digits}f}"


def percent(share: float | None, digits: int = 0) -> str:
    """A share 0..1 as `42%`.

    Example:
        >>> percent(0.4213)
        '42%'
    """
    return _NONE if share is None else f"{share * 100:.{digits}f}%"


def duration(minutes: float | None) -> str:
    """Minutes as `6 h 42 min`, `42 min` or `3 h`.

    Example:
        >>> duration(402.4), duration(42), duration(180)
        ('6 h 42 min', '42 min', '3 h')
    """
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return _NONE
    total = round(abs(minutes))
    hours, rest = divmod(total, 60)
    sign = "-" if minutes < 0 and total else ""
    if not hours:
        return f"{sign}{rest} min"
    return f"{sign}{hours} h" + (f" {rest} min" if rest else "")


def clock(minutes_after_midnight: float | None) -> str:
    """Minutes after local midnight as a time of day; values past 24 h wrap.

    Example:
        >>> clock(23 * 60 + 14), clock(24 * 60 + 35)
        ('23:14', '00:35')
    """
    if minutes_after_midnight is None:
        return _NONE
    total = round(minutes_after_midnight) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def money(amount: float | Decimal | None, currency: str | None, digits: int = 0) -> str:
    """An amount with its currency: `£1,234`, `€12.50`, `1,234 SEK`.

    Example:
        >>> money(Decimal("1234.5"), "GBP"), money(12.5, "EUR", 2), money(80, "SEK")
        ('£1,234', '€12.50', '80 SEK')
    """
    if amount is None:
        return _NONE
    value = float(amount)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{digits}f}"
    symbol = _SYMBOLS.get(currency or "")
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency or ''}".rstrip()


def change(
    now: float | None,
    before: float | None,
    show: Any = number,
    *,
    more: str = "more",
    less: str = "less",
    than: str = "the period before",
) -> str:
    """How `now` compares with `before`, in words: `23 min less than the month before`.

    `show` formats the absolute difference. Empty when either is missing.

    Example:
        >>> change(402, 425, duration, than="the month before")
        '23 min less than the month before'
        >>> change(5, 5)
        'the same as the period before'
    """
    if now is None or before is None or _nan(now) or _nan(before):
        return ""
    difference = float(now) - float(before)
    if show(abs(difference)) in (show(0), "0"):
        return f"the same as {than}"
    return f"{show(abs(difference))} {more if difference > 0 else less} than {than}"


def day_words(day: date, *, weekday: bool = False, year: bool = True) -> str:
    """A day as a sentence says it: `5 February 2026`, `Thursday 5 February`.

    Example:
        >>> day_words(date(2026, 2, 5)), day_words(date(2026, 2, 5), weekday=True, year=False)
        ('5 February 2026', 'Thursday 5 February')
    """
    text = f"{day.day} {day:%B}" + (f" {day.year}" if year else "")
    return f"{day:%A} {text}" if weekday else text


def period_words(period: Period) -> str:
    """How a sentence names a period: `June 2025`, `2025`, `week 23 of 2025`, `1 June 2025 to ...`.

    Example:
        >>> from selfdata.reports.periods import parse_period
        >>> period_words(parse_period("2025-06"))
        'June 2025'
    """
    label = period.label
    if re.fullmatch(r"\d{4}", label):
        return label
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return period.start.strftime("%B %Y")
    if match := re.fullmatch(r"(\d{4})-Q(\d)", label):
        return f"Q{match[2]} {match[1]}"
    if match := re.fullmatch(r"(\d{4})-W(\d{2})", label):
        return f"week {int(match[2])} of {match[1]}"
    return f"{_day(period.start)} to {_day(period.end)}"


def previous_words(period: Period) -> str:
    """How a sentence names the period before: `the month before`, `the week before`...

    Example:
        >>> from selfdata.reports.periods import parse_period
        >>> previous_words(parse_period("2025"))
        'the year before'
    """
    label = period.label
    for pattern, words in (
        (r"\d{4}", "the year before"),
        (r"\d{4}-\d{2}", "the month before"),
        (r"\d{4}-Q\d", "the quarter before"),
        (r"\d{4}-W\d{2}", "the week before"),
    ):
        if re.fullmatch(pattern, label):
            return words
    return f"the {period.days} days before"


def _nan(value: float | Decimal) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"
