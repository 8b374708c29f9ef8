"""Green Button: NAESB ESPI Atom feeds and the utilities' "Download My Data" CSV.

Spec: NAESB REQ.21 Energy Services Provider Interface (ESPI), schema espi.xsd
(https://www.greenbuttonalliance.org/ and https://github.com/GreenButtonAlliance/
OpenESPI-Common-java for the xsd); the CSV layout is read by
`selfdata.importers._green_button_csv`, whose docstring describes it.

A feed is Atom (`<feed>` of `<entry>`s, or one bare `<entry>`) whose `<content>`
holds one ESPI resource. Element names are matched without their prefix, so the
default namespaces of the NIST samples, PG&E's `ns0:`/`ns1:`, `atom:` and
`espi:` all read the same. Resources refer to each other only through Atom
links, and entries come in any order (a ReadingType after the IntervalBlocks
it describes), so readings are collected column-wise as raw text and the links
resolved when the file ends:

    UsagePoint (ServiceCategory/kind: 0 electricity, 1 gas, 2 water, ...)
      └ MeterReading ── ReadingType (uom, powerOfTenMultiplier, currency, ...)
          └ IntervalBlock ── IntervalReading (timePeriod start/duration, value, cost)

An IntervalBlock belongs to the MeterReading whose `related` links name the
block (or its collection, the block's `up` link) or whose `self` link its own
extends; a MeterReading to the UsagePoint linked the same way; a UsagePoint to
the LocalTimeParameters it links. Where a link is missing, the feed's only
resource of that kind is used (PG&E's partial feed has no MeterReading, so its
blocks' `.../MeterReading/X/IntervalBlock` href is cut back instead).

Each IntervalReading is one `energy_readings` row:

- `meter_id` is the UsagePoint's `self` href path (scheme and host dropped, so
  a re-download from another host meets it; never the Atom `id`, which one
  corpus file reuses for every entry), else its `id`, else the MeterReading's
  href up to `/MeterReading`. A series that is not plain consumption gets a
  qualifier, so it never shares a natural key with the consumption series of
  the same meter: `#reverse` (flowDirection 19, energy sent to the grid),
  `#net` (4), `#kW`, `#V`... for rates and other non-amounts, `#cost` for a
  money series (uom 80: its `unit` is the currency code).
- `commodity` from the UsagePoint kind; when it is missing or empty (`<kind/>`)
  from the ReadingType's `commodity`, else its unit (Wh → electricity, therm,
  ft3, m3 → gas, gallons, litres → water), else electricity (`extra` says
  `"commodity_assumed": true`).
- `quantity` is `value * 10^powerOfTenMultiplier` in the canonical unit: Wh
  becomes kWh (W → kW, VArh → kVArh...), therm, m3, ft3 stay as given. A
  series with no unit of measure (no ReadingType reachable, as in PG&E's
  partial feed, or an empty one) is taken as Wh of electricity, or therms when
  the UsagePoint says gas; its rows carry `"assumed_unit": "Wh"` and the import
  a repair note, so a wrong guess can be found and mended.
- `cost` is `cost / 100000` (ESPI writes hundred-thousandths of the currency),
  exact in the column's 5 decimals; `currency` is the ReadingType's
  ISO 4217 numeric code as letters (840 → USD), NULL when the feed gives none.
- `start_at` is `timePeriod/start`, epoch seconds (fractions kept to the
  microsecond); `duration_s` its `duration`, else the ReadingType's
  `intervalLength`.
- `utc_offset_min`: a reading's own non-standard `<timezone>-0500</timezone>`
  (UtilityAPI) wins; else the LocalTimeParameters: `tzOffset`, plus `dstOffset`
  when the start falls between the decoded `dstStartRule` and `dstEndRule`
  (see `_green_button_espi`). Offsets are kept as the feed gives them, even a
  `+18000` for a US address (a sign error the importer cannot prove); an
  unreadable rule (SCE's truncated `B40E`) gives standard time only, with a
  repair note. No LocalTimeParameters: NULL.
- `extra`: `quality` (ReadingQuality, by name: `validated`, `estimated_...`),
  any other IntervalReading leaf (`tou`, `consumptionTier`...), and the
  ReadingType's `accumulation` when it is not plain interval data
  (`bulk_quantity` readings are register totals, not usage).

Readings repeated exactly (PG&E's blocks repeat ever longer runs of the same
hours) are kept once, with a repair count; readings that share a start but
differ are all kept. ElectricPowerUsageSummary and UsageSummary entries (bill
totals per period, not interval readings) are skipped with a repair note. An
IntervalReading without a start or a value, or with one that is not a number,
is rejected with its line; a malformed or cut-off file is a ParseError naming
the line, and nothing is imported from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import pyarrow as pa

from selfdata import xmlsafe
from selfdata.errors import ParseError
from selfdata.importers import _green_button_csv as download_csv
from selfdata.importers import _green_button_espi as espi
from selfdata.importers.base import HEAD_BYTES, Batch, Source
from selfdata.importers.columns import canonical_schema, json_value

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "green_button"
version = "1"
patterns = ("*.xml", "*.csv")
tables = ("energy_readings",)

# Rows per batch handed to the engine.
BATCH_ROWS = 100_000

SCHEMA = canonical_schema("energy_readings")

# The ESPI namespace, or an ESPI resource element, in the head of an XML file.
_ESPI = re.compile(rb"naesb\.org/espi|<(?:[\w.-]+:)?(?:IntervalBlock|UsagePoint)[\s/>]")
_SUMMARIES = frozenset({"ElectricPowerUsageSummary", "UsageSummary"})
# Resources whose own leaf values the importer reads.
_DESCRIBED = frozenset({"UsagePoint", "ReadingType", "LocalTimeParameters"})
_ZONE = r"^\s*([+-])(\d{2}):?(\d{2})\s*$"
_HUNDRED_THOUSANDTH = Decimal("0.00001")
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def detect(head: bytes, filename: str) -> bool:
    """True for an XML head naming the ESPI namespace or resources, or a Green Button CSV.

    Example:
        >>> detect(b'<feed xmlns:espi="http://naesb.org/espi">', "usage.xml")
        True
        >>> detect(b"TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\\n", "usage.csv")
        True
    """
    if download_csv.detect(head):
        return True
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return body.startswith(b"<") and _ESPI.search(head) is not None


def read(source: Source) -> Iterator[Batch]:
    """Stream a Green Button feed (or read a CSV download) into energy_readings batches.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/green_button/gas_monthly.xml")))
        >>> [(batch.table, batch.rows.num_rows) for batch in batches]
        [('energy_readings', 3)]
    """
    if download_csv.detect(source.head(HEAD_BYTES)):
        yield from download_csv.read(source)
        return
    reader = _FeedReader(source)
    with source.open() as stream:
        for _ in xmlsafe.feed(reader.parser, stream, source.display_name):
            pass
    rows = _Resolver(reader.entries, source).rows(reader.readings)
    for offset in range(0, rows.num_rows, BATCH_ROWS):
        yield Batch("energy_readings", rows.slice(offset, BATCH_ROWS))


@dataclass
class _Entry:
    """One Atom entry: its links, id, the kind of resource it holds and that resource's values."""

    line: int
    kind: str | None = None
    id: str | None = None
    self_href: str | None = None
    up: str | None = None
    related: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    def hrefs(self) -> list[str]:
        return [href for href in (self.self_href, self.up) if href]


