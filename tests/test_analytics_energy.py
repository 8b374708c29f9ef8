"""Energy analytics on small vaults whose right answers are known by hand.

The main vault (`home`) holds three feeds:

- meter E1, electricity, hourly, Berlin time, 24 March to 6 April 2025 (the
  clocks go forward on Sunday 30 March): 250 W always on (0.25 kWh an hour),
  1 kWh more at 18, 19 and 20 h, and 0.5 kWh more at 10-13 h on weekends. So
  a weekday is 9 kWh, a weekend day 11 kWh and the 23-hour Sunday 10.75 kWh.
  Priced at 0.20 EUR/kWh.
- the same meter E1 billed for March 2025: 310 kWh (10 a day) for 93 EUR.
- meter G1, gas, contiguous bills of 29 to 32 days from 16 December 2023 to
  15 April 2025, New York time (three clock changes inside bills), each a
  whole number of therms per day (`GAS_BILLS`), priced in USD.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from selfdata import open_vault
from selfdata.analytics import energy

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600

# Gas bills: local start day (a bill ends where the next starts), therms a day, USD a therm.
GAS_BILLS = [
    (date(2023, 12, 16), 5, "1.25"),
    (date(2024, 1, 15), 3, "1.50"),
    (date(2024, 2, 14), 2, "1.25"),  # over the clock change of 10 March
    (date(2024, 3, 15), 2, "1.25"),
    (date(2024, 4, 15), 1, "1.25"),
    (date(2024, 5, 15), 1, "1.25"),
    (date(2024, 6, 15), 1, "1.25"),
    (date(2024, 7, 15), 1, "1.25"),
    (date(2024, 8, 15), 1, "1.25"),
    (date(2024, 9, 15), 2, "1.25"),
    (date(2024, 10, 15), 3, "1.25"),  # over the clock change of 3 November
    (date(2024, 11, 15), 4, "1.25"),
    (date(2024, 12, 15), 5, "1.25"),
    (date(2025, 1, 15), 4, "1.25"),
    (date(2025, 2, 15), 3, "1.25"),  # over the clock change of 9 March
    (date(2025, 3, 15), 2, "1.25"),
]
GAS_END = date(2025, 4, 15)

Reading = tuple[str, str, datetime, int, float, str, str | None, str | None]
"""(meter, commodity, local start (aware), duration_s, quantity, unit, cost, currency)."""


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh vault open for writing, with the `imports` row the readings point to."""
    connection = open_vault(tmp_path / "v.duckdb", read_only=False)
    connection.execute(
        "INSERT INTO imports VALUES (1, 'test', '1', 'synthetic.xml', 'ab', 0, now(), now(),"
        " 'ok', '{}', '{}', '{}', NULL)"
    )
    yield connection
    connection.close()


