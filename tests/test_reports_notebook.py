"""What template notebooks import: safe SVG charts, sentences, formatting, comparisons."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from selfdata.reports import notebook as sd
from selfdata.reports.periods import parse_period


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The HTML fragments the helpers display, instead of an IPython display."""
    fragments: list[str] = []
    monkeypatch.setattr(sd, "_show", fragments.append)
    return fragments


def steps_chart() -> alt.Chart:
    frame = pl.DataFrame(
        {"day": [date(2025, 6, d) for d in (1, 2, 3)], "steps": [8423, 10517, 6391]}
    )
    return alt.Chart(frame).mark_bar().encode(x="day:T", y="steps:Q", tooltip=["steps"])


def test_svg_has_no_exact_values_in_its_accessibility_labels():
    svg = sd.svg_of(steps_chart().properties(title="Steps a day"))
    labels = re.findall(r'aria-label="([^"]*)"', svg)
    assert labels == ["Steps a day"]
    assert svg.startswith('<svg role="img" aria-label="Steps a day"')
    assert "<title>" not in svg and "<desc>" not in svg
    for value in ("8423", "8,423", "10517", "10,517", "6391", "6,391"):
        assert value not in svg  # the values are drawn, never written down


def test_svg_carries_no_data_rows_or_scripts():
    svg = sd.svg_of(steps_chart())
    assert "<script" not in svg and "vega" not in svg.lower().replace("marks", "")
    assert 'aria-label="Chart"' in svg


def test_safe_svg_strips_labels_vega_writes():
    raw = (
        '<svg width="1"><g aria-label="date: Jun 3, 2025; steps: 8423" role="graphics-symbol">'
        '<path aria-description="lat 51.5045"/><title>51.5045, -0.0865</title></g></svg>'
    )
    assert sd.safe_svg(raw, "Places & trips") == (
        '<svg role="img" aria-label="Places &amp; trips" width="1">'
        '<g role="graphics-symbol"><path/></g></svg>'
    )


def test_decimal_amounts_can_be_charted():
    frame = pl.DataFrame({"month": ["2025-06"], "spent": [Decimal("1234.56")]})
    assert sd.svg_of(alt.Chart(frame).mark_bar().encode(x="month:N", y="spent:Q"))


def test_a_chart_asking_for_data_by_url_fails_instead_of_fetching():
    with pytest.raises(ValueError, match="External data url not allowed"):
        sd.svg_of({"data": {"url": "https://example.org/rows.csv"}, "mark": "point"})


def test_chart_say_missing_kpis_table_escape_html(shown):
    sd.chart(steps_chart(), caption="From **your** watch")
    sd.say("You walked **8,423** steps", "on <b>Monday</b>.")
    sd.missing("sleep", "an Apple Health export (`selfdata import export.zip`)")
    sd.kpis([("steps a day", "8,423"), ("nights", "30", "of 30")])
    sd.table(pl.DataFrame({"merchant": ["Tesco & Co"], "spent": [12.5]}))
    chart, say, missing, kpis, table = shown
    assert chart.startswith('<figure class="sd-chart"><svg role="img"')
    assert chart.endswith("<figcaption>From <strong>your</strong> watch</figcaption></figure>")
    assert say == (
        '<p class="sd-say">You walked <strong>8,423</strong> steps on &lt;b&gt;Monday&lt;/b&gt;'
        ".</p>"
    )
    assert missing == (
        '<div class="sd-missing"><strong>Nothing to show yet:</strong> no sleep in this '
        "period. Import an Apple Health export (<code>selfdata import export.zip</code>) to "
        "fill this section.</div>"
    )
    assert kpis.count('class="sd-kpi"') == 2 and "of 30" in kpis
    assert "Tesco &amp; Co" in table and '<td class="num">12.5</td>' in table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (sd.duration(402.4), "6 h 42 min"),
        (sd.duration(-23), "-23 min"),
        (sd.duration(None), "\u2013"),
        (sd.clock(-30), "23:30"),
        (sd.clock(435), "07:15"),
        (sd.money(Decimal("-12.5"), "EUR", 2), "-€12.50"),
        (sd.money(1234, "CHF"), "CHF 1,234"),
        (sd.percent(0.126), "13%"),
        (sd.number(float("nan")), "\u2013"),
        (
            sd.change(402, 425, sd.duration, than="the month before"),
            "23 min less than the month before",
        ),
        (sd.change(8000, None), ""),
        (sd.period_words(parse_period("2025-W07")), "week 7 of 2025"),
        (sd.period_words(parse_period("2025-Q3")), "Q3 2025"),
        (sd.period_words(parse_period("2025-06-01_2025-06-09")), "1 June 2025 to 9 June 2025"),
        (sd.previous_words(parse_period("2025-06-01_2025-06-09")), "the 9 days before"),
        (sd.day_words(date(2025, 6, 5), weekday=True), "Thursday 5 June 2025"),
    ],
)
def test_formatting(value, text):
    assert value == text


def test_grain_and_time_steps():
    def report(name: str) -> sd.Report:
        period = parse_period(name)
        return sd.Report(None, Path(), period, period.previous())  # type: ignore[arg-type]

    assert [sd.grain(report(n)) for n in ("2025-06", "2025-Q2", "2025")] == ["day", "week", "month"]
    days = pl.DataFrame({"day": [date(2025, 6, 4), date(2025, 6, 30)]})
    weeks = sd.over_time(days, "day", report("2025-Q2"))
    assert weeks["when"].to_list() == [date(2025, 6, 2), date(2025, 6, 30)]
    assert weeks["until"].to_list() == [date(2025, 6, 9), date(2025, 7, 7)]


def test_difference_needs_five_on_each_side_and_gives_an_interval():
    assert sd.difference([1, 2, 3, 4], [1, 2, 3, 4, 5]) is None
    same = sd.difference([7.0] * 5 + [8.0] * 5, [7.0] * 5 + [8.0] * 5)
    assert same is not None and same["diff"] == 0 and same["low"] < 0 < same["high"]
    found = sd.difference([420, 430, 410, 425, 415], [460, 470, 455, 465, 450])
    assert found is not None
    assert found["diff"] == -40 and found["high"] < 0 and found["n"] == 5


def test_local_day_sql_follows_the_schema():
    assert sd.local_day_sql("transactions", "t") == "t.booked_date"
    assert sd.local_day_sql("visits") == (
        "CAST(start_at AT TIME ZONE 'UTC' + to_minutes(coalesce(utc_offset_min, 0)) AS DATE)"
    )
