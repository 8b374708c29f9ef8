"""Static scans of a template notebook: what it stores, embeds, reads, calls and runs.

Each scan is a pure function over an nbformat v4 notebook node
(`selfdata.reports.manifest.read_notebook`): no vault, no kernel, nothing of
the notebook is ever run or imported. It returns `Finding`s naming the check,
the place ("cell 3, line 2": cells counted from 1 over *all* cells, as Jupyter
lists them; "cell 3, output 1"; "metadata") and one sentence saying what was
found and how to fix it. Personal data is shown by kind and masked, never whole.

This module is the public face, and owns the two scans that read the notebook
as JSON (`stored_outputs`, `report_resources`). The others live in private
modules, each saying in its docstring what it detects, why and its limits:

- `_scan_code`: `Finding`, and the code cells parsed as the kernel reads them
  (IPython's input transformer, then `ast`), with imports, names and values.
- `_scan_personal`: coordinates, IBANs, e-mail addresses, phone numbers and
  number series (`personal_data`).
- `_scan_sql`: the SQL a notebook runs, parsed by DuckDB, and the tables it
  reads (`table_reads`, `READABLE_TABLES`, `BOOKKEEPING_TABLES`).
- `_scan_api`: the selfdata and DuckDB names a template may use (`api_calls`,
  `TEMPLATE_API`).
- `_scan_risky`: network, processes, file writes, shell escapes and hidden
  code (`risky_operations`).

What the scans accept, in short (docs/templates.md has the author's version):

- Readable tables: the canonical tables of `selfdata.schema.CANONICAL_TABLES`
  plus `imports`, the provenance table docs/schema.md documents (a coverage
  report says which importer fed what). `schema_migrations` and
  `rendered_reports` are the vault's bookkeeping, not data: reading them is a
  finding. A name bound as a Python variable in the notebook is a DataFrame
  DuckDB reads by replacement scan, not a table, unless it is a vault table name.
- E-mail addresses: reserved example domains (`example.com/.net/.org`,
  `*.example`, `*.test`, `*.invalid`, `*.localhost`; RFC 2606) and role
  addresses that belong to no person (`noreply@`, `no-reply@`, `donotreply@`,
  `postmaster@`, `mailer-daemon@`) are allowed; every other address is a finding.
- Phone numbers: only the international form (`+44 20 7946 0958`); national
  forms cannot be told from amounts and dates.

The risky-operations scan is advisory: a scan cannot prove code safe (a name
built at run time, `getattr` with a computed name, an object reached through
another), which is why those shapes are findings themselves, and why the
sandbox, not the scan, keeps a non-curated template in its place.

Example:
    >>> from selfdata.reports.manifest import read_notebook  # doctest: +SKIP
    >>> nb = read_notebook(Path("templates/health/health.ipynb"))  # doctest: +SKIP
    >>> table_reads(nb, ["health_samples", "sleep_segments", "workouts"])  # doctest: +SKIP
    []
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from selfdata.templates._scan_api import TEMPLATE_API, api_findings
from selfdata.templates._scan_code import (
    Finding,
    Program,
    cell_source,
    line_at,
    short,
    sorted_findings,
)
from selfdata.templates._scan_personal import personal_findings
from selfdata.templates._scan_risky import risky_findings
from selfdata.templates._scan_sql import BOOKKEEPING_TABLES, READABLE_TABLES, table_findings

__all__ = [
    "BOOKKEEPING_TABLES",
    "CHECKS",
    "READABLE_TABLES",
    "TEMPLATE_API",
    "Finding",
    "api_calls",
    "code_cells",
    "personal_data",
    "report_resources",
    "risky_operations",
    "stored_outputs",
    "table_reads",
]

CHECKS = ("outputs", "personal-data", "tables", "api", "risky", "report-resources")
"""The `check` of every finding, in the order `templates check` runs them."""


def stored_outputs(nb: Any) -> list[Finding]:
    """Outputs, execution counts, attachments and run metadata left in the notebook.

    Example:
        >>> stored_outputs(nb)  # doctest: +SKIP
        [Finding('outputs', 'cell 3', 'cell 3 stores 1 output and an execution count; ...')]
    """
    found = [
        Finding(
            "outputs", "metadata", f"the notebook's metadata holds `{key}` from a run; {_CLEAR}"
        )
        for key in sorted(_RUN_METADATA & set(nb.get("metadata", {})))
    ]
    for number, cell in enumerate(nb.cells, 1):
        stored = _stored_in(cell)
        if stored:
            found.append(
                Finding("outputs", f"cell {number}", f"cell {number} stores {stored}; {_CLEAR}")
            )
    return found


def personal_data(nb: Any) -> list[Finding]:
    """Coordinates, IBANs, e-mail addresses, phone numbers and long number series in sources.

    Code cells are searched whole for coordinates and number series, and in
    their strings and comments for the rest (so `x@df.T` is no address);
    markdown and raw cells, and the notebook's metadata, are searched whole.
    """
    return personal_findings(nb)


def table_reads(nb: Any, declared: Sequence[str]) -> list[Finding]:
    """Every SQL the notebook runs reads only canonical tables declared in the manifest.

    SQL is any string passed to `.sql()`, `.execute()`, `.query()` (and the
    like), and any other string literal that starts like SQL and parses as
    SQL. f-strings, `+`, `%` and `.format()` become placeholders; a
    placeholder where a table name goes is resolved through literal
    assignments and `for name in [...]` loops, or is a finding. Files, the
    network, other databases, extensions and statements other than SELECT are
    findings too.
    """
    return sorted_findings(table_findings(Program.of(nb), tuple(declared)))


def api_calls(nb: Any) -> list[Finding]:
    """The selfdata (and DuckDB) names the notebook uses are the template API's.

    Allowed: the `__all__` of `selfdata.reports.notebook`, `.words`, `.periods`,
    `selfdata.analytics` and its public submodules, except the functions that
    change the vault (`categorize`, `derive`). Anything else from selfdata and
    any DuckDB function (`duckdb.connect`, `duckdb.sql`...) is a finding.
    """
    return sorted_findings(api_findings(Program.of(nb)))


def risky_operations(nb: Any) -> list[Finding]:
    """ADVISORY: network, other programs, file writes, shell escapes, dynamic code.

    Also cells that do not parse (nothing in them can be checked), magics,
    `eval`/`exec`/`compile`/`__import__`, `getattr` with a computed name,
    native code, unpickling, `sys.modules` and builtins tricks, dunder
    attributes, environment variables and URLs. What it flags may be harmless;
    what it misses is why templates run in a sandbox.
    """
    return sorted_findings(risky_findings(Program.of(nb)))


def report_resources(executed_nb: Any) -> list[Finding]:
    """Scripts, event handlers, remote resources, widgets and Vega URLs in an executed notebook.

    Outputs (`text/html`, `image/svg+xml`, `text/markdown`, JavaScript,
    widget views, Vega specs) and markdown cells, which the report shows too.
    A plain `<a href>` link loads nothing and is allowed, as on the page.
    """
    found: list[Finding] = []
    for number, cell in enumerate(executed_nb.cells, 1):
        if cell.cell_type == "markdown":
            for line, problem in _markup_problems(cell_source(cell)):
                found.append(_resource(f"cell {number}, line {line}", problem))
        for index, output in enumerate(cell.get("outputs", []), 1):
            where = f"cell {number}, output {index}"
            found += [_resource(where, problem) for problem in _output_problems(output)]
    if "widgets" in executed_nb.get("metadata", {}):
        found.append(_resource("metadata", "the notebook stores widget state"))
    return found


def code_cells(nb: Any) -> list[tuple[int, str]]:
    """(cell number from 1, source) of every code cell: the code an install shows.

    Example:
        >>> code_cells(nb)[0][0]  # doctest: +SKIP
        2
    """
    return [
        (number, cell_source(cell))
        for number, cell in enumerate(nb.cells, 1)
        if cell.cell_type == "code"
    ]


# --- stored outputs ----------------------------------------------------------------------

_CLEAR = (
    "clear outputs before sharing (Jupyter: Edit > Clear Outputs of All Cells, or "
    "`jupyter nbconvert --clear-output --inplace NOTEBOOK`)"
)
_RUN_METADATA = {"papermill", "widgets", "execution", "ExecuteTime"}


def _stored_in(cell: Any) -> str:
    """What a cell keeps from a run, in words; empty when nothing."""
    parts = []
    outputs = len(cell.get("outputs", []))
    if outputs:
        parts.append(f"{outputs} output{'s' if outputs > 1 else ''}")
    if cell.get("execution_count") is not None:
        parts.append("an execution count")
    attachments = sorted(cell.get("attachments", {}) or {})
    if attachments:
        parts.append(f"attached files ({', '.join(attachments)})")
    parts += [f"`{key}` metadata" for key in sorted(_RUN_METADATA & set(cell.get("metadata", {})))]
    return " and ".join(parts)


# --- report resources --------------------------------------------------------------------

_MARKUP = {"text/html", "image/svg+xml", "text/markdown"}
_WIDGET = "application/vnd.jupyter.widget-view+json"
_TAG = re.compile(r"<([a-zA-Z][\w:-]*)\b[^>]*>")
_HANDLER = re.compile(r"(?i)\son[a-z]+\s*=")
_EMBEDS = {"iframe", "frame", "object", "embed", "base", "applet", "portal"}
# A markdown image from anywhere but the page itself (`data:` or an attachment).
_REMOTE_IMAGE = re.compile(
    r"(?i)!\[[^\]]*\]\(\s*<?\s*(?!data:|attachment:)(?:[a-z][a-z0-9+.-]*:|//)"
)


def _output_problems(output: Any) -> list[str]:
    problems = []
    for mime, value in (output.get("data") or {}).items():
        text = "".join(value) if isinstance(value, list) else value
        if "javascript" in mime or mime == "text/ecmascript":
            problems.append(f"the output carries {mime}, script the page would run")
        elif mime == _WIDGET:
            problems.append("the output is an interactive widget, which needs a live kernel")
        elif mime.startswith(("application/vnd.vegalite", "application/vnd.vega")):
            if _vega_urls(text):
                problems.append("the output is a Vega spec that loads data by URL")
        elif mime in _MARKUP and isinstance(text, str):
            problems += [problem for _, problem in _markup_problems(text)]
    return problems


def _markup_problems(text: str) -> list[tuple[int, str]]:
    """(line, what) of each script, handler, javascript: URL or remote resource in markup."""
    from selfdata.reports.page import external_references

    problems = []
    for match in _TAG.finditer(text):
        tag, name, line = match[0], match[1].lower(), line_at(text, match.start())
        if name == "script":
            problems.append((line, "it emits a <script> element"))
        elif name in _EMBEDS or (name == "meta" and "http-equiv" in tag.lower()):
            problems.append((line, f"it emits a <{name}> element"))
        if _HANDLER.search(tag):
            problems.append((line, f"it emits an event handler ({short(tag, 50)})"))
        if "javascript:" in tag.lower():
            problems.append((line, f"it emits a javascript: URL ({short(tag, 50)})"))
    for reference in external_references(text):
        line = line_at(text, max(text.find(reference[:40]), 0))
        problems.append((line, f"it loads a remote resource ({short(reference, 60)})"))
    for match in _REMOTE_IMAGE.finditer(text):
        shown = short(text[match.start() :].split(")", 1)[0] + ")", 60)
        problems.append((line_at(text, match.start()), f"it loads a remote image ({shown})"))
    return problems


def _vega_urls(spec: object) -> bool:
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and "url" in data:
            return True
        return any(_vega_urls(v) for v in spec.values())
    if isinstance(spec, list):
        return any(_vega_urls(v) for v in spec)
    return False


def _resource(where: str, problem: str) -> Finding:
    return Finding(
        "report-resources",
        where,
        f"{problem}; a report may show only inert HTML, SVG and images (sd.chart, sd.say)",
    )
