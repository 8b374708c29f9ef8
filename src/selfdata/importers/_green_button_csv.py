"""The utilities' Green Button "Download My Data" CSV, for the Green Button importer.

There is no published spec; this is the layout PG&E (and utilities on the same
platform) write, one file per service:

    Name,JANE DOE
    Address,"1 MAIN ST, SAN FRANCISCO CA 94105"
    Account Number,1234567890
    Service,Service 1

    TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES
    Electric usage,2024-01-01,00:00,00:59,0.34,kWh,$0.08,
    Natural gas usage,2024-01-01,00:00,23:59,1.02,therms,$1.45,

Solar (net-metered) accounts have `IMPORT (kWh),EXPORT (kWh)` in place of
`USAGE,UNITS`. The preamble may be missing; the header must be there.

Each data row is one `energy_readings` row; an `EXPORT` value is a second one
whose `meter_id` ends in `#reverse`, as the XML feed's reverse-flow series does.

- `meter_id` is `ACCOUNT/SERVICE` from the preamble (`1234567890/Service 1`),
  else `green_button_csv` with a repair note.
- `commodity` from TYPE (`Electric usage` → electricity, `Natural gas usage` →
  gas, `Water usage` → water, any other "X usage" → x), else from the unit.
- `quantity`/`unit`: kWh, therms (→ therm), CCF (→ ft3, times 100), m3 and gallons
  (→ gal); any other unit is kept as written. Grouping commas are allowed.
- `cost` from COST (`$0.08`, `-$0.05`, `($0.05)`), `currency` USD when it is
  written with `$` (option `currency` overrides: Canadian utilities write `$` too).
- DATE is ISO or M/D/YYYY; times are local wall-clock times with no offset,
  read in the IANA zone `timezone` of `[importers.green_button]` in
  selfdata.toml, else UTC (with a repair note). END TIME names the last minute
  of the interval (`00:59`), so an hour is 3600 s; an END TIME on a five-minute
  boundary (`01:00`) is taken as the interval's end. Durations are wall-clock,
  so a daily row is 86400 s even on a DST change day.
- The hour the clocks go back happens twice and is listed twice: its first row
  is read as the earlier instant (daylight time), the second as the later.
  A time the clocks skip does not exist and its row is rejected.
- `extra`: `timezone` (the zone the wall times were read in) and `notes`.

A row whose date, times or usage cannot be read is rejected with its line
(the file's line numbers assume no line breaks inside quoted fields, which
these exports never have).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import pyarrow as pa

from selfdata.errors import IngestError, ParseError
from selfdata.importers.base import Batch, Source
from selfdata.importers.columns import canonical_schema

__all__ = ["detect", "read"]

SCHEMA = canonical_schema("energy_readings")

_HEADER = re.compile(r'^"?TYPE"?\s*,\s*"?DATE"?\s*,\s*"?START TIME"?\s*,', re.IGNORECASE)
_PREAMBLE_KEYS = ("name", "address", "account number", "service")
# Units as written (lower-cased) -> (unit, power of ten from the written unit to it).
_USAGE_UNITS = {
    "kwh": ("kWh", 0),
    "wh": ("kWh", -3),
    "therm": ("therm", 0),
    "therms": ("therm", 0),
    "ccf": ("ft3", 2),
    "m3": ("m3", 0),
    "gallons": ("gal", 0),
    "gal": ("gal", 0),
}
_UNIT_COMMODITY = {"kWh": "electricity", "therm": "gas", "ft3": "gas", "m3": "gas", "gal": "water"}
_TYPE_COMMODITY = {"electric": "electricity", "natural gas": "gas", "gas": "gas"}
_COLUMN_UNIT = re.compile(r"\((.+)\)")
_FALLBACK_METER = "green_button_csv"


def detect(head: bytes) -> bool:
    """True when the head is preamble lines (`Name,...`), then the `TYPE,DATE,START TIME` header.

    Example:
        >>> detect(b"Name,JANE DOE\\nAccount Number,1\\n\\nTYPE,DATE,START TIME,END TIME,USAGE\\n")
        True
    """
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    for line in text.splitlines():
        if _HEADER.match(line):
            return True
        key = line.partition(",")[0].strip().strip('"').lower()
        if line.strip() and key not in _PREAMBLE_KEYS:
            return False
    return False


def read(source: Source) -> Iterator[Batch]:
    """The download's rows as one energy_readings batch (these files are small)."""
    lines = _text(source).splitlines()
    header = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if header is None:
        raise ParseError(source.display_name, "no TYPE,DATE,START TIME,... header line")
    preamble = _preamble(lines[:header])
    frame = _frame(lines, header, source)
    zone = _zone(source)
    meter_id = _meter_id(preamble, source)
    rows = _rows(frame, zone, meter_id, source)
    if rows.num_rows:
        yield Batch("energy_readings", rows)


