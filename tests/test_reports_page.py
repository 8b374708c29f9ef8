"""The report page: what nbconvert's cells keep, the off-page check, the header, the index."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import nbformat
import pytest

from selfdata import __version__
from selfdata.reports.page import (
    CSP,
    DataSource,
    IndexEntry,
    PageInfo,
    external_references,
    index_page,
    notebook_body,
    read_meta,
    report_page,
)
from selfdata.reports.periods import parse_period

VAULT = "/home/alex/private/selfdata.duckdb"


def executed_notebook() -> nbformat.NotebookNode:
    """An executed notebook with every kind of output a template could leave."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f'vault = "{VAULT}"', metadata={"tags": ["parameters"]})
    chart = nbformat.v4.new_code_cell("sd.chart(...)")
    chart.outputs = [
        nbformat.v4.new_output("display_data", {"text/html": "<p>Hello from " + VAULT + "</p>"}),
        nbformat.v4.new_output(
            "display_data",
            {
                "application/javascript": "fetch('https://evil.example')",
                "application/vnd.vegalite.v5+json": {"data": {"values": [{"amount": 12.34}]}},
                "text/plain": "<VegaLite 5 object>",
            },
        ),
        nbformat.v4.new_output("stream", name="stderr", text="DeprecationWarning: old"),
        nbformat.v4.new_output("stream", name="stdout", text=f"opened {VAULT}\n"),
    ]
    hidden = nbformat.v4.new_code_cell("secret = 1", metadata={"tags": ["remove"]})
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="do not show")]
    nb.cells = [nbformat.v4.new_markdown_cell("## Activity"), params, chart, hidden]
    return nb


def test_only_static_outputs_are_kept_and_the_vault_path_is_redacted():
    body = notebook_body(
        executed_notebook(), show_code=False, redact=[VAULT, str(Path(VAULT).parent)]
    )
    assert "<h2" in body and "Activity" in body
    assert "Hello from &lt;vault&gt;" in body or "Hello from <vault>" in body
    assert "opened &lt;vault&gt;" in body
    for left_out in ("evil.example", "12.34", "DeprecationWarning", "do not show", "/home/alex"):
        assert left_out not in body
    assert "sd.chart" not in body  # code hidden


def test_show_code_shows_sources_with_the_vault_redacted():
    body = notebook_body(executed_notebook(), show_code=True, redact=[VAULT])
    assert "sd" in body and "chart" in body
    assert "/home/alex" not in body
    assert "secret" not in body  # cells tagged remove stay out even with the code


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ('<img src="https://t.example/p.png">', 1),
        ("<script src='//cdn.example/vega.js'></script>", 1),
        ('<link rel="stylesheet" href="http://cdn.example/x.css">', 1),
        ('<image xlink:href="https://t.example/p.png"/>', 1),
        ('<iframe src="file:///etc/passwd">', 1),
        ("<style>@import url(https://fonts.example/f.css);</style>", 2),
        ('<div style="background: url(//t.example/x.png)">', 1),
        ('<a href="https://selfdata.example/docs">docs</a>', 0),
        ('<img src="data:image/png;base64,AAAA">', 0),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', 0),
        ('<a href="#Sleep">¶</a>', 0),
    ],
)
def test_external_references(html, found):
    assert len(external_references(html)) == found


def test_report_page_has_the_policy_header_and_meta():
    info = PageInfo(
        template="health",
        title="Health",
        version="1.0.0",
        period=parse_period("2025-06"),
        generated_at=datetime(2025, 7, 1, 6, 30, tzinfo=UTC),
        sources=(
            DataSource("health_samples", 1234, ("apple_health", "fitbit")),
            DataSource("sleep_segments", 0, ()),
        ),
    )
    page = report_page("<p>body</p>", info)
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert CSP == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    assert "<title>Health · June 2025</title>" in page
    assert "health_samples: 1,234 rows from apple_health, fitbit; sleep_segments: none" in page
    assert "2025-06-01 to 2025-06-30, 30 days" in page
    assert f"2025-07-01 06:30 UTC by selfdata {__version__}" in page
    assert "<script" not in page
    assert external_references(page) == []


def test_meta_tags_are_read_back(tmp_path):
    info = PageInfo(
        "tiny",
        "Tiny & small",
        "0.1.0",
        parse_period("2025-W07"),
        datetime(2025, 2, 17, 8, 0, tzinfo=UTC),
        (),
    )
    path = tmp_path / "r.html"
    path.write_text(report_page("", info), encoding="utf-8")
    assert read_meta(path) == {
        "template": "tiny",
        "title": "Tiny & small",
        "template-version": "0.1.0",
        "period": "2025-W07",
        "start": "2025-02-10",
        "end": "2025-02-16",
        "generated": "2025-02-17T08:00:00+00:00",
    }


def test_index_lists_newest_period_first_with_relative_links(tmp_path):
    def entry(name: str, label: str, start: date, end: date) -> IndexEntry:
        return IndexEntry(
            tmp_path / name / f"{label}.html",
            name,
            name.title(),
            label,
            start,
            end,
            "2025-07-01T06:00:00+00:00",
        )

    page = index_page(
        [
            entry("health", "2025-05", date(2025, 5, 1), date(2025, 5, 31)),
            entry("spending", "2025-06", date(2025, 6, 1), date(2025, 6, 30)),
            entry("health", "2025-W26", date(2025, 6, 23), date(2025, 6, 29)),
        ],
        tmp_path,
    )
    links = [part.split('"')[0] for part in page.split('<a href="')[1:]]
    assert links == ["spending/2025-06.html", "health/2025-W26.html", "health/2025-05.html"]
    assert "3 reports, newest first" in page
    assert external_references(page) == []
    assert "No reports yet" in index_page([], tmp_path)
