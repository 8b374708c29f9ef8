"""The errors of templates and reports, under selfdata's one tree.

    SelfdataError
    ├── TemplateError   a template cannot be used: unknown, bad manifest,
    │                   no `parameters` cell, parameters not matching the
    │                   manifest, a bad parameter value
    └── ReportError     a template ran and failed (a cell raised, timed out,
                        or emitted something that is not self-contained);
                        nothing was published

Each builds its one-line message from structured fields, so the CLI's root
prints it as it is.
"""

from __future__ import annotations

from selfdata.errors import SelfdataError

__all__ = ["ReportError", "TemplateError"]


class TemplateError(SelfdataError):
    """A template cannot be used as it is."""

    def __init__(self, template: str, problem: str) -> None:
        self.template = template
        self.problem = problem
        super().__init__(f"template {template}: {problem}")


class ReportError(SelfdataError):
    """A report failed while rendering; nothing was written."""

    def __init__(self, template: str, problem: str, *, cell: int | None = None) -> None:
        self.template = template
        self.problem = problem
        self.cell = cell
        where = f" in cell {cell}" if cell is not None else ""
        super().__init__(f"report {template} failed{where}: {problem}; nothing was written")
