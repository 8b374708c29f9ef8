"""Installed templates: where they live, what a template's files are, and their sha256 pins.

Templates shared by other people are installed beside the vault:

    $SELFDATA_HOME/templates/
        approved.toml            one table per installed template: the sha256
                                 the person approved, the version, the source
        <name>/template.toml     the template as it was approved
        <name>/<name>.ipynb

A template's sha256 (`content_digest`) covers every file of its folder, so
a template edited after it was approved (by hand, by a sync tool, by
another program) no longer matches its pin and refuses to run until it is
approved again. It is computed like `sha256sum` over the files in name
order, then hashed once more; the manifest's own `sha256 = "..."` line,
which `pack` writes, is left out, so a packed template and its unpacked
folder have the same digest.

Example:
    >>> content_digest(Path("templates/health"))  # doctest: +SKIP
    '5f1c...'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from selfdata.reports.errors import TemplateError

__all__ = [
    "APPROVALS_FILE",
    "ASSET_SUFFIXES",
    "MAX_ASSET_BYTES",
    "MAX_TEMPLATE_BYTES",
    "Approval",
    "approvals",
    "approve",
    "check_name",
    "content_digest",
    "copy_template",
    "forget",
    "install",
    "installed_dir",
    "strip_digest",
    "template_files",
    "verify",
]

APPROVALS_FILE = "approved.toml"
MANIFEST = "template.toml"
# What a template may carry besides its manifest and notebook: text and
# pictures. Never code: the install prompt shows the notebook's code, and
# code in any other file would run unseen.
ASSET_SUFFIXES = (".md", ".txt", ".toml", ".json", ".csv", ".png", ".jpg", ".jpeg", ".svg")
MAX_ASSET_BYTES = 1_000_000
MAX_TEMPLATE_BYTES = 5_000_000
# Left behind by Jupyter and Python; never part of a template.
_IGNORED = {".ipynb_checkpoints", "__pycache__", ".git", ".DS_Store"}
_SHA_LINE = re.compile(rb"^sha256\s*=.*(\r?\n|$)", re.MULTILINE)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Approval:
    """An installed template as the person approved it."""

    name: str
    sha256: str
    version: str
    source: str
    approved_at: str


def installed_dir(vault: Path) -> Path:
    """The folder of installed templates: `templates/` beside the vault ($SELFDATA_HOME)."""
    return vault.parent / "templates"


def template_files(folder: Path) -> list[Path]:
    """The files of the template in `folder`, relative, in name order; checked for sharing.

    Raises:
        TemplateError: a symbolic link, a file that is neither the manifest, the
            notebook nor a small text or picture asset, or a template too big.
    """
    label = folder.name
    found, total = [], 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if _IGNORED & set(relative.parts) or (path.is_dir() and not path.is_symlink()):
            continue
        if path.is_symlink():
            raise TemplateError(
                label, f"{relative} is a symbolic link; a template holds files only"
            )
        size = path.stat().st_size
        if relative.as_posix() != MANIFEST and path.suffix != ".ipynb":
            if path.suffix.lower() not in ASSET_SUFFIXES:
                raise TemplateError(
                    label,
                    f"{relative} cannot be part of a template: besides template.toml and the "
                    f"notebook, only {', '.join(ASSET_SUFFIXES)} files are (code goes in the "
                    "notebook, where the install prompt shows it)",
                )
            if size > MAX_ASSET_BYTES:
                raise TemplateError(
                    label, f"{relative} is {size:,} bytes; an asset may be {MAX_ASSET_BYTES:,}"
                )
        total += size
        found.append(relative)
    if total > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            label, f"its files add up to {total:,} bytes; a template may be {MAX_TEMPLATE_BYTES:,}"
        )
    return found


def copy_template(folder: Path, target: Path) -> Path:
    """Copy the template's files (`template_files`, nothing else) from `folder` into `target`."""
    for relative in template_files(folder):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / relative, target / relative)
    return target


def content_digest(folder: Path) -> str:
    """The sha256 of the template in `folder`: every file's sha256 and name, hashed.

    Raises:
        TemplateError: the folder holds something a template may not (`template_files`).
    """
    listing = []
    for relative in template_files(folder):
        data = (folder / relative).read_bytes()
        if relative.as_posix() == MANIFEST:
            data = strip_digest(data)
        listing.append(f"{hashlib.sha256(data).hexdigest()}  {relative.as_posix()}\n")
    return hashlib.sha256("".join(listing).encode()).hexdigest()


