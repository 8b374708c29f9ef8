"""Reports: run a template notebook on the vault and publish one self-contained HTML page.

    selfdata report health --period last-month      # one report, on demand
    selfdata reports run-due                        # every scheduled report that is due

The modules, each with one concern:

| module | what it owns |
|---|---|
| `periods` | "last-month", "2025-Q3"... as first and last local day and a label |
| `manifest` | template folders: `template.toml`, the notebook's `parameters` cell, checks |
| `render` | one report: checks, papermill in a fresh kernel, errors, the atomic write |
| `page` | the HTML: nbconvert's cells in our page, CSP, header, off-page check, index |
| `schedule` | `[[reports]]` of selfdata.toml: what is due, parallel runs, the record, cron |
| `notebook` | what template notebooks import: period, safe SVG charts, sentences |
| `words` | how sentences say numbers, durations, money, days and periods |
| `sample` | a sample vault with a year in every domain, for tests and template authors |
| `cli` | the `selfdata report` and `selfdata reports ...` commands |

The format of templates and the schedule: docs/reports.md.

Example:
    >>> from selfdata.reports import parse_period, render
    >>> render("health", parse_period("2025-06"), out=Path("health.html"))  # doctest: +SKIP
"""

from __future__ import annotations

from selfdata.reports.errors import ReportError, TemplateError
from selfdata.reports.manifest import Template, find_templates, load_template, templates_dir
from selfdata.reports.periods import Period, parse_period, period_between
from selfdata.reports.render import Rendered, render, report_path
from selfdata.reports.schedule import RunResult, due_reports, run_due, write_index

__all__ = [
    "Period",
    "Rendered",
    "ReportError",
    "RunResult",
    "Template",
    "TemplateError",
    "due_reports",
    "find_templates",
    "load_template",
    "parse_period",
    "period_between",
    "render",
    "report_path",
    "run_due",
    "templates_dir",
    "write_index",
]
