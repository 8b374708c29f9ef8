"""Report templates: a folder with `template.toml` and one notebook, found and checked.

A template folder (`templates/<name>/`):

    template.toml     the manifest, below
    <name>.ipynb      one notebook, committed without outputs, with exactly one
                      cell tagged `parameters` that only assigns literals

`template.toml`:

    name = "health"                     # the folder's name
    title = "Health"
    version = "1.0.0"
    description = "Activity, sleep, heart, workouts and body mass."
    author = "selfdata contributors"
    license = "MIT"
    tables = ["health_samples", "sleep_segments", "workouts"]
    min_schema_version = 1

    [parameters.vault]                  # every template has vault, period, start, end
    type = "path"
    default = ""
    help = "The vault file; selfdata sets it and the notebook opens it read-only."

    [parameters.top]                    # and any of its own
    type = "integer"                    # string, integer, number, boolean, date, period, path
    default = 10
    help = "How many merchants to list."

The `parameters` cell must assign exactly the manifest's parameters, with the
manifest's defaults: papermill on its own silently ignores a parameter the
notebook does not use, so a mismatch is refused here, naming the parameter.

Templates are found in `$SELFDATA_TEMPLATES` if set, else the repository's
`templates/` folder beside `src/` (an editable install); a path to a folder
also names a template.

Example:
    >>> [t.name for t in find_templates()]  # doctest: +SKIP
    ['data-coverage', 'health', 'mobility', 'overview', 'spending']
"""

from __future__ import annotations

import ast
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import selfdata
from selfdata.reports.errors import TemplateError
from selfdata.reports.periods import parse_period

__all__ = [
    "PARAMETER_TYPES",
    "REQUIRED_PARAMETERS",
    "Parameter",
    "Template",
    "check_parameters_cell",
    "coerce_parameters",
    "find_templates",
    "load_template",
    "notebook_parameters",
    "read_manifest",
    "read_notebook",
    "template_folders",
    "templates_dir",
]

PARAMETER_TYPES = ("string", "integer", "number", "boolean", "date", "period", "path")
REQUIRED_PARAMETERS = {"vault": "path", "period": "period", "start": "date", "end": "date"}