@pytest.fixture
def home(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The main vault of the module docstring."""
    add(con, [*hourly_electricity(), march_bill(), *gas_bills()])
    return con


def add(con: duckdb.DuckDBPyConnection, readings: list[Reading]) -> None:
    """Insert readings; each start is an aware local time, stored as UTC plus its offset."""
    rows = [
        {
            "meter_id": meter,
            "commodity": commodity,
            "start_at": start.astimezone(UTC),
            "utc_offset_min": offset_min(start),
            "duration_s": duration,
            "quantity": quantity,
            "unit": unit,
            "cost": None if cost is None else Decimal(cost),
            "currency": currency,
        }
        for meter, commodity, start, duration, quantity, unit, cost, currency in readings
    ]
    schema = {
        "meter_id": pl.String,
        "commodity": pl.String,
        "start_at": pl.Datetime("us", "UTC"),
        "utc_offset_min": pl.Int16,
        "duration_s": pl.Int32,
        "quantity": pl.Float64,
        "unit": pl.String,
        "cost": pl.Decimal(18, 4),
        "currency": pl.String,
    }
    con.register("staged", pl.DataFrame(rows, schema=schema))
    con.execute("INSERT INTO energy_readings BY NAME SELECT 1 AS import_id, * FROM staged")
    con.unregister("staged")


def offset_min(moment: datetime) -> int:
    offset = moment.utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) // 60


def local_hours(zone: ZoneInfo, first: datetime, stop: datetime) -> Iterator[datetime]:
    """Every hour from local `first` to local `stop` (naive), as aware local times."""
    moment = first.replace(tzinfo=zone).astimezone(UTC)
    end = stop.replace(tzinfo=zone).astimezone(UTC)
    while moment < end:
        yield moment.astimezone(zone)
        moment += timedelta(hours=1)


def seconds_between(zone: ZoneInfo, first: date, stop: date) -> int:
    """Real seconds from local midnight of `first` to local midnight of `stop`."""

    def utc(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)

    return int((utc(stop) - utc(first)).total_seconds())


def electricity_kwh(moment: datetime) -> float:
    weekend = moment.isoweekday() >= 6
    return (
        0.25
        + (1.0 if moment.hour in (18, 19, 20) else 0.0)
        + (0.5 if weekend and 10 <= moment.hour <= 13 else 0.0)
    )


def hourly_electricity() -> list[Reading]:
    readings: list[Reading] = []
    for moment in local_hours(BERLIN, datetime(2025, 3, 24), datetime(2025, 4, 7)):
        kwh = electricity_kwh(moment)
        cost = str(Decimal(str(kwh)) * Decimal("0.20"))
        readings.append(("E1", "electricity", moment, HOUR, kwh, "kWh", cost, "EUR"))
    return readings


def march_bill() -> Reading:
    seconds = seconds_between(BERLIN, date(2025, 3, 1), date(2025, 4, 1))
    start = datetime(2025, 3, 1, tzinfo=BERLIN)
    return ("E1", "electricity", start, seconds, 310.0, "kWh", "93", "EUR")


def gas_bills() -> list[Reading]:
    readings: list[Reading] = []
    ends = [start for start, _, _ in GAS_BILLS[1:]] + [GAS_END]
    for (start, per_day, price), end in zip(GAS_BILLS, ends, strict=True):
        days = (end - start).days
        therms = per_day * days
        cost = str(therms * Decimal(price))
        moment = datetime(start.year, start.month, start.day, tzinfo=NEW_YORK)
        seconds = seconds_between(NEW_YORK, start, end)
        readings.append(("G1", "gas", moment, seconds, float(therms), "therm", cost, "USD"))
    return readings


def gas_per_month() -> dict[date, int]:
    """Therms per month, day by day: each local day of a bill gets its daily rate."""
    months: dict[date, int] = defaultdict(int)
    ends = [start for start, _, _ in GAS_BILLS[1:]] + [GAS_END]
    for (start, per_day, _), end in zip(GAS_BILLS, ends, strict=True):
        day = start
        while day < end:
            months[day.replace(day=1)] += per_day
            day += timedelta(days=1)
    return dict(months)


def column(frame: pl.DataFrame, key: str, value: str) -> dict[object, object]:
    return dict(zip(frame[key].to_list(), frame[value].to_list(), strict=True))


# daily()


def test_daily_totals_an_hourly_feed_per_local_day_through_spring_forward(home):
    days = energy.daily(home, commodity="electricity")
    weekdays = [date(2025, 3, d) for d in (24, 25, 26, 27, 28, 31)]
    weekdays += [date(2025, 4, d) for d in (1, 2, 3, 4)]
    expected = {day: 9.0 for day in weekdays}
    expected |= {date(2025, 3, 29): 11.0, date(2025, 3, 30): 10.75}
    expected |= {date(2025, 4, 5): 11.0, date(2025, 4, 6): 11.0}
    assert column(days, "local_day", "quantity") == dict(sorted(expected.items()))
    sunday = days.filter(pl.col("local_day") == date(2025, 3, 30)).row(0, named=True)
    # The March bill is longer than a day: it is left out, and the row says
    # which readings it rests on.
    assert sunday == {
        "local_day": date(2025, 3, 30),
        "commodity": "electricity",
        "unit": "kWh",
        "quantity": 10.75,
        "cost": Decimal("2.1500"),
        "currency": "EUR",
        "coverage_h": 23.0,
        "partial": False,
        "intervals_s": [HOUR],
    }
    assert days["coverage_h"].to_list().count(24.0) == 13
    assert not days["partial"].any()
    assert column(days, "local_day", "cost")[date(2025, 4, 5)] == Decimal("2.2000")


def test_daily_filters_by_day_commodity_and_meter(home):
    days = energy.daily(home, start="2025-03-29", end=date(2025, 3, 31))
    assert days.select("local_day", "commodity", "quantity").rows() == [
        (date(2025, 3, 29), "electricity", 11.0),
        (date(2025, 3, 30), "electricity", 10.75),
        (date(2025, 3, 31), "electricity", 9.0),
    ]
    # Gas comes only in monthly bills: nothing short enough for a day.
    assert energy.daily(home, commodity="gas").height == 0
    assert energy.daily(home, meter="G1").height == 0
    assert energy.daily(home, meter="E1").height == 14


def test_daily_readings_fill_their_day_on_both_clock_changes(con):
    def day(y: int, m: int, d: int, hours: int, kwh: float) -> Reading:
        start = datetime(y, m, d, tzinfo=BERLIN)
        return ("D1", "electricity", start, hours * HOUR, kwh, "kWh", None, None)

    add(
        con,
        [
            day(2025, 3, 29, 24, 10.0),
            day(2025, 3, 30, 23, 23.0),  # clocks go forward: a 23-hour day
            day(2025, 3, 31, 24, 12.0),
            day(2025, 10, 25, 24, 10.0),
            day(2025, 10, 26, 25, 25.0),  # clocks go back: 25 hours, none spilling over
            day(2025, 10, 27, 24, 12.0),
        ],
    )
    days = energy.daily(con)
    assert days.select("local_day", "quantity", "coverage_h", "partial").rows() == [
        (date(2025, 3, 29), 10.0, 24.0, False),
        (date(2025, 3, 30), 23.0, 23.0, False),
        (date(2025, 3, 31), 12.0, 24.0, False),
        (date(2025, 10, 25), 10.0, 24.0, False),
        (date(2025, 10, 26), 25.0, 25.0, False),
        (date(2025, 10, 27), 12.0, 24.0, False),
    ]
    assert days["cost"].to_list() == [None] * 6
    assert days["intervals_s"].to_list()[4] == [25 * HOUR]


def test_a_daily_reading_from_six_to_six_is_shared_between_two_days(con):
    start = datetime(2025, 1, 6, 6, tzinfo=BERLIN)
    add(con, [("D1", "electricity", start, 24 * HOUR, 12.0, "kWh", "6", "EUR")])
    days = energy.daily(con)
    assert days.select("local_day", "quantity", "cost", "coverage_h", "partial").rows() == [
        (date(2025, 1, 6), 9.0, Decimal("4.5000"), 18.0, True),
        (date(2025, 1, 7), 3.0, Decimal("1.5000"), 6.0, True),
    ]


def test_hourly_readings_over_the_autumn_clock_change_all_count(con):
    readings: list[Reading] = []
    for moment in local_hours(BERLIN, datetime(2025, 10, 26), datetime(2025, 10, 27)):
        kwh = 1.0 if moment.hour != 2 else (2.0 if offset_min(moment) == 120 else 4.0)
        readings.append(("E1", "electricity", moment, HOUR, kwh, "kWh", None, None))
    add(con, readings)
    assert len(readings) == 25
    day = energy.daily(con).row(0, named=True)
    assert (day["quantity"], day["coverage_h"], day["partial"]) == (29.0, 25.0, False)
    # Sunday: both 02:00 hours fall in hour 2, which averages them.
    profile = energy.hourly_profile(con)
    assert column(profile, "hour", "per_hour") == {h: 3.0 if h == 2 else 1.0 for h in range(24)}
    assert set(profile["day_type"]) == {"weekend"}
    low = energy.baseload(con, quantile=0).row(0, named=True)
    assert (low["hours"], low["per_hour"], low["watts"]) == (24, 1.0, 1000.0)


def test_partial_days_and_a_finer_feed_winning_over_a_coarser_one(con):
    readings: list[Reading] = []
    quarter = timedelta(minutes=15)
    moment = datetime(2025, 1, 6, tzinfo=BERLIN)
    while moment < datetime(2025, 1, 8, tzinfo=BERLIN):
        missing = moment == datetime(2025, 1, 6, 3, tzinfo=BERLIN)
        first_half = moment.date() == date(2025, 1, 7) and moment.hour < 12
        if not missing and not first_half:
            readings.append(("E1", "electricity", moment, 900, 0.25, "kWh", None, None))
        moment += quarter
    # The same meter read hourly too, disagreeing: where both exist the
    # 15-minute readings win, so these never count on 6 January.
    for hourly in local_hours(BERLIN, datetime(2025, 1, 6), datetime(2025, 1, 7)):
        readings.append(("E1", "electricity", hourly, HOUR, 2.0, "kWh", None, None))
    add(con, readings)

    days = energy.daily(con)
    assert days.select("local_day", "quantity", "coverage_h", "partial", "intervals_s").rows() == [
        (date(2025, 1, 6), 23.75, 23.75, True, [900]),
        (date(2025, 1, 7), 12.0, 12.0, True, [900]),
    ]
    # A missing quarter does not pull its hour's average down.
    profile = energy.hourly_profile(con)
    assert set(profile["per_hour"]) == {1.0}
    assert column(profile, "hour", "days") == {h: 1 if h < 12 else 2 for h in range(24)}
    # 6 January has 23 complete hours; 7 January's 12 are too few.
    loads = energy.baseload(con)
    assert loads.select("local_day", "hours", "per_hour", "watts").rows() == [
        (date(2025, 1, 6), 23, 1.0, 1000.0)
    ]
    assert energy.baseload(con, min_hours=12).height == 2
    # No complete day: nothing to average.
    assert energy.weekday_weekend(con).height == 0


def test_meters_add_up_but_currencies_and_units_never_do(con):
    start = datetime(2025, 1, 6, tzinfo=BERLIN)
    add(
        con,
        [
            ("M1", "electricity", start, 24 * HOUR, 10.0, "kWh", "3", "EUR"),
            ("M2", "electricity", start, 24 * HOUR, 5.0, "kWh", "1.5", "GBP"),
            ("G1", "gas", start, 24 * HOUR, 2.0, "therm", "2.4", "EUR"),
            ("G2", "gas", start, 24 * HOUR, 30.0, "kWh", "3", "EUR"),
        ],
    )
    days = energy.daily(con)
    assert days.select("commodity", "unit", "quantity", "cost", "currency").rows() == [
        ("electricity", "kWh", 15.0, None, None),
        ("gas", "kWh", 30.0, Decimal("3.0000"), "EUR"),
        ("gas", "therm", 2.0, Decimal("2.4000"), "EUR"),
    ]
    prices = energy.cost_per_unit(con, commodity="electricity")
    assert prices.select("currency", "quantity", "cost", "cost_per_unit").rows() == [
        ("EUR", 10.0, Decimal("3.0000"), 0.3),
        ("GBP", 5.0, Decimal("1.5000"), 0.3),
    ]
    # Two meters read at once cover the day once.
    assert days["coverage_h"].to_list() == [24.0, 24.0, 24.0]
    one = energy.daily(con, meter="M2").row(0, named=True)
    assert (one["quantity"], one["cost"], one["currency"]) == (5.0, Decimal("1.5000"), "GBP")


def test_a_meter_replaced_at_noon_still_covers_the_day(con):
    morning = datetime(2025, 1, 6, tzinfo=BERLIN)
    noon = datetime(2025, 1, 6, 12, tzinfo=BERLIN)
    add(
        con,
        [
            ("OLD", "electricity", morning, 12 * HOUR, 4.0, "kWh", None, None),
            ("NEW", "electricity", noon, 12 * HOUR, 6.0, "kWh", None, None),
        ],
    )
    days = energy.daily(con)
    assert days.select("quantity", "coverage_h", "partial").rows() == [(10.0, 24.0, False)]


# hourly_profile(), baseload(), weekday_weekend()


def test_hourly_profile_splits_weekdays_and_weekends(home):
    profile = energy.hourly_profile(home)
    # Only the hourly feed: the bills are too long to say anything about hours.
    assert set(profile["commodity"]) == {"electricity"}
    assert set(profile["intervals_s"].list.first()) == {HOUR}
    weekday = profile.filter(pl.col("day_type") == "weekday")
    weekend = profile.filter(pl.col("day_type") == "weekend")
    assert column(weekday, "hour", "per_hour") == {
        h: 1.25 if h in (18, 19, 20) else 0.25 for h in range(24)
    }
    assert column(weekend, "hour", "per_hour") == {
        h: 1.25 if h in (18, 19, 20) else 0.75 if 10 <= h <= 13 else 0.25 for h in range(24)
    }
    assert set(weekday["days"]) == {10}
    # Four weekend days, but 02:00 never happened on 30 March.
    assert column(weekend, "hour", "days") == {h: 3 if h == 2 else 4 for h in range(24)}


def test_baseload_is_the_always_on_250_watts(home):
    loads = energy.baseload(home)
    assert loads.height == 14
    assert set(loads["commodity"]) == {"electricity"}
    assert set(loads["per_hour"]) == {0.25}
    assert set(loads["watts"]) == {250.0}
    assert set(loads["per_year"]) == {0.25 * 8760}
    assert column(loads, "local_day", "hours")[date(2025, 3, 30)] == 23
    # The 90th percentile reaches into the evening peak: 21 hours at 0.25,
    # 3 at 1.25, so position 0.9 * 23 = 20.7 lies 70 % of the way up.
    high = energy.baseload(home, quantile=0.9, start="2025-03-24", end="2025-03-24")
    assert high["per_hour"].to_list() == pytest.approx([0.25 + 0.7 * 1.0])


def test_baseload_refuses_a_quantile_outside_zero_to_one(home):
    with pytest.raises(ValueError, match="quantile must be between 0 and 1"):
        energy.baseload(home, quantile=10)


def test_weekday_weekend_averages_complete_days(home):
    split = energy.weekday_weekend(home)
    assert split.rows() == [
        ("electricity", "kWh", "weekday", 10, 9.0, [HOUR]),
        # (11 + 10.75 + 11 + 11) / 4
        ("electricity", "kWh", "weekend", 4, 10.9375, [HOUR]),
    ]
    assert split.columns == ["commodity", "unit", "day_type", "days", "per_day", "intervals_s"]


# monthly(), cost_per_unit()


def test_monthly_prorates_gas_bills_by_their_days_in_each_month(home):
    gas = energy.monthly(home, commodity="gas")
    assert column(gas, "month", "quantity") == {
        month: float(therms) for month, therms in sorted(gas_per_month().items())
    }
    by_month = {row["month"]: row for row in gas.iter_rows(named=True)}
    # Bills of 5, 3 and 2 therms a day: January 2024 has 14 days of the
    # first, 17 of the second; February 13 of the second and 16 of the third.
    assert by_month[date(2024, 1, 1)]["quantity"] == 14 * 5 + 17 * 3 == 121
    assert by_month[date(2024, 2, 1)]["quantity"] == 13 * 3 + 16 * 2 == 71
    assert by_month[date(2024, 1, 1)]["cost"] == Decimal("164.0000")  # 70 * 1.25 + 51 * 1.50
    assert by_month[date(2024, 1, 1)]["currency"] == "USD"
    assert by_month[date(2024, 1, 1)]["intervals_s"] == [30 * 86400]
    # A month with a clock change: 743 hours, all covered.
    march = by_month[date(2024, 3, 1)]
    assert (march["quantity"], march["partial"]) == (62.0, False)
    assert march["coverage_h"] == pytest.approx(743, abs=1)
    # The first and last months are only half billed.
    assert [m for m, row in by_month.items() if row["partial"]] == [
        date(2023, 12, 1),
        date(2025, 4, 1),
    ]
    assert by_month[date(2023, 12, 1)]["coverage_h"] == 16 * 24


def test_monthly_changes_compare_complete_months(home):
    gas = {row["month"]: row for row in energy.monthly(home, commodity="gas").iter_rows(named=True)}
    january = gas[date(2024, 1, 1)]
    assert (january["mom_change"], january["yoy_change"]) == (None, None)  # December is partial
    february = gas[date(2024, 2, 1)]
    assert february["mom_change"] == 71 - 121
    assert february["mom_pct"] == 100 * (71 - 121) / 121
    assert february["yoy_change"] is None  # no February 2023
    # 2025: January 14 * 5 + 17 * 4 = 138, February 14 * 4 + 14 * 3 = 98.
    jan25, feb25 = gas[date(2025, 1, 1)], gas[date(2025, 2, 1)]
    assert (jan25["quantity"], jan25["yoy_change"]) == (138.0, 138 - 121)
    assert jan25["yoy_pct"] == 100 * (138 - 121) / 121
    assert (feb25["quantity"], feb25["mom_change"], feb25["yoy_change"]) == (98.0, -40.0, 27.0)
    assert feb25["mom_pct"] == 100 * (98 - 138) / 138
    # April 2025 is partial: no change is claimed for it.
    assert gas[date(2025, 4, 1)]["mom_change"] is None


def test_monthly_range_still_looks_back_for_changes(home):
    window = energy.monthly(home, commodity="gas", start="2025-02-10", end="2025-02-20")
    assert window.select("month", "quantity", "mom_change", "yoy_change").rows() == [
        (date(2025, 2, 1), 98.0, -40.0, 27.0)
    ]


def test_monthly_uses_the_bill_only_where_no_finer_reading_overlaps(home):
    electricity = energy.monthly(home, commodity="electricity")
    # March: the bill's 10 kWh a day for 1-23 March, the hourly feed for
    # 24-31 March (5 weekdays, Saturday, the 23-hour Sunday, Monday).
    hourly_part = 5 * 9 + 11 + 10.75 + 9
    assert electricity.select("month", "quantity", "cost", "partial").rows() == [
        (date(2025, 3, 1), 23 * 10 + hourly_part, Decimal("84.1500"), False),
        (date(2025, 4, 1), 4 * 9 + 2 * 11.0, Decimal("11.6000"), True),
    ]
    bill_s = seconds_between(BERLIN, date(2025, 3, 1), date(2025, 4, 1))
    assert electricity["intervals_s"].to_list() == [[HOUR, bill_s], [HOUR]]
    assert bill_s == 743 * HOUR


def test_cost_per_unit_per_month_and_currency(home):
    prices = energy.cost_per_unit(home)
    gas = prices.filter(pl.col("commodity") == "gas")
    assert set(gas["currency"]) == {"USD"}
    january = gas.filter(pl.col("month") == date(2024, 1, 1)).row(0, named=True)
    assert (january["quantity"], january["cost"]) == (121.0, Decimal("164.0000"))
    assert january["cost_per_unit"] == 164 / 121
    assert gas.filter(pl.col("month") == date(2024, 7, 1))["cost_per_unit"].to_list() == [1.25]
    electricity = prices.filter(pl.col("commodity") == "electricity")
    assert electricity.select("month", "unit", "currency", "cost").rows() == [
        (date(2025, 3, 1), "kWh", "EUR", Decimal("84.1500")),
        (date(2025, 4, 1), "kWh", "EUR", Decimal("11.6000")),
    ]
    # 69 EUR of bill for 230 kWh, 0.20 EUR/kWh for the rest.
    assert electricity["cost_per_unit"].to_list() == pytest.approx(
        [(69 + 0.2 * 75.75) / 305.75, 0.2]
    )


def test_cost_per_unit_ignores_readings_without_cost(con):
    start = datetime(2025, 1, 6, tzinfo=BERLIN)
    add(
        con,
        [
            ("M1", "electricity", start, 24 * HOUR, 10.0, "kWh", "2.5", "EUR"),
            ("M2", "electricity", start, 24 * HOUR, 30.0, "kWh", None, None),
        ],
    )
    assert energy.cost_per_unit(con).select("quantity", "cost", "cost_per_unit").rows() == [
        (10.0, Decimal("2.5000"), 0.25)
    ]
    assert energy.monthly(con)["quantity"].to_list() == [40.0]


def test_export_series_and_register_totals_are_not_use(con):
    start = datetime(2025, 6, 2, tzinfo=BERLIN)
    add(
        con,
        [
            ("M1", "electricity", start, 24 * HOUR, 10.0, "kWh", None, None),
            ("M1#reverse", "electricity", start, 24 * HOUR, 6.0, "kWh", None, None),
            ("M1#cost", "electricity", start, 24 * HOUR, 3.0, "USD", None, None),
            ("M2", "electricity", start, 24 * HOUR, 41_000.0, "kWh", None, None),
        ],
    )
    con.execute("""UPDATE energy_readings SET extra = '{"accumulation": "bulk_quantity"}'
                   WHERE meter_id = 'M2'""")
    assert energy.daily(con).select("unit", "quantity").rows() == [("kWh", 10.0)]
    exported = energy.daily(con, meter="M1#reverse")
    assert exported.select("unit", "quantity").rows() == [("kWh", 6.0)]
