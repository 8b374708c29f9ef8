"""The sandboxed kernel a template that is not curated runs in.

`render(..., sandbox=True)` runs the notebook's kernel through
`sandboxed_kernel()`: papermill hands its `kernel_manager_class` to nbclient,
a jupyter_client `AsyncKernelManager` whose kernel spec starts
`python -m selfdata.templates._sandbox_kernel --policy ... -f {connection_file}`
(that module's docstring says how each layer is made) with:

- `clean-env`: an environment of PATH, locale, TZ, PYTHONPATH and the few
  variables the platform needs (`_KEPT_ENV`), with HOME, TMPDIR, IPYTHONDIR,
  MPLCONFIGDIR, the XDG and Jupyter folders all in the run's working folder:
  no token or secret of the user's shell reaches the template;
- `netns` (Linux): a network namespace of its own with only loopback up, so
  the kernel talks to papermill over unix sockets in a private folder
  (transport "ipc");
- `landlock`, `landlock-net` (Linux): reads only from Python, the installed
  packages, system libraries, /etc's few shared files, /proc, /sys, the
  template, the vault and its companions (`Policy.reads`); writes only in
  the working folder; nothing executed; no TCP at all;
- `seccomp` (Linux, x86_64 and aarch64): no new socket of any kind once the
  kernel has its own (Landlock does not cover named unix sockets: the D-Bus
  session bus, docker.sock, an ssh agent);
- `duckdb`: every DuckDB connection without external file access or
  extension loading; the vault's connection read-only with its settings
  locked;
- `audit-hook`: a Python audit hook refusing network, programs, ctypes,
  signals, and file access outside those folders with a PermissionError
  ("selfdata sandbox: templates may not open network connections"), which the
  report names as the failing cell's error.

Where the platform lacks a layer the rest still apply: macOS and Windows get
`clean-env`, `duckdb` and `audit-hook` only (Windows keeps TCP to loopback
for the kernel's own channels). `sandbox_status().summary()` is the line to
show, e.g. "sandbox: network namespace unavailable (unshare: Operation not
permitted); using clean environment, Landlock file rules, ...". The platform
layers are probed once per process by starting the launcher with `--probe`
(about 0.15 s).

Example:
    >>> with sandboxed_kernel(Path(workdir), template=t.folder, vault=vault) as kernel:
    ...     papermill.execute_notebook(..., **kernel)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import selfdata
from selfdata.templates._sandbox_kernel import (
    AUDIT_HOOK,
    DUCKDB,
    LANDLOCK,
    LANDLOCK_NET,
    NETNS,
    SECCOMP,
    Policy,
    normal_path,
)

__all__ = [
    "CLEAN_ENV",
    "LAUNCHER",
    "LAYERS",
    "LAYER_NAMES",
    "SandboxStatus",
    "sandbox_layers",
    "sandbox_status",
    "sandboxed_kernel",
]

CLEAN_ENV = "clean-env"
LAYERS = (CLEAN_ENV, NETNS, LANDLOCK, LANDLOCK_NET, SECCOMP, DUCKDB, AUDIT_HOOK)
"""Every layer, outermost first; `sandbox_layers()` says which are in force here."""

LAYER_NAMES = {
    CLEAN_ENV: "clean environment",
    NETNS: "network namespace",
    LANDLOCK: "Landlock file rules",
    LANDLOCK_NET: "Landlock TCP rules",
    SECCOMP: "seccomp socket filter",
    DUCKDB: "DuckDB lock-down",
    AUDIT_HOOK: "audit hook",
}

LAUNCHER = "selfdata.templates._sandbox_kernel"

_PLATFORM_LAYERS = (NETNS, LANDLOCK, LANDLOCK_NET, SECCOMP)
# Files beside the vault that selfdata itself reads: settings, category rules, factors.
_VAULT_COMPANIONS = ("selfdata.toml", "categories.toml", "emission_factors.toml")
_SYSTEM_READS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/proc", "/sys", "/opt/homebrew")
# /etc holds root-only secrets too (shadow, host keys): only what libraries read.
_ETC_READS = (
    "alternatives",
    "fonts",
    "gai.conf",
    "group",
    "host.conf",
    "hosts",
    "ipython",
    "jupyter",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "matplotlibrc",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "passwd",
    "protocols",
    "services",
    "ssl/openssl.cnf",
    "timezone",
)
_DEVICES = ("/dev/zero", "/dev/random", "/dev/urandom")
_KEPT_ENV = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "PYTHONPATH",
    "LD_LIBRARY_PATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "JUPYTER_PLATFORM_DIRS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "NUMBER_OF_PROCESSORS",
    "PROCESSOR_ARCHITECTURE",
)

# A test hook: layers to leave out, as if the platform lacked them.
_disabled_layers: frozenset[str] = frozenset()
_probe_lock = threading.Lock()
_probed: dict[str, Any] | None = None


@dataclass(frozen=True)
class SandboxStatus:
    """Which layers a sandboxed kernel gets on this machine, and why any is missing."""

    in_force: tuple[str, ...]
    missing: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the CLI: what is missing and why, then what is in force.

        Example:
            >>> SandboxStatus(("audit-hook",), {"netns": "not on darwin"}).summary()
            'sandbox: network namespace unavailable (not on darwin); using the audit hook only'
        """
        using = [LAYER_NAMES[layer] for layer in self.in_force]
        if not self.missing:
            return f"sandbox: {', '.join(using)}"
        lacking = ", ".join(
            f"{LAYER_NAMES[k]} unavailable ({why})" for k, why in self.missing.items()
        )
        if len(using) == 1:
            return f"sandbox: {lacking}; using the {using[0]} only"
        return f"sandbox: {lacking}; using {', '.join(using)}"


