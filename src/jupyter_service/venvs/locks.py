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


def _acquire(layout: Layout, label: str, *, wait: bool) -> int | None:
    """The locked fd of `label`'s lock file, or None when another holds it (and not `wait`).
    A lock file `clean_all` removed after we opened it locks nothing: open it again."""
    ensure_root(layout.venvs)
    ensure_root(layout.locks_dir())
    path = layout.locks_dir() / f"{label}.lock"
    while True:
        fd = _open_lock(layout, label)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            held, named = os.fstat(fd), os.stat(path, follow_symlinks=False)
            if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _try_lock(layout: Layout, label: str) -> int | None:
    return _acquire(layout, label, wait=False)


@contextmanager
def name_lock(layout: Layout, label: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the lock for `label`; a second holder is refused (or waits, with `wait`)."""
    fd = _acquire(layout, label, wait=wait)
    if fd is None:
        raise ServiceError(
            f"another jupyter-venv-kernel command is working on kernel '{label}' right now",
            hint="wait for it to finish, then run the command again",
        )
    try:
        yield
    finally:
        if label != BASE_LOCK and not _exists(layout, label):
            # Held, so no one else can be using it: a name that is gone keeps no lock file.
            (layout.locks_dir() / f"{label}.lock").unlink(missing_ok=True)
        os.close(fd)


def _exists(layout: Layout, name: str) -> bool:
    return os.path.lexists(layout.venvs / name) or os.path.lexists(layout.kernels / name)


def remove_unused_lock_files(layout: Layout) -> None:
    """Lock files of names with neither venv nor kernelspec (deleted, or a killed run's),
    each removed while holding it."""
    locks = layout.locks_dir()
    if not locks.is_dir() or locks.is_symlink():
        return
    for path in sorted(locks.iterdir()):
        label = path.name.removesuffix(".lock")
        if label == BASE_LOCK or not path.name.endswith(".lock") or path.is_symlink():
            continue
        if is_valid_name(label) and _exists(layout, label):
            continue
        fd = _try_lock(layout, label)
        if fd is None:
            continue
        try:
            path.unlink(missing_ok=True)
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


def clean_name(layout: Layout, name: str) -> bool:
    """Remove what a killed run for `name` left. Call with the name's lock held. True when
    that run was a `delete` (it had renamed something of `name` away to remove it)."""
    deleting = False
    for path in _leftovers(layout.venvs, name) + _leftovers(layout.kernels, name):
        deleting = deleting or path.name.endswith("-delete")
        shutil.rmtree(path, ignore_errors=True)
    venv = layout.venvs / name
    if (venv / INCOMPLETE_MARKER).exists() and not venv.is_symlink():
        if is_our_kernelspec(layout.kernels / name, venv):
            # Renaming the kernelspec into place is create's last step: it finished, and was
            # killed before it could drop the marker. The kernel is complete.
            (venv / INCOMPLETE_MARKER).unlink(missing_ok=True)
        else:
            shutil.rmtree(venv, ignore_errors=True)
    return deleting


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
    remove_unused_lock_files(layout)
