"""The truths of the demo year, computed from what the generator planned and wrote.

Nothing here calls the analytics: each figure is summed from the plan (the
ledger of payments, the itinerary, the hourly meter readings) or from the
samples as written, following the rule the analytics document, so a test
can compare the analytics' answer with it.

- **Daily steps** follow `selfdata.analytics.health.daily()`'s documented rule:
  every sample is cut at UTC minute boundaries into pieces sharing its value
  by time; a piece is dropped where a piece of a more preferred source
  (the Watch before the iPhone: `DEFAULT_PREFER`) overlaps it in time within
  the same minute; what is kept is summed per local day (the minute plus the
  sample's own UTC offset, the offset of its `startDate`).
- **Nights** are the nights Alex slept (naps are not nights), dated by the
  local day of waking; asleep is the Watch's core, deep and REM time written
  for the night (None when the Watch was not worn), in bed the iPhone's span
  stretched over any sleep outside it, as `sleep_nights()` defines them.
- **Spending** is money out per month of booking, category and currency,
  transfers between Alex's own accounts left out.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from selfdata.demo._devices import PHONE, WATCH, Sample
from selfdata.demo._ledger import Entry
from selfdata.demo._life import Night

__all__ = ["NightTruth", "daily_steps", "monthly_spending", "nights"]

_MINUTE_US = 60_000_000
_SOURCE_RANK = {WATCH: 1, PHONE: 2}  # DEFAULT_PREFER: "watch" before "phone"
_SLEEPING = ("AsleepCore", "AsleepDeep", "AsleepREM", "AsleepUnspecified", "Asleep")


def daily_steps(samples: Iterable[Sample]) -> dict[date, float]:
    """Steps per local day, each minute counted once across the two devices."""
    pieces: dict[int, list[tuple[int, int, int, float, int]]] = defaultdict(list)
    for sample in samples:
        if not sample.type.endswith("StepCount"):
            continue
        start, end = _us(sample.start), _us(sample.end)
        offset = _offset_min(sample.start, sample.zone)
        rank = _SOURCE_RANK[sample.source]
        value = float(sample.value)
        last = max(-(-end // _MINUTE_US), start // _MINUTE_US + 1)
        for minute in range(start // _MINUTE_US, last):
            lo = max(start, minute * _MINUTE_US)
            hi = min(end, (minute + 1) * _MINUTE_US)
            share = value if end == start else value * (hi - lo) / (end - start)
            pieces[minute].append((rank, lo, hi, share, offset))
    days: dict[date, float] = defaultdict(float)
    for minute, found in pieces.items():
        for rank, lo, hi, share, offset in found:
            beaten = any(
                r < rank and ((b_lo < hi and lo < b_hi) or (b_lo == lo and b_hi == hi))
                for r, b_lo, b_hi, _, _ in found
            )
            if not beaten:
                days[date(1970, 1, 1) + timedelta(days=(minute + offset) // 1440)] += share
    return dict(sorted(days.items()))


@dataclass(frozen=True)
class NightTruth:
    """One night as `sleep_nights()` should report it."""

    night: date  # the local day of waking
    in_bed_min: float
    asleep_min: float | None  # None: the Watch was not worn
    deep_min: float | None
    rem_min: float | None


def nights(planned: Iterable[Night], samples: Iterable[Sample]) -> list[NightTruth]:
    """Each night Alex slept (naps are not nights), from the sleep samples written for it."""
    sleep = sorted(
        (s for s in samples if s.type.endswith("SleepAnalysis")), key=lambda s: (s.start, s.end)
    )
    starts = [s.start for s in sleep]
    found = []
    for night in planned:
        if night.nap:
            continue
        first = bisect.bisect_left(starts, night.bed.replace(microsecond=0))
        last = bisect.bisect_right(starts, night.wake)
        found.append(_night(night, sleep[first:last]))
    return found


def _night(night: Night, written: list[Sample]) -> NightTruth:
    stage = {id(s): s.value.removeprefix("HKCategoryValueSleepAnalysis") for s in written}
    in_bed = [s for s in written if stage[id(s)] == "InBed"]
    asleep = [s for s in written if stage[id(s)] in _SLEEPING]
    spans = in_bed + asleep
    bed_at = min(s.start for s in spans)
    up_at = max(s.end for s in spans)

    def minutes(*kinds: str) -> float | None:
        if not asleep:
            return None
        seconds = sum((s.end - s.start).total_seconds() for s in written if stage[id(s)] in kinds)
        return seconds / 60

    return NightTruth(
        night=night.wake.astimezone(ZoneInfo(night.place.zone)).date(),
        in_bed_min=(up_at - bed_at).total_seconds() / 60,
        asleep_min=minutes(*_SLEEPING),
        deep_min=minutes("AsleepDeep"),
        rem_min=minutes("AsleepREM"),
    )


def monthly_spending(entries: Iterable[Entry]) -> dict[tuple[date, str | None, str], Decimal]:
    """Money out per (first day of the booking month, category, currency), transfers left out."""
    spent: dict[tuple[date, str | None, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if entry.amount < 0 and entry.category != "transfers":
            spent[(entry.booked.replace(day=1), entry.category, entry.currency)] -= entry.amount
    return dict(sorted(spent.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])))


def _us(at: datetime) -> int:
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _offset_min(at: datetime, zone: str) -> int:
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0
