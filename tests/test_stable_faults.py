"""The stable tier through faults (issue 10): killed commands, followed by the same command."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import BASE_URL, PASSWORD, Service, free_port, hash_password, login, run_in_kernel
from .stable_fixtures import MISSING, cli, render_config, tree_bytes, use_config

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


def sizes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.lstat().st_size for p in root.rglob("*")}


def service_config(project: Path, port: int, tools: Path) -> Path:
    head = (
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(project / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
        f'extraTools = ["sh"]\nextraToolsPath = [{json.dumps(str(tools))}]\n'
    )
    config = project / "config.toml"
    config.write_text(render_config(["iniconfig"], head=head))
    return config


def test_full_disk_keeps_serving_the_current_generation(
    project: Path, small_fs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10.3. Before: with the state filesystem full and nothing to build, `up` and
    `run` crashed writing their settings before serving."""
    state = small_fs / "state"
    port = free_port()
    config = service_config(project, port, Path("/bin"))
    first = Service(project / "first", config, port, state=state)
    try:
        first.wait_ready(timeout=300)
    finally:
        assert first.stop() == 0, first.output()
    before = sizes(state)
    fill(small_fs)
    for command in ("up", "run"):
        service = Service(project / command, config, port, command=command, state=state)
        try:
            service.wait_ready(timeout=120)
            session = login(service)
            specs = session.get(service.url("api/kernelspecs"), timeout=30).json()
            assert specs["default"] == "small", specs
            assert run_in_kernel(service, session, "print(1 + 1)", kernel_name="small") == "2\n"
        finally:
            assert service.stop() == 0, service.output()
        assert "Traceback" not in service.output(), service.output()
    # Nothing written, nothing left half-written.
    assert sizes(state) == before


def test_full_disk_during_a_build_is_one_clear_message(
    project: Path,
    locked: dict[str, Path],
    small_fs: Path,
    service_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10.3: ENOSPC names the full filesystem, with no traceback, no 0-byte log, and
    the current generation as it was."""
    state = small_fs / "state"
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))
    code, _, err = cli(capsys, "switch", "--config", str(project / "config.toml"))
    assert code == 0, err
    current = os.readlink(state / "current")
    config_b = use_config(project, locked, "b")
    fill(small_fs)
    before = sizes(state)
    code, _, err = cli(capsys, "switch", "--config", str(config_b))
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert error == (
        f"error: no space left on the filesystem mounted at {small_fs} (switching: {state})"
    )
    assert "Traceback" not in err
    assert f"hint: free space there (`df -h {small_fs}`;" in err
    assert os.readlink(state / "current") == current
    assert sizes(state) == before
