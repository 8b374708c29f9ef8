"""Risky operations in a template's code: ADVISORY, the sandbox is what keeps a template in place.

A report template should read the vault and draw; this check names what goes
beyond: network connections, other programs and shell escapes (`!cmd`,
`%%bash`), writing, moving or deleting files, reading files outside the vault,
environment variables, native code, unpickling, and the shapes that hide code
from a reader (`eval`/`exec`/`compile`/`__import__`, `exec` on decoded text,
`getattr` with a computed name, `sys.modules` and builtins tricks, dunder
attributes such as `__subclasses__`), magics, URLs, and cells that do not parse
(nothing in them can be checked).

Names are followed through imports and simple assignments (`o = os.system`;
see `Program.path_of`), so `from os import system as s` is still
`os.system`; a module flagged at its import is not flagged again at each use.

It is advisory because a scan cannot prove code safe: a name built at run
time, an object reached through another, a library that does the risky thing
inside an innocent-looking call. That is why the hiding shapes are findings
themselves, and why the sandbox, not this scan, keeps a non-curated template
in its place. What it flags may be harmless.
"""

from __future__ import annotations

import ast
import re

from selfdata.templates._scan_code import (
    Finding,
    Program,
    literal_text,
    magic_call,
    rules,
    short,
    words,
)

_NETWORK = "opens network connections"
_PROCESS = "runs other programs"
_WRITE = "writes, moves or deletes files"
_CODE = "runs code the scan cannot see"
_NATIVE = "calls native code"
_PICKLE = "loads pickled objects, which can run any code"
# Importing these is the finding: they exist to do the risky thing.
_RISKY_MODULES = rules(
    {
        _NETWORK: "socket socketserver ssl urllib.request urllib3 http.client http.server "
        "requests httpx aiohttp ftplib smtplib poplib imaplib telnetlib nntplib xmlrpc "
        "webbrowser websocket websockets paramiko pycurl zmq grpc boto3",
        _PROCESS: "subprocess pty multiprocessing",
        _WRITE: "shutil tempfile sqlite3",
        _CODE: "importlib builtins code codeop runpy",
        _NATIVE: "ctypes cffi",
        _PICKLE: "pickle marshal shelve dill cloudpickle joblib",
    }
)
# Using these names, called or not, is the finding; `name*` covers every name it begins.
_RISKY_PATHS = rules(
    {
        _PROCESS: "os.system os.popen os.exec* os.spawn* os.posix_spawn* os.fork* os.startfile "
        "os.kill asyncio.create_subprocess*",
        _NETWORK: "asyncio.open_connection asyncio.start_server asyncio.open_unix_connection",
        _WRITE: "os.remove os.unlink os.rmdir os.removedirs os.rename os.renames os.replace "
        "os.mkdir os.makedirs os.chmod os.chown os.link os.symlink os.truncate os.utime "
        "os.mkfifo os.open os.write numpy.save numpy.savez numpy.savetxt",
        "changes the working folder": "os.chdir",
        "reads environment variables, which can hold secrets": "os.environ os.environb os.getenv",
        "changes environment variables": "os.putenv",
        _PICKLE: "numpy.load pandas.read_pickle",
        "reads files outside the vault": "polars.read_csv polars.read_parquet polars.read_json "
        "polars.read_ndjson polars.read_excel polars.read_ipc polars.read_avro polars.read_delta "
        "polars.scan_* pandas.read_csv pandas.read_parquet pandas.read_json pandas.read_excel "
        "pandas.read_feather pandas.read_hdf pandas.read_html pandas.read_xml pandas.read_table "
        "pandas.read_fwf pandas.read_orc numpy.loadtxt numpy.genfromtxt numpy.fromfile",
        "reaches modules and objects behind the imports": "sys.modules gc.get_objects "
        "gc.get_referrers gc.get_referents sys._getframe",
        "changes how and where imports are found": "sys.meta_path sys.path_hooks sys.path",
        "watches other code as it runs": "sys.settrace sys.setprofile",
        "builds code objects": "types.CodeType types.FunctionType",
        "puts JavaScript or another page into the report": "IPython.display.Javascript "
        "IPython.display.display_javascript IPython.display.IFrame",
    }
)
_RISKY_BUILTINS = {
    "eval": "evaluates code built at run time",
    "exec": "runs code built at run time",
    "compile": "compiles code built at run time",
    "__import__": "imports a module by a computed name",
    "globals": "reaches the notebook's globals",
    "breakpoint": "stops in a debugger",
    "get_ipython": "runs IPython magics or shell commands",
    "__builtins__": "reaches the builtins behind the names",
    "__loader__": "reaches the module loader",
    "__spec__": "reaches the module loader",
}
_NAME_FUNCTIONS = words("getattr setattr delattr")
# Calls whose names say they decode or unpack: what hides code from a reader.
_DECODING = re.compile(r"(?i)decode|decompress|fromhex|unhexlify|a2b_|b64|b32|b85|a85")
_SAFE_DUNDERS = words("__name__ __doc__ __version__ __qualname__ __init__ __module__")
_PATH_WRITERS = words(
    "write_text write_bytes unlink touch mkdir rmdir symlink_to hardlink_to chmod lchmod"
)
_FILE_WRITERS = words(
    "write_csv write_parquet write_json write_ndjson write_excel write_ipc write_ipc_stream "
    "write_avro write_database write_delta write_iceberg sink_csv sink_parquet sink_ipc "
    "sink_ndjson to_csv to_parquet to_excel to_json to_pickle to_feather to_hdf to_sql to_stata "
    "savefig save tofile"
)
_FILE_KEYWORDS = {"file", "path", "path_or_buf", "fp", "fname", "filename", "excel_writer"}
_SHELL_MAGICS = words(
    "bash sh script sx system sc perl ruby python python2 python3 pypy powershell cmd"
)
_SAFE_MAGICS = words("matplotlib time timeit capture precision pinfo pinfo2")
_MAGIC_PROBLEMS = rules(
    {
        _CODE: "run load loadpy load_ext macro",
        _WRITE: "writefile save store logstart",
        "installs packages from the network": "pip conda",
        "changes the working folder": "cd",
        "reads or changes environment variables": "env",
        "puts raw HTML, SVG or JavaScript into the report": "html javascript js svg",
        "runs SQL through an extension": "sql",
    }
)
_URL = re.compile(r"(?i)\b(?:https?|ftp|wss?)://[^\s\"'<>)]+")