def _text(source: Source) -> str:
    with source.open() as stream:
        data = stream.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        source.repaired("not UTF-8: read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _preamble(lines: Sequence[str]) -> dict[str, str]:
    """`Key,Value` lines before the header, keys lower-cased."""
    found: dict[str, str] = {}
    for fields in csv.reader(lines):
        if len(fields) >= 2 and fields[0].strip():
            found[fields[0].strip().lower()] = fields[1].strip()
    return found


def _frame(lines: Sequence[str], header: int, source: Source) -> pl.DataFrame:
    """The table from the header on, every column text, plus each row's file line."""
    body = "\n".join(lines[header:])
    try:
        frame = pl.read_csv(
            io.StringIO(body), infer_schema=False, truncate_ragged_lines=True, quote_char='"'
        )
    except pl.exceptions.PolarsError as error:
        raise ParseError(source.display_name, f"unreadable CSV: {error}", line=header + 1) from None
    frame = frame.rename({c: c.strip().upper() for c in frame.columns})
    missing = [c for c in ("TYPE", "DATE", "START TIME", "END TIME") if c not in frame.columns]
    if missing or not _amount_columns(frame.columns):
        wanted = ", ".join(missing) or "USAGE or IMPORT (kWh)"
        raise ParseError(source.display_name, f"the header has no {wanted} column", line=header + 1)
    # Data starts on the line after the header; the header's file line is header + 1.
    return frame.with_columns(line=pl.int_range(pl.len(), dtype=pl.Int64) + header + 2)


def _amount_columns(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c == "USAGE" or c.startswith(("IMPORT", "EXPORT"))]


def _zone(source: Source) -> str:
    zone = source.options.get("timezone")
    if zone is None:
        source.repaired("no [importers.green_button] timezone: local times read as UTC")
        return "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        problem = (
            f'timezone = {zone!r} is not an IANA time zone; use one like "America/Los_Angeles"'
        )
        raise IngestError(
            source.display_name, f"selfdata.toml [importers.green_button] {problem}"
        ) from None
    return str(zone)


def _meter_id(preamble: dict[str, str], source: Source) -> str:
    parts = [preamble.get(key, "") for key in ("account number", "service")]
    if not any(parts):
        source.repaired(f"no Account Number or Service in the preamble: meter_id {_FALLBACK_METER}")
        return _FALLBACK_METER
    return "/".join(part for part in parts if part)


def _rows(frame: pl.DataFrame, zone: str, meter_id: str, source: Source) -> pa.Table:
    """Parse, localise and reject, then one row per USAGE/IMPORT value and per EXPORT value."""
    frame = _localised(_parsed(frame), zone)
    found: list[tuple[int, str]] = []
    checks = [
        (pl.col("date").is_null(), "DATE {DATE!r} is not a date"),
        (pl.col("start").is_null(), "START TIME {START TIME!r} is not a time"),
        (pl.col("end").is_null(), "END TIME {END TIME!r} is not a time"),
        (pl.col("duration_s") <= 0, "START and END TIME are both {START TIME!r}"),
        (pl.col("start_at").is_null(), "local time {local} does not exist in " + zone),
        (pl.col("bad_cost"), "COST {COST!r} is not an amount"),
    ]
    for check, reason in checks:
        frame = _reject(frame, check, reason, found)
    currency = source.options.get("currency")
    series = []
    for column in _amount_columns(frame.columns):
        exported = column.startswith("EXPORT")
        amounts = _amounts(frame, column, meter_id + ("#reverse" if exported else ""))
        written = pl.col(column).is_not_null()
        unreadable = pl.col("quantity").is_null() & written
        amounts = _reject(amounts, unreadable, f"{column} {{{column}!r}} is not a number", found)
        # A blank EXPORT is no reading; a blank USAGE or IMPORT is a reading without its value.
        if not exported:
            amounts = _reject(amounts, ~written, f"{column} is empty", found)
        amounts = amounts.filter(pl.col("quantity").is_not_null())
        if exported:
            amounts = amounts.with_columns(cost=None)
        series.append(_shaped(amounts, zone, currency).cast(SCHEMA))
    for line, reason in sorted(found):
        source.reject("energy_readings", reason, line)
    return pa.concat_tables(series) if series else SCHEMA.empty_table()


def _reject(
    frame: pl.DataFrame, bad: pl.Expr, reason: str, found: list[tuple[int, str]]
) -> pl.DataFrame:
    """`frame` without the rows `bad` selects; their lines and reasons added to `found`."""
    bad = bad.fill_null(False)
    for row in frame.filter(bad).iter_rows(named=True):
        found.append((row["line"], reason.format_map(_Names(row))))
    return frame.filter(~bad)


class _Names(dict[str, object]):
    """`str.format_map` values keyed by column names with spaces (`{START TIME!r}`)."""

    def __missing__(self, key: str) -> object:
        return None


