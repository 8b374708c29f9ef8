"""The sandboxed kernel: templates that misbehave fail their run, real reports still render.

Each fixture in tests/data/sandbox/ is named after what it tries; a `how`
parameter picks the way. Every misbehaviour is tried with all layers, with
the kernel's layers alone (netns, Landlock, seccomp: no audit hook, no DuckDB
wrapper) and with the fallback alone (audit hook and DuckDB settings, as on
macOS), so each layer is shown to stop it by itself. A control run without
the sandbox shows each fixture really would do what it tries.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfdata.reports.errors import ReportError
from selfdata.reports.periods import parse_period
from selfdata.reports.render import render
from selfdata.reports.sample import write_sample_vault
from selfdata.templates import sandbox
from selfdata.templates._sandbox_kernel import Policy, apply_platform_layers
from selfdata.vault import open_vault

FIXTURES = Path(__file__).parent / "data" / "sandbox"
REPORT_FIXTURES = Path(__file__).parent / "data" / "reports"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
CURATED = ("data-coverage", "health", "mobility", "overview", "spending")
MONTH = parse_period("2026-06")
YEAR = parse_period("2025-07-01_2026-06-30")

KERNEL_LAYERS = frozenset({"netns", "landlock", "landlock-net", "seccomp"})
ALL = "all layers"
KERNEL = "kernel layers only"
FALLBACK = "fallback only"
DISABLED = {
    ALL: frozenset(),
    KERNEL: frozenset({"audit-hook", "duckdb"}),
    FALLBACK: frozenset(KERNEL_LAYERS),
}

REFUSED_NETWORK = "PermissionError: selfdata sandbox: templates may not open network connections"
LANDLOCK_DENIED = "[Errno 13] Permission denied"


@pytest.fixture(scope="module")
def empty_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("empty") / "selfdata.duckdb"
    open_vault(path, read_only=False).close()
    return path


@pytest.fixture(scope="module")
def sample_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "selfdata.duckdb"
    write_sample_vault(path)
    return path


@pytest.fixture
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the layers of `request.param` only (the test hook)."""
    chosen: str = request.param
    if chosen != FALLBACK and not set(sandbox.sandbox_layers()) >= KERNEL_LAYERS:
        pytest.skip(f"this platform lacks a kernel layer: {sandbox.sandbox_status().summary()}")
    monkeypatch.setattr(sandbox, "_disabled_layers", DISABLED[chosen])
    return chosen


def fails(name: str, vault: Path, out: Path, **parameters: str) -> str:
    """Render fixture `name` sandboxed; it must fail and publish nothing. Returns the error."""
    with pytest.raises(ReportError) as caught:
        render(FIXTURES / name, MONTH, out=out, vault=vault, parameters=parameters, sandbox=True)
    assert not out.exists()
    return str(caught.value)


def page(name: str, vault: Path, out: Path, *, sandboxed: bool = True, **parameters: str) -> str:
    render(FIXTURES / name, MONTH, out=out, vault=vault, parameters=parameters, sandbox=sandboxed)
    return out.read_text("utf-8")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- which layers ---------------------------------------------------------------------------


def test_every_layer_is_in_force_where_the_platform_has_it():
    layers = sandbox.sandbox_layers()
    assert {"clean-env", "duckdb", "audit-hook"} <= set(layers)
    assert layers == [layer for layer in sandbox.LAYERS if layer in layers]  # in order
    status = sandbox.sandbox_status()
    assert set(status.in_force) | set(status.missing) == set(sandbox.LAYERS)
    if sys.platform.startswith("linux") and not status.missing:
        assert status.summary() == (
            "sandbox: clean environment, network namespace, Landlock file rules, "
            "Landlock TCP rules, seccomp socket filter, DuckDB lock-down, audit hook"
        )


def test_layers_left_out_are_named_with_the_reason(monkeypatch):
    monkeypatch.setattr(sandbox, "_disabled_layers", DISABLED[FALLBACK])
    status = sandbox.sandbox_status()
    assert status.in_force == ("clean-env", "duckdb", "audit-hook")
    assert status.missing == dict.fromkeys(
        ["netns", "landlock", "landlock-net", "seccomp"], "disabled"
    )
    assert status.summary().startswith("sandbox: network namespace unavailable (disabled), ")
    assert status.summary().endswith("; using clean environment, DuckDB lock-down, audit hook")
    only_hook = sandbox.SandboxStatus(("audit-hook",), {"netns": "not on darwin"})
    assert only_hook.summary() == (
        "sandbox: network namespace unavailable (not on darwin); using the audit hook only"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="unshare is Linux's")
