"""The `selfdata templates` commands: list, new, check, pack, install, approve, remove.

A thin layer over `selfdata.templates`; the root `selfdata` group adds it
(`cli.add_command(templates_group)`). Errors are selfdata's own, which the
root prints as one line with exit status 1.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from selfdata.console import command_vault, plain_console, quiet_table
from selfdata.errors import VaultError
from selfdata.reports.cli import cell_timeout_option
from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import Template, load_template, read_notebook, templates_dir
from selfdata.templates import scan, store
from selfdata.templates.catalog import Entry, entries
from selfdata.templates.check import CheckResult, check_template, demo_vault_ready
from selfdata.templates.pack import pack
from selfdata.templates.sandbox import sandbox_status
from selfdata.templates.scaffold import new_template
from selfdata.templates.sources import fetch
from selfdata.vault import open_vault

__all__ = ["templates_group"]

_WRAPPING = {"tables it reads", "this vault has"}
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("templates", context_settings=_CONTEXT)
def templates_group() -> None:
    """Share report templates (never data): write, check, pack, install and trust them.

    A template reads only the canonical tables, so one written on your vault
    runs on anyone's. Installed templates live in templates/ beside the
    vault, pinned by sha256, and run in a sandbox: the vault read-only, no
    network, no writing outside the report. docs/templates.md is the
    author's guide.

    \b
    Example:
        selfdata templates new sleep-debt
        selfdata templates check sleep-debt
        selfdata templates pack sleep-debt
        selfdata templates install sleep-debt-0.1.0.template.zip
        selfdata report sleep-debt --period last-month
    """


@templates_group.command("list", context_settings=_CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List curated, installed and package templates, and whether this vault can feed them.

    "has" counts the tables a template reads that hold rows in this vault.

    \b
    Example:
        selfdata templates list
        selfdata --vault ~/other/selfdata.duckdb templates list --json
    """
    vault = command_vault(ctx)
    found = entries(vault)
    filled = _tables_with_rows(vault)
    rows = [_listing(entry, filled) for entry in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = quiet_table(
        "template",
        "version",
        "origin",
        "tables it reads",
        "this vault has",
        wrap={"tables it reads", "this vault has"},
    )
    for row in rows:
        if row["problem"]:
            table.add_row(row["name"], "-", row["origin"], "-", f"cannot be used: {row['problem']}")
            continue
        table.add_row(
            row["name"], row["version"], row["origin"], ", ".join(row["tables"]), row["has"]
        )
    console = plain_console()
    console.print(f"Curated: {templates_dir()}; installed: {store.installed_dir(vault)}")
    console.print(table)


@templates_group.command("new", context_settings=_CONTEXT)
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the template's folder.",
)
@click.option("--author", default="you", show_default=True, help="The manifest's author.")
def new_command(name: str, parent: Path, author: str) -> None:
    """Create a new template folder to start from, which passes `templates check` as it is.

    \b
    Example:
        selfdata templates new sleep-debt
        selfdata templates new commute-cost --dir ~/templates --author "Ann Lee"
    """
    folder = new_template(name, parent, author=author)
    click.echo(f"Created {folder}: template.toml and {name}.ipynb")
    click.echo(f"Edit it in JupyterLab (selfdata lab --dir {folder}), then:")
    click.echo(f"  selfdata report {folder} --period last-month --show-code")
    click.echo(f"  selfdata templates check {folder}")