@dataclass
class _Readings:
    """Every IntervalReading as raw text, column by column: one list per field, no dict per row."""

    entry: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    duration: list[str | None] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    cost: list[str | None] = field(default_factory=list)
    zone: list[str | None] = field(default_factory=list)
    quality: list[str | None] = field(default_factory=list)  # a JSON member, shared text
    extra: list[str | None] = field(default_factory=list)  # JSON members, no braces

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "entry": self.entry,
                "line": self.line,
                "start": self.start,
                "duration": self.duration,
                "value": self.value,
                "cost": self.cost,
                "zone": self.zone,
                "quality": self.quality,
                "reading_extra": self.extra,
            },
            schema={"entry": pl.Int64, "line": pl.Int64, **dict.fromkeys(_TEXT, pl.String)},
        )


_TEXT = ("start", "duration", "value", "cost", "zone", "quality", "reading_extra")
# ReadingQuality codes as ready JSON members: most feeds give one on every reading.
_QUALITY = {str(code): f'"quality":"{word}"' for code, word in espi.QUALITY.items()}


@dataclass
class _Reading:
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    quality: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


class _FeedReader:
    """Expat callbacks collecting entries and, column-wise, their IntervalReadings."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.parser = xmlsafe.make_parser()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.stack: list[str] = []
        self.chars: list[str] = []
        self.leaf = False
        self.entries: list[_Entry] = []
        self.entry: _Entry | None = None
        self.reading: _Reading | None = None
        self.readings = _Readings()

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(":")[2]
        line = self.parser.CurrentLineNumber
        if not self.stack and local not in ("feed", "entry"):
            reason = f"not a Green Button feed: the root element is <{local}>"
            raise ParseError(self.source.display_name, reason, line=line)
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(local)
        self.chars = []
        self.leaf = True
        if local == "entry":
            self.entry = _Entry(line)
            self.entries.append(self.entry)
        elif self.entry is None:
            return  # the feed's own id, title and links
        elif local == "link" and parent == "entry":
            _add_link(self.entry, attrs.get("rel", "alternate"), attrs.get("href"))
        elif parent == "content" and self.entry.kind is None:
            self.entry.kind = local
        elif local == "IntervalReading":
            self.reading = _Reading(line)

    def _end(self, _tag: str) -> None:
        local = self.stack.pop()
        parent = self.stack[-1] if self.stack else ""
        text = "".join(self.chars).strip() if self.leaf else ""
        self.leaf = False
        entry = self.entry
        if entry is None:
            return
        if self.reading is not None:
            if local == "IntervalReading":
                self._commit(self.reading, len(self.entries) - 1)
                self.reading = None
            elif text:
                _set_reading_value(self.reading, local, parent, text)
        elif local == "entry":
            self.entry = None
        elif local == "id" and parent == "entry":
            entry.id = text
        elif text and entry.kind in _DESCRIBED and parent in (entry.kind, "ServiceCategory"):
            entry.values.setdefault("service_kind" if parent == "ServiceCategory" else local, text)

    def _text(self, data: str) -> None:
        self.chars.append(data)

    def _commit(self, reading: _Reading, entry: int) -> None:
        """Keep the reading's raw text, or reject it when it has no start or value."""
        start, value = reading.fields.get("start"), reading.fields.get("value")
        if start is None or value is None:
            missing = "<timePeriod><start>" if start is None else "<value>"
            self.source.reject(
                "energy_readings", f"<IntervalReading> without {missing}", reading.line
            )
            return
        readings = self.readings
        readings.entry.append(entry)
        readings.line.append(reading.line)
        readings.start.append(start)
        readings.value.append(value)
        readings.duration.append(reading.fields.get("duration"))
        readings.cost.append(reading.fields.get("cost"))
        readings.zone.append(reading.fields.get("timezone"))
        readings.quality.append(reading.quality)
        readings.extra.append(_json(reading.extra)[1:-1] if reading.extra else None)


