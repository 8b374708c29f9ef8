"""Scheduled reports: what is due, rendering it in parallel, the record, the index, cron.

`selfdata.toml` beside the vault lists the schedule (parsed by
`selfdata.config`):

    [[reports]]
    template = "health"
    every = "week"          # week (ISO, Monday to Sunday), month or year
    since = 2025-01-01      # optional: catch up from the period holding this day

**What is due.** A report is due for every *complete* period (one that ended
before today) from the first one the schedule covers up to the latest, that
is not done yet. The first one is the period holding `since`, else the
earliest period already done, else, for a schedule never run, only the
latest complete period (adding a weekly report does not render a year of
weeks). A period is *done* when the vault records it (`rendered_reports`)
or its file is already in `reports/`. So a laptop off for three weeks
renders the three missing weeks, a failed week is tried again next time,
and running twice renders nothing new.

**Safe from cron every hour.** One run at a time: a second one finding the
lock file `reports/.run-due.lock` held says so and does nothing. Reports
render in parallel (one kernel each, read-only on the vault); only then is
the vault opened for writing, briefly, to record them. If another program
holds the vault (JupyterLab with a writer open) the files are kept and the
next run records them.

Rendered reports go to `<home>/reports/<name>/<period>.html`, and
`<home>/reports/index.html` lists every report there, newest first.

Example:
    >>> run_due("data/selfdata.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from selfdata import __version__
from selfdata.config import ScheduledReport, load_settings
from selfdata.errors import SelfdataError, VaultError
from selfdata.reports.page import IndexEntry, index_page, read_meta
from selfdata.reports.periods import (
    Every,
    Period,
    calendar_kind,
    complete_periods,
    containing,
    parse_period,
)
from selfdata.reports.render import DEFAULT_CELL_TIMEOUT_S, Rendered, render, report_path
from selfdata.vault import open_vault

__all__ = [
    "Due",
    "RunResult",
    "cron_line",
    "due_reports",
    "rendered_reports",
    "reports_dir",
    "run_due",
    "systemd_units",
    "write_index",
]

_LOCK_FILE = ".run-due.lock"


@dataclass(frozen=True)
class Due:
    """One report to render: a schedule entry and a period."""

    entry: ScheduledReport
    period: Period
    path: Path


@dataclass
class RunResult:
    """What `run_due()` did."""

    rendered: list[Rendered] = field(default_factory=list)
    failed: list[tuple[Due, SelfdataError]] = field(default_factory=list)
    recorded: int = 0
    record_problem: str | None = None
    busy: bool = False
    index: Path | None = None


def reports_dir(vault: Path) -> Path:
    """The folder of rendered reports: `reports/` beside the vault."""
    return vault.parent / "reports"


def due_reports(vault: Path, *, today: date | None = None) -> list[Due]:
    """Every scheduled report that is due (see the module docstring), oldest period first.

    Example:
        >>> [d.period.label for d in due_reports(Path("data/selfdata.duckdb"))]  # doctest: +SKIP
        ['2025-W23', '2025-W24']
    """
    today = today or date.today()
    folder = reports_dir(vault)
    recorded = _recorded(vault)
    due = []
    for entry in load_settings(vault).reports:
        done = recorded.get((entry.name, entry.every), set()) | _on_disk(folder, entry)
        for period in _covered(entry, done, today):
            if period.label not in done:
                due.append(Due(entry, period, report_path(folder, entry.name, period)))
    return sorted(due, key=lambda d: (d.period.end, d.entry.name))


def run_due(
    vault: Path,
    *,
    today: date | None = None,
    jobs: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
    on_done: Callable[[Due, Rendered | SelfdataError], None] | None = None,
) -> RunResult:
    """Render every due report, in parallel, record them in the vault and rewrite the index.

    Args:
        vault: the vault file.
        today: the day periods are complete before; default the computer's today.
        jobs: reports rendered at once; default up to 4, one per CPU.
        cell_timeout: seconds any one cell may run.
        on_done: called after each report with what became of it.
    """
    folder = reports_dir(vault)
    result = RunResult()
    with _single_run(folder) as running:
        if not running:
            result.busy = True
            return result
        due = due_reports(vault, today=today)
        workers = max(1, jobs or min(4, os.cpu_count() or 1, len(due) or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [(d, pool.submit(_render_due, d, vault, cell_timeout)) for d in due]
            for item, future in futures:
                outcome = future.result()
                if isinstance(outcome, Rendered):
                    result.rendered.append(outcome)
                else:
                    result.failed.append((item, outcome))
                if on_done:
                    on_done(item, outcome)
        seconds = {r.path: r.seconds for r in result.rendered}
        result.recorded, result.record_problem = _record(vault, seconds)
        result.index = write_index(folder)
    return result


def rendered_reports(folder: Path) -> list[IndexEntry]:
    """Every report file in `folder` (`<name>/<period>.html`), from its meta tags."""
    entries = []
    for path in sorted(folder.glob("*/*.html")):
        meta = read_meta(path)
        try:
            entries.append(
                IndexEntry(
                    path=path,
                    template=meta["template"],
                    title=meta.get("title", meta["template"]),
                    label=meta["period"],
                    start=date.fromisoformat(meta["start"]),
                    end=date.fromisoformat(meta["end"]),
                    generated_at=meta.get("generated", ""),
                )
            )
        except (KeyError, ValueError):
            continue  # not a selfdata report: leave it out of the index
    return entries


def write_index(folder: Path) -> Path:
    """Write `folder/index.html` listing every report in it, newest first."""
    from selfdata.reports.render import _write_atomically

    path = folder / "index.html"
    _write_atomically(path, index_page(rendered_reports(folder), folder))
    return path


def cron_line(vault: Path, executable: str | None = None) -> str:
    """The crontab line that runs `run-due` hourly for this vault, logging beside the reports.

    Example:
        >>> cron_line(Path("/home/alex/data/selfdata.duckdb"), "/usr/bin/selfdata")
        '17 * * * * /usr/bin/selfdata --vault /home/alex/data/selfdata.duckdb reports run-due --quiet >> /home/alex/data/reports/run-due.log 2>&1'
    """  # noqa: E501 - a crontab line is one line
    command = executable or _executable()
    log = reports_dir(vault) / "run-due.log"
    return f"17 * * * * {command} --vault {vault} reports run-due --quiet >> {log} 2>&1"


def systemd_units(vault: Path, executable: str | None = None) -> tuple[str, str]:
    """A systemd user service and timer running `run-due` hourly (catching up after sleep)."""
    command = executable or _executable()
    service = (
        "[Unit]\nDescription=selfdata: render the scheduled reports that are due\n\n"
        "[Service]\nType=oneshot\n"
        f"ExecStart={command} --vault {vault} reports run-due --quiet\n"
    )
    timer = (
        "[Unit]\nDescription=Run selfdata reports run-due every hour\n\n"
        "[Timer]\nOnCalendar=hourly\nRandomizedDelaySec=5min\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return service, timer


# --- private helpers -------------------------------------------------------------------


def _covered(entry: ScheduledReport, done: set[str], today: date) -> list[Period]:
    every: Every = entry.every  # type: ignore[assignment] # config checked the value
    latest = complete_periods(every, after=None, today=today)
    starts = [p.start for p in _done_periods(every, done)]
    if entry.since is not None:
        starts.append(_period_start(every, entry.since))
    if not starts:
        return latest
    return complete_periods(every, after=min(starts) - timedelta(days=1), today=today)


def _done_periods(every: Every, labels: set[str]) -> Iterator[Period]:
    for label in labels:
        with contextlib.suppress(ValueError):
            period = parse_period(label)
            if calendar_kind(period.start, period.end) == every:
                yield period


def _period_start(every: Every, day: date) -> date:
    return containing(every, day).start


def _recorded(vault: Path) -> dict[tuple[str, str], set[str]]:
    if not vault.exists():
        return {}
    with open_vault(vault, read_only=True) as con:
        rows = con.execute("SELECT report, every, period FROM rendered_reports").fetchall()
    found: dict[tuple[str, str], set[str]] = {}
    for report, every, period in rows:
        found.setdefault((report, every), set()).add(period)
    return found


def _on_disk(folder: Path, entry: ScheduledReport) -> set[str]:
    """Labels of this entry's periods whose report file exists (rendered, maybe unrecorded)."""
    labels = set()
    for path in (folder / entry.name).glob("*.html"):
        meta = read_meta(path)
        if meta.get("template") == entry.template and meta.get("period") == path.stem:
            labels.add(path.stem)
    return {p.label for p in _done_periods(entry.every, labels)}  # type: ignore[arg-type]