@templates_group.command("check", context_settings=_CONTEXT)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only the static checks; do not render it.")
@cell_timeout_option
@click.pass_context
def check_command(ctx: click.Context, path: Path, no_run: bool, cell_timeout: float) -> None:
    """Run every check a template needs before you share it; one OK/FAIL line each.

    It renders the template in the sandbox on the demo persona's vault (built
    once and cached, about a minute the first time) and on an empty vault.
    Exit status 1 when a check fails.

    \b
    Example:
        selfdata templates check sleep-debt
        selfdata templates check sleep-debt --no-run
    """
    if not no_run and not demo_vault_ready():
        click.echo("Building the demo vault for checks (once, about a minute)...")

    def show(result: CheckResult) -> None:
        click.echo(result.line())
        for finding in result.findings:
            click.echo(f"      {finding.where}: {finding.message}")

    results, notes = check_template(
        path.resolve(), run=not no_run, cell_timeout=cell_timeout, on_result=show
    )
    if notes:
        click.echo(f"NOTE  {len(notes)} risky operation(s) found (advisory: {_ADVISORY})")
        for note in notes:
            click.echo(f"      {note.where}: {note.message}")
    failed = [r for r in results if r.ok is False]
    if failed:
        click.echo(f"{len(failed)} check(s) failed: fix them before sharing.")
        ctx.exit(1)
    click.echo(f"Ready to share: selfdata templates pack {path}")


@templates_group.command("pack", context_settings=_CONTEXT)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="A folder (the file is NAME-VERSION.template.zip in it) or a file name.",
)
def pack_command(path: Path, out: Path) -> None:
    """Write the template as one shareable file: outputs stripped, sha256 in its manifest.

    Run `selfdata templates check` first: pack checks the manifest and the
    files, not the notebook's content.

    \b
    Example:
        selfdata templates pack sleep-debt
        selfdata templates pack sleep-debt --out ~/shared/
    """
    target = pack(path.resolve(), out.expanduser())
    click.echo(f"Wrote {target} ({target.stat().st_size:,} bytes)")
    click.echo(f"Others install it with: selfdata templates install {target.name}")


@templates_group.command("install", context_settings=_CONTEXT)
@click.argument("source")
@click.option("--yes", "-y", is_flag=True, help="Install without asking (for scripts).")
@click.option("--ref", metavar="BRANCH|TAG", help="For git: the branch or tag to install.")
@click.option("--subdir", metavar="FOLDER", help="The template's folder, when there are several.")
@click.pass_context
def install_command(
    ctx: click.Context, source: str, yes: bool, ref: str | None, subdir: str | None
) -> None:
    """Install a template from a folder, a pack, or a git repository, after you approve it.

    You are shown what it is, the tables it reads, every line of code it
    will run and what a scan found risky; nothing is installed until you
    say yes. The installed copy is pinned by sha256: if its files change,
    it refuses to run until you approve it again.

    \b
    Example:
        selfdata templates install sleep-debt-0.1.0.template.zip
        selfdata templates install ./sleep-debt
        selfdata templates install https://github.com/ann/selfdata-templates.git --subdir sleep-debt
        selfdata templates install ../my-templates --ref v1.2 --yes
    """
    vault = command_vault(ctx)
    with tempfile.TemporaryDirectory(prefix="selfdata-install-") as work:
        fetched = fetch(source, Path(work), ref=ref, subdir=subdir)
        template = load_template(fetched.folder)
        if (templates_dir() / template.name).is_dir():
            raise TemplateError(
                template.name,
                "is the name of a curated template; rename the template (its folder and "
                "`name` in template.toml) to install it",
            )
        previous = store.approvals(vault).get(template.name)
        _show_template(template, fetched.source, store.content_digest(fetched.folder), yes)
        if previous is not None:
            click.echo(f"This replaces the installed {template.name} {previous.version}.")
        _confirm(
            template.name,
            f"Install {template.name} {template.version} into {vault.parent}?",
            yes,
            "not approved; nothing was installed",
        )
        folder = store.install(
            fetched.folder, vault, source=fetched.source, version=template.version
        )
    click.echo(f"Installed {template.name} {template.version} in {folder}")
    click.echo(f"Render it: selfdata report {template.name} --period last-month")