def _add_link(entry: _Entry, rel: str, href: str | None) -> None:
    if not href:
        return
    path = _path(href)
    if rel == "self":
        entry.self_href = entry.self_href or path
    elif rel == "up":
        entry.up = entry.up or path
    elif rel == "related":
        entry.related.append(path)


def _path(href: str) -> str:
    """An href as a comparable path: no scheme or host, no doubled or outer slashes."""
    return re.sub("/+", "/", urlsplit(href.strip()).path).strip("/")


def _set_reading_value(reading: _Reading, local: str, parent: str, text: str) -> None:
    if (parent == "timePeriod" and local in ("start", "duration", "timezone")) or (
        parent == "IntervalReading" and local in ("value", "cost")
    ):
        reading.fields[local] = text
    elif local == "quality":
        reading.quality = _QUALITY.get(text) or f'"quality":{_json(json_value(text))}'
    else:
        reading.extra[local] = json_value(text)


@dataclass(frozen=True)
class _Series:
    """What every reading of one IntervalBlock entry shares, once the links are resolved."""

    meter_id: str
    commodity: str
    unit: str | None
    exponent: int  # quantity = value * 10^exponent
    interval: int | None
    currency: str | None
    local: espi.LocalTime | None
    extra: str  # JSON members, no braces; "" when none


class _Measure(NamedTuple):
    commodity: str
    unit: str | None
    exponent: int  # from the raw unit to the unit written
    qualifier: str | None
    extra: dict[str, object]


