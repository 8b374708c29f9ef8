"""Where the rows of a bank CSV are: its settings, encoding, header row and columns.

`bank_csv` reads a file in two steps. This module does the first: it turns the
`[importers.bank_csv]` options into profiles, decodes the bytes, finds the
header row (a profile's header, or a header with a date and an amount column
found by synonyms) and reads every row after it as text with its line in the
file. The second step, `bank_csv._Statement`, turns those rows into accounts
and transactions.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from selfdata.errors import ParseError
from selfdata.importers._bank_csv_profiles import (
    BUILTIN_PROFILES,
    COLUMN_ROLES,
    SYNONYMS,
    Profile,
    header_key,
    overlay,
)
from selfdata.importers.base import HEAD_BYTES, Source

__all__ = [
    "GENERIC",
    "SANTANDER",
    "Layout",
    "Settings",
    "decode_head",
    "hint",
    "is_energy",
    "rows_of",
    "search_layout",
    "split_line",
    "unique",
]

_DELIMITERS = (",", ";", "\t", "|")
GENERIC = Profile(name="bank_csv")  # an unknown layout: columns found by synonyms
SANTANDER = re.compile(r"(?m)^\s*Date:[^\n]*\n\s*Description:[^\n]*\n\s*Amount:")
_PREAMBLE_LINES = 40  # the header row is looked for this far
_MORE = 6  # fields a row may have beyond its header, kept to repair or reject
_SETTINGS = (
    *("date_format", "date_order", "decimal", "delimiter", "encoding"),
    *("currency", "account", "institution", "account_name", "kind"),
)
_SEP_LINE = re.compile(r"^sep=(.)$")
_ENERGY_KEYS = {"usage", "units", "consumption", "meter", "mpan", "mprn"}
_HEADER_CURRENCY = re.compile(r"[(\[]\s*(?:in\s+)?([A-Z]{3})\s*[)\]]|\s(?:in\s+)?([A-Z]{3})\s*$")


def rows_of(data: bytes, source: Source) -> tuple[pl.DataFrame, Layout]:
    """Every row of a file as text (`__line` its line), and the layout they follow."""
    settings = _settings_of(source)
    chosen = (settings.forced and settings.forced.encoding) or settings.top.encoding
    text, encoding = _decode(data, chosen, source)
    if SANTANDER.search(text[:HEAD_BYTES]):
        frame, layout = _read_santander(text, settings, source)
    else:
        layout = _find_layout(text, settings, source)
        wanted = layout.profile.encoding
        if wanted and codecs.lookup(wanted).name != codecs.lookup(encoding).name:
            # A profile recognised by its header says how the rest is encoded.
            text, encoding = _decode(data, wanted, source)
        frame = _read_table(text, layout, source)
    if encoding in ("cp1252", "latin-1") and not (chosen or layout.profile.encoding):
        source.repaired(f"not UTF-8: read as {encoding}")
    layout.encoding = encoding
    return frame, layout


# settings


@dataclass(frozen=True)
class Settings:
    """The `[importers.bank_csv]` options, checked."""

    top: Profile  # [importers.bank_csv] keys
    user: dict[str, Profile]  # [importers.bank_csv.profiles.NAME]
    forced: Profile | None  # `profile = NAME`


def _settings_of(source: Source) -> Settings:
    options = dict(source.options)
    forced_name = options.pop("profile", None)
    tables = options.pop("profiles", {})
    where = "[importers.bank_csv]"
    if not isinstance(tables, Mapping) or not all(isinstance(t, Mapping) for t in tables.values()):
        raise _config(
            source, f"{where} profiles must be tables: [importers.bank_csv.profiles.NAME]"
        )
    top = _profile_from(source, "bank_csv", options, where)
    user = {
        key: _profile_from(source, key, table, f"[importers.bank_csv.profiles.{key}]")
        for key, table in tables.items()
    }
    forced = None
    if forced_name is not None:
        forced = user.get(str(forced_name)) or BUILTIN_PROFILES.get(str(forced_name))
        if forced is None:
            known = ", ".join([*user, *BUILTIN_PROFILES])
            raise _config(source, f"{where} profile = {forced_name!r} is unknown; known: {known}")
    return Settings(top, user, forced)


def _profile_from(source: Source, key: str, table: Mapping[str, Any], where: str) -> Profile:
    """A Profile from a selfdata.toml table, every value checked."""
    values: dict[str, Any] = {}
    for option, value in table.items():
        if option in (*COLUMN_ROLES, "header", "ignore"):
            values[option] = _names(source, where, option, value)
        elif option in _SETTINGS:
            values[option] = _setting(source, where, option, value)
        elif option == "skip_rows":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _config(source, f"{where} skip_rows must be a whole number >= 0")
            values[option] = value
        elif option == "extra" and isinstance(value, Mapping):
            values[option] = {str(k): str(v) for k, v in value.items()}
        else:
            known = ", ".join(sorted((*COLUMN_ROLES, *_SETTINGS, "header", "skip_rows", "extra")))
            raise _config(source, f"{where} has an unknown key {option!r}; known keys: {known}")
    return Profile(name=key, **values)


def _names(source: Source, where: str, option: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _config(source, f"{where} {option} must be a column name or a list of them")


_CHOICES = {"decimal": (".", ","), "date_order": ("DMY", "MDY", "YMD")}


def _setting(source: Source, where: str, option: str, value: object) -> str:
    """A text setting, checked: one of its choices, one delimiter, a known codec."""
    text = value if isinstance(value, str) else ""
    if option == "delimiter":
        text = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if option in _CHOICES:
        wanted, fits = " or ".join(map(repr, _CHOICES[option])), text in _CHOICES[option]
    elif option == "delimiter":
        wanted, fits = "one character such as ',', ';', '\\t' or '|'", len(text) == 1
    elif option == "encoding":
        wanted, fits = "an encoding Python knows, such as 'cp1252'", _known_codec(text)
    else:
        wanted, fits = "a non-empty string", bool(text)
    if not fits:
        raise _config(source, f"{where} {option} = {value!r}: must be {wanted}")
    return text


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _config(source: Source, problem: str) -> ParseError:
    return ParseError(source.display_name, f"selfdata.toml: {problem}")


# decoding


def _decode(data: bytes, encoding: str | None, source: Source) -> tuple[str, str]:
    """The file's text with `\\n` line ends, and the encoding it was read with."""
    given = encoding is not None
    if encoding is None:
        encoding = _sniff_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        if not encoding.startswith("utf-8") or given:
            problem = f"is not {encoding}: {error.reason} at byte {error.start}"
            raise ParseError(source.display_name, problem) from error
        encoding = "cp1252"  # what Windows banking exports use; latin-1 reads any byte
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            encoding = "latin-1"
            text = data.decode(encoding)
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _sniff_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:2000]
    if sample and sample.count(0) > len(sample) // 4:  # UTF-16 without a BOM
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    return "utf-8"