def test_a_launcher_that_cannot_unshare_says_why(tmp_path):
    # unshare(CLONE_NEWUSER) refuses a process with threads: the launcher checks first.
    code = (
        "import threading, time, json\n"
        "threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "from selfdata.templates._sandbox_kernel import Policy, apply_platform_layers\n"
        f"print(json.dumps(apply_platform_layers(Policy(('netns',), {str(tmp_path)!r}, "
        f"{str(tmp_path)!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == '{"netns": "the launcher runs 2 threads; unshare needs one"}'
    assert apply_platform_layers(Policy((), str(tmp_path), str(tmp_path))) == {}


def test_a_layer_failing_in_the_kernel_stops_every_cell(empty_vault, tmp_path, monkeypatch):
    if "netns" not in sandbox.sandbox_layers():
        pytest.skip("no network namespace here")
    # A sitecustomize starting a thread makes unshare impossible in the kernel only
    # (the probe ran before): the template must not run with less than promised.
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site_dir))
    error = fails("well-behaved", empty_vault, tmp_path / "r.html")
    assert error == (
        "report well-behaved failed in cell 2: PermissionError: selfdata sandbox: could not be "
        "set up (netns: the launcher runs 2 threads; unshare needs one); the template was not "
        'run (at `vault = ""`); nothing was written'
    )


# --- the network ---------------------------------------------------------------------------