class _Resolver:
    """The feed's links, resolved into one `_Series` per IntervalBlock entry."""

    def __init__(self, entries: Sequence[_Entry], source: Source) -> None:
        self.entries = entries
        self.source = source
        self.reading_types = self._by_self("ReadingType")
        self.local_times = self._by_self("LocalTimeParameters")
        self.usage_points = [e for e in entries if e.kind == "UsagePoint"]
        self.meter_readings = [e for e in entries if e.kind == "MeterReading" and e.self_href]
        summaries = sum(e.kind in _SUMMARIES for e in entries)
        source.repaired(
            "UsageSummary entries skipped (bill totals, not interval readings)", summaries
        )

    def rows(self, readings: _Readings) -> pa.Table:
        """The readings as energy_readings rows, with rejects and repairs counted."""
        if not readings.entry:
            return SCHEMA.empty_table()
        frame = readings.frame()
        series = {index: self._series(self.entries[index]) for index in set(readings.entry)}
        frame = _numbers(frame, series, self.source)
        frame = _with_offsets(frame, series)
        before = frame.height
        frame = frame.unique(
            [
                "meter_id",
                "commodity",
                "start_us",
                "duration_s",
                "quantity",
                "cost",
                "utc_offset_min",
            ],
            keep="first",
            maintain_order=True,
        )
        self.source.repaired("repeated IntervalReadings kept once", before - frame.height)
        return _table(frame)

    # links

    def _by_self(self, kind: str) -> dict[str, _Entry]:
        found: dict[str, _Entry] = {}
        for entry in self.entries:
            if entry.kind != kind or not entry.self_href:
                continue
            first = found.setdefault(entry.self_href, entry)
            if first.values != entry.values:
                self.source.repaired(f"{kind} entries sharing one self link: the first is used")
        return found

    def _series(self, block: _Entry) -> _Series:
        reading = self._meter_reading_of(block)
        reading_type = self._reading_type_of(reading)
        usage_point = self._usage_point_of(reading or block)
        local_time = self._local_time_of(usage_point)
        return self._describe(reading or block, reading_type, usage_point, local_time)

    def _meter_reading_of(self, block: _Entry) -> _Entry | None:
        hrefs = block.hrefs()
        for reading in self.meter_readings:
            prefix = f"{reading.self_href}/"
            if set(hrefs) & set(reading.related) or any(h.startswith(prefix) for h in hrefs):
                return reading
        return self.meter_readings[0] if len(self.meter_readings) == 1 else None

    def _reading_type_of(self, reading: _Entry | None) -> _Entry | None:
        for href in reading.related if reading else ():
            if href in self.reading_types:
                return self.reading_types[href]
        if len(self.reading_types) == 1:
            [only] = self.reading_types.values()
            return only
        return None

    def _usage_point_of(self, child: _Entry) -> _Entry | None:
        for point in self.usage_points:
            prefix = f"{point.self_href}/" if point.self_href else None
            linked = set(child.hrefs()) & set(point.related)
            if linked or (prefix and any(h.startswith(prefix) for h in child.hrefs())):
                return point
        return self.usage_points[0] if len(self.usage_points) == 1 else None

    def _local_time_of(self, usage_point: _Entry | None) -> _Entry | None:
        for href in usage_point.related if usage_point else ():
            if href in self.local_times:
                return self.local_times[href]
        if len(self.local_times) == 1:
            [only] = self.local_times.values()
            return only
        return None

    # what a series is

    def _describe(
        self,
        child: _Entry,
        reading_type: _Entry | None,
        usage_point: _Entry | None,
        local_time: _Entry | None,
    ) -> _Series:
        kinds = reading_type.values if reading_type else {}
        measure = self._measure(kinds, _commodity(usage_point, kinds))
        extra = measure.extra
        accumulation = _integer(kinds.get("accumulationBehaviour"))
        if accumulation not in (None, 4):
            extra["accumulation"] = espi.ACCUMULATION.get(accumulation, accumulation)
        flow = espi.FLOW.get(_integer(kinds.get("flowDirection")) or 1)
        qualifiers = "".join(f"#{q}" for q in (measure.qualifier, flow) if q)
        return _Series(
            meter_id=self._meter_id(child, usage_point) + qualifiers,
            commodity=measure.commodity,
            unit=measure.unit,
            exponent=(_integer(kinds.get("powerOfTenMultiplier")) or 0) + measure.exponent,
            interval=_integer(kinds.get("intervalLength")),
            currency=_currency(kinds.get("currency")),
            local=self._local_time(local_time),
            extra=_json(extra)[1:-1],
        )

    def _measure(self, kinds: dict[str, str], commodity: str | None) -> _Measure:
        """The uom's unit, power of ten and qualifier; the commodity if the usage point has none."""
        uom = _integer(kinds.get("uom"))
        extra: dict[str, object] = {}
        if uom is None:
            assumed = "therm" if commodity == "gas" else "Wh"
            unit, exponent, qualifier, hint = _unit_of(169 if assumed == "therm" else 72, None)
            extra["assumed_unit"] = assumed
            self.source.repaired(f"IntervalBlocks without a unit of measure read as {assumed}")
        else:
            unit, exponent, qualifier, hint = _unit_of(uom, _currency(kinds.get("currency")))
        if commodity is None:
            commodity = hint or "electricity"
            if hint is None or "assumed_unit" in extra:
                extra["commodity_assumed"] = True
        return _Measure(commodity, unit, exponent, qualifier, extra)

    def _meter_id(self, child: _Entry, usage_point: _Entry | None) -> str:
        if usage_point and (usage_point.self_href or usage_point.id):
            return usage_point.self_href or usage_point.id or ""
        for href in child.hrefs():
            for marker in ("/MeterReading", "/IntervalBlock"):
                if marker in href:
                    return href.partition(marker)[0]
        return child.self_href or "green_button"

    def _local_time(self, entry: _Entry | None) -> espi.LocalTime | None:
        values = entry.values if entry else {}
        tz_offset = _integer(values.get("tzOffset"))
        if tz_offset is None:
            return None
        dst_offset = _integer(values.get("dstOffset")) or 0
        try:
            start = espi.dst_rule(values.get("dstStartRule", "FFFFFFFF"))
            end = espi.dst_rule(values.get("dstEndRule", "FFFFFFFF"))
        except ValueError:
            self.source.repaired("unreadable DST rule in LocalTimeParameters: standard time used")
            start = end = None
        return espi.LocalTime(tz_offset, dst_offset, start, end)


