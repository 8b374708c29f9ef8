"""Sharing templates: scaffold, content digest, pack and unpack, sources, install and pins."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from importlib.metadata import EntryPoint
from pathlib import Path

import nbformat
import pytest

from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import load_template, read_notebook
from selfdata.templates import store
from selfdata.templates.catalog import entries, resolve
from selfdata.templates.pack import pack, unpack
from selfdata.templates.scaffold import new_template
from selfdata.templates.sources import fetch, is_git_source


@pytest.fixture
def authored(tmp_path: Path) -> Path:
    """A fresh scaffolded template, as an author has it."""
    return new_template("sleep-debt", tmp_path / "work", author="Ann Lee")


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """Where a second person's vault lives (installed templates go beside it)."""
    home = tmp_path / "home"
    home.mkdir()
    return home / "selfdata.duckdb"


def _with_outputs(folder: Path) -> None:
    """Execute-like: put an output, an execution count and papermill metadata in the notebook."""
    path = folder / f"{folder.name}.ipynb"
    nb = read_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="9,382 steps\n")]
    code[-1].execution_count = 7
    nb.metadata["papermill"] = {"parameters": {"vault": "/home/ann/data/selfdata.duckdb"}}
    nbformat.write(nb, path)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Ann", "-c", "user.email=ann@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


# --- scaffold ----------------------------------------------------------------------------


def test_new_template_loads_as_it_is(authored: Path) -> None:
    template = load_template(authored)
    assert template.name == "sleep-debt"
    assert template.title == "Sleep debt"
    assert template.author == "Ann Lee"
    assert template.tables == ("health_samples",)
    assert set(template.parameters) == {"vault", "period", "start", "end", "step_goal"}
    nb = read_notebook(template.notebook)
    assert all(c.get("outputs", []) == [] for c in nb.cells)
    assert [c.metadata.get("tags") for c in nb.cells if c.metadata.get("tags")] == [["parameters"]]


def test_new_template_refuses_an_existing_folder_and_a_bad_name(authored: Path) -> None:
    with pytest.raises(TemplateError, match="exists already"):
        new_template("sleep-debt", authored.parent)
    with pytest.raises(TemplateError, match="lower-case letters"):
        new_template("Sleep Debt", authored.parent)


# --- files and digest --------------------------------------------------------------------


def test_digest_covers_every_file_but_not_run_leftovers(authored: Path) -> None:
    before = store.content_digest(authored)
    (authored / ".ipynb_checkpoints").mkdir()
    (authored / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    assert store.content_digest(authored) == before
    (authored / "notes.md").write_text("How to read it.\n")
    with_asset = store.content_digest(authored)
    assert with_asset != before
    manifest = authored / "template.toml"
    manifest.write_text('sha256 = "abc"\n' + manifest.read_text())
    assert store.content_digest(authored) == with_asset  # its own sha256 line is left out


def test_template_files_refuse_code_links_and_big_assets(authored: Path) -> None:
    (authored / "helpers.py").write_text("import os\n")
    with pytest.raises(TemplateError, match=r"helpers\.py cannot be part of a template"):
        store.template_files(authored)
    (authored / "helpers.py").unlink()
    (authored / "link.md").symlink_to(authored / "template.toml")
    with pytest.raises(TemplateError, match=r"link\.md is a symbolic link"):
        store.template_files(authored)
    (authored / "link.md").unlink()
    (authored / "big.csv").write_bytes(b"1," * 600_000)
    with pytest.raises(TemplateError, match=r"big\.csv is 1,200,000 bytes"):
        store.template_files(authored)


# --- pack and unpack ---------------------------------------------------------------------


def test_pack_strips_outputs_and_pins_the_digest(authored: Path, tmp_path: Path) -> None:
    _with_outputs(authored)
    (authored / "notes.md").write_text("How to read it.\n")
    target = pack(authored, tmp_path)
    assert target.name == "sleep-debt-0.1.0.template.zip"
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
        nb = nbformat.reads(archive.read("sleep-debt/sleep-debt.ipynb").decode(), as_version=4)
        manifest = archive.read("sleep-debt/template.toml").decode()
    assert names == [
        "sleep-debt/notes.md",
        "sleep-debt/sleep-debt.ipynb",
        "sleep-debt/template.toml",
    ]
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if "outputs" in c)
    assert "papermill" not in nb.metadata
    unpacked = unpack(target, tmp_path / "out")
    assert f'sha256 = "{store.content_digest(unpacked)}"' in manifest
    # the digest line sits among the top-level keys, so the manifest still loads
    assert load_template(unpacked).name == "sleep-debt"
    # the author's own folder keeps its outputs: pack never edits it
    assert read_notebook(authored / "sleep-debt.ipynb").metadata.get("papermill")


