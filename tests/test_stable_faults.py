"""The stable tier through faults (issue 10): killed commands, followed by the same command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .stable_fixtures import MISSING, cli, render_config, tree_bytes

pytestmark = pytest.mark.slow


def test_killed_lock_is_cleaned_by_the_next_lock_and_reported_as_nothing(
    project: Path, stalling_index: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10.6. Before: the scratch dir a killed `lock` left was a kernel that "changed"
    and "was removed from the config"."""
    config = project / "config.toml"
    original = config.read_text()
    lock_root = project / "config.lock"
    before = tree_bytes(lock_root)
    # A package uv must ask the (stalling) index about: the lock is killed while uv waits.
    config.write_text(render_config(["iniconfig", MISSING]))
    env = {**os.environ, "UV_DEFAULT_INDEX": stalling_index, "UV_OFFLINE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_service", "lock", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(lock_root.glob(".tmp-*/pyproject.toml")):
        assert proc.poll() is None and time.monotonic() < deadline, "lock never started"
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert list(lock_root.glob(".tmp-*")), "the kill left no scratch dir to clean"
    config.write_text(original)
    code, out, err = cli(capsys, "lock", "--config", str(config))
    assert code == 0, err
    assert ".tmp" not in out + err
    assert "removed the lock" not in out + err
    assert list(lock_root.glob(".tmp-*")) == []
    assert tree_bytes(lock_root) == before
