"""The `selfdata` command: a thin layer over the library.

Errors are translated once, here at the root: any SelfdataError becomes one
line on stderr and exit status 1; anything unexpected becomes one line and
exit status 2. `--debug` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click
from rich.console import Console
from rich.table import Table

from selfdata import __version__
from selfdata.console import plain_console, quiet_table
from selfdata.errors import SelfdataError

# Each command imports the library modules it uses when it runs, and the report
# and template groups load on first use: `selfdata --help` then starts in a
# tenth of a second, and `selfdata import` does not load Jupyter, the template
# tooling or the analytics it does not need.
if TYPE_CHECKING:
    from selfdata.analytics.categories import CategorizeResult
    from selfdata.analytics.mobility import DeriveResult
    from selfdata.ingest import FileResult
    from selfdata.reports.render import Rendered

__all__ = ["cli", "main"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Root(click.Group):
    """Turns selfdata's errors into one line, once, for every command, and loads
    the command groups that live in their own packages when they are used."""

    _ELSEWHERE: ClassVar[dict[str, tuple[str, str]]] = {
        "report": ("selfdata.reports.cli", "report_command"),
        "reports": ("selfdata.reports.cli", "reports_group"),
        "templates": ("selfdata.templates.cli", "templates_group"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._ELSEWHERE and cmd_name not in self.commands:
            module, name = self._ELSEWHERE[cmd_name]
            self.add_command(getattr(import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SelfdataError as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted: the file being imported was not written.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`selfdata templates list | head`): stop quietly,
            # with stdout on /dev/null so Python's own flush at exit does not complain.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            click.echo(
                f"Error: unexpected {type(error).__name__}: {error} "
                "(run with --debug for the traceback, and please report it)",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Root, context_settings=_CONTEXT)
@click.option(
    "--vault",
    "vault",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Vault file. Default: $SELFDATA_HOME/selfdata.duckdb, else ./data/selfdata.duckdb.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of errors.")
@click.version_option(__version__, "-V", "--version", prog_name="selfdata")
@click.pass_context
def cli(ctx: click.Context, vault: Path | None, debug: bool) -> None:
    """Your own data warehouse: import your exports, explore and report on them.

    \b
    Example:
        selfdata import ~/Downloads/export.zip runs/
        selfdata vault info
        selfdata imports
    """
    from selfdata.vault import resolve_vault_path

    ctx.obj = {"vault": resolve_vault_path(vault), "debug": debug}


def _vault_path(ctx: click.Context) -> Path:
    path: Path = ctx.obj["vault"]
    return path


# --- import ------------------------------------------------------------------------


@cli.command("import", context_settings=_CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--importer", "importer", metavar="NAME", help="Skip detection and use this importer."
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait while another program holds the vault (default 30).",
)
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    callback=lambda _ctx, _param, values: _key_values(values),
    help="An importer option for this run, over selfdata.toml's [importers.NAME] "
    "(repeatable), e.g. -o profile=mybank.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only print errors and the final line.")
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    importer: str | None,
    lock_timeout: float | None,
    options: dict[str, str],
    quiet: bool,
) -> None:
    """Import files, folders and zip archives into the vault.

    Each file is detected by its content (also inside zips, read in place) and
    imported in one transaction: a file that fails leaves the vault as it was.
    Importing the same file again adds nothing; an export that overlaps an
    older one adds only what is new.

    \b
    Example:
        selfdata import activity.gpx
        selfdata import ~/Downloads/takeout.zip tracks/
        selfdata import --importer gpx odd-name.xml
        selfdata import --importer bank_csv -o profile=mybank statement.csv
    """
    from selfdata.ingest import import_paths

    err = plain_console(stderr=True)
    with _ProgressBar(err, enabled=err.is_terminal and not quiet) as progress:
        results = import_paths(
            paths,
            vault=_vault_path(ctx),
            importer=importer,
            progress=progress,
            lock_timeout=lock_timeout,
            options=options,
        )
    out = plain_console()
    for result in results:
        if not quiet or result.status == "failed":
            _print_result(out, result)
    for line in _follow_up(_vault_path(ctx), results):
        if not quiet:
            out.print(line)
    out.print(_import_summary(results))
    if any(r.status == "failed" for r in results):
        ctx.exit(1)


def _follow_up(vault: Path, results: Sequence[FileResult]) -> list[str]:
    """What an import sets off, one line each: new statement lines get their
    merchant and category, and visits and trips follow the points they come from."""
    lines = []
    if any(r.new.get("transactions") for r in results):
        from selfdata.analytics.categories import categorize

        lines.append(_categorized(categorize(vault)))
    if any(r.new.get(table) for r in results for table in _MOBILITY_INPUTS):
        from selfdata.analytics.mobility import derive

        lines.append(_derived(derive(vault)))
    return lines


def _key_values(values: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` strings as a dict; a value without `=` is a usage error."""
    options = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--option")
        options[key.strip()] = text.strip()
    return options