def sandbox_layers() -> list[str]:
    """The layers a sandboxed kernel gets here, outermost first (see `LAYERS`).

    Example:
        >>> sandbox_layers()  # doctest: +SKIP
        ['clean-env', 'netns', 'landlock', 'landlock-net', 'seccomp', 'duckdb', 'audit-hook']
    """
    return list(sandbox_status().in_force)


def sandbox_status() -> SandboxStatus:
    """The layers in force here and the reason for each missing one (probed once)."""
    probed = _probe()
    in_force: list[str] = []
    missing: dict[str, str] = {}
    for layer in LAYERS:
        why = _missing_reason(layer, probed)
        if why is None:
            in_force.append(layer)
        else:
            missing[layer] = why
    return SandboxStatus(tuple(in_force), missing, tuple(probed.get("notes", ())))


@contextlib.contextmanager
def sandboxed_kernel(workdir: Path, *, template: Path, vault: Path) -> Iterator[dict[str, Any]]:
    """papermill keyword arguments running the kernel sandboxed, in `workdir`.

    Args:
        workdir: the kernel's working folder, the only one it may write in.
        template: the template's folder (readable).
        vault: the vault file (readable, with its .wal and companion files).

    Yields:
        `{"kernel_manager_class": ...}` to pass to `papermill.execute_notebook`.
    """
    status = sandbox_status()
    probed = _probe()
    kernel_dir = Path(tempfile.mkdtemp(prefix="selfdata-kernel-"))
    try:
        workdir = workdir.resolve()
        (workdir / ".tmp").mkdir(exist_ok=True)
        policy = _policy(status, workdir, kernel_dir, template, vault, probed["sys_path"])
        policy.dump(str(kernel_dir / "policy.json"))
        env = _kernel_env(workdir, kernel_dir)
        yield {"kernel_manager_class": _manager_class(kernel_dir, env)}
    finally:
        shutil.rmtree(kernel_dir, ignore_errors=True)


# --- the policy and the environment -------------------------------------------------------


def _policy(
    status: SandboxStatus,
    workdir: Path,
    kernel_dir: Path,
    template: Path,
    vault: Path,
    sys_path: list[str],
) -> Policy:
    vault = vault.resolve()
    package = Path(selfdata.__file__).resolve().parent
    reads = [
        *_python_folders(sys_path),
        str(package),
        *_SYSTEM_READS,
        *(f"/etc/{name}" for name in _ETC_READS),
        *_DEVICES,
        str(template.resolve()),
        str(vault),
        f"{vault}.wal",
        *(str(vault.parent / name) for name in _VAULT_COMPANIONS),
    ]
    return Policy(
        layers=tuple(layer for layer in status.in_force if layer != CLEAN_ENV),
        workdir=str(workdir),
        kernel_dir=str(kernel_dir.resolve()),
        reads=tuple(dict.fromkeys(normal_path(p) for p in reads if os.path.exists(p))),
        # Python lists the folder holding an editable install's package to import it.
        listable=(str(package.parent),),
    )


