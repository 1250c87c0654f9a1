"""Commands that neither serve nor start kernels import none of the server or kernel
libraries (issue 13: they cost a quarter of a second per command), and each leaves out what
it does not use: the config's library checks (argon2, packaging), the config itself, the
build code. Checked on the installed console scripts with Python's own import log, so a new
top-level import cannot creep back."""

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
# What checking a password hash and package requirements loads (only `check` needs them).
CONFIG_CHECKS = {"argon2", "packaging"}
# Reading the config at all.
CONFIG = {"tomllib", "jupyter_service.config"}
# Building and running things: subprocesses, the switch code.
BUILD = {"subprocess", "jupyter_service.store.switch"}


def imported_modules(*cmd: str, expect_rc: int = 0) -> set[str]:
    """Every module the command imported (Python's -X importtime log), after it ran, by its
    full name and by each package above it (`a.b.c` gives `a`, `a.b` and `a.b.c`)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(
        [str(BIN / cmd[0]), *cmd[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == expect_rc, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert len(lines) > 10, proc.stderr  # the log is there, so an empty set means something
    names = {line.rsplit("|", 1)[1].strip() for line in lines[1:]}
    return {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)}


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


GENERATIONS = {"jupyter_service.store.generations"}


@pytest.mark.parametrize(
    ("cmd", "left_out", "used"),
    [
        (
            ["jupyter-service", "--help"],
            CONFIG_CHECKS | CONFIG | BUILD | {"dataclasses"},
            {"jupyter_service.commands.switch"},
        ),
        (["jupyter-service", "generations"], CONFIG_CHECKS | CONFIG | BUILD, GENERATIONS),
        (["jupyter-service", "rollback"], CONFIG_CHECKS | CONFIG | BUILD, GENERATIONS),
        (["jupyter-service", "check"], set(), CONFIG_CHECKS),
        (["jupyter-service", "paths"], set(), CONFIG),
        (
            ["jupyter-venv-kernel", "--help"],
            CONFIG_CHECKS | CONFIG | BUILD | {"dataclasses"},
            {"jupyter_service.venv_commands.create"},
        ),
        # `list` reads the config (what does the server hide?), without its library checks.
        (["jupyter-venv-kernel", "list"], CONFIG_CHECKS | BUILD, CONFIG),
        (["jupyter-venv-kernel", "list", "--json"], CONFIG_CHECKS | BUILD, CONFIG),
    ],
)
def test_commands_import_only_what_they_use(
    service: Path,
    monkeypatch: pytest.MonkeyPatch,
    cmd: list[str],
    left_out: set[str],
    used: set[str],
) -> None:
    """`used` shows the command did its work (so leaving the rest out is no accident)."""
    monkeypatch.setenv("JUPYTER_SERVICE_CONFIG", str(service))
    monkeypatch.delenv("JUPYTER_SERVICE_HIDES_PYTHON", raising=False)
    modules = imported_modules(*cmd)
    assert modules >= used
    assert modules & (HEAVY | left_out) == set()


@pytest.mark.slow
def test_create_imports_no_server_or_kernel_library(layout: Layout) -> None:
    """`create` on a machine with the base made: all of it, with nothing left to run uv for."""
    modules = imported_modules("jupyter-venv-kernel", "create", "quick")
    assert (layout.kernels / "quick" / "kernel.json").is_file()
    assert modules & (HEAVY | CONFIG_CHECKS | CONFIG) == set()
