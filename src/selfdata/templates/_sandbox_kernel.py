"""The sandboxed kernel's launcher: lock this process down, then run ipykernel inside it.

`selfdata.templates.sandbox` starts the kernel of a template that is not
curated as

    python -m selfdata.templates._sandbox_kernel --policy POLICY.json -f CONNECTION.json ...

POLICY.json (written by the parent, see `Policy`) names the layers to apply,
the run's working folder, the kernel's private folder and what may be read.
While the process still runs one thread and before ipykernel is imported,
the launcher applies, in this order:

1. `netns` (Linux): unshare(CLONE_NEWUSER | CLONE_NEWNET) through ctypes
   (Python 3.11 has no os.unshare), the process's own uid and gid mapped,
   then `lo` brought up with an SIOCSIFFLAGS ioctl so loopback works inside.
   The kernel is then alone in a network with no interface but its own
   loopback: it talks to the parent over unix sockets (transport "ipc").
   The capabilities the new user namespace gave are dropped again.
2. `landlock` and `landlock-net` (Linux 5.13+, TCP rules from ABI 4): one
   ruleset where every access right the kernel knows is handled, reads are
   granted beneath `Policy.reads`, names only beneath `Policy.listable`,
   writes only beneath the working and kernel folders and to /dev/null;
   nothing may be executed, and with ABI 4 no TCP port bound or connected;
   with ABI 6 no abstract unix socket or signal reaches outside. See
   https://docs.kernel.org/userspace-api/landlock.html.
3. `seccomp` (Linux on x86_64 and aarch64): once ipykernel has made its
   sockets, a seccomp filter on every thread makes socket() and
   io_uring_setup() fail with EACCES (and any syscall of a foreign ABI):
   Landlock does not cover connecting to a *named* unix socket (the D-Bus
   session bus, docker.sock, an ssh agent), and this way nothing can be
   connected to at all.
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

A layer the parent's probe found working but which fails here does not let
the template run with less protection than promised: every cell then fails
with a PermissionError naming the layer and why.

`--probe` applies the platform layers to this throw-away process and prints,
as JSON, which of them work and the interpreter's `sys.path` (the parent lets
kernels read those folders).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import platform
import socket
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
        layers[NETNS] = _reason(error)
    abi = landlock_abi()
    if abi < 1:
        layers[LANDLOCK] = layers[LANDLOCK_NET] = _landlock_missing(abi)
    try:
        forbid_new_sockets()
        layers[SECCOMP] = "ok"
    except OSError as error:
        layers[SECCOMP] = _reason(error)
    if abi < 1:
        return found
    try:
        everything = Policy(layers=(), workdir="/", kernel_dir="/")
        restrict_self(everything, abi, files=True, network=abi >= 4)
        layers[LANDLOCK] = "ok"
        layers[LANDLOCK_NET] = "ok" if abi >= 4 else f"Landlock ABI {abi} has no TCP rules (4+)"
    except OSError as error:
        layers[LANDLOCK] = layers[LANDLOCK_NET] = _reason(error)
    return found


def apply_platform_layers(policy: Policy) -> dict[str, str]:
    """Apply the policy's Linux layers; returns each one that failed with why."""
    failed: dict[str, str] = {}
    if NETNS in policy.layers:
        try:
            enter_network_namespace()
        except OSError as error:
            failed[NETNS] = _reason(error)
    files, network = LANDLOCK in policy.layers, LANDLOCK_NET in policy.layers
    if files or network:
        abi = landlock_abi()
        try:
            if abi < 1:
                raise OSError(errno.ENOSYS, _landlock_missing(abi))
            restrict_self(policy, abi, files=files, network=network and abi >= 4)
        except OSError as error:
            failed.update({layer: _reason(error) for layer in policy.layers if "landlock" in layer})
    return failed


# --- network namespace -----------------------------------------------------------------

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_CAPABILITY_VERSION_3 = 0x20080522


def enter_network_namespace() -> list[str]:
    """Move this process into a new user and network namespace with loopback up.

    Once unshare has worked the network is cut, whatever follows: a later step
    that fails is returned as a note, not raised.

    Raises:
        OSError: the platform or its settings refuse the namespaces (the
            process is then unchanged), or the process has more than one thread.
    """
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise OSError(errno.EINVAL, f"the launcher runs {threads} threads; unshare needs one")
    uid, gid = os.geteuid(), os.getegid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare: {os.strerror(code)}")
    notes = []
    steps: list[tuple[str, Callable[[], None]]] = [
        # Map only ourselves: files keep their owners, and nobody else exists inside.
        ("setgroups", lambda: _write("/proc/self/setgroups", "deny")),
        ("uid map", lambda: _write("/proc/self/uid_map", f"{uid} {uid} 1")),
        ("gid map", lambda: _write("/proc/self/gid_map", f"{gid} {gid} 1")),
        ("loopback", _loopback_up),
        ("capabilities", lambda: _drop_capabilities(libc)),
    ]
    for name, step in steps:
        try:
            step()
        except OSError as error:
            notes.append(f"{name}: {_reason(error)}")
    return notes


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        import fcntl

        request = struct.pack("16sH22x", b"lo", 0)
        current = fcntl.ioctl(probe_socket.fileno(), _SIOCGIFFLAGS, request)
        flags = struct.unpack_from("16sH", current)[1] | _IFF_UP
        fcntl.ioctl(probe_socket.fileno(), _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags))


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Give up what the new user namespace granted; only `lo` needed it."""
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"capset: {os.strerror(code)}")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as file:
        file.write(text)


# --- Landlock ----------------------------------------------------------------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # all arches but alpha
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_READ = _READ_FILE | _READ_DIR
_WRITE = (
    _READ
    | _WRITE_FILE
    | _REMOVE_DIR
    | _REMOVE_FILE
    | _MAKE_DIR
    | _MAKE_REG
    | _MAKE_SOCK
    | _MAKE_FIFO
    | _MAKE_SYM
    | _REFER
    | _TRUNCATE
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed))
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; -errno when Landlock is missing or off."""
    if not sys.platform.startswith("linux") or platform.machine() == "alpha":
        return -errno.ENOSYS
    libc = _libc()
    version = int(
        libc.syscall(
            ctypes.c_long(_SYS_CREATE_RULESET),
            None,
            ctypes.c_size_t(0),
            ctypes.c_uint32(_CREATE_RULESET_VERSION),
        )
    )
    return version if version >= 0 else -ctypes.get_errno()


