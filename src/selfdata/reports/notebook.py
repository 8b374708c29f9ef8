"""What report notebooks import: the period, charts as safe SVG, sentences, "nothing to show".

A template notebook stays a story because the plumbing lives here:

    from selfdata.reports import notebook as sd
    report = sd.setup(vault, period, start, end)    # read-only vault, the period
    steps = health.daily(report.con, ["steps"], start=report.start, end=report.end)
    if steps.is_empty():
        sd.missing("steps", "an Apple Health, Fitbit or Garmin export")
    else:
        sd.chart(alt.Chart(steps).mark_bar().encode(x="local_day:T", y="value:Q"))
        sd.say(f"You walked **{sd.number(steps['value'].mean())}** steps a day.")

**Charts are private by construction.** `chart()` renders an Altair chart with
vl-convert to SVG inside the kernel and displays only that SVG: no Vega
script, no CDN, no data rows in the page. Vega's accessibility labels repeat
every mark's exact values ("date: Jun 3; steps: 8423") and axis ranges, so
they are switched off and stripped; the chart as a whole is labelled by its
title alone. Altair's own renderer is replaced by the same path, so a
template that simply displays a chart is safe too. Altair refuses data of
more than 5,000 rows: aggregate first.

The formatting helpers (`number`, `duration`, `money`, `change`, `clock`...)
come from `selfdata.reports.words` and give sentences one style across
templates.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from selfdata.config import load_settings
from selfdata.reports.periods import Period, parse_period, period_between
from selfdata.reports.words import (
    change,
    clock,
    day_words,
    duration,
    money,
    number,
    percent,
    period_words,
    previous_words,
)
from selfdata.vault import first_row, open_vault, resolve_vault_path

__all__ = [
    "THEME",
    "TIME_COLUMNS",
    "Report",
    "change",
    "chart",
    "clock",
    "day_words",
    "difference",
    "duration",
    "grain",
    "kpis",
    "local_day_sql",
    "missing",
    "money",
    "note",
    "number",
    "over_time",
    "percent",
    "period_words",
    "previous_words",
    "safe_svg",
    "say",
    "setup",
    "svg_of",
    "table",
    "time_bars",
    "time_x",
]

THEME: dict[str, Any] = {
    # Vega lays text out with vl-convert's font measurements; Liberation Sans has the
    # metrics of Arial and Helvetica, so labels fit wherever the page is opened.
    "font": "Helvetica, Arial, 'Liberation Sans', Arimo, sans-serif",
    "padding": {"left": 12, "right": 12, "top": 6, "bottom": 6},
    "background": "white",
    "view": {"stroke": None},
    "title": {"anchor": "start", "fontSize": 14, "fontWeight": 600, "color": "#1f2933"},
    "axis": {
        "labelColor": "#52606d",
        "titleColor": "#52606d",
        "titleFontWeight": 500,
        "gridColor": "#eef0f2",
        "domainColor": "#9aa5b1",
        "tickColor": "#9aa5b1",
        "labelFontSize": 11,
        "titleFontSize": 11,
    },
    "legend": {"labelColor": "#52606d", "titleColor": "#52606d", "orient": "bottom"},
    "range": {
        "category": [
            "#2f6f9f",
            "#e07b39",
            "#4c9a6a",
            "#c2477a",
            "#7a5fb3",
            "#b59a2d",
            "#3aa6b9",
            "#8c6d5a",
            "#9aa5b1",
            "#d64545",
        ]
    },
    "bar": {"color": "#2f6f9f"},
    "line": {"color": "#2f6f9f", "strokeWidth": 2},
    "point": {"color": "#2f6f9f"},
    "area": {"color": "#2f6f9f"},
    "rule": {"color": "#9aa5b1"},
    # Vega writes every mark's exact values into aria-label; the reports label
    # each chart by its title instead (see the module docstring).
    "aria": False,
}
"""The Vega-Lite config every chart gets: one calm look, and no per-mark ARIA labels."""

TIME_COLUMNS = {
    "health_samples": "start_at",
    "sleep_segments": "start_at",
    "workouts": "start_at",
    "location_points": "recorded_at",
    "visits": "start_at",
    "trips": "start_at",
    "transactions": "booked_date",
    "energy_readings": "start_at",
}
"""The column placing each canonical table's rows in time (`*_date` columns are local already)."""

_CHART_WIDTH = 640
_CHART_HEIGHT = 220
_ARIA_LABEL = re.compile(r'\s(?:aria-label|aria-description)="[^"]*"')
_TITLE_ELEMENT = re.compile(r"<(title|desc)>.*?</\1>", re.DOTALL)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


