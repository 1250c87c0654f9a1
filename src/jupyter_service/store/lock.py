"""Where stable kernels' locks live: `<config dir>/<config stem>.lock/<kernel>/`, one dir per
kernel, written by its language and meant to be committed with the config."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path


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


def remove_stale_locks(
    root: Path, keep: set[str], remove_lock: Callable[[Path], bool]
) -> list[str]:
    """Remove the lock dirs of kernels no longer in the config: those `remove_lock` (each
    language's) recognises as written by us."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for directory in sorted(root.iterdir()):
        if directory.name in keep or directory.is_symlink() or not directory.is_dir():
            continue
        if not remove_lock(directory):
            continue
        try:
            directory.rmdir()
        except OSError:
            continue
        removed.append(directory.name)
    return removed
