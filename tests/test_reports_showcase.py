"""`selfdata demo`'s last step: every curated report on the demo vault, once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from selfdata.reports import showcase
from selfdata.reports.manifest import template_folders
from selfdata.reports.render import report_path


def test_demo_periods_are_the_last_month_and_the_whole_span() -> None:
    month, span = showcase.demo_periods(date(2026, 6, 30), 2)
    assert (month.start, month.end, month.label) == (date(2026, 6, 1), date(2026, 6, 30), "2026-06")
    assert (span.start, span.end) == (date(2024, 6, 30), date(2026, 6, 29))


def test_reports_on_disk_are_kept_when_nothing_changed(tmp_path: Path, monkeypatch) -> None:
    vault = tmp_path / "selfdata.duckdb"
    month, span = showcase.demo_periods(date(2026, 6, 30), 1)
    names = [folder.name for folder in template_folders()]
    assert set(names) == {"data-coverage", "health", "mobility", "overview", "spending"}
    for name in names:
        period = span if name in {"overview", "data-coverage"} else month
        path = report_path(tmp_path / "reports", name, period)
        path.parent.mkdir(parents=True)
        path.write_text("<html></html>")

    def must_not_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered although nothing changed")

    monkeypatch.setattr(showcase, "render", must_not_render)
    heard: list[tuple[str, object]] = []
    rendered, failed, index = showcase.render_demo_reports(
        vault,
        today=date(2026, 6, 30),
        years=1,
        changed=False,
        on_done=lambda name, outcome: heard.append((name, outcome)),
    )
    assert (rendered, failed) == ([], [])
    assert sorted(heard) == [(name, None) for name in sorted(names)]
    assert index == tmp_path / "reports" / "index.html"
    assert index.is_file()