@dataclass
class Report:
    """The vault (read-only) and the period a report covers."""

    con: duckdb.DuckDBPyConnection
    vault: Path
    period: Period
    previous: Period
    _counts: dict[tuple[str, bool], int] = field(default_factory=dict)

    @property
    def start(self) -> date:
        """The period's first local day."""
        return self.period.start

    @property
    def end(self) -> date:
        """The period's last local day."""
        return self.period.end

    @property
    def label(self) -> str:
        """The period's name, e.g. `2025-06`."""
        return self.period.label

    def has(self, table: str, *, in_period: bool = True) -> bool:
        """Whether `table` holds any row (in the period, by default).

        Example:
            >>> report.has("sleep_segments")  # doctest: +SKIP
            True
        """
        key = (table, in_period)
        if key not in self._counts:
            self._counts[key] = _count(self.con, table, self.period if in_period else None)
        return self._counts[key] > 0


def setup(vault: str = "", period: str = "", start: str = "", end: str = "") -> Report:
    """Open the vault read-only and settle the period, from the notebook's parameters.

    `start` and `end` (ISO dates), when both are given, win over `period`; an
    empty `vault` is the default vault, so a template also runs as it is in
    JupyterLab. Also makes Altair charts render through `chart()`.

    Example:
        >>> report = setup("", "last-month")  # doctest: +SKIP
    """
    if start and end:
        chosen = period_between(date.fromisoformat(start), date.fromisoformat(end))
        if period and not period.startswith(("last", "this")):
            chosen = chosen._replace(label=parse_period(period).label)
    else:
        chosen = parse_period(period or "last-month")
    path = resolve_vault_path(vault or None)
    _use_safe_renderer()
    return Report(_open_read_only(path), path, chosen, chosen.previous())


def svg_of(chart: Any, *, width: int = _CHART_WIDTH, height: int = _CHART_HEIGHT) -> str:
    """An Altair chart (or a Vega-Lite dict) rendered to SVG offline, labels stripped.

    Example:
        >>> import altair as alt
        >>> data = pl.DataFrame({"x": [1, 2], "y": [3, 4]})
        >>> svg = svg_of(alt.Chart(data).mark_line().encode(x="x", y="y"))
        >>> svg.startswith("<svg") and "aria-label=\\"x:" not in svg
        True
    """
    import vl_convert

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    # Amounts are DECIMAL in the vault; Vega wants plain JSON numbers.
    spec = json.loads(json.dumps(spec, default=_plain_json))
    spec["config"] = {**_merged(THEME, spec.get("config", {})), "aria": False}
    if "width" not in spec and not _is_compound(spec):
        spec["width"] = width
    if "height" not in spec and not _is_compound(spec):
        spec["height"] = height
    # No base URL allowed: a spec naming data by URL fails instead of fetching it.
    svg: str = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    return safe_svg(svg, _title_text(spec))


def safe_svg(svg: str, label: str) -> str:
    """`svg` without per-mark accessibility texts, labelled as a whole by `label`.

    Example:
        >>> safe_svg('<svg x="1"><g aria-label="n: 8423"><title>8423</title></g></svg>', "Steps")
        '<svg role="img" aria-label="Steps" x="1"><g></g></svg>'
    """
    cleaned = _TITLE_ELEMENT.sub("", _ARIA_LABEL.sub("", svg))
    opening = _SVG_OPEN.search(cleaned)
    if opening is None:
        return cleaned
    attributes = opening.group(0)[len("<svg") :]
    labelled = f'<svg role="img" aria-label="{html.escape(label, quote=True)}"{attributes}'
    return cleaned[: opening.start()] + labelled + cleaned[opening.end() :]


def chart(
    chart: Any, *, width: int = _CHART_WIDTH, height: int = _CHART_HEIGHT, caption: str = ""
) -> None:
    """Show an Altair chart as SVG (see `svg_of`), with an optional caption under it."""
    figure = f'<figure class="sd-chart">{svg_of(chart, width=width, height=height)}'
    if caption:
        figure += f"<figcaption>{_inline(caption)}</figcaption>"
    _show(figure + "</figure>")


def say(*sentences: str) -> None:
    """Show sentences as one paragraph; `**bold**` and `` `code` `` are understood, HTML escaped.

    Example:
        >>> say("You slept **6 h 42 min** a night.")  # doctest: +SKIP
    """
    _show(f'<p class="sd-say">{" ".join(_inline(s) for s in sentences if s)}</p>')


def note(text: str) -> None:
    """Show a quieter paragraph: a method, a caveat, an assumption."""
    _show(f'<p class="sd-note">{_inline(text)}</p>')


