"""`selfdata templates check PATH`: every check an author needs before sharing a template.

Each check gives one OK or FAIL line, in this order; a check that cannot run
because an earlier one failed says so (SKIP):

| check | what it needs |
|---|---|
| manifest | `template.toml` valid, a shareable name, only allowed files |
| parameters | one `parameters` cell assigning exactly the manifest's parameters |
| outputs | no outputs, execution counts or run metadata stored |
| personal data | no coordinates, IBANs, e-mail addresses or long series of numbers |
| canonical tables | SQL reads only declared canonical tables; calls only the template API |
| demo vault | it renders, in the sandbox, on the demo persona's vault within the cell timeout |
| empty vault | likewise on a vault with no rows |
| report | the executed notebook and page hold no `<script>` and load nothing remote |

The risky-operation scan (network, subprocess, file writes, shell escapes,
`eval` tricks) is printed after the checks as advisory notes: the sandbox,
not the scan, is what keeps a template in its place.

The demo vault is the demo persona's year (`selfdata.demo`) imported once
into `~/.cache/selfdata/` (`$XDG_CACHE_HOME`) and reused while selfdata's
version and schema stay the same; the first check takes a minute longer.

Example:
    >>> [r.line() for r in check_template(Path("my-template"))]  # doctest: +SKIP
    ['OK    manifest is valid', ...]
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import selfdata
from selfdata.errors import SelfdataError
from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import (
    Template,
    check_parameters_cell,
    read_manifest,
    read_notebook,
)
from selfdata.reports.page import external_references
from selfdata.reports.periods import parse_period
from selfdata.reports.render import DEFAULT_CELL_TIMEOUT_S, build_report
from selfdata.schema import SCHEMA_VERSION
from selfdata.templates import scan
from selfdata.templates.store import check_name, template_files
from selfdata.vault import open_vault

__all__ = ["CheckResult", "check_template", "demo_vault", "demo_vault_ready"]


@dataclass(frozen=True)
class CheckResult:
    """One check: passed (True), failed (False) or not run (None), and why."""

    name: str
    ok: bool | None
    detail: str = ""
    findings: tuple[scan.Finding, ...] = field(default=())

    def line(self) -> str:
        """The check as one line: `OK    name (detail)`."""
        status = {True: "OK", False: "FAIL", None: "SKIP"}[self.ok]
        return f"{status:<5} {self.name}" + (f": {self.detail}" if self.detail else "")


def check_template(
    folder: Path,
    *,
    run: bool = True,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
    on_result: Callable[[CheckResult], None] | None = None,
) -> tuple[list[CheckResult], list[scan.Finding]]:
    """Run every check on the template in `folder`; returns the results and the advisory notes.

    Args:
        folder: the template folder (holding template.toml).
        run: also render it on the demo and an empty vault (the slow checks).
        cell_timeout: seconds any one cell may run.
        on_result: called with each result as soon as it is known (for live output).
    """
    results: list[CheckResult] = []

    def add(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    template, notebook = None, None
    manifest = _manifest(folder)
    add(manifest[0])
    template = manifest[1]
    if template is not None:
        cell = _parameters_cell(template)
        add(cell)
        notebook = read_notebook(template.notebook)
    for check in _static_checks(notebook, template):
        add(check)
    runnable = template is not None and all(r.ok for r in results[:2])
    executed: list[Any] = []
    for name, vault in (("runs on the demo vault", None), ("runs on an empty vault", "empty")):
        if not run:
            add(CheckResult(name, None, "not run (--no-run)"))
        elif not runnable or template is None:
            add(CheckResult(name, None, "not run: the template does not load"))
        else:
            add(_run(name, template, vault, cell_timeout, executed))
    add(_report_check(executed, run and runnable))
    notes = scan.risky_operations(notebook) if notebook is not None else []
    return results, notes


def demo_vault_ready() -> bool:
    """Whether the demo vault for checks is built already (else the next check builds it)."""
    return (_demo_folder() / "complete").exists()


def demo_vault() -> Path:
    """The demo persona's vault for checks, built once per selfdata version and schema."""
    from selfdata.analytics.mobility import derive
    from selfdata.analytics.spending import categorize
    from selfdata.demo import write_demo
    from selfdata.ingest import import_paths

    folder = _demo_folder()
    vault = folder / "selfdata.duckdb"
    if (folder / "complete").exists():
        return vault
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="selfdata-demo-") as exports:
        write_demo(Path(exports))
        import_paths([Path(exports)], vault=vault)
    categorize(vault)
    derive(vault)
    (folder / "complete").write_text("built by selfdata templates check\n", encoding="utf-8")
    return vault


