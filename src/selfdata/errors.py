"""Every error selfdata raises on purpose, in one tree.

    SelfdataError
    ├── ConfigError            selfdata.toml is unreadable or has a bad value
    ├── VaultError
    │   ├── VaultNotFoundError  no vault file where one was expected
    │   ├── VaultLockedError    another process holds the vault's write lock
    │   └── SchemaTooNewError   the vault was written by a newer selfdata
    ├── IngestError            an import failed; the vault is unchanged
    │   ├── UnknownFormatError  no importer recognises the file
    │   ├── AmbiguousFormatError several importers claim the file
    │   ├── ParseError          the file is corrupt or truncated (names the line)
    │   └── UnsafeInputError    the file tries an XML entity bomb or similar
    ├── TemplateError          a report template cannot be used (selfdata.reports.errors)
    └── ReportError            a report failed while rendering; nothing was written

The CLI turns any of these into one line on stderr and a non-zero exit; each
exception builds its message from structured fields so that the line says what
happened and, where it can, how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AmbiguousFormatError",
    "ConfigError",
    "IngestError",
    "ParseError",
    "SchemaTooNewError",
    "SelfdataError",
    "UnknownFormatError",
    "UnsafeInputError",
    "VaultError",
    "VaultLockedError",
    "VaultNotFoundError",
]


class SelfdataError(Exception):
    """Root of every error selfdata raises on purpose."""


class ConfigError(SelfdataError):
    """selfdata.toml cannot be read or holds a value of the wrong kind."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class VaultError(SelfdataError):
    """The vault cannot be opened or used."""


class VaultNotFoundError(VaultError):
    """A read-only open found no vault file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"no vault at {path}: import something first (selfdata import PATH), "
            "or point to one with --vault or SELFDATA_HOME"
        )


class VaultLockedError(VaultError):
    """Another process kept the write lock past the deadline."""

    def __init__(
        self, path: Path, *, pid: int | None, program: str | None, waited_s: float
    ) -> None:
        self.path = path
        self.pid = pid
        self.program = program
        self.waited_s = waited_s
        holder = f"{Path(program).name} (PID {pid})" if pid and program else "another process"
        super().__init__(
            f"the vault {path} is in use by {holder}; waited {waited_s:.0f} s. "
            "Close that program (a notebook kernel, JupyterLab or another selfdata command) "
            "and try again, or wait longer with --lock-timeout"
        )


class SchemaTooNewError(VaultError):
    """The vault's schema is newer than this selfdata knows."""

    def __init__(self, path: Path, *, vault_version: int, known_version: int, made_by: str) -> None:
        self.path = path
        self.vault_version = vault_version
        self.known_version = known_version
        self.made_by = made_by
        super().__init__(
            f"the vault {path} has schema version {vault_version}, written by selfdata "
            f"{made_by}; this selfdata knows schema versions up to {known_version}. "
            "Upgrade selfdata (pip install -U selfdata) to open it"
        )


class IngestError(SelfdataError):
    """An import failed. Nothing from it was written to the vault."""

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class UnknownFormatError(IngestError):
    """No importer recognises the file."""

    def __init__(self, path: str | Path, known: Sequence[str]) -> None:
        self.known = list(known)
        super().__init__(
            path,
            "not a format selfdata knows (importers: "
            + ", ".join(self.known)
            + "); see `selfdata importers`",
        )


class AmbiguousFormatError(IngestError):
    """Several importers claim the same file."""

    def __init__(self, path: str | Path, candidates: Sequence[str]) -> None:
        self.candidates = list(candidates)
        super().__init__(
            path,
            "could be read by several importers ("
            + ", ".join(self.candidates)
            + f"); choose one with --importer {self.candidates[0]}",
        )


class ParseError(IngestError):
    """The file is corrupt, truncated or not what its start promised."""


class UnsafeInputError(IngestError):
    """The file asks for something selfdata never does (entity expansion, path traversal)."""