def missing(what: str, how: str) -> None:
    """Say that a section has nothing to show, and which import would fill it.

    Example:
        >>> missing("sleep", "an Apple Health export (`selfdata import export.zip`)")
        ... # doctest: +SKIP
    """
    _show(
        '<div class="sd-missing"><strong>Nothing to show yet:</strong> '
        f"no {_inline(what)} in this period. Import {_inline(how)} to fill this section.</div>"
    )


def kpis(items: Iterable[tuple[str, str] | tuple[str, str, str]]) -> None:
    """Show a row of headline figures: (label, value) or (label, value, note) each."""
    cards = []
    for item in items:
        label, value = item[0], item[1]
        extra = f'<div class="sd-kpi-note">{_inline(item[2])}</div>' if len(item) > 2 else ""
        cards.append(
            f'<div class="sd-kpi"><div class="sd-kpi-value">{_inline(value)}</div>'
            f'<div class="sd-kpi-label">{_inline(label)}</div>{extra}</div>'
        )
    _show(f'<div class="sd-kpis">{"".join(cards)}</div>')


def table(frame: pl.DataFrame, *, formats: dict[str, Any] | None = None) -> None:
    """Show a small table of aggregates; `formats` maps a column to a function giving its text.

    Numeric columns are right-aligned. Meant for a top ten, not for rows of data.
    """
    formats = formats or {}
    numeric = {name for name, kind in frame.schema.items() if kind.is_numeric()}
    head = "".join(
        f'<th class="{"num" if c in numeric else ""}">{html.escape(c)}</th>' for c in frame.columns
    )
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column, value in row.items():
            text = formats[column](value) if column in formats else _plain(value)
            kind = "num" if column in numeric else ""
            cells.append(f'<td class="{kind}">{html.escape(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    _show(
        f'<table class="sd-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def grain(report: Report) -> str:
    """The time step charts of this period use: `day` up to two months, then `week`, `month`.

    Example:
        >>> year = parse_period("2025")
        >>> grain(Report(None, Path(), year, year.previous()))  # type: ignore[arg-type]
        'month'
    """
    if report.period.days <= 62:
        return "day"
    return "week" if report.period.days <= 200 else "month"


def over_time(frame: pl.DataFrame, column: str, report: Report) -> pl.DataFrame:
    """`frame` with `when` and `until`: the `grain(report)` step holding each row's date `column`.

    Weeks start on Monday; `until` is the next step's start, so bars drawn from
    `when` to `until` fill their day, week or month. Group by both.

    Example:
        >>> june = parse_period("2025-06")
        >>> days = pl.DataFrame({"day": [date(2025, 6, 3)]})
        >>> report = Report(None, Path(), june, june)  # type: ignore[arg-type]
        >>> over_time(days, "day", report)["until"][0]
        datetime.date(2025, 6, 4)
    """
    step = {"day": "1d", "week": "1w", "month": "1mo"}[grain(report)]
    when = pl.col(column).cast(pl.Date).dt.truncate(step)
    return frame.with_columns(when.alias("when"), when.dt.offset_by(step).alias("until"))


def time_x(report: Report, field: str = "when") -> Any:
    """The x encoding of a time chart: dates labelled for the period's `grain`, no title."""
    import altair as alt

    label = {"day": "%d %b", "week": "%d %b", "month": "%b %Y"}[grain(report)]
    return alt.X(f"{field}:T", title=None, axis=alt.Axis(format=label, labelAngle=0, tickCount=7))


def time_bars(
    frame: pl.DataFrame,
    report: Report,
    y: str,
    *,
    y_title: str,
    title: str = "",
    color: str | None = None,
) -> Any:
    """Bars from `when` to `until` (see `over_time`), `y` high, stacked by `color` if given.

    Returns the Altair chart, to layer more on it or pass to `chart()`.
    """
    import altair as alt

    encoding: dict[str, Any] = {
        "x": time_x(report),
        "x2": "until:T",
        "y": alt.Y(f"sum({y}):Q", title=y_title),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    bars = alt.Chart(frame).mark_bar(xOffset=1, x2Offset=-1).encode(**encoding)
    return bars.properties(title=title) if title else bars


def local_day_sql(table: str, alias: str = "") -> str:
    """SQL for the local day of a row of `table` (docs/schema.md), for queries in templates.

    Example:
        >>> local_day_sql("transactions")
        'booked_date'
    """
    column = TIME_COLUMNS[table]
    prefix = f"{alias}." if alias else ""
    if column.endswith("_date"):
        return prefix + column
    offset = f"to_minutes(coalesce({prefix}utc_offset_min, 0))"
    return f"CAST({prefix}{column} AT TIME ZONE 'UTC' + {offset} AS DATE)"


def difference(group: Sequence[float], others: Sequence[float]) -> dict[str, float] | None:
    """Mean of `group` minus mean of `others`, with a 95% interval (Welch, normal approximation).

    None when either side has fewer than 5 values: too few to say anything.
    An interval that holds 0 means chance alone could give the difference.

    Example:
        >>> d = difference([7, 7, 8, 6, 7, 7], [8, 8, 9, 8, 7, 9])
        >>> round(d["diff"], 2), d["low"] < d["diff"] < d["high"]
        (-1.17, True)
    """
    a = [float(x) for x in group if x is not None and not _nan(x)]
    b = [float(x) for x in others if x is not None and not _nan(x)]
    if len(a) < 5 or len(b) < 5:
        return None
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((x - mean_a) ** 2 for x in a) / (len(a) - 1)
    var_b = sum((x - mean_b) ** 2 for x in b) / (len(b) - 1)
    error = math.sqrt(var_a / len(a) + var_b / len(b))
    diff = mean_a - mean_b
    return {
        "mean": mean_a,
        "other_mean": mean_b,
        "diff": diff,
        "low": diff - 1.96 * error,
        "high": diff + 1.96 * error,
        "n": float(len(a)),
        "other_n": float(len(b)),
    }


# --- private helpers -------------------------------------------------------------------


def _count(con: duckdb.DuckDBPyConnection, table: str, period: Period | None) -> int:
    column = TIME_COLUMNS.get(table)
    if column is None:
        raise ValueError(f"unknown table {table!r}")
    where = "true"
    params: list[object] = []
    if period is not None and column.endswith("_date"):
        where = f"{column} BETWEEN ? AND ?"
        params = [period.start, period.end]
    elif period is not None:
        offset = "to_minutes(coalesce(utc_offset_min, 0))"
        where = f"CAST({column} AT TIME ZONE 'UTC' + {offset} AS DATE) BETWEEN ? AND ?"
        params = [period.start, period.end]
    row = first_row(con, f"SELECT count(*) FROM {table} WHERE {where}", params)
    return int(row[0]) if row else 0


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """`open_vault(path)`, read-only, also inside a Jupyter kernel without ipywidgets.

    In a kernel, DuckDB refuses *any* change of its progress-bar setting when
    ipywidgets is missing, and `open_vault()` turns the bar off on every
    connection. Until it tolerates that, open the vault here the same way,
    minus that one setting.

    Both ways the connection has no external file access (no `read_csv` of
    other files, no ATTACH, no COPY TO) and loads no extension; in the
    sandbox of a template that is not curated (`SELFDATA_SANDBOX`, see
    `selfdata.templates.sandbox`) its settings are also locked.
    """
    try:
        con = open_vault(path, read_only=True)
    except duckdb.InvalidInputException as error:
        if "progress bar" not in str(error):
            raise
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "enable_external_access": False,
        }
        con = duckdb.connect(str(path), read_only=True, config=config)
        con.execute("SET TimeZone = ?", [load_settings(path).timezone])
    if os.environ.get("SELFDATA_SANDBOX"):
        con.execute("SET lock_configuration = true")
    return con


def _show(fragment: str) -> None:
    """Display an HTML fragment as the cell's output."""
    from IPython.display import HTML, display

    display(HTML(fragment))  # type: ignore[no-untyped-call] # IPython is untyped


def _use_safe_renderer() -> None:
    """Make `display(altair_chart)` go through `svg_of`, never Altair's CDN-loading HTML."""
    import altair as alt

    def render(spec: dict[str, Any], **_: Any) -> dict[str, str]:
        return {"image/svg+xml": svg_of(spec)}

    alt.renderers.register("selfdata", render)
    alt.renderers.enable("selfdata")


def _plain_json(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put a {type(value).__name__} into a chart")


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, nested tables merged key by key."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _is_compound(spec: dict[str, Any]) -> bool:
    return any(key in spec for key in ("hconcat", "vconcat", "concat", "facet", "repeat"))


def _title_text(spec: dict[str, Any]) -> str:
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) or "Chart"


def _inline(text: str) -> str:
    """Escaped text with `**bold**` and `` `code` `` made into HTML."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _plain(value: object) -> str:
    if value is None:
        return number(None)
    if isinstance(value, float):
        return number(value, 1)
    if isinstance(value, int):
        return number(value)
    return str(value)


def _nan(value: float | Decimal) -> bool:
    return isinstance(value, float) and math.isnan(value)