def test_packing_twice_gives_the_same_bytes(authored: Path, tmp_path: Path) -> None:
    first = pack(authored, tmp_path / "a.template.zip").read_bytes()
    second = pack(authored, tmp_path / "b.template.zip").read_bytes()
    assert first == second


def test_a_pack_altered_after_packing_is_refused(authored: Path, tmp_path: Path) -> None:
    target = pack(authored, tmp_path)
    altered = tmp_path / "altered.template.zip"
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(altered, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".ipynb"):
                data = data.replace(b"steps a day", b"steps a DAY")
            out.writestr(item, data)
    with pytest.raises(TemplateError, match="altered after it was packed"):
        unpack(altered, tmp_path / "out")


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ({"../evil/template.toml": b"x"}, "points outside the pack"),
        ({"/etc/template.toml": b"x"}, "points outside the pack"),
        ({"a/template.toml": b"x", "b/template.toml": b"x"}, "exactly one folder"),
        ({"template.toml": b"x"}, "exactly one folder"),
    ],
)
def test_unsafe_packs_are_refused(tmp_path: Path, members: dict[str, bytes], problem: str) -> None:
    path = tmp_path / "bad.template.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(TemplateError, match=problem):
        unpack(path, tmp_path / "out")
    assert not (tmp_path / "evil").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.template.zip"
    path.write_text("not a zip")
    with pytest.raises(TemplateError, match="is not a template pack"):
        unpack(path, tmp_path / "out")


# --- sources -----------------------------------------------------------------------------


def test_fetch_from_a_folder_and_a_pack(authored: Path, tmp_path: Path) -> None:
    from_folder = fetch(str(authored), tmp_path / "f")
    assert from_folder.source == f"folder {authored.resolve()}"
    assert store.content_digest(from_folder.folder) == store.content_digest(authored)
    target = pack(authored, tmp_path)
    from_pack = fetch(str(target), tmp_path / "p")
    assert from_pack.source.startswith("pack ")
    assert load_template(from_pack.folder).name == "sleep-debt"


def test_fetch_from_a_local_git_repository(authored: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(authored, repo / "sleep-debt")
    new_template("step-goal", repo)
    _git("init", "--quiet", "--initial-branch=main", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "--quiet", "-m", "two templates", cwd=repo)
    assert is_git_source(str(repo))
    with pytest.raises(TemplateError, match=r"several templates \(sleep-debt, step-goal\)"):
        fetch(str(repo), tmp_path / "a")
    fetched = fetch(str(repo), tmp_path / "b", subdir="step-goal")
    assert fetched.folder.name == "step-goal"
    assert fetched.source.startswith(f"git {repo} @ ")
    assert len(fetched.source.rsplit("@ ", 1)[1]) == 12
    _git("tag", "v1", cwd=repo)
    tagged = fetch(str(repo), tmp_path / "c", subdir="sleep-debt", ref="v1")
    assert load_template(tagged.folder).name == "sleep-debt"


def test_fetch_failures_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such folder, pack or git repository"):
        fetch(str(tmp_path / "nothing"), tmp_path / "a")
    with pytest.raises(TemplateError, match="git clone failed"):
        fetch(f"file://{tmp_path}/missing.git", tmp_path / "b")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TemplateError, match="is not a template"):
        fetch(str(tmp_path / "notes.txt"), tmp_path / "c")


