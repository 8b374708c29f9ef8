"""`selfdata report` and `selfdata reports ...`: exact output, one-line errors, help.

The commands are added to a copy of the root group here, exactly as cli.py
will add them (`cli.add_command(report_command)`, `cli.add_command(reports_group)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from selfdata.cli import _Root
from selfdata.cli import cli as selfdata_cli
from selfdata.reports.cli import report_command, reports_group
from selfdata.vault import open_vault
from tests.conftest import write

FIXTURES = Path(__file__).parent / "data" / "reports"

root = _Root(
    name="selfdata",
    commands={**selfdata_cli.commands, "report": report_command, "reports": reports_group},
    params=selfdata_cli.params,
    callback=selfdata_cli.callback,
    context_settings=selfdata_cli.context_settings,
)


@pytest.fixture
def run(vault: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`selfdata --vault VAULT ARGS...` with the test templates installed."""
    monkeypatch.setenv("SELFDATA_TEMPLATES", str(FIXTURES))
    open_vault(vault, read_only=False).close()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(root, ["--vault", str(vault), *args])

    return invoke


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_report_writes_the_page_and_the_index(run, vault):
    result = run("report", "tiny", "--period", "2025-06", "--set", "greeting=Hi")
    assert result.exit_code == 0, result.output
    page = vault.parent / "reports" / "tiny" / "2025-06.html"
    output = lines(result.output)
    assert output[0].startswith(f"Wrote {page} (2025-06, ")
    assert output[1:] == [
        f"Index: {vault.parent / 'reports' / 'index.html'}",
        f"Open it in any browser: {page.resolve().as_uri()}",
    ]
    assert "Hi: <strong>2025-06</strong>" in page.read_text("utf-8")


def test_report_for_explicit_days_into_a_folder_or_a_file(run, tmp_path):
    result = run(
        "report",
        "tiny",
        "--start",
        "2025-06-02",
        "--end",
        "2025-06-08",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "tiny-2025-W23.html").exists()
    result = run(
        "report",
        "tiny",
        "--period",
        "last-7-days",
        "--today",
        "2025-07-10",
        "--out",
        str(tmp_path / "mine.html"),
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "mine.html").read_text("utf-8")
    assert "2025-07-03 to 2025-07-09" in page
    assert "Index:" not in result.output


def test_a_failing_report_is_one_line_and_exit_status_1(run, vault):
    result = run("report", "broken", "--period", "2025-06")
    assert result.exit_code == 1
    assert result.output == (
        "Error: report broken failed in cell 4: ZeroDivisionError: division by zero "
        "(at `share = 1 / 0`); nothing was written\n"
    )
    assert not (vault.parent / "reports" / "broken").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("report", "no_parameters"),
            "Error: template no_parameters: no_parameters.ipynb has no cell tagged `parameters`",
        ),
        (
            ("report", "tiny", "--set", "colour=red"),
            "Error: template tiny: has no parameter 'colour'",
        ),
        (("report", "nothing-like-it"), "Error: template nothing-like-it: not found in"),
    ],
)
def test_template_problems_are_one_line(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "lastmonth"), "Invalid value for --period: 'lastmonth' is not a period"),
        (("--start", "2025-06-01"), "give both --start and --end, or neither"),
        (
            ("--period", "2025", "--start", "2025-01-01", "--end", "2025-01-02"),
            "give --period or --start/--end, not both",
        ),
        (("--set", "greeting"), "Invalid value for --set: 'greeting' is not KEY=VALUE"),
    ],
)
def test_usage_errors(run, args, message):
    result = run("report", "tiny", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_run_due_renders_what_is_due_and_then_nothing(run, vault):
    write(vault.parent / "selfdata.toml", '[[reports]]\ntemplate = "tiny"\nevery = "month"\n')
    first = run("reports", "run-due", "--today", "2025-07-10")
    assert first.exit_code == 0, first.output
    page = vault.parent / "reports" / "tiny" / "2025-06.html"
    output = lines(first.output)
    assert output[0].startswith(f"rendered tiny 2025-06 -> {page} (")
    assert output[1] == (
        "1 due: 1 rendered, 0 failed; 1 recorded in the vault. "
        f"Index: {vault.parent / 'reports' / 'index.html'}"
    )
    second = run("reports", "run-due", "--today", "2025-07-10")
    assert lines(second.output) == [
        "0 due: 0 rendered, 0 failed; 0 recorded in the vault. "
        f"Index: {vault.parent / 'reports' / 'index.html'}"
    ]


def test_run_due_quiet_prints_only_failures_and_exits_1(run, vault):
    write(vault.parent / "selfdata.toml", '[[reports]]\ntemplate = "broken"\nevery = "year"\n')
    result = run("reports", "run-due", "--quiet", "--today", "2025-07-10")
    assert result.exit_code == 1
    assert lines(result.output) == [
        "failed broken 2024: report broken failed in cell 4: ZeroDivisionError: division by "
        "zero (at `share = 1 / 0`); nothing was written"
    ]


def test_run_due_without_a_schedule_says_how_to_make_one(run, vault):
    result = run("reports", "run-due")
    assert result.exit_code == 0
    assert lines(result.output) == [
        f"No reports scheduled: add [[reports]] to {vault.parent / 'selfdata.toml'} "
        "(`selfdata reports schedule` shows how)."
    ]


def test_schedule_shows_entries_what_is_due_and_how_to_install_it(run, vault):
    write(vault.parent / "selfdata.toml", '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    result = run("reports", "schedule", "--today", "2025-07-10")
    assert result.exit_code == 0, result.output
    output = result.output
    assert f"Scheduled in {vault.parent.resolve() / 'selfdata.toml'}:" in output
    assert re.search(r"\n tiny +tiny +week +2025-W27 *\n", output), output
    assert f"--vault {vault.resolve()} reports run-due --quiet >> " in output
    assert "[Timer]\nOnCalendar=hourly" in output
    assert "systemctl --user enable --now selfdata-reports.timer" in output


def test_schedule_without_entries_shows_an_example(run):
    result = run("reports", "schedule")
    assert '[[reports]]\ntemplate = "health"\nevery = "week"' in result.output


def test_list_shows_templates_and_reports(run, vault):
    assert run("report", "tiny", "--period", "2025-06").exit_code == 0
    result = run("reports", "list")
    assert result.exit_code == 0
    assert f"Templates (curated in {FIXTURES};" in result.output
    assert re.search(r" tiny +0\.1\.0 +curated +One sentence naming the period", result.output)
    assert re.search(r" tiny +2025-06 +\d{4}-\d\d-\d\d \d\d:\d\d +/", result.output)
    listed = json.loads(run("reports", "list", "--json").output)
    assert [t["name"] for t in listed["templates"]] == ["broken", "phones_home", "slow", "tiny"]
    assert [t["name"] for t in listed["unusable"]] == [
        "mismatched_parameters",
        "no_parameters",
        "wrong_default",
    ]
    assert re.search(
        r" no_parameters +- +- +cannot be used: no_parameters.ipynb has no cell", result.output
    )
    assert listed["reports"][0]["period"] == "2025-06"


def commands() -> list[tuple[str, click.Command]]:
    found = [("report", report_command)]
    found += [(f"reports {name}", c) for name, c in reports_group.commands.items()]
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=lambda x: str(x))
def test_every_command_has_help_with_an_example(name, command):
    result = CliRunner().invoke(root, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"selfdata {name}" in result.output
