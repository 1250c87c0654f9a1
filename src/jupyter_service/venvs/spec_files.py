"""Read kernelspecs back: is this one ours, and for which venv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_kernel_json(spec_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((spec_dir / "kernel.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def venv_of(spec: dict[str, Any]) -> str | None:
    """The venv an experimental kernelspec of ours points at, else None."""
    meta = spec.get("metadata")
    ours = meta.get("jupyter_service") if isinstance(meta, dict) else None
    if isinstance(ours, dict) and ours.get("tier") == "experimental":
        venv = ours.get("venv")
        return venv if isinstance(venv, str) else None
    return None


def is_our_kernelspec(spec_dir: Path, venv: Path) -> bool:
    if spec_dir.is_symlink() or not spec_dir.is_dir():
        return False
    spec = read_kernel_json(spec_dir)
    return spec is not None and venv_of(spec) == str(venv)