# --- install, pins, catalog --------------------------------------------------------------


def test_install_pins_and_a_changed_template_refuses_to_run(authored: Path, vault: Path) -> None:
    folder = store.install(authored, vault, source="folder x", version="0.1.0")
    assert folder == vault.parent / "templates" / "sleep-debt"
    pin = store.approvals(vault)["sleep-debt"]
    assert pin.sha256 == store.content_digest(authored)
    assert resolve("sleep-debt", vault).origin == "installed"
    assert resolve("sleep-debt", vault).sandboxed
    notebook = folder / "sleep-debt.ipynb"
    notebook.write_text(notebook.read_text().replace("steps a day", "steps each day"))
    with pytest.raises(TemplateError, match="changed since you approved it"):
        resolve("sleep-debt", vault)
    with pytest.raises(TemplateError, match="selfdata templates approve sleep-debt"):
        resolve(folder, vault)  # by path too: the pin cannot be sidestepped
    listed = {e.name: e for e in entries(vault)}
    assert "changed since you approved it" in (listed["sleep-debt"].problem or "")
    store.approve(vault, "sleep-debt", source=pin.source, version="0.1.0")
    assert resolve("sleep-debt", vault).template.name == "sleep-debt"


def test_reinstall_replaces_and_remove_forgets(authored: Path, vault: Path) -> None:
    store.install(authored, vault, source="folder x", version="0.1.0")
    manifest = authored / "template.toml"
    manifest.write_text(manifest.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    store.install(authored, vault, source="folder x", version="0.2.0")
    assert store.approvals(vault)["sleep-debt"].version == "0.2.0"
    assert sorted(p.name for p in (vault.parent / "templates").iterdir()) == [
        "approved.toml",
        "sleep-debt",
    ]
    store.forget(vault, "sleep-debt")
    assert store.approvals(vault) == {}
    assert not (vault.parent / "templates" / "sleep-debt").exists()
    with pytest.raises(TemplateError, match="is not installed"):
        store.forget(vault, "sleep-debt")


def test_an_installed_folder_without_a_pin_does_not_run(authored: Path, vault: Path) -> None:
    shutil.copytree(authored, vault.parent / "templates" / "sleep-debt")
    with pytest.raises(TemplateError, match="was never approved"):
        resolve("sleep-debt", vault)


def test_resolve_curated_folder_and_unknown(authored: Path, vault: Path) -> None:
    assert resolve("health", vault).origin == "curated"
    assert not resolve("health", vault).sandboxed
    assert resolve(authored, vault).origin == "folder"
    assert resolve(str(authored), vault).sandboxed
    with pytest.raises(TemplateError, match=r"not found in .* \(templates: data-coverage, health"):
        resolve("nope", vault)


def test_approvals_file_is_readable_toml(authored: Path, vault: Path) -> None:
    store.install(authored, vault, source='folder "quoted" \\ path', version="0.1.0")
    text = (vault.parent / "templates" / "approved.toml").read_text()
    assert '["sleep-debt"]' in text
    assert store.approvals(vault)["sleep-debt"].source == 'folder "quoted" \\ path'
    assert json.loads(text.split("source = ", 1)[1].splitlines()[0]) == 'folder "quoted" \\ path'


def test_templates_from_a_package_entry_point(
    tmp_path: Path, vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "ann_templates"
    package.mkdir(parents=True)
    # Never imported: listing templates must not run a package's code.
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    new_template("step-goal", package)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    point = EntryPoint(name="ann", value="ann_templates", group="selfdata.templates")
    monkeypatch.setattr(
        "selfdata.templates.catalog.entry_points",
        lambda group: [point] if group == "selfdata.templates" else [],
    )
    listed = {e.name: e for e in entries(vault)}
    assert listed["step-goal"].origin == "package ann"
    assert listed["step-goal"].folder == package / "step-goal"
    found = resolve("step-goal", vault)
    assert found.origin == "package ann"
    assert found.sandboxed
