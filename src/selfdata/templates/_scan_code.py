"""What the template scans share: `Finding`, and a notebook's code parsed as the kernel runs it.

`Program.of(nb)` takes the code cells of an nbformat v4 notebook and reads
them the way the kernel would: IPython's own input transformer first turns
`!cmd`, `%magic` and `%%cell` magics into `get_ipython()` calls
(https://ipython.readthedocs.io/en/stable/config/inputtransforms.html), then
`ast` parses the result. Nothing is run or imported. The program then knows,
across all cells, which names imports bind (`pl` → "polars"), which values
assignments and `for` loops give a name, and each node's parent, so the
checks can ask what an expression names (`path_of`) or which strings it can
be (`strings`, `elements`).

Its limits are those of reading code without running it: a value is known
only when the code writes it as a literal, an assignment of one, a loop over
a literal list, or `+` and f-strings of those (64 combinations at most, 8
steps deep); anything else is unknown (None), and each check decides what an
unknown means. A cell that does not parse has no tree (`Cell.tree is None`).

The small helpers every check uses live here too: the ordering of findings,
excerpts cut short, tables of names written as one string.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import product
from math import prod
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One thing a scan found: which check, where in the notebook, and what to do."""

    check: str
    where: str
    message: str


@dataclass(frozen=True)
class Cell:
    """One code cell: its number among all cells (from 1) and its syntax tree, or why none."""

    number: int
    tree: ast.Module | None
    error: str = ""
    error_line: int = 1


@dataclass(frozen=True)
class _Binding:
    """One place a name gets a value: `value`, each element of `each`, or unknown (both None)."""

    cell: int
    value: ast.expr | None = None
    each: ast.expr | None = None


