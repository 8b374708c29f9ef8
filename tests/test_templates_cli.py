"""`selfdata templates ...`: the author's and the installer's whole path, as a user runs it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from selfdata.cli import cli as selfdata_cli
from selfdata.reports.sample import write_sample_vault
from selfdata.templates.cli import templates_group
from tests.conftest import run_left_behind

SCAN_FIXTURES = Path(__file__).parent / "data" / "templates"
SANDBOX_FIXTURES = Path(__file__).parent / "data" / "sandbox"


@pytest.fixture
def as_user(tmp_path: Path) -> Callable[..., Result]:
    """`selfdata --vault HOME/selfdata.duckdb ARGS...` for a person whose home is HOME."""

    def invoke(home: str, *args: str, input: str | None = None) -> Result:
        vault = tmp_path / home / "selfdata.duckdb"
        return CliRunner().invoke(selfdata_cli, ["--vault", str(vault), *args], input=input)

    return invoke


@pytest.fixture
def second_home(tmp_path: Path) -> Path:
    """The person the template is shared with: a vault of different data (a sample year)."""
    vault = tmp_path / "bob" / "selfdata.duckdb"
    write_sample_vault(vault, seed=11)
    return vault


def test_scaffold_check_pack_install_and_run_elsewhere(
    as_user: Callable[..., Result], tmp_path: Path, second_home: Path
) -> None:
    work = tmp_path / "ann-work"
    made = as_user("ann", "templates", "new", "sleep-debt", "--dir", str(work))
    assert made.exit_code == 0, made.output
    folder = work / "sleep-debt"
    assert f"Created {folder}" in made.output

    checked = as_user("ann", "templates", "check", str(folder), "--no-run")
    assert checked.exit_code == 0, checked.output
    assert re.findall(r"^(OK|FAIL|SKIP) ", checked.output, re.MULTILINE) == [
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "SKIP",
        "SKIP",
        "SKIP",
    ]

    packed = as_user("ann", "templates", "pack", str(folder), "--out", str(tmp_path))
    assert packed.exit_code == 0, packed.output
    pack = tmp_path / "sleep-debt-0.1.0.template.zip"
    assert f"Wrote {pack}" in packed.output

    installed = as_user("bob", "templates", "install", str(pack), input="y\n")
    assert installed.exit_code == 0, installed.output
    prompt = installed.output
    assert "Template  sleep-debt 0.1.0: Sleep debt" in prompt
    assert "Reads     health_samples" in prompt
    assert "--- cell 3 " in prompt  # the code, cell by cell, numbered as Jupyter shows them
    assert "   8 | report = sd.setup(vault, period, start, end)" in prompt
    assert "Scan      nothing risky found (advisory:" in prompt
    assert "sandbox: clean environment" in prompt
    assert "Install sleep-debt 0.1.0 into" in prompt
    assert (second_home.parent / "templates" / "sleep-debt" / "sleep-debt.ipynb").exists()

    listed = as_user("bob", "templates", "list", "--json")
    rows = {row["name"]: row for row in json.loads(listed.output)}
    assert rows["sleep-debt"]["origin"] == "installed"
    assert rows["sleep-debt"]["has"] == "1 of 1"
    assert rows["health"]["origin"] == "curated"

    ran = as_user("bob", "report", "sleep-debt", "--period", "2026-06")
    assert ran.exit_code == 0, ran.output
    page = (second_home.parent / "reports" / "sleep-debt" / "2026-06.html").read_text()
    assert "steps a day" in page
    assert "<script" not in page


def test_declining_installs_nothing(
    as_user: Callable[..., Result], tmp_path: Path, second_home: Path
) -> None:
    as_user("ann", "templates", "new", "sleep-debt", "--dir", str(tmp_path))
    declined = as_user("bob", "templates", "install", str(tmp_path / "sleep-debt"), input="n\n")
    assert declined.exit_code == 1
    assert "not approved; nothing was installed" in declined.output
    assert not (second_home.parent / "templates").exists()
    no_answer = as_user("bob", "templates", "install", str(tmp_path / "sleep-debt"), input="")
    assert no_answer.exit_code == 1
    assert not (second_home.parent / "templates").exists()


def test_a_changed_template_refuses_to_run_until_approved_again(
    as_user: Callable[..., Result], tmp_path: Path, second_home: Path
) -> None:
    as_user("ann", "templates", "new", "sleep-debt", "--dir", str(tmp_path))
    as_user("bob", "templates", "install", str(tmp_path / "sleep-debt"), "--yes")
    notebook = second_home.parent / "templates" / "sleep-debt" / "sleep-debt.ipynb"
    notebook.write_text(notebook.read_text().replace("steps a day", "steps each day"))
    refused = as_user("bob", "report", "sleep-debt", "--period", "2026-06")
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1  # one line, no stack trace
    assert "changed since you approved it" in refused.output
    assert "selfdata templates approve sleep-debt" in refused.output
    listed = as_user("bob", "templates", "list")
    assert "cannot be used: changed since you approved it" in listed.output
    approved = as_user("bob", "templates", "approve", "sleep-debt", input="y\n")
    assert approved.exit_code == 0, approved.output
    assert "steps each day" in approved.output  # the changed code was shown
    assert as_user("bob", "report", "sleep-debt", "--period", "2026-06").exit_code == 0


def test_remove_and_curated_names(
    as_user: Callable[..., Result], tmp_path: Path, second_home: Path
) -> None:
    as_user("ann", "templates", "new", "health", "--dir", str(tmp_path))
    clash = as_user("bob", "templates", "install", str(tmp_path / "health"), "--yes")
    assert clash.exit_code == 1
    assert "is the name of a curated template" in clash.output
    as_user("ann", "templates", "new", "sleep-debt", "--dir", str(tmp_path))
    as_user("bob", "templates", "install", str(tmp_path / "sleep-debt"), "--yes")
    removed = as_user("bob", "templates", "remove", "sleep-debt")
    assert removed.exit_code == 0
    assert not (second_home.parent / "templates" / "sleep-debt").exists()
    again = as_user("bob", "templates", "remove", "sleep-debt")
    assert again.exit_code == 1
    assert "is not installed" in again.output


@pytest.mark.parametrize(
    ("fixture", "check"),
    [
        ("stored-outputs", "no outputs or execution counts stored"),
        ("embedded-iban", "no personal data embedded"),
        ("reads-internal-table", "reads only canonical tables, through the template API"),
        ("private-api", "reads only canonical tables, through the template API"),
    ],
)
def test_check_names_the_failing_check(
    as_user: Callable[..., Result], tmp_path: Path, fixture: str, check: str
) -> None:
    folder = SCAN_FIXTURES / fixture
    if fixture == "stored-outputs":  # committed clean: put back what a run leaves
        folder = run_left_behind(folder, tmp_path)
    result = as_user("ann", "templates", "check", str(folder), "--no-run")
    assert result.exit_code == 1
    failed = re.search(rf"^FAIL  {re.escape(check)}: (.*)$", result.output, re.MULTILINE)
    assert failed, result.output
    # one finding is said on the line; several are counted there and listed below it
    assert re.match(r"cell \d+|\d+ findings$", failed[1])
    assert re.search(r"(^FAIL  |^      )[^\n]*cell \d+", result.output, re.MULTILINE)
    assert "check(s) failed" in result.output


def test_risky_code_is_shown_as_advisory_at_install(
    as_user: Callable[..., Result], tmp_path: Path, second_home: Path
) -> None:
    source = str(SANDBOX_FIXTURES / "opens-network")
    result = as_user("bob", "templates", "install", source, "--yes")
    assert result.exit_code == 0, result.output
    assert re.search(r"Scan      \d+ risky operation\(s\) \(advisory: ", result.output)
    assert "Code      not shown (--yes)" in result.output


@pytest.mark.parametrize("fixture", ["opens-network", "writes-outside"])
def test_an_installed_template_that_escapes_fails_its_run(
    as_user: Callable[..., Result], second_home: Path, tmp_path: Path, fixture: str
) -> None:
    source = tmp_path / fixture
    shutil.copytree(SANDBOX_FIXTURES / fixture, source)
    assert as_user("bob", "templates", "install", str(source), "--yes").exit_code == 0
    ran = as_user("bob", "report", fixture, "--period", "2026-06")
    assert ran.exit_code == 1
    assert re.match(rf"Error: report {fixture} failed in cell \d+: ", ran.output)
    assert not (second_home.parent / "reports" / fixture).exists()


def _commands() -> list[tuple[str, click.Command]]:
    return [(f"templates {name}", c) for name, c in templates_group.commands.items()]


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda x: str(x))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(selfdata_cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"selfdata {name}" in result.output
