"""How the stable tier runs uv: its binary, a clean environment, where logs go."""

from __future__ import annotations

import os
from pathlib import Path


def uv_bin() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def uv_env(**extra: str) -> dict[str, str]:
    """Our environment without what would point uv at another venv or project; uv never
    downloads an interpreter: the config names one that is on this machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    env.update(extra)
    return env


def log_dir(state: Path) -> Path:
    return state / "logs"