@pytest.fixture
def unix_listener(tmp_path: Path) -> Iterator[tuple[str, list[bytes]]]:
    """A unix socket of the host (like the D-Bus session bus or an ssh agent)."""
    path = str(tmp_path / "agent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    received = _serve(server)
    yield path, received
    server.close()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP server on the host's 127.0.0.1: host:port, and what each connection sent."""
    server = socket.create_server(("127.0.0.1", 0))
    received = _serve(server)
    yield f"127.0.0.1:{server.getsockname()[1]}", received
    server.close()


def _serve(server: socket.socket) -> list[bytes]:
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                received.append(connection.recv(1024))

    threading.Thread(target=serve, daemon=True).start()
    return received


@pytest.mark.parametrize("how", ["socket", "unix"])
def test_control_without_the_sandbox_the_template_reaches_the_host(
    empty_vault, tmp_path, listener, unix_listener, how
):
    target, received = listener if how == "socket" else unix_listener
    page("opens-network", empty_vault, tmp_path / "r.html", sandboxed=False, how=how, target=target)
    assert received == [b"hello from the template"]


# Each way of connecting, and each layer stopping it on its own.
NETWORK_CASES = [
    (ALL, "socket"),
    (ALL, "urllib"),
    (ALL, "unix"),
    (KERNEL, "socket"),
    (KERNEL, "create_connection"),
    (KERNEL, "unix"),
    (FALLBACK, "create_connection"),
    (FALLBACK, "urllib"),
    (FALLBACK, "unix"),
]


@pytest.mark.parametrize(("mode", "how"), NETWORK_CASES, indirect=["mode"])
def test_opens_network_to_the_host_fails(empty_vault, tmp_path, listener, unix_listener, mode, how):
    target, received = unix_listener if how == "unix" else listener
    error = fails("opens-network", empty_vault, tmp_path / "r.html", how=how, target=target)
    assert "failed in cell 4" in error
    if mode == KERNEL:
        # Landlock's TCP rule, before the netns even; seccomp: no unix socket at all.
        assert LANDLOCK_DENIED in error
    else:
        assert REFUSED_NETWORK in error
    assert received == []


@pytest.mark.parametrize(
    ("mode", "how"), [(KERNEL, "urllib"), (ALL, "create_connection")], indirect=["mode"]
)
def test_opens_network_to_the_internet_fails(empty_vault, tmp_path, mode, how):
    error = fails("opens-network", empty_vault, tmp_path / "r.html", how=how, target="1.1.1.1:80")
    assert (LANDLOCK_DENIED if mode == KERNEL else REFUSED_NETWORK) in error


def test_the_network_namespace_alone_has_no_route_out(empty_vault, tmp_path, listener, monkeypatch):
    if "netns" not in sandbox.sandbox_layers():
        pytest.skip("no network namespace here")
    monkeypatch.setattr(
        sandbox, "_disabled_layers", frozenset({"audit-hook", "landlock-net", "seccomp"})
    )
    target, received = listener
    error = fails("opens-network", empty_vault, tmp_path / "r.html", how="socket", target=target)
    # The kernel's own loopback is up, but nothing of the host listens there.
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in error
    error = fails(
        "opens-network", empty_vault, tmp_path / "r.html", how="socket", target="1.1.1.1:80"
    )
    assert "OSError: [Errno 101] Network is unreachable" in error
    assert received == []


# --- writing -------------------------------------------------------------------------------


def test_control_without_the_sandbox_the_template_writes_outside(empty_vault, tmp_path):
    target = tmp_path / "outside" / "planted.txt"
    target.parent.mkdir()
    page(
        "writes-outside",
        empty_vault,
        tmp_path / "r.html",
        sandboxed=False,
        how="file",
        target=str(target),
    )
    assert target.read_text() == "written by a template"


WRITE_CASES = [
    (ALL, "file"),
    (ALL, "duckdb"),
    (KERNEL, "file"),
    (KERNEL, "vault"),
    (KERNEL, "duckdb"),
    (FALLBACK, "file"),
    (FALLBACK, "vault"),
    (FALLBACK, "duckdb"),
]


@pytest.mark.parametrize(("mode", "how"), WRITE_CASES, indirect=["mode"])
def test_writes_outside_its_folder_fails(empty_vault, tmp_path, mode, how):
    target = tmp_path / "outside" / "planted.txt"
    target.parent.mkdir()
    before = digest(empty_vault), empty_vault.stat().st_mtime_ns
    error = fails("writes-outside", empty_vault, tmp_path / "r.html", how=how, target=str(target))
    assert "failed in cell 4" in error
    if how == "duckdb" and mode != KERNEL:
        assert 'Cannot execute statement of type "CREATE" on database' in error  # read-only
    elif how == "duckdb":
        assert "Permission denied" in error  # Landlock: the vault is not writable
    elif mode == KERNEL:
        assert LANDLOCK_DENIED in error
    else:
        assert "PermissionError: selfdata sandbox: templates may only write inside their " in error
    assert not target.exists()
    assert (digest(empty_vault), empty_vault.stat().st_mtime_ns) == before
    assert not list(empty_vault.parent.glob("*.wal"))


# --- reading -------------------------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "dot-ssh" / "id_ed25519"
    path.parent.mkdir()
    path.write_text("PRIVATE-KEY-MATERIAL\n")
    return path


def test_control_without_the_sandbox_the_template_reads_the_secret(empty_vault, tmp_path, secret):
    shown = page(
        "reads-secret",
        empty_vault,
        tmp_path / "r.html",
        sandboxed=False,
        how="open",
        target=str(secret),
    )
    assert "PRIVATE-KEY-MATERIAL" in shown


READ_CASES = [
    (ALL, "open"),
    (KERNEL, "open"),
    (KERNEL, "listdir"),
    # polars reads in Rust, unseen by the audit hook: only Landlock stops it.
    (KERNEL, "polars"),
    (FALLBACK, "open"),
    (FALLBACK, "listdir"),
]


@pytest.mark.parametrize(("mode", "how"), READ_CASES, indirect=["mode"])
def test_reads_secret_fails(empty_vault, tmp_path, secret, mode, how):
    error = fails("reads-secret", empty_vault, tmp_path / "r.html", how=how, target=str(secret))
    assert "failed in cell 4" in error
    if mode == KERNEL:
        assert "Permission denied" in error
    else:
        assert "PermissionError: selfdata sandbox: templates may only " in error
    assert "PRIVATE-KEY-MATERIAL" not in error


def test_the_kernel_sees_none_of_the_users_environment(empty_vault, tmp_path, monkeypatch):
    monkeypatch.setenv("SELFDATA_TEST_SECRET", "hunter2")
    shown = page("reads-environment", empty_vault, tmp_path / "r.html")
    assert "The variable holds nothing; home is " in shown
    assert "hunter2" not in shown
    assert f"home is {os.path.expanduser('~')}." not in shown


# --- programs ------------------------------------------------------------------------------

PROGRAM_CASES = [
    (ALL, "subprocess"),
    (ALL, "system"),
    (KERNEL, "subprocess"),
    (KERNEL, "system"),
    (FALLBACK, "subprocess"),
    (FALLBACK, "system"),
    (FALLBACK, "fork"),
]


@pytest.mark.parametrize(("mode", "how"), PROGRAM_CASES, indirect=["mode"])
def test_runs_subprocess_fails(empty_vault, tmp_path, mode, how):
    error = fails("runs-subprocess", empty_vault, tmp_path / "r.html", how=how)
    assert "failed in cell 4" in error
    if mode != KERNEL:
        assert "PermissionError: selfdata sandbox: templates may not run other programs" in error
    elif how == "subprocess":
        assert LANDLOCK_DENIED in error  # exec refused: nothing may be executed
    else:
        assert "AssertionError: the shell did not run" in error


# --- SQL -----------------------------------------------------------------------------------


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "bank.csv"
    path.parent.mkdir()
    path.write_text("IBAN-LIKE-SECRET,1\n")
    return path


def test_control_without_the_sandbox_sql_reads_the_file(empty_vault, tmp_path, csv_file):
    shown = page(
        "sql-reads-file",
        empty_vault,
        tmp_path / "r.html",
        sandboxed=False,
        how="memory",
        target=str(csv_file),
    )
    assert "IBAN-LIKE-SECRET" in shown


SQL_CASES = [
    (ALL, "vault"),
    (ALL, "memory"),
    (ALL, "attach"),
    (ALL, "copy"),
    (ALL, "unlock"),
    (KERNEL, "vault"),
    (KERNEL, "memory"),
    (KERNEL, "default"),
    (FALLBACK, "memory"),
    (FALLBACK, "default"),
]


@pytest.mark.parametrize(("mode", "how"), SQL_CASES, indirect=["mode"])
def test_sql_reads_file_fails(empty_vault, tmp_path, csv_file, mode, how):
    error = fails("sql-reads-file", empty_vault, tmp_path / "r.html", how=how, target=str(csv_file))
    assert "failed in cell 4" in error
    if mode == KERNEL and how in ("memory", "default"):
        assert "Permission denied" in error  # Landlock under DuckDB's own file reader
    elif how == "unlock":
        assert 'enable_external_access"" - the configuration has been locked' in error
    else:
        assert "file system operations are disabled by configuration" in error
    assert [p.name for p in csv_file.parent.iterdir()] == ["bank.csv"]
    assert "IBAN-LIKE-SECRET" not in error


# --- what must keep working ---------------------------------------------------------------


@pytest.mark.parametrize("mode", [ALL, FALLBACK], indirect=True)
def test_well_behaved_renders_with_charts_and_its_own_files(sample_vault, tmp_path, mode):
    shown = page("well-behaved", sample_vault, tmp_path / "r.html")
    assert len(re.findall(r'<svg [^>]*aria-label="Steps"', shown)) == 1
    assert "The scratch file holds <strong>1</strong> row; the vault " in shown
    assert "selfdata sandbox" not in shown


def test_a_cell_past_the_timeout_still_stops_the_sandboxed_kernel(empty_vault, tmp_path):
    with pytest.raises(ReportError, match="ran longer than the cell timeout of 2 s"):
        render(
            REPORT_FIXTURES / "slow",
            MONTH,
            out=tmp_path / "r.html",
            vault=empty_vault,
            cell_timeout=2,
            sandbox=True,
        )
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("name", CURATED)
def test_curated_templates_render_in_the_sandbox(sample_vault, tmp_path, name):
    period = YEAR if name == "overview" else MONTH
    out = render(
        TEMPLATES / name, period, out=tmp_path / "r.html", vault=sample_vault, sandbox=True
    ).path
    shown = out.read_text("utf-8")
    assert re.search(r'<svg [^>]*role="img"', shown)
    assert "Traceback" not in shown and "selfdata sandbox" not in shown
