"""Mobility derive: stay points and trips over N points of a synthetic life.

Generates a person's days until N points are laid: nights and working hours
at fixed places sampled every minute with ±30 m of GPS jitter, commutes by
bike, car or train sampled every 5 s, a lunchtime walk, weekend outings and
now and then a flight with the phone off. Then it times, on this machine, now:

- `derive`: `selfdata.analytics.mobility.derive()` on a vault holding the
  points (stays, visits, trips, modes, places, one transaction);
- `baseline`: the classic stay-point loop (Li et al. 2008, one Python step per
  point, as most tools implement it) over the first 5 % of the same points,
  extrapolated to N. It finds stays only: no trips, modes or places.

The goal (issue: mobility) is derive over 5 million points in under a minute
on 2 cores. The machine is noisy, so the ratio printed last matters most.

Run: `.venv/bin/python bench/mobility_derive.py [N]` (default 5,000,000).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from selfdata.analytics import mobility
from selfdata.vault import open_vault

M_PER_DEG = 111_195.0
HOME = (48.8566, 2.3522)
WORK = (48.8966, 2.3522)  # 4.4 km north
START = datetime(2020, 1, 6, tzinfo=UTC).timestamp()


class Life:
    """Segments of a life, laid down as numpy arrays; a Python step per segment, not per point."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.t = START
        self.lat, self.lon = HOME
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.points = 0

    def stay(self, seconds: float, every: float = 60, jitter_m: float = 30) -> None:
        n = max(int(seconds // every), 1)
        noise = self.rng.uniform(-jitter_m, jitter_m, (2, n))
        self._add(
            self.t + np.arange(n) * every,
            self.lat + noise[0] / M_PER_DEG,
            self.lon + noise[1] / (M_PER_DEG * math.cos(math.radians(self.lat))),
        )
        self.t += seconds

    def go(self, lat: float, lon: float, speed: float, every: float = 5) -> None:
        north = (lat - self.lat) * M_PER_DEG
        east = (lon - self.lon) * M_PER_DEG * math.cos(math.radians(self.lat))
        seconds = max(math.hypot(north, east) / speed, every)
        f = np.arange(1, int(seconds // every) + 1) / (seconds // every)
        self._add(
            self.t + f * seconds, self.lat + f * (lat - self.lat), self.lon + f * (lon - self.lon)
        )
        self.t += seconds
        self.lat, self.lon = lat, lon

    def fly(self, lat: float, lon: float) -> None:
        """Phone off from door to door: nothing recorded in between."""
        self.t += 1.5 * 3600
        self.lat, self.lon = lat, lon

    def frame(self) -> pl.DataFrame:
        ts, lat, lon = (np.concatenate(column) for column in zip(*self.parts, strict=True))
        return pl.DataFrame({"ts": ts, "lat": lat, "lon": lon})

    def _add(self, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        self.parts.append((ts, lat, lon))
        self.points += len(ts)


def live(n_points: int) -> pl.DataFrame:
    life = Life()
    day = 0
    while life.points < n_points:
        weekday = day % 7 < 5
        day_start = START + day * 86400
        life.stay(day_start + 7.5 * 3600 - life.t)  # night at home until 07:30
        if weekday:
            speed = (5.0, 11.0, 30.0)[day % 3]  # bike, car, train
            life.go(*WORK, speed)
            life.stay(4 * 3600 - 900)
            life.go(WORK[0] + 0.004, WORK[1], 1.4)  # lunch walk
            life.stay(1800)
            life.go(*WORK, 1.4)
            life.stay(day_start + 17.5 * 3600 - life.t)
            life.go(*HOME, speed)
        elif day % 91 == 5:  # a weekend abroad each quarter, back on Sunday evening
            life.fly(51.5074, -0.1278)
            life.stay(day_start + 24 * 3600 + 15 * 3600 - life.t, every=300)
            life.fly(*HOME)
            day += 1
        else:
            life.go(HOME[0], HOME[1] + 0.05, 4.5)  # a bike ride out and back
            life.stay(2 * 3600)
            life.go(*HOME, 4.5)
        life.stay(START + (day + 1) * 86400 - life.t)
        day += 1
    frame = life.frame().head(n_points)
    print(f"{len(frame):,} points over {day} days of synthetic life")
    return frame


def load(vault: Path, frame: pl.DataFrame) -> None:
    with open_vault(vault, read_only=False) as con:
        con.execute(
            "INSERT INTO imports VALUES (nextval('import_id_seq'), 'bench', '1', 'life', 'x', 0,"
            " now(), now(), 'ok', '{}', '{}', '{}', NULL)"
        )
        con.register("life", frame)
        con.execute(
            "INSERT INTO location_points BY NAME SELECT 1 AS import_id,"
            " to_timestamp(ts) AS recorded_at, 60 AS utc_offset_min, lat, lon,"
            " 10.0 AS accuracy_m, 'bench' AS source FROM life"
        )


def baseline_stays(frame: pl.DataFrame, radius_m: float = 100, dwell_s: float = 300) -> int:
    """Li et al.'s stay-point loop: from each anchor, walk on while within the radius."""
    ts, lat, lon = (frame[c].to_list() for c in ("ts", "lat", "lon"))
    stays, i, n = 0, 0, len(ts)
    while i < n:
        j = i + 1
        while j < n and _metres(lat[i], lon[i], lat[j], lon[j]) <= radius_m:
            j += 1
        if ts[j - 1] - ts[i] >= dwell_s:
            stays += 1
            i = j
        else:
            i += 1
    return stays


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def main() -> None:
    n_points = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    frame = live(n_points)
    with tempfile.TemporaryDirectory() as folder:
        vault = Path(folder) / "bench.duckdb"
        load(vault, frame)
        started = time.perf_counter()
        result = mobility.derive(vault)
        derive_s = time.perf_counter() - started
        home = mobility.home_work(vault)["explanation"].to_list()
    sample = frame.head(max(len(frame) // 20, 1))
    started = time.perf_counter()
    baseline_stays(sample)
    baseline_s = (time.perf_counter() - started) * len(frame) / len(sample)
    print(
        f"derive:   {derive_s:6.1f} s  {len(frame) / derive_s:12,.0f} points/s  "
        f"({result.visits:,} visits, {result.trips:,} trips, {result.places:,} places)"
    )
    print(
        f"baseline: {baseline_s:6.1f} s  {len(frame) / baseline_s:12,.0f} points/s  "
        "(stays only, extrapolated from 5 %)"
    )
    for line in home:
        print(" ", line)
    print(
        f"derive takes {derive_s / baseline_s:.1f}x the time of the stays-only baseline; "
        f"goal under 60 s: {'met' if derive_s < 60 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
