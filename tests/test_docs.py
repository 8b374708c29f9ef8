"""Docs that must match the code: every column and natural key in docs/schema.md."""

from __future__ import annotations

import re
from pathlib import Path

from selfdata import open_vault
from selfdata.schema import NATURAL_KEYS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def documented_columns() -> dict[str, dict[str, str]]:
    """{table: {column: type}} from the column tables of docs/schema.md."""
    found: dict[str, dict[str, str]] = {}
    table = None
    for line in (DOCS / "schema.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\w+)$", line)
        if heading:
            table = heading[1]
            found[table] = {}
        row = re.match(r"^\| (\w+) \| ([A-Z][A-Z0-9(), ]*) \|", line)
        if table and row:
            found[table][row[1]] = row[2]
    return {table: columns for table, columns in found.items() if columns}


def test_schema_doc_lists_every_column_with_its_type(vault):
    with open_vault(vault, read_only=False) as con:
        actual: dict[str, dict[str, str]] = {}
        for table, column, kind in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall():
            actual.setdefault(table, {})[column] = kind.replace(
                "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"
            )
    assert documented_columns() == actual


def test_schema_doc_states_each_natural_key():
    text = (DOCS / "schema.md").read_text(encoding="utf-8")
    for table, keys in NATURAL_KEYS.items():
        section = text.split(f"## {table}\n", 1)[1].split("\n## ", 1)[0]
        stated = re.search(r"Natural key: `([^`]+)`", section)
        assert stated, f"docs/schema.md does not state the natural key of {table}"
        assert tuple(stated[1].split(", ")) == keys, table


def test_architecture_doc_names_every_module():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    package = Path(__file__).resolve().parents[1] / "src" / "selfdata"
    for module in sorted(package.rglob("*.py")):
        name = module.relative_to(package).as_posix()
        if module.name != "__init__.py" and not name.startswith("importers/"):
            assert name in text, f"docs/architecture.md does not mention {name}"