def _python_folders(sys_path: list[str]) -> list[str]:
    """Python's own folders and the kernel's `sys.path`, never home or a folder holding it."""
    home = normal_path(os.path.expanduser("~"))
    folders = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    folders += [p for p in sys_path if p and os.path.exists(p)]
    found = []
    for folder in folders:
        real = normal_path(folder)
        too_wide = real == os.sep or home == real or home.startswith(real.rstrip(os.sep) + os.sep)
        if not too_wide:
            found.append(real)
    return found


def _kernel_env(workdir: Path, kernel_dir: Path) -> dict[str, str]:
    """The kernel's whole environment: a few of ours, every home-like folder in `workdir`."""
    if CLEAN_ENV in _disabled_layers:
        env = dict(os.environ)
    else:
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV or k.startswith("LC_")}
    w = str(workdir)
    env.update(
        {
            "HOME": w,
            "USERPROFILE": w,
            "TMPDIR": f"{w}{os.sep}.tmp",
            "TEMP": f"{w}{os.sep}.tmp",
            "TMP": f"{w}{os.sep}.tmp",
            "IPYTHONDIR": os.path.join(w, ".ipython"),
            "MPLCONFIGDIR": os.path.join(w, ".matplotlib"),
            "XDG_CACHE_HOME": os.path.join(w, ".cache"),
            "XDG_CONFIG_HOME": os.path.join(w, ".config"),
            "XDG_DATA_HOME": os.path.join(w, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(w, ".local", "state"),
            "XDG_RUNTIME_DIR": str(kernel_dir),
            "JUPYTER_RUNTIME_DIR": str(kernel_dir),
            "JUPYTER_CONFIG_DIR": os.path.join(w, ".jupyter"),
            "JUPYTER_DATA_DIR": os.path.join(w, ".local", "share", "jupyter"),
            # Packages installed with pip --user stay importable with HOME moved.
            "PYTHONUSERBASE": site.getuserbase(),
            "PYTHONDONTWRITEBYTECODE": "1",
            "SELFDATA_SANDBOX": "1",
        }
    )
    return env


# --- the platform probe ---------------------------------------------------------------------


def _probe() -> dict[str, Any]:
    """Run the launcher with `--probe` once: which platform layers work, its `sys.path`."""
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = _run_probe()
        return _probed


def _run_probe() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="selfdata-probe-") as folder:
        env = _kernel_env(Path(folder), Path(folder))
        try:
            done = subprocess.run(
                [sys.executable, "-m", LAUNCHER, "--probe"],
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            probed: dict[str, Any] = json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            why = f"the probe failed: {error}"
            return {"sys_path": sys.path, "layers": dict.fromkeys(_PLATFORM_LAYERS, why)}
    # The probe's own folder is gone; it was its sys.path[0] (python -m).
    gone = normal_path(folder)
    probed["sys_path"] = [p for p in probed["sys_path"] if p and normal_path(p) != gone]
    return probed


def _missing_reason(layer: str, probed: dict[str, Any]) -> str | None:
    if layer in _disabled_layers:
        return "disabled"
    if layer not in _PLATFORM_LAYERS:
        return None
    if not sys.platform.startswith("linux"):
        return f"not on {sys.platform}"
    why = probed["layers"].get(layer, "not probed")
    return None if why == "ok" else str(why)


# --- the kernel manager -----------------------------------------------------------------------


def _manager_class(kernel_dir: Path, env: dict[str, str]) -> type[Any]:
    """A KernelManager starting the launcher over unix sockets in `kernel_dir`, with `env`."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    argv = [
        sys.executable,
        "-m",
        LAUNCHER,
        "--policy",
        str(kernel_dir / "policy.json"),
        "-f",
        "{connection_file}",
    ]
    spec = KernelSpec(argv=argv, display_name="Python 3 (selfdata sandbox)", language="python")

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts the sandbox launcher; talks to it over unix sockets where there are any."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if os.name != "nt":
                # The kernel's loopback is not ours: only unix sockets reach it.
                self.transport = "ipc"
                self.ip = str(kernel_dir / "kernel-ipc")
            self.connection_file = str(kernel_dir / "kernel.json")

        @property
        def kernel_spec(self) -> KernelSpec:
            return spec

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["env"] = dict(env)
            return await super()._async_pre_start_kernel(**kw)

    return SandboxedKernelManager