_MANIFEST = "template.toml"
_TEXT_KEYS = ("name", "title", "version", "description", "author", "license")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a template: its type, default and help."""

    name: str
    type: str
    default: Any
    help: str


@dataclass(frozen=True)
class Template:
    """A checked template: its manifest and the notebook to run."""

    name: str
    title: str
    version: str
    description: str
    author: str
    license: str
    tables: tuple[str, ...]
    min_schema_version: int
    parameters: dict[str, Parameter]
    folder: Path
    notebook: Path


def templates_dir() -> Path:
    """Where the curated templates are: `$SELFDATA_TEMPLATES`, else `templates/` of the checkout.

    A wheel install has no checkout around it, so it needs the variable.
    """
    configured = os.environ.get("SELFDATA_TEMPLATES")
    if configured:
        return Path(configured).expanduser()
    return Path(selfdata.__file__).resolve().parents[2] / "templates"


def template_folders(folder: Path | None = None) -> list[Path]:
    """The folders in `folder` (default `templates_dir()`) holding a `template.toml`, by name."""
    root = folder or templates_dir()
    return [p.parent for p in sorted(root.glob(f"*/{_MANIFEST}"))] if root.is_dir() else []


def find_templates(folder: Path | None = None) -> list[Template]:
    """Every template in `folder` (default `templates_dir()`), by name, checked.

    Raises:
        TemplateError: a folder with a `template.toml` that does not check.
    """
    return [load_template(path) for path in template_folders(folder)]


def load_template(name: str | Path) -> Template:
    """Load and check the template called `name`, or the template folder at that path.

    Raises:
        TemplateError: unknown template, bad manifest, or a notebook whose
            `parameters` cell is missing or does not match the manifest.

    Example:
        >>> load_template("health").parameters["period"].default  # doctest: +SKIP
        'last-month'
    """
    template = read_manifest(_folder(name))
    check_parameters_cell(template)
    return template


def read_manifest(folder: Path) -> Template:
    """The template in `folder` from its `template.toml` alone (the notebook is not read).

    Raises:
        TemplateError: a manifest that cannot be read or lacks or mistypes a key.
    """
    return _template(folder.name, folder, _read_manifest(folder.name, folder / _MANIFEST))


def check_parameters_cell(template: Template) -> None:
    """Check the notebook's one `parameters` cell assigns exactly the manifest's parameters.

    Raises:
        TemplateError: no such cell, several, one doing more than assigning
            literals, or names or defaults that differ from the manifest's.
    """
    _check_cell_matches(template, notebook_parameters(template.name, template.notebook))


def notebook_parameters(template: str, notebook: Path) -> dict[str, Any]:
    """The names and literal values the notebook's one `parameters` cell assigns.

    Raises:
        TemplateError: no such cell, several, or one doing more than assigning literals.
    """
    try:
        nb = read_notebook(notebook)
    except (OSError, ValueError) as error:
        raise TemplateError(template, f"cannot read {notebook.name}: {error}") from error
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        found = "no cell" if not cells else f"{len(cells)} cells"
        raise TemplateError(
            template,
            f"{notebook.name} has {found} tagged `parameters`; tag exactly one code cell "
            "(View > Cell Toolbar > Tags in Jupyter) that assigns the manifest's parameters",
        )
    return _literal_assignments(template, notebook.name, cells[0].source)


def coerce_parameters(template: Template, given: dict[str, Any]) -> dict[str, Any]:
    """`given` (text from the command line, or TOML values) as the manifest's types.

    Raises:
        TemplateError: a parameter the template does not have, or a value of the wrong kind.

    Example:
        >>> coerce_parameters(load_template("spending"), {"top": "5"})  # doctest: +SKIP
        {'top': 5}
    """
    coerced = {}
    for name, value in given.items():
        parameter = template.parameters.get(name)
        if parameter is None:
            known = ", ".join(sorted(template.parameters))
            raise TemplateError(template.name, f"has no parameter {name!r} (it has: {known})")
        try:
            coerced[name] = _coerce(parameter.type, value)
        except (TypeError, ValueError) as error:
            raise TemplateError(
                template.name, f"parameter {name} must be of type {parameter.type}: {error}"
            ) from error
    return coerced


def read_notebook(path: Path) -> Any:
    """The notebook at `path` as an nbformat v4 node."""
    # Imported here: nbformat pulls in jsonschema, a second's start-up for every command.
    import nbformat

    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call] # untyped library


# --- private helpers ---------------------------------------------------------------------


def _folder(name: str | Path) -> Path:
    path = Path(name).expanduser()
    if (path / _MANIFEST).is_file():
        return path.resolve()
    folder = templates_dir() / str(name)
    if isinstance(name, str) and "/" not in name and (folder / _MANIFEST).is_file():
        return folder
    known = ", ".join(p.parent.name for p in sorted(templates_dir().glob(f"*/{_MANIFEST}")))
    raise TemplateError(
        str(name),
        f"not found in {templates_dir()} (templates: {known or 'none'}); "
        "give a template's name or the path of a folder holding a template.toml",
    )


def _read_manifest(label: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(label, f"{path.name} cannot be read: {error}") from error


def _template(label: str, folder: Path, manifest: dict[str, Any]) -> Template:
    for key in (*_TEXT_KEYS, "tables", "min_schema_version", "parameters"):
        if key not in manifest:
            raise TemplateError(label, f"{_MANIFEST} has no `{key}`")
    for key in _TEXT_KEYS:
        if not isinstance(manifest[key], str) or not manifest[key].strip():
            raise TemplateError(label, f"{_MANIFEST}: `{key}` must be a non-empty string")
    if manifest["name"] != folder.name:
        raise TemplateError(
            label, f"{_MANIFEST} names it {manifest['name']!r}, but its folder is {folder.name!r}"
        )
    tables = manifest["tables"]
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise TemplateError(label, f"{_MANIFEST}: `tables` must be a list of table names")
    version = manifest["min_schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TemplateError(label, f"{_MANIFEST}: `min_schema_version` must be a whole number >= 1")
    return Template(
        name=manifest["name"],
        title=manifest["title"],
        version=manifest["version"],
        description=manifest["description"],
        author=manifest["author"],
        license=manifest["license"],
        tables=tuple(tables),
        min_schema_version=version,
        parameters=_parameters(label, manifest["parameters"]),
        folder=folder,
        notebook=_notebook(label, folder),
    )


def _parameters(label: str, table: object) -> dict[str, Parameter]:
    if not isinstance(table, dict):
        raise TemplateError(label, f"{_MANIFEST}: [parameters.NAME] entries must be tables")
    found = {}
    for name, spec in table.items():
        where = f"{_MANIFEST} [parameters.{name}]"
        if not isinstance(spec, dict) or set(spec) != {"type", "default", "help"}:
            raise TemplateError(label, f"{where} must have exactly type, default and help")
        if spec["type"] not in PARAMETER_TYPES:
            raise TemplateError(
                label, f"{where} type {spec['type']!r} is not one of {', '.join(PARAMETER_TYPES)}"
            )
        try:
            default = _coerce(spec["type"], spec["default"])
        except (TypeError, ValueError) as error:
            raise TemplateError(label, f"{where} default: {error}") from error
        found[name] = Parameter(name, spec["type"], default, str(spec["help"]))
    for name, kind in REQUIRED_PARAMETERS.items():
        if name not in found or found[name].type != kind:
            raise TemplateError(
                label,
                f"{_MANIFEST} needs a parameter {name} of type {kind}; every template has "
                "vault, period, start and end",
            )
    return found


def _notebook(label: str, folder: Path) -> Path:
    notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if len(notebooks) != 1:
        raise TemplateError(
            label, f"a template folder holds exactly one .ipynb, {folder} has {len(notebooks)}"
        )
    return notebooks[0]


def _literal_assignments(template: str, notebook: str, source: str) -> dict[str, Any]:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise TemplateError(
            template, f"the parameters cell of {notebook} is not valid Python: {error.msg}"
        ) from error
    found: dict[str, Any] = {}
    for statement in tree.body:
        target, value = _assignment(statement)
        if target is None or value is None:
            raise TemplateError(
                template,
                f"the parameters cell of {notebook} may only assign literal values "
                f"(line {statement.lineno} does something else)",
            )
        try:
            found[target] = ast.literal_eval(value)
        except ValueError as error:
            raise TemplateError(
                template,
                f"the parameters cell of {notebook} assigns {target} something that is not "
                f"a literal (line {statement.lineno})",
            ) from error
    return found


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None


def _check_cell_matches(template: Template, defaults: dict[str, Any]) -> None:
    cell, manifest = set(defaults), set(template.parameters)
    where = f"the parameters cell of {template.notebook.name}"
    if manifest - cell:
        missing = ", ".join(sorted(manifest - cell))
        raise TemplateError(
            template.name, f"{where} does not set {missing}, which {_MANIFEST} declares"
        )
    if cell - manifest:
        extra = ", ".join(sorted(cell - manifest))
        raise TemplateError(
            template.name,
            f"{where} sets {extra}, which {_MANIFEST} does not declare; add "
            f"[parameters.{sorted(cell - manifest)[0]}] to it",
        )
    for name, parameter in template.parameters.items():
        if defaults[name] != parameter.default:
            raise TemplateError(
                template.name,
                f"{where} sets {name} = {defaults[name]!r}, but {_MANIFEST} says its default "
                f"is {parameter.default!r}",
            )


def _coerce(kind: str, value: object) -> Any:
    """`value` as a parameter of type `kind`: what is injected into the notebook."""
    if kind in ("string", "path"):
        if not isinstance(value, str):
            raise TypeError(f"expected text, not {value!r}")
        return value
    if kind == "boolean":
        return _boolean(value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"expected a whole number, not {value!r}")
        return int(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(f"expected a number, not {value!r}")
        return float(value)
    if kind == "date":
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str):
            raise TypeError(f"expected an ISO date, not {value!r}")
        return date.fromisoformat(value).isoformat() if value else ""
    if kind == "period":
        if not isinstance(value, str):
            raise TypeError(f"expected a period name, not {value!r}")
        if value:
            parse_period(value)
        return value
    raise ValueError(f"unknown parameter type {kind!r}")


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")