@templates_group.command("approve", context_settings=_CONTEXT)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Approve without asking (for scripts).")
@click.pass_context
def approve_command(ctx: click.Context, name: str, yes: bool) -> None:
    """Review an installed template that changed since you approved it, and approve it again.

    \b
    Example:
        selfdata templates approve sleep-debt
    """
    vault = command_vault(ctx)
    folder = store.installed_dir(vault) / name
    if not folder.is_dir():
        raise TemplateError(name, f"is not installed in {folder.parent}")
    template = load_template(folder)
    previous = store.approvals(vault).get(name)
    digest = store.content_digest(folder)
    if previous is not None and previous.sha256 == digest:
        click.echo(f"{name} is unchanged since you approved it on {previous.approved_at[:10]}.")
        return
    source = previous.source if previous else f"folder {folder}"
    _show_template(template, source, digest, yes)
    _confirm(
        name,
        f"Approve {name} {template.version} as it is now?",
        yes,
        "not approved; it still refuses to run",
    )
    approval = store.approve(vault, name, source=source, version=template.version)
    click.echo(f"Approved {name} {template.version} (sha256 {approval.sha256[:12]})")


@templates_group.command("remove", context_settings=_CONTEXT)
@click.argument("name")
@click.pass_context
def remove_command(ctx: click.Context, name: str) -> None:
    """Remove an installed template (its reports already rendered stay).

    \b
    Example:
        selfdata templates remove sleep-debt
    """
    folder = store.forget(command_vault(ctx), name)
    click.echo(f"Removed {name} ({folder})")


# --- private helpers ---------------------------------------------------------------------

_ADVISORY = "a scan cannot prove code safe; the sandbox is what keeps it in its place"


def _show_template(template: Template, source: str, digest: str, brief: bool) -> None:
    """What the person approves: the template, its tables, its code, the scan's findings."""
    notebook = read_notebook(template.notebook)
    cells = scan.code_cells(notebook)
    lines = sum(len(code.splitlines()) for _, code in cells)
    echo = click.echo
    echo(f"Template  {template.name} {template.version}: {template.title}")
    echo(f"          {template.description}")
    echo(f"Author    {template.author} ({template.license})")
    echo(f"Source    {source}")
    echo(f"sha256    {digest}")
    echo(f"Reads     {', '.join(template.tables) or 'no tables'}")
    echo(f"Runs      {len(cells)} code cells, {lines} lines; {sandbox_status().summary()}")
    if brief:
        echo("Code      not shown (--yes)")
    else:
        echo("")
        for number, code in cells:
            echo(f"--- cell {number} " + "-" * 60)
            for at, text in enumerate(code.splitlines(), start=1):
                echo(f"{at:4} | {text}")
        echo("-" * 70)
    found = scan.risky_operations(notebook)
    if not found:
        echo(f"Scan      nothing risky found (advisory: {_ADVISORY})")
        return
    echo(f"Scan      {len(found)} risky operation(s) (advisory: {_ADVISORY}):")
    for finding in found:
        echo(f"          {finding.where}: {finding.message}")


def _confirm(name: str, question: str, yes: bool, refused: str) -> None:
    """Ask; anything but yes (no answer at all aborts) changes nothing."""
    if yes:
        return
    if not click.confirm(question, default=False):
        raise TemplateError(name, refused)


def _listing(entry: Entry, filled: set[str] | None) -> dict[str, Any]:
    template = entry.template
    tables = list(template.tables) if template else []
    if filled is None:
        has = "no vault"
    else:
        has = f"{sum(t in filled for t in tables)} of {len(tables)}"
        missing = [t for t in tables if t not in filled]
        has += f" (empty: {', '.join(missing)})" if missing else ""
    return {
        "name": entry.name,
        "version": template.version if template else None,
        "origin": entry.origin,
        "tables": tables,
        "has": has,
        "problem": entry.problem,
        "folder": str(entry.folder),
    }


def _tables_with_rows(vault: Path) -> set[str] | None:
    if not vault.exists():
        return None
    try:
        with open_vault(vault, read_only=True) as con:
            names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            return {
                name
                for name in names
                if con.execute(f'SELECT EXISTS (FROM "{name}")').fetchall()[0][0]
            }
    except VaultError:
        return None