def _commodity(usage_point: _Entry | None, kinds: dict[str, str]) -> str | None:
    service = _integer(usage_point.values.get("service_kind")) if usage_point else None
    if service is not None:
        return espi.SERVICE_KIND.get(service, f"service_kind_{service}")
    return espi.READING_COMMODITY.get(_integer(kinds.get("commodity")) or 0)


def _unit_of(uom: int, currency: str | None) -> tuple[str | None, int, str | None, str | None]:
    """A uom's unit written, power of ten to it, meter_id qualifier and implied commodity."""
    if uom == espi.MONEY:
        return currency, 0, "cost", None
    known = espi.UNITS.get(uom)
    if known is None:
        return f"uom_{uom}", 0, f"uom_{uom}", None
    qualifier = None if known.consumption else known.symbol
    return known.symbol, known.exponent, qualifier, known.commodity


def _currency(text: str | None) -> str | None:
    code = _integer(text)
    return None if code is None else espi.CURRENCY.get(code, str(code))


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# columns


def _numbers(frame: pl.DataFrame, series: dict[int, _Series], source: Source) -> pl.DataFrame:
    """Raw text as numbers, with each reading's series columns; unusable readings rejected."""
    start = pl.col("start").cast(pl.Float64, strict=False)
    value = pl.col("value").cast(pl.Float64, strict=False)
    duration = pl.col("duration").cast(pl.Float64, strict=False).round().cast(pl.Int64)
    frame = frame.join(_series_frame(series), on="entry", how="left", maintain_order="left")
    frame = frame.with_columns(
        start_us=(start * 1_000_000).round().cast(pl.Int64, strict=False),
        duration_s=pl.coalesce(duration, pl.col("interval")),
        raw_cost=pl.col("cost"),
        cost=pl.Series([_cost(text) for text in frame["cost"]], dtype=pl.String),
    )
    problems = [
        (start.is_null() | ~start.is_finite(), "start {start!r} is not epoch seconds"),
        (value.is_null() | ~value.is_finite(), "value {value!r} is not a number"),
        (
            pl.col("duration").is_not_null() & ~duration.is_between(0, 2**31 - 1).fill_null(False),
            "duration {duration!r} is not a number of seconds",
        ),
        (pl.col("duration_s").is_null(), "has no <duration> and its ReadingType no intervalLength"),
        ((pl.col("cost") == "").fill_null(False), "cost {raw_cost!r} is not a number"),
    ]
    found: list[tuple[int, str]] = []
    for bad, reason in problems:
        for row in frame.filter(bad).iter_rows(named=True):
            found.append((row["line"], f"<IntervalReading> {reason.format(**row)}"))
        frame = frame.filter(~bad)
    for line, reason in sorted(found):
        source.reject("energy_readings", reason, line)
    return frame.with_columns(quantity=_scaled(frame.select(value).to_series(), frame["exponent"]))


