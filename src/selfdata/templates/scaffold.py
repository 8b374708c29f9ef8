"""`selfdata templates new NAME`: a working template to start from.

The scaffold is a complete template that passes `selfdata templates check`
as it is: a manifest with the four parameters every template has, and a
notebook whose cells show the house style — open the vault with
`selfdata.reports.notebook.setup`, ask an analytics function or plain SQL
over the canonical tables, say what it means in a sentence, draw a chart
with `chart()`, and say which import would fill an empty section.

Example:
    >>> new_template("sleep-debt", Path("."))  # doctest: +SKIP
    PosixPath('sleep-debt')
"""

from __future__ import annotations

import json
from pathlib import Path

from selfdata.reports.errors import TemplateError
from selfdata.templates.store import MANIFEST, check_name

__all__ = ["new_template"]

_MANIFEST_TEXT = """\
name = "{name}"
title = "{title}"
version = "0.1.0"
description = "What this report shows, in one sentence."
author = "{author}"
license = "MIT"
# The canonical tables the notebook reads (docs/schema.md); selfdata checks
# the vault has them and lists their rows in the report's header.
tables = ["health_samples"]
min_schema_version = 1

[parameters.vault]
type = "path"
default = ""
help = "The vault file; selfdata sets it, and the notebook opens it read-only."

[parameters.period]
type = "period"
default = "last-month"
help = "The period covered: last-month, last-7-days, 2025, 2025-Q3, 2025-06, 2025-W07..."

[parameters.start]
type = "date"
default = ""
help = "First day (ISO date); with end, overrides period."

[parameters.end]
type = "date"
default = ""
help = "Last day, inclusive (ISO date)."

[parameters.step_goal]
type = "integer"
default = 8000
help = "Daily steps that count as reaching the goal."
"""

_CELLS: list[tuple[str, list[str], str]] = [
    (
        "markdown",
        [],
        "What this report tells its reader, in a sentence or two. Markdown cells are "
        "shown as they are; code cells are hidden unless the report is rendered with "
        "--show-code.",
    ),
    (
        "code",
        ["parameters"],
        'vault = ""  # the vault file; selfdata sets it (empty: the default vault)\n'
        'period = "last-month"  # last-month, 2025, 2025-Q3, 2025-06, 2025-W07...\n'
        'start = ""  # first day, e.g. "2025-06-01"; with end, it overrides period\n'
        'end = ""  # last day, inclusive\n'
        "step_goal = 8000  # a day reaches the goal at this many steps",
    ),
    (
        "code",
        [],
        "import altair as alt\n"
        "import polars as pl\n"
        "\n"
        "from selfdata.analytics import health\n"
        "from selfdata.reports import notebook as sd\n"
        "\n"
        "# Opens the vault read-only and settles the period's first and last local day.\n"
        "report = sd.setup(vault, period, start, end)",
    ),
    ("markdown", [], "## Steps"),
    (
        "code",
        [],
        "# Daily totals per local day, each step counted once across devices.\n"
        'steps = health.daily(report.con, ["steps"], start=report.start, end=report.end)\n'
        "if steps.is_empty():\n"
        '    sd.missing("step counts", "an Apple Health export (`selfdata import export.zip`)")\n'
        "else:\n"
        '    reached = int((steps["value"] >= step_goal).sum())\n'
        "    sd.kpis(\n"
        "        [\n"
        '            ("steps a day", sd.number(steps["value"].mean())),\n'
        '            ("days at the goal", f"{reached} of {steps.height}"),\n'
        "        ]\n"
        "    )\n"
        "    sd.chart(\n"
        "        alt.Chart(steps.to_pandas())\n"
        "        .mark_bar()\n"
        '        .encode(x=alt.X("local_day:T", title=None), y=alt.Y("value:Q", title="steps"))\n'
        '        .properties(title="Steps a day")\n'
        "    )",
    ),
    ("markdown", [], "## The same from SQL"),
    (
        "code",
        [],
        "# Plain SQL over the canonical tables works too; `?` keeps values out of the text,\n"
        "# and local_day_sql() places each row on the local day it happened.\n"
        'day = sd.local_day_sql("health_samples")\n'
        "rows = report.con.execute(\n"
        '    f"""\n'
        "    SELECT count(DISTINCT source_name) AS sources, count(*) AS samples\n"
        "    FROM health_samples\n"
        "    WHERE metric = 'steps' AND {day} BETWEEN ? AND ?\n"
        '    """,\n'
        "    [report.start, report.end],\n"
        ").fetchall()\n"
        "sources, samples = rows[0]\n"
        'sd.say(f"{sd.number(samples)} step samples from {sources} source(s) in {report.label}.")',
    ),
]


def new_template(name: str, parent: Path, *, author: str = "you") -> Path:
    """Write a new template called `name` into `parent/name`; returns the folder.

    Raises:
        TemplateError: a bad name, or the folder exists already.
    """
    check_name(name)
    folder = parent / name
    if folder.exists():
        raise TemplateError(name, f"{folder} exists already; choose another name or folder")
    folder.mkdir(parents=True)
    title = name.replace("-", " ").capitalize()
    (folder / MANIFEST).write_text(
        _MANIFEST_TEXT.format(name=name, title=title, author=author.replace('"', "'")),
        encoding="utf-8",
    )
    (folder / f"{name}.ipynb").write_text(
        json.dumps(_notebook(), indent=1) + "\n", encoding="utf-8"
    )
    return folder


def _notebook() -> dict[str, object]:
    cells = []
    for number, (kind, tags, source) in enumerate(_CELLS, start=1):
        cell: dict[str, object] = {
            "cell_type": kind,
            "id": f"cell-{number}",
            "metadata": {"tags": tags} if tags else {},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
