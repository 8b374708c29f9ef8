"""The sandboxed kernel's Linux layers: a network namespace, Landlock, a seccomp filter.

`selfdata.templates._sandbox_kernel` applies these to its own process through
ctypes (Python 3.11 wraps none of these calls); each raises OSError, the
reason in its `strerror`, when the platform or its settings refuse it.

- `enter_network_namespace()` (any Linux that lets unprivileged users make
  user namespaces): unshare(CLONE_NEWUSER | CLONE_NEWNET), then only the
  process's own uid and gid mapped (setgroups denied first, as an
  unprivileged gid map requires), `lo` brought up with an SIOCSIFFLAGS ioctl
  so loopback works inside, and the capabilities the new user namespace gave
  dropped again with capset. The process is then alone in a network with no
  interface but its own loopback: the kernel talks to its parent over unix
  sockets (transport "ipc").
- `restrict_self()` (Linux 5.13+, every arch but alpha; `landlock_abi()`
  says which ABI the kernel has): one Landlock ruleset handling every
  file-system right the ABI knows (refer from 2, truncate from 3, device
  ioctls from 5), then granting reads beneath `Grants.reads`, names only
  beneath `Grants.listable`, writes beneath `Grants.writes` and to
  `Grants.devices`, execution nowhere. With `network` (ABI 4+) no TCP port
  may be bound or connected to; from ABI 6 no abstract unix socket or signal
  reaches outside. See https://docs.kernel.org/userspace-api/landlock.html.
- `forbid_new_sockets()` (x86_64 and aarch64): a classic BPF seccomp filter
  making socket() and io_uring_setup() fail with EACCES, and every syscall
  of a foreign ABI (i386, x32). Landlock does not cover connecting to a
  *named* unix socket (the D-Bus session bus, docker.sock, an ssh agent);
  with no new socket at all nothing can be connected to. See
  https://docs.kernel.org/userspace-api/seccomp_filter.html.

Why before ipykernel starts threads: unshare(CLONE_NEWUSER) fails with
EINVAL in a process of more than one thread, and landlock_restrict_self
confines only the calling thread and the threads and processes it starts
afterwards. So the launcher calls the first two while it still runs one
thread, before importing ipykernel (zmq's I/O threads, the heartbeat, the
control thread). The seccomp filter comes later, once ipykernel has made its
sockets; SECCOMP_FILTER_FLAG_TSYNC puts it on every thread already running.
For the same reason this module imports only the standard library, none of
which starts a thread on import, and `selfdata.templates` imports nothing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct
import sys
from collections.abc import Callable, Iterable
from typing import Protocol

__all__ = [
    "Grants",
    "enter_network_namespace",
    "forbid_new_sockets",
    "landlock_abi",
    "landlock_missing",
    "reason",
    "restrict_self",
]


class Grants(Protocol):
    """The real paths Landlock lets a process reach (`_sandbox_kernel.Policy` is one)."""

    @property
    def reads(self) -> tuple[str, ...]: ...  # files and folders to read (and all beneath)

    @property
    def listable(self) -> tuple[str, ...]: ...  # folders whose entries' names may be listed

    @property
    def devices(self) -> tuple[str, ...]: ...  # device files to read and write

    @property
    def writes(self) -> tuple[str, ...]: ...  # folders to change (and all beneath)


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
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET), "unshare")
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
            notes.append(f"{name}: {reason(error)}")
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
    _check(libc.capset(header, data), "capset")


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

_ABI_1_FS = (_MAKE_SYM << 1) - 1  # every right from _EXECUTE to _MAKE_SYM
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


def restrict_self(policy: Grants, abi: int, *, files: bool, network: bool) -> None:
    """Restrict this process (and all it starts) to `policy` with Landlock.

    `files` handles every file-system right this ABI knows (only the policy's
    are then granted); `network` forbids every TCP bind and connect.

    Raises:
        OSError: Landlock refused the ruleset.
    """
    handled_fs = 0
    if files:
        handled_fs = _ABI_1_FS
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


def _rules(policy: Grants) -> Iterable[tuple[str, int]]:
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


def landlock_missing(abi: int) -> str:
    """Why there is no Landlock, from the -errno `landlock_abi()` returned."""
    if -abi == errno.EOPNOTSUPP:
        return "Landlock is built into this Linux but turned off (lsm= boot option)"
    return "this Linux has no Landlock (5.13 or later needed)"


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


# --- shared -----------------------------------------------------------------------------


def reason(error: OSError) -> str:
    """Why a layer failed, in a few words (the OSError's strerror)."""
    return error.strerror or str(error)


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return int(result)
