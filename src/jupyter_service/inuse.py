"""Which running processes use the entries of a directory: their command line, executable or
mapped files point inside. `gc` keeps such store paths; `delete` refuses such venvs."""

from __future__ import annotations

import os
from pathlib import Path


def _entry(path: str, prefix: str) -> str | None:
    if path.startswith(prefix):
        return path[len(prefix) :].split("/", 1)[0]
    return None


def find_users(root: Path) -> dict[str, list[int]]:
    """Names of entries under `root` that running processes use -> their pids."""
    prefix = str(root.resolve()) + "/"
    users: dict[str, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        paths: list[str] = []
        try:
            paths += (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            paths.append(os.readlink(proc / "exe"))
        except OSError:
            pass
        try:
            with (proc / "maps").open() as maps:
                paths += [line.rsplit(" ", 1)[-1].strip() for line in maps if prefix in line]
        except OSError:
            pass
        for path in paths:
            entry = _entry(os.path.normpath(path), prefix) if path else None
            if entry and int(proc.name) not in users.setdefault(entry, []):
                users[entry].append(int(proc.name))
    return users


def describe_process(pid: int, width: int = 200) -> str:
    """`pid 123 (python -m ipykernel_launcher -f …)`: the pid and its command line."""
    try:
        args = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    command = " ".join(a.decode(errors="replace") for a in args if a)
    if len(command) > width:
        command = command[: width - 1] + "…"
    return f"pid {pid} ({command})" if command else f"pid {pid}"
