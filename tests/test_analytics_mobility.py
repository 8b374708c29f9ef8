"""Mobility analytics on synthetic tracks whose right answers are known by construction.

Each test lays a track with `Track`: stays (with optional GPS jitter) and
straight moves at a constant speed, sampled every few seconds, then runs
`derive()` and reads the vault as a user would. `vault` is conftest's: a fresh
vault path in its own home folder, where selfdata.toml and
emission_factors.toml go.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from selfdata import open_vault
from selfdata.analytics import mobility
from selfdata.analytics._emissions import load_factors
from selfdata.analytics._places import cluster, reverse_geocode
from selfdata.errors import ConfigError
from selfdata.vault import first_row

M_PER_DEG = 111_195.0
PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)
# Monday 3 March 2025, 00:00 UTC; tracks run in UTC+1 (Paris in winter).
MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
OFFSET_MIN = 60


class Track:
    """A person's positions over time, built stay by stay and move by move."""

    def __init__(
        self, start: datetime, lat: float, lon: float, *, seed: int = 7, source: str = "phone"
    ) -> None:
        self.t = start.timestamp()
        self.source = source
        self.lat, self.lon = lat, lon
        self.parts: list[pl.DataFrame] = []
        self.rng = np.random.default_rng(seed)

    def stay(self, seconds: float, *, every: float = 60, jitter_m: float = 0) -> Track:
        """Stand still; each fix is off by up to `jitter_m` north and east."""
        n = max(int(seconds // every), 1)
        noise = self.rng.uniform(-jitter_m, jitter_m, (2, n))
        self._add(
            self.t + np.arange(n) * every,
            self.lat + noise[0] / M_PER_DEG,
            self.lon + noise[1] / self._m_per_deg_lon(),
        )
        self.t += seconds
        return self

    def move(
        self,
        east_m: float,
        north_m: float,
        speed: float,
        *,
        every: float = 10,
        activity: str | None = None,
        gap: tuple[float, float] | None = None,
        reported_mps: float | None = None,
    ) -> Track:
        """Go straight at `speed` m/s; no fixes in the `gap` fraction of the way."""
        seconds = math.hypot(east_m, north_m) / speed
        n = max(int(seconds // every), 1)
        f = np.arange(1, n + 1) / n
        keep = np.ones(n, bool) if gap is None else (f < gap[0]) | (f > gap[1])
        start_lat = self.lat
        self.lat = start_lat + north_m / M_PER_DEG
        self._add(
            (self.t + f * seconds)[keep],
            (start_lat + f * north_m / M_PER_DEG)[keep],
            (self.lon + f * east_m / self._m_per_deg_lon(start_lat))[keep],
            activity,
            reported_mps,
        )
        self.lon += east_m / self._m_per_deg_lon(start_lat)
        self.t += seconds
        return self

    def jump_to(self, lat: float, lon: float, seconds: float) -> Track:
        """Appear elsewhere after `seconds` with no fix in between (phone off)."""
        self.lat, self.lon = lat, lon
        self.t += seconds
        return self

    def frame(self) -> pl.DataFrame:
        return pl.concat(self.parts).with_columns(source=pl.lit(self.source))

    def _m_per_deg_lon(self, lat: float | None = None) -> float:
        return M_PER_DEG * math.cos(math.radians(self.lat if lat is None else lat))

    def _add(
        self,
        ts: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        activity: str | None = None,
        speed: float | None = None,
    ) -> None:
        self.parts.append(
            pl.DataFrame(
                {
                    "ts": ts,
                    "lat": lat,
                    "lon": lon,
                    "activity": [activity] * len(ts),
                    "speed": [speed] * len(ts),
                },
                schema={
                    "ts": pl.Float64,
                    "lat": pl.Float64,
                    "lon": pl.Float64,
                    "activity": pl.String,
                    "speed": pl.Float64,
                },
            )
        )


def load(vault: Path, *tracks: Track) -> None:
    """Insert the tracks' points as one import of a test importer."""
    frame = pl.concat([t.frame() for t in tracks])
    with open_vault(vault, read_only=False) as con:
        con.execute(
            "INSERT INTO imports VALUES (nextval('import_id_seq'), 'test', '1', 'track', 'sha', 0,"
            " now(), now(), 'ok',"
            " '{}', '{}', '{}', NULL)"
        )
        con.register("staged", frame)
        con.execute(
            f"""
            INSERT INTO location_points BY NAME
            SELECT 1 AS import_id, to_timestamp(ts) AS recorded_at,
                   {OFFSET_MIN} AS utc_offset_min, lat, lon, 5.0 AS accuracy_m,
                   speed AS speed_mps,
                   source,
                   CASE WHEN activity IS NOT NULL THEN json_object('activity', activity) END
                       AS extra
            FROM staged
            """
        )


def rows(vault: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(vault), read_only=True) as con:
        return con.execute(sql).fetchall()


def derived_trips(vault: Path) -> pl.DataFrame:
    with open_vault(vault) as con:
        return con.sql(
            "SELECT start_at, end_at, distance_m, mode, extra FROM trips WHERE derived"
            " ORDER BY start_at"
        ).pl()


def home_day(track: Track, hours: float = 10) -> Track:
    return track.stay(hours * 3600, jitter_m=30)


# Stay points: one visit per stay, however noisy or sparse


def test_a_day_at_home_with_30_m_of_jitter_is_one_visit(vault):
    load(vault, Track(MONDAY, *PARIS).stay(24 * 3600, jitter_m=30))
    result = mobility.derive(vault)
    assert (result.visits, result.trips, result.points) == (1, 0, 1440)
    [(start, end, lat, lon)] = rows(vault, "SELECT start_at, end_at, lat, lon FROM visits")
    assert start == MONDAY and end == MONDAY + timedelta(hours=23, minutes=59)
    assert abs(lat - PARIS[0]) * M_PER_DEG < 5 and abs(lon - PARIS[1]) * M_PER_DEG < 5


def test_a_gap_in_recording_at_the_same_place_continues_the_visit(vault):
    # Points until 22:00, nothing all night, points again from 07:00.
    track = Track(MONDAY + timedelta(hours=18), *PARIS).stay(4 * 3600, jitter_m=20)
    track.t += 9 * 3600
    track.stay(2 * 3600, jitter_m=20)
    load(vault, track)
    mobility.derive(vault)
    assert rows(vault, "SELECT start_at, end_at FROM visits") == [
        (MONDAY + timedelta(hours=18), MONDAY + timedelta(hours=32, minutes=59))
    ]


def test_a_gps_spike_does_not_split_the_day_at_home(vault):
    track = Track(MONDAY, *PARIS).stay(3 * 3600, jitter_m=10)
    track.lat += 600 / M_PER_DEG
    track.stay(60)
    track.lat -= 600 / M_PER_DEG
    track.stay(3 * 3600, jitter_m=10)
    load(vault, track)
    assert (mobility.derive(vault).visits, mobility.derive(vault).trips) == (1, 0)


def test_a_five_minute_stop_is_a_visit_and_a_two_minute_one_is_not(vault):
    track = Track(MONDAY, *PARIS).stay(3600)
    track.move(2000, 0, 1.4, every=5).stay(120, every=5)  # waiting at a crossing
    track.move(2000, 0, 1.4, every=5).stay(3600)
    load(vault, track)
    assert (mobility.derive(vault).visits, mobility.derive(vault).trips) == (2, 1)


# Trips: distance and mode from the speed profile


@pytest.mark.parametrize(
    ("east_m", "north_m", "speed", "every", "mode"),
    [
        (1500, 0, 1.4, 5, "walking"),
        (3000, 4000, 2.8, 5, "running"),
        (0, 6000, 5.0, 5, "cycling"),
        (-12000, 9000, 13.0, 5, "car"),
        (40000, 0, 35.0, 10, "train"),
    ],
)
def test_a_trip_gets_its_distance_and_its_mode_from_its_speed(
    vault, east_m, north_m, speed, every, mode
):
    track = Track(MONDAY, *PARIS).stay(3600).move(east_m, north_m, speed, every=every)
    load(vault, track.stay(3600))
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["mode"] == mode
    assert trip["distance_m"] == pytest.approx(math.hypot(east_m, north_m), rel=0.01)
    # Departure and arrival are known to a fix: the last one at home (a minute apart
    # there) or the first beyond its 100 m radius, where you are still "at home".
    seconds = (trip["end_at"] - trip["start_at"]).total_seconds()
    metres = math.hypot(east_m, north_m)
    assert (metres - 200) / speed - 2 * every <= seconds <= metres / speed + 60 + every


def test_a_flight_at_230_m_s_with_the_phone_off_is_flying(vault):
    track = Track(MONDAY, *PARIS).stay(2 * 3600, every=120)
    # 600 km east at 230 m/s; fixes only in the first and last 5 % of the way.
    track.move(600_000, 0, 230, every=10, gap=(0.05, 0.95)).stay(2 * 3600, every=120)
    load(vault, track)
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["mode"] == "flying"
    assert trip["distance_m"] == pytest.approx(600_000, rel=0.01)


def test_a_jump_across_a_long_gap_is_a_flight_even_without_a_fix_in_the_air(vault):
    track = Track(MONDAY, *PARIS).stay(2 * 3600, every=300)
    load(vault, track.jump_to(*LONDON, 75 * 60).stay(3 * 3600, every=300))
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["mode"] == "flying"
    assert trip["distance_m"] == pytest.approx(343_500, rel=0.005)


def test_the_speed_the_phone_reports_wins_over_the_speed_between_fixes(vault):
    # Fixes say 1.4 m/s, the GPS Doppler speed 5 m/s: the fixes lag, the bike is real.
    track = Track(MONDAY, *PARIS).stay(3600).move(3000, 0, 1.4, every=5, reported_mps=5.0)
    load(vault, track.stay(3600))
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["mode"] == "cycling"
    assert '"median_speed_mps":5.0' in trip["extra"]


def test_a_ride_underground_between_two_fixes_is_unknown_not_a_run(vault):
    # 3.6 km in 20 minutes with no fix between the stations: 3 m/s, waits included.
    track = Track(MONDAY, *PARIS).stay(3600)
    load(vault, track.jump_to(PARIS[0] + 3600 / M_PER_DEG, PARIS[1], 1200).stay(3600))
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert (trip["mode"], round(trip["distance_m"])) == ("unknown", 3600)


@pytest.mark.parametrize(
    ("activity", "speed", "mode"),
    [
        ("IN_BUS", 9.0, "bus"),  # speed alone says car
        ("ON_BICYCLE", 3.5, "cycling"),  # speed alone says running
        ("IN_VEHICLE", 3.0, "car"),  # a traffic jam, not a run
        ("WALKING", 13.0, "car"),  # the speed rules out walking
        ("IN_RAIL_VEHICLE", 20.0, "train"),
    ],
)
def test_google_activity_decides_what_speed_cannot(vault, activity, speed, mode):
    track = Track(MONDAY, *PARIS).stay(3600)
    track.move(6000, 0, speed, every=5, activity=activity)
    load(vault, track.stay(3600))
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["mode"] == mode
    assert f'"activity":"{activity}"' in trip["extra"]


# derive(): idempotent, owned by one imports row, imported rows untouched


def test_derive_twice_gives_the_same_rows_under_a_new_imports_row(vault):
    track = Track(MONDAY, *PARIS).stay(3600, jitter_m=30).move(0, 5000, 5).stay(3600)
    load(vault, track)
    first = mobility.derive(vault)
    visits_sql = "SELECT * EXCLUDE (import_id) FROM visits ORDER BY start_at"
    trips_sql = "SELECT * EXCLUDE (import_id) FROM trips ORDER BY start_at"
    before = (rows(vault, visits_sql), rows(vault, trips_sql))
    second = mobility.derive(vault)
    assert (rows(vault, visits_sql), rows(vault, trips_sql)) == before
    assert second.import_id != first.import_id and second.digest == first.digest
    assert rows(
        vault,
        "SELECT importer, file_name, file_sha256, file_bytes, status, rows_new FROM imports"
        " WHERE importer = 'derive'",
    ) == [
        (
            "derive",
            "(derived from location_points)",
            first.digest,
            0,
            "ok",
            '{"trips": 1, "visits": 2}',
        )
    ]
    assert rows(
        vault, "SELECT DISTINCT import_id FROM visits UNION SELECT import_id FROM trips"
    ) == [(second.import_id,)]


def test_derive_leaves_imported_visits_alone_and_new_settings_change_the_digest(vault):
    load(vault, Track(MONDAY, *PARIS).stay(3600))
    with open_vault(vault, read_only=False) as con:
        con.execute(
            "INSERT INTO visits (import_id, start_at, end_at, lat, lon, place_id, place_name)"
            " VALUES (1, '2025-01-01 10:00+00', '2025-01-01 11:00+00', 51.5, -0.12, 'ChIJ',"
            " 'Cafe')"
        )
    first = mobility.derive(vault)
    wider = mobility.derive(vault, settings=mobility.MobilitySettings(radius_m=150))
    assert wider.digest != first.digest
    assert rows(vault, "SELECT place_id, place_name, derived FROM visits ORDER BY derived") == [
        ("ChIJ", "Cafe", False),
        ("place:48.8566,2.3522", None, True),
    ]


def test_derive_reads_its_settings_from_selfdata_toml(vault):
    load(vault, Track(MONDAY, *PARIS).stay(3600).move(5000, 0, 5).stay(3 * 3600))
    vault.parent.joinpath("selfdata.toml").write_text("[mobility]\nmin_dwell_s = 7200\n")
    assert mobility.derive(vault).visits == 1  # the first hour is too short now
    vault.parent.joinpath("selfdata.toml").write_text("[mobility]\nradius = 50\n")
    with pytest.raises(ConfigError, match="no setting 'radius'"):
        mobility.derive(vault)


def test_derive_on_a_vault_without_points_writes_nothing_but_its_imports_row(vault):
    result = mobility.derive(vault)
    assert (result.points, result.visits, result.trips, result.places) == (0, 0, 0, 0)
    assert rows(vault, "SELECT count(*) FROM imports WHERE importer = 'derive'") == [(1,)]


def test_a_failed_derive_leaves_the_previous_derived_rows(vault, monkeypatch):
    load(vault, Track(MONDAY, *PARIS).stay(3600).move(0, 5000, 5).stay(3600))
    first = mobility.derive(vault)

    def failing(con, settings):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mobility, "_place_labels", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        mobility.derive(vault)
    assert rows(vault, "SELECT count(*), min(import_id) FROM visits") == [(2, first.import_id)]
    assert rows(vault, "SELECT import_id FROM imports WHERE importer = 'derive'") == [
        (first.import_id,)
    ]


def test_a_derive_that_runs_out_of_memory_runs_again_with_duckdbs_default(vault, monkeypatch):
    load(vault, Track(MONDAY, *PARIS).stay(3600).move(0, 5000, 5).stay(3600))
    limits: list[object] = []
    labels = mobility._place_labels

    def short_of_memory(con, settings):  # type: ignore[no-untyped-def]
        limits.append(first_row(con, "SELECT current_setting('memory_limit')"))
        if len(limits) == 1:
            raise duckdb.OutOfMemoryException("failed to allocate 16.0 MiB")
        return labels(con, settings)

    monkeypatch.setattr(mobility, "_place_labels", short_of_memory)
    result = mobility.derive(vault)
    assert (result.visits, result.trips) == (2, 1)
    assert limits[0] == ("64.0 MiB",) and limits[1] != limits[0]
    assert rows(vault, "SELECT count(*) FROM imports WHERE importer = 'derive'") == [(1,)]


def test_the_same_walk_logged_by_two_apps_counts_its_distance_once(vault):
    phone = Track(MONDAY, *PARIS).stay(3600).move(2000, 0, 1.4, every=2).stay(3600)
    watch = Track(MONDAY, PARIS[0] + 3 / M_PER_DEG, PARIS[1], source="watch")
    watch.stay(3600).move(2000, 0, 1.4, every=3).stay(3600)
    load(vault, phone, watch)
    mobility.derive(vault)
    [trip] = derived_trips(vault).rows(named=True)
    assert trip["distance_m"] == pytest.approx(2000, rel=0.02)


# Places, home and work, commute


def two_weeks_of_commuting(vault: Path) -> None:
    """Nights at home in Paris, weekdays at an office 4 km north by bike, weekends home."""
    track = Track(MONDAY - timedelta(hours=OFFSET_MIN / 60), *PARIS)  # local midnight
    for day in range(14):
        if day % 7 < 5:
            track.stay(8 * 3600, jitter_m=30)  # 00:00-08:00 local
            track.move(0, 4000, 5.0, every=5)
            track.stay(9 * 3600, jitter_m=20)  # ~08:13-17:13 at work
            track.move(0, -4000, 5.0, every=5)
            track.stay(24 * 3600 - 17 * 3600 - 2 * 800, jitter_m=30)
        else:
            track.stay(24 * 3600, jitter_m=30)
    load(vault, track)
    mobility.derive(vault)


def test_home_work_and_commute_over_two_weeks(vault):
    two_weeks_of_commuting(vault)
    found = mobility.home_work(vault)
    assert found["role"].to_list() == ["home", "work"]
    assert found["city"].to_list() == ["Paris", "Paris"]
    home, work = found.rows(named=True)
    assert abs(home["lat"] - PARIS[0]) * M_PER_DEG < 20
    assert (work["lat"] - PARIS[0]) * M_PER_DEG == pytest.approx(4000, abs=20)
    # 15 nights: the track starts at 00:00 on Monday, within the night of Sunday 2nd,
    # and ends at 00:00 on Monday 17th, two hours into the night of the 16th.
    assert (home["days"], work["days"]) == (15, 10)
    assert home["explanation"].startswith(
        "home: 15 of 15 nights with data, at least an hour there between 22:00 and 06:00,"
        " 2025-03-02 to 2025-03-16"
    )
    assert work["explanation"].startswith("work: 10 of 10 weekdays with data")
    commutes = mobility.commute(vault)
    assert commutes.select("direction", "mode", "trips").rows() == [
        ("home→work", "cycling", 10),
        ("work→home", "cycling", 10),
    ]
    assert commutes["median_km"].to_list() == pytest.approx([4.0, 4.0], abs=0.05)
    assert commutes["median_min"].to_list() == pytest.approx([4000 / 5 / 60] * 2, abs=2)


def test_places_are_home_and_work_with_their_dwell(vault):
    two_weeks_of_commuting(vault)
    found = mobility.places(vault)
    # Home: the first morning, then one visit from each workday's evening to the next
    # morning (Friday's lasts the weekend). Work: one visit a workday.
    assert found["visits"].to_list() == [11, 10]
    assert found["dwell_h"].to_list() == pytest.approx([14 * 24 - 10 * 9.5, 10 * 9], abs=3)
    assert found["city"].to_list() == ["Paris", "Paris"]
    stored = rows(vault, "SELECT DISTINCT place_id FROM visits WHERE derived ORDER BY 1")
    assert sorted(found["place_id"].to_list()) == [p for (p,) in stored]
    assert rows(vault, "SELECT semantic_type, count(*) FROM visits GROUP BY 1 ORDER BY 1") == [
        ("home", 11),
        ("work", 10),
    ]


def test_cluster_keeps_every_visit_within_the_radius_of_its_leader():
    lat = np.array([0.0, 0.0009, 0.0018, 0.0027])  # 100 m apart in a line
    ids = cluster(lat, np.zeros(4), np.array([10.0, 1, 1, 1]), 150)
    # Single linkage would chain all four; the leader takes only its neighbours.
    assert ids == ["place:0.0000,0.0000"] * 2 + ["place:0.0018,0.0000"] * 2


# Reverse geocoding, countries and cities, days away


def test_reverse_geocoding_names_paris_and_london_and_their_countries():
    found = reverse_geocode(
        np.array([PARIS[0], LONDON[0], 0.0]), np.array([PARIS[1], LONDON[1], -30.0])
    )
    assert found.select("city", "country_code", "country").rows() == [
        ("Paris", "FR", "France"),
        ("London", "GB", "United Kingdom"),
        (None, None, None),  # mid-Atlantic: no city within 150 km
    ]


def test_a_trip_to_london_counts_its_days_in_britain_and_away_from_home(vault):
    track = Track(MONDAY, *PARIS)
    for _ in range(4):
        home_day(track, 24)
    # In London from 04:00 local on Friday to 22:00 local on Saturday: Friday also
    # began at home, so only Saturday is a day away.
    track.jump_to(*LONDON, 3 * 3600)
    track.stay(2 * 24 * 3600 - 6 * 3600, every=300, jitter_m=20)
    track.jump_to(*PARIS, 3 * 3600)
    home_day(track, 24)
    load(vault, track)
    mobility.derive(vault)
    countries = mobility.countries_visited(vault, 2025)
    assert countries.select("country_code", "country", "visits").rows() == [
        ("FR", "France", 2),
        ("GB", "United Kingdom", 1),
    ]
    assert countries["days"].to_list() == [7, 2]  # 3-7 and 9-10 March; 7-8 March
    assert mobility.cities_visited(vault)["city"].to_list() == ["Paris", "London"]
    away = mobility.days_away_from_home(vault)
    assert away.rows() == [(date(2025, 3, 8), date(2025, 3, 8), 1, ["GB"], ["London"])]
    assert mobility.countries_visited(vault, 2024).is_empty()


# Periods and carbon


def test_distance_by_mode_time_moving_and_carbon_per_month(vault):
    track = Track(MONDAY, *PARIS).stay(3600)
    track.move(15000, 0, 12.5, every=5).stay(3600)  # 15 km by car, 20 min
    track.move(-3000, 0, 1.25, every=5).stay(3600)  # 3 km walk, 40 min
    load(vault, track)
    mobility.derive(vault)
    by_mode = mobility.distance_by_mode(vault, period="month")
    assert by_mode.select("period", "mode", "trips").rows() == [
        (date(2025, 3, 1), "car", 1),
        (date(2025, 3, 1), "walking", 1),
    ]
    assert by_mode["distance_km"].to_list() == pytest.approx([15, 3], rel=0.01)
    moving = mobility.time_moving(vault, period="week")
    assert moving["period"].to_list() == [date(2025, 3, 3)] * 2
    assert moving["share"].to_list() == pytest.approx([1 / 3, 2 / 3], abs=0.02)
    month = mobility.carbon(vault)
    assert month["kg_co2e"].to_list() == pytest.approx([15 * 0.17, 0.0], rel=0.01)


def test_flights_take_the_factor_of_their_distance_band_and_a_user_file_overrides(vault):
    track = Track(MONDAY, *PARIS).stay(2 * 3600, every=300)
    load(vault, track.jump_to(*LONDON, 75 * 60).stay(3 * 3600, every=300))
    mobility.derive(vault)
    [trip] = mobility.trips(vault).rows(named=True)
    assert trip["kg_co2e"] == pytest.approx(343.5 * 0.25, rel=0.01)  # under 500 km: domestic
    assert "Domestic" in trip["factor_source"]
    vault.parent.joinpath("emission_factors.toml").write_text(
        '[flying]\nkg_co2e_per_km = 0.1\nsource = "my airline\'s figure"\n'
    )
    [trip] = mobility.trips(vault).rows(named=True)
    assert (trip["kg_co2e"], trip["factor_source"]) == (
        pytest.approx(34.35, rel=0.01),
        "my airline's figure",
    )
    factors = mobility.emission_factors(vault)
    assert factors.filter(pl.col("mode") == "car")["kg_co2e_per_km"].to_list() == [0.17]


def test_an_emission_factor_without_a_source_is_refused(vault):
    load(vault, Track(MONDAY, *PARIS).stay(3600))
    mobility.derive(vault)
    vault.parent.joinpath("emission_factors.toml").write_text("[car]\nkg_co2e_per_km = 0.2\n")
    with pytest.raises(ConfigError, match=r"\[car\] needs a source"):
        mobility.carbon(vault)


def test_every_default_factor_cites_its_source():
    table = load_factors(None)
    assert set(table["mode"]) == {
        "walking",
        "running",
        "cycling",
        "car",
        "bus",
        "train",
        "tram",
        "subway",
        "ferry",
        "other",
        "flying",
    }
    assert table["source"].str.len_chars().min() > 20


# Derived and imported rows together


def test_imported_visits_fill_only_the_days_without_derived_ones(vault):
    load(vault, Track(MONDAY, *PARIS).stay(6 * 3600))
    with open_vault(vault, read_only=False) as con:
        con.execute(
            "INSERT INTO visits (import_id, start_at, end_at, utc_offset_min, lat, lon,"
            " place_name) VALUES"
            " (1, '2025-03-03 02:00+00', '2025-03-03 04:00+00', 60, 48.8566, 2.3522, 'Home'),"
            " (1, '2025-02-20 10:00+00', '2025-02-20 12:00+00', 0, 51.5074, -0.1278, 'Office')"
        )
    mobility.derive(vault)
    used = mobility.visits(vault)
    assert used.select("derived", "place_name", "city").rows() == [
        (False, "Office", "London"),  # no raw points that day
        (True, None, "Paris"),  # Google's visit on 3 March is covered by the derived one
    ]
