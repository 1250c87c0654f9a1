"""Per-name locks, and cleaning what a killed run left behind."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.names import is_valid_name
from jupyter_service.venvs.layout import INCOMPLETE_MARKER, Layout, ensure_root
from jupyter_service.venvs.spec_files import is_our_kernelspec

BASE_LOCK = "_base"


# What `build.temp_dir` names: `.tmp-<label>-<pid>-<ns>`, and `.tmp-<name>-<pid>-delete`.
# Labels hold '-' themselves: `ab` must never match `ab-c`'s work.
TEMP_NAME = re.compile(r"\.tmp-(?P<label>.+)-\d+-(?:\d+|delete)")


def _open_lock(layout: Layout, label: str) -> int:
    path = layout.locks_dir() / f"{label}.lock"
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    raise ServiceError(
        f"refusing to use {path}: it is a symlink (to {os.readlink(path)})",
        hint=f"remove the link: `rm {path}`",
    )


def _try_lock(layout: Layout, label: str) -> int | None:
    ensure_root(layout.venvs)
    ensure_root(layout.locks_dir())
    fd = _open_lock(layout, label)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextmanager
def name_lock(layout: Layout, label: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the lock for `label`; a second holder is refused (or waits, with `wait`)."""
    fd = _try_lock(layout, label)
    if fd is None and wait:
        fd = _open_lock(layout, label)
        fcntl.flock(fd, fcntl.LOCK_EX)
    if fd is None:
        raise ServiceError(
            f"another jupyter-venv-kernel command is working on kernel '{label}' right now",
            hint="wait for it to finish, then run the command again",
        )
    try:
        yield
    finally:
        os.close(fd)


def _temp_label(path: Path) -> str | None:
    match = TEMP_NAME.fullmatch(path.name)
    return match["label"] if match else None


def _leftovers(root: Path, label: str | None) -> list[Path]:
    """Work dirs under `root` left for exactly `label` (any label: None)."""
    if not root.is_dir() or root.is_symlink():
        return []
    return [
        p
        for p in root.iterdir()
        if (found := _temp_label(p)) is not None
        and (label is None or found == label)
        and not p.is_symlink()
    ]


def clean_name(layout: Layout, name: str) -> None:
    """Remove what a killed run for `name` left. Call with the name's lock held."""
    for path in _leftovers(layout.venvs, name) + _leftovers(layout.kernels, name):
        shutil.rmtree(path, ignore_errors=True)
    venv = layout.venvs / name
    if (venv / INCOMPLETE_MARKER).exists() and not venv.is_symlink():
        spec = layout.kernels / name
        if is_our_kernelspec(spec, venv):
            shutil.rmtree(spec, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)


def clean_all(layout: Layout) -> None:
    """Clean every name whose lock is free (a run in progress keeps its work)."""
    names = set()
    for root in (layout.venvs, layout.kernels):
        for path in _leftovers(root, None):
            label = _temp_label(path)
            if label is not None and is_valid_name(label):
                names.add(label)
    if layout.venvs.is_dir():
        names |= {p.parent.name for p in layout.venvs.glob(f"*/{INCOMPLETE_MARKER}")}
    for name in sorted(names):
        fd = _try_lock(layout, name)
        if fd is None:
            continue
        try:
            clean_name(layout, name)
        finally:
            os.close(fd)
    base_fd = _try_lock(layout, BASE_LOCK) if layout.base_dir().is_dir() else None
    if base_fd is not None:
        try:
            for path in _leftovers(layout.base_dir(), "base"):
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(base_fd)