@dataclass
class Program:
    """A notebook's code cells parsed as the kernel would, with names and their values."""

    cells: list[Cell]
    aliases: dict[str, str] = field(default_factory=dict)
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    @classmethod
    def of(cls, nb: Any) -> Program:
        """The code cells of `nb`, parsed, with every import, binding and parent recorded."""
        cells = [
            parse_cell(number, cell_source(cell))
            for number, cell in enumerate(nb.cells, 1)
            if cell.cell_type == "code"
        ]
        program = cls(cells)
        for number, tree in program.parsed():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    program.parents[child] = node
            program._bind(number, tree)
        program._alias_assignments()
        return program

    def parsed(self) -> list[tuple[int, ast.Module]]:
        return [(cell.number, cell.tree) for cell in self.cells if cell.tree is not None]

    def nodes(self) -> Iterator[tuple[int, ast.AST]]:
        for number, tree in self.parsed():
            for node in ast.walk(tree):
                yield number, node

    def calls(self) -> Iterator[tuple[int, ast.Call]]:
        for number, node in self.nodes():
            if isinstance(node, ast.Call):
                yield number, node

    def imports(self) -> Iterator[tuple[int, ast.stmt, str, str]]:
        """(cell, statement, local name, dotted path) of every name an import binds."""
        for number, node in self.nodes():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    yield number, node, local, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    local = alias.asname or alias.name
                    path = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
                    yield number, node, local, path

    def qualified_names(self) -> Iterator[tuple[int, ast.expr, str, str]]:
        """(cell, node, dotted path, root name) of each outermost `a.b.c` rooted at an import."""
        for number, node in self.nodes():
            if isinstance(node, ast.Name | ast.Attribute) and not self._inside_chain(node):
                chain = _chain(node)
                if chain and chain[0] in self.aliases:
                    path = ".".join([self.aliases[chain[0]], *chain[1:]])
                    yield number, node, path, chain[0]

    def dynamic_imports(self) -> Iterator[tuple[int, ast.Call, str]]:
        """`importlib.import_module("x")` and `__import__("x")` with a literal name."""
        for number, call in self.calls():
            callee = self.path_of(call.func)
            literal = call.args and literal_text(call.args[0])
            if callee in ("importlib.import_module", "__import__") and literal:
                yield number, call, literal

    def ipython_calls(self) -> Iterator[tuple[int, ast.Call]]:
        """Calls `get_ipython().method(...)`: what `!cmd` and `%magic` lines became."""
        for number, call in self.calls():
            if _is_magic(call):
                yield number, call

    def string_expressions(self) -> Iterator[tuple[int, ast.expr]]:
        """Outermost expressions building a string: literals, f-strings, `+`, `%`, `.format()`."""
        for number, node in self.nodes():
            outermost = not any(renders(p) or _is_magic(p) for p in self._ancestors(node))
            if isinstance(node, ast.expr) and renders(node) and outermost:
                yield number, node

    def path_of(self, node: ast.AST) -> str | None:
        """The dotted path an expression names through imports (`sd.setup`), or a builtin's name."""
        chain = _chain(node)
        if not chain:
            return None
        if chain[0] in self.aliases:
            return ".".join([self.aliases[chain[0]], *chain[1:]])
        return chain[0] if len(chain) == 1 and chain[0] not in self.bindings else None

    def module_of(self, node: ast.AST) -> str | None:
        """The imported module or name an expression is (`pl` → "polars"), else None."""
        chain = _chain(node)
        return self.path_of(node) if chain and chain[0] in self.aliases else None

    def strings(self, node: ast.expr, depth: int = 0) -> set[str] | None:
        """Every value a string expression can have, when the code says so; else None."""
        if depth > 8:
            return None
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self._name_values(node, depth, self.strings)
        if isinstance(node, ast.IfExp):
            return _union(self.strings(node.body, depth + 1), self.strings(node.orelse, depth + 1))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parts = [self.strings(node.left, depth + 1), self.strings(node.right, depth + 1)]
            return _joined(parts)
        if isinstance(node, ast.JoinedStr):
            return _joined([self._part_strings(value, depth + 1) for value in node.values])
        return None

    def elements(self, node: ast.expr, depth: int = 0) -> set[str] | None:
        """Every string a loop over `node` can yield, when the code says so; else None."""
        if depth > 8:
            return None
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return _union(*(self.strings(e, depth + 1) for e in node.elts))
        if isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
            return _union(*(self.strings(k, depth + 1) for k in keys)) if keys else None
        if isinstance(node, ast.Name):
            return self._name_values(node, depth, self.elements)
        if isinstance(node, ast.Call) and node.args and not node.keywords:
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in ("list", "tuple", "set", "sorted", "reversed") and len(node.args) == 1:
                return self.elements(node.args[0], depth + 1)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "keys"
            and not node.args
        ):
            return self.elements(node.func.value, depth + 1)
        return None

    def values_of(self, node: ast.Name) -> list[tuple[int, ast.expr]] | None:
        """The expressions assigned to a name (cell, expr), or None if any assignment is opaque."""
        found = []
        for binding in self.bindings.get(node.id, []):
            if binding.value is None:
                return None
            found.append((binding.cell, binding.value))
        return found or None

    # --- private ---

    def _bind(self, number: int, tree: ast.Module) -> None:
        handled: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind_target(number, target, handled, value=node.value)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                self._bind_target(number, node.target, handled, value=node.value)
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                self._bind_target(number, node.target, handled, each=node.iter)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bindings.setdefault(node.name, []).append(_Binding(number))
            elif isinstance(node, ast.arg):
                self.bindings.setdefault(node.arg, []).append(_Binding(number))
            elif isinstance(node, ast.Import | ast.ImportFrom):
                self._bind_import(node)
        for node in ast.walk(tree):
            name = node if isinstance(node, ast.Name) else None
            if name and isinstance(name.ctx, ast.Store) and id(name) not in handled:
                self.bindings.setdefault(name.id, []).append(_Binding(number))

    def _bind_target(
        self,
        cell: int,
        target: ast.expr,
        handled: set[int],
        value: ast.expr | None = None,
        each: ast.expr | None = None,
    ) -> None:
        if isinstance(target, ast.Name):
            handled.add(id(target))
            self.bindings.setdefault(target.id, []).append(_Binding(cell, value, each))

    def _bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    self.aliases[root] = root
        elif node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _alias_assignments(self) -> None:
        """`o = os.system` makes `o` name `os.system` too (twice: chains of two)."""
        for _ in range(2):
            for name, bindings in self.bindings.items():
                if name in self.aliases or len(bindings) != 1 or bindings[0].value is None:
                    continue
                path = self.path_of(bindings[0].value)
                if path and "." in path:
                    self.aliases[name] = path

    def _name_values(self, node: ast.Name, depth: int, resolve: Any) -> set[str] | None:
        loop = self._enclosing_loop(node) if resolve == self.strings else None
        if loop is not None:
            return self.elements(loop, depth + 1)
        bindings = self.bindings.get(node.id)
        if not bindings:
            return None
        values: list[set[str] | None] = []
        for binding in bindings:
            if binding.value is not None:
                values.append(resolve(binding.value, depth + 1))
            elif binding.each is not None and resolve == self.strings:
                values.append(self.elements(binding.each, depth + 1))
            else:
                return None
        return _union(*values)

    def _enclosing_loop(self, node: ast.Name) -> ast.expr | None:
        """The iterable of the innermost loop or comprehension binding `node`'s name."""
        child: ast.AST = node
        for parent in self._ancestors(node):
            if (
                isinstance(parent, ast.For | ast.AsyncFor)
                and child is not parent.iter
                and _binds(parent.target, node.id)
            ):
                return parent.iter
            if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                for generator in parent.generators:
                    if _binds(generator.target, node.id):
                        return generator.iter
            child = parent
        return None

    def _ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def _inside_chain(self, node: ast.AST) -> bool:
        parent = self.parents.get(node)
        return isinstance(parent, ast.Attribute) and parent.value is node

    def _part_strings(self, value: ast.expr, depth: int) -> set[str] | None:
        if isinstance(value, ast.FormattedValue):
            return self.strings(value.value, depth) if value.format_spec is None else None
        return self.strings(value, depth)