def decode_head(head: bytes) -> str:
    encoding = _sniff_encoding(head)
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as error:
        # The head may end inside a character; anything earlier is another encoding.
        cut = encoding.startswith("utf-8") and error.start >= len(head) - 3
        text = head[: error.start].decode(encoding) if cut else head.decode("cp1252", "replace")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def is_energy(lines: list[str]) -> bool:
    """A meter-reading CSV (Green Button, a supplier's export): another importer's."""
    first_cells = set()
    for line in lines[:20]:
        cells = [split_line(line, d) for d in _DELIMITERS]
        keys = {header_key(c) for row in cells for c in row}
        if keys & _ENERGY_KEYS or any("kwh" in k for k in keys):
            return True
        first_cells |= {header_key(row[0]) for row in cells if row}
    # Green Button's `Name,...` / `Address,...` / `Account Number,...` / `Service,...` lines.
    return {"name", "address", "account number", "service"} <= first_cells


# the layout: which line is the header, which columns play which role


@dataclass
class Layout:
    """Where a file's rows are and what its columns mean."""

    profile: Profile  # the recognised profile merged with the top-level options
    generic: bool  # no profile: columns found by synonyms
    header_index: int  # 0-based line of the header row
    delimiter: str
    names: list[str]  # column names, unique
    roles: dict[str, list[str]]  # role -> column names present
    preamble: dict[str, str] = field(default_factory=dict)  # `Key:`, value lines before it
    currencies: dict[str, str] = field(default_factory=dict)  # column -> code in its header
    encoding: str = "utf-8"


