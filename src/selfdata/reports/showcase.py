"""Render every curated report on the demo persona's vault: what `selfdata demo` ends with.

The month-long templates get the demo's last month, the year-long ones
(`overview`, `data-coverage`) the demo's whole span. Reports render in
parallel threads (each in its own kernel). A report already on disk is kept
when the import brought nothing new, so a second `make demo` is fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from selfdata.errors import SelfdataError
from selfdata.reports.manifest import template_folders
from selfdata.reports.periods import Period, parse_period, period_between
from selfdata.reports.render import Rendered, render, report_path
from selfdata.reports.schedule import reports_dir, write_index

__all__ = ["demo_periods", "render_demo_reports"]

# Templates that tell a whole year's story; the others tell a month's.
_WHOLE_SPAN = frozenset({"overview", "data-coverage"})
# Kernels at once: each is a process of its own, and the machine may have 2 cores.
_JOBS = 3


def demo_periods(today: date, years: int) -> tuple[Period, Period]:
    """(the month of the last day, the whole span) of demo data ending the day before `today`.

    Example:
        >>> month, span = demo_periods(date(2026, 6, 30), 1)
        >>> month.label, span.start, span.end
        ('2026-06', datetime.date(2025, 6, 30), datetime.date(2026, 6, 29))
    """
    last_day = today - timedelta(days=1)
    month = parse_period(f"{last_day:%Y-%m}")
    return month, period_between(today.replace(year=today.year - years), last_day)


def render_demo_reports(
    vault: Path,
    *,
    today: date,
    years: int,
    changed: bool,
    on_done: Callable[[str, Rendered | SelfdataError | None], None] | None = None,
) -> tuple[list[Rendered], list[SelfdataError], Path]:
    """Render every curated template for the demo; returns (rendered, failed, index path).

    With `changed` false, a report whose file exists is not rendered again
    (`on_done` hears None for it).
    """
    month, span = demo_periods(today, years)
    folder = reports_dir(vault)
    jobs: list[tuple[str, Period]] = []
    for template in _names(template_folders()):
        period = span if template in _WHOLE_SPAN else month
        if not changed and report_path(folder, template, period).exists():
            if on_done:
                on_done(template, None)
            continue
        jobs.append((template, period))

    def one(job: tuple[str, Period]) -> Rendered | SelfdataError:
        template, period = job
        try:
            return render(template, period, out=report_path(folder, template, period), vault=vault)
        except SelfdataError as error:
            return error

    rendered: list[Rendered] = []
    failed: list[SelfdataError] = []
    with ThreadPoolExecutor(max_workers=_JOBS) as pool:
        for (template, _), outcome in zip(jobs, pool.map(one, jobs), strict=True):
            (rendered if isinstance(outcome, Rendered) else failed).append(outcome)  # type: ignore[arg-type]
            if on_done:
                on_done(template, outcome)
    folder.mkdir(parents=True, exist_ok=True)
    return rendered, failed, write_index(folder)


def _names(folders: Sequence[Path]) -> list[str]:
    return [folder.name for folder in folders]
