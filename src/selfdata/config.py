"""Where the vault lives and the settings in `selfdata.toml`.

The *home* is one folder holding the vault `selfdata.duckdb`, the settings file
`selfdata.toml` and rendered reports. It is, in order of precedence: the folder
of an explicit `--vault FILE`, `$SELFDATA_HOME`, or `./data` under the current
directory.

`selfdata.toml` (all keys optional):

    [vault]
    lock_timeout = 30     # seconds a writer waits for another process's lock
    timezone = "UTC"      # DuckDB session TimeZone used to display instants

    [importers.fitbit]    # options handed to one importer (see docs/importers.md)
    timezone = "Europe/London"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfdata.errors import ConfigError

__all__ = ["VAULT_FILE_NAME", "Settings", "default_vault_path", "load_settings"]

VAULT_FILE_NAME = "selfdata.duckdb"
CONFIG_FILE_NAME = "selfdata.toml"


@dataclass(frozen=True)
class Settings:
    """Typed settings from `selfdata.toml`, with defaults for what it leaves out."""

    lock_timeout_s: float = 30.0
    timezone: str = "UTC"
    # [importers.NAME] tables, handed to that importer as `source.options`.
    importer_options: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_vault_path() -> Path:
    """The vault file used when none is named: `$SELFDATA_HOME` or `./data`.

    Example:
        >>> default_vault_path().name
        'selfdata.duckdb'
    """
    home = os.environ.get("SELFDATA_HOME")
    folder = Path(home).expanduser() if home else Path.cwd() / "data"
    return folder / VAULT_FILE_NAME


def load_settings(vault_path: Path) -> Settings:
    """Read `selfdata.toml` beside the vault; defaults when there is none.

    Example:
        >>> load_settings(Path("/nonexistent/selfdata.duckdb")).lock_timeout_s
        30.0
    """
    path = vault_path.parent / CONFIG_FILE_NAME
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(path, f"cannot be read: {error}") from error
    vault = data.get("vault", {})
    if not isinstance(vault, dict):
        raise ConfigError(path, "[vault] must be a table")
    importers = data.get("importers", {})
    if not isinstance(importers, dict) or not all(isinstance(v, dict) for v in importers.values()):
        raise ConfigError(path, "[importers.NAME] entries must be tables")
    return Settings(
        lock_timeout_s=_number(path, vault, "lock_timeout", Settings.lock_timeout_s),
        timezone=_text(path, vault, "timezone", Settings.timezone),
        importer_options=importers,
    )


def _number(path: Path, table: dict[str, object], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(path, f"[vault] {key} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _text(path: Path, table: dict[str, object], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(path, f"[vault] {key} must be a non-empty string, not {value!r}")
    return value
