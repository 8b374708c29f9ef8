"""What SQL a template runs, and whether it reads only the canonical tables it declares.

A template reads the vault through SQL, and `template.toml` declares which
tables (`tables = [...]`). This check finds that SQL and says which tables it
reads: the canonical tables of docs/schema.md plus `imports`, the provenance
table, are readable once declared; `schema_migrations` and `rendered_reports`
are the vault's bookkeeping, not data; files, URLs, other databases,
extensions and statements other than SELECT reach past the vault.

SQL is any string passed to `.sql()`, `.execute()`, `.query()` (and the
like), to `selfdata.analytics.query`, `pandas.read_sql` or
`polars.read_database`, to `%sql` / `%%sql` magics, and any other string
literal that starts like a statement and parses as one. It is parsed by
DuckDB's own parser (`extract_statements`, then `json_serialize_sql` for the
syntax tree: https://duckdb.org/docs/stable/data/json/sql_to_and_from_json),
never by a regex, on an in-memory connection with external access off that
runs nothing. f-strings, `+`, `%` and `.format()` become placeholders
(`__sd_1__`); a placeholder where a table name goes is resolved through
literal assignments and `for name in [...]` loops (see `Program.strings`), or
is a finding. The template-API helpers that return SQL (`local_day_sql`...)
are called with their literal arguments to get their text.

A name bound as a Python variable in the notebook is a DataFrame DuckDB reads
by replacement scan, not a table, unless it is a vault table name. SQL given
to another library (`pl.sql(...)` over DataFrames) is not the vault's and is
left alone. Limits: SQL built in ways the code does not spell out (read from
a file, joined in a loop) is reported as unreadable rather than checked.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations, islice, product
from typing import Any

from selfdata.schema import CANONICAL_TABLES
from selfdata.templates._scan_api import api_value
from selfdata.templates._scan_code import (
    Finding,
    Program,
    magic_call,
    renders,
    rules,
    short,
    words,
)

READABLE_TABLES: tuple[str, ...] = (*CANONICAL_TABLES, "imports")
"""What a template may read: the canonical tables and the `imports` provenance."""

BOOKKEEPING_TABLES = ("schema_migrations", "rendered_reports")
"""Vault tables that are not data: reading them is a finding."""

_QUERY_METHODS = words("sql execute executemany query from_query query_df")
_TABLE_METHODS = words("table view from_table")
_READER_METHODS = words(
    "read_csv read_csv_auto read_json read_json_auto read_parquet from_csv_auto from_parquet "
    "install_extension load_extension register_filesystem"
)
_QUERY_FUNCTIONS = {
    "selfdata.analytics.query": 1,
    "pandas.read_sql": 0,
    "pandas.read_sql_query": 0,
    "polars.read_database": 0,
}
# Pure functions of the template API that return SQL text: with literal arguments
# their text is known, so what it reads is checked rather than left as a placeholder.
_SQL_HELPERS = {
    "selfdata.reports.notebook.local_day_sql",
    "selfdata.analytics.source_rank_sql",
    "selfdata.analytics.islands_sql",
    "selfdata.analytics.categories.merchant_sql",
    "selfdata.analytics.categories.normalise_merchant_sql",
    "selfdata.analytics.spending.normalise_merchant_sql",
}
_SQL_CONSTANTS = {"selfdata.analytics.LOCAL_DAY"}
_SQL_START = re.compile(
    r"(?is)^\s*\(?\s*(?:select|with|from|attach|detach|copy|install|load|pragma|call|export|"
    r"import\s+database|create|insert|update|delete|drop|alter|set|reset|use|describe|show|"
    r"summarize|pivot|unpivot|explain|values|checkpoint|vacuum)\b"
)
# Outside a query call a string is taken for SQL only if it starts like this and parses:
# "Show the rest", "from a watch" or "Install it" are sentences, not statements.
_SQL_SURELY = re.compile(
    r"(?is)^\s*\(?\s*(?:select|with|attach|detach|copy|pragma|export\s+database|create|insert|"
    r"update|delete|drop|alter|pivot|unpivot|from\b.*\bselect)\b"
)
_FILE_FUNCTIONS = words(
    "read_csv read_csv_auto sniff_csv read_parquet parquet_scan parquet_metadata parquet_schema "
    "parquet_file_metadata parquet_kv_metadata read_json read_json_auto read_json_objects "
    "read_json_objects_auto read_ndjson read_ndjson_auto read_ndjson_objects read_text read_blob "
    "read_xlsx glob st_read iceberg_scan delta_scan sqlite_scan sqlite_attach postgres_scan "
    "postgres_attach mysql_scan getenv"
)
_DYNAMIC_SQL_FUNCTIONS = {"query", "query_table"}
_HARMLESS_TABLE_FUNCTIONS = {"range", "generate_series", "unnest", "json_each", "json_tree"}
_REMOTE = re.compile(r"(?i)^\s*(?:https?|ftp|s3a?|gcs|gs|r2|az|abfss|hf|file):|^\s*//|://")
_PLACEHOLDER = re.compile(r"__sd_(\d+)__")
_STATEMENT_PROBLEMS = rules(
    {
        "which reaches another database": "ATTACH DETACH",
        "which copies data to or from files": "COPY EXPORT",
        "which installs or loads a DuckDB extension": "LOAD",
        "which changes DuckDB's settings": "SET VARIABLE_SET PRAGMA",
        "which changes the vault": "INSERT UPDATE DELETE CREATE DROP ALTER",
    }
)

_OUTSIDE = "files, the network or other databases; templates read only the vault's tables"
_ONLY_CANONICAL = "templates read only the canonical tables of docs/schema.md and `imports`"


def table_findings(program: Program, declared: tuple[str, ...]) -> list[Finding]:
    """Every problem with the SQL the program runs, given the tables template.toml declares."""
    reader = _SqlReader(program, declared)
    for cell, call in program.calls():
        reader.check_call(cell, call)
    for cell, node in program.string_expressions():
        reader.check_string(cell, node)
    for cell, call in program.ipython_calls():
        reader.check_sql_magic(cell, call)
    reader.con.close()
    return reader.found


@dataclass
class _Sql:
    """A string expression as text, each unknown part a placeholder `__sd_N__`."""

    text: str
    parts: dict[str, ast.expr]
    line: int
    exact_lines: bool

    def line_at(self, text: str, offset: int) -> int:
        """The notebook line of `offset` in `text`, when the literal's lines are the SQL's."""
        return self.line + (text.count("\n", 0, offset) if self.exact_lines else 0)


class _SqlReader:
    """Finds the SQL in a program and checks what each statement reads."""

    def __init__(self, program: Program, declared: tuple[str, ...]) -> None:
        import duckdb

        self.program = program
        self.declared = {t.lower() for t in declared}
        self.found: list[Finding] = []
        self.checked: set[int] = set()
        # Only the parser is used; nothing is ever executed against this connection.
        self.con = duckdb.connect(":memory:", config={"enable_external_access": False})
        self.python_names = set(program.bindings) | set(program.aliases)

    def check_call(self, cell: int, call: ast.Call) -> None:
        func = call.func
        path = self.program.path_of(func)
        method = func.attr if isinstance(func, ast.Attribute) else ""
        # `pl.sql(...)`, `pd.read_csv(...)`: a module other than DuckDB is not the vault.
        module = self.program.module_of(func.value) if isinstance(func, ast.Attribute) else None
        on_duckdb = module is None or module.startswith("duckdb")
        if path in _QUERY_FUNCTIONS:
            self._query_argument(cell, call, _QUERY_FUNCTIONS[path])
        elif method in _QUERY_METHODS and on_duckdb:
            self._query_argument(cell, call, 0)
        elif method in _TABLE_METHODS and call.args:
            for name in self.program.strings(call.args[0]) or ():
                self._table_name(cell, call.lineno, "", "", name)
        elif method in _READER_METHODS and on_duckdb:
            self._finding(cell, call.lineno, f"calls .{method}(), which reaches {_OUTSIDE}")

    def check_string(self, cell: int, node: ast.expr) -> None:
        call = self.program.parents.get(node)
        if isinstance(call, ast.Call) and node in call.args:
            # `pl.sql("... FROM frame")`: another library's SQL over DataFrames.
            module = self.program.module_of(call.func)
            if module and not module.startswith(("duckdb", "selfdata")):
                return
        if id(node) not in self.checked:
            self.checked.add(id(node))
            self._check_sql(cell, node, strict=False)

    def check_sql_magic(self, cell: int, call: ast.Call) -> None:
        """`%sql ...` and `%%sql` cells (jupysql) run SQL too."""
        method, args = magic_call(call)
        if method == "run_cell_magic" and len(args) == 3 and args[0] == "sql":
            # The body starts on the line after `%%sql`.
            self._check_text(cell, _Sql(args[2], {}, 2, True), strict=True)
        elif method == "run_line_magic" and len(args) == 2 and args[0] == "sql":
            self._check_text(cell, _Sql(args[1], {}, call.lineno, False), strict=True)

    # --- private ---

    def _query_argument(self, cell: int, call: ast.Call, index: int) -> None:
        argument = self._sql_argument(call, index)
        if argument is None:
            return
        if renders(argument):
            self.checked.add(id(argument))
            self._check_sql(cell, argument, strict=True)
            return
        values = self.program.values_of(argument) if isinstance(argument, ast.Name) else None
        if values and all(renders(v) for _, v in values):
            for value_cell, value in values:
                self.checked.add(id(value))
                self._check_sql(value_cell, value, strict=True)
            return
        self._finding(
            cell,
            call.lineno,
            f"runs SQL built at run time (`{short(ast.unparse(argument))}`), which the check "
            "cannot read; write the query as a string literal in the call",
        )

    def _sql_argument(self, call: ast.Call, index: int) -> ast.expr | None:
        for keyword in call.keywords:
            if keyword.arg in ("query", "sql", "sql_query"):
                return keyword.value
        return call.args[index] if len(call.args) > index else None

    def _check_sql(self, cell: int, node: ast.expr, *, strict: bool) -> None:
        sql = _Sql("", {}, getattr(node, "lineno", 1), False)
        sql.text = self._render(node, sql)
        lines = getattr(node, "end_lineno", sql.line) - sql.line
        sql.exact_lines = lines == sql.text.count("\n")
        self._check_text(cell, sql, strict=strict)

    def _render(self, node: ast.expr, sql: _Sql) -> str:
        """`node` as text: literal parts as they are, everything else as a placeholder."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(
                self._placeholder(v.value, sql)
                if isinstance(v, ast.FormattedValue)
                else self._render(v, sql)
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._render(node.left, sql) + self._render(node.right, sql)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and renders(node.left):
            text = self._render(node.left, sql).replace("%%", "\0")
            text = re.sub(
                r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgG]",
                lambda _: self._placeholder(node.right, sql),
                text,
            )
            return text.replace("\0", "%")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and renders(node):
            text = self._render(node.func.value, sql).replace("{{", "\0").replace("}}", "\1")
            text = re.sub(r"\{[^{}]*\}", lambda _: self._placeholder(node, sql), text)
            return text.replace("\0", "{").replace("\1", "}")
        return self._placeholder(node, sql)

    def _placeholder(self, node: ast.expr, sql: _Sql) -> str:
        known = self._helper_text(node)
        if known is not None:
            return known
        name = f"__sd_{len(sql.parts) + 1}__"
        sql.parts[name] = node
        return name

    def _helper_text(self, node: ast.expr) -> str | None:
        """The SQL a template-API helper returns for literal arguments, else None."""
        path = self.program.path_of(node.func if isinstance(node, ast.Call) else node)
        if path in _SQL_CONSTANTS and not isinstance(node, ast.Call):
            return str(api_value(path))
        if not isinstance(node, ast.Call) or path not in _SQL_HELPERS:
            return None
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            return None
        if not all(isinstance(v, str) for v in [*args, *kwargs.values()]):
            return None
        try:
            return str(api_value(path)(*args, **kwargs))
        except (TypeError, ValueError, KeyError):
            return None

    def _check_text(self, cell: int, sql: _Sql, *, strict: bool) -> None:
        looks_like_sql = bool(_SQL_START.match(sql.text))
        if not strict and not _SQL_SURELY.match(sql.text):
            return
        parsed = self._statements(sql)
        if parsed is None:
            if strict and looks_like_sql:
                self._finding(
                    cell,
                    sql.line,
                    f"runs SQL that DuckDB cannot parse (`{short(sql.text)}`), so the check "
                    "cannot see what it reads; write the table names into the SQL",
                )
            return
        text, statements = parsed
        for offset, kind, tree in statements:
            line = sql.line_at(text, offset)
            if tree is None and kind == "SELECT":
                self._finding(
                    cell, line, "runs a query the check cannot follow; write it as a plain SELECT"
                )
            elif tree is None:
                verb = text[offset:].split(None, 1)[0].upper() if text[offset:].strip() else kind
                problem = _STATEMENT_PROBLEMS.get(kind, "which the check cannot follow")
                self._finding(
                    cell, line, f"runs {verb}, {problem}; templates only read the vault with SELECT"
                )
            else:
                refs: list[tuple[str, Any, int]] = []
                _sql_refs(tree, frozenset(), refs)
                for what, ref, at in refs:
                    self._reference(cell, sql.line_at(text, offset + at), sql, what, ref)

    def _statements(self, sql: _Sql) -> tuple[str, list[tuple[int, str, Any]]] | None:
        """The text parsed, and (offset, type, syntax tree or None) of each statement in it.

        None when no variant of the text (see `_variants`) parses.
        """
        import duckdb

        for text in _variants(sql):
            try:
                statements = self.con.extract_statements(text)
            except duckdb.Error:
                continue
            parsed = []
            cursor = 0
            for statement in statements:
                offset = max(text.find(statement.query.strip(), cursor), cursor)
                cursor = offset
                parsed.append((offset, statement.type.name, self._tree(statement.query)))
            return text, parsed
        return None

    def _tree(self, statement: str) -> Any:
        rows = self.con.execute("SELECT json_serialize_sql(?)", [statement]).fetchall()
        tree = json.loads(rows[0][0])
        return None if tree.get("error") else tree["statements"]

    def _reference(self, cell: int, line: int, sql: _Sql, what: str, ref: Any) -> None:
        if what == "table":
            catalog, schema, name = ref
            for resolved in self._resolved(cell, line, sql, name):
                self._table_name(cell, line, catalog, schema, resolved)
        elif what == "table function":
            for name in self._resolved(cell, line, sql, ref):
                self._table_function(cell, line, name)
        elif what == "function" and ref.lower() == "getenv":
            self._finding(
                cell,
                line,
                "calls getenv(), which reads environment variables; "
                "templates read only the vault's tables",
            )
        elif what == "function" and ref.lower() in _FILE_FUNCTIONS:
            self._finding(cell, line, f"calls {ref}(), which reaches {_OUTSIDE}")
        elif what == "catalog":
            self._finding(cell, line, f"lists the database catalog ({ref}); {_ONLY_CANONICAL}")
        elif what == "url":
            self._finding(
                cell,
                line,
                f"names the remote address '{short(ref, 40)}'; templates read only the vault",
            )

    def _resolved(self, cell: int, line: int, sql: _Sql, name: str) -> list[str]:
        """`name` with placeholders replaced by each value the code gives them."""
        keys = list(dict.fromkeys(_PLACEHOLDER.findall(name)))
        if not keys:
            return [name]
        choices = []
        for key in keys:
            node = sql.parts.get(f"__sd_{key}__")
            values = self.program.strings(node) if node is not None else None
            if values is None:
                shown = ast.unparse(node) if node is not None else "?"
                self._finding(
                    cell,
                    line,
                    f"reads a table named at run time (`{short(shown)}`); write the table's "
                    "name in the SQL, or loop over a literal list of names, so the check can "
                    "see it",
                )
                return []
            choices.append(sorted(values))
        names = []
        for combo in product(*choices):
            text = name
            for key, value in zip(keys, combo, strict=True):
                text = text.replace(f"__sd_{key}__", value)
            names.append(text)
        return names

    def _table_name(self, cell: int, line: int, catalog: str, schema: str, name: str) -> None:
        table = name.lower()
        qualified = ".".join(p for p in (catalog, schema, name) if p)
        if catalog or schema.lower() not in ("", "main"):
            self._finding(
                cell, line, f"reads {qualified}, which is not a canonical table; {_ONLY_CANONICAL}"
            )
        elif table in READABLE_TABLES:
            if table not in self.declared:
                self._finding(
                    cell,
                    line,
                    f"reads {table}, which template.toml does not declare; add it to `tables`",
                )
        elif table in BOOKKEEPING_TABLES:
            self._finding(
                cell, line, f"reads {table}, the vault's bookkeeping, not data; {_ONLY_CANONICAL}"
            )
        elif re.search(r"[./\\:]", name):
            self._finding(
                cell,
                line,
                f"reads the file '{short(name, 40)}' through DuckDB, which reaches {_OUTSIDE}",
            )
        elif name not in self.python_names:
            self._finding(
                cell, line, f"reads {name}, which is not a canonical table; {_ONLY_CANONICAL}"
            )

    def _table_function(self, cell: int, line: int, name: str) -> None:
        function = name.lower()
        if function in _HARMLESS_TABLE_FUNCTIONS:
            return
        if function in _FILE_FUNCTIONS:
            problem = f"calls {name}(), which reaches {_OUTSIDE}"
        elif function in _DYNAMIC_SQL_FUNCTIONS:
            problem = f"calls {name}(), which runs SQL built at run time; {_ONLY_CANONICAL}"
        else:
            problem = f"calls the table function {name}(), which is not a canonical table; " + (
                _ONLY_CANONICAL
            )
        self._finding(cell, line, problem)

    def _finding(self, cell: int, line: int, message: str) -> None:
        self.found.append(Finding("tables", f"cell {cell}, line {line}", message))