def _demo_folder() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "selfdata"
    return root / f"check-vault-{selfdata.__version__}-schema{SCHEMA_VERSION}"


# --- the checks --------------------------------------------------------------------------


def _manifest(folder: Path) -> tuple[CheckResult, Template | None]:
    name = "manifest is valid"
    try:
        template = read_manifest(folder)
        check_name(template.name)
        template_files(folder)
    except TemplateError as error:
        return CheckResult(name, False, error.problem), None
    tables = ", ".join(template.tables) or "no tables"
    return CheckResult(name, True, f"{template.name} {template.version}, reads {tables}"), template


def _parameters_cell(template: Template) -> CheckResult:
    name = "parameters cell matches the manifest"
    try:
        check_parameters_cell(template)
    except TemplateError as error:
        return CheckResult(name, False, error.problem)
    return CheckResult(name, True, ", ".join(template.parameters))


def _static_checks(notebook: Any, template: Template | None) -> Iterator[CheckResult]:
    checks: list[tuple[str, Callable[[Any], list[scan.Finding]]]] = [
        ("no outputs or execution counts stored", scan.stored_outputs),
        ("no personal data embedded", scan.personal_data),
    ]
    for name, finder in checks:
        if notebook is None:
            yield CheckResult(name, None, "not run: the template does not load")
        else:
            yield _from_findings(name, finder(notebook))
    name = "reads only canonical tables, through the template API"
    if notebook is None or template is None:
        yield CheckResult(name, None, "not run: the template does not load")
    else:
        found = scan.table_reads(notebook, template.tables) + scan.api_calls(notebook)
        yield _from_findings(name, found)


def _run(
    name: str, template: Template, which: str | None, cell_timeout: float, executed: list[Any]
) -> CheckResult:
    from selfdata.demo import DEMO_TODAY

    default = str(template.parameters["period"].default or "last-month")
    with tempfile.TemporaryDirectory(prefix="selfdata-check-") as work:
        try:
            if which == "empty":
                vault = Path(work) / "selfdata.duckdb"
                open_vault(vault, read_only=False).close()
            else:
                vault = demo_vault()
            period = parse_period(default, today=DEMO_TODAY)
            began = time.perf_counter()
            report = build_report(
                template, period, vault=vault, cell_timeout=cell_timeout, sandbox=True
            )
        except SelfdataError as error:
            return CheckResult(name, False, str(error))
    executed.append(report)
    return CheckResult(name, True, f"{period.label}, {time.perf_counter() - began:.1f} s")


def _report_check(reports: list[Any], ran: bool) -> CheckResult:
    name = "report holds no script and loads nothing remote"
    if not ran or not reports:
        return CheckResult(name, None, "not run: the template did not render")
    found: list[scan.Finding] = []
    for report in reports:
        found += scan.report_resources(report.notebook)
        found += [
            scan.Finding("report-resources", "page", f"the page would load {ref}")
            for ref in external_references(report.page)
        ]
    return _from_findings(name, list(dict.fromkeys(found)))


def _from_findings(name: str, findings: list[scan.Finding]) -> CheckResult:
    if not findings:
        return CheckResult(name, True)
    if len(findings) == 1:
        return CheckResult(name, False, f"{findings[0].where}: {findings[0].message}", ())
    return CheckResult(name, False, f"{len(findings)} findings", tuple(findings))
