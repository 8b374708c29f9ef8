"""Report periods: names people use ("last-month", "2025-Q3") as first and last local day.

A period is a closed range of local days, `start` to `end`, both included,
and a `label` that names it in file names (`data/reports/health/2025-06.html`)
and headings. Relative names are resolved against `today`, and always to
*complete* days: today is still happening, so "last-7-days" ends yesterday.

| name | period | label |
|---|---|---|
| `last-7-days`, `last-N-days` | the N days ending yesterday | `2025-06-03_2025-06-09` |
| `last-week`, `this-week` | the ISO week (Monday to Sunday) before, this one so far | `2025-W23` |
| `last-month`, `this-month` | the calendar month before, this one so far | `2025-05` |
| `last-quarter`, `this-quarter` | the same for quarters | `2025-Q1` |
| `last-year`, `this-year` | the same for years | `2024` |
| `2025`, `2025-Q3`, `2025-06`, `2025-W07` | that year, quarter, month or ISO week | itself |
| `2025-06-01_2025-06-15` (or `..`) | those days | `2025-06-01_2025-06-15` |
| `2025-06-15` | that one day | itself |

"This ..." periods end today (the period so far) and keep the label of the
whole period, so the complete report rendered later replaces the partial one.

Example:
    >>> parse_period("last-month", today=date(2025, 7, 10))
    Period(start=datetime.date(2025, 6, 1), end=datetime.date(2025, 6, 30), label='2025-06')
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta
from typing import Literal, NamedTuple

__all__ = [
    "EVERY",
    "Every",
    "Period",
    "calendar_kind",
    "complete_periods",
    "containing",
    "parse_period",
    "period_between",
]

Every = Literal["week", "month", "year"]
EVERY: tuple[Every, ...] = ("week", "month", "year")

_LAST_DAYS = re.compile(r"^last-(\d{1,4})-days?$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-[Ww](\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:_|\.\.)(\d{4}-\d{2}-\d{2})$")

_NAMES = (
    "last-7-days, last-30-days, last-N-days, last-week, this-week, last-month, this-month, "
    "last-quarter, this-quarter, last-year, this-year, 2025, 2025-Q3, 2025-06, 2025-W07, "
    "2025-06-15, 2025-06-01_2025-06-15"
)


class Period(NamedTuple):
    """A closed range of local days and the label that names it."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        """How many days the period holds."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same kind just before: the month before a month, else as many days.

        Example:
            >>> parse_period("2025-03").previous().label
            '2025-02'
            >>> parse_period("2025-03-10_2025-03-16").previous().label
            '2025-W10'
        """
        day_before = self.start - timedelta(days=1)
        kind = calendar_kind(self.start, self.end)
        if kind is not None:
            return containing(kind, day_before)
        return period_between(day_before - timedelta(days=self.days - 1), day_before)


def parse_period(text: str, *, today: date | None = None) -> Period:
    """The period a name stands for (see the module docstring for every name).

    Args:
        text: a period name, e.g. `"last-month"`, `"2025-Q3"`, `"2025-06"`.
        today: the day relative names count from; default the computer's today.

    Raises:
        ValueError: the name is not one of those above, or not a real date.

    Example:
        >>> parse_period("2025-Q3").end
        datetime.date(2025, 9, 30)
    """
    today = today or date.today()
    name = text.strip().lower()
    relative = _relative(name, today)
    if relative is not None:
        return relative
    try:
        absolute = _absolute(name)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a real period: {error}") from error
    if absolute is None:
        raise ValueError(f"{text!r} is not a period; use one of: {_NAMES}")
    return absolute


def period_between(start: date, end: date) -> Period:
    """The period from `start` to `end`, labelled by its calendar name when it has one.

    Example:
        >>> period_between(date(2025, 1, 1), date(2025, 12, 31)).label
        '2025'
        >>> period_between(date(2025, 1, 5), date(2025, 1, 9)).label
        '2025-01-05_2025-01-09'
    """
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    kind = calendar_kind(start, end)
    if kind is not None:
        return containing(kind, start)
    if start == end:
        return Period(start, end, start.isoformat())
    return Period(start, end, f"{start.isoformat()}_{end.isoformat()}")


def complete_periods(every: Every, *, after: date | None, today: date) -> list[Period]:
    """The weeks, months or years that ended before `today` and start after `after`.

    With `after` None (a schedule never run) only the latest complete one.

    Example:
        >>> [p.label for p in complete_periods("week", after=date(2025, 6, 1),
        ...                                    today=date(2025, 6, 25))]
        ['2025-W23', '2025-W24', '2025-W25']
    """
    latest = containing(every, containing(every, today).start - timedelta(days=1))
    if after is None:
        return [latest]
    found: list[Period] = []
    period = latest
    while period.start > after:
        found.append(period)
        period = containing(every, period.start - timedelta(days=1))
    return found[::-1]


def _relative(name: str, today: date) -> Period | None:
    yesterday = today - timedelta(days=1)
    days = _LAST_DAYS.match(name)
    if days:
        count = int(days[1])
        if count < 1:
            raise ValueError(f"{name!r}: the number of days must be at least 1")
        return period_between(yesterday - timedelta(days=count - 1), yesterday)
    which, _, unit = name.partition("-")
    if which not in ("last", "this") or unit not in ("week", "month", "quarter", "year"):
        return None
    current = containing(unit, today)
    if which == "this":
        return Period(current.start, today, current.label)
    return containing(unit, current.start - timedelta(days=1))


def _absolute(name: str) -> Period | None:
    if match := _YEAR.match(name):
        return containing("year", date(int(match[1]), 1, 1))
    if match := _QUARTER.match(name):
        return containing("quarter", date(int(match[1]), 3 * int(match[2]) - 2, 1))
    if match := _MONTH.match(name):
        return containing("month", date(int(match[1]), int(match[2]), 1))
    if match := _WEEK.match(name):
        return containing("week", date.fromisocalendar(int(match[1]), int(match[2]), 1))
    if _DAY.match(name):
        return period_between(date.fromisoformat(name), date.fromisoformat(name))
    if match := _RANGE.match(name):
        return period_between(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
    return None


def containing(kind: str, day: date) -> Period:
    """The calendar `week` (ISO, from Monday), `month`, `quarter` or `year` holding `day`.

    Example:
        >>> containing("week", date(2025, 6, 4)).label
        '2025-W23'
    """
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return Period(start, start + timedelta(days=6), f"{year}-W{week:02d}")
    if kind == "month":
        last = monthrange(day.year, day.month)[1]
        return Period(day.replace(day=1), day.replace(day=last), f"{day.year}-{day.month:02d}")
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * quarter - 2, 1)
        last_month = 3 * quarter
        end = date(day.year, last_month, monthrange(day.year, last_month)[1])
        return Period(first, end, f"{day.year}-Q{quarter}")
    if kind == "year":
        return Period(date(day.year, 1, 1), date(day.year, 12, 31), str(day.year))
    raise ValueError(f"unknown kind of period {kind!r}")


def calendar_kind(start: date, end: date) -> str | None:
    """`year`, `quarter`, `month` or `week` when start..end is exactly one of those, else None.

    Example:
        >>> calendar_kind(date(2025, 4, 1), date(2025, 6, 30))
        'quarter'
    """
    for kind in ("year", "quarter", "month", "week"):
        whole = containing(kind, start)
        if (whole.start, whole.end) == (start, end):
            return kind
    return None