def _scaled(values: pl.Series, exponents: pl.Series) -> pl.Series:
    """values x 10^exponents, dividing for negative powers: 980500 Wh x 10^-6 is 0.9805
    that way, 0.9804999999999999 by multiplying with 1e-6 (which polars may do)."""
    value, power = values.to_numpy(), exponents.to_numpy()
    ten = np.power(10.0, np.abs(power))
    return pl.Series(np.where(power >= 0, value * ten, value / ten))


def _series_frame(series: dict[int, _Series]) -> pl.DataFrame:
    described = list(series.values())
    return pl.DataFrame(
        {
            "entry": list(series),
            "meter_id": [s.meter_id for s in described],
            "commodity": [s.commodity for s in described],
            "unit": [s.unit for s in described],
            "exponent": [s.exponent for s in described],
            "interval": [s.interval for s in described],
            "currency": [s.currency for s in described],
            "series_extra": [s.extra or None for s in described],
        },
        schema_overrides={"interval": pl.Int64, "unit": pl.String, "currency": pl.String},
    )


def _cost(text: str | None) -> str | None:
    """ESPI hundred-thousandths of the currency as decimal text of the column's scale;
    "" when it is not a number (the caller rejects the reading)."""
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return ""
    if not amount.is_finite():
        return ""
    return str(amount.scaleb(-5).quantize(_HUNDRED_THOUSANDTH, rounding=ROUND_HALF_EVEN))


def _with_offsets(frame: pl.DataFrame, series: dict[int, _Series]) -> pl.DataFrame:
    """utc_offset_min: the reading's own `<timezone>`, else its series' LocalTimeParameters."""
    starts = frame["start_us"].to_numpy()
    entries = frame["entry"].to_numpy()
    offsets = np.zeros(len(starts), dtype=np.int64)
    known = np.zeros(len(starts), dtype=bool)
    for index, described in series.items():
        if described.local is not None:
            rows = np.nonzero(entries == index)[0]
            offsets[rows] = espi.offsets_min(starts[rows], described.local)
            known[rows] = True
    zone = pl.col("zone").str.extract_groups(_ZONE)
    sign = pl.when(zone.struct.field("1") == "-").then(-1).otherwise(1)
    hours, minutes = (zone.struct.field(n).cast(pl.Int64) for n in ("2", "3"))
    from_rules = pl.Series(pa.array(offsets, mask=~known))
    return frame.with_columns(utc_offset_min=pl.coalesce(sign * (hours * 60 + minutes), from_rules))


def _table(frame: pl.DataFrame) -> pa.Table:
    """The frame in energy_readings' exact Arrow shape."""
    members = ["series_extra", "quality", "reading_extra"]
    extra = pl.concat_str(members, separator=",", ignore_nulls=True)
    frame = frame.select(
        "meter_id",
        "commodity",
        pl.from_epoch("start_us", time_unit="us").dt.replace_time_zone("UTC").alias("start_at"),
        "utc_offset_min",
        "duration_s",
        "quantity",
        "unit",
        "cost",
        pl.when(pl.col("cost").is_not_null()).then(pl.col("currency")).alias("currency"),
        pl.when(extra != "").then(pl.concat_str(pl.lit("{"), extra, pl.lit("}"))).alias("extra"),
    )
    return frame.to_arrow().cast(SCHEMA)
