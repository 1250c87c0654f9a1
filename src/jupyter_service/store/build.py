"""Store paths: `<state>/store/<hash>-<name>`, whatever the language.

A store path is complete or absent: a language builds it in a temp dir beside it, then it
is made read-only and renamed into place. The hash covers everything that goes in it (the
inputs its language names).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_service.fsutil import make_dirs
from jupyter_service.store.verify import CONTENTS_DIR, write_contents

TMP_PREFIX = ".tmp-"


def store_hash(name: str, inputs: Mapping[str, Any]) -> str:
    """The store key of kernel `name` built from `inputs`. Pure."""
    return hashlib.sha256(
        json.dumps({"name": name, **inputs}, sort_keys=True).encode()
    ).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, stat.S_IMODE(mode) & ~0o222)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                dirnames.remove(name)
    for dirpath, _, _ in os.walk(root, topdown=False):
        os.chmod(dirpath, 0o555)


def remove_tree(root: Path) -> None:
    """Remove a (read-only) tree we made; never follows a symlink out of it."""
    if root.is_symlink() or not root.exists():
        return
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    shutil.rmtree(root)


def replace_damaged(path: Path) -> Path:
    """Move a damaged store path aside (a scratch name, removed with `remove_tree` once its
    rebuild is in place, or by the next `remove_stale_work`), so it can be built again."""
    aside = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}damaged-{path.name}-", dir=path.parent))
    os.chmod(path, 0o755)  # moving a dir to another parent rewrites its `..`
    moved = aside / path.name
    path.rename(moved)
    return aside


def remove_stale_work(store: Path) -> dict[Path, int]:
    """Remove the temp dirs a killed build left (callers hold the state lock); return each
    one's size in bytes."""
    from jupyter_service.fsutil import tree_size

    removed: dict[Path, int] = {}
    if store.is_dir():
        for entry in sorted(store.iterdir()):
            if entry.name.startswith(TMP_PREFIX):
                removed[entry] = tree_size(entry)
                remove_tree(entry)
    # A content record being written (`write_text_atomic`'s `.NAME.XXXX.tmp`).
    records = store / CONTENTS_DIR
    if records.is_dir():
        for entry in sorted(records.iterdir()):
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                removed[entry] = entry.lstat().st_size
                entry.unlink()
    return removed


def install_tree(target: Path, fill: Callable[[Path], Path]) -> None:
    """Make store path `target`: `fill(work)` builds a tree inside the scratch dir `work`
    and returns it; that tree is made read-only and renamed to `target`. Nothing is left
    behind on failure."""
    make_dirs(target.parent, 0o755)
    work = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=target.parent))
    ready = work.with_name(f"{work.name}-ready")
    try:
        tree = fill(work)
        write_contents(target, tree)
        set_read_only(tree)
        # Moving a dir to another parent rewrites its `..`: it must be writable for that.
        # Then, read-only, one rename within the store puts it in place: a kill at any
        # point leaves the path absent, or complete and read-only.
        os.chmod(tree, 0o755)
        tree.rename(ready)
        os.chmod(ready, 0o555)
        ready.rename(target)
    finally:
        remove_tree(work)
        remove_tree(ready)
