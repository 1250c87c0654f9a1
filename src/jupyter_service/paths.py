"""Where things live, resolved at call time from the environment (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/jupyter-service/config.toml")


def find_config(explicit: str | None) -> Path | None:
    """The config named by --config, else $JUPYTER_SERVICE_CONFIG, else the system one."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JUPYTER_SERVICE_CONFIG")
    if env:
        return Path(env)
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    return None


def state_dir() -> Path:
    """$JUPYTER_SERVICE_STATE_DIR, else /var/lib/jupyter-service as root, else XDG state."""
    env = os.environ.get("JUPYTER_SERVICE_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/jupyter-service")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "jupyter-service"
