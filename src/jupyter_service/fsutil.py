"""Filesystem helpers shared by the domains: one atomic write, one tree size."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from jupyter_service.errors import ServiceError


def write_text_atomic(
    target: Path,
    text: str,
    *,
    mode: int,
    what: str,
    hint: str | None = None,
    check: Callable[[Path], None] | None = None,
) -> None:
    """Write `text` to `target` with `mode` in one rename: a temp file beside it, synced,
    then (after `check`, which may raise to keep the old file) renamed over it."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ServiceError(f"cannot write {what}: {target}: {exc.strerror}", hint=hint) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def tree_size(root: Path) -> int:
    """Bytes of the files under `root` (links not followed; vanished files skipped)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (a zombie counts as gone): a temp name carrying the pid
    of a run that was killed is that run's leftover, and only then ours to clean."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
