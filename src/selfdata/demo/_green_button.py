"""The flat's electricity as a Green Button (NAESB ESPI) Atom feed of hourly readings.

Spec: NAESB REQ.21 ESPI (https://www.greenbuttonalliance.org/, the schema in
https://github.com/GreenButtonAlliance/OpenESPI-Common-java). The feed:

    energy/electricity_green_button.xml
        UsagePoint (ServiceCategory kind 0: electricity)
        LocalTimeParameters for Europe/London: tzOffset 0, dstOffset 3600,
            dstStartRule 3E0E1000 (last Sunday of March, 01:00 standard time),
            dstEndRule AE0E2000 (last Sunday of October, 02:00 summer time)
        MeterReading and its ReadingType: Wh (uom 72) with
            powerOfTenMultiplier 0, hourly (intervalLength 3600),
            delta data (accumulationBehaviour 4), GBP (currency 826)
        one IntervalBlock per local day (23 or 25 readings on clock-change
            days), each IntervalReading with its `cost` in hundred-thousandths
            of a pound, `timePeriod` (epoch start, duration) and `value` in Wh

What the meter sees comes from the plan: an always-on baseload (fridge,
router, standby: `BASELOAD_W`, plus up to `FRIDGE_W` more in an hour as the
fridge's compressor cycles), more while Alex is at home and awake, cooking
most evenings, the kettle in the morning, working from home on Fridays, more
lighting in winter; only the baseload while Alex is away (the Barcelona week)
or asleep. Prices follow the quarterly price cap, per kWh, cost included in
each reading.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from selfdata.demo._gpx import write_lines
from selfdata.demo._life import Life, Stay

__all__ = ["BASELOAD_W", "FRIDGE_W", "Reading", "readings", "write_green_button"]

BASELOAD_W = 115  # the always-on load of the flat, watts
FRIDGE_W = 20  # the most the fridge's cycling adds to an hour's average, watts
_HOST = "https://api.thames-power.example/DataCustodian/espi/1_1/resource"
_USAGE_POINT = f"{_HOST}/RetailCustomer/31842/UsagePoint/1"
# The unit rate (GBP per kWh) from each quarter's first month on.
_RATES = ((1, 0.2769), (4, 0.2467), (7, 0.2573), (10, 0.2635))


@dataclass(frozen=True)
class Reading:
    """One hour of electricity, as written."""

    start: datetime  # UTC, on the hour
    wh: int
    cost: int  # hundred-thousandths of a pound, as ESPI writes it


def readings(life: Life, seed: int) -> list[Reading]:
    """Hourly readings over the period, from local midnight of the first day to `today`."""
    rng = random.Random(f"selfdata-demo:{seed}:energy")
    zone = ZoneInfo(life.persona.timezone)
    start = datetime.combine(life.first, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(life.today, datetime.min.time(), zone).astimezone(UTC)
    hours = int((end - start).total_seconds() // 3600)
    home_awake = _occupancy(life, start, hours)
    found = []
    for hour in range(hours):
        at = start + timedelta(hours=hour)
        local = at.astimezone(zone)
        watts = BASELOAD_W + rng.uniform(0, FRIDGE_W)
        watts += home_awake[hour] * (_awake_load(rng, local) + _habits(rng, local))
        wh = round(watts)  # an hour at `watts` is `watts` Wh
        rate = _rate(local.date())
        found.append(Reading(at, wh, round(wh / 1000 * rate * 100_000)))
    return found


def write_green_button(path: Path, life: Life, found: list[Reading]) -> Path:
    """Write the ESPI feed of `found` at `path`."""
    write_lines(path, _feed(life, found))
    return path


# -- What uses electricity ------------------------------------------------------


def _occupancy(life: Life, start: datetime, hours: int) -> list[float]:
    """Per hour: the fraction of it Alex was at home and awake."""
    home_awake = [0.0] * hours
    for segment in life.segments:
        if isinstance(segment, Stay) and segment.place == life.persona.home:
            _spread(home_awake, start, segment.start, segment.end, 1.0)
    for night in life.nights:  # asleep anywhere: at the hotel it takes nothing off
        _spread(home_awake, start, night.bed, night.wake, -1.0)
    return [max(0.0, min(1.0, h)) for h in home_awake]


def _spread(into: list[float], start: datetime, lo: datetime, hi: datetime, sign: float) -> None:
    """Add `sign` times the fraction of each hour that lo..hi covers."""
    first = max(0, int((lo - start).total_seconds() // 3600))
    last = min(len(into) - 1, int((hi - start).total_seconds() // 3600))
    for hour in range(first, last + 1):
        h_lo = start + timedelta(hours=hour)
        overlap = (min(hi, h_lo + timedelta(hours=1)) - max(lo, h_lo)).total_seconds()
        if overlap > 0:
            into[hour] += sign * overlap / 3600


def _awake_load(rng: random.Random, local: datetime) -> float:
    """Lights, laptop, TV while someone is home and awake; more lighting on winter evenings."""
    watts = rng.uniform(120, 260)
    if local.month in (11, 12, 1, 2) and local.hour >= 16:
        watts += 90
    if local.weekday() == 4 and 9 <= local.hour < 17:
        watts += 60  # working from home: a monitor and a laptop
    return watts


def _habits(rng: random.Random, local: datetime) -> float:
    """Cooking in the evening (and at weekend lunchtimes), the kettle in the morning."""
    weekend = local.weekday() >= 5
    if local.hour == 18 or (local.hour == 12 and weekend):
        return rng.uniform(600, 1100)
    if local.hour == 7:
        return rng.uniform(150, 300)
    return 0.0


def _rate(day: date) -> float:
    month = max(m for m, _ in _RATES if m <= day.month)
    return dict(_RATES)[month]


# -- The feed -----------------------------------------------------------------


def _feed(life: Life, found: list[Reading]) -> Iterator[str]:
    updated = _z(datetime.combine(life.today, datetime.min.time(), UTC) + timedelta(hours=6))
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    )
    yield "  <id>urn:uuid:5b0f8c3e-1d2a-4f6b-9c1e-7a2d4e6f8a01</id>\n"
    yield "  <title>Green Button Usage Feed</title>\n"
    yield f"  <updated>{updated}</updated>\n"
    yield f'  <link rel="self" href="{_HOST}/Batch/RetailCustomer/31842/UsagePoint"/>\n'
    yield from _entry(
        "UsagePoint",
        _USAGE_POINT,
        [f"{_USAGE_POINT}/MeterReading", f"{_HOST}/LocalTimeParameters/1"],
        "<ServiceCategory>\n          <kind>0</kind>\n        </ServiceCategory>\n"
        "        <status>1</status>",
        "Flat 4, Tooley Street",
        updated,
    )
    yield from _entry(
        "LocalTimeParameters",
        f"{_HOST}/LocalTimeParameters/1",
        [],
        "<dstEndRule>AE0E2000</dstEndRule>\n        <dstOffset>3600</dstOffset>\n"
        "        <dstStartRule>3E0E1000</dstStartRule>\n        <tzOffset>0</tzOffset>",
        "GMT/BST",
        updated,
    )
    reading = f"{_USAGE_POINT}/MeterReading/1"
    yield from _entry(
        "MeterReading",
        reading,
        [f"{reading}/IntervalBlock", f"{_HOST}/ReadingType/1"],
        "",
        "Hourly electricity consumption",
        updated,
    )
    yield from _entry(
        "ReadingType",
        f"{_HOST}/ReadingType/1",
        [],
        "<accumulationBehaviour>4</accumulationBehaviour>\n"
        "        <commodity>1</commodity>\n        <currency>826</currency>\n"
        "        <dataQualifier>12</dataQualifier>\n        <flowDirection>1</flowDirection>\n"
        "        <intervalLength>3600</intervalLength>\n        <kind>12</kind>\n"
        "        <phase>769</phase>\n        <powerOfTenMultiplier>0</powerOfTenMultiplier>\n"
        "        <timeAttribute>0</timeAttribute>\n        <uom>72</uom>",
        "Energy delivered (Wh)",
        updated,
    )
    for number, (day, block) in enumerate(_days(life, found), start=1):
        yield from _block(f"{reading}/IntervalBlock/{number}", day, block, updated)
    yield "</feed>\n"


def _days(life: Life, found: list[Reading]) -> Iterator[tuple[date, list[Reading]]]:
    zone = ZoneInfo(life.persona.timezone)
    block: list[Reading] = []
    for reading in found:
        day = reading.start.astimezone(zone).date()
        if block and block[0].start.astimezone(zone).date() != day:
            yield block[0].start.astimezone(zone).date(), block
            block = []
        block.append(reading)
    if block:
        yield block[0].start.astimezone(zone).date(), block


def _entry(
    kind: str, self_href: str, related: list[str], body: str, title: str, updated: str
) -> Iterator[str]:
    yield "  <entry>\n"
    yield f"    <id>urn:uuid:{_uuid(self_href)}</id>\n"
    yield f'    <link rel="self" href="{self_href}"/>\n'
    yield f'    <link rel="up" href="{self_href.rsplit("/", 1)[0]}"/>\n'
    for href in related:
        yield f'    <link rel="related" href="{href}"/>\n'
    yield f"    <title>{title}</title>\n"
    yield "    <content>\n"
    if body:
        yield f'      <{kind} xmlns="http://naesb.org/espi">\n        {body}\n      </{kind}>\n'
    else:
        yield f'      <{kind} xmlns="http://naesb.org/espi"/>\n'
    yield "    </content>\n"
    yield f"    <published>{updated}</published>\n    <updated>{updated}</updated>\n"
    yield "  </entry>\n"


def _block(href: str, day: date, block: list[Reading], updated: str) -> Iterator[str]:
    start = int(block[0].start.timestamp())
    yield "  <entry>\n"
    yield f"    <id>urn:uuid:{_uuid(href)}</id>\n"
    yield f'    <link rel="self" href="{href}"/>\n'
    yield f'    <link rel="up" href="{href.rsplit("/", 1)[0]}"/>\n'
    yield f"    <title>{day:%A %d %B %Y}</title>\n"
    yield '    <content>\n      <IntervalBlock xmlns="http://naesb.org/espi">\n'
    yield f"        <interval>\n          <duration>{3600 * len(block)}</duration>\n"
    yield f"          <start>{start}</start>\n        </interval>\n"
    for reading in block:
        yield (
            f"        <IntervalReading>\n          <cost>{reading.cost}</cost>\n"
            f"          <timePeriod>\n            <duration>3600</duration>\n"
            f"            <start>{int(reading.start.timestamp())}</start>\n"
            f"          </timePeriod>\n          <value>{reading.wh}</value>\n"
            f"        </IntervalReading>\n"
        )
    yield "      </IntervalBlock>\n    </content>\n"
    yield f"    <published>{updated}</published>\n    <updated>{updated}</updated>\n"
    yield "  </entry>\n"


def _uuid(text: str) -> str:
    digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
