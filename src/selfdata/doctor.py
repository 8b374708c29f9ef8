"""`selfdata doctor`: one OK / FAIL / SKIP line per thing that must be right.

Each check is a small function returning a `Check`; `run_checks` runs them all
and never raises, so the doctor works even when the vault is broken.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb

from selfdata import xmlscan
from selfdata.config import load_settings
from selfdata.errors import SelfdataError
from selfdata.importers import Registry
from selfdata.schema import SCHEMA_VERSION
from selfdata.vault import open_vault, schema_version

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: str  # OK | FAIL | SKIP
    detail: str


def run_checks(vault_path: Path) -> list[Check]:
    """Run every check against the vault at `vault_path`.

    Example:
        >>> [c.status for c in run_checks(Path("/nonexistent/v.duckdb"))][0]
        'OK'
    """
    checks: list[Callable[[], Check]] = [
        _python,
        _duckdb_pin,
        _duckdb_builtins,
        _importers,
        _tokenizer,
        _json_scanner,
        _sandbox,
        lambda: _settings(vault_path),
        lambda: _home_writable(vault_path),
        lambda: _vault(vault_path),
    ]
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:  # a doctor that crashes helps nobody
            results.append(Check(getattr(check, "__name__", "check"), "FAIL", str(error)))
    return results


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check("python", "OK" if ok else "FAIL", f"Python {version} (3.11 or newer needed)")


def _duckdb_pin() -> Check:
    wanted = next(
        (r.split("==")[1].strip() for r in metadata.requires("selfdata") or [] if "duckdb==" in r),
        None,
    )
    if wanted is None:
        return Check("duckdb", "SKIP", f"DuckDB {duckdb.__version__}; no pin found")
    if duckdb.__version__ != wanted:
        return Check(
            "duckdb",
            "FAIL",
            f"DuckDB {duckdb.__version__} installed but selfdata pins {wanted}: "
            f"pip install duckdb=={wanted}",
        )
    return Check("duckdb", "OK", f"DuckDB {duckdb.__version__}, as pinned")


def _duckdb_builtins() -> Check:
    # TIMESTAMPTZ needs icu and `extra` needs json; both must ship in the wheel
    # because selfdata never downloads extensions.
    with duckdb.connect(config={"autoinstall_known_extensions": False}) as con:
        loaded = {
            name
            for (name,) in con.execute(
                "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
            ).fetchall()
        }
    missing = {"icu", "json"} - loaded
    if missing:
        return Check("extensions", "FAIL", f"DuckDB lacks built-in {', '.join(sorted(missing))}")
    return Check("extensions", "OK", "icu and json built in; nothing is downloaded")


def _importers() -> Check:
    registry = Registry.default()
    if registry.broken:
        broken = "; ".join(f"{name}: {why}" for name, why in registry.broken.items())
        return Check("importers", "FAIL", f"plugins that did not load: {broken}")
    names = ", ".join(r.name for r in registry)
    return Check("importers", "OK", f"{len(registry)} loaded ({names})")


def _tokenizer() -> Check:
    return _optional_extension(
        "tokenizer",
        xmlscan.native(),
        "C XML tokenizer built (fast Apple Health imports)",
        "C XML tokenizer not built or switched off; big XML exports use the slower numpy path "
        "(reinstall with a C compiler: pip install --force-reinstall -e .)",
    )


def _json_scanner() -> Check:
    from selfdata.importers import _google_stream

    return _optional_extension(
        "scanner",
        _google_stream.native(),
        "C Records.json scanner built (fast Google imports)",
        "C Records.json scanner not built or switched off; Google's Records.json is read by "
        "DuckDB's JSON reader, more slowly (reinstall with a C compiler)",
    )


def _optional_extension(name: str, built: bool, fast: str, slow: str) -> Check:
    # The C extensions are optional: without one, its imports take the slower path.
    return Check(name, "OK", fast) if built else Check(name, "SKIP", slow)


def _sandbox() -> Check:
    # Shared templates run in the sandbox; a missing layer weakens it (docs/templates.md).
    from selfdata.templates.sandbox import sandbox_status

    status = sandbox_status()
    layers = status.summary().removeprefix("sandbox: ")
    return Check("sandbox", "SKIP" if status.missing else "OK", layers)


def _settings(vault_path: Path) -> Check:
    config = vault_path.parent / "selfdata.toml"
    if not config.exists():
        return Check("settings", "SKIP", f"no {config}; using defaults")
    try:
        settings = load_settings(vault_path)
    except SelfdataError as error:
        return Check("settings", "FAIL", str(error))
    return Check("settings", "OK", f"{config} (lock timeout {settings.lock_timeout_s:g} s)")


def _home_writable(vault_path: Path) -> Check:
    folder = vault_path.parent
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return Check("home", "FAIL", f"cannot write to {folder}")
    return Check("home", "OK", f"{folder} is writable")


def _vault(vault_path: Path) -> Check:
    if not vault_path.exists():
        return Check("vault", "SKIP", f"no vault yet at {vault_path}; `selfdata import` makes one")
    try:
        with open_vault(vault_path, read_only=True, lock_timeout=0) as con:
            version = schema_version(con)
    except SelfdataError as error:
        return Check("vault", "FAIL", str(error))
    return Check("vault", "OK", f"{vault_path}, schema version {version} of {SCHEMA_VERSION}")
