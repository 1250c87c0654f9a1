"""Filesystem helpers shared by the domains: one atomic write, one tree size."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Collection
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


def make_dirs(path: Path, mode: int, parents_mode: int = 0o755) -> None:
    """`path` with `mode` and its missing parents with `parents_mode`, whatever the umask
    (mkdir's mode passes through it; a dir already there is left as it is)."""
    missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
    for directory in reversed(missing):
        wanted = mode if directory == path else parents_mode
        try:
            os.mkdir(directory, wanted)
        except FileExistsError:
            continue
        os.chmod(directory, wanted)


def write_generated(
    target: Path, text: str, *, mode: int = 0o644, what: str, owners: Collection[int]
) -> None:
    """A file generated from the config, rewritten unless the copy there is exactly what we
    would write: the text, `mode`, a regular file owned by one of `owners`. When the write
    fails (a full disk) and a copy is there that no other account could have written, warn
    and keep serving with that copy."""
    try:
        st = os.lstat(target)
    except OSError:
        st = None
    usable = (
        st is not None
        and stat.S_ISREG(st.st_mode)
        and st.st_uid in owners
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
    if usable and st is not None and stat.S_IMODE(st.st_mode) == mode:
        try:
            if target.read_text(encoding="utf-8") == text:
                return
        except (OSError, UnicodeDecodeError):
            pass
    try:
        write_text_atomic(target, text, mode=mode, what=what)
    except (OSError, ServiceError) as exc:
        reason = exc.message if isinstance(exc, ServiceError) else exc.strerror
        if st is not None and not usable:
            raise ServiceError(
                f"cannot write {what}: {target} ({reason}), and the copy there is not "
                "ours to trust (another account could have written it)",
                hint=f"rm {target}, then start again",
            ) from None
        if st is None:
            if isinstance(exc, ServiceError):
                raise
            if exc.errno == errno.ENOSPC:
                raise disk_full_error(target, f"writing {what}") from None
            raise ServiceError(f"cannot write {what}: {target}: {exc.strerror}") from None
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
