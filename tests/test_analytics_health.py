"""Health analytics on small vaults whose right answers are known by hand."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from selfdata import open_vault
from selfdata.analytics import health

WATCH = "Alex's Apple Watch"
PHONE = "Alex's iPhone"
D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh, empty vault open for writing; tests insert the rows they need."""
    connection = open_vault(tmp_path / "v.duckdb", read_only=False)
    yield connection
    connection.close()


def add_samples(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[str, str, str, float, int | None]],
    metric: str = "steps",
) -> None:
    """Insert (source, start, end, value, utc_offset_min) rows; times are UTC."""
    staged = pl.DataFrame(
        rows,
        schema=["source_name", "start_at", "end_at", "value", "utc_offset_min"],
        orient="row",
    )
    con.register("staged", staged)
    con.execute(
        "INSERT INTO health_samples BY NAME SELECT 1 AS import_id, ? AS metric,"
        " CAST(start_at || '+00' AS TIMESTAMPTZ) AS start_at,"
        " CAST(end_at || '+00' AS TIMESTAMPTZ) AS end_at, utc_offset_min, value, source_name"
        " FROM staged",
        [metric],
    )
    con.unregister("staged")


def add_sleep(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, str]], offset: int = 60
) -> None:
    """Insert (source, stage, start, end) sleep segments; times are UTC."""
    for source, stage, start, end in rows:
        con.execute(
            "INSERT INTO sleep_segments (import_id, start_at, end_at, utc_offset_min, stage,"
            " source_name) VALUES (1, CAST(? || '+00' AS TIMESTAMPTZ),"
            " CAST(? || '+00' AS TIMESTAMPTZ), ?, ?, ?)",
            [start, end, offset, stage, source],
        )


def values(frame: pl.DataFrame, column: str = "value") -> dict[object, object]:
    """{first column: column} for one-metric results."""
    return dict(zip(frame[frame.columns[0]].to_list(), frame[column].to_list(), strict=True))


# daily(): multi-device deduplication


def test_daily_counts_a_walk_seen_by_phone_and_watch_once_as_the_watch_says(con):
    add_samples(
        con,
        [
            (PHONE, "2025-03-01 10:00", "2025-03-01 10:30", 1000, 0),
            (WATCH, "2025-03-01 10:00", "2025-03-01 10:10", 300, 0),
            (WATCH, "2025-03-01 10:10", "2025-03-01 10:20", 400, 0),
            (WATCH, "2025-03-01 10:20", "2025-03-01 10:30", 350, 0),
        ],
    )
    result = health.daily(con, ["steps"])
    assert result.to_dicts() == [
        {"local_day": D1, "metric": "steps", "value": pytest.approx(1050), "sources": [WATCH]}
    ]


def test_daily_keeps_phone_minutes_where_the_watch_was_off(con):
    add_samples(
        con,
        [
            (PHONE, "2025-03-01 10:00", "2025-03-01 10:10", 500, 0),
            (WATCH, "2025-03-01 10:00", "2025-03-01 10:05", 260, 0),
        ],
    )
    # Minutes 10:00-10:04 are the watch's; the phone's 10:05-10:09 half stays.
    result = health.daily(con, ["steps"])
    assert result["value"].to_list() == [pytest.approx(260 + 250)]
    assert result["sources"].to_list() == [[WATCH, PHONE]]


def test_daily_equals_the_plain_sum_when_nothing_overlaps(con):
    rng = random.Random(7)
    rows: list[tuple[str, str, str, float, int | None]] = []
    at = datetime(2025, 3, 1, 6, 0)
    for i in range(300):
        length = timedelta(seconds=rng.choice([0, 17, 60, 95, 300, 601]))
        source = WATCH if i % 3 else PHONE
        end = at + length
        rows.append((source, str(at), str(end), rng.randint(1, 900), 60))
        at = end + timedelta(seconds=rng.choice([0, 1, 45, 3600]))
    for metric in ("steps", "active_energy"):
        add_samples(con, rows, metric)
    plain = con.execute(
        "SELECT CAST(start_at AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0))"
        " AS DATE) AS local_day, sum(value) FROM health_samples WHERE metric = 'steps'"
        " GROUP BY local_day ORDER BY local_day"
    ).fetchall()
    result = health.daily(con)
    # Samples never cross local midnight here, so per-day sums must agree.
    for metric in ("steps", "active_energy"):
        mine = result.filter(pl.col("metric") == metric)
        assert mine["local_day"].to_list() == [day for day, _ in plain]
        assert mine["value"].to_list() == pytest.approx([total for _, total in plain])


