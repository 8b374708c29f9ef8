"""The analytics, run on the imported demo year, give the answers the generator knows are true.

The demo's files go through the real importers into a vault (the default
registry, Google's location importer included where it exists), then
`categorize()` and `derive()` run as `selfdata import` runs them; each test
compares one analytic with the `DemoTruth`, which the generator computed from
its own plan and the samples it wrote, never from the analytics.

Where an analytic disagrees for a reason that is the analytic's, the test is
marked `xfail(strict=True)` with the reason: it documents the bug and turns
red once the bug is fixed, so the mark can go.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from selfdata.analytics import energy, health, mobility, spending
from selfdata.analytics.categories import CategorizeResult, categorize
from selfdata.demo import DemoTruth
from selfdata.demo._devices import PHONE
from selfdata.demo._tracks import haversine_m
from selfdata.importers import BUILTIN_IMPORTERS, Registry
from selfdata.ingest import FileResult, import_paths
from tests.test_demo import Demo, default_demo

GOOGLE = "selfdata.importers.google_location"
HAS_GOOGLE = importlib.util.find_spec(GOOGLE) is not None
needs_google = pytest.mark.skipif(
    not HAS_GOOGLE,
    reason="selfdata.importers.google_location is not there yet: no location points to derive",
)


@dataclass(frozen=True)
class Imported:
    vault: Path
    truth: DemoTruth
    results: list[FileResult]
    seconds: float
    categorized: CategorizeResult


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """The default demo imported into a fresh vault, categorised and derived, once."""
    demo: Demo = default_demo()
    vault = tmp_path_factory.mktemp("demo-vault") / "selfdata.duckdb"
    started = time.perf_counter()
    results = import_paths([demo.folder], vault=vault, registry=_registry())
    seconds = time.perf_counter() - started
    categorized = categorize(vault)
    if HAS_GOOGLE:
        mobility.derive(vault)
    return Imported(vault, demo.truth, results, seconds, categorized)


# -- The import ------------------------------------------------------------------


def test_every_file_imports_without_a_reject(imported: Imported) -> None:
    statuses = Counter((r.status, r.importer) for r in imported.results)
    skipped = [r.name for r in imported.results if r.status == "skipped"]
    # Apple's clinical-document twin of export.xml is read by no importer.
    assert skipped == [
        f"{default_demo().folder}/apple_health/export.zip!apple_health_export/export_cda.xml"
    ]
    expected = Counter(
        {
            ("imported", "apple_health"): 1,
            ("imported", "bank_csv"): 1,
            ("imported", "camt"): 13,
            ("imported", "ofx"): 13,
            ("imported", "green_button"): 1,
            ("imported", "gpx"): 38,
            ("imported", "fit"): 14,
            ("skipped", None): 1,
        }
    )
    if HAS_GOOGLE:
        expected[("imported", "google_location")] = 9
    assert statuses == expected
    assert [
        (r.name, r.rejected, r.repairs) for r in imported.results if r.rejected or r.repairs
    ] == []


def test_the_import_takes_well_under_a_minute(imported: Imported) -> None:
    assert imported.seconds < 60


def test_importing_again_adds_nothing(imported: Imported) -> None:
    again = import_paths([default_demo().folder], vault=imported.vault, registry=_registry())
    assert {r.status for r in again} == {"already_imported", "skipped"}


# -- Health ------------------------------------------------------------------------


def test_daily_steps_count_each_minute_once_preferring_the_watch(imported: Imported) -> None:
    got = {
        row["local_day"]: row["value"]
        for row in health.daily(imported.vault, ["steps"]).iter_rows(named=True)
    }
    truth = imported.truth.daily_steps
    assert got.keys() == truth.keys()
    assert got == pytest.approx(truth, abs=1e-6)


def test_days_the_watch_was_forgotten_count_the_phone(imported: Imported) -> None:
    """The Watch stayed on its charger until the evening: the day's walks are the phone's."""
    forgotten = set(imported.truth.watch_forgotten)
    assert forgotten
    frame = health.daily(imported.vault, ["steps"])
    for row in frame.iter_rows(named=True):
        if row["local_day"] in forgotten:
            assert PHONE in row["sources"]
            assert row["value"] > 2000, row


def test_every_night_slept_is_a_night(imported: Imported) -> None:
    frame = health.sleep_nights(imported.vault)
    assert frame["night"].to_list() == [n.night for n in imported.truth.nights]
    assert frame.height == 365


def test_nights_match_asleep_and_in_bed_time(imported: Imported) -> None:
    """Every night with no nap on its day (see the xfail below for those)."""
    rows = {r["night"]: r for r in health.sleep_nights(imported.vault).iter_rows(named=True)}
    naps = set(imported.truth.naps)
    checked = 0
    for night in imported.truth.nights:
        if night.night in naps:
            continue
        row = rows[night.night]
        assert row["in_bed_min"] == pytest.approx(night.in_bed_min, abs=1e-6), night
        if night.asleep_min is None:
            assert row["asleep_min"] is None, night  # the Watch was not worn
        else:
            assert row["asleep_min"] == pytest.approx(night.asleep_min, abs=1e-6), night
            assert row["deep_min"] == pytest.approx(night.deep_min, abs=1e-6), night
            assert row["rem_min"] == pytest.approx(night.rem_min, abs=1e-6), night
        checked += 1
    assert checked > 300


def test_the_average_night(imported: Imported) -> None:
    """Over the nights with no nap on their day (see the xfail below for the others)."""
    naps = set(imported.truth.naps)
    frame = health.sleep_nights(imported.vault).filter(~pl.col("night").is_in(list(naps)))
    nights = [n for n in imported.truth.nights if n.night not in naps]
    assert frame["in_bed_min"].mean() == pytest.approx(
        statistics.fmean(n.in_bed_min for n in nights), abs=1e-6
    )
    staged = [n.asleep_min for n in nights if n.asleep_min is not None]
    assert frame["asleep_min"].drop_nulls().mean() == pytest.approx(statistics.fmean(staged))
    assert frame["asleep_min"].null_count() == len(nights) - len(staged)


def test_a_nap_never_replaces_a_night(imported: Imported) -> None:
    frame = health.sleep_nights(imported.vault)
    rows = {r["night"]: r for r in frame.iter_rows(named=True)}
    for night in imported.truth.nights:
        assert rows[night.night]["in_bed_min"] == pytest.approx(night.in_bed_min, abs=1e-6)
    assert frame["asleep_min"].drop_nulls().mean() == pytest.approx(
        imported.truth.average_asleep_min
    )


def test_holiday_nights_are_on_barcelonas_clock(imported: Imported) -> None:
    """Bed after midnight and up at half past eight, Madrid time: an hour later than London's."""
    (start,) = imported.truth.holidays
    frame = health.sleep_nights(imported.vault, start=start + timedelta(days=1))
    for row in frame.head(6).iter_rows(named=True):
        bedtime = row["bedtime"].hour + row["bedtime"].minute / 60
        assert bedtime < 1 or bedtime > 23.5, row
        assert 7.5 < row["wake_time"].hour + row["wake_time"].minute / 60 < 9.5, row