def _parsed(frame: pl.DataFrame) -> pl.DataFrame:
    """DATE, START/END TIME and COST as values; duration from the two times."""
    date = pl.col("DATE").str.strip_chars()
    start, end = (_clock(pl.col(c)) for c in ("START TIME", "END TIME"))
    minutes = ((end.cast(pl.Int64) - start.cast(pl.Int64)) // 60_000_000_000) % 1440
    inclusive = (minutes + 1) % 5 == 0  # 00:59 names the last minute of the hour
    cost_text = _cost_text(pl.col("COST")) if "COST" in frame.columns else pl.lit(None, pl.String)
    return frame.with_columns(
        date=pl.coalesce(
            date.str.to_date("%Y-%m-%d", strict=False), date.str.to_date("%m/%d/%Y", strict=False)
        ),
        start=start,
        end=end,
        duration_s=(minutes + inclusive.cast(pl.Int64)) * 60,
        cost_text=cost_text,
        cost=cost_text.cast(pl.Decimal(18, 5), strict=False),
    ).with_columns(bad_cost=pl.col("cost").is_null() & pl.col("cost_text").is_not_null())


def _clock(column: pl.Expr) -> pl.Expr:
    text = column.str.strip_chars()
    return pl.coalesce(
        text.str.to_time("%H:%M", strict=False), text.str.to_time("%H:%M:%S", strict=False)
    )


def _cost_text(column: pl.Expr) -> pl.Expr:
    """`$1,234.50`, `-$0.05`, `($0.05)` as plain signed decimal text; blank as null."""
    text = column.str.replace_all(r"[\s$,]", "")
    signed = text.str.replace(r"^\((.*)\)$", "-$1")
    return pl.when(signed != "").then(signed)


def _localised(frame: pl.DataFrame, zone: str) -> pl.DataFrame:
    """Wall times as UTC instants and offsets; a repeated wall time is the later instant."""
    local = pl.col("date").dt.combine(pl.col("start"))
    frame = frame.with_columns(local=local)
    second = pl.int_range(pl.len()).over(["TYPE", "local"]) > 0
    ambiguous = pl.when(second).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    zoned = pl.col("local").dt.replace_time_zone(zone, ambiguous=ambiguous, non_existent="null")
    frame = frame.with_columns(start_at=zoned.dt.convert_time_zone("UTC"))
    utc_wall = pl.col("start_at").dt.replace_time_zone(None)
    return frame.with_columns(utc_offset_min=(pl.col("local") - utc_wall).dt.total_minutes())


def _amounts(frame: pl.DataFrame, column: str, meter_id: str) -> pl.DataFrame:
    """One series: quantity and unit from `column` (and UNITS), commodity from TYPE or unit."""
    named = _COLUMN_UNIT.search(column)
    written = pl.lit(named[1]) if named else pl.col("UNITS") if "UNITS" in frame.columns else None
    raw_unit = (written if written is not None else pl.lit(None, pl.String)).str.strip_chars()
    key = raw_unit.str.to_lowercase()
    unit = key.replace_strict({k: u for k, (u, _) in _USAGE_UNITS.items()}, default=raw_unit)
    exponent = key.replace_strict({k: e for k, (_, e) in _USAGE_UNITS.items()}, default=0)
    number = (
        pl.col(column).str.replace_all(",", "").str.strip_chars().cast(pl.Float64, strict=False)
    )
    return frame.with_columns(
        meter_id=pl.lit(meter_id),
        # Divide rather than multiply by 10^-3: 1250.5 Wh is 1.2505 kWh, not 1.2505000000000002.
        quantity=pl.when(exponent >= 0)
        .then(number * pl.lit(10).pow(exponent).cast(pl.Float64))
        .otherwise(number / pl.lit(10).pow(-exponent).cast(pl.Float64)),
        unit=unit,
    ).with_columns(commodity=_commodity(pl.col("TYPE"), pl.col("unit")))


def _commodity(kind: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """From TYPE ("Natural gas usage"), else from the unit, else electricity."""
    word = kind.str.strip_chars().str.to_lowercase().str.replace(r"\s+usage$", "")
    from_unit = unit.replace_strict(_UNIT_COMMODITY, default="electricity")
    from_type = word.replace_strict(_TYPE_COMMODITY, default=word)
    return pl.when(word.is_null() | (word == "")).then(from_unit).otherwise(from_type)


def _shaped(frame: pl.DataFrame, zone: str, currency: str | None) -> pa.Table:
    dollars = pl.col("COST").str.contains("$", literal=True) if "COST" in frame.columns else False
    zone_only = json.dumps({"timezone": zone}, separators=(",", ":"))
    notes = (
        pl.col("NOTES").str.strip_chars() if "NOTES" in frame.columns else pl.lit(None, pl.String)
    )
    with_notes = pl.struct(timezone=pl.lit(zone), notes=notes).struct.json_encode()
    return frame.select(
        "meter_id",
        "commodity",
        "start_at",
        pl.col("utc_offset_min").cast(pl.Int16),
        pl.col("duration_s").cast(pl.Int32),
        "quantity",
        "unit",
        "cost",
        pl.when(pl.col("cost").is_not_null())
        .then(pl.lit(currency) if currency else pl.when(dollars).then(pl.lit("USD")))
        .alias("currency"),
        pl.when((notes == "") | notes.is_null())
        .then(pl.lit(zone_only))
        .otherwise(with_notes)
        .alias("extra"),
    ).to_arrow()