def _find_layout(text: str, settings: Settings, source: Source) -> Layout:
    lines = text.split("\n", _PREAMBLE_LINES + 1)[:_PREAMBLE_LINES]
    layout = search_layout(lines, settings)
    if layout is None:
        raise _no_header(lines, settings, source)
    return layout


def _no_header(lines: list[str], settings: Settings, source: Source) -> ParseError:
    """No header found: what was looked for, and the first line's names as a start."""
    shown = next((line for line in lines if line.strip()), "")
    cells = max((split_line(shown, d) for d in _DELIMITERS), key=len)
    guess = [c for c in cells if c] or ["Date", "Amount"]
    keys: list[tuple[str, str, tuple[str, ...]]] = [
        ("date", guess[0], ()),
        ("amount", guess[-1], ()),
    ]
    if len(cells) > 1:
        delimiter = next(d for d in _DELIMITERS if len(split_line(shown, d)) == len(cells))
        keys.append(("delimiter", delimiter, ()))
    wanted = "a date column and an amount column"
    if settings.forced:
        profile = settings.forced
        columns = profile.header or (*profile.date, *profile.amount, *profile.debit)
        wanted = f"the columns of profile {profile.name!r} ({', '.join(columns)})"
    problem = (
        f"no header row with {wanted} in the first {_PREAMBLE_LINES} lines "
        f"(the first line is {shown[:120]!r}). " + hint(None, "name the columns", keys, guess)
    )
    return ParseError(source.display_name, problem)


def search_layout(lines: list[str], settings: Settings) -> Layout | None:
    """The first line that is a profile's header, or a header with a date and an amount."""
    top, start = settings.top, 0
    delimiters: tuple[str, ...] = _DELIMITERS
    if lines and (sep := _SEP_LINE.match(lines[0].strip())):
        delimiters, start = (sep[1],), 1
    if top.delimiter or (settings.forced and settings.forced.delimiter):
        delimiters = ((settings.forced and settings.forced.delimiter) or top.delimiter or ",",)
    skip = settings.forced.skip_rows if settings.forced else None
    skip = skip if skip is not None else top.skip_rows
    indexes = [skip] if skip is not None else range(start, len(lines))
    candidates = _candidates(settings)
    for index in indexes:
        if index >= len(lines) or not lines[index].strip():
            continue
        found = _header_at(lines, index, delimiters, candidates, settings)
        if found is not None:
            return found
    return None


def _candidates(settings: Settings) -> list[Profile]:
    if settings.forced:
        return [settings.forced]
    known = [p for p in (*settings.user.values(), *BUILTIN_PROFILES.values()) if p.header]
    # User profiles first; among the others, the most specific header first.
    return sorted(known, key=lambda p: (p.name not in settings.user, -len(p.header)))


