"""Rendering the curated reports: selfdata against plain `jupyter nbconvert --execute`.

Builds a sample vault with a year in every domain (`selfdata.reports.sample`),
then renders the five curated templates for that year three ways, in the same
run and on the same vault:

1. `jupyter nbconvert --execute --to html` on each notebook, its parameters
   injected the way papermill does, one after the other: the baseline;
2. `selfdata.reports.render()` on each, one after the other;
3. `selfdata.reports.run_due()` on a schedule holding all five, in parallel.

It prints the seconds of each and selfdata's ratio to the baseline. The goal
(issue 5): one after the other, selfdata takes at most 1.5 times the baseline.

    .venv/bin/python bench/report_render.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from selfdata.reports.manifest import find_templates
from selfdata.reports.periods import period_between
from selfdata.reports.render import render
from selfdata.reports.sample import write_sample_vault
from selfdata.reports.schedule import run_due
from selfdata.vault import open_vault

GOAL = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="repeat and take the median")
    rounds = parser.parse_args().rounds
    jupyter = Path(sys.executable).parent / "jupyter"
    templates = find_templates()
    with tempfile.TemporaryDirectory(prefix="selfdata-bench-") as folder:
        work = Path(folder)
        vault = work / "home" / "selfdata.duckdb"
        started = time.perf_counter()
        # A calendar year, so run-due's yearly report covers exactly the same days.
        summary = write_sample_vault(vault, end=date(2025, 12, 31))
        open_vault(vault).close()
        print(
            f"sample vault: {sum(summary.rows.values()):,} rows, {summary.first_day} to "
            f"{summary.last_day}, built in {time.perf_counter() - started:.1f} s"
        )
        year = period_between(summary.first_day, summary.last_day)
        baseline, ours, parallel = [], [], []
        for round_number in range(rounds):
            baseline.append(_nbconvert(jupyter, templates, vault, year, work / f"nb{round_number}"))
            ours.append(_selfdata(templates, vault, year, work / f"sd{round_number}"))
            parallel.append(_run_due(templates, vault, work / f"due{round_number}"))
    base, mine, both = (statistics.median(x) for x in (baseline, ours, parallel))
    print(f"{'jupyter nbconvert --execute --to html, one by one':<52} {base:6.1f} s")
    print(f"{'selfdata render, one by one':<52} {mine:6.1f} s   ratio {mine / base:.2f}")
    print(f"{'selfdata reports run-due, in parallel':<52} {both:6.1f} s   ratio {both / base:.2f}")
    verdict = "met" if mine / base <= GOAL else "NOT met"
    print(f"goal: selfdata one by one at most {GOAL}x nbconvert: {verdict}")


def _nbconvert(jupyter: Path, templates: list, vault: Path, year, out: Path) -> float:  # type: ignore[type-arg]
    out.mkdir(parents=True)
    notebooks = []
    for template in templates:
        nb = load_notebook_node(str(template.notebook))  # as papermill reads it
        parameters = {
            **{name: p.default for name, p in template.parameters.items()},
            "vault": str(vault),
            "period": year.label,
            "start": year.start.isoformat(),
            "end": year.end.isoformat(),
        }
        path = out / template.notebook.name
        nbformat.write(parameterize_notebook(nb, parameters), path)
        notebooks.append(path)
    started = time.perf_counter()
    for path in notebooks:
        subprocess.run(
            [str(jupyter), "nbconvert", "--execute", "--to", "html", "--log-level=ERROR",
             "--ExecutePreprocessor.timeout=600", str(path)],
            check=True, cwd=out, capture_output=True,
        )  # fmt: skip
    return time.perf_counter() - started


def _selfdata(templates: list, vault: Path, year, out: Path) -> float:  # type: ignore[type-arg]
    started = time.perf_counter()
    for template in templates:
        render(template, year, out=out / f"{template.name}.html", vault=vault)
    return time.perf_counter() - started


def _run_due(templates: list, vault: Path, out: Path) -> float:  # type: ignore[type-arg]
    """All five as yearly reports due at once, rendered by run-due (in parallel)."""
    config = vault.parent / "selfdata.toml"
    config.write_text(
        "".join(f'[[reports]]\ntemplate = "{t.name}"\nevery = "year"\n' for t in templates),
        encoding="utf-8",
    )
    reports = vault.parent / "reports"
    if reports.exists():
        for path in reports.glob("*/*.html"):
            path.unlink()
    with open_vault(vault, read_only=False) as con:
        con.execute("DELETE FROM rendered_reports")
    started = time.perf_counter()
    result = run_due(vault, today=date(2026, 1, 1))
    seconds = time.perf_counter() - started
    assert len(result.rendered) == len(templates), result.failed
    config.unlink()
    return seconds


if __name__ == "__main__":
    main()