def test_daily_instants_count_once_and_only_inside_a_better_sources_interval(con):
    add_samples(
        con,
        [
            (WATCH, "2025-03-01 10:00", "2025-03-01 10:01", 100, 0),
            (PHONE, "2025-03-01 10:00:30", "2025-03-01 10:00:30", 7, 0),  # inside: dropped
            (PHONE, "2025-03-01 10:01", "2025-03-01 10:01", 9, 0),  # at the end: kept
            (WATCH, "2025-03-01 11:00", "2025-03-01 11:00", 5, 0),
            (PHONE, "2025-03-01 11:00", "2025-03-01 11:00", 5, 0),  # the same instant
        ],
    )
    assert health.daily(con, "steps")["value"].to_list() == [pytest.approx(100 + 9 + 5)]


def test_daily_splits_a_sample_spanning_midnight_by_minutes(con):
    add_samples(
        con,
        [
            (WATCH, "2025-03-01 23:50", "2025-03-02 00:10", 600, 0),
            # 30 s each side of midnight: half and half.
            (WATCH, "2025-03-02 23:59:30", "2025-03-03 00:00:30", 80, None),
        ],
    )
    assert values(health.daily(con, ["steps"])) == {
        D1: pytest.approx(300),
        D2: pytest.approx(300 + 40),
        date(2025, 3, 3): pytest.approx(40),
    }


def test_daily_uses_the_local_offset_to_choose_the_day(con):
    # 15:00 UTC is 01:00 the next day for someone in UTC+10, and stays on the
    # UTC day where the source gave no offset.
    add_samples(
        con,
        [
            (WATCH, "2025-03-01 15:00", "2025-03-01 15:10", 700, 600),
            (PHONE, "2025-03-05 15:00", "2025-03-05 15:10", 90, None),
        ],
    )
    assert values(health.daily(con, ["steps"])) == {
        D2: pytest.approx(700),
        date(2025, 3, 5): pytest.approx(90),
    }


def test_prefer_changes_which_source_wins(con):
    add_samples(
        con,
        [
            (PHONE, "2025-03-01 10:00", "2025-03-01 10:30", 1000, 0),
            (WATCH, "2025-03-01 10:00", "2025-03-01 10:30", 1050, 0),
        ],
    )
    assert health.daily(con, ["steps"], prefer=["iphone"])["value"].to_list() == [
        pytest.approx(1000)
    ]
    # No pattern matches: the alphabetically first source name wins the tie.
    assert health.daily(con, ["steps"], prefer=[])["sources"].to_list() == [[WATCH]]


def test_daily_start_and_end_are_inclusive_local_days(con):
    add_samples(
        con,
        [
            (WATCH, f"2025-03-{day:02} 12:00", f"2025-03-{day:02} 12:01", day, 0)
            for day in range(1, 8)
        ],
    )
    result = health.daily(con, ["steps"], start="2025-03-03", end=date(2025, 3, 5))
    assert result["value"].to_list() == [3, 4, 5]


# sleep


NIGHT = [
    # The phone knows when Alex went to bed, and guesses sleep too.
    (PHONE, "in_bed", "2025-03-01 22:30", "2025-03-02 06:45"),
    (PHONE, "asleep", "2025-03-01 23:10", "2025-03-02 06:30"),
    # The watch records stages, one "asleep" overlapping a core stretch.
    (WATCH, "core", "2025-03-01 23:00", "2025-03-02 01:00"),
    (WATCH, "deep", "2025-03-02 01:00", "2025-03-02 02:00"),
    (WATCH, "awake", "2025-03-02 02:00", "2025-03-02 02:15"),
    (WATCH, "rem", "2025-03-02 02:15", "2025-03-02 03:00"),
    (WATCH, "core", "2025-03-02 03:00", "2025-03-02 06:00"),
    (WATCH, "asleep", "2025-03-02 05:30", "2025-03-02 06:15"),
]


