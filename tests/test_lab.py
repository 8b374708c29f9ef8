"""JupyterLab: `selfdata lab`, and the getting-started notebook run like a person would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from selfdata.reports.sample import write_sample_vault

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GETTING_STARTED = NOTEBOOKS / "getting-started.ipynb"


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert (cell.outputs, cell.execution_count) == ([], None), path.name


@pytest.fixture(scope="module")
def sample_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab") / "selfdata.duckdb"
    write_sample_vault(path)
    return path


def run_notebook(vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("SELFDATA_VAULT", str(vault))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(GETTING_STARTED), str(out), kernel_name="python3", cwd=str(tmp_path), progress_bar=False
    )
    notebook = nbformat.read(out, as_version=4)
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]


def test_getting_started_draws_its_charts_offline(sample_vault, tmp_path, monkeypatch) -> None:
    outputs = run_notebook(sample_vault, tmp_path, monkeypatch)
    texts = json.dumps(outputs)
    assert "Error" not in texts and "Traceback" not in texts
    charts = [o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(charts) == 3
    assert all("<svg" in chart and "http" not in chart.split(">", 1)[1] for chart in charts)
    # No chart spec (which would carry the rows) and no script reaches the notebook.
    assert not any(
        key.startswith("application/vnd.vegalite") or key == "application/javascript"
        for o in outputs
        for key in o.get("data", {})
    )


def test_getting_started_runs_on_an_empty_vault(tmp_path, monkeypatch) -> None:
    from selfdata import open_vault

    vault = tmp_path / "empty" / "selfdata.duckdb"
    open_vault(vault, read_only=False).close()
    texts = json.dumps(run_notebook(vault, tmp_path, monkeypatch))
    assert "Traceback" not in texts
    assert "No steps yet: import an Apple Health export.zip" in texts


def test_lab_starts_jupyterlab_on_the_notebooks_with_the_vault(cli, vault, monkeypatch) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []

    def run(command, env, check):  # type: ignore[no-untyped-def]
        started.append((command, env))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)
    result = cli("lab", "--port", "8899", "--no-browser")
    assert result.exit_code == 0, result.output
    [(command, env)] = started
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={NOTEBOOKS}" in command
    # No news feed, no update check: JupyterLab makes no call outside the machine.
    assert "--LabApp.news_url=None" in command
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in command
    assert "--LabApp.extension_manager=readonly" in command
    assert {"--ServerApp.port=8899", "--ServerApp.open_browser=False"} <= set(command)
    assert env["SELFDATA_VAULT"] == str(vault)
