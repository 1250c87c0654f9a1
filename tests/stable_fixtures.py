"""Shared by the stable-kernel tests (a plugin named in conftest): small configs, their
locks resolved once per session by real uv, and helpers to look at a state dir."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from jupyter_service.cli import main
from jupyter_service.config import load_config
from jupyter_service.store.switch import lock_kernels

# The base interpreter by absolute path: a HOME-relative shim (pyenv) breaks under jp_environ.
PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
PASSWORD_HASH = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$JgmFmHnWq2nbyINEzBHQLQ$"
    "w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"
)
MISSING = "jupyter-service-no-such-package-4f1c"


def render_config(
    packages: list[str], *, python: str = PYTHON, extra: str = "", head: str = ""
) -> str:
    """A config with one stable kernel `small`; `head` replaces the top-level options."""
    return (
        (head or f"enable = true\npassword = {json.dumps(PASSWORD_HASH)}\n")
        + "\n[extraKernels.small]\n"
        'language = "python"\n'
        f"packages = {json.dumps(packages)}\n"
        f"pythonPackage = {json.dumps(python)}\n" + extra
    )


CONFIG_A = render_config(["iniconfig"])
CONFIG_B = render_config(["iniconfig", "six"])


@pytest.fixture(scope="session")
def stable_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One uv cache for the session's locks and builds (real downloads, made once)."""
    cache = tmp_path_factory.mktemp("stable-uv-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UV_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(scope="session")
def locked(tmp_path_factory: pytest.TempPathFactory, stable_uv_cache: Path) -> dict[str, Path]:
    """Config dirs A and B, each with a config and its lock, locked once for the session."""
    dirs = {}
    state = tmp_path_factory.mktemp("lock-state")
    for name, text in (("a", CONFIG_A), ("b", CONFIG_B)):
        directory = tmp_path_factory.mktemp(f"config-{name}")
        (directory / "config.toml").write_text(text)
        lock_kernels(load_config(directory / "config.toml"), state)
        dirs[name] = directory
    return dirs


@pytest.fixture
def project(locked: dict[str, Path], tmp_path: Path) -> Path:
    """This test's own copy of config A and its lock."""
    directory = tmp_path / "admin"
    shutil.copytree(locked["a"], directory)
    return directory


def use_config(project: Path, locked: dict[str, Path], which: str) -> Path:
    """Put config and lock `which` in the test's config dir (as an admin's git pull would)."""
    shutil.rmtree(project / "config.lock")
    shutil.copytree(locked[which] / "config.lock", project / "config.lock")
    shutil.copyfile(locked[which] / "config.toml", project / "config.toml")
    return project / "config.toml"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def kernelspec(state: Path, name: str = "small") -> dict[str, object]:
    spec = json.loads((state / "current" / "kernels" / name / "kernel.json").read_text())
    assert isinstance(spec, dict)
    return spec


def store_path(state: Path, name: str = "small") -> Path:
    argv = kernelspec(state, name)["argv"]
    assert isinstance(argv, list)
    return Path(argv[0]).parent.parent


def start_kernel(kernels_dir: Path, name: str = "small") -> tuple[KernelManager, object]:
    km = KernelManager(
        kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    )
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc
