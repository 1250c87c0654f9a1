"""Where stable kernels' locks live: `<config dir>/<config stem>.lock/<kernel>/`, one dir per
kernel, written by its language and meant to be committed with the config."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from jupyter_service.fsutil import pid_alive

# Scratch dirs of a `lock` run, beside the kernels' lock dirs: `.tmp-<pid>-<random>`.
TMP_NAME = re.compile(r"\.tmp-(?P<pid>\d+)-[^/]+")


def lock_root(config_path: Path) -> Path:
    """`/etc/jupyter-service/config.toml` -> `/etc/jupyter-service/config.lock`."""
    return config_path.parent / f"{config_path.stem}.lock"


@contextlib.contextmanager
def lock_root_ready(root: Path) -> Iterator[None]:
    """`root` exists inside; a root made here and left empty (a first lock that failed) is
    removed again."""
    fresh = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        if fresh and root.is_dir() and not any(root.iterdir()):
            root.rmdir()


def scratch_dir(root: Path) -> Path:
    """A scratch dir in `root` for one `lock` run, named with its pid (see remove_stale_work)."""
    return Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=root))


def remove_stale_work(root: Path) -> None:
    """Remove the scratch dirs of `lock` runs that were killed (their pid is gone); a running
    one's stays."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        match = TMP_NAME.fullmatch(entry.name)
        if match and not entry.is_symlink() and not pid_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


def remove_stale_locks(
    root: Path, keep: set[str], remove_lock: Callable[[Path], bool]
) -> list[str]:
    """Remove the lock dirs of kernels no longer in the config: those `remove_lock` (each
    language's) recognises as written by us."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for directory in sorted(root.iterdir()):
        # A hidden name is a scratch dir, never a kernel's lock.
        if directory.name.startswith(".") or directory.name in keep:
            continue
        if directory.is_symlink() or not directory.is_dir():
            continue
        if not remove_lock(directory):
            continue
        try:
            directory.rmdir()
        except OSError:
            continue
        removed.append(directory.name)
    return removed
