"""One shareable file per template: a zip with the manifest, the notebook and small assets.

    selfdata templates pack templates/sleep-debt      # -> sleep-debt-1.0.0.template.zip

The pack holds one folder named after the template. Its notebook is
stripped of outputs, execution counts and the metadata Jupyter and
papermill leave behind (outputs are where a person's numbers would leak),
and its `template.toml` carries `sha256 = "..."`: the template's content
digest (`store.content_digest`), checked again when the pack is installed,
so a pack altered after packing is refused. Packing the same folder twice
gives byte-identical files.

Unpacking refuses what could escape the folder (absolute names, `..`,
links) and anything bigger than a template may be.

Example:
    >>> pack(Path("templates/sleep-debt"), Path("."))  # doctest: +SKIP
    PosixPath('sleep-debt-1.0.0.template.zip')
"""

from __future__ import annotations

import stat
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from selfdata.reports.errors import TemplateError
from selfdata.reports.manifest import load_template, read_notebook
from selfdata.templates.store import (
    MANIFEST,
    MAX_TEMPLATE_BYTES,
    check_name,
    content_digest,
    copy_template,
    strip_digest,
    template_files,
)

__all__ = ["PACK_SUFFIX", "pack", "strip_notebook", "unpack"]

PACK_SUFFIX = ".template.zip"
# Fixed member times make packs reproducible (zip cannot store dates before 1980).
_EPOCH = (1980, 1, 1, 0, 0, 0)
# Metadata that records a run, not the template.
_RUN_METADATA = ("papermill", "execution", "widgets", "collapsed", "scrolled", "ExecuteTime")


def strip_notebook(nb: Any) -> Any:
    """`nb` without outputs, execution counts and run metadata (changed in place, returned)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in _RUN_METADATA:
            cell.metadata.pop(key, None)
    for key in _RUN_METADATA:
        nb.metadata.pop(key, None)
    return nb


def pack(folder: Path, out: Path) -> Path:
    """Write the template in `folder` as one zip in `out` (a folder or a file name).

    Raises:
        TemplateError: the template does not load, or holds files a template may not.
    """
    import nbformat

    template = load_template(folder)
    check_name(template.name)
    target = out / f"{template.name}-{template.version}{PACK_SUFFIX}" if out.is_dir() else out
    with tempfile.TemporaryDirectory(prefix="selfdata-pack-") as work:
        staged = copy_template(template.folder, Path(work) / template.name)
        notebook = staged / template.notebook.name
        nbformat.write(strip_notebook(read_notebook(notebook)), notebook)  # type: ignore[no-untyped-call]
        manifest = staged / MANIFEST
        text = strip_digest(manifest.read_bytes()).decode("utf-8")
        text = text if text.endswith("\n") else text + "\n"
        manifest.write_text(text, encoding="utf-8")
        manifest.write_text(_with_digest(text, content_digest(staged)), encoding="utf-8")
        _zip(staged, target)
    return target


def unpack(path: Path, into: Path) -> Path:
    """Extract the pack at `path` into `into`; returns the template's folder, its digest checked.

    Raises:
        TemplateError: not a template pack, unsafe or oversized members, or
            contents that no longer match the sha256 in its manifest.
    """
    label = path.name
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise TemplateError(label, f"is not a template pack (a zip file): {error}") from error
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        root = _single_root(label, members)
        total = sum(m.file_size for m in members)
        if total > MAX_TEMPLATE_BYTES:
            raise TemplateError(
                label, f"unpacks to {total:,} bytes; a template may be {MAX_TEMPLATE_BYTES:,}"
            )
        for member in members:
            target = into / member.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    folder = into / root
    _check_digest(label, folder)
    return folder


# --- private helpers ---------------------------------------------------------------------


def _with_digest(manifest: str, digest: str) -> str:
    """The manifest with `sha256 = "..."` among its top-level keys (before any [table])."""
    lines = manifest.splitlines(keepends=True)
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), None)
    at = len(lines) if first_table is None else first_table
    while at > 0 and not lines[at - 1].strip():
        at -= 1
    return "".join([*lines[:at], f'sha256 = "{digest}"\n', *lines[at:]])


def _zip(folder: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in template_files(folder):
            info = zipfile.ZipInfo(f"{folder.name}/{relative.as_posix()}", date_time=_EPOCH)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / relative).read_bytes())
    partial.replace(target)


def _single_root(label: str, members: list[zipfile.ZipInfo]) -> str:
    roots = set()
    for member in members:
        name = PurePosixPath(member.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
            raise TemplateError(label, f"holds {member.filename!r}, which points outside the pack")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise TemplateError(label, f"holds a link, {member.filename!r}; packs hold files only")
        roots.add(name.parts[0] if len(name.parts) > 1 else "")
    if len(roots) != 1 or "" in roots:
        raise TemplateError(
            label, "a template pack holds exactly one folder (made by `selfdata templates pack`)"
        )
    return roots.pop()


def _check_digest(label: str, folder: Path) -> None:
    manifest = folder / MANIFEST
    try:
        declared = tomllib.loads(manifest.read_text(encoding="utf-8")).get("sha256")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(label, f"its {MANIFEST} cannot be read: {error}") from error
    if declared is None:
        raise TemplateError(
            label, f"its {MANIFEST} has no sha256: make packs with `selfdata templates pack`"
        )
    actual = content_digest(folder)
    if declared != actual:
        raise TemplateError(
            label,
            f"was altered after it was packed: its files hash to {actual[:12]}, its manifest "
            f"says {str(declared)[:12]}; ask its author for a fresh copy",
        )
