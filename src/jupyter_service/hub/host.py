"""What the hub needs of this host, found out without starting it: the proxy and whether it
runs, paths the users' servers can pass, systemd as init for the systemd spawner, the users'
accounts. `up` refuses on the first problem; `doctor` reports each one with its fix."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.paths import ServicePaths

PROXY = "configurable-http-proxy"
PROXY_INSTALL = (
    "apt-get install node-configurable-http-proxy (or npm install -g configurable-http-proxy)"
)
# Debian's node-configurable-http-proxy finds its modules only here (Node.js does not look).
DEBIAN_NODE_PATH = "/usr/share/nodejs"
# sd_booted(3): this dir exists only while systemd is the running init system.
SYSTEMD_RUNNING = Path("/run/systemd/system")


def find_proxy() -> str:
    found = shutil.which(PROXY)
    if found is None:
        raise ServiceError(f"{PROXY} is not installed (JupyterHub's proxy)", hint=PROXY_INSTALL)
    return found


def render_node_path(current: str | None) -> str:
    """NODE_PATH as `up` sets it for the proxy: Debian's module dir first. Pure."""
    return os.pathsep.join(p for p in (DEBIAN_NODE_PATH, current or "") if p)


def find_closed_to_others(path: Path, *, execute: bool) -> Path | None:
    """The first of `path` and its parents that users other than the owner cannot pass
    (directories need o+x; the file o+r, and o+x when `execute`), or None."""
    path = Path(os.path.realpath(path))
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    mode = os.stat(path).st_mode
    need = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH
    if execute:
        need |= stat.S_IXOTH
    return None if mode & need == need else path


def iter_shared_paths(state: Path) -> Iterable[Path]:
    """What every user's server reads: the interpreter that runs them, its environment, the
    state dir and, once made, the store and the generations (the stable kernels)."""
    yield Path(sys.executable)
    yield Path(getattr(sys, "_base_executable", sys.executable))
    yield Path(sys.prefix)
    yield state
    yield ServicePaths(state).store
    yield ServicePaths(state).generations


def describe_unreachable(state: Path) -> list[tuple[Path, Path, str]]:
    """(needed path, the dir or file that closes it, its mode) for each shared path that
    other users cannot pass; a path not there yet is no problem of this kind."""
    found = []
    for path in iter_shared_paths(state):
        if not path.exists():
            continue
        closed = find_closed_to_others(path, execute=True)
        if closed is not None:
            found.append((path, closed, stat.filemode(os.stat(closed).st_mode)))
    return found


def render_unreachable_hint(closed: Path) -> str:
    return (
        "install jupyter-service where every user can read it (such as a venv under /opt from "
        f"/usr/bin/python3), or `chmod o+x {closed}`"
    )


def check_users_can_run(state: Path) -> None:
    """Users' servers run as the users: the interpreter, its environment and the state
    dir's shared parts must be theirs to read (an interpreter under a 0700 home is not)."""
    for path, closed, mode in describe_unreachable(state):
        raise ServiceError(
            f"users' servers cannot reach {path}: {closed} is closed to other users (mode {mode})",
            hint=render_unreachable_hint(closed),
        )


def find_systemd_problem() -> str | None:
    """Why the systemd spawner cannot start transient units here (a sentence that follows
    `hub.spawner = "systemd"`), or None."""
    if not SYSTEMD_RUNNING.is_dir():
        try:
            init = Path("/proc/1/comm").read_text().strip()
        except OSError:
            init = "unknown"
        return (
            "starts each user's server as a transient systemd unit, but systemd is not the "
            f"running init system here (PID 1 is {init}; {SYSTEMD_RUNNING} is missing)"
        )
    if shutil.which("systemd-run") is None:
        return "needs systemd-run, which is not on PATH"
    return None


SYSTEMD_HINT = (
    'use spawner = "local" on this host (no memory or CPU limits), or run the hub on a '
    "host booted with systemd"
)


def check_systemd_running() -> None:
    problem = find_systemd_problem()
    if problem is not None:
        raise ServiceError(f'hub.spawner = "systemd" {problem}', hint=SYSTEMD_HINT)


def find_missing_accounts(names: Iterable[str]) -> list[str]:
    """Hub users without a system account on this host."""
    missing = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            missing.append(name)
    return missing
