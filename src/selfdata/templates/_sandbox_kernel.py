"""The sandboxed kernel's launcher: lock this process down, then run ipykernel inside it.

`selfdata.templates.sandbox` starts the kernel of a template that is not
curated as

    python -m selfdata.templates._sandbox_kernel --policy POLICY.json -f CONNECTION.json ...

POLICY.json (written by the parent, see `Policy`) names the layers to apply,
the run's working folder, the kernel's private folder and what may be read.
While the process still runs one thread and before ipykernel is imported,
the launcher applies, in this order:

1. `netns` (Linux): a user and network namespace of its own with only
   loopback up; the kernel talks to the parent over unix sockets (transport
   "ipc").
2. `landlock` and `landlock-net` (Linux 5.13+, TCP rules from ABI 4): reads
   only beneath `Policy.reads`, names only beneath `Policy.listable`, writes
   only beneath the working and kernel folders and to /dev/null; nothing may
   be executed, and with ABI 4 no TCP port bound or connected.
3. `seccomp` (Linux on x86_64 and aarch64): once ipykernel has made its
   sockets, socket() and io_uring_setup() fail with EACCES in every thread,
   so not even a named unix socket (which Landlock does not cover) can be
   connected to.
4. `duckdb`: `duckdb.connect` opens every database with external access
   off and without extension loading, and files read-only; the module's
   default connection loses external access too (DuckDB refuses to switch it
   back on). `SELFDATA_SANDBOX` (set by the parent) makes
   `selfdata.reports.notebook` also lock the vault connection's settings.
5. `audit-hook` (PEP 578): installed here, *armed* once ipykernel has bound
   its sockets and imported its modules. Armed, it refuses every new socket
   but a socketpair (so any network use, by name or by address), other
   programs, native code through ctypes, signals to other processes, writes
   outside the working folder and reads outside `Policy.reads`, each with a
   PermissionError whose message starts "selfdata sandbox:", so the
   failing cell becomes a readable report error. It is the clear-message
   layer and the only one off Linux, not a boundary: Python code that gets
   hold of raw memory can get round it.

`selfdata.templates._sandbox_linux` says how the first three are made, on
which kernels and machines, and why the first two come before any thread.

A layer the parent's probe found working but which fails here does not let
the template run with less protection than promised: every cell then fails
with a PermissionError naming the layer and why.

`--probe` applies the platform layers to this throw-away process and prints,
as JSON, which of them work and the interpreter's `sys.path` (the parent lets
kernels read those folders).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# A standard-library-only module: unshare refuses a process that has a second thread.
from selfdata.templates._sandbox_linux import (
    enter_network_namespace,
    forbid_new_sockets,
    landlock_abi,
    landlock_missing,
    reason,
    restrict_self,
)

__all__ = [
    "AUDIT_HOOK",
    "DUCKDB",
    "LANDLOCK",
    "LANDLOCK_NET",
    "NETNS",
    "SECCOMP",
    "Policy",
    "main",
    "probe",
]

NETNS = "netns"
LANDLOCK = "landlock"
LANDLOCK_NET = "landlock-net"
SECCOMP = "seccomp"
DUCKDB = "duckdb"
AUDIT_HOOK = "audit-hook"

REFUSED = "selfdata sandbox:"
_NETWORK = f"{REFUSED} templates may not open network connections"
_PROGRAMS = f"{REFUSED} templates may not run other programs"
_NATIVE = f"{REFUSED} templates may not load or call native code through ctypes"
_SIGNALS = f"{REFUSED} templates may not signal other processes"


@dataclass(frozen=True)
class Policy:
    """What the kernel may do; the parent writes it as JSON, the launcher reads it.

    All paths are real (symlinks resolved); those that do not exist are skipped.
    """

    layers: tuple[str, ...]  # the layers to apply here (see the module docstring)
    workdir: str  # the kernel's working folder: read, write, make anything but devices
    kernel_dir: str  # connection file and unix sockets: the same rights
    reads: tuple[str, ...] = ()  # files and folders to read (and all beneath)
    listable: tuple[str, ...] = ()  # folders whose entries' names may be listed, no more
    devices: tuple[str, ...] = field(default=("/dev/null",))  # device files to write to

    @property
    def writes(self) -> tuple[str, ...]:
        """The folders the kernel may change."""
        return (self.workdir, self.kernel_dir)

    def dump(self, path: str) -> None:
        """Write the policy as JSON to `path`."""
        with open(path, "w", encoding="utf-8") as file:
            json.dump(asdict(self), file)

    @classmethod
    def load(cls, path: str) -> Policy:
        """Read a policy written by `dump`."""
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        return cls(
            layers=tuple(data["layers"]),
            workdir=str(data["workdir"]),
            kernel_dir=str(data["kernel_dir"]),
            reads=tuple(data["reads"]),
            listable=tuple(data["listable"]),
            devices=tuple(data["devices"]),
        )


def main(argv: list[str] | None = None) -> None:
    """Apply the policy's layers to this process, then run ipykernel in it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--probe"]:
        print(json.dumps(probe()))
        return
    if args[:1] != ["--policy"] or len(args) < 2:
        sys.exit("usage: python -m selfdata.templates._sandbox_kernel --policy FILE -f FILE ...")
    policy = Policy.load(args[1])
    failed = apply_platform_layers(policy)
    if DUCKDB in policy.layers:
        _lock_duckdb(policy.workdir)
    arm = _install_audit_hook(policy) if AUDIT_HOOK in policy.layers else None
    _preload()
    _run_kernel(args[2:], policy.layers, arm, failed)


