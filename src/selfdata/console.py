"""What every `selfdata` command prints through: plain text, quiet tables, the chosen vault.

Output is plain text, never rich console markup: paths and messages hold
[brackets] (`[[reports]]`, `[importers.bank_csv]`) that markup would eat. When
not on a terminal it is wide, so piped output and tests see whole lines.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["command_vault", "plain_console", "quiet_table"]


def plain_console(*, stderr: bool = False) -> Console:
    """A console printing plain text; 160 columns wide when not on a terminal."""
    console = Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False, width=160)
    return console


def quiet_table(*columns: str, wrap: Collection[str] = (), right: Collection[str] = ()) -> Table:
    """A table with a rule under its header; only the `wrap` columns may wrap."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(
            column, justify="right" if column in right else "left", no_wrap=column not in wrap
        )
    return table


def command_vault(ctx: click.Context) -> Path:
    """The vault a command works on: the root's `--vault`, else the default vault."""
    from selfdata.vault import resolve_vault_path  # loads DuckDB: only when a command runs

    root = ctx.find_root().obj
    vault = root.get("vault") if isinstance(root, dict) else None
    return vault if isinstance(vault, Path) else resolve_vault_path(None)