def _render_due(due: Due, vault: Path, cell_timeout: float) -> Rendered | SelfdataError:
    # Imported here: selfdata.templates builds on this package.
    from selfdata.templates.catalog import resolve

    try:
        resolved = resolve(due.entry.template, vault)
        return render(
            resolved.template,
            due.period,
            out=due.path,
            vault=vault,
            parameters=due.entry.parameters,
            cell_timeout=cell_timeout,
            sandbox=resolved.sandboxed,
        )
    except SelfdataError as error:
        return error


def _record(vault: Path, seconds: dict[Path, float]) -> tuple[int, str | None]:
    """Record every scheduled report on disk that the vault does not hold yet.

    Recording what is on disk, not only this run's renders, also catches up
    a run whose renders could not be recorded (the vault was busy).
    """
    settings = load_settings(vault)
    recorded = _recorded(vault)
    folder = reports_dir(vault)
    rows = []
    for entry in settings.reports:
        known = recorded.get((entry.name, entry.every), set())
        for label in sorted(_on_disk(folder, entry) - known):
            path = folder / entry.name / f"{label}.html"
            meta = read_meta(path)
            rows.append(
                [
                    entry.name,
                    entry.template,
                    meta.get("template-version", "?"),
                    entry.every,
                    label,
                    meta["start"],
                    meta["end"],
                    _relative(path, vault.parent),
                    meta.get("generated") or None,
                    seconds.get(path),
                    __version__,
                ]
            )
    if not rows:
        return 0, None
    try:
        with open_vault(vault, read_only=False) as con:
            con.executemany(
                "INSERT OR REPLACE INTO rendered_reports VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, coalesce(CAST(? AS TIMESTAMPTZ), now()), ?, ?)",
                rows,
            )
    except VaultError as error:
        return 0, str(error)
    return len(rows), None


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


@contextlib.contextmanager
def _single_run(folder: Path) -> Iterator[bool]:
    """Hold `reports/.run-due.lock` for the run; yields False when another run holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _executable() -> str:
    beside = Path(sys.executable).parent / "selfdata"
    if beside.exists():
        return str(beside)
    return shutil.which("selfdata") or "selfdata"
