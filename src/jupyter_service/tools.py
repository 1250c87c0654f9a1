"""`extraTools`: find each on this machine and expose them (only) to Jupyter through one dir."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from jupyter_service.hints import find_program
from jupyter_service.paths import ServicePaths
from jupyter_service.state_files import SHARED_DIR, ensure_dir

_PACKAGE_BIN_DIRS = ("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/games/", "/usr/local/bin/")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _debian_package_programs(name: str) -> list[Path]:
    """The programs an installed Debian package ships (graphviz -> dot, neato, ...)."""
    if shutil.which("dpkg-query") is None:
        return []
    from jupyter_service.proc import run_subprocess

    proc = run_subprocess(["dpkg-query", "-L", name], check=False)
    if proc.returncode != 0:
        return []
    programs = []
    for line in proc.stdout.splitlines():
        if line.startswith(_PACKAGE_BIN_DIRS) and _is_executable(Path(line)):
            programs.append(Path(line))
    return programs


def find_tool(name: str, search_path: Sequence[str]) -> list[Path]:
    """The executables `name` stands for: a program in `search_path`, else a Debian package's."""
    for directory in search_path:
        candidate = Path(directory) / name
        if _is_executable(candidate):
            return [candidate]
    return _debian_package_programs(name)


def tool_problems(
    names: Sequence[str], search_path: Sequence[str], known: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Problems for tools not found on this machine (names already reported are skipped)."""
    problems = []
    reported = {path for path, _ in known}
    for i, name in enumerate(names):
        path = f"extraTools[{i}]"
        if path in reported or "extraTools" in reported or not isinstance(name, str):
            continue
        if not find_tool(name, search_path):
            problems.append(
                (
                    path,
                    f"{name!r} is not installed on this machine (looked in "
                    f"{', '.join(search_path)} and Debian's packages); install it, for example "
                    f"`apt-get install {name}`, or remove it",
                )
            )
    return problems


def _venv_kernel_wrapper() -> str:
    command = " ".join(f'"{part}"' for part in find_program("jupyter-venv-kernel"))
    return f'#!/bin/sh\nexec {command} "$@"\n'


def render_tools_dir(
    names: Sequence[str], search_path: Sequence[str], venv_kernels: bool
) -> dict[str, str]:
    """What goes in the tools dir: link name -> target path, or '#!' script text."""
    entries: dict[str, str] = {}
    for name in names:
        for program in find_tool(name, search_path):
            entries.setdefault(program.name, str(program))
    if venv_kernels:
        entries["jupyter-venv-kernel"] = _venv_kernel_wrapper()
    return entries


def write_tools_dir(where: ServicePaths, entries: dict[str, str]) -> Path:
    """A content-addressed dir of links and wrappers; built aside, renamed into place."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(repr(sorted(entries.items())).encode()).hexdigest()[:16]
    ensure_dir(where.tools, SHARED_DIR, where.state)
    target = where.tools / digest
    if target.is_dir() and not target.is_symlink():
        # Content-addressed, but made by whoever came first: used only when it holds
        # exactly what we would write, else replaced.
        ensure_dir(target, SHARED_DIR, where.state)
        if _holds(target, entries):
            return target
        _remove_aside(target)
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        for link, value in entries.items():
            if value.startswith("#!"):
                (work / link).write_text(value)
                (work / link).chmod(0o755)
            else:
                (work / link).symlink_to(value)
        work.chmod(0o755)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        work.rename(target)
    except OSError:
        # Someone else built the same content first.
        shutil.rmtree(work, ignore_errors=True)
    return target


def _holds(directory: Path, entries: dict[str, str]) -> bool:
    """Whether the tools dir `directory` holds exactly `entries`, as write_tools_dir makes
    them (links, and wrappers of mode 0755 that no one else can change)."""
    try:
        if sorted(os.listdir(directory)) != sorted(entries):
            return False
        for link, value in entries.items():
            path = directory / link
            if not value.startswith("#!"):
                if not path.is_symlink() or os.readlink(path) != value:
                    return False
                continue
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o755:
                return False
            if st.st_uid != os.lstat(directory).st_uid or path.read_text() != value:
                return False
    except OSError:
        return False
    return True


def _remove_aside(directory: Path) -> None:
    """Rename `directory` out of the way, then remove it (a server using it keeps its open
    files)."""
    import tempfile

    doomed = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    directory.rename(doomed / directory.name)
    shutil.rmtree(doomed, ignore_errors=True)
