"""Shared fixtures: `vault` (a fresh vault path), `registry` (built-ins plus the
test-only `tally` importer, also seen by the CLI) and `cli` (runs the command)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from selfdata.cli import cli as selfdata_cli
from selfdata.importers import Registry
from tests.plugins import tally

DATA = Path(__file__).parent / "data"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a vault that does not exist yet, in its own home folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("SELFDATA_HOME", str(home))
    return home / "selfdata.duckdb"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The default registry plus `tally`, installed as what Registry.default() returns."""
    built = Registry()
    for registered in _builtins():
        built.register(registered.importer, origin=registered.origin)
    built.register(tally, origin="tests")
    monkeypatch.setattr(Registry, "default", classmethod(lambda cls: built))
    return built


def _builtins() -> list:  # type: ignore[type-arg]
    return list(Registry.default())


@pytest.fixture
def cli(vault: Path) -> Callable[..., Result]:
    """Run `selfdata ARGS...` against the test vault; output is plain text."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(selfdata_cli, ["--vault", str(vault), *args], input=input)

    return run


def write(path: Path, text: str) -> Path:
    """Write a small fixture file the test builds itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def leave_run_behind(nb: Any) -> Any:
    """`nb` (changed in place) as saving it after a run leaves it: an output and an
    execution count in its last code cell and papermill's metadata. Fixtures are
    committed clean, so the stored-outputs template gets these at test time."""
    from nbformat.v4 import new_output

    last = [cell for cell in nb.cells if cell.cell_type == "code"][-1]
    last.outputs = [new_output("display_data", data={"text/html": '<p class="sd-say">Hello.</p>'})]
    last.execution_count = 3
    nb.metadata["papermill"] = {"duration": 2.5, "parameters": {"period": "2025-06"}}
    return nb


def run_left_behind(template: Path, into: Path) -> Path:
    """A copy of the template folder `template` in `into`, its notebook as a run left it."""
    import shutil

    import nbformat

    copy = Path(shutil.copytree(template, into / template.name))
    notebook = next(copy.glob("*.ipynb"))
    nbformat.write(leave_run_behind(nbformat.read(notebook, as_version=4)), notebook)
    return copy