def probe() -> dict[str, Any]:
    """Which platform layers work in this process (applying them), and its `sys.path`."""
    found: dict[str, Any] = {"sys_path": list(sys.path), "layers": {}, "notes": []}
    if not sys.platform.startswith("linux"):
        return found
    layers: dict[str, str] = found["layers"]
    try:
        found["notes"] += enter_network_namespace()
        layers[NETNS] = "ok"
    except OSError as error:
        layers[NETNS] = reason(error)
    abi = landlock_abi()
    if abi < 1:
        layers[LANDLOCK] = layers[LANDLOCK_NET] = landlock_missing(abi)
    try:
        forbid_new_sockets()
        layers[SECCOMP] = "ok"
    except OSError as error:
        layers[SECCOMP] = reason(error)
    if abi < 1:
        return found
    try:
        everything = Policy(layers=(), workdir="/", kernel_dir="/")
        restrict_self(everything, abi, files=True, network=abi >= 4)
        layers[LANDLOCK] = "ok"
        layers[LANDLOCK_NET] = "ok" if abi >= 4 else f"Landlock ABI {abi} has no TCP rules (4+)"
    except OSError as error:
        layers[LANDLOCK] = layers[LANDLOCK_NET] = reason(error)
    return found


def apply_platform_layers(policy: Policy) -> dict[str, str]:
    """Apply the policy's Linux layers; returns each one that failed with why."""
    failed: dict[str, str] = {}
    if NETNS in policy.layers:
        try:
            enter_network_namespace()
        except OSError as error:
            failed[NETNS] = reason(error)
    files, network = LANDLOCK in policy.layers, LANDLOCK_NET in policy.layers
    if files or network:
        abi = landlock_abi()
        try:
            if abi < 1:
                raise OSError(errno.ENOSYS, landlock_missing(abi))
            restrict_self(policy, abi, files=files, network=network and abi >= 4)
        except OSError as error:
            failed.update({layer: reason(error) for layer in policy.layers if "landlock" in layer})
    return failed


# --- DuckDB ------------------------------------------------------------------------------

_Settings = dict[str, str | bool | int | float | list[str]]
_DUCKDB_LOCKED: _Settings = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}


