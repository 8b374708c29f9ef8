"""The registry: built-ins and entry-point plugins take the same path."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from selfdata.errors import SelfdataError
from selfdata.importers import BUILTIN_IMPORTERS, Registry, contract_problem
from tests.plugins import tally


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution `selfdata-tally` on sys.path declaring one good and one broken importer."""
    dist = tmp_path / "selfdata_tally-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: selfdata-tally\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[selfdata.importers]\n"
        "tally = tests.plugins.tally\n"
        "broken = selfdata_no_such_module.importer\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_builtins_come_first_then_entry_points(installed_plugins):
    registry = Registry.default()
    assert [(r.name, r.origin) for r in registry] == [
        *((name.rsplit(".", 1)[1], "builtin") for name in BUILTIN_IMPORTERS),
        ("tally", "selfdata-tally"),
    ]
    assert registry.get("tally") is tally
    assert list(registry.broken) == ["broken"]
    assert "ModuleNotFoundError" in registry.broken["broken"]


def test_cli_lists_plugins_and_reports_broken_ones(installed_plugins, cli):
    output = cli("importers").output
    assert "selfdata-tally" in output
    assert "plugin broken did not load: ModuleNotFoundError" in output


def test_doctor_fails_on_a_broken_plugin(installed_plugins, cli):
    result = cli("doctor")
    assert result.exit_code == 1
    assert (
        "FAIL  importers   plugins that did not load: broken: ModuleNotFoundError" in result.output
    )


@pytest.mark.parametrize("module", BUILTIN_IMPORTERS)
def test_builtin_importers_keep_the_contract(module):
    assert contract_problem(importlib.import_module(module)) is None


def test_every_builtin_importer_is_documented():
    documented = (Path(__file__).parents[1] / "docs" / "importers.md").read_text(encoding="utf-8")
    for module in BUILTIN_IMPORTERS:
        assert f"| `{module.rsplit('.', 1)[1]}` |" in documented, module


def test_two_importers_with_one_name_are_refused():
    registry = Registry()
    registry.register(tally, origin="a")
    with pytest.raises(SelfdataError, match="two importers are named 'tally' \\(a and b\\)"):
        registry.register(tally, origin="b")


def test_a_faulty_detect_does_not_hide_other_importers():
    class Faulty:
        name, version, patterns, tables = "faulty", "1", ("*",), ("transactions",)

        @staticmethod
        def detect(head: bytes, filename: str) -> bool:
            raise ValueError("bug")

        read = staticmethod(lambda source: iter(()))

    registry = Registry()
    registry.register(Faulty(), origin="tests")
    registry.register(tally, origin="tests")
    assert registry.candidates(b"#tally v1\n", "x.tally") == [tally]
