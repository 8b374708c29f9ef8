"""Where a template to install comes from: a folder, a pack, or a git repository.

    selfdata templates install ./sleep-debt                      a folder
    selfdata templates install sleep-debt-1.0.0.template.zip      a pack
    selfdata templates install https://github.com/ann/templates.git --subdir sleep-debt
    selfdata templates install ../my-templates                    a local git repository

`fetch()` brings the template into a temporary folder the caller owns and
says where it came from (with the commit, for git), for the approval record.
A git source is cloned shallowly with the `git` program, never asking for a
password (a private repository fails instead of hanging); it is the one
network access selfdata makes, and only for a remote URL the person typed.

Example:
    >>> fetched = fetch("sleep-debt-1.0.0.template.zip", Path(tmp))  # doctest: +SKIP
    >>> fetched.folder.name
    'sleep-debt'
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from selfdata.reports.errors import TemplateError
from selfdata.templates.pack import PACK_SUFFIX, unpack
from selfdata.templates.store import MANIFEST, copy_template

__all__ = ["Fetched", "fetch", "is_git_source"]

_GIT_PREFIXES = ("git+", "git@", "git://", "ssh://", "http://", "https://", "file://")
_CLONE_TIMEOUT_S = 300


@dataclass(frozen=True)
class Fetched:
    """A template brought into a temporary folder, and where it came from."""

    folder: Path
    source: str


def is_git_source(source: str) -> bool:
    """Whether `source` names a git repository rather than a folder or a pack."""
    if source.startswith(_GIT_PREFIXES) or source.endswith(".git"):
        return True
    path = Path(source).expanduser()
    return (path / ".git").exists() and not (path / MANIFEST).is_file()


def fetch(source: str, into: Path, *, ref: str | None = None, subdir: str | None = None) -> Fetched:
    """Bring the template named by `source` into the empty folder `into`.

    Args:
        source: a template folder, a `.template.zip` pack, or a git URL or local repository.
        into: an empty temporary folder the caller removes afterwards.
        ref: a branch or tag (git only).
        subdir: the template's folder inside the repository or folder, when it holds several.

    Raises:
        TemplateError: nothing usable there, git failing, or an unsafe pack.
    """
    if is_git_source(source):
        clone = _clone(source, into / "clone", ref)
        return Fetched(_template_in(source, clone, subdir), f"git {source} @ {_commit(clone)}")
    path = Path(source).expanduser()
    if path.is_file():
        if not path.name.endswith((PACK_SUFFIX, ".zip")):
            raise TemplateError(
                path.name,
                f"is not a template: give a folder, a {PACK_SUFFIX} pack or a git URL",
            )
        return Fetched(unpack(path, into / "pack"), f"pack {path.resolve()}")
    if path.is_dir():
        folder = _template_in(source, path.resolve(), subdir)
        copy = copy_template(folder, into / "folder" / folder.name)
        return Fetched(copy, f"folder {folder}")
    raise TemplateError(source, "no such folder, pack or git repository")


# --- private helpers ---------------------------------------------------------------------


def _template_in(source: str, root: Path, subdir: str | None) -> Path:
    """The template folder in `root`: itself, `subdir`, or its one sub-folder holding a template."""
    if subdir:
        folder = (root / subdir).resolve()
        if not folder.is_relative_to(root.resolve()) or not (folder / MANIFEST).is_file():
            raise TemplateError(source, f"has no template in {subdir!r}")
        return folder
    if (root / MANIFEST).is_file():
        return root
    found = sorted(p.parent for p in root.glob(f"*/{MANIFEST}"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise TemplateError(source, f"holds no {MANIFEST}, at its top or one folder down")
    names = ", ".join(p.name for p in found)
    raise TemplateError(source, f"holds several templates ({names}); choose one with --subdir")


def _clone(url: str, into: Path, ref: str | None) -> Path:
    if shutil.which("git") is None:
        raise TemplateError(url, "installing from git needs the git program; install git")
    location = url.removeprefix("git+")
    local = Path(location).expanduser()
    if local.exists():
        location = local.resolve().as_uri()  # file:// so that --depth applies
    command = ["git", "clone", "--quiet", "--depth", "1", "--no-recurse-submodules"]
    command += ["--branch", ref] if ref else []
    command += ["--", location, str(into)]
    # Never prompt for a password: a script would hang on it.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=_CLONE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise TemplateError(url, f"git clone took longer than {_CLONE_TIMEOUT_S} s") from error
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise TemplateError(url, f"git clone failed: {message[-1] if message else done.returncode}")
    return into


def _commit(clone: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()[:12] or "unknown commit"
