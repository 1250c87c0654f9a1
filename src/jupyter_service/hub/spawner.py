"""Each user's server, started as that user on this host (JupyterHub's local spawner)."""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Dict

from jupyter_service.hub.singleuser import SETTINGS_ENV


class ServiceSpawner(LocalProcessSpawner):  # type: ignore[misc]
    """The local spawner, handing each server the service's pinned settings."""

    singleuser_settings = Dict(
        config=True, help="The traitlets config of every user's server (rendered by the hub)."
    )

    def get_env(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_env()
        env[SETTINGS_ENV] = json.dumps(self.singleuser_settings)
        return env
