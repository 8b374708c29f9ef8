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

    [[reports]]           # a scheduled report (see docs/reports.md)
    template = "health"
    every = "week"        # week, month or year
    name = "health"       # optional: its folder under reports/ (default: the template)
    since = 2025-01-01    # optional: on the first run, catch up from this day
    parameters = { }      # optional: the template's own parameters
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from selfdata.errors import ConfigError

__all__ = [
    "VAULT_FILE_NAME",
    "ScheduledReport",
    "Settings",
    "default_vault_path",
    "load_settings",
]

VAULT_FILE_NAME = "selfdata.duckdb"
CONFIG_FILE_NAME = "selfdata.toml"


@dataclass(frozen=True)
class ScheduledReport:
    """One `[[reports]]` entry: render `template` for every complete week, month or year."""

    template: str
    every: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    since: date | None = None


@dataclass(frozen=True)
class Settings:
    """Typed settings from `selfdata.toml`, with defaults for what it leaves out."""

    lock_timeout_s: float = 30.0
    timezone: str = "UTC"
    # [importers.NAME] tables, handed to that importer as `source.options`.
    importer_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # [[reports]] entries: what `selfdata reports run-due` renders.
    reports: tuple[ScheduledReport, ...] = ()


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
        reports=_reports(path, data.get("reports", [])),
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


_REPORT_KEYS = {"template", "every", "name", "parameters", "since"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _reports(path: Path, entries: object) -> tuple[ScheduledReport, ...]:
    """The `[[reports]]` entries, checked for shape (templates are checked when they run)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(path, "reports must be [[reports]] tables")
    found: list[ScheduledReport] = []
    for number, entry in enumerate(entries, start=1):
        where = f"[[reports]] entry {number}"
        unknown = set(entry) - _REPORT_KEYS
        if unknown:
            raise ConfigError(path, f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        template = entry.get("template")
        if not isinstance(template, str) or not _NAME.match(template):
            raise ConfigError(path, f'{where} needs template = "NAME", not {template!r}')
        every = entry.get("every")
        if every not in ("week", "month", "year"):
            raise ConfigError(
                path, f'{where} every must be "week", "month" or "year", not {every!r}'
            )
        name = entry.get("name", template)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(path, f"{where} name must be a simple folder name, not {name!r}")
        parameters = entry.get("parameters", {})
        if not isinstance(parameters, dict):
            raise ConfigError(path, f"{where} parameters must be a table")
        found.append(ScheduledReport(template, every, name, parameters, _since(path, where, entry)))
    keys = [(r.name, r.every) for r in found]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(
                path, f"two [[reports]] entries render {key[0]} every {key[1]}: give one a name"
            )
    return tuple(found)


def _since(path: Path, where: str, entry: dict[str, object]) -> date | None:
    value = entry.get("since")
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(path, f"{where} since must be a date like 2025-01-01, not {value!r}")
