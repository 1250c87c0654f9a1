"""Filesystem helpers shared by the domains: one atomic write, one tree size."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from jupyter_service.errors import ServiceError, disk_full_error


def write_text_atomic(
    target: Path,
    text: str,
    *,
    mode: int,
    what: str,
    hint: str | None = None,
    check: Callable[[Path], None] | None = None,
    fsync: bool = True,
) -> None:
    """Write `text` to `target` with `mode` in one rename: a temp file beside it, synced
    (unless `fsync` is off: a cache that can be computed again is not worth a disk flush),
    then (after `check`, which may raise to keep the old file) renamed over it."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ServiceError(f"cannot write {what}: {target}: {exc.strerror}", hint=hint) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_generated(target: Path, text: str, *, mode: int = 0o644, what: str) -> None:
    """A file generated from the config: written only when its content changes. When the
    write fails (a full disk) and a copy is there, warn and keep serving with that copy."""
    try:
        if target.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, text, mode=mode, what=what)
    except (OSError, ServiceError) as exc:
        if not target.is_file():
            if isinstance(exc, ServiceError):
                raise
            if exc.errno == errno.ENOSPC:
                raise disk_full_error(target, f"writing {what}") from None
            raise ServiceError(f"cannot write {what}: {target}: {exc.strerror}") from None
        reason = exc.message if isinstance(exc, ServiceError) else exc.strerror
        print(
            f"warning: cannot update {what} {target} ({reason}); using the copy there",
            file=sys.stderr,
        )


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
