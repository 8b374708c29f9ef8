"""Personal data written into a template: places, IBANs, addresses, phone numbers, series.

A template is shared; the person's data belongs in their vault, read at run
time, never in the notebook. This check searches the notebook's sources and
metadata (not its outputs: `stored_outputs` asks for those to be cleared) for
what identifies a person or a place they go, and shows each hit by kind and
masked (`51.*****…`), never whole.

What it looks for, and what it lets through:

- Coordinates: `geo:` URIs, degrees-minutes-seconds, `lat=`/`lon=` style
  names with a value, E7 integers (`latitudeE7`), and bare pairs of decimals
  with three or more places inside the range of a latitude and longitude.
  A pair both under 1 is two fractions (0.025, 0.975), not a place.
- IBANs: only those whose mod-97 check digits hold, at their country's
  length (SWIFT IBAN registry).
- E-mail addresses: reserved example domains (`example.com/.net/.org`,
  `*.example`, `*.test`, `*.invalid`, `*.localhost`; RFC 2606) and role
  addresses that belong to no person (`noreply@`, `no-reply@`, `donotreply@`,
  `postmaster@`, `mailer-daemon@`) are allowed; every other address is a finding.
- Phone numbers: only the international form (`+44 20 7946 0958`) with 8 to
  15 digits; national forms cannot be told from amounts and dates.
- Number series: 12 or more numbers in a row in text, or in one list, tuple,
  set or dict literal, unless they step evenly (0, 1, 2... or 5, 5, 5...),
  which is made up, not measured.

Code cells are searched whole for coordinates and number series, and only in
their strings and comments for the rest, so `x@df.T` is no address. Limits:
data built at run time (decoded, read from a file, split across strings) is
not seen, and a made-up coordinate looks like a real one.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

from selfdata.templates._scan_code import Finding, cell_source, line_at, parse_cell, words

_PAIR = re.compile(r"(?<![\w.])(-?\d{1,2}\.\d{3,})\s*[,;]?\s*(-?\d{1,3}\.\d{3,})(?![\w.])")
_NAMED = re.compile(
    r"(?i)(?<![a-z])(?:lat|lats|latitude|lon|lng|long|longitude)(?![a-z])[\w]*[\"']?\s*[:=]\s*"
    r"(-?\d{1,3}\.\d{3,})(?![\w.])"
)
_E7 = re.compile(
    r"(?i)(?<![a-z])(?:lat|lng|lon|latitude|longitude)_?e7[\"']?\s*[:=]\s*(-?\d{5,10})(?!\d)"
)
_GEO_URI = re.compile(r"(?i)\bgeo:-?\d{1,2}(?:\.\d+)?,-?\d{1,3}(?:\.\d+)?")
_DMS = re.compile(r"\d{1,3}°\s*\d{1,2}['\u2032]\s*\d{1,2}(?:\.\d+)?[\"\u2033]?\s*[NSEW]")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])"
)
_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_SERIES = 12
_ROLE_MAILBOXES = words(
    "noreply no-reply no_reply donotreply do-not-reply do_not_reply postmaster mailer-daemon"
)
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "test", "invalid", "localhost")
# IBAN lengths per country (SWIFT IBAN registry); an unknown country only needs mod-97.
_IBAN_LENGTHS = {
    code: int(length)
    for code, length in re.findall(
        r"([A-Z]{2}):(\d+)",
        "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BI:27 BR:29 BY:28 CH:21 CR:22 "
        "CY:28 CZ:24 DE:22 DJ:27 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FK:18 FO:18 FR:27 GB:22 "
        "GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 IT:27 JO:30 KW:30 "
        "KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 LV:21 LY:25 MC:27 MD:24 ME:22 MK:19 MN:20 MR:27 "
        "MT:31 MU:30 NI:28 NL:18 NO:15 OM:23 PK:24 PL:28 PS:29 PT:25 QA:29 RO:24 RS:22 RU:33 "
        "SA:24 SC:31 SD:18 SE:24 SI:19 SK:24 SM:27 SO:23 ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 "
        "VA:22 VG:24 XK:20",
    )
}


def personal_findings(nb: Any) -> list[Finding]:
    """Every personal-data finding in the notebook's metadata and cells, in notebook order."""
    metadata = json.dumps(dict(nb.get("metadata", {})), ensure_ascii=False)
    found = [
        _personal("metadata", kind, excerpt)
        for _, kind, excerpt in _coordinate_hits(metadata) + _text_hits(metadata)
    ]
    for number, cell in enumerate(nb.cells, 1):
        hits = _cell_hits(number, cell)
        # One finding per kind and line: a line of ten addresses is one thing to fix.
        once = {(line, kind): excerpt for line, kind, excerpt in reversed(hits)}
        found += [
            _personal(f"cell {number}, line {line}", kind, excerpt)
            for (line, kind), excerpt in sorted(once.items())
        ]
    return found


def _cell_hits(number: int, cell: Any) -> list[tuple[int, str, str]]:
    """(line, kind, masked excerpt) of each hit in one cell's source."""
    source = cell_source(cell)
    if cell.cell_type != "code":
        return _coordinate_hits(source) + _text_hits(source)
    hits = _coordinate_hits(source)
    hits += _literal_series(parse_cell(number, source).tree)
    for line, segment in _strings_and_comments(source):
        hits += [(line + at - 1, kind, excerpt) for at, kind, excerpt in _text_hits(segment)]
    return hits


def _personal(where: str, kind: str, excerpt: str) -> Finding:
    return Finding(
        "personal-data",
        where,
        f"the notebook holds {kind} ({excerpt}); take it out and let the template read "
        "the person's own data from the vault",
    )


