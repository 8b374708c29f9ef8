"""A tiny importer used only by the tests: a line format that exercises the engine.

    #tally v1
    account,ACCOUNT_ID,INSTITUTION
    tx,ACCOUNT_ID,DATE,AMOUNT,DESCRIPTION
    steps,START,END,COUNT,SOURCE
    boom                 raise after the rows before it were yielded

Option `currency` (selfdata.toml or `--option`) sets the transactions' currency.

Any other line is rejected with its line number. Rows are yielded two at a time
so that one file makes several batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from selfdata.importers.base import Batch, Source

name = "tally"
version = "1"
patterns = ("*.tally",)
tables = ("accounts", "transactions", "health_samples")


def detect(head: bytes, filename: str) -> bool:
    return head.startswith(b"#tally v1")


def read(source: Source) -> Iterator[Batch]:
    with source.open() as stream:
        lines = stream.read().decode("utf-8").splitlines()
    pending: list[tuple[str, dict[str, object]]] = []
    for number, line in enumerate(lines[1:], start=2):
        kind, *fields = line.split(",")
        if kind == "boom":
            yield from _flush(pending)
            raise RuntimeError("the tally importer was told to fail")
        row = _row(kind, fields)
        if row is not None and row[0] == "transactions" and "currency" in source.options:
            row[1]["currency"] = source.options["currency"]
        if row is None:
            source.reject("transactions", f"unknown line kind {kind!r}", number)
            continue
        pending.append(row)
        if len(pending) == 2:
            yield from _flush(pending)
    yield from _flush(pending)


def _row(kind: str, fields: list[str]) -> tuple[str, dict[str, object]] | None:
    if kind == "account":
        return "accounts", {"account_id": fields[0], "institution": fields[1]}
    if kind == "tx":
        account, day, amount, description = fields
        return "transactions", {
            "account_id": account,
            "booked_date": day,
            "amount": amount,
            "description": description,
        }
    if kind == "steps":
        start, end, count, source_name = fields
        return "health_samples", {
            "metric": "steps",
            "start_at": start,
            "end_at": end,
            "value": float(count),
            "unit": "count",
            "source_name": source_name,
        }
    return None


def _flush(pending: list[tuple[str, dict[str, object]]]) -> Iterator[Batch]:
    by_table: dict[str, list[dict[str, object]]] = {}
    for table, row in pending:
        by_table.setdefault(table, []).append(row)
    pending.clear()
    for table, rows in by_table.items():
        yield Batch(table, pa.Table.from_pylist(rows))
