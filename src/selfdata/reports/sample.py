"""A sample vault: a year of one invented person's life in every domain, for templates.

The demo (`selfdata.demo`) writes real export files and imports them, the
honest path. Template tests and the bench need every domain at once, quickly
and with figures that stay put, so this module writes rows straight into a
vault with SQL, under one `imports` row per pretend importer (`apple_health`,
`bank_csv`, `green_button`, `google_location`), then runs `categorize()` on
the transactions as `selfdata import` would. It is what the template tests and
`bench/report_render.py` render; template authors can use it too:

    python -c "from selfdata.reports.sample import write_sample_vault; \\
               write_sample_vault('/tmp/sample/selfdata.duckdb')"

Alex lives by London Bridge and works at King's Cross. The data carries what
the templates must get right: steps counted by both an iPhone and a Watch
(the same walk twice), a phone's in-bed span around a watch's sleep stages,
clock changes (offsets from Europe/London, Madrid, Paris), a summer week in
Barcelona and weekends away (flights, trains), a subscription whose price
rises, transfers between own accounts, one very unusual purchase, hourly
electricity with cost that drops while nobody is home. Some links are
planted so the overview has something true to find: nights after eating out
are shorter, and days away have more steps and less electricity.

The same seed and dates give the same rows.

Example:
    >>> write_sample_vault("/tmp/sample/selfdata.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from selfdata.vault import open_vault

__all__ = ["SAMPLE_END", "SampleSummary", "write_sample_vault"]

SAMPLE_END = date(2026, 6, 30)
"""The last day of the default sample year (the demo persona's `DEMO_TODAY`)."""

_LONDON = ZoneInfo("Europe/London")
_WATCH = "Alex's Apple Watch"
_PHONE = "Alex's iPhone"


@dataclass(frozen=True)
class _Place:
    name: str
    lat: float
    lon: float
    zone: ZoneInfo
    semantic: str | None = None


HOME = _Place("Home", 51.5045, -0.0865, _LONDON, "home")
WORK = _Place("Office", 51.5308, -0.1238, _LONDON, "work")
MARKET = _Place("Borough Market", 51.5055, -0.0910, _LONDON)
PARK = _Place("Southwark Park", 51.4955, -0.0560, _LONDON)
_AWAY: dict[str, list[_Place]] = {
    "Barcelona": [
        _Place("Hotel Barcelona", 41.3870, 2.1700, ZoneInfo("Europe/Madrid")),
        _Place("Sagrada Familia", 41.4036, 2.1744, ZoneInfo("Europe/Madrid")),
        _Place("Barceloneta", 41.3784, 2.1925, ZoneInfo("Europe/Madrid")),
    ],
    "Paris": [
        _Place("Hotel Paris", 48.8566, 2.3522, ZoneInfo("Europe/Paris")),
        _Place("Musee d'Orsay", 48.8600, 2.3266, ZoneInfo("Europe/Paris")),
    ],
    "Edinburgh": [
        _Place("Hotel Edinburgh", 55.9533, -3.1883, _LONDON),
        _Place("Arthur's Seat", 55.9441, -3.1618, _LONDON),
    ],
}
# (place, first day, last day, mode there and back); the end date picks the year.
_TRIPS_AWAY = (
    ("Barcelona", (8, 9), (8, 16), "flying"),
    ("Paris", (10, 17), (10, 19), "train"),
    ("Edinburgh", (6, 12), (6, 14), "train"),
)


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample_vault()` wrote: the days covered and rows per table."""

    first_day: date
    last_day: date
    rows: dict[str, int]


def write_sample_vault(
    path: str | Path, *, end: date = SAMPLE_END, days: int = 365, seed: int = 7
) -> SampleSummary:
    """Write `days` days of sample data ending on `end` into the vault at `path`.

    The vault is created if needed; rows are added under new import ids, so
    call it on an empty vault.

    Example:
        >>> write_sample_vault("/tmp/x/selfdata.duckdb", days=30).rows["workouts"]  # doctest: +SKIP
        13
    """
    from selfdata.analytics.categories import categorize

    first = end - timedelta(days=days - 1)
    life = _Life(first, end, random.Random(seed))
    tables = life.tables()
    vault = Path(path)
    with open_vault(vault, read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        ids = {name: _add_import(con, name, first, end, tables) for name in _IMPORTERS}
        _add_overlapping_export(con, first, end, tables)
        for table, rows in tables.items():
            if not rows:
                continue
            importer = _IMPORTER_OF[table]
            frame = pl.DataFrame([{**row, "import_id": ids[importer]} for row in rows])
            con.register("_sample_rows", frame.to_arrow())
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _sample_rows")
            con.unregister("_sample_rows")
        con.execute("COMMIT")
    categorize(vault)
    return SampleSummary(first, end, {table: len(rows) for table, rows in tables.items()})


_IMPORTERS = ("apple_health", "bank_csv", "green_button", "google_location")
_IMPORTER_OF = {
    "health_samples": "apple_health",
    "sleep_segments": "apple_health",
    "workouts": "apple_health",
    "accounts": "bank_csv",
    "transactions": "bank_csv",
    "energy_readings": "green_button",
    "visits": "google_location",
    "trips": "google_location",
    "location_points": "google_location",
}


def _add_import(
    con: Any, importer: str, first: date, end: date, tables: dict[str, list[dict[str, Any]]]
) -> int:
    new = {t: len(rows) for t, rows in tables.items() if _IMPORTER_OF[t] == importer and rows}
    return _import_row(con, importer, f"sample/{importer}", f"{first} {end}", new, {})


def _add_overlapping_export(
    con: Any, first: date, end: date, tables: dict[str, list[dict[str, Any]]]
) -> None:
    """A later Apple Health export overlapping the first: its last month was skipped."""
    since = datetime.combine(end - timedelta(days=30), time(), UTC)
    repeated = {
        table: sum(1 for row in tables[table] if row["start_at"] >= since)
        for table in ("health_samples", "sleep_segments", "workouts")
    }
    _import_row(con, "apple_health", "sample/apple_health (2)", f"{first} {end} 2", {}, repeated)


def _import_row(
    con: Any, importer: str, name: str, seed: str, new: dict[str, int], duplicate: dict[str, int]
) -> int:
    digest = hashlib.sha256(f"sample {name} {seed}".encode()).hexdigest()
    rows = con.execute(
        "INSERT INTO imports VALUES (nextval('import_id_seq'), ?, 'sample', ?, ?, 0, now(),"
        " now(), 'ok', ?, ?, '{}', NULL) RETURNING import_id",
        [importer, name, digest, json.dumps(new), json.dumps(duplicate)],
    ).fetchall()
    return int(rows[0][0])


class _Life:
    """Generates the rows of every table, day by day."""

    def __init__(self, first: date, last: date, rng: random.Random) -> None:
        self.first = first
        self.last = last
        self.rng = rng
        self.away = self._away_days()
        self.rows: dict[str, list[dict[str, Any]]] = {
            table: [] for table in _IMPORTER_OF if table != "accounts"
        }
        self.eating_out: set[date] = set()

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        self._money()  # first: the evenings out shape the nights
        for day in _days(self.first, self.last):
            self._health_day(day)
            self._sleep_night(day)
            self._mobility_day(day)
            self._energy_day(day)
        return {"accounts": _ACCOUNTS, **self.rows}

    # --- where Alex is -----------------------------------------------------------------

    def _away_days(self) -> dict[date, str]:
        away = {}
        for city, (m1, d1), (m2, d2), _ in _TRIPS_AWAY:
            for year in range(self.first.year, self.last.year + 1):
                start, stop = date(year, m1, d1), date(year, m2, d2)
                for day in _days(start, stop):
                    if self.first <= day <= self.last:
                        away[day] = city
        return away

    def _zone(self, day: date) -> ZoneInfo:
        city = self.away.get(day)
        return _AWAY[city][0].zone if city else _LONDON

    def _at(self, day: date, hour: float, zone: ZoneInfo | None = None) -> tuple[datetime, int]:
        """A local wall-clock time as a UTC instant and its offset in minutes."""
        zone = zone or self._zone(day)
        local = datetime.combine(day, time()) + timedelta(hours=hour)
        aware = local.replace(tzinfo=zone)
        offset = aware.utcoffset() or timedelta()
        return aware.astimezone(UTC), int(offset.total_seconds() // 60)

    # --- health ------------------------------------------------------------------------

    def _health_day(self, day: date) -> None:
        rng = self.rng
        weekend = day.weekday() >= 5
        base = 14_500 if day in self.away else (9_800 if weekend else 7_600)
        target = base * rng.uniform(0.75, 1.25)
        hours = list(range(7, 23))
        weights = [rng.uniform(0.5, 1.5) * (2.2 if h in (8, 12, 18) else 1) for h in hours]
        total = sum(weights)
        watch_off = rng.randrange(7, 21) if rng.random() < 0.15 else None
        for hour, weight in zip(hours, weights, strict=True):
            steps = target * weight / total
            start, offset = self._at(day, hour)
            end = start + timedelta(hours=1)
            if hour not in (watch_off, (watch_off or 0) + 1):
                self._sample("steps", start, end, offset, round(steps), "count", _WATCH)
                self._sample(
                    "distance_walking_running", start, end, offset, steps * 0.74, "m", _WATCH
                )
                self._sample("active_energy", start, end, offset, 8 + steps * 0.045, "kcal", _WATCH)
            # The phone in a pocket counts most of the same walk, minutes apart.
            phone_start = start + timedelta(minutes=7)
            phone = round(steps * rng.uniform(0.8, 0.95))
            self._sample(
                "steps",
                phone_start,
                phone_start + timedelta(minutes=50),
                offset,
                phone,
                "count",
                _PHONE,
            )
        days_in = (day - self.first).days
        morning, offset = self._at(day, 7.2)
        late = (day - timedelta(days=1)) in self.eating_out
        resting = 59 - days_in / 120 + rng.gauss(0, 1.3) + (2.5 if late else 0)
        self._sample(
            "resting_heart_rate", morning, morning, offset, round(resting, 1), "count/min", _WATCH
        )
        hrv = 52 + days_in / 60 + rng.gauss(0, 6) - (7 if late else 0)
        self._sample("hrv_sdnn", morning, morning, offset, round(max(hrv, 15), 1), "ms", _WATCH)
        if days_in % 3 == 0 and day not in self.away:
            kg = 76.0 - 1.8 * days_in / 365 + rng.gauss(0, 0.35)
            self._sample("body_mass", morning, morning, offset, round(kg, 2), "kg", "Withings")
        self._workout(day)

    def _sample(
        self,
        metric: str,
        start: datetime,
        end: datetime,
        offset: int,
        value: float,
        unit: str,
        source: str,
    ) -> None:
        self.rows["health_samples"].append(
            {
                "metric": metric,
                "start_at": start,
                "end_at": end,
                "utc_offset_min": offset,
                "value": float(value),
                "unit": unit,
                "source_name": source,
                "device": "Watch6,1" if source == _WATCH else None,
                "source_type": None,
            }
        )

    def _workout(self, day: date) -> None:
        rng = self.rng
        plan = {
            1: ("running", 7.0, 38.0, 6.8),
            3: ("running", 7.0, 42.0, 7.4),
            5: ("cycling", 10.0, 95.0, 31.0),
        }
        if day in self.away:
            sport = ("walking", 11.0, 150.0, 9.0) if day.weekday() % 2 else None
        else:
            sport = plan.get(day.weekday())
        if sport is None or rng.random() < 0.12:
            return
        name, hour, planned, km = sport
        minutes = planned * rng.uniform(0.85, 1.15)
        start, offset = self._at(day, hour)
        self.rows["workouts"].append(
            {
                "workout_id": f"w-{day.isoformat()}-{name}",
                "sport": name,
                "start_at": start,
                "end_at": start + timedelta(minutes=minutes),
                "utc_offset_min": offset,
                "duration_s": minutes * 60,
                "distance_m": km * rng.uniform(0.9, 1.1) * 1000,
                "energy_kcal": minutes * (11 if name == "running" else 8),
                "avg_heart_rate": 148 if name == "running" else 128,
                "max_heart_rate": 176 if name == "running" else 158,
                "source_name": _WATCH,
                "device": "Watch6,1",
            }
        )

    def _sleep_night(self, day: date) -> None:
        """The night ending on the morning of `day`."""
        rng = self.rng
        evening = day - timedelta(days=1)
        weekend_night = evening.weekday() >= 4
        bed = 23.2 + (0.8 if weekend_night else 0) + rng.gauss(0, 0.45)
        if evening in self.eating_out:
            bed += 0.7
        wake = 24 + (8.4 if day.weekday() >= 5 else 7.0) + rng.gauss(0, 0.25)
        bed_at, offset = self._at(evening, bed)
        wake_at, _ = self._at(evening, wake)
        self._segment(
            bed_at - timedelta(minutes=6), wake_at + timedelta(minutes=4), offset, "in_bed", _PHONE
        )
        at = bed_at + timedelta(minutes=rng.uniform(8, 20))
        cycle = 0
        while at < wake_at:
            deep = max(5.0, 30 - 8 * cycle + rng.gauss(0, 4))
            for stage, minutes in (
                ("core", 38 + rng.gauss(0, 6)),
                ("deep", deep),
                ("core", 15.0),
                ("rem", 14 + 5 * cycle + rng.gauss(0, 3)),
                ("awake", rng.choice((0, 0, 2, 4))),
            ):
                if minutes <= 0 or at >= wake_at:
                    continue
                stop = min(at + timedelta(minutes=minutes), wake_at)
                self._segment(at, stop, offset, stage, _WATCH)
                at = stop
            cycle += 1

    def _segment(
        self, start: datetime, end: datetime, offset: int, stage: str, source: str
    ) -> None:
        self.rows["sleep_segments"].append(
            {
                "start_at": start,
                "end_at": end,
                "utc_offset_min": offset,
                "stage": stage,
                "source_name": source,
                "device": None,
            }
        )

    # --- money -------------------------------------------------------------------------

    def _money(self) -> None:
        rng = self.rng
        for day in _days(self.first, self.last):
            self._monthly_bills(day)
            weekend = day.weekday() >= 5
            if day in self.away:
                self._pay(day, "card", -rng.uniform(25, 80), "RESTAURANT EL XAMPANYET")
                self.eating_out.add(day)
                continue
            if not weekend and rng.random() < 0.6:
                self._pay(day, "current", -rng.choice((3.2, 3.45, 3.95, 4.4)), "PRET A MANGER")
            if not weekend:
                self._pay(day, "current", -5.6, "TFL TRAVEL CHARGE")
            if day.weekday() in (1, 5):
                shop = "TESCO STORES 3297" if day.weekday() == 1 else "SAINSBURYS S/MKT"
                self._pay(day, "current", -round(rng.uniform(24, 72), 2), shop)
            if rng.random() < (0.35 if day.weekday() >= 4 else 0.12):
                place = rng.choice(("WAGAMAMA LONDON BRIDGE", "PIZZA EXPRESS", "THE ANCHOR PUB"))
                self._pay(day, "card", -round(rng.uniform(18, 65), 2), place)
                self.eating_out.add(day)
            if rng.random() < 0.05:
                self._pay(day, "card", -round(rng.uniform(9, 60), 2), "AMAZON.CO.UK MARKETPLACE")
        self._travel_spending()
        self._pay(self.last - timedelta(days=12), "card", -1299.0, "APPLE STORE REGENT ST")

    def _monthly_bills(self, day: date) -> None:
        winter = day.month in (11, 12, 1, 2, 3)
        bills = {
            1: ("current", -1450.0, "RENT LANDLORD LETTINGS LTD"),
            2: ("current", -(112.0 if winter else 78.0), "OCTOPUS ENERGY DD"),
            3: ("current", -152.0, "COUNCIL TAX SOUTHWARK"),
            5: ("card", -(12.99 if day >= date(2026, 2, 1) else 11.99), "SPOTIFY P1A2B3C4"),
            8: ("current", -24.99, "PUREGYM MONTHLY"),
            12: ("card", -10.99, "NETFLIX.COM"),
            25: ("current", 3240.0, "ACME LTD SALARY"),
            27: ("current", -500.0, "TRANSFER TO SAVINGS"),
        }
        if day.day in bills:
            account, amount, text = bills[day.day]
            self._pay(day, account, amount, text)
        if day.day == 20:
            # The card bill is paid from the current account: a transfer, not spending.
            self._pay(day, "current", -400.0, "AMEX CARD REPAYMENT")
            self._pay(day, "card", 400.0, "PAYMENT RECEIVED THANK YOU")

    def _travel_spending(self) -> None:
        for city, (m1, d1), _, mode in _TRIPS_AWAY:
            for year in range(self.first.year, self.last.year + 1):
                leave = date(year, m1, d1)
                booked = leave - timedelta(days=30)
                if not self.first <= booked <= self.last:
                    continue
                ticket = (
                    "EASYJET"
                    if mode == "flying"
                    else ("EUROSTAR INTERNATIONAL" if city == "Paris" else "TRAINLINE")
                )
                self._pay(booked, "card", -round(self.rng.uniform(150, 260), 2), ticket)
                self._pay(
                    booked,
                    "card",
                    -round(self.rng.uniform(200, 480), 2),
                    f"BOOKING.COM HOTEL {city.upper()}",
                )

    def _pay(self, day: date, account: str, amount: float, text: str) -> None:
        rows = self.rows["transactions"]
        rows.append(
            {
                "account_id": f"sample-{account}",
                "booked_date": day,
                "value_date": day,
                "amount": round(amount, 2),
                "currency": "GBP",
                "description": text,
                "counterparty": None,
                "bank_ref": f"S{len(rows):06d}",
            }
        )

    # --- mobility ----------------------------------------------------------------------

    def _mobility_day(self, day: date) -> None:
        city = self.away.get(day)
        if city:
            self._away_day(day, city)
            return
        yesterday_city = self.away.get(day - timedelta(days=1))
        if yesterday_city:
            self._journey(day, _AWAY[yesterday_city][0], HOME, 10.0)
        if day.weekday() < 5:
            mode = "cycling" if day.weekday() == 2 else "subway"
            minutes = 28 if mode == "cycling" else 34
            self._visit(day, HOME, -1.5 if not yesterday_city else 14.5, 8.3)
            self._trip(day, HOME, WORK, 8.3, minutes, mode)
            self._visit(day, WORK, 8.3 + minutes / 60, 17.6)
            self._trip(day, WORK, HOME, 17.6, minutes + 4, mode)
            self._visit(day, HOME, 17.6 + (minutes + 4) / 60, 24.0)
        else:
            outing = MARKET if day.weekday() == 5 else PARK
            self._visit(day, HOME, 0.0, 11.0)
            self._trip(day, HOME, outing, 11.0, 18, "walking")
            self._visit(day, outing, 11.3, 13.5)
            self._trip(day, outing, HOME, 13.5, 20, "walking")
            self._visit(day, HOME, 13.85, 24.0)

    def _away_day(self, day: date, city: str) -> None:
        places = _AWAY[city]
        hotel = places[0]
        if self.away.get(day - timedelta(days=1)) != city:
            self._journey(day, HOME, hotel, 8.0)
            self._visit(day, hotel, 14.0, 24.0)
            return
        sight = places[1 + day.toordinal() % (len(places) - 1)]
        self._visit(day, hotel, 0.0, 10.0)
        self._trip(day, hotel, sight, 10.0, 25, "walking")
        self._visit(day, sight, 10.5, 16.0)
        self._trip(day, sight, hotel, 16.0, 30, "walking")
        self._visit(day, hotel, 16.6, 24.0)

    def _journey(self, day: date, origin: _Place, destination: _Place, hour: float) -> None:
        city = self.away.get(day) or self.away.get(day - timedelta(days=1))
        mode = next(m for c, _, _, m in _TRIPS_AWAY if c == city)
        km = _km(origin, destination)
        hours = 1.0 + km / (700 if mode == "flying" else 160)
        self._trip(day, origin, destination, hour, round(hours * 60), mode)

    def _visit(self, day: date, place: _Place, start_h: float, end_h: float) -> None:
        start, offset = self._at(day, start_h, place.zone)
        end, _ = self._at(day, end_h, place.zone)
        self.rows["visits"].append(
            {
                "start_at": start,
                "end_at": end,
                "utc_offset_min": offset,
                "lat": place.lat,
                "lon": place.lon,
                "place_id": f"sample-{place.name.lower().replace(' ', '-')}",
                "place_name": place.name,
                "semantic_type": place.semantic,
                "confidence": 0.9,
                "derived": False,
            }
        )
        self._point(start, offset, place)

    def _trip(
        self, day: date, origin: _Place, destination: _Place, hour: float, minutes: int, mode: str
    ) -> None:
        start, offset = self._at(day, hour, origin.zone)
        factor = {"walking": 1.3, "cycling": 1.25, "subway": 1.4, "train": 1.15, "flying": 1.05}
        self.rows["trips"].append(
            {
                "start_at": start,
                "end_at": start + timedelta(minutes=minutes),
                "utc_offset_min": offset,
                "start_lat": origin.lat,
                "start_lon": origin.lon,
                "end_lat": destination.lat,
                "end_lon": destination.lon,
                "distance_m": _km(origin, destination) * 1000 * factor.get(mode, 1.2),
                "mode": mode,
                "derived": False,
            }
        )

    def _point(self, at: datetime, offset: int, place: _Place) -> None:
        self.rows["location_points"].append(
            {
                "recorded_at": at,
                "utc_offset_min": offset,
                "lat": place.lat + self.rng.gauss(0, 0.0002),
                "lon": place.lon + self.rng.gauss(0, 0.0002),
                "accuracy_m": 12.0,
                "source": "google_records",
            }
        )

    # --- energy ------------------------------------------------------------------------

    def _energy_day(self, day: date) -> None:
        rng = self.rng
        away = day in self.away
        winter = 1.0 + 0.35 * math.cos((day.timetuple().tm_yday - 15) / 365 * 2 * math.pi)
        for hour in range(24):
            start, offset = self._at(day, hour, _LONDON)
            use = 0.16 + rng.uniform(0, 0.03)  # fridge, router, standby
            if not away:
                if 7 <= hour <= 8:
                    use += 0.55 * winter
                elif 18 <= hour <= 22:
                    use += 0.75 * winter
                elif day.weekday() >= 5 and 9 <= hour <= 17:
                    use += 0.3
            use *= rng.uniform(0.9, 1.1)
            self.rows["energy_readings"].append(
                {
                    "meter_id": "sample-elec",
                    "commodity": "electricity",
                    "start_at": start,
                    "utc_offset_min": offset,
                    "duration_s": 3600,
                    "quantity": round(use, 3),
                    "unit": "kWh",
                    "cost": round(use * 0.245, 4),
                    "currency": "GBP",
                }
            )


_ACCOUNTS: list[dict[str, Any]] = [
    {
        "account_id": "sample-current",
        "institution": "Monzo",
        "name": "Current account",
        "number_masked": "****1234",
        "currency": "GBP",
        "kind": "checking",
    },
    {
        "account_id": "sample-card",
        "institution": "American Express",
        "name": "Amex",
        "number_masked": "****9876",
        "currency": "GBP",
        "kind": "credit_card",
    },
]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _km(a: _Place, b: _Place) -> float:
    """Great-circle distance in km (haversine on the mean Earth radius)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
