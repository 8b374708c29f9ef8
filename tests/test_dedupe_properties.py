"""Properties of dedupe, whatever the statements hold (hypothesis).

A statement is a multiset of transactions. Importing statements one after
another must leave, for every natural key, as many rows as the statement that
holds it most often: repeats inside one export survive, overlaps between
exports do not double, and the order of imports does not matter.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from selfdata import open_vault
from selfdata.importers import Registry
from selfdata.ingest import import_paths
from tests.plugins import tally

TRANSACTION = st.tuples(
    st.sampled_from(["2024-01-02", "2024-01-03"]),
    st.sampled_from(["-3.50", "-20.00", "1500.00"]),
    st.sampled_from(["Coffee", "Food", "Café, Zürich"]),
)
STATEMENTS = st.lists(st.lists(TRANSACTION, max_size=6), min_size=1, max_size=3)


def registry() -> Registry:
    built = Registry()
    built.register(tally, origin="tests")
    return built


def import_all(statements: list[list[tuple[str, str, str]]], folder: Path) -> Counter[tuple]:
    vault = folder / "selfdata.duckdb"
    for number, statement in enumerate(statements):
        lines = ["#tally v1"] + [f"tx,acc-1,{d},{a},{t.replace(',', ' ')}" for d, a, t in statement]
        path = folder / f"s{number}.tally"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        [result] = import_paths([path], vault=vault, registry=registry())
        assert result.status in {"imported", "already_imported"}, result.error
    if not vault.exists():
        return Counter()
    with open_vault(vault) as con:
        rows = con.execute(
            "SELECT booked_date::VARCHAR, amount::VARCHAR, description FROM transactions"
        ).fetchall()
    return Counter(rows)


def expected(statements: list[list[tuple[str, str, str]]]) -> Counter[tuple]:
    most: Counter[tuple] = Counter()
    for statement in statements:
        counts = Counter((d, f"{float(a):.2f}", t.replace(",", " ")) for d, a, t in statement)
        most |= counts  # Counter union keeps the maximum count per key
    return most


@settings(max_examples=20, deadline=None)
@given(STATEMENTS)
def test_each_key_keeps_its_largest_count_in_any_one_statement(statements):
    with tempfile.TemporaryDirectory() as folder:
        assert import_all(statements, Path(folder)) == expected(statements)


@settings(max_examples=10, deadline=None)
@given(STATEMENTS)
def test_import_order_does_not_matter(statements):
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        assert import_all(statements, Path(a)) == import_all(statements[::-1], Path(b))
