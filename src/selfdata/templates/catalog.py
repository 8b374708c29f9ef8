"""Every template this vault can use, and which one a name means.

Three origins, looked up in this order:

- curated: `templates/` of selfdata (or `$SELFDATA_TEMPLATES`); runs as it is.
- installed: `$SELFDATA_HOME/templates/<name>/`, by `selfdata templates
  install`; runs in the sandbox, and only while it matches its sha256 pin.
- package: a Python package declaring
  `[project.entry-points."selfdata.templates"]`; runs in the sandbox.

A package's entry point names a package whose folder holds template folders
(or is one): `my-templates = "my_templates"`. The package is located, not
imported, so listing templates runs none of its code.

A path to a template folder also names a template (an author's work in
progress); it runs in the sandbox too. Only curated templates, which ship
with selfdata and are reviewed with it, run without it.

Example:
    >>> resolve("health", Path("data/selfdata.duckdb")).origin  # doctest: +SKIP
    'curated'
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import Template, load_template, template_folders, templates_dir
from selfdata.reports.render import is_curated
from selfdata.templates.store import MANIFEST, approvals, installed_dir, verify

__all__ = ["ENTRY_POINT_GROUP", "Entry", "Resolved", "entries", "resolve"]

ENTRY_POINT_GROUP = "selfdata.templates"


@dataclass(frozen=True)
class Resolved:
    """A template ready to run, where it came from, and whether it runs sandboxed."""

    template: Template
    origin: str

    @property
    def sandboxed(self) -> bool:
        """Everything but selfdata's own templates runs in the sandbox."""
        return self.origin != "curated"


@dataclass(frozen=True)
class Entry:
    """One template as `selfdata templates list` shows it: usable, or why not."""

    name: str
    origin: str
    folder: Path
    template: Template | None
    problem: str | None


def resolve(name: str | Path, vault: Path) -> Resolved:
    """The template `name` means: curated, installed (pin checked), package, or a folder path.

    Raises:
        TemplateError: unknown name, an installed template changed since it was
            approved, or a template that does not check.
    """
    text = str(name)
    if isinstance(name, str) and "/" not in text and "\\" not in text:
        if (templates_dir() / text / MANIFEST).is_file():
            return Resolved(load_template(templates_dir() / text), "curated")
        if text in approvals(vault) or (installed_dir(vault) / text).is_dir():
            return Resolved(load_template(verify(vault, text)), "installed")
        packaged = _package_folders().get(text)
        if packaged is not None:
            return Resolved(load_template(packaged[0]), f"package {packaged[1]}")
    path = Path(name).expanduser()
    if (path / MANIFEST).is_file():
        folder = path.resolve()
        if folder.parent == installed_dir(vault).resolve():
            return Resolved(load_template(verify(vault, folder.name)), "installed")
        template = load_template(folder)
        return Resolved(template, "curated" if is_curated(template) else "folder")
    known = ", ".join(sorted({e.name for e in entries(vault)})) or "none"
    raise TemplateError(
        text,
        f"not found in {templates_dir()} or {installed_dir(vault)} (templates: {known}); "
        "give a template's name or the path of a folder holding a template.toml",
    )


def entries(vault: Path) -> list[Entry]:
    """Every curated, installed and packaged template, each loaded or with its problem."""
    found = [_entry(folder, "curated", vault) for folder in template_folders()]
    pins = approvals(vault)
    installed = {p.name for p in template_folders(installed_dir(vault))} | set(pins)
    found += [_entry(installed_dir(vault) / name, "installed", vault) for name in sorted(installed)]
    for name, (folder, package) in sorted(_package_folders().items()):
        found.append(_entry(folder, f"package {package}", vault, name))
    return found


# --- private helpers ---------------------------------------------------------------------


def _entry(folder: Path, origin: str, vault: Path, name: str | None = None) -> Entry:
    label = name or folder.name
    try:
        if origin == "installed":
            verify(vault, label)
        return Entry(label, origin, folder, load_template(folder), None)
    except TemplateError as error:
        return Entry(label, origin, folder, None, error.problem)


def _package_folders() -> dict[str, tuple[Path, str]]:
    """Template folders declared by installed packages: name -> (folder, package)."""
    found: dict[str, tuple[Path, str]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        root = _package_dir(point.module)
        if root is None:
            continue
        folders = [root] if (root / MANIFEST).is_file() else template_folders(root)
        for folder in folders:
            found.setdefault(folder.name, (folder, point.dist.name if point.dist else point.name))
    return found


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None
