"""`extraTools`: find each on this machine and expose them (only) to Jupyter through one dir."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from jupyter_service.hints import find_program
from jupyter_service.paths import ServicePaths

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
    target = where.tools / digest
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
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
