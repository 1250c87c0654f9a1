"""State files are ours alone (SECURITY.md 30).

Every dir and file in the state dir is made with an explicit mode, never through the
umask: what the hub's users must read (the state dir, the store, generations, tools,
JupyterLab's settings) 0755/0644, the rest 0700/0600. One that is already there is trusted
only when no other account could have written it: owned by us or root, not writable by
group or others, and not a symlink where a dir or file is expected. Otherwise we refuse,
naming the path and the `chmod`/`chown` that fixes it (`up`, `switch`), or report it
(`doctor`).
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import make_dirs
from jupyter_service.paths import ServicePaths

SHARED_DIR = 0o755
PRIVATE_DIR = 0o700
SHARED_FILE = 0o644
PRIVATE_FILE = 0o600


@dataclass(frozen=True)
class Unsafe:
    """A state path another account could have written, and the command that fixes it."""

    path: Path
    problem: str
    fix: str

    def render(self) -> str:
        return f"{self.path}: {self.problem}"


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def trusted_owners(state: Path) -> frozenset[int]:
    """Who may own state files: us and root; as root, also the account that owns the state
    dir when only root could have made it there (its parent is root's and closed to others:
    systemd's StateDirectory gives /var/lib/jupyter-service to the service's user)."""
    me = os.geteuid()
    owners = {me, 0}
    if me == 0:
        try:
            parent = os.stat(state.parent)
            if parent.st_uid == 0 and not parent.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                owners.add(os.stat(state).st_uid)
        except OSError:
            pass
    return frozenset(owners)


def find_unsafe(
    path: Path,
    owners: Collection[int],
    *,
    directory: bool,
    private: bool = False,
    follow: bool = False,
    link: bool = False,
) -> Unsafe | None:
    """Why another account could have written `path` (absent: None). `private`: nobody but
    the owner may even read it (secrets); `follow`: a symlink to a good dir is fine (the
    state dir itself); `link`: a symlink is what we expect (`current`)."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Unsafe(path, f"cannot be read ({exc.strerror})", f"ls -ld {path}")
    kind = "directory" if directory else "file"
    if stat.S_ISLNK(st.st_mode) and not link:
        return Unsafe(path, f"is a symbolic link where a {kind} is expected", f"rm {path}")
    if not stat.S_ISLNK(st.st_mode):
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir != directory or not (is_dir or stat.S_ISREG(st.st_mode)):
            return Unsafe(path, f"is not a {kind}", f"rm -r {path}")
    if st.st_uid not in owners:
        me = _account(os.geteuid())
        return Unsafe(
            path,
            f"is owned by {_account(st.st_uid)}, not {me}",
            f"chown {'-R ' if directory else ''}{me} {path}",
        )
    if stat.S_ISLNK(st.st_mode):
        return None
    mode = stat.S_IMODE(st.st_mode)
    if private and mode & 0o077:
        want = PRIVATE_DIR if directory else PRIVATE_FILE
        return Unsafe(
            path, f"is open to other accounts (mode {mode:04o})", f"chmod {want:o} {path}"
        )
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "others" if mode & stat.S_IWOTH else f"group {_group(st.st_gid)}"
        return Unsafe(path, f"is writable by {who} (mode {mode:04o})", f"chmod go-w {path}")
    return None


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def refuse(found: list[Unsafe]) -> None:
    """Raise naming every unsafe path and the commands that fix them (nothing: return)."""
    if not found:
        return
    lines = "\n".join(f"  {unsafe.render()}" for unsafe in found)
    raise ServiceError(
        f"state files another account could have written (not trusted):\n{lines}",
        hint=" && ".join(unsafe.fix for unsafe in found),
    )


def ensure_dir(path: Path, mode: int, state: Path) -> Path:
    """`path` (in `state`, or `state` itself) as a dir with `mode`, its missing parents
    0755; one already there must be safe, else ServiceError with the fix."""
    make_dirs(path, mode)
    owners = trusted_owners(state)
    refuse(
        [
            unsafe
            for unsafe in (
                find_unsafe(state, owners, directory=True, follow=True),
                find_unsafe(path, owners, directory=True, private=mode == PRIVATE_DIR)
                if path != state
                else None,
            )
            if unsafe is not None
        ]
    )
    return path


def check_file(path: Path, state: Path, *, private: bool = False) -> None:
    """Refuse an existing `path` another account could have written (absent: fine)."""
    unsafe = find_unsafe(path, trusted_owners(state), directory=False, private=private)
    refuse([unsafe] if unsafe else [])


def open_lock(path: Path, state: Path) -> int:
    """A lock file's descriptor: made 0600, never through a symlink, checked when it was
    there already."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        check_file(path, state)
    except BaseException:
        os.close(fd)
        raise
    return fd


def find_unsafe_state(where: ServicePaths) -> list[Unsafe]:
    """Every path of the state dir another account could have written: the dir itself,
    each entry in it, and one level into the store, generations, tools, JupyterLab's
    settings and the hub dir. Reads only."""
    state = where.state
    owners = trusted_owners(state)
    top = find_unsafe(state, owners, directory=True, follow=True)
    if top is not None or not state.is_dir():
        return [top] if top else []
    private = {where.secret, where.hub}
    looked_into = {where.store, where.generations, where.tools, where.lab_settings, where.hub}
    # `current`, and the link a switch renames over it; a store path may be a link.
    links = {where.current}
    found: list[Unsafe | None] = []
    for entry in sorted(state.iterdir()):
        inner = sorted(entry.iterdir()) if entry in looked_into and _is_dir(entry) else []
        link = entry in links or entry.name.startswith(f".{where.current.name}-")
        found.append(_look(entry, owners, private=entry in private, link=link))
        found += [_look(p, owners, link=entry == where.store) for p in inner]
    return [u for u in found if u is not None]


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _look(
    path: Path, owners: Collection[int], *, private: bool = False, link: bool
) -> Unsafe | None:
    return find_unsafe(path, owners, directory=_is_dir(path), private=private, link=link)