def _lock_duckdb(workdir: str) -> None:
    """Every DuckDB connection made in this process sees its own database and no other file."""
    import _duckdb
    import duckdb

    original = duckdb.connect
    spill = os.path.join(workdir, ".duckdb-tmp")

    def connect(
        database: str | Path = ":memory:",
        read_only: bool = False,
        config: _Settings | None = None,
    ) -> duckdb.DuckDBPyConnection:
        name = os.fspath(database)
        in_memory = name in ("", ":default:") or name.startswith(":memory:")
        settings = {**(config or {}), **_DUCKDB_LOCKED}
        if not in_memory:
            # Spill files go to the working folder: beside the vault is not writable.
            # DuckDB takes this after enable_external_access, not before it.
            settings["temp_directory"] = spill
        return original(database, read_only=read_only or not in_memory, config=settings)

    duckdb.connect = connect
    _duckdb.connect = connect
    duckdb.default_connection().execute("SET enable_external_access = false")


# --- the audit hook ----------------------------------------------------------------------

_PROGRAM_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "os.startfile",
)
_NETWORK_EVENTS = (
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "urllib.Request",
    "http.client.connect",
    "ftplib.connect",
    "smtplib.connect",
    "poplib.connect",
    "imaplib.open",
    "nntplib.connect",
    "telnetlib.Telnet.open",
    "webbrowser.open",
)
_NATIVE_EVENTS = (
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.dlsym/handle",
    "ctypes.call_function",
    "ctypes.cdata",
    "ctypes.cdata/buffer",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "ctypes.PyObj_FromPtr",
)
_ADDRESS_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")
# Events changing the file system, and which of their arguments are paths.
_CHANGE_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (1,),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _Rules:
    """The audit hook's checks, over the policy's folders (all real paths)."""

    def __init__(self, policy: Policy) -> None:
        self.writes = tuple(normal_path(p) for p in (*policy.writes, *policy.devices))
        self.reads = (*tuple(normal_path(p) for p in policy.reads), *self.writes)
        self.listable = (*self.reads, *tuple(normal_path(p) for p in policy.listable))
        self.pid = os.getpid()
        self.checks: dict[str, Callable[[tuple[Any, ...]], None]] = {
            "open": self.open,
            "os.listdir": self.listing,
            "os.scandir": self.listing,
            "os.kill": self.signal,
            "os.killpg": self.signal_group,
        }
        self.checks.update({event: _refuse(_PROGRAMS) for event in _PROGRAM_EVENTS})
        self.checks.update({event: _refuse(_NETWORK) for event in _NETWORK_EVENTS})
        self.checks.update({event: _refuse(_NATIVE) for event in _NATIVE_EVENTS})
        self.checks.update({event: self.address for event in _ADDRESS_EVENTS})
        self.checks["socket.__new__"] = self.new_socket
        for event, positions in _CHANGE_EVENTS.items():
            self.checks[event] = self.changing(positions)

    def open(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = (*args, None, None)[:3]
        if isinstance(path, int):
            return  # an open file descriptor: checked when it was opened
        writing = bool((flags or 0) & _WRITE_FLAGS) or any(c in (mode or "") for c in "wax+")
        if writing:
            self.require(path, self.writes, "write inside their working folder")
        else:
            self.require(path, self.reads, "read the vault and Python's own files")

    def listing(self, args: tuple[Any, ...]) -> None:
        path = args[0] if args else None
        if not isinstance(path, int):
            self.require("." if path is None else path, self.listable, "list their own folders")

    def changing(self, positions: tuple[int, ...]) -> Callable[[tuple[Any, ...]], None]:
        def check(args: tuple[Any, ...]) -> None:
            for position in positions:
                if position < len(args) and not isinstance(args[position], int):
                    self.require(
                        args[position], self.writes, "change files in their working folder"
                    )

        return check

    def new_socket(self, args: tuple[Any, ...]) -> None:
        family = args[1] if len(args) > 1 else -1
        # -1: wrapping a descriptor it was given, which was checked when made.
        if family != -1 and not _making_a_pair():
            raise PermissionError(_NETWORK)

    def address(self, args: tuple[Any, ...]) -> None:
        # sendmsg on a connected socket has no address; Windows pairs use loopback.
        if len(args) > 1 and args[1] is not None and not _making_a_pair():
            raise PermissionError(_NETWORK)

    def signal(self, args: tuple[Any, ...]) -> None:
        if args and args[0] != self.pid:
            raise PermissionError(_SIGNALS)

    def signal_group(self, args: tuple[Any, ...]) -> None:
        if args and args[0] != os.getpgid(0):
            raise PermissionError(_SIGNALS)

    def require(self, path: Any, roots: tuple[str, ...], what: str) -> None:
        real = normal_path(os.fsdecode(path))
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            raise PermissionError(f"{REFUSED} templates may only {what}, not {real}")


def _install_audit_hook(policy: Policy) -> Callable[[], None]:
    """Install the hook now, passive; the function returned arms it (for good)."""
    checks = _Rules(policy).checks
    armed = False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if armed:
            check = checks.get(event)
            if check is not None:
                check(args)

    def arm() -> None:
        nonlocal armed
        armed = True

    sys.addaudithook(hook)
    return arm


def _making_a_pair() -> bool:
    """Whether socket.socketpair() or socket.fromfd() is at work (called from the hook).

    asyncio makes a socketpair for each event loop; a pair reaches nothing.
    """
    frame = sys._getframe(2)
    for _ in range(4):
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop below
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name in ("socketpair", "fromfd") and code.co_filename == socket.__file__:
            return True
    return False


def _refuse(message: str) -> Callable[[tuple[Any, ...]], None]:
    def check(args: tuple[Any, ...]) -> None:
        raise PermissionError(message)

    return check


def normal_path(path: str) -> str:
    """`path` as the file system resolves it (links followed, case folded where it is
    case-insensitive): how both sides of the sandbox compare paths."""
    return os.path.normcase(os.path.realpath(path))


# --- the kernel --------------------------------------------------------------------------

# Imported during start-up, before the audit hook is armed: polars checks the
# CPU's features through ctypes when imported, which an armed hook refuses.
_PRELOADED = ("polars",)


def _preload() -> None:
    import importlib

    for name in _PRELOADED:
        # A template that needs a missing one fails with the usual ImportError.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _run_kernel(
    argv: list[str], layers: tuple[str, ...], arm: Callable[[], None] | None, failed: dict[str, str]
) -> None:
    import warnings

    from ipykernel.kernelapp import IPKernelApp

    # ipykernel binds a TCP pipe for the output of subprocesses, which may not
    # run here anyway; Landlock refuses the bind and ipykernel warns on stderr.
    warnings.filterwarnings("ignore", message="Couldn't bind IOPub Pipe", category=UserWarning)
    app = IPKernelApp.instance()
    app.initialize(argv)  # type: ignore[no-untyped-call]  # ipykernel is untyped
    if SECCOMP in layers:
        try:
            forbid_new_sockets()  # its own sockets made, the kernel needs no more
        except OSError as error:
            failed[SECCOMP] = reason(error)
    if failed:
        _refuse_every_cell(app, failed)
    if arm is not None:
        arm()
    app.start()  # type: ignore[no-untyped-call]


def _refuse_every_cell(app: Any, failed: dict[str, str]) -> None:
    """Make every cell raise a PermissionError naming the layers that failed, and why."""
    reasons = "; ".join(f"{layer}: {why}" for layer, why in sorted(failed.items()))
    message = f"{REFUSED} could not be set up ({reasons}); the template was not run"

    def refuse(lines: list[str]) -> list[str]:
        return [f"raise PermissionError({message!r})\n"]

    app.shell.input_transformers_post.append(refuse)


if __name__ == "__main__":
    main()
