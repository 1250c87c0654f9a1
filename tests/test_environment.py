"""One place cleans a subprocess's environment: uv for the stable tier, uv for venv kernels,
and a venv kernel's shell all drop what would point them at another Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_service.kernels.python import uv_env
from jupyter_service.proc import FOREIGN_ENVIRONMENT, clean_environment
from jupyter_service.venvs.build import subprocess_env
from jupyter_service.venvs.manage import venv_environment


def test_every_child_environment_is_cleaned_the_same_way(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in FOREIGN_ENVIRONMENT:
        monkeypatch.setenv(name, f"/elsewhere/{name}")
    monkeypatch.setenv("KEEP_ME", "1")
    venv = tmp_path / "venv"
    for env in (clean_environment(), uv_env(), subprocess_env(), venv_environment(venv)):
        assert env["KEEP_ME"] == "1"
        assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
        assert env.get("VIRTUAL_ENV") in (None, str(venv))
        assert not any(env.get(name, "").startswith("/elsewhere/") for name in FOREIGN_ENVIRONMENT)
    assert uv_env()["UV_PYTHON_DOWNLOADS"] == "never"
    shell = venv_environment(venv)
    assert shell["VIRTUAL_ENV"] == str(venv) and shell["PATH"].startswith(f"{venv / 'bin'}:")