def risky_findings(program: Program) -> list[Finding]:
    """Every risky operation in the program, and every cell that does not parse."""
    found = [
        _risky(
            cell.number,
            cell.error_line,
            f"cell {cell.number} is not valid Python "
            f"({cell.error}), so nothing in it can be checked",
        )
        for cell in program.cells
        if cell.tree is None
    ]
    found += _risky_imports(program)
    found += _risky_names(program)
    found += _risky_calls(program)
    found += _risky_magics(program)
    return found


def _risky(cell: int, line: int, message: str) -> Finding:
    return Finding("risky", f"cell {cell}, line {line}", message)


def _risky_imports(program: Program) -> list[Finding]:
    found = []
    for cell, node, _, path in program.imports():
        problem = _prefix_rule(_RISKY_MODULES, path)
        if problem:
            found.append(_risky(cell, node.lineno, f"imports {path}, which {problem}"))
    return found


def _risky_names(program: Program) -> list[Finding]:
    """Risky dotted names and builtins, dunder attributes and URLs, wherever they appear."""
    found = []
    # A module flagged at its import is not flagged again at each use.
    imported = {path for *_, path in program.imports() if _prefix_rule(_RISKY_MODULES, path)}
    for cell, name, path, _ in program.qualified_names():
        problem = _prefix_rule(_RISKY_PATHS, path)
        if not problem and not any(path == m or path.startswith(m + ".") for m in imported):
            problem = _prefix_rule(_RISKY_MODULES, path)
        if problem:
            found.append(_risky(cell, name.lineno, f"uses {path}, which {problem}"))
    for cell, node in program.nodes():
        if isinstance(node, ast.Name) and _risky_builtin(program, node):
            shown = _builtin_shape(program, node)
            problem = _RISKY_BUILTINS[node.id]
            found.append(_risky(cell, node.lineno, f"uses {shown}, which {problem}"))
        elif isinstance(node, ast.Attribute) and _risky_dunder(node.attr):
            problem = f"reaches .{node.attr}, which can get around what the code appears to do"
            found.append(_risky(cell, node.lineno, problem))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [
                _risky(cell, node.lineno, f"names the address {short(url, 50)}, which it may fetch")
                for url in _URL.findall(node.value)
            ]
    return found


def _risky_builtin(program: Program, node: ast.Name) -> bool:
    """A risky builtin, not shadowed, and not the `get_ipython().x()` a magic became."""
    if node.id not in _RISKY_BUILTINS or node.id in program.bindings:
        return False
    call = program.parents.get(node)
    magic = isinstance(call, ast.Call) and isinstance(program.parents.get(call), ast.Attribute)
    return not (node.id == "get_ipython" and magic)