def _header_at(
    lines: list[str],
    index: int,
    delimiters: tuple[str, ...],
    candidates: list[Profile],
    settings: Settings,
) -> Layout | None:
    generic: Layout | None = None
    for delimiter in delimiters:
        cells = split_line(lines[index], delimiter)
        if len(cells) < 2:
            continue
        keys = [header_key(c) for c in cells]
        for profile in candidates:
            if profile.recognises(keys) or (profile is settings.forced and not profile.header):
                merged = _merge(overlay(GENERIC, settings.top), profile)
                layout = _make_layout(merged, False, lines, index, delimiter, cells)
                if _has_money(layout.roles):
                    return layout
        if settings.forced is None:
            layout = _make_layout(
                overlay(GENERIC, settings.top), True, lines, index, delimiter, cells
            )
            if _has_money(layout.roles) and (
                generic is None or len(layout.names) > len(generic.names)
            ):
                generic = layout
    return generic


def _merge(top: Profile, profile: Profile) -> Profile:
    """The profile over the top-level options; its own date rule beats theirs."""
    merged = overlay(top, profile)
    if profile.date_format or profile.date_order:
        merged = replace(merged, date_format=profile.date_format, date_order=profile.date_order)
    return merged


def _has_money(roles: dict[str, list[str]]) -> bool:
    return "date" in roles and any(r in roles for r in ("amount", "debit", "credit"))


def _make_layout(
    profile: Profile, generic: bool, lines: list[str], index: int, delimiter: str, cells: list[str]
) -> Layout:
    names = unique([c.strip().strip('"').strip() or f"column_{i + 1}" for i, c in enumerate(cells)])
    keys = [header_key(n) for n in names]
    currencies = {
        n: next(c for c in found.groups() if c)
        for n, found in ((n, _HEADER_CURRENCY.search(n)) for n in names)
        if found
    }
    preamble = _preamble(lines[:index], delimiter)
    roles = _roles(profile, names, keys)
    return Layout(profile, generic, index, delimiter, names, roles, preamble, currencies)


def _roles(profile: Profile, names: list[str], keys: list[str]) -> dict[str, list[str]]:
    """Role -> columns: the profile's, then (unless it maps every column) synonyms."""
    roles: dict[str, list[str]] = {}
    taken = {header_key(c) for c in (*profile.extra, *profile.ignore)}
    for role in COLUMN_ROLES:
        for column in getattr(profile, role):
            if header_key(column) in keys:
                position = keys.index(header_key(column))
                roles.setdefault(role, []).append(names[position])
                taken.add(keys[position])
    if profile.complete:
        return roles
    for role in COLUMN_ROLES:
        if role in roles or (role in ("debit", "credit") and "amount" in roles):
            continue
        for synonym in SYNONYMS.get(role, ()):
            if synonym in keys and synonym not in taken:
                roles[role] = [names[keys.index(synonym)]]
                taken.add(synonym)
                break
    if "amount" in roles:  # a signed amount beside Money out/in: the split goes to extra
        roles.pop("debit", None), roles.pop("credit", None)
    return roles


def _preamble(lines: list[str], delimiter: str) -> dict[str, str]:
    """`Key:`, `value` lines above the header (Nationwide's account and balances)."""
    found = {}
    for line in lines:
        cells = [c.strip() for c in split_line(line, delimiter) if c.strip()]
        if len(cells) == 1 and ":" in cells[0]:
            cells = [part.strip() for part in cells[0].split(":", 1)]
        if len(cells) == 2:
            found[cells[0].rstrip(":").strip()] = cells[1]
    return found


def split_line(line: str, delimiter: str) -> list[str]:
    """One line split on `delimiter`, honouring double quotes."""
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def unique(names: list[str]) -> list[str]:
    """Names made unique: a repeated `Description` becomes `Description_2`."""
    seen: dict[str, int] = {}
    result = []
    for column in names:
        seen[column] = seen.get(column, 0) + 1
        result.append(column if seen[column] == 1 else f"{column}_{seen[column]}")
    return result


# reading the rows