def test_the_meter_is_quiet_while_alex_is_away(imported: Imported) -> None:
    (start,) = imported.truth.holidays
    frame = energy.daily(imported.vault, commodity="electricity")
    away = frame.filter(pl.col("local_day").is_between(start + timedelta(1), start + timedelta(5)))
    home = frame.filter(~pl.col("local_day").is_between(start, start + timedelta(6)))
    base, fridge = imported.truth.baseload_w
    assert away["quantity"].max() <= 24 * (base + fridge) / 1000
    assert home["quantity"].median() > 1.5 * away["quantity"].max()


def test_weekends_use_more_electricity_than_weekdays(imported: Imported) -> None:
    frame = energy.weekday_weekend(imported.vault, commodity="electricity")
    per_day = dict(zip(frame["day_type"].to_list(), frame["per_day"].to_list(), strict=True))
    assert per_day["weekend"] > per_day["weekday"]


def test_workouts_are_counted_once_however_many_devices_recorded_them(
    imported: Imported,
) -> None:
    frame = health.workouts_summary(imported.vault, by="month")
    got = {(r["period"], r["sport"]): r["workouts"] for r in frame.iter_rows(named=True)}
    assert got == imported.truth.workout_months
    # Each was written twice: by its device (Watch or Edge) and by Strava.
    assert sum(got.values()) == len(imported.truth.workouts) == 36
    distance = (
        health.workouts_summary(imported.vault, by="month")
        .group_by("sport")
        .agg(pl.col("distance_km").sum())
    )
    km = dict(zip(distance["sport"].to_list(), distance["distance_km"].to_list(), strict=True))
    # The Watch's and the Edge's own distances, from the very points Strava got.
    truth = imported.truth.distance_m_by_sport
    assert km == pytest.approx({sport: m / 1000 for sport, m in truth.items()}, abs=0.01)


# -- Money -------------------------------------------------------------------------


