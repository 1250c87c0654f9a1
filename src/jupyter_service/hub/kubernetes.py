"""Beyond one host: the zero-to-jupyterhub Helm values and the Dockerfile of the images they
name, rendered from the same config. Pure: no disk, no processes.

The Dockerfile builds the store from the config and its lock in a build stage and copies
only the built state into the single-user image (at the same path: venvs hold absolute
paths), so every pod serves the same generation and no image holds the users' hashes. The
hub image is the chart's own with jupyter-service added, for our authenticator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jupyter_service.config import ServiceConfig
from jupyter_service.hub.settings import (
    AUTHENTICATOR,
    SPAWN_TIMEOUT,
    render_cull_every,
    render_singleuser_settings,
)
from jupyter_service.hub.singleuser import SETTINGS_ENV
from jupyter_service.server.settings import Runtime

# The chart version the values are validated against (its schema is kept in tests/data).
CHART_VERSION = "4.4.0"
HUB_BASE_IMAGE = f"quay.io/jupyterhub/k8s-hub:{CHART_VERSION}"
PYTHON_IMAGE = "python:3.11-slim-bookworm"
PREFIX = "/opt/jupyter-service"
IMAGE_STATE = f"{PREFIX}/state"
IMAGE_PYTHON = f"{PREFIX}/venv/bin/python"
# The chart's default user in its pods (jovyan, uid 1000).
POD_UID = 1000


def split_image(image: str) -> tuple[str, str]:
    """`name[:tag]` -> (name, tag); a `:` before the last `/` is a registry's port."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag


def hub_image(config: ServiceConfig) -> tuple[str, str]:
    name, tag = split_image(config.hub.image)
    return f"{name}-hub", tag


def render_kubernetes_problems(config: ServiceConfig) -> list[str]:
    """What this rendering cannot carry over, each a reason to refuse."""
    problems = []
    if not config.hub.enable:
        problems.append("hub.enable is false: there is no hub to render")
    if config.reverseProxy.authelia.enable:
        problems.append(
            "Authelia mode is not rendered for Kubernetes: the proxy secret would have to "
            "live in the Helm values; use password mode ([hub.users] with hashes)"
        )
    return problems


def render_helm_values(config: ServiceConfig) -> dict[str, Any]:
    """The zero-to-jupyterhub values: auth, users, admins, culler, resources, images."""
    hub = config.hub
    name, tag = split_image(hub.image)
    hub_name, hub_tag = hub_image(config)
    runtime = Runtime(
        notebook_dir="",
        tools_dir=None,
        terminal_rc=None,
        stable_kernel_dir=f"{IMAGE_STATE}/current/kernels",
    )
    singleuser_settings = render_singleuser_settings(config, runtime)
    singleuser: dict[str, Any] = {
        "image": {"name": name, "tag": tag},
        "cmd": [IMAGE_PYTHON, "-m", "jupyter_service.hub.singleuser"],
        "defaultUrl": "/lab",
        "uid": POD_UID,
        "startTimeout": SPAWN_TIMEOUT,
        "extraEnv": {
            SETTINGS_ENV: json.dumps(singleuser_settings, sort_keys=True),
            "JUPYTER_SERVICE_STATE_DIR": IMAGE_STATE,
        },
    }
    if hub.memoryLimit:
        singleuser["memory"] = {"limit": hub.memoryLimit}
    if hub.cpuLimit:
        singleuser["cpu"] = {"limit": float(hub.cpuLimit)}
    return {
        "hub": {
            "baseUrl": config.baseUrl,
            "image": {"name": hub_name, "tag": hub_tag},
            "config": {
                "JupyterHub": {"authenticator_class": AUTHENTICATOR},
                "ServiceAuthenticator": {
                    "allowed_users": sorted(hub.users),
                    "admin_users": sorted(hub.admins),
                    "passwords": dict(sorted(hub.passwords.items())),
                },
                "KubeSpawner": {"notebook_dir": config.notebookDir},
            },
        },
        "singleuser": singleuser,
        "cull": {
            "enabled": hub.idleTimeout > 0,
            **(
                {"timeout": hub.idleTimeout, "every": render_cull_every(hub.idleTimeout)}
                if hub.idleTimeout
                else {}
            ),
        },
    }


def render_apt_line(system_packages: Mapping[str, str]) -> str:
    """The Dockerfile lines installing the stable kernels' Debian packages (ghc and a Haskell
    kernel's libghc-*-dev), at the versions their locks record; "" when there are none."""
    if not system_packages:
        return ""
    wanted = " ".join(
        f"{name}={version}" if version else name
        for name, version in sorted(system_packages.items())
    )
    return (
        "# The stable kernels' Debian packages, at their locks' versions: their store paths "
        "link into them.\n"
        "RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
        f"--no-install-recommends {wanted} && rm -rf /var/lib/apt/lists/*\n"
    )


def render_dockerfile(
    config: ServiceConfig,
    config_name: str,
    lock_name: str,
    system_packages: Mapping[str, str] | None = None,
) -> str:
    """Two targets: `singleuser` (the store built from the config and lock, with the Debian
    packages its kernels need at run time) and `hub`."""
    hub_name, hub_tag = hub_image(config)
    name, tag = split_image(config.hub.image)
    apt = render_apt_line(system_packages or {})
    return f"""\
# Rendered by `jupyter-service hub-config --kubernetes` from {config.source_name}.
# Build context: this dir, holding {config_name}, {lock_name}/ and the jupyter-service wheel
# (`uv build --wheel` in its source tree, or `pip download jupyter-service`). Then:
#   docker build --target singleuser -t {name}:{tag} .
#   docker build --target hub -t {hub_name}:{hub_tag} .

FROM {PYTHON_IMAGE} AS build
{apt}RUN python -m venv {PREFIX}/venv
COPY jupyter_service-*.whl /tmp/
RUN {PREFIX}/venv/bin/pip install --no-cache-dir "$(ls /tmp/jupyter_service-*.whl)[hub]"
COPY {config_name} /build/config.toml
COPY {lock_name}/ /build/config.lock/
# The same config and lock as the host: the same store paths, the same generation.
ENV JUPYTER_SERVICE_STATE_DIR={IMAGE_STATE}
RUN {PREFIX}/venv/bin/jupyter-service switch --config /build/config.toml

FROM {PYTHON_IMAGE} AS singleuser
{apt}RUN useradd --create-home --uid {POD_UID} --shell /bin/bash jovyan
# Only the built tree: the config (the users' hashes) stays in the build stage.
COPY --from=build {PREFIX} {PREFIX}
ENV PATH={PREFIX}/venv/bin:$PATH \\
    JUPYTER_SERVICE_STATE_DIR={IMAGE_STATE}
USER jovyan
WORKDIR /home/jovyan
CMD ["{IMAGE_PYTHON}", "-m", "jupyter_service.hub.singleuser"]

FROM {HUB_BASE_IMAGE} AS hub
USER root
COPY jupyter_service-*.whl /tmp/
RUN pip install --no-cache-dir /tmp/jupyter_service-*.whl && rm /tmp/jupyter_service-*.whl
USER ${{NB_USER:-jovyan}}
"""