def _read_table(text: str, layout: Layout, source: Source) -> pl.DataFrame:
    """Every row after the header as text, stripped, with its line in the file (`__line`)."""
    parts = text.split("\n", layout.header_index + 1)
    body = parts[-1] if len(parts) > layout.header_index + 1 else ""
    more = [f"__more{i}" for i in range(_MORE)]
    schema = {column: pl.String for column in [*layout.names, *more]}
    first_line = layout.header_index + 2
    try:
        frame = pl.read_csv(
            body.encode("utf-8"),
            has_header=False,
            schema=schema,
            separator=layout.delimiter,
            missing_columns="insert",
            truncate_ragged_lines=True,
            empty_string_is_null=False,
            raise_if_empty=False,
            infer_schema=False,
        )
    except pl.exceptions.PolarsError as error:
        line = _unclosed_quote(body, first_line)
        problem = "a quoted field opened here is never closed" if line else f"not CSV: {error}"
        raise ParseError(source.display_name, problem, line=line) from error
    # A quoted field may hold line breaks; each one moves the next rows down a line.
    breaks = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in schema
    )
    frame = frame.with_columns(
        (first_line + pl.int_range(pl.len()) + breaks.cum_sum() - breaks).alias("__line")
    )
    frame = _overflow(frame, layout, more, source)
    return frame.with_columns(_cleaned(pl.col(c), layout.profile).alias(c) for c in layout.names)


def _unclosed_quote(body: str, first_line: int) -> int | None:
    """The line where a quoted field opens that no later quote closes."""
    opened, start = False, None
    for number, line in enumerate(body.split("\n"), start=first_line):
        if line.count('"') % 2:
            opened = not opened
            start = number if opened else None
    return start


def _overflow(frame: pl.DataFrame, layout: Layout, more: list[str], source: Source) -> pl.DataFrame:
    """Rows with more fields than the header: re-joined into the profile's overflow
    column (an unquoted delimiter inside it), else rejected. Empty extras are ignored."""
    spill = pl.max_horizontal(
        pl.when(pl.col(m).str.strip_chars() != "").then(i + 1).otherwise(0)
        for i, m in enumerate(more)
    )
    frame = frame.with_columns(spill.alias("__spill"))
    target = layout.profile.overflow
    if target and header_key(target) in [header_key(n) for n in layout.names]:
        position = [header_key(n) for n in layout.names].index(header_key(target))
        frame = _rejoin(frame, layout.names + more, position, len(layout.names), layout.delimiter)
        fixable = pl.col("__spill").is_between(1, _MORE - 1)
        source.repaired(
            f"unquoted {layout.delimiter!r} in {layout.names[position]!r} re-joined",
            int(frame.select(fixable.sum()).item()),
        )
        frame = frame.with_columns(pl.when(fixable).then(0).otherwise("__spill").alias("__spill"))
    bad = frame.filter(pl.col("__spill") > 0)
    fields = len(layout.names)
    for line, spill in bad.select("__line", "__spill").iter_rows():
        extra = f"{fields + spill}+" if spill == _MORE else str(fields + spill)
        source.reject("transactions", f"{extra} fields where the header has {fields}", line)
    return frame.filter(pl.col("__spill") == 0).drop([*more, "__spill"])


def _rejoin(
    frame: pl.DataFrame, columns: list[str], position: int, width: int, delimiter: str
) -> pl.DataFrame:
    """Where a row spilled k fields, join k+1 fields back into `position`, shift the rest."""
    spill = pl.col("__spill")
    updates = []
    for target in range(position, width):
        expression = pl.col(columns[target])
        for k in range(_MORE - 1, 0, -1):
            if target == position:
                value = pl.concat_str(
                    [pl.col(c) for c in columns[position : position + k + 1]], separator=delimiter
                )
            else:
                value = pl.col(columns[target + k])
            expression = pl.when(spill == k).then(value).otherwise(expression)
        updates.append(expression.alias(columns[target]))
    return frame.with_columns(updates)


