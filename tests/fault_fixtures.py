"""Shared by the fault tests (a plugin named in conftest): a small filesystem of its own
to fill up."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A filesystem of its own for the state dir (a tmpfs), to fill up."""
    mount = tmp_path / "state-fs"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(filesystem: Path) -> None:
    """Write zeros until the filesystem is 100% full."""
    for name, size in (("filler", 1 << 20), ("filler-tail", 512)):
        fd = os.open(filesystem / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * size)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
    assert shutil.disk_usage(filesystem).free == 0
