"""Scheduled reports: `[[reports]]` in selfdata.toml, what is due, run-due, the record, cron."""

from __future__ import annotations

import fcntl
from datetime import date
from pathlib import Path

import pytest

import selfdata.reports.schedule as schedule
from selfdata.config import ScheduledReport, load_settings
from selfdata.errors import ConfigError, VaultLockedError
from selfdata.reports.page import read_meta
from selfdata.reports.schedule import (
    cron_line,
    due_reports,
    rendered_reports,
    run_due,
    systemd_units,
)
from selfdata.vault import open_vault
from tests.conftest import write

FIXTURES = Path(__file__).parent / "data" / "reports"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vault with the test templates (`tiny`, `broken`...) installed."""
    monkeypatch.setenv("SELFDATA_TEMPLATES", str(FIXTURES))
    vault = tmp_path / "home" / "selfdata.duckdb"
    open_vault(vault, read_only=False).close()
    return vault


def schedule_toml(vault: Path, text: str) -> None:
    write(vault.parent / "selfdata.toml", text)


def recorded(vault: Path) -> list[tuple[str, str, str, str]]:
    with open_vault(vault) as con:
        rows = con.execute(
            "SELECT report, every, period, file_path FROM rendered_reports ORDER BY start_date"
        ).fetchall()
    return [tuple(row) for row in rows]


# --- the schedule in selfdata.toml --------------------------------------------------------


def test_reports_are_read_from_selfdata_toml(tmp_path):
    vault = tmp_path / "selfdata.duckdb"
    schedule_toml(
        vault,
        """
        [[reports]]
        template = "health"
        every = "week"

        [[reports]]
        template = "spending"
        every = "month"
        name = "money"
        since = 2025-01-01
        parameters = { top = 5 }

        [[reports]]
        template = "overview"
        every = "year"
        since = "2024-01-01"
        """.replace("\n        ", "\n"),
    )
    assert load_settings(vault).reports == (
        ScheduledReport("health", "week", "health"),
        ScheduledReport("spending", "month", "money", {"top": 5}, date(2025, 1, 1)),
        ScheduledReport("overview", "year", "overview", {}, date(2024, 1, 1)),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('template = "health"\nevery = "day"', 'every must be "week", "month" or "year"'),
        ('every = "week"', 'needs template = "NAME", not None'),
        ('template = "health"\nevery = "week"\ncolour = 1', "has unknown keys: colour"),
        ('template = "health"\nevery = "week"\nname = "../x"', "name must be a simple folder"),
        ('template = "health"\nevery = "week"\nsince = "soon"', "since must be a date"),
        ('template = "health"\nevery = "week"\nparameters = 3', "parameters must be a table"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(tmp_path, entry, message):
    vault = tmp_path / "selfdata.duckdb"
    schedule_toml(vault, f"[[reports]]\n{entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(vault)
    assert f"[[reports]] entry 1 {message}" in str(caught.value)


def test_two_entries_writing_the_same_reports_are_refused(tmp_path):
    vault = tmp_path / "selfdata.duckdb"
    entry = '[[reports]]\ntemplate = "health"\nevery = "week"\n'
    schedule_toml(vault, entry + entry)
    with pytest.raises(ConfigError, match="two \\[\\[reports\\]\\] entries render health every"):
        load_settings(vault)


# --- what is due -----------------------------------------------------------------------


def test_a_new_schedule_is_due_only_its_latest_complete_period(home):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    due = due_reports(home, today=date(2025, 7, 10))
    assert [(d.entry.name, d.period.label) for d in due] == [("tiny", "2025-W27")]
    assert due[0].path == home.parent / "reports" / "tiny" / "2025-W27.html"


def test_since_catches_up_from_the_period_holding_it(home):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "month"\nsince = 2025-03-15\n')
    due = due_reports(home, today=date(2025, 7, 10))
    assert [d.period.label for d in due] == ["2025-03", "2025-04", "2025-05", "2025-06"]


def test_run_due_catches_up_missed_weeks_once_and_records_them(home):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    first = run_due(home, today=date(2025, 7, 10))
    assert [r.period.label for r in first.rendered] == ["2025-W27"]
    assert first.recorded == 1 and first.failed == [] and first.record_problem is None

    # The computer was off for three weeks.
    later = run_due(home, today=date(2025, 7, 31), jobs=2)
    assert sorted(r.period.label for r in later.rendered) == ["2025-W28", "2025-W29", "2025-W30"]
    again = run_due(home, today=date(2025, 7, 31))
    assert again.rendered == [] and again.recorded == 0

    assert recorded(home) == [
        ("tiny", "week", f"2025-W{week}", f"reports/tiny/2025-W{week}.html")
        for week in (27, 28, 29, 30)
    ]
    page = (home.parent / "reports" / "tiny" / "2025-W29.html").read_text("utf-8")
    assert "Hello: <strong>2025-W29</strong>, 2025-07-14 to 2025-07-20." in page


def test_the_index_lists_every_report_newest_first(home):
    schedule_toml(
        home,
        '[[reports]]\ntemplate = "tiny"\nevery = "week"\nsince = 2025-06-23\n'
        '[[reports]]\ntemplate = "tiny"\nevery = "month"\nname = "monthly"\n'
        'parameters = { greeting = "Bonjour" }\n',
    )
    result = run_due(home, today=date(2025, 7, 10))
    assert result.index == home.parent / "reports" / "index.html"
    index = result.index.read_text("utf-8")
    links = [part.split('"')[0] for part in index.split('<a href="')[1:]]
    assert links == ["tiny/2025-W27.html", "monthly/2025-06.html", "tiny/2025-W26.html"]
    assert "Content-Security-Policy" in index
    monthly = (home.parent / "reports" / "monthly" / "2025-06.html").read_text("utf-8")
    assert "Bonjour: <strong>2025-06</strong>" in monthly


def test_a_failed_report_is_tried_again_and_does_not_stop_the_others(home):
    schedule_toml(
        home,
        '[[reports]]\ntemplate = "broken"\nevery = "week"\n'
        '[[reports]]\ntemplate = "tiny"\nevery = "week"\n',
    )
    result = run_due(home, today=date(2025, 7, 10))
    assert [r.template for r in result.rendered] == ["tiny"]
    [(due, error)] = result.failed
    assert due.entry.template == "broken"
    assert str(error).startswith("report broken failed in cell 4: ZeroDivisionError")
    assert [d.entry.name for d in due_reports(home, today=date(2025, 7, 10))] == ["broken"]


def test_a_second_run_while_one_is_running_does_nothing(home):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    folder = home.parent / "reports"
    folder.mkdir()
    with open(folder / ".run-due.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_due(home, today=date(2025, 7, 10))
    assert result.busy and result.rendered == []
    assert list(folder.glob("*/*.html")) == []


def test_reports_written_while_the_vault_was_busy_are_recorded_next_time(home, monkeypatch):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    opened = schedule.open_vault

    def busy_writer(path, *, read_only=True, **kwargs):
        if not read_only:
            raise VaultLockedError(path, pid=4242, program="jupyter-lab", waited_s=30)
        return opened(path, read_only=True, **kwargs)

    monkeypatch.setattr(schedule, "open_vault", busy_writer)
    first = run_due(home, today=date(2025, 7, 10))
    assert [r.period.label for r in first.rendered] == ["2025-W27"]
    assert first.recorded == 0
    assert "in use by jupyter-lab (PID 4242)" in (first.record_problem or "")
    monkeypatch.setattr(schedule, "open_vault", opened)

    second = run_due(home, today=date(2025, 7, 10))
    assert second.rendered == [] and second.recorded == 1
    assert recorded(home) == [("tiny", "week", "2025-W27", "reports/tiny/2025-W27.html")]


def test_rendered_reports_come_from_the_files_meta(home):
    schedule_toml(home, '[[reports]]\ntemplate = "tiny"\nevery = "week"\n')
    run_due(home, today=date(2025, 7, 10))
    folder = home.parent / "reports"
    write(folder / "notes" / "shopping.html", "<p>not a report</p>")
    [entry] = rendered_reports(folder)
    assert (entry.template, entry.label, entry.start, entry.end) == (
        "tiny",
        "2025-W27",
        date(2025, 6, 30),
        date(2025, 7, 6),
    )
    assert read_meta(entry.path)["template-version"] == "0.1.0"


# --- installing it -----------------------------------------------------------------------


def test_cron_line_and_systemd_units():
    vault = Path("/home/alex/data/selfdata.duckdb")
    assert cron_line(vault, "/opt/selfdata/bin/selfdata") == (
        "17 * * * * /opt/selfdata/bin/selfdata --vault /home/alex/data/selfdata.duckdb "
        "reports run-due --quiet >> /home/alex/data/reports/run-due.log 2>&1"
    )
    service, timer = systemd_units(vault, "/opt/selfdata/bin/selfdata")
    assert (
        "ExecStart=/opt/selfdata/bin/selfdata --vault /home/alex/data/selfdata.duckdb "
        "reports run-due --quiet" in service
    )
    assert "OnCalendar=hourly" in timer and "Persistent=true" in timer
