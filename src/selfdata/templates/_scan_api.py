"""The template API: which selfdata and DuckDB names a template may use.

A template gets the vault from `sd.setup(...)`, read-only, and reads it through
a small, documented API: the `__all__` of `selfdata.reports.notebook`,
`selfdata.reports.words`, `selfdata.reports.periods`, `selfdata.analytics`
and every public `selfdata.analytics` submodule (`TEMPLATE_API`). Anything
else of selfdata is internal and may change without notice; `categorize` and
`derive` change the vault, which a report must not do; and a DuckDB
connection of the template's own (`duckdb.connect`, `duckdb.sql`...) would
get around the read-only one. DuckDB's types and exceptions are allowed, for
annotations and `except`.

Names are followed through imports (`import selfdata.vault as v`, `from
selfdata import config`), attribute chains (`selfdata.vault.open`) and
`importlib.import_module("...")` / `__import__("...")` with a literal name. A
name reached any other way (`getattr`, a computed module name) is not seen
here; the risky-operations scan flags those shapes instead.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from selfdata.templates._scan_code import Finding, Program

TEMPLATE_API = (
    "selfdata.reports.notebook",
    "selfdata.reports.words",
    "selfdata.reports.periods",
    "selfdata.analytics",
)
"""The selfdata modules a template may use (their `__all__`), plus every public
`selfdata.analytics` submodule."""

_WRITERS = {"categorize", "derive"}
_ALLOWED_PATHS = {"selfdata.__version__"}
_SETUP = (
    "`report = sd.setup(vault, period, start, end)` gives the vault, read-only, as `report.con`"
)


def api_findings(program: Program) -> list[Finding]:
    """Every use of a selfdata or DuckDB name outside the template API, once per place."""
    found: list[Finding] = []
    flagged: set[str] = set()
    for cell, node, local, path in program.imports():
        problem = _api_problem(path)
        if problem:
            flagged.add(local)
            found.append(_api_finding(cell, node.lineno, path, problem))
    for cell, name, path, root in program.qualified_names():
        problem = None if root in flagged else _api_problem(path)
        if problem:
            found.append(_api_finding(cell, name.lineno, path, problem))
    for cell, call, path in program.dynamic_imports():
        problem = _api_problem(path)
        if problem:
            found.append(_api_finding(cell, call.lineno, path, problem))
    return found


def api_value(path: str) -> Any:
    """The object a template-API path names: `api_value("selfdata.analytics.LOCAL_DAY")`."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@cache
def _api_names() -> dict[str, frozenset[str]]:
    """Each template-API module and its `__all__`: our own modules, never one a notebook names."""
    modules = list(TEMPLATE_API)
    analytics = importlib.import_module("selfdata.analytics")
    modules += [
        f"selfdata.analytics.{info.name}"
        for info in pkgutil.iter_modules(analytics.__path__)
        if not info.name.startswith("_")
    ]
    return {
        name: frozenset(getattr(importlib.import_module(name), "__all__", ())) for name in modules
    }


def _api_problem(path: str) -> str | None:
    """What is wrong with using `path`, said after "uses PATH, "; None when it is allowed."""
    parts = path.split(".")
    if parts[0] == "duckdb":
        if len(parts) > 1 and parts[1][:1].islower():
            return f"which opens or uses a DuckDB connection of its own; {_SETUP}"
        return None  # types and exceptions, for annotations and `except`
    if parts[0] != "selfdata" or path in _ALLOWED_PATHS:
        return None
    modules = _api_names()
    if any(module.startswith(path + ".") for module in modules):
        return None  # a package on the way to an allowed module: `import selfdata.reports`
    owner = max((m for m in modules if path == m or path.startswith(m + ".")), key=len, default="")
    name = path[len(owner) + 1 :].split(".")[0] if owner else ""
    if path == owner or (name in modules.get(owner, ()) and name not in _WRITERS):
        return None
    if name in _WRITERS:
        return f"which changes the vault; run `selfdata {name}` before the report instead"
    if parts[:2] in (["selfdata", "vault"], ["selfdata", "config"]):
        return f"which is not part of the template API; {_SETUP}"
    return (
        "which is not part of the template API (the `__all__` of selfdata.reports.notebook, "
        ".words, .periods and selfdata.analytics)"
    )


def _api_finding(cell: int, line: int, path: str, problem: str) -> Finding:
    return Finding("api", f"cell {cell}, line {line}", f"uses {path}, {problem}")