def parse_cell(number: int, source: str) -> Cell:
    """The cell parsed as the kernel would run it; a `SyntaxError` becomes `Cell.error`."""
    code = _kernel_code(source)
    try:
        return Cell(number, ast.parse(code))
    except SyntaxError as error:
        return Cell(number, None, error.msg, error.lineno or 1)


def renders(node: ast.AST) -> bool:
    """True for the expressions that build a string: literals, f-strings, `+`, `%`, `.format()`."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return renders(node.left) or (isinstance(node.op, ast.Add) and renders(node.right))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and renders(node.func.value)
    )


def literal_text(node: ast.expr) -> str:
    """The text of a string literal; "" for anything else."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def magic_call(call: ast.Call) -> tuple[str, list[str]]:
    """The method and literal arguments of `get_ipython().method(...)` ("" where not literal)."""
    method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    return method, [literal_text(a) for a in call.args]


def cell_source(cell: Any) -> str:
    """A notebook cell's source as one string (nbformat allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """By cell and line, each finding once."""

    def key(finding: Finding) -> tuple[int, int, str]:
        numbers = [int(n) for n in re.findall(r"\d+", finding.where)] + [0, 0]
        return numbers[0], numbers[1], finding.message

    return sorted(dict.fromkeys(findings), key=key)


def short(text: str, limit: int = 60) -> str:
    """`text` on one line, cut to `limit` characters with "…": an excerpt for a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def line_at(text: str, offset: int) -> int:
    """The line, from 1, of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


def words(text: str) -> frozenset[str]:
    """A table of names written as one string, split on whitespace."""
    return frozenset(text.split())


def rules(groups: dict[str, str]) -> dict[str, str]:
    """{problem: "name name..."} turned round: {name: problem}."""
    return {name: problem for problem, names in groups.items() for name in names.split()}


def _kernel_code(source: str) -> str:
    """The cell as the kernel runs it: IPython's transforms applied (magics → get_ipython())."""
    try:
        code: str = _transformer().transform_cell(source)
    except (SyntaxError, ValueError):
        return source
    return code


@cache
def _transformer() -> Any:
    # Imported here: IPython takes a tenth of a second to import.
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()  # type: ignore[no-untyped-call] # IPython is untyped


def _is_magic(node: ast.AST) -> bool:
    """True for `get_ipython().method(...)`: what `!cmd` and `%magic` lines become."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and _chain(node.func.value.func) == ["get_ipython"]
    )


def _binds(target: ast.expr, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


def _chain(node: ast.AST) -> list[str]:
    """`a.b.c` as ["a", "b", "c"]; empty when it is not a plain dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return []
    return [node.id, *reversed(parts)]


def _union(*sets: set[str] | None) -> set[str] | None:
    """All the values, or None when any part is unknown."""
    found: set[str] = set()
    for values in sets:
        if values is None:
            return None
        found |= values
    return found if sets else None


def _joined(parts: list[set[str] | None]) -> set[str] | None:
    """Every concatenation of one value from each part; None if unknown or past 64."""
    known = [part for part in parts if part is not None]
    if len(known) < len(parts) or prod(len(part) for part in known) > 64:
        return None
    return {"".join(combo) for combo in product(*known)}
