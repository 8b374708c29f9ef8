"""Report periods: names people use, resolved against a fixed today."""

from __future__ import annotations

from datetime import date

import pytest

from selfdata.reports.periods import (
    Period,
    calendar_kind,
    complete_periods,
    parse_period,
    period_between,
)

TODAY = date(2025, 7, 10)  # a Thursday


@pytest.mark.parametrize(
    ("name", "start", "end", "label"),
    [
        ("last-7-days", date(2025, 7, 3), date(2025, 7, 9), "2025-07-03_2025-07-09"),
        ("last-30-days", date(2025, 6, 10), date(2025, 7, 9), "2025-06-10_2025-07-09"),
        ("last-1-day", date(2025, 7, 9), date(2025, 7, 9), "2025-07-09"),
        ("last-week", date(2025, 6, 30), date(2025, 7, 6), "2025-W27"),
        ("this-week", date(2025, 7, 7), date(2025, 7, 10), "2025-W28"),
        ("last-month", date(2025, 6, 1), date(2025, 6, 30), "2025-06"),
        ("this-month", date(2025, 7, 1), date(2025, 7, 10), "2025-07"),
        ("last-quarter", date(2025, 4, 1), date(2025, 6, 30), "2025-Q2"),
        ("this-quarter", date(2025, 7, 1), date(2025, 7, 10), "2025-Q3"),
        ("last-year", date(2024, 1, 1), date(2024, 12, 31), "2024"),
        ("this-year", date(2025, 1, 1), date(2025, 7, 10), "2025"),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), "2025"),
        ("2025-Q3", date(2025, 7, 1), date(2025, 9, 30), "2025-Q3"),
        ("2025-q1", date(2025, 1, 1), date(2025, 3, 31), "2025-Q1"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
        ("2025-W07", date(2025, 2, 10), date(2025, 2, 16), "2025-W07"),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4), "2026-W01"),
        ("2025-06-15", date(2025, 6, 15), date(2025, 6, 15), "2025-06-15"),
        ("2025-06-01_2025-06-15", date(2025, 6, 1), date(2025, 6, 15), "2025-06-01_2025-06-15"),
        ("2025-06-01..2025-06-30", date(2025, 6, 1), date(2025, 6, 30), "2025-06"),
        (" Last-Month ", date(2025, 6, 1), date(2025, 6, 30), "2025-06"),
    ],
)
def test_parse_period(name, start, end, label):
    assert parse_period(name, today=TODAY) == Period(start, end, label)


def test_last_month_in_january_is_december_of_the_year_before():
    assert parse_period("last-month", today=date(2025, 1, 3)) == Period(
        date(2024, 12, 1), date(2024, 12, 31), "2024-12"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lastmonth", "'lastmonth' is not a period; use one of: last-7-days"),
        ("2025-13", "'2025-13' is not a real period: month must be in 1..12"),
        ("2025-W54", "'2025-W54' is not a real period"),
        ("2025-02-30", "'2025-02-30' is not a real period"),
        ("last-0-days", "the number of days must be at least 1"),
        ("2025-06-30_2025-06-01", "ends (2025-06-01) before it starts (2025-06-30)"),
    ],
)
def test_bad_periods_say_what_is_wrong(name, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_period(name, today=TODAY)


@pytest.mark.parametrize(
    ("name", "previous"),
    [
        ("2025-03", Period(date(2025, 2, 1), date(2025, 2, 28), "2025-02")),
        ("2025-Q1", Period(date(2024, 10, 1), date(2024, 12, 31), "2024-Q4")),
        ("2025", Period(date(2024, 1, 1), date(2024, 12, 31), "2024")),
        ("2025-W01", Period(date(2024, 12, 23), date(2024, 12, 29), "2024-W52")),
        (
            "2025-03-05_2025-03-11",
            Period(date(2025, 2, 26), date(2025, 3, 4), "2025-02-26_2025-03-04"),
        ),
    ],
)
def test_previous_is_the_same_kind_of_period_just_before(name, previous):
    assert parse_period(name).previous() == previous


def test_period_between_names_calendar_periods():
    assert period_between(date(2025, 4, 1), date(2025, 6, 30)).label == "2025-Q2"
    assert period_between(date(2025, 4, 1), date(2025, 6, 29)).label == "2025-04-01_2025-06-29"
    assert calendar_kind(date(2025, 6, 2), date(2025, 6, 8)) == "week"
    assert calendar_kind(date(2025, 6, 3), date(2025, 6, 9)) is None


def test_days_counts_both_ends():
    assert parse_period("2024-02").days == 29


def test_complete_periods_catch_up_everything_after_the_last_one():
    weeks = complete_periods("week", after=date(2025, 6, 15), today=date(2025, 7, 10))
    assert [w.label for w in weeks] == ["2025-W25", "2025-W26", "2025-W27"]


def test_complete_periods_exclude_the_current_one():
    months = complete_periods("month", after=date(2025, 3, 31), today=date(2025, 7, 1))
    assert [m.label for m in months] == ["2025-04", "2025-05", "2025-06"]
    assert complete_periods("month", after=date(2025, 6, 30), today=date(2025, 7, 31)) == []


def test_a_schedule_never_run_gets_only_the_latest_complete_period():
    assert [p.label for p in complete_periods("year", after=None, today=TODAY)] == ["2024"]