def _variants(sql: _Sql) -> Iterator[str]:
    """`sql.text` with its placeholders as identifiers (where a table name goes), then
    fewest first as numbers (`INTERVAL 3 DAY`), then all as strings: 65 tries at most."""
    names = list(sql.parts)
    numbered = (c for count in range(len(names) + 1) for c in combinations(names, count))
    for numbers in islice(numbered, 64):
        yield _numbered(sql.text, set(numbers))
    yield _PLACEHOLDER.sub("'x'", sql.text)


def _numbered(text: str, numbers: set[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: "1" if m[0] in numbers else m[0], text)


def _sql_refs(node: Any, scope: frozenset[str], out: list[tuple[str, Any, int]]) -> None:
    """Collect what a DuckDB syntax tree reads, (what, name, offset): tables (not CTEs),
    functions, URLs."""
    if isinstance(node, list):
        for item in node:
            _sql_refs(item, scope, out)
        return
    if not isinstance(node, dict):
        return
    ctes = (node.get("cte_map") or {}).get("map") or []
    for entry in ctes:
        body = entry["value"]["query_node"]
        # A CTE sees the ones before it; a recursive one sees itself too.
        own = {entry["key"].lower()} if body.get("type") == "RECURSIVE_CTE_NODE" else set()
        _sql_refs(body, scope | own, out)
        scope = scope | {entry["key"].lower()}
    kind = node.get("type")
    at = node.get("query_location", 0)
    at = at if isinstance(at, int) and at < 2**63 else 0  # 2**64 - 1 means "nowhere"
    if kind == "BASE_TABLE":
        catalog, schema, name = node["catalog_name"], node["schema_name"], node["table_name"]
        if catalog or schema or name.lower() not in scope:
            out.append(("table", (catalog, schema, name), at))
    elif kind == "TABLE_FUNCTION":
        out.append(("table function", node["function"]["function_name"], at))
        _sql_refs(node["function"].get("arguments"), scope, out)
        return
    elif kind == "SHOW_REF" and node.get("query") is None:
        out.append(("catalog", f"SHOW {node.get('table_name', '').strip(chr(34))}", at))
    elif node.get("class") == "FUNCTION":
        out.append(("function", node["function_name"], at))
    elif node.get("class") == "CONSTANT":
        literal = node.get("literal") or {}
        text = literal.get("text") if isinstance(literal, dict) else None
        if isinstance(text, str) and _REMOTE.search(text):
            out.append(("url", text, at))
    for key, value in node.items():
        if key != "cte_map":
            _sql_refs(value, scope, out)