def _coordinate_hits(text: str) -> list[tuple[int, str, str]]:
    """(line, kind, masked excerpt) of every coordinate in `text`, each said once."""
    hits: list[tuple[int, str, str]] = []
    taken: list[range] = []
    kinds = (
        (_GEO_URI, "a geo: URI"),
        (_DMS, "coordinates"),
        (_E7, "an E7 coordinate"),
        (_NAMED, "a coordinate"),
        (_PAIR, "coordinates"),
    )
    for pattern, kind in kinds:
        for match in pattern.finditer(text):
            span = range(match.start(), match.end())
            if any(span.start < t.stop and t.start < span.stop for t in taken):
                continue  # the geo: URI's numbers are not a second finding
            if pattern is _PAIR and not _plausible_pair(float(match[1]), float(match[2])):
                continue
            taken.append(span)
            value = match[1] if pattern in (_E7, _NAMED) else match[0]
            hits.append((line_at(text, match.start()), kind, _masked(value)))
    return hits


def _plausible_pair(lat: float, lon: float) -> bool:
    # Both under 1 is a pair of fractions (0.025, 0.975), not a place in the Gulf of Guinea.
    return abs(lat) <= 90 and abs(lon) <= 180 and max(abs(lat), abs(lon)) >= 1


def _text_hits(text: str) -> list[tuple[int, str, str]]:
    """(line, kind, masked excerpt) of IBANs, addresses, phone numbers and number runs."""
    hits = []
    for match in _IBAN.finditer(text):
        iban = _valid_iban(match[0].replace(" ", ""))
        if iban:
            hits.append((line_at(text, match.start()), "an IBAN", _masked(iban)))
    for match in _EMAIL.finditer(text):
        if not _allowed_address(match[0]):
            hits.append((line_at(text, match.start()), "an e-mail address", _masked(match[0])))
    for match in _PHONE.finditer(text):
        if 8 <= sum(c.isdigit() for c in match[0]) <= 15:
            hits.append((line_at(text, match.start()), "a phone number", _masked(match[0])))
    for start, count in _number_runs(text):
        hits.append((line_at(text, start), "a series of numbers", f"{count} numbers in a row"))
    return hits


def _valid_iban(compact: str) -> str | None:
    """The IBAN at the start of `compact` if its check digits hold (mod 97), else None."""
    known = _IBAN_LENGTHS.get(compact[:2])
    lengths = [known] if known else range(min(len(compact), 34), 14, -1)
    for length in lengths:
        candidate = compact[:length]
        if len(candidate) == length:
            digits = "".join(str(int(c, 36)) for c in candidate[4:] + candidate[:4])
            if int(digits) % 97 == 1:
                return candidate
    return None


def _allowed_address(address: str) -> bool:
    local, _, domain = address.lower().rpartition("@")
    return (
        local in _ROLE_MAILBOXES
        or domain in _EXAMPLE_DOMAINS
        or domain.endswith(tuple(f".{d}" for d in _EXAMPLE_DOMAINS))
        or domain.rsplit(".", 1)[-1] in _RESERVED_TLDS
    )


def _number_runs(text: str) -> Iterator[tuple[int, int]]:
    """(offset, count) of runs of >= 12 numbers separated only by spaces, commas, `;` or `|`."""
    run: list[tuple[int, float]] = []
    last_end = -1
    for match in _NUMBER.finditer(text):
        gap = text[last_end : match.start()] if run else ""
        if run and (not gap or gap.strip(" \t\r\n,;|")):
            yield from _series_run(run)
            run = []
        run.append((match.start(), float(match[0])))
        last_end = match.end()
    yield from _series_run(run)


def _series_run(run: list[tuple[int, float]]) -> Iterator[tuple[int, int]]:
    if len(run) >= _SERIES and not _progression([value for _, value in run]):
        yield run[0][0], len(run)


def _progression(values: list[float]) -> bool:
    """True for 0, 1, 2... or 5, 5, 5...: made-up steps, not someone's measurements."""
    steps = {round(b - a, 9) for a, b in pairwise(values)}
    return len(steps) <= 1


def _literal_series(tree: ast.Module | None) -> list[tuple[int, str, str]]:
    """(line, kind, excerpt) of list/tuple/set/dict literals holding >= 12 numbers."""
    if tree is None:
        return []
    hits: list[tuple[int, str, str]] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
            numbers = _numbers_in(node)
            if len(numbers) >= _SERIES and not _progression(numbers):
                hits.append((node.lineno, "a series of numbers", f"{len(numbers)} numbers"))
                continue
        pending.extend(ast.iter_child_nodes(node))
    return hits


def _numbers_in(node: ast.AST) -> list[float]:
    """The numeric literals in a container literal and the container literals inside it."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _numbers_in(node.operand)
        return [-v for v in inner] if isinstance(node.op, ast.USub) and len(inner) == 1 else inner
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [float(value)]
        return []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [v for element in node.elts for v in _numbers_in(element)]
    if isinstance(node, ast.Dict):
        return [v for value in node.values for v in _numbers_in(value)]
    return []


def _strings_and_comments(source: str) -> list[tuple[int, str]]:
    """(first line, text) of each string and comment; all of `source` if it does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [(1, source)]
    kinds = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1)}
    return [(token.start[0], token.string) for token in tokens if token.type in kinds]


def _masked(value: str) -> str:
    """The first three characters, then letters and digits as `*`, cut after 12 more."""
    rest = re.sub(r"[A-Za-z0-9]", "*", value[3:])
    return value[:3] + (rest[:12] + "…" if len(rest) > 12 else rest)