def strip_digest(manifest: bytes) -> bytes:
    """The manifest's bytes without its `sha256 = ...` line, which the digest cannot cover."""
    return _SHA_LINE.sub(b"", manifest)


def approvals(vault: Path) -> dict[str, Approval]:
    """The installed templates' approvals, by name (empty when none was installed)."""
    path = installed_dir(vault) / APPROVALS_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(APPROVALS_FILE, f"{path} cannot be read: {error}") from error
    found = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise TemplateError(name, f"{path}: [{name}] has no sha256")
        found[name] = Approval(
            name=name,
            sha256=entry["sha256"],
            version=str(entry.get("version", "")),
            source=str(entry.get("source", "")),
            approved_at=str(entry.get("approved_at", "")),
        )
    return found


def verify(vault: Path, name: str) -> Path:
    """The folder of installed template `name`, if it is exactly what the person approved.

    Raises:
        TemplateError: not installed, never approved, or changed since it was approved.
    """
    folder = installed_dir(vault) / name
    approval = approvals(vault).get(name)
    if approval is None:
        raise TemplateError(
            name,
            f"{folder} was never approved: install it with `selfdata templates install {folder}`",
        )
    now = content_digest(folder)
    if now != approval.sha256:
        raise TemplateError(
            name,
            f"changed since you approved it on {approval.approved_at[:10]} (sha256 "
            f"{approval.sha256[:12]}, now {now[:12]}); it will not run until you review "
            f"and approve it again: selfdata templates approve {name}",
        )
    return folder


def install(folder: Path, vault: Path, *, source: str, version: str) -> Path:
    """Copy the checked template in `folder` beside the vault and pin its sha256.

    The copy goes to a temporary folder first and is renamed into place, so
    an installed template is always whole; an earlier version is replaced.
    """
    name = folder.name
    check_name(name)
    digest = content_digest(folder)
    root = installed_dir(vault)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        copy_template(folder, staging)
        if content_digest(staging) != digest:
            raise TemplateError(name, "changed while it was being installed; try again")
        final = root / name
        old = root / f".{name}.old"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _record(vault, Approval(name, digest, version, source, _now()))
    return final


def approve(vault: Path, name: str, *, source: str, version: str) -> Approval:
    """Pin installed template `name` as its files are now (after the person reviewed them)."""
    folder = installed_dir(vault) / name
    approval = Approval(name, content_digest(folder), version, source, _now())
    _record(vault, approval)
    return approval


def forget(vault: Path, name: str) -> Path:
    """Remove installed template `name` and its pin; returns the folder removed.

    Raises:
        TemplateError: no template of that name is installed.
    """
    folder = installed_dir(vault) / name
    entries = approvals(vault)
    if name not in entries and not folder.exists():
        installed = ", ".join(sorted(entries)) or "none"
        raise TemplateError(name, f"is not installed in {folder.parent} (installed: {installed})")
    entries.pop(name, None)
    _write_approvals(vault, entries)
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def check_name(name: str) -> None:
    """Refuse a template name that cannot be a folder name on every system or a CLI word."""
    if not _NAME.match(name):
        raise TemplateError(
            name,
            "a template's name is lower-case letters, digits and dashes (at most 63), "
            "starting with a letter or digit",
        )


# --- private helpers ---------------------------------------------------------------------


def _record(vault: Path, approval: Approval) -> None:
    """Pin `approval` in approved.toml, replacing the template's earlier pin."""
    _write_approvals(vault, {**approvals(vault), approval.name: approval})


def _write_approvals(vault: Path, entries: dict[str, Approval]) -> None:
    root = installed_dir(vault)
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Installed templates and the sha256 you approved; written by selfdata.",
        "# A template whose files no longer match refuses to run: selfdata templates approve NAME",
        "",
    ]
    for name in sorted(entries):
        entry = entries[name]
        lines += [
            f"[{_string(name)}]",
            f"sha256 = {_string(entry.sha256)}",
            f"version = {_string(entry.version)}",
            f"source = {_string(entry.source)}",
            f"approved_at = {_string(entry.approved_at)}",
            "",
        ]
    handle, temporary = tempfile.mkstemp(prefix=".approved.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("\n".join(lines))
        os.replace(temporary, root / APPROVALS_FILE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _string(text: str) -> str:
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(text, ensure_ascii=True)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