def _cleaned(column: pl.Expr, profile: Profile) -> pl.Expr:
    text = column.str.strip_chars()
    if profile.excel_guard:
        text = text.str.strip_prefix("'").str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _read_santander(text: str, settings: Settings, source: Source) -> tuple[pl.DataFrame, Layout]:
    """Santander UK's TXT statement: `Key: value` lines, a blank line between records."""
    lines = pl.DataFrame({"text": text.split("\n")}).with_row_index("__line", offset=1)
    pair = r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$"
    lines = lines.with_columns(pl.col("text").str.extract_groups(pair).alias("kv")).unnest("kv")
    lines = lines.with_columns((pl.col("key") == "Date").cum_sum().alias("__record"))
    head = lines.filter((pl.col("__record") == 0) & pl.col("key").is_not_null())
    preamble = dict(head.select("key", "value").iter_rows())
    stray = lines.filter(
        (pl.col("__record") > 0)
        & pl.col("key").is_null()
        & (pl.col("text").str.strip_chars() != "")
    )
    for line, content in stray.select("__line", "text").iter_rows():
        source.reject("transactions", f"not a 'Key: value' line: {content.strip()[:60]!r}", line)
    pairs = lines.filter((pl.col("__record") > 0) & pl.col("key").is_not_null())
    frame = pairs.pivot(on="key", index="__record", values="value", aggregate_function="first")
    starts = pairs.group_by("__record").agg(pl.col("__line").min())
    frame = frame.join(starts, on="__record").sort("__line").drop("__record")
    profile = _merge(overlay(GENERIC, settings.top), BUILTIN_PROFILES["santander"])
    for column in ("Date", "Description", "Amount", "Balance"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    names = [c for c in frame.columns if c != "__line"]
    frame = frame.with_columns(_cleaned(pl.col(c), profile).alias(c) for c in names)
    roles = _roles(profile, names, [header_key(n) for n in names])
    return frame, Layout(profile, False, 0, ":", names, roles, preamble)


def hint(
    layout: Layout | None,
    action: str,
    settings: list[tuple[str, str, tuple[str, ...]]],
    header: list[str] | None = None,
) -> str:
    """How to settle it in selfdata.toml, ready to paste: `settings` are (key, value,
    other possible values) lines for [importers.bank_csv], repeated in a profile."""
    top = []
    for key, value, others in settings:
        alternatives = "  # or " + ", ".join(_toml(o) for o in others) if others else ""
        top.append(f"    {key} = {_toml(value)}{alternatives}")
    return (
        f"To {action}, add to selfdata.toml beside the vault:\n\n"
        "    [importers.bank_csv]\n" + "\n".join(top) + "\n\n"
        "or describe this bank once, as a profile recognised by its header row "
        '(or used for every file with `profile = "mybank"` under [importers.bank_csv]):\n\n'
        + _profile_example(layout, {key: value for key, value, _ in settings}, header)
    )


def _profile_example(
    layout: Layout | None, settled: dict[str, str], header: list[str] | None
) -> str:
    roles = layout.roles if layout else {}
    names = layout.names if layout else header or ["Date", "Description", "Amount"]
    columns = {"date": (roles.get("date") or [names[0]])[0]}
    for role in [r for r in ("amount", "debit", "credit") if r in roles] or ["amount"]:
        columns[role] = (roles.get(role) or [names[-1]])[0]
    if "description" in roles:
        columns["description"] = roles["description"][0]
    settings = {
        "date_format": "%d/%m/%Y",
        "decimal": ".",
        "delimiter": layout.delimiter if layout else ",",
        "encoding": layout.encoding if layout else "utf-8",
        "skip_rows": layout.header_index if layout else 0,
        "currency": "EUR",
        "account": "DE89 3704 0044 0532 0130 00",
    }
    if "date_order" in settled:
        settings.pop("date_format")
    lines = ["[importers.bank_csv.profiles.mybank]"]
    lines.append(f"header = [{', '.join(_toml(n) for n in names[:8])}]")
    lines += [
        f"{key} = {_toml(value)}" for key, value in {**columns, **settings, **settled}.items()
    ]
    return "\n".join("    " + line for line in lines)


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
