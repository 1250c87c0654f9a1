"""Each user's server, started as that user on this host: as a child of the hub (JupyterHub's
local spawner), or as a transient systemd unit with memory and CPU limits
(jupyterhub-systemdspawner, as The Littlest JupyterHub does)."""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner
from systemdspawner import SystemdSpawner
from traitlets import Dict, HasTraits

from jupyter_service.hub.singleuser import SETTINGS_ENV


class PinnedSettings(HasTraits):
    """Hands each server the service's pinned settings in its environment."""

    singleuser_settings = Dict(
        config=True, help="The traitlets config of every user's server (rendered by the hub)."
    )

    def get_env(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_env()  # type: ignore[misc]
        env[SETTINGS_ENV] = json.dumps(self.singleuser_settings)
        return env


class ServiceSpawner(PinnedSettings, LocalProcessSpawner):  # type: ignore[misc]
    """The local spawner: each server a child process of the hub, run as its user."""


class ServiceSystemdSpawner(PinnedSettings, SystemdSpawner):  # type: ignore[misc]
    """One transient unit per user (`systemd-run`), with MemoryMax= and CPUQuota= from
    hub.memoryLimit and hub.cpuLimit."""