class _ProgressBar:
    """A rich progress bar by bytes read, one task per file."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._enabled = enabled
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._name = ""

    def __enter__(self) -> _ProgressBar | None:
        if not self._enabled:
            return None
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            self._bar.stop()

    def start(self, name: str, total_bytes: int) -> None:
        self._name = _short(name)
        self._task = self._bar.add_task(self._name, total=total_bytes)

    def phase(self, label: str) -> None:
        self._bar.update(self._task, description=f"{self._name} ({label})")

    def advance(self, n_bytes: int) -> None:
        self._bar.advance(self._task, n_bytes)

    def finish(self) -> None:
        self._bar.remove_task(self._task)


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _print_result(out: Console, result: FileResult) -> None:
    if result.status == "imported":
        out.print(
            f"imported {result.name} ({result.importer}) as import {result.import_id} "
            f"in {result.seconds:.1f} s"
        )
        tables = sorted(set(result.new) | set(result.rejected))
        width = max(len(t) for t in tables) if tables else 0
        for table in tables:
            out.print(
                f"  {table:<{width}}  {result.new.get(table, 0):>10,} new"
                f"  {result.duplicate.get(table, 0):>10,} duplicate"
                f"  {result.rejected.get(table, 0):>7,} rejected"
            )
        for reason, count in sorted(result.repairs.items()):
            out.print(f"  repaired {count:,}: {reason}")
        for reject in result.reject_samples:
            where = f"line {reject.line}: " if reject.line else ""
            out.print(f"  rejected {reject.table} {where}{reject.reason}")
    elif result.status == "already_imported":
        out.print(f"unchanged {result.name}: {result.note}, nothing added")
    elif result.status == "skipped":
        out.print(f"skipped {result.name}: {result.note}")
    else:
        out.print(f"failed {result.name}: {_problem(result)}")


def _problem(result: FileResult) -> str:
    error = result.error
    if error is None:
        return "unknown error"
    # The error names the file itself; don't say the name twice.
    text = str(error)
    return text.removeprefix(f"{result.name}: ").removeprefix(f"{result.name}, ")


def _import_summary(results: Sequence[FileResult]) -> str:
    def count(status: str) -> int:
        return sum(r.status == status for r in results)

    new = sum(sum(r.new.values()) for r in results)
    files = "file" if len(results) == 1 else "files"
    parts = [f"{count('imported')} imported", f"{count('already_imported')} unchanged"]
    if count("skipped"):
        parts.append(f"{count('skipped')} skipped")
    parts.append(f"{count('failed')} failed")
    return f"{len(results)} {files}: {', '.join(parts)}; {new:,} new rows."


# --- imports, forget -----------------------------------------------------------------


@cli.command("imports", context_settings=_CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def imports_command(ctx: click.Context, as_json: bool) -> None:
    """List the imports in the vault, newest last.

    \b
    Example:
        selfdata imports
        selfdata imports --json
    """
    from selfdata.vault import open_vault

    with open_vault(_vault_path(ctx)) as con:
        rows = con.execute(
            "SELECT import_id, importer, file_name, strftime(finished_at, '%Y-%m-%d %H:%M'),"
            " rows_new, rows_duplicate, rows_rejected, status"
            " FROM imports ORDER BY import_id"
        ).fetchall()
    records = [
        {
            "import_id": r[0],
            "importer": r[1],
            "file_name": r[2],
            "finished": r[3],
            "new": json.loads(r[4]),
            "duplicate": json.loads(r[5]),
            "rejected": json.loads(r[6]),
            "status": r[7],
        }
        for r in rows
    ]
    out = plain_console()
    if as_json:
        out.print_json(json.dumps(records))
        return
    if not records:
        out.print("No imports yet: selfdata import PATH")
        return
    table = _table("id", "importer", "file", "finished (UTC)", "new", "duplicate", "rejected")
    for rec in records:
        table.add_row(
            str(rec["import_id"]),
            rec["importer"],
            Path(rec["file_name"]).name,
            rec["finished"],
            str(sum(rec["new"].values())),
            str(sum(rec["duplicate"].values())),
            str(sum(rec["rejected"].values())),
        )
    out.print(table)


@cli.command("forget", context_settings=_CONTEXT)
@click.argument("import_id", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget_command(ctx: click.Context, import_id: int, yes: bool) -> None:
    """Remove one import and every row it brought.

    \b
    Example:
        selfdata imports          # find the id
        selfdata forget 3 --yes
    """
    from selfdata.ingest import forget
    from selfdata.vault import open_vault

    with open_vault(_vault_path(ctx)) as con:
        found = con.execute(
            "SELECT file_name FROM imports WHERE import_id = ?", [import_id]
        ).fetchall()
    if not found:
        raise SelfdataError(f"no import {import_id}; `selfdata imports` lists them")
    if not yes:
        click.confirm(f"Remove import {import_id} ({found[0][0]}) and its rows?", abort=True)
    removed = forget(import_id, vault=_vault_path(ctx))
    detail = ", ".join(f"{n} {table}" for table, n in sorted(removed.items())) or "no rows"
    plain_console().print(f"Forgot import {import_id}: removed {detail}.")


# --- importers, vault, doctor ---------------------------------------------------------


@cli.command("importers", context_settings=_CONTEXT)
def importers_command() -> None:
    """List the importers: built-in and from plugins.

    Plugins register through the `selfdata.importers` entry point group.

    \b
    Example:
        selfdata importers
    """
    from selfdata.importers import Registry

    registry = Registry.default()
    table = _table("name", "version", "origin", "patterns", "tables")
    for registered in registry:
        imp = registered.importer
        table.add_row(
            imp.name, imp.version, registered.origin, _patterns(imp.patterns), ", ".join(imp.tables)
        )
    out = plain_console()
    out.print(table)
    for name, why in registry.broken.items():
        out.print(f"plugin {name} did not load: {why}")


def _patterns(patterns: Sequence[str], shown: int = 3) -> str:
    """The first few file-name patterns; detection is by content anyway."""
    text = " ".join(patterns[:shown])
    return text + (f" (+{len(patterns) - shown} more)" if len(patterns) > shown else "")


@cli.group("vault", context_settings=_CONTEXT)
def vault_group() -> None:
    """Look after the vault file."""


@vault_group.command("info", context_settings=_CONTEXT)
@click.pass_context
def vault_info_command(ctx: click.Context) -> None:
    """Show the vault's size, schema version, rows per table and dates per domain.

    \b
    Example:
        selfdata vault info
        SELFDATA_HOME=~/selfdata selfdata vault info
    """
    from selfdata.vault import open_vault, vault_info

    path = _vault_path(ctx)
    with open_vault(path) as con:
        info = vault_info(con, path)
    out = plain_console()
    out.print(f"vault           {info.path}")
    out.print(f"size            {_size(info.file_bytes)}")
    out.print(f"schema version  {info.schema_version} (selfdata {info.made_by})")
    out.print(f"imports         {info.imports}")
    rows = _table("table", "rows")
    for table, n in info.rows.items():
        rows.add_row(table, f"{n:,}")
    out.print(rows)
    domains = _table("domain", "rows", "first day", "last day")
    for domain in info.domains:
        domains.add_row(domain.domain, f"{domain.rows:,}", domain.first or "-", domain.last or "-")
    out.print(domains)


def _table(*columns: str) -> Table:
    """A quiet table; counts right-aligned; lists may wrap, names, numbers and dates never do."""
    right = {"id", "rows", "new", "duplicate", "rejected"}
    return quiet_table(*columns, wrap={"patterns", "tables"}, right=right)


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@cli.command("doctor", context_settings=_CONTEXT)
@click.pass_context
def doctor_command(ctx: click.Context) -> None:
    """Check the installation and the vault: one OK, FAIL or SKIP line each.

    \b
    Example:
        selfdata doctor
    """
    from selfdata.doctor import run_checks

    checks = run_checks(_vault_path(ctx))
    out = plain_console()
    for check in checks:
        out.print(f"{check.status:<4}  {check.name:<10}  {check.detail}")
    if any(c.status == "FAIL" for c in checks):
        ctx.exit(1)


# --- categorize ---------------------------------------------------------------------


@cli.command("categorize", context_settings=_CONTEXT)
@click.option(
    "--transfer-days",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Most days between the two sides of a transfer between your own accounts.",
)
@click.pass_context
def categorize_command(ctx: click.Context, transfer_days: int) -> None:
    """Set every transaction's merchant and category from the rules.

    Merchant names are normalised (card numbers, dates, `PAYPAL *`, `CB`, city
    suffixes... removed), then categories come from your `categories.toml`
    beside the vault, checked first, and the shipped rules. Transfers between
    your own accounts are paired and left out of spending. `selfdata import`
    runs this after each import of statements; run it again after editing
    your rules.

    \b
    Example:
        selfdata categorize
        selfdata categorize --transfer-days 5
    """
    from selfdata.analytics.categories import categorize

    result = categorize(_vault_path(ctx), transfer_days=transfer_days)
    plain_console().print(_categorized(result))


def _categorized(result: CategorizeResult) -> str:
    shares = ", ".join(
        f"{currency} {share:.0%}" for currency, share in sorted(result.uncategorised_share.items())
    )
    return (
        f"categorised {result.categorised:,} of {result.rows:,} transactions, "
        f"{result.transfer_pairs:,} transfer pairs"
        + (f"; spending left uncategorised: {shares}" if shares else "")
    )


# --- derive -------------------------------------------------------------------------

# Tables whose new rows change what `derive` computes.
_MOBILITY_INPUTS = ("location_points", "visits")


@cli.command("derive", context_settings=_CONTEXT)
@click.pass_context
def derive_command(ctx: click.Context) -> None:
    """Recompute visits, trips and places from the location points.

    Stay points (100 m, 5 min by default; `[mobility]` in selfdata.toml tunes
    them) become visits, the moves between them trips with a distance and a
    transport mode, and visits are grouped into places with home and work
    inferred. Derived rows are replaced as a whole, so running it twice gives
    the same rows; visits and trips imported from Google are left as they are.
    `selfdata import` runs this after each import that brings points.

    \b
    Example:
        selfdata derive
        selfdata --vault ~/vaults/me.duckdb derive
    """
    from selfdata.analytics.mobility import derive

    plain_console().print(_derived(derive(_vault_path(ctx))))


def _derived(result: DeriveResult) -> str:
    return (
        f"derived {result.visits:,} visits, {result.trips:,} trips and {result.places:,} places "
        f"from {result.points:,} location points in {result.seconds:.1f} s"
    )


# --- demo ---------------------------------------------------------------------------


@cli.command("demo", context_settings=_CONTEXT)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the demo export files. Default: demo/ beside the vault.",
)
@click.option(
    "--years", type=click.IntRange(min=1), default=1, show_default=True, help="Years of data."
)
@click.option("--no-reports", is_flag=True, help="Import only; render no report.")
@click.pass_context
def demo_command(ctx: click.Context, out: Path | None, years: int, no_reports: bool) -> None:
    """Write a synthetic person's year as export files, import them, render every report.

    Alex's Apple Health export, Google location history, bank statements (OFX,
    camt.053, a Monzo CSV), a Green Button feed and GPX/FIT workouts are real
    files in their real formats, so the demo runs the same importers your own
    files will. Then every curated report is rendered and the index's path is
    printed. Running it again imports nothing new and renders nothing again.

    \b
    Example:
        selfdata demo
        selfdata --vault /tmp/demo.duckdb demo --years 3 --no-reports
    """
    from selfdata.demo import DEMO_TODAY, write_demo
    from selfdata.ingest import import_paths
    from selfdata.reports.showcase import render_demo_reports

    vault = _vault_path(ctx)
    folder = out or vault.parent / "demo"
    files = write_demo(folder, years=years)
    click.echo(f"Wrote {len(files)} demo export files to {folder}")
    err = plain_console(stderr=True)
    with _ProgressBar(err, enabled=err.is_terminal) as progress:
        results = import_paths([folder], vault=vault, progress=progress)
    click.echo(_import_summary(results))
    changed = any(r.status == "imported" for r in results)
    for line in _follow_up(vault, results):
        click.echo(line)
    ctx.invoke(vault_info_command)
    if no_reports:
        return

    def said(template: str, outcome: Rendered | SelfdataError | None) -> None:
        if outcome is None:
            click.echo(f"unchanged report {template}")
        elif isinstance(outcome, SelfdataError):
            click.echo(f"failed report {template}: {outcome}")
        else:
            click.echo(f"rendered {outcome.path} in {outcome.seconds:.1f} s")

    click.echo("Rendering the reports (each in its own Jupyter kernel)...")
    _, failed, index = render_demo_reports(
        vault, today=DEMO_TODAY, years=years, changed=changed, on_done=said
    )
    click.echo(f"Reports: {index}  (open it in any browser: file://{index.resolve()})")
    if failed:
        ctx.exit(1)


# --- lab ----------------------------------------------------------------------------


@cli.command("lab", context_settings=_CONTEXT)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The notebooks folder. Default: notebooks/ of the selfdata checkout.",
)
@click.option("--port", type=click.IntRange(1, 65535), help="The port JupyterLab listens on.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@click.pass_context
def lab_command(
    ctx: click.Context, folder: Path | None, port: int | None, no_browser: bool
) -> None:
    """Start JupyterLab on the notebooks, with the vault's path in $SELFDATA_VAULT.

    Start with getting-started.ipynb: it opens the vault read-only (an import
    can run beside it), lists the tables, plots the analytics and runs plain
    SQL. JupyterLab is started with its news feed, update check and PyPI
    extension search off, so it makes no call outside this machine; charts are
    drawn locally as SVG.

    \b
    Example:
        selfdata lab
        selfdata --vault ~/vaults/me.duckdb lab --port 8899 --no-browser
    """
    folder = folder or _notebooks_dir()
    vault = _vault_path(ctx)
    env = {**os.environ, "SELFDATA_VAULT": str(vault), "SELFDATA_HOME": str(vault.parent)}
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={folder}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # The default extension manager searches PyPI: read-only lists what is installed.
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # a container's root user: JupyterLab refuses root without this
        command.append("--allow-root")
    if port:
        command.append(f"--ServerApp.port={port}")
    if no_browser:
        command.append("--ServerApp.open_browser=False")
    ctx.exit(subprocess.run(command, env=env, check=False).returncode)


def _notebooks_dir() -> Path:
    folder = Path(__file__).resolve().parents[2] / "notebooks"
    if not folder.is_dir():
        raise SelfdataError(f"no notebooks folder at {folder}: name one with --dir")
    return folder


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: runs the command, then ends the process.

    Once the command is done, its vault connections closed and its output
    flushed, the process ends without Python's teardown: unloading polars,
    numpy, pyarrow and DuckDB module by module takes about 0.08 s and leaves
    nothing different on disk.
    """
    try:
        cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="selfdata")
        status = 0
    except SystemExit as end:
        if not isinstance(end.code, int | None):
            raise  # a message to print: Python's own exit does that
        status = end.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader went away: nothing more to say
            status = status or 141
    os._exit(status)