def test_spending_per_category_each_month(imported: Imported) -> None:
    truth = imported.truth.spending
    got: dict[tuple[date, str | None, str], Decimal] = {}
    for month in sorted({m for m, _, _ in truth}):
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        frame = spending.by_category(imported.vault, start=month, end=last)
        for row in frame.iter_rows(named=True):
            got[(month, row["category"], row["currency"])] = row["spending"]
    assert got == truth


def test_transfers_between_own_accounts_are_paired(imported: Imported) -> None:
    assert imported.categorized.transfer_pairs == imported.truth.transfer_pairs == 25
    assert imported.categorized.uncategorised_share["GBP"] == 0.0


def test_recurring_finds_the_subscriptions_and_the_price_rise(imported: Imported) -> None:
    found = {r["merchant"]: r for r in spending.recurring(imported.vault).iter_rows(named=True)}
    for subscription in imported.truth.subscriptions:
        row = found[subscription.merchant]
        assert (row["period"], row["charges"], row["active"]) == (
            subscription.period,
            subscription.charges,
            True,
        ), subscription
        changes = [(c["old_amount"], c["new_amount"]) for c in row["price_changes"]]
        assert changes == list(itertools.pairwise(subscription.amounts)), subscription
    for other in imported.truth.other_regular:  # the cinema: regular, by its documented rhythm
        assert (found[other.merchant]["period"], found[other.merchant]["charges"]) == (
            other.period,
            other.charges,
        )
    netflix = found["Netflix"]["price_changes"]
    assert [(c["old_amount"], c["new_amount"]) for c in netflix] == [
        (Decimal("10.99"), Decimal("12.99"))
    ]


def test_recurring_finds_nothing_but_the_subscriptions(imported: Imported) -> None:
    found = set(spending.recurring(imported.vault)["merchant"].to_list())
    regular = imported.truth.subscriptions + imported.truth.other_regular
    assert found == {s.merchant for s in regular}


# -- Energy --------------------------------------------------------------------------


def test_baseload_is_the_always_on_load(imported: Imported) -> None:
    """Every quiet hour reads the baseload plus 0 to FRIDGE_W of the fridge's cycling, and
    values are whole Wh: so a day's 10th percentile lies in that band, give or take 0.5 W."""
    frame = energy.baseload(imported.vault, commodity="electricity")
    base, fridge = imported.truth.baseload_w
    assert frame.height == 365
    assert frame["watts"].min() >= base - 0.5
    assert frame["watts"].max() <= base + fridge + 0.5


def test_monthly_electricity(imported: Imported) -> None:
    """kWh exactly; cost within 0.00005 a reading: ESPI writes hundred-thousandths of a
    pound and the vault keeps four decimals (see the xfail below)."""
    frame = energy.monthly(imported.vault, commodity="electricity")
    truth = imported.truth.energy_months
    assert frame["month"].to_list() == sorted(truth)
    for row in frame.iter_rows(named=True):
        kwh, cost = truth[row["month"]]
        assert row["quantity"] == pytest.approx(kwh, abs=1e-9)
        assert abs(row["cost"] - cost) <= Decimal("0.00005") * 24 * 31, row["month"]


def test_monthly_electricity_cost_is_exact(imported: Imported) -> None:
    frame = energy.monthly(imported.vault, commodity="electricity")
    for row in frame.iter_rows(named=True):
        assert row["cost"] == imported.truth.energy_months[row["month"]][1]


# -- Mobility ------------------------------------------------------------------------


@needs_google
def test_home_and_work_are_found_within_150_m(imported: Imported) -> None:
    rows = {r["role"]: r for r in mobility.home_work(imported.vault).iter_rows(named=True)}
    for role, place in (("home", imported.truth.home), ("work", imported.truth.work)):
        found = rows[role]
        assert haversine_m(found["lat"], found["lon"], place.lat, place.lon) < 150, found


@needs_google
def test_countries_visited_and_the_days_in_each(imported: Imported) -> None:
    frame = mobility.countries_visited(imported.vault)
    got = dict(zip(frame["country_code"].to_list(), frame["days"].to_list(), strict=True))
    assert got == imported.truth.countries == {"GB": 360, "ES": 7}


# -- helpers -----------------------------------------------------------------------


def _registry() -> Registry:
    """The built-in importers, and Google's location importer where it is not one yet."""
    registry = Registry()
    names = list(BUILTIN_IMPORTERS)
    if GOOGLE not in names and HAS_GOOGLE:
        names.append(GOOGLE)
    for name in names:
        registry.register(importlib.import_module(name), origin="builtin")
    return registry