def restrict_self(policy: Policy, abi: int, *, files: bool, network: bool) -> None:
    """Restrict this process (and all it starts) to `policy` with Landlock.

    `files` handles every file-system right this ABI knows (only the policy's
    are then granted); `network` forbids every TCP bind and connect.

    Raises:
        OSError: Landlock refused the ruleset.
    """
    handled_fs = 0
    if files:
        handled_fs = (1 << 13) - 1
        handled_fs |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
        handled_fs |= _IOCTL_DEV if abi >= 5 else 0
    handled_net = _NET_BIND_TCP | _NET_CONNECT_TCP if network else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if files and abi >= 6 else 0
    attr = _RulesetAttr(handled_fs, handled_net, scoped)
    libc = _libc()
    ruleset = _check(
        libc.syscall(
            ctypes.c_long(_SYS_CREATE_RULESET),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
            ctypes.c_uint32(0),
        ),
        "landlock_create_ruleset",
    )
    try:
        for path, access in _rules(policy) if files else ():
            _add_rule(libc, ruleset, path, access & handled_fs)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        _check(
            libc.syscall(
                ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)
            ),
            "landlock_restrict_self",
        )
    finally:
        os.close(ruleset)


def _rules(policy: Policy) -> Iterable[tuple[str, int]]:
    yield from ((path, _READ) for path in policy.reads)
    yield from ((path, _READ_DIR) for path in policy.listable)
    yield from ((path, _READ | _WRITE_FILE | _TRUNCATE) for path in policy.devices)
    yield from ((path, _WRITE) for path in policy.writes)


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # what does not exist needs no rule
    try:
        if not os.path.isdir(path):
            access &= _FILE_RIGHTS
        rule = _PathBeneathAttr(access, fd)
        _check(
            libc.syscall(
                ctypes.c_long(_SYS_ADD_RULE),
                ctypes.c_int(ruleset),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            ),
            f"landlock_add_rule({path})",
        )
    finally:
        os.close(fd)


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return int(result)


def _landlock_missing(abi: int) -> str:
    if -abi == errno.EOPNOTSUPP:
        return "Landlock is built into this Linux but turned off (lsm= boot option)"
    return "this Linux has no Landlock (5.13 or later needed)"


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


# --- seccomp ---------------------------------------------------------------------------

_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_NR_IO_URING_SETUP = 425  # the same on every arch since 5.1
_X32_SYSCALL_BIT = 0x40000000
# machine: (AUDIT_ARCH_*, __NR_seccomp, __NR_socket)
_SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, 317, 41),
    "aarch64": (0xC00000B7, 277, 198),
}
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def forbid_new_sockets() -> None:
    """From now on socket() and io_uring_setup() fail with EACCES in every thread.

    Raises:
        OSError: not on x86_64 or aarch64 Linux, or the kernel refused the filter.
    """
    machine = platform.machine().lower()
    if not sys.platform.startswith("linux") or machine not in _SECCOMP_ARCHES:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {sys.platform} on {machine}")
    arch, nr_seccomp, nr_socket = _SECCOMP_ARCHES[machine]
    refuse = _SECCOMP_RET_ERRNO | errno.EACCES
    program = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, arch),
        (_BPF_RET_K, 0, 0, refuse),  # another ABI (i386, x32 tricks): nothing
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_BPF_JGE_K, 3, 0, _X32_SYSCALL_BIT),
        (_BPF_JEQ_K, 2, 0, nr_socket),
        (_BPF_JEQ_K, 1, 0, _NR_IO_URING_SETUP),
        (_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW),
        (_BPF_RET_K, 0, 0, refuse),
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*ins) for ins in program))
    fprog = _SockFprog(len(program), filters)
    libc = _libc()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(
        libc.syscall(
            ctypes.c_long(nr_seccomp),
            ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
            ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
            ctypes.byref(fprog),
        ),
        "seccomp",
    )


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
        self.writes = tuple(_normal(p) for p in (*policy.writes, *policy.devices))
        self.reads = (*tuple(_normal(p) for p in policy.reads), *self.writes)
        self.listable = (*self.reads, *tuple(_normal(p) for p in policy.listable))
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
        real = _normal(os.fsdecode(path))
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


def _normal(path: str) -> str:
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
            failed[SECCOMP] = _reason(error)
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