def _builtin_shape(program: Program, node: ast.Name) -> str:
    """`exec(base64.b64decode(...))` said as such: the shape of hidden code."""
    call = program.parents.get(node)
    if not isinstance(call, ast.Call) or call.func is not node:
        return node.id
    if node.id in ("eval", "exec", "compile"):
        for inner in ast.walk(call):
            if inner is not call and _DECODING.search(_called_name(inner)):
                return f"{node.id}() on decoded text ({short(ast.unparse(inner), 40)})"
    return f"{node.id}()"


def _called_name(node: ast.AST) -> str:
    """The last name of what is called: `b64decode` in `__import__("base64").b64decode(x)`."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _risky_calls(program: Program) -> list[Finding]:
    found = []
    for cell, call in program.calls():
        problem = _call_problem(program, call)
        if problem:
            found.append(_risky(cell, call.lineno, problem))
    return found


def _call_problem(program: Program, call: ast.Call) -> str | None:
    func = call.func
    path = program.path_of(func)
    if path in ("open", "io.open", "codecs.open") and call.args:
        return _open_problem(call.args[0], call.args[1:2], call)
    if path in _NAME_FUNCTIONS and len(call.args) > 1:
        return _name_problem(path, call.args[1])
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == "open" and _from_pathlib(program, func.value):
        return _open_problem(func.value, call.args[:1], call)
    if func.attr in _PATH_WRITERS or (
        func.attr in ("rename", "replace") and _from_pathlib(program, func.value)
    ):
        return f"calls .{func.attr}(), which {_WRITE}"
    if func.attr in _FILE_WRITERS and (
        call.args or any(k.arg in _FILE_KEYWORDS for k in call.keywords)
    ):
        return f"calls .{func.attr}(...), which writes a file"
    return None


def _name_problem(function: str, name_node: ast.expr) -> str | None:
    """`getattr(x, name)`: a computed name, or a dunder, hides what is reached."""
    name = literal_text(name_node)
    if not name:
        return f"calls {function}() with a computed name ({short(ast.unparse(name_node))})"
    if _risky_dunder(name):
        return f"calls {function}() for {name}, which can get around what the code appears to do"
    return None


def _open_problem(target: ast.expr, mode_args: list[ast.expr], call: ast.Call) -> str:
    """`open(target, mode)` or `Path(target).open(mode)`, said by what the mode allows."""
    mode_node = next((k.value for k in call.keywords if k.arg == "mode"), None)
    mode_node = mode_node or (mode_args[0] if mode_args else None)
    shown = short(ast.unparse(target))
    mode = "r" if mode_node is None else literal_text(mode_node)
    if not mode:
        return f"opens {shown} with a mode computed at run time"
    if set(mode) & set("wax+"):
        return f"opens {shown} for writing (mode '{mode}')"
    return f"opens {shown} for reading, outside the vault"


def _from_pathlib(program: Program, node: ast.expr) -> bool:
    """True when `node` is built from pathlib: `Path(...)`, `p / "x"` with `p = Path(...)`."""
    for inner in ast.walk(node):
        built: list[ast.expr] = [inner] if isinstance(inner, ast.Call) else []
        if isinstance(inner, ast.Name):
            built = [value for _, value in program.values_of(inner) or []]
        for value in built:
            callee = program.path_of(value.func) if isinstance(value, ast.Call) else None
            if (callee or "").startswith("pathlib."):
                return True
    return False


def _risky_magics(program: Program) -> list[Finding]:
    found = []
    for cell, call in program.ipython_calls():
        method, args = magic_call(call)
        problem = _magic_problem(method, args)
        if problem:
            found.append(_risky(cell, call.lineno, problem))
    return found


def _magic_problem(method: str, args: list[str]) -> str | None:
    if method in ("system", "getoutput"):
        return f"runs the shell command `!{short(args[0] if args else '?')}`"
    if method not in ("run_line_magic", "run_cell_magic") or not args:
        return f"calls get_ipython().{method}(), which {_RISKY_BUILTINS['get_ipython']}"
    name = args[0].lstrip("%")
    marks = "%%" if method == "run_cell_magic" else "%"
    if name in _SAFE_MAGICS:
        return None
    if name in _SHELL_MAGICS:
        return f"runs shell commands with {marks}{name}"
    problem = _MAGIC_PROBLEMS.get(name, "does what the scan cannot tell")
    return f"uses the magic {marks}{name}, which {problem}"


def _prefix_rule(table: dict[str, str], path: str) -> str | None:
    """The problem of the rule `path` falls under: `a.b` covers `a.b.c`; `a.b*` covers `a.bc`."""
    for rule, problem in table.items():
        if rule.endswith("*"):
            if path.startswith(rule[:-1]):
                return problem
        elif path == rule or path.startswith(rule + "."):
            return problem
    return None


def _risky_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and name not in _SAFE_DUNDERS
