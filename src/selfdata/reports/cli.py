"""The `selfdata report` command and the `selfdata reports` group (run-due, schedule, list).

A thin layer over `selfdata.reports`; the root `selfdata` group adds them:

    cli.add_command(report_command)
    cli.add_command(reports_group)

Errors are selfdata's own (`TemplateError`, `ReportError`, `VaultError`...),
which the root turns into one line and exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import click

from selfdata.config import CONFIG_FILE_NAME, load_settings
from selfdata.console import command_vault, plain_console, quiet_table
from selfdata.errors import SelfdataError
from selfdata.reports.manifest import templates_dir
from selfdata.reports.periods import Period, parse_period, period_between
from selfdata.reports.render import DEFAULT_CELL_TIMEOUT_S, Rendered, render, report_path
from selfdata.reports.schedule import (
    Due,
    cron_line,
    due_reports,
    rendered_reports,
    reports_dir,
    run_due,
    systemd_units,
    write_index,
)
from selfdata.templates.catalog import entries, resolve
from selfdata.templates.sandbox import sandbox_status

__all__ = ["cell_timeout_option", "report_command", "reports_group"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

cell_timeout_option = click.option(
    "--cell-timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_CELL_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="Longest any one notebook cell may run.",
)
# For tests and for rendering as of another day; not shown in --help.
_today_option = click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), hidden=True, help="Pretend today is this day."
)


@click.command("report", context_settings=_CONTEXT)
@click.argument("name", metavar="TEMPLATE")
@click.option(
    "--period",
    "-p",
    "period_name",
    metavar="PERIOD",
    help="last-month, last-7-days, this-year, 2025, 2025-Q3, 2025-06, 2025-W07... "
    "Default: the template's.",
)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day (with --end).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A folder (the file is TEMPLATE-PERIOD.html in it) or a file ending in .html. "
    "Default: reports/TEMPLATE/PERIOD.html beside the vault, listed in reports/index.html.",
)
@click.option("--show-code", is_flag=True, help="Show the notebook's code in the report.")
@click.option(
    "--set",
    "-s",
    "values",
    multiple=True,
    metavar="KEY=VALUE",
    help="A template parameter (repeatable), e.g. --set top=5.",
)
@cell_timeout_option
@_today_option
@click.pass_context
def report_command(
    ctx: click.Context,
    name: str,
    period_name: str | None,
    start: Any,
    end: Any,
    out: Path | None,
    show_code: bool,
    values: tuple[str, ...],
    cell_timeout: float,
    today: Any,
) -> None:
    """Render a report from a template into one self-contained HTML file.

    The template's notebook runs in a fresh kernel against the vault opened
    read-only; the page it makes loads nothing from the network, shows
    charts of totals and averages, not your records, and hides the code
    unless --show-code. A failing template writes nothing and says which
    cell failed. `selfdata reports list` shows the templates.

    \b
    Example:
        selfdata report health --period last-month
        selfdata report spending --period 2025 --set top=5
        selfdata report overview --start 2025-03-01 --end 2025-08-31 --out ~/Desktop
        selfdata report ./my-template --period 2025-Q3 --show-code
    """
    vault = command_vault(ctx)
    resolved = resolve(name, vault)
    template = resolved.template
    if resolved.sandboxed:
        status = sandbox_status()
        if status.missing:  # say what protects this run less than it would elsewhere
            click.echo(status.summary(), err=True)
    period = _period(template.parameters["period"].default, period_name, start, end, today)
    folder = reports_dir(vault)
    target = _target(out, folder, template.name, period)
    rendered = render(
        template,
        period,
        out=target,
        vault=vault,
        parameters=_key_values(values),
        show_code=show_code,
        cell_timeout=cell_timeout,
        sandbox=resolved.sandboxed,
    )
    console = plain_console()
    console.print(f"Wrote {rendered.path} ({period.label}, {rendered.seconds:.1f} s)")
    if target.parent.parent == folder:
        console.print(f"Index: {write_index(folder)}")
    console.print(f"Open it in any browser: {rendered.path.resolve().as_uri()}")


@click.group("reports", context_settings=_CONTEXT)
def reports_group() -> None:
    """Scheduled reports: render what is due, set up the schedule, list reports.

    \b
    Example:
        selfdata reports schedule
        selfdata reports run-due
        selfdata reports list
    """


@reports_group.command("run-due", context_settings=_CONTEXT)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Reports rendered at once (default: up to 4, one per CPU).",
)
@click.option("--quiet", "-q", is_flag=True, help="Only print failures (for cron).")
@cell_timeout_option
@_today_option
@click.pass_context
def run_due_command(
    ctx: click.Context, jobs: int | None, quiet: bool, cell_timeout: float, today: Any
) -> None:
    """Render every scheduled report that is due, catching up missed periods.

    The schedule is [[reports]] in selfdata.toml beside the vault. A report
    is due for each complete week, month or year not rendered yet, so a
    computer that was off for three weeks renders the three missing weekly
    reports, and running it twice renders nothing new. Reports go to
    reports/NAME/PERIOD.html beside the vault, the vault records them, and
    reports/index.html lists them all. Safe to run from cron every hour.

    \b
    Example:
        selfdata reports run-due
        selfdata reports run-due --jobs 1 --quiet
    """
    vault = command_vault(ctx)
    console = plain_console()
    if not load_settings(vault).reports:
        console.print(
            f"No reports scheduled: add [[reports]] to {vault.parent / CONFIG_FILE_NAME} "
            "(`selfdata reports schedule` shows how)."
        )
        return

    def progress(due: Due, outcome: Rendered | SelfdataError) -> None:
        if isinstance(outcome, Rendered):
            if not quiet:
                console.print(
                    f"rendered {due.entry.name} {due.period.label} -> {outcome.path} "
                    f"({outcome.seconds:.1f} s)"
                )
        else:
            click.echo(f"failed {due.entry.name} {due.period.label}: {outcome}", err=True)

    result = run_due(
        vault,
        today=today.date() if today else None,
        jobs=jobs,
        cell_timeout=cell_timeout,
        on_done=progress,
    )
    if result.busy:
        console.print("Another `selfdata reports run-due` is running; nothing to do.")
        return
    if result.record_problem:
        click.echo(
            f"Warning: the reports were written but not recorded in the vault "
            f"({result.record_problem}); the next run records them.",
            err=True,
        )
    done = len(result.rendered) + len(result.failed)
    if not quiet:
        console.print(
            f"{done} due: {len(result.rendered)} rendered, {len(result.failed)} failed; "
            f"{result.recorded} recorded in the vault. Index: {result.index}"
        )
    if result.failed:
        ctx.exit(1)


@reports_group.command("schedule", context_settings=_CONTEXT)
@_today_option
@click.pass_context
def schedule_command(ctx: click.Context, today: Any) -> None:
    """Show the schedule and the crontab line (or systemd timer) that runs it hourly.

    \b
    Example:
        selfdata reports schedule
        selfdata reports schedule >> notes.txt
    """
    vault = command_vault(ctx).resolve()
    settings = load_settings(vault)
    console = plain_console()
    config = vault.parent / CONFIG_FILE_NAME
    if settings.reports:
        due = due_reports(vault, today=today.date() if today else None)
        table = quiet_table("report", "template", "every", "due now")
        for entry in settings.reports:
            waiting = [d.period.label for d in due if d.entry == entry]
            table.add_row(entry.name, entry.template, entry.every, ", ".join(waiting) or "-")
        console.print(f"Scheduled in {config}:")
        console.print(table)
    else:
        console.print(f"Nothing scheduled yet. Add to {config}, for example:\n")
        console.print(
            '[[reports]]\ntemplate = "health"\nevery = "week"\n\n'
            '[[reports]]\ntemplate = "spending"\nevery = "month"\n',
            markup=False,
        )
    service, timer = systemd_units(vault)
    console.print("To render due reports every hour with cron, add this line (crontab -e):\n")
    console.print(cron_line(vault), markup=False, soft_wrap=True)
    console.print(
        "\nOr with a systemd user timer, which also catches up after sleep:\n"
        "\n# ~/.config/systemd/user/selfdata-reports.service",
        markup=False,
    )
    console.print(service, markup=False)
    console.print("# ~/.config/systemd/user/selfdata-reports.timer", markup=False)
    console.print(timer, markup=False)
    console.print("then: systemctl --user enable --now selfdata-reports.timer", markup=False)


@reports_group.command("list", context_settings=_CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List the templates you can render and the reports rendered so far, newest first.

    \b
    Example:
        selfdata reports list
        selfdata reports list --json
    """
    vault = command_vault(ctx)
    folder = reports_dir(vault)
    found = entries(vault)
    templates = [(e.origin, e.template) for e in found if e.template is not None]
    broken = [(e.name, e.problem) for e in found if e.template is None]
    reports = sorted(
        rendered_reports(folder) if folder.is_dir() else [],
        key=lambda e: (e.end, e.generated_at),
        reverse=True,
    )
    console = plain_console()
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "templates": [
                        {"name": t.name, "version": t.version, "title": t.title, "origin": o}
                        for o, t in templates
                    ],
                    "unusable": [{"name": n, "problem": p} for n, p in broken],
                    "reports": [
                        {
                            "template": e.template,
                            "period": e.label,
                            "start": e.start.isoformat(),
                            "end": e.end.isoformat(),
                            "generated": e.generated_at,
                            "path": str(e.path),
                        }
                        for e in reports
                    ],
                }
            )
        )
        return
    table = quiet_table("template", "version", "origin", "what it shows", wrap={"what it shows"})
    for origin, template in templates:
        table.add_row(template.name, template.version, origin, template.description)
    for name, problem in broken:
        table.add_row(name, "-", "-", f"cannot be used: {problem}")
    console.print(f"Templates (curated in {templates_dir()}; `selfdata templates list` for more):")
    console.print(table)
    if not reports:
        console.print("No reports yet: selfdata report health")
        return
    rendered = quiet_table("template", "period", "generated", "file")
    for entry in reports:
        generated = entry.generated_at[:16].replace("T", " ")
        rendered.add_row(entry.template, entry.label, generated, str(entry.path))
    console.print(f"Reports in {folder} (index.html lists them too):")
    console.print(rendered)


# --- private helpers -------------------------------------------------------------------


def _period(default: str, name: str | None, start: Any, end: Any, today: Any) -> Period:
    day = today.date() if today else date.today()
    if (start is None) != (end is None):
        raise click.UsageError("give both --start and --end, or neither")
    if start is not None:
        if name:
            raise click.UsageError("give --period or --start/--end, not both")
        try:
            return period_between(start.date(), end.date())
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--end") from error
    try:
        return parse_period(name or default or "last-month", today=day)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from error


def _target(out: Path | None, folder: Path, template: str, period: Period) -> Path:
    if out is None:
        return report_path(folder, template, period)
    out = out.expanduser()
    if out.suffix.lower() in (".html", ".htm"):
        return out
    return out / f"{template}-{period.label}.html"


def _key_values(values: Sequence[str]) -> dict[str, str]:
    found = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--set")
        found[key.strip()] = text.strip()
    return found
