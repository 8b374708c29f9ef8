"""Template folders: the manifest, the `parameters` cell, and the curated templates' hygiene."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import (
    PARAMETER_TYPES,
    REQUIRED_PARAMETERS,
    coerce_parameters,
    find_templates,
    load_template,
    notebook_parameters,
    templates_dir,
)
from selfdata.schema import CANONICAL_TABLES

FIXTURES = Path(__file__).parent / "data" / "reports"
CURATED = ("data-coverage", "health", "mobility", "overview", "spending")


def test_the_curated_templates_are_found_in_the_repository():
    assert templates_dir() == Path(__file__).resolve().parents[1] / "templates"
    assert [t.name for t in find_templates()] == list(CURATED)


@pytest.mark.parametrize("name", CURATED)
def test_curated_notebooks_are_committed_without_outputs(name):
    notebook = templates_dir() / name / f"{name}.ipynb"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells, start=1):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name} cell {number} has outputs"
            assert cell["execution_count"] is None, f"{name} cell {number} was executed"


@pytest.mark.parametrize("name", CURATED)
def test_curated_manifests_are_complete_and_match_their_notebook(name):
    template = load_template(name)
    assert template.name == name
    assert template.version.count(".") == 2
    assert template.license == "MIT"
    assert set(template.tables) <= {*CANONICAL_TABLES, "imports"}
    assert template.min_schema_version == 1
    for required, kind in REQUIRED_PARAMETERS.items():
        assert template.parameters[required].type == kind
    for parameter in template.parameters.values():
        assert parameter.type in PARAMETER_TYPES
        assert parameter.help.endswith("."), parameter
    # The cell mirrors the manifest (load_template checks; this states it plainly).
    defaults = notebook_parameters(name, template.notebook)
    assert defaults == {p.name: p.default for p in template.parameters.values()}


@pytest.mark.parametrize("name", CURATED)
def test_curated_notebooks_say_what_to_import_for_every_section(name):
    notebook = json.loads((templates_dir() / name / f"{name}.ipynb").read_text("utf-8"))
    headings = [c for c in notebook["cells"] if "".join(c["source"]).startswith("## ")]
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert len(headings) >= 4
    assert code.count("sd.missing(") >= len(headings) - 1


def test_a_notebook_without_a_parameters_tag_is_refused():
    with pytest.raises(TemplateError) as caught:
        load_template(FIXTURES / "no_parameters")
    assert str(caught.value) == (
        "template no_parameters: no_parameters.ipynb has no cell tagged `parameters`; tag "
        "exactly one code cell (View > Cell Toolbar > Tags in Jupyter) that assigns the "
        "manifest's parameters"
    )


def test_a_cell_missing_a_declared_parameter_is_refused():
    with pytest.raises(TemplateError, match=r"does not set end, which template\.toml declares"):
        load_template(FIXTURES / "mismatched_parameters")


def test_a_cell_setting_an_undeclared_parameter_is_refused(tmp_path):
    folder = _copy("tiny", tmp_path)
    notebook = folder / "tiny.ipynb"
    notebook.write_text(
        notebook.read_text("utf-8").replace(
            'greeting = \\"Hello\\"', 'greeting = \\"Hello\\"\\ncolour = \\"red\\"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as caught:
        load_template(folder)
    assert str(caught.value) == (
        "template tiny: the parameters cell of tiny.ipynb sets colour, which template.toml "
        "does not declare; add [parameters.colour] to it"
    )


def test_a_default_that_differs_from_the_manifest_is_refused():
    with pytest.raises(TemplateError) as caught:
        load_template(FIXTURES / "wrong_default")
    assert str(caught.value) == (
        "template wrong_default: the parameters cell of wrong_default.ipynb sets period = "
        "'last-year', but template.toml says its default is 'last-month'"
    )


def test_a_parameters_cell_that_computes_is_refused(tmp_path):
    folder = _copy("tiny", tmp_path)
    notebook = folder / "tiny.ipynb"
    notebook.write_text(
        notebook.read_text("utf-8").replace('greeting = \\"Hello\\"', "greeting = input()"),
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match="assigns greeting something that is not a literal"):
        load_template(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "tiny"', 'name = "small"'), "names it 'small', but its folder is 'tiny'"),
        (('license = "MIT"\n', ""), "template.toml has no `license`"),
        (("min_schema_version = 1", "min_schema_version = 0"), "`min_schema_version` must be"),
        (('type = "string"', 'type = "colour"'), "type 'colour' is not one of string, integer"),
        (
            ('[parameters.end]\ntype = "date"', '[parameters.end]\ntype = "string"'),
            "needs a parameter end of type date",
        ),
        (('default = "Hello"', "default = 3"), "[parameters.greeting] default: expected text"),
    ],
)
def test_bad_manifests_are_refused_naming_the_problem(tmp_path, change, message):
    folder = _copy("tiny", tmp_path)
    manifest = folder / "template.toml"
    text = manifest.read_text("utf-8")
    assert change[0] in text
    manifest.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(folder)
    assert message in str(caught.value)


def test_an_unknown_template_lists_the_known_ones():
    with pytest.raises(TemplateError) as caught:
        load_template("helth")
    assert str(caught.value).startswith(
        f"template helth: not found in {templates_dir()} (templates: data-coverage, health, "
        "mobility, overview, spending)"
    )


def test_selfdata_templates_points_somewhere_else(tmp_path, monkeypatch):
    _copy("tiny", tmp_path)
    monkeypatch.setenv("SELFDATA_TEMPLATES", str(tmp_path))
    assert [t.name for t in find_templates()] == ["tiny"]
    assert load_template("tiny").folder == tmp_path / "tiny"


def test_parameters_are_converted_to_the_manifest_types():
    template = load_template("spending")
    assert coerce_parameters(template, {"top": "5"}) == {"top": 5}
    mobility = load_template("mobility")
    assert coerce_parameters(mobility, {"show_map": "no"}) == {"show_map": False}
    with pytest.raises(TemplateError) as caught:
        coerce_parameters(template, {"top": "many"})
    assert str(caught.value).startswith("template spending: parameter top must be of type integer")
    with pytest.raises(TemplateError, match=r"has no parameter 'colour' \(it has: end, period"):
        coerce_parameters(template, {"colour": "red"})


def _copy(name: str, into: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, into / name))
