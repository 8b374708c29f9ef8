"""Emission factors per transport mode, from `emission_factors.toml`.

The defaults ship beside this module; a file of the same name beside the vault
replaces them mode by mode (a mode it names is taken whole from it; modes it
leaves out keep the default). Each mode has `kg_co2e_per_km` and `source`, or
`bands`: a list of `{from_km, kg_co2e_per_km, source}` chosen by the trip's
distance (flights: domestic, short-haul, long-haul).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from selfdata.errors import ConfigError

__all__ = ["DEFAULT_FACTORS", "FILE_NAME", "load_factors"]

FILE_NAME = "emission_factors.toml"
DEFAULT_FACTORS = Path(__file__).with_name(FILE_NAME)


def load_factors(vault_folder: Path | None) -> pl.DataFrame:
    """The factors in force: `mode`, `from_km`, `kg_co2e_per_km`, `source`, `file`.

    Example:
        >>> load_factors(None).filter(pl.col("mode") == "walking")["kg_co2e_per_km"].to_list()
        [0.0]
    """
    modes = _read(DEFAULT_FACTORS)
    user = None if vault_folder is None else vault_folder / FILE_NAME
    if user is not None and user.exists():
        modes.update(_read(user))
    rows = [row for mode, table in sorted(modes.items()) for row in table]
    return pl.DataFrame(
        rows,
        schema={
            "mode": pl.String,
            "from_km": pl.Float64,
            "kg_co2e_per_km": pl.Float64,
            "source": pl.String,
            "file": pl.String,
        },
        orient="row",
    ).sort("mode", "from_km")


def _read(path: Path) -> dict[str, list[tuple[str, float, float, str, str]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(path, f"cannot be read: {error}") from error
    return {mode: _bands(path, mode, table) for mode, table in data.items()}


def _bands(path: Path, mode: str, table: Any) -> list[tuple[str, float, float, str, str]]:
    if not isinstance(table, dict):
        raise ConfigError(path, f"[{mode}] must be a table with kg_co2e_per_km and source")
    bands = table.get("bands", [{**table, "from_km": 0}])
    if not isinstance(bands, list) or not bands:
        raise ConfigError(path, f"[{mode}] bands must be a list of tables")
    rows = []
    for band in bands:
        if not isinstance(band, dict):
            raise ConfigError(path, f"[{mode}] bands must be a list of tables")
        factor = _number(path, mode, band, "kg_co2e_per_km")
        start = _number(path, mode, band, "from_km")
        source = band.get("source", table.get("source"))
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(path, f"[{mode}] needs a source: say where its factor comes from")
        rows.append((mode, start, factor, source, str(path)))
    return rows


def _number(path: Path, mode: str, table: dict[str, Any], key: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(path, f"[{mode}] {key} must be a number >= 0, not {value!r}")
    return float(value)
