"""`templates check` renders: on the demo persona's vault and an empty one, in the sandbox.

The demo vault is built once for this module (about a minute) in its own cache folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfdata.cli import cli as selfdata_cli
from selfdata.templates.check import CheckResult, check_template, demo_vault, demo_vault_ready
from selfdata.vault import open_vault

CHECK_FIXTURES = Path(__file__).parent / "data" / "check"
SCAN_FIXTURES = Path(__file__).parent / "data" / "templates"
SANDBOX_FIXTURES = Path(__file__).parent / "data" / "sandbox"


@pytest.fixture(scope="module", autouse=True)
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder of this module's own, holding the demo vault once built."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


def _by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_the_demo_vault_is_built_once_and_holds_the_persona(demo_cache: Path) -> None:
    vault = demo_vault()
    assert demo_vault_ready()
    assert vault.is_relative_to(demo_cache)
    with open_vault(vault, read_only=True) as con:
        counts = dict(
            con.execute(
                "SELECT 'steps', count(*) FROM health_samples WHERE metric = 'steps' "
                "UNION ALL SELECT 'transactions', count(*) FROM transactions "
                "UNION ALL SELECT 'derived trips', count(*) FROM trips WHERE derived"
            ).fetchall()
        )
    assert counts["steps"] > 10_000
    assert counts["transactions"] > 500
    assert counts["derived trips"] > 100
    built = vault.stat().st_mtime
    assert demo_vault() == vault and vault.stat().st_mtime == built


def test_a_clean_template_passes_every_check(tmp_path: Path) -> None:
    results, notes = check_template(SCAN_FIXTURES / "clean")
    assert [(r.name, r.ok) for r in results if r.ok is not True] == []
    checks = _by_name(results)
    assert re.fullmatch(r"2026-05, \d+\.\d s", checks["runs on the demo vault"].detail)
    assert re.fullmatch(r"2026-05, \d+\.\d s", checks["runs on an empty vault"].detail)
    assert notes == []


def test_a_template_failing_on_an_empty_vault() -> None:
    results, _ = check_template(CHECK_FIXTURES / "fails-on-empty-vault")
    checks = _by_name(results)
    assert checks["runs on the demo vault"].ok is True
    empty = checks["runs on an empty vault"]
    assert empty.ok is False
    assert re.match(
        r"report fails-on-empty-vault failed in cell 4: ZeroDivisionError", empty.detail
    )
    # the page check looks at what did render
    assert checks["report holds no script and loads nothing remote"].ok is True


def test_a_template_exceeding_the_cell_timeout() -> None:
    results, _ = check_template(CHECK_FIXTURES / "exceeds-cell-timeout", cell_timeout=3)
    checks = _by_name(results)
    for name in ("runs on the demo vault", "runs on an empty vault"):
        assert checks[name].ok is False
        assert "a cell ran longer than the cell timeout of 3 s" in checks[name].detail
    assert checks["report holds no script and loads nothing remote"].ok is None


def test_a_template_emitting_a_script_into_its_report() -> None:
    results, _ = check_template(SCAN_FIXTURES / "emits-script")
    report = _by_name(results)["report holds no script and loads nothing remote"]
    assert report.ok is False
    assert "<script" in report.detail or any("<script" in f.message for f in report.findings)


def test_a_template_opening_the_network_fails_both_runs() -> None:
    results, notes = check_template(SANDBOX_FIXTURES / "opens-network")
    checks = _by_name(results)
    for name in ("runs on the demo vault", "runs on an empty vault"):
        assert checks[name].ok is False
        assert "selfdata sandbox: templates may not open network connections" in checks[name].detail
    assert any("socket" in note.message for note in notes)


def test_check_command_end_to_end(tmp_path: Path) -> None:
    runner = CliRunner()
    vault = tmp_path / "home" / "selfdata.duckdb"
    made = runner.invoke(
        selfdata_cli,
        ["--vault", str(vault), "templates", "new", "sleep-debt", "--dir", str(tmp_path)],
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        selfdata_cli, ["--vault", str(vault), "templates", "check", str(tmp_path / "sleep-debt")]
    )
    assert result.exit_code == 0, result.output
    assert re.findall(r"^(OK|FAIL|SKIP|NOTE) ", result.output, re.MULTILINE) == ["OK"] * 8
    assert re.search(r"^OK    runs on the demo vault: 2026-05, \d+\.\d s$", result.output, re.M)
    assert "Ready to share: selfdata templates pack" in result.output
