"""Commands that neither serve nor start kernels import none of the server or kernel
libraries (issue 13: they cost a quarter of a second per command). Checked on the installed
console scripts with Python's own import log, so a new top-level import cannot creep back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_service.venvs.layout import Layout

from .helpers import hash_password, write_stable_generation

BIN = Path(sys.executable).parent
HEAVY = {"jupyter_server", "jupyter_client", "tornado", "zmq", "IPython"}


def imported_modules(*cmd: str, expect_rc: int = 0) -> set[str]:
    """Every module the command imported (Python's -X importtime log), after it ran."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(
        [str(BIN / cmd[0]), *cmd[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == expect_rc, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert len(lines) > 10, proc.stderr  # the log is there, so an empty set means something
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


@pytest.fixture
def service(service_environ: Path, tmp_path: Path) -> Path:
    """A config with a password and packages (argon2 and packaging are used), and two
    generations with a stable kernel, to roll back between."""
    for _ in range(2):
        write_stable_generation(service_environ, tmp_path / "store")
    config = tmp_path / "config.toml"
    config.write_text(
        f'enable = true\npassword = "{hash_password("s3cret")}"\n'
        '[extraKernels.python-base]\nenable = true\nextraPackages = ["requests>=2"]\n'
    )
    return config


@pytest.mark.parametrize(
    "cmd",
    [
        ["jupyter-service", "--help"],
        ["jupyter-service", "generations"],
        ["jupyter-service", "check", "--config", "{config}"],
        ["jupyter-service", "rollback"],
        ["jupyter-service", "paths", "--config", "{config}"],
        ["jupyter-venv-kernel", "--help"],
        ["jupyter-venv-kernel", "list"],
        ["jupyter-venv-kernel", "list", "--json"],
    ],
)
def test_commands_import_no_server_or_kernel_library(service: Path, cmd: list[str]) -> None:
    modules = imported_modules(*(part.format(config=service) for part in cmd))
    assert "jupyter_service" in modules
    assert modules & HEAVY == set()


@pytest.mark.slow
def test_create_imports_no_server_or_kernel_library(layout: Layout) -> None:
    """`create` on a machine with the base made: all of it, with nothing left to run uv for."""
    modules = imported_modules("jupyter-venv-kernel", "create", "quick")
    assert (layout.kernels / "quick" / "kernel.json").is_file()
    assert modules & HEAVY == set()