def test_a_night_across_midnight_from_two_sources(con):
    add_sleep(con, NIGHT)
    nights = health.sleep_nights(con)
    assert nights.to_dicts() == [
        {
            "night": D2,
            "bedtime": datetime(2025, 3, 1, 23, 30),
            "wake_time": datetime(2025, 3, 2, 7, 45),
            "in_bed_min": pytest.approx(495),
            # Watch stages only, the overlap counted once: 120+60+45+180+15.
            "asleep_min": pytest.approx(420),
            "awake_min": pytest.approx(15),
            "core_min": pytest.approx(300),
            "deep_min": pytest.approx(60),
            "rem_min": pytest.approx(45),
            "efficiency": pytest.approx(420 / 495),
            "sources": [WATCH, PHONE],
        }
    ]


def test_sleep_without_in_bed_spans_first_to_last_segment_and_naps_are_left_out(con):
    add_sleep(
        con,
        [
            (WATCH, "core", "2025-03-01 23:00", "2025-03-02 03:00"),
            (WATCH, "awake", "2025-03-02 03:00", "2025-03-02 04:00"),
            (WATCH, "deep", "2025-03-02 04:00", "2025-03-02 06:00"),
            (WATCH, "awake", "2025-03-02 06:00", "2025-03-02 06:20"),
            # An afternoon nap, more than three hours later: a session of its own.
            (WATCH, "asleep", "2025-03-02 14:00", "2025-03-02 14:40"),
        ],
        offset=0,
    )
    nights = health.sleep_nights(con)
    assert nights.select("night", "in_bed_min", "asleep_min", "awake_min").to_dicts() == [
        {"night": D2, "in_bed_min": 440, "asleep_min": 360, "awake_min": 80}
    ]
    assert nights["efficiency"].to_list() == [pytest.approx(360 / 440)]
    # Allow a 12-hour gap and the nap joins the night's session.
    assert health.sleep_nights(con, gap_hours=12)["asleep_min"].to_list() == [400]


def test_asleep_before_going_to_bed_stretches_the_in_bed_span(con):
    add_sleep(
        con,
        [
            (PHONE, "in_bed", "2025-03-01 23:00", "2025-03-02 07:00"),
            (WATCH, "core", "2025-03-01 22:00", "2025-03-02 06:00"),
        ],
        offset=0,
    )
    night = health.sleep_nights(con).row(0, named=True)
    assert night["bedtime"] == datetime(2025, 3, 1, 22, 0)
    assert night["in_bed_min"] == 540
    assert night["efficiency"] == pytest.approx(480 / 540)


def test_in_bed_only_nights_have_no_stage_minutes(con):
    add_sleep(con, [(PHONE, "in_bed", "2025-03-01 23:00", "2025-03-02 07:00")], offset=0)
    night = health.sleep_nights(con).row(0, named=True)
    assert (night["in_bed_min"], night["asleep_min"], night["efficiency"]) == (480, None, None)


def test_sleep_regularity_is_the_spread_of_bed_and_wake_times(con):
    bedtimes = ["23:00", "23:30", "00:00", "23:30", "23:00"]
    rows = []
    for i, bed in enumerate(bedtimes):
        night = D1 + timedelta(days=i + 1)
        bed_day = night if bed.startswith("00") else night - timedelta(days=1)
        rows.append((WATCH, "core", f"{bed_day} {bed}", f"{night} 07:00"))
    add_sleep(con, rows, offset=0)
    result = health.sleep_regularity(con)
    assert result["bedtime_min"].to_list() == [-60, -30, 0, -30, -60]
    spreads = [statistics.stdev([-60, -30, 0, -30, -60][:n]) for n in range(2, 6)]
    # One night has no spread; then each night adds one bedtime to the window.
    assert result["bedtime_sd_7"].to_list() == [None, *map(pytest.approx, spreads)]
    assert result["wake_sd_28"].to_list()[1:] == [0, 0, 0, 0]
    # The window still looks back before `start`.
    later = health.sleep_regularity(con, start=D1 + timedelta(days=5))
    assert later["bedtime_sd_7"].to_list() == pytest.approx(
        [statistics.stdev([-60, -30, 0, -30, -60])]
    )


# heart, body, workouts


def test_resting_heart_rate_baseline_is_the_median_of_the_previous_days(con):
    daily_values = [60, 62, 58, 61, 70, 59]
    rows = [
        (WATCH, f"2025-03-{day:02} 0{hour}:00", f"2025-03-{day:02} 0{hour}:00", value + delta, 0)
        for day, value in enumerate(daily_values, start=1)
        for hour, delta in ((6, -1), (8, 1))  # two samples a day, mean = value
    ]
    add_samples(con, rows, "resting_heart_rate")
    result = health.resting_heart_rate(con, window=3)
    assert result["value"].to_list() == pytest.approx(daily_values)
    # Three days of history are needed; day 4's baseline is median(60, 62, 58).
    assert result["baseline"].to_list()[:3] == [None, None, None]
    assert result["baseline"].to_list()[3:] == [60, 61, 61]
    assert result["deviation"].to_list()[3:] == [1, 9, -2]
    assert health.resting_heart_rate(con, window=3, start="2025-03-05")["baseline"].to_list() == [
        61,
        61,
    ]


def test_hrv_reads_hrv_sdnn(con):
    add_samples(con, [(WATCH, "2025-03-01 06:00", "2025-03-01 06:00", 48.5, 0)], "hrv_sdnn")
    assert health.hrv(con).select("local_day", "value").to_dicts() == [
        {"local_day": D1, "value": 48.5}
    ]


def test_body_mass_trend_is_the_rolling_mean_of_daily_means(con):
    rows = [
        (None, "2025-03-01 07:00", "2025-03-01 07:00", 80.0, 60),
        (None, "2025-03-01 20:00", "2025-03-01 20:00", 81.0, 60),
        (None, "2025-03-02 07:00", "2025-03-02 07:00", 80.1, 60),
        (None, "2025-03-04 07:00", "2025-03-04 07:00", 79.7, 60),
    ]
    add_samples(con, rows, "body_mass")
    result = health.body_mass(con, window=3)
    assert result["kg"].to_list() == pytest.approx([80.5, 80.1, 79.7])
    assert result["trend"].to_list() == pytest.approx([80.5, 80.3, (80.1 + 79.7) / 2])


def test_workouts_by_week_and_month_count_a_run_recorded_twice_once(con):
    workouts = [
        # (id, sport, start UTC, minutes, distance m, kcal, source)
        ("a", "running", "2025-03-02 08:00", 30, 5000, 300, WATCH),  # Sunday: week of 24 Feb
        ("b", "running", "2025-03-03 08:00", 60, 10000, 600, WATCH),
        ("b2", "running", "2025-03-03 08:01", 58, 10100, None, "Strava"),  # the same run
        ("c", "cycling", "2025-03-05 17:00", 90, 30000, None, "Strava"),
    ]
    for workout_id, sport, start, minutes, metres, kcal, source in workouts:
        con.execute(
            "INSERT INTO workouts (import_id, workout_id, sport, start_at, end_at,"
            " utc_offset_min, duration_s, distance_m, energy_kcal, source_name)"
            " VALUES (1, ?, ?, CAST(? || '+00' AS TIMESTAMPTZ),"
            " CAST(? || '+00' AS TIMESTAMPTZ) + to_minutes(?), 0, ?, ?, ?, ?)",
            [workout_id, sport, start, start, minutes, minutes * 60, metres, kcal, source],
        )
    weeks = health.workouts_summary(con, by="week")
    assert weeks.to_dicts() == [
        {
            "period": date(2025, 2, 24),
            "sport": "running",
            "workouts": 1,
            "duration_h": 0.5,
            "distance_km": 5.0,
            "energy_kcal": 300.0,
        },
        {
            "period": date(2025, 3, 3),
            "sport": "cycling",
            "workouts": 1,
            "duration_h": 1.5,
            "distance_km": 30.0,
            "energy_kcal": None,
        },
        {
            "period": date(2025, 3, 3),
            "sport": "running",
            "workouts": 1,
            "duration_h": 1.0,
            "distance_km": 10.0,
            "energy_kcal": 600.0,
        },
    ]
    months = health.workouts_summary(con, by="month", prefer=["strava"])
    assert months.select("period", "sport", "workouts", "distance_km").rows() == [
        (date(2025, 3, 1), "cycling", 1, 30.0),
        (date(2025, 3, 1), "running", 2, 15.1),
    ]
    with pytest.raises(ValueError, match="'week' or 'month'"):
        health.workouts_summary(con, by="year")  # type: ignore[arg-type]


# coverage, the vault argument, empty vaults, speed


