"""Shared by the venv-kernel tests (a plugin named in conftest): one base venv built for
real once per session, and a test's own Jupyter data dir with it hardlinked in."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_service.venvs.build import COMPILED_MARKER
from jupyter_service.venvs.layout import Layout


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture(scope="session")
def prepared_base(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Path:
    """One base venv for the session, built for real by the first `create`."""
    root = tmp_path_factory.mktemp("base-builder")
    env = {
        **os.environ,
        "HOME": str(root),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "UV_CACHE_DIR": str(uv_cache),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service.venv_cli", "create", "seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Installing base packages" in proc.stdout
    bases = root / "data" / "venvs" / ".base"
    # The base is byte-compiled behind the first create; tests copy it once that is done.
    deadline = time.monotonic() + 600
    while not list(bases.glob(f"*/{COMPILED_MARKER}")):
        assert time.monotonic() < deadline, "the base was not byte-compiled in 600 s"
        time.sleep(0.2)
    return bases


@pytest.fixture
def bare_layout(uv_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    """This test's own Jupyter data dir (jp_environ), with an unrelated file in it."""
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache))
    layout = Layout.from_environment()
    layout.venvs.mkdir(parents=True)
    (layout.venvs.parent / "unrelated.txt").write_text("keep")
    return layout


@pytest.fixture
def layout(bare_layout: Layout, prepared_base: Path) -> Layout:
    """As bare_layout, with the session's base venv hardlinked in."""
    subprocess.run(["cp", "-al", str(prepared_base), str(bare_layout.base_dir())], check=True)
    return bare_layout


_RELEASE = threading.Event()


class _Stall(BaseHTTPRequestHandler):
    """Answers nothing until the test ends: whoever asks it waits until killed."""

    def do_GET(self) -> None:
        _RELEASE.wait(600)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stalling_index() -> Iterator[str]:
    """A package index URL that never answers (a loopback server that stalls)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stall)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _RELEASE.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    _RELEASE.set()
    server.shutdown()
    server.server_close()
