"""NAESB ESPI code tables and daylight-saving rules, for the Green Button importer.

The numbers come from the ESPI schema (espi.xsd, NAESB REQ.21): `UnitSymbolKind`
for `uom`, `ServiceKind` for a UsagePoint's `ServiceCategory/kind`,
`CommodityKind` for a ReadingType's `commodity`, `QualityOfReading`,
`AccumulationKind`, `FlowDirectionKind`, and ISO 4217 numeric currency codes.
Only what the importer writes is listed; any other code is kept as its number.

`LocalTimeParameters` gives the local offset as `tzOffset` (seconds, standard
time), `dstOffset` (seconds added in summer) and two bit-coded rules, each a
32-bit hex number (https://www.greenbuttonalliance.org/daylight-savings-time):

    bits  0-11  seconds 0-3599        bits 20-24  day of month 0-31
    bits 12-16  hour 0-23             bits 25-27  operator 0-7
    bits 17-19  day of week 1-7 (Monday = 1)      bits 28-31  month 1-12

Operators: 0 the day of the month; 1 the weekday on or after the day of the
month; 2-6 its first to fifth occurrence in the month; 7 its last occurrence.
North America's `360E2000` is "second Sunday of March, 02:00" and `B40E2000`
"first Sunday of November, 02:00". `FFFFFFFF` means no daylight-saving time.
The rule's clock time is read in the time in force before the change: the
start rule in standard time, the end rule in daylight time (US and EU practice).

Example:
    >>> rule = dst_rule("360E2000")
    >>> transition(rule, 2024)
    datetime.datetime(2024, 3, 10, 2, 0)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "ACCUMULATION",
    "CURRENCY",
    "FLOW",
    "QUALITY",
    "READING_COMMODITY",
    "SERVICE_KIND",
    "UNITS",
    "DstRule",
    "LocalTime",
    "Unit",
    "dst_rule",
    "offsets_min",
    "transition",
]


@dataclass(frozen=True)
class Unit:
    """What an ESPI `uom` becomes: the unit written, the power of ten from the raw
    unit to it (Wh to kWh: -3), whether it measures an amount used (not a rate or
    a voltage), and the commodity it implies when the usage point does not say."""

    symbol: str
    exponent: int
    consumption: bool
    commodity: str | None


UNITS: dict[int, Unit] = {
    72: Unit("kWh", -3, True, "electricity"),  # Wh
    71: Unit("kVAh", -3, False, "electricity"),
    73: Unit("kVArh", -3, False, "electricity"),
    38: Unit("kW", -3, False, "electricity"),
    61: Unit("kVA", -3, False, "electricity"),
    63: Unit("kVAr", -3, False, "electricity"),
    29: Unit("V", 0, False, "electricity"),
    5: Unit("A", 0, False, "electricity"),
    33: Unit("Hz", 0, False, "electricity"),
    169: Unit("therm", 0, True, "gas"),
    132: Unit("BTU", 0, True, "gas"),
    119: Unit("ft3", 0, True, "gas"),
    120: Unit("ft3", 0, True, "gas"),  # compensated
    42: Unit("m3", 0, True, "gas"),
    166: Unit("m3", 0, True, "gas"),  # uncompensated
    167: Unit("m3", 0, True, "gas"),  # compensated
    128: Unit("gal", 0, True, "water"),  # US gallon
    130: Unit("gal_imp", 0, True, "water"),
    134: Unit("L", 0, True, "water"),
    156: Unit("L", 0, True, "water"),
    157: Unit("L", 0, True, "water"),
    31: Unit("J", 0, True, None),
}
# uom 80, "money": a series of costs rather than of amounts used.
MONEY = 80

# UsagePoint ServiceCategory/kind.
SERVICE_KIND = {
    0: "electricity",
    1: "gas",
    2: "water",
    3: "time",
    4: "heat",
    5: "refuse",
    6: "sewerage",
    7: "rates",
    8: "tv_licence",
    9: "internet",
}
# ReadingType commodity, for when the usage point's kind is missing.
READING_COMMODITY = {
    1: "electricity",
    2: "electricity",
    7: "gas",
    8: "gas",  # propane
    9: "water",
    10: "steam",
    11: "water",  # waste water
    12: "heat",
    13: "cooling",
    14: "water",
}
QUALITY = {
    0: "valid",
    7: "manually_edited",
    8: "estimated_reference_day",
    9: "estimated_interpolation",
    10: "questionable",
    11: "derived",
    12: "projected",
    13: "mixed",
    14: "raw",
    15: "weather_normalized",
    16: "other",
    17: "validated",
    18: "verified",
    19: "revenue_quality",
}
ACCUMULATION = {
    1: "bulk_quantity",
    2: "continuous_cumulative",
    3: "cumulative",
    4: "delta_data",
    6: "indicating",
    9: "summation",
    10: "time_delay",
    12: "instantaneous",
    13: "latching_quantity",
    14: "bounded_quantity",
}
# 1 forward (delivered to the customer) is the default and gets no qualifier.
FLOW = {4: "net", 19: "reverse"}
CURRENCY = {
    36: "AUD",
    124: "CAD",
    156: "CNY",
    208: "DKK",
    356: "INR",
    392: "JPY",
    484: "MXN",
    554: "NZD",
    578: "NOK",
    752: "SEK",
    756: "CHF",
    826: "GBP",
    840: "USD",
    978: "EUR",
}

_DISABLED = 0xFFFFFFFF


@dataclass(frozen=True)
class DstRule:
    """One decoded `dstStartRule` or `dstEndRule`."""

    month: int
    operator: int
    day_of_month: int
    weekday: int  # Python's: Monday = 0
    seconds: int  # into the day


@dataclass(frozen=True)
class LocalTime:
    """A LocalTimeParameters entry: offsets in seconds, rules None when there is no DST."""

    tz_offset: int
    dst_offset: int
    start: DstRule | None
    end: DstRule | None


def dst_rule(text: str) -> DstRule | None:
    """Decode a rule; None for `FFFFFFFF` (no DST). ValueError when it is unreadable.

    Example:
        >>> dst_rule("B40E2000")
        DstRule(month=11, operator=2, day_of_month=0, weekday=6, seconds=7200)
    """
    bits = int(text.strip(), 16)
    if bits == _DISABLED:
        return None
    month, operator = bits >> 28 & 0xF, bits >> 25 & 0x7
    day, weekday = bits >> 20 & 0x1F, bits >> 17 & 0x7
    hour, seconds = bits >> 12 & 0x1F, bits & 0xFFF
    dated = 1 <= day <= 31
    usable = dated if operator == 0 else weekday > 0 and (dated or operator > 1)
    if not (1 <= month <= 12 and hour <= 23 and seconds <= 3599 and usable):
        raise ValueError(f"DST rule {text!r} does not decode to a date")
    return DstRule(month, operator, day, (weekday - 1) % 7, hour * 3600 + seconds)


def transition(rule: DstRule, year: int) -> datetime:
    """The local wall time at which `rule` changes the clocks in `year`."""
    days_in_month = calendar.monthrange(year, rule.month)[1]
    if rule.operator == 0:
        day = min(rule.day_of_month, days_in_month)
    elif rule.operator == 1:
        first = datetime(year, rule.month, rule.day_of_month).weekday()
        day = rule.day_of_month + (rule.weekday - first) % 7
    else:
        first = datetime(year, rule.month, 1).weekday()
        first_match = 1 + (rule.weekday - first) % 7
        last_match = first_match + 7 * ((days_in_month - first_match) // 7)
        nth = first_match + 7 * (rule.operator - 2)
        day = last_match if rule.operator == 7 else min(nth, last_match)
    return datetime(year, rule.month, 1) + timedelta(days=day - 1, seconds=rule.seconds)


def offsets_min(starts_us: npt.NDArray[np.int64], local: LocalTime) -> npt.NDArray[np.int64]:
    """Local UTC offsets in minutes at each instant (microseconds since the epoch).

    Example:
        >>> rules = LocalTime(-18000, 3600, dst_rule("360E2000"), dst_rule("B40E2000"))
        >>> noon = np.array([1704110400, 1719835200]) * 1_000_000  # 1 Jan, 1 Jul 2024
        >>> offsets_min(noon, rules).tolist()
        [-300, -240]
    """
    standard = np.full(starts_us.shape, local.tz_offset // 60, dtype=np.int64)
    if local.start is None or local.end is None or not len(starts_us):
        return standard
    seconds = starts_us // 1_000_000
    years = (seconds + local.tz_offset).astype("datetime64[s]").astype("datetime64[Y]")
    years = years.astype(np.int64) + 1970
    in_dst = np.zeros(starts_us.shape, dtype=bool)
    for year in np.unique(years):
        begins = _epoch(transition(local.start, int(year))) - local.tz_offset
        ends = _epoch(transition(local.end, int(year))) - local.tz_offset - local.dst_offset
        this_year = years == year
        summer = (
            (seconds >= begins) & (seconds < ends)
            if begins < ends  # northern hemisphere: summer inside the year
            else (seconds >= begins) | (seconds < ends)
        )
        in_dst |= this_year & summer
    return standard + np.where(in_dst, local.dst_offset // 60, 0)


def _epoch(wall: datetime) -> int:
    """Seconds since the epoch of a naive wall time read as UTC."""
    return calendar.timegm(wall.timetuple())