def test_coverage_finds_the_gaps(con):
    days = [1, 2, 5, 6, 10]
    add_samples(
        con, [(WATCH, f"2025-03-{d:02} 12:00", f"2025-03-{d:02} 12:01", 1, 0) for d in days]
    )
    add_samples(con, [(PHONE, "2025-03-03 12:00", "2025-03-03 12:01", 1, 0)])
    add_sleep(con, [(WATCH, "core", "2025-03-01 23:00", "2025-03-02 06:00")], offset=0)
    result = health.coverage(con)
    assert result.rows() == [
        ("health_samples", "steps", WATCH, D1, date(2025, 3, 10), 5, 5, 3),
        ("health_samples", "steps", PHONE, date(2025, 3, 3), date(2025, 3, 3), 1, 0, 0),
        ("sleep_segments", None, WATCH, D1, D1, 1, 0, 0),
    ]
    assert result.columns == [
        "table",
        "metric",
        "source",
        "first_day",
        "last_day",
        "days_with_data",
        "days_missing",
        "longest_gap_days",
    ]
    within = health.coverage(con, start="2025-03-02", end="2025-03-06")
    assert within.row(0) == ("health_samples", "steps", WATCH, D2, date(2025, 3, 6), 3, 2, 2)


def test_functions_accept_a_path_or_the_default_vault(con, tmp_path, vault):
    add_samples(con, [(WATCH, "2025-03-01 12:00", "2025-03-01 12:01", 5, 0)])
    con.close()
    assert health.daily(tmp_path / "v.duckdb", ["steps"])["value"].to_list() == [5]
    assert health.daily(str(tmp_path / "v.duckdb"), ["steps"])["value"].to_list() == [5]
    open_vault(vault, read_only=False).close()  # the `vault` fixture's SELFDATA_HOME
    assert health.daily(None).is_empty()


def test_every_function_returns_its_columns_on_an_empty_vault(con):
    expected = {
        health.daily: ["local_day", "metric", "value", "sources"],
        health.sleep_nights: [
            "night",
            "bedtime",
            "wake_time",
            "in_bed_min",
            "asleep_min",
            "awake_min",
            "core_min",
            "deep_min",
            "rem_min",
            "efficiency",
            "sources",
        ],
        health.sleep_regularity: [
            "night",
            "bedtime_min",
            "wake_min",
            "bedtime_sd_7",
            "wake_sd_7",
            "bedtime_sd_28",
            "wake_sd_28",
        ],
        health.resting_heart_rate: ["local_day", "value", "baseline", "deviation"],
        health.hrv: ["local_day", "value", "baseline", "deviation"],
        health.workouts_summary: [
            "period",
            "sport",
            "workouts",
            "duration_h",
            "distance_km",
            "energy_kcal",
        ],
        health.body_mass: ["local_day", "kg", "trend"],
    }
    for function, columns in expected.items():
        result = function(con, start="2025-01-01", end="2025-12-31")
        assert result.is_empty(), function.__name__
        assert result.columns == columns, function.__name__


def test_windows_must_be_whole_days(con):
    with pytest.raises(ValueError, match="whole number of days"):
        health.body_mass(con, window=0)
    with pytest.raises(ValueError, match="whole number of days"):
        health.hrv(con, window=2.5)  # type: ignore[arg-type]


def test_daily_deduplicates_200k_samples_in_seconds(con):
    # The watch records back-to-back 3-minute samples for 200 days; the phone
    # counts the same steps in 2-minute samples inside them, so the result
    # must be exactly the watch's total.
    n = 100_000
    con.execute(
        f"""
        INSERT INTO health_samples (import_id, metric, start_at, end_at, utc_offset_min, value,
                                    source_name)
        SELECT 1, 'steps', t, t + INTERVAL 3 MINUTE, 60, 30 + i % 50, $watch
        FROM (SELECT TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_minutes(3 * i) AS t, i
              FROM range({n}) AS r(i))
        UNION ALL
        SELECT 1, 'steps', t + INTERVAL 30 SECOND, t + INTERVAL 150 SECOND, 60, 40, $phone
        FROM (SELECT TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_minutes(3 * i) AS t, i
              FROM range({n}) AS r(i))
        """,
        {"watch": WATCH, "phone": PHONE},
    )
    watch_total = sum(30 + i % 50 for i in range(n))
    began = time.perf_counter()
    result = health.daily(con, ["steps"])
    elapsed = time.perf_counter() - began
    assert result["value"].sum() == pytest.approx(watch_total)
    assert len(result) == 209
    assert elapsed < 20, f"daily() took {elapsed:.1f} s on {2 * n} samples"
