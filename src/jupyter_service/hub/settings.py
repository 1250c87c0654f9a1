"""Render JupyterHub's settings and each user's server's settings. Pure: no disk, no
processes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_service.config import ServiceConfig
from jupyter_service.server.settings import Runtime, render_server_settings

AUTHENTICATOR = "jupyter_service.hub.auth.ServiceAuthenticator"
# hub.spawner -> the class that starts users' servers on this host (its config section is
# its class name).
SPAWNERS = {
    "local": "jupyter_service.hub.spawner.ServiceSpawner",
    "systemd": "jupyter_service.hub.spawner.ServiceSystemdSpawner",
}
# jupyterhub-systemdspawner's default, named here so doctor and the tests know the units.
UNIT_NAME_TEMPLATE = "jupyter-{USERNAME}-singleuser"
DB_FILE = "jupyterhub.sqlite"
# The ServerApp each user's server runs (hub/singleuser.py): its config section.
SINGLEUSER_APP = "HubUserServerApp"
COOKIE_SECRET_FILE = "jupyterhub_cookie_secret"
PROXY_PID_FILE = "jupyterhub-proxy.pid"
CULLER = "idle-culler"
SPAWN_TIMEOUT = 180
# What jupyterhub-idle-culler needs, and no more (its README's role).
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
# The server keys the hub's extension sets per user from the spawner's environment
# (address, prefix, its OAuth identity): the single-user service's values would be wrong.
HUB_OWNED_SERVER_KEYS = (
    "ip",
    "port",
    "port_retries",
    "base_url",
    "allow_remote_access",
    "local_hostnames",
    "identity_provider_class",
    # Behind the hub's proxy the client's address comes in X-Forwarded-For.
    "trust_xheaders",
    "root_dir",
)


# JupyterHub's own env_keep, and how this host reaches package indexes (proxy, CA bundle,
# index): what `jupyter-venv-kernel create` and `pip install` need in a user's server, as
# they have them in the single-user service.
ENV_KEEP = (
    "PATH",
    "PYTHONPATH",
    "CONDA_ROOT",
    "CONDA_DEFAULT_ENV",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "JUPYTERHUB_SINGLEUSER_APP",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_NATIVE_TLS",
)


@dataclass(frozen=True)
class HubRuntime:
    """What the running hub adds to the config: its dirs, ports, programs and secrets."""

    hub_dir: str
    python: str
    proxy_command: tuple[str, ...]
    hub_port: int
    proxy_api_port: int
    # The users' servers' runtime: stable kernels, tools, terminal rc, lab settings.
    server: Runtime
    proxy_secret: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    # The state dir (store, generations, the hub's dir): read-only in systemd users' units.
    state_dir: str = ""


def render_singleuser_settings(config: ServiceConfig, runtime: Runtime) -> dict[str, Any]:
    """Each user's server: the single-user service's pins, less what the hub sets, with the
    hub's extension; identical for every user (their home and prefix come from the hub)."""
    # Rendered without a password: the hub, not the user's server, checks the users' ones.
    # (As the token mode: no password, no proxy; the hub's extension replaces the identity.)
    unauthenticated = replace(
        config, password=None, auth_mode="token", hub=replace(config.hub, passwords={})
    )
    settings = copy.deepcopy(render_server_settings(unauthenticated, runtime))
    server = settings["ServerApp"]
    for key in HUB_OWNED_SERVER_KEYS:
        server.pop(key, None)
    server["jpserver_extensions"] = {**server["jpserver_extensions"], "jupyterhub": True}
    # The hub authenticates; the single-user login, token and proxy pins do not apply.
    for section in ("ServiceIdentityProvider", "ProxyIdentityProvider"):
        settings.pop(section, None)
    # Authelia mode: the server too refuses a request nginx forwards for another Authelia
    # user than the one its hub cookie was issued to.
    settings[SINGLEUSER_APP] = {"bind_remote_user": config.auth_mode == "authelia"}
    return settings


def render_hub_settings(config: ServiceConfig, runtime: HubRuntime) -> dict[str, Any]:
    """JupyterHub's traitlets config, section by section."""
    hub = config.hub
    hub_dir = runtime.hub_dir
    settings: dict[str, Any] = {
        "JupyterHub": {
            "ip": config.ip,
            "port": config.port,
            "base_url": config.baseUrl,
            "hub_ip": "127.0.0.1",
            "hub_port": runtime.hub_port,
            "db_url": f"sqlite:///{hub_dir}/{DB_FILE}",
            "cookie_secret_file": f"{hub_dir}/{COOKIE_SECRET_FILE}",
            "pid_file": "",
            "authenticator_class": AUTHENTICATOR,
            # Users' servers stop with the hub: `up` leaves nothing running behind it.
            "cleanup_servers": True,
            "cleanup_proxy": True,
        },
        "ConfigurableHTTPProxy": {
            "command": list(runtime.proxy_command),
            "api_url": f"http://127.0.0.1:{runtime.proxy_api_port}",
            "pid_file": f"{hub_dir}/{PROXY_PID_FILE}",
            "should_start": True,
        },
        "ServiceAuthenticator": {
            "allowed_users": sorted(hub.users),
            "admin_users": sorted(hub.admins),
            "passwords": dict(hub.passwords),
            "proxy_secret": runtime.proxy_secret,
            # Authelia mode: the login page would only send people to /hub/login anyway.
            "auto_login": bool(runtime.proxy_secret),
        },
    }
    if runtime.proxy_secret:
        # `refresh_user` matches the session to `Remote-User`, at most once a second per
        # user (JupyterHub's default is 300; 0 would turn the check off).
        settings["ServiceAuthenticator"]["auth_refresh_age"] = 1
    spawner_class = SPAWNERS.get(hub.spawner, SPAWNERS["local"])
    settings["JupyterHub"]["spawner_class"] = spawner_class
    settings[spawner_class.rpartition(".")[2]] = render_spawner_settings(config, runtime)
    if hub.idleTimeout:
        settings["JupyterHub"]["services"] = [
            {
                "name": CULLER,
                "command": [
                    runtime.python,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={hub.idleTimeout}",
                    f"--cull-every={render_cull_every(hub.idleTimeout)}",
                ],
            }
        ]
        settings["JupyterHub"]["load_roles"] = [
            {"name": CULLER, "scopes": CULLER_SCOPES, "services": [CULLER]}
        ]
    return settings


def render_spawner_settings(config: ServiceConfig, runtime: HubRuntime) -> dict[str, Any]:
    """How users' servers start: the same command, environment and pinned settings with
    either spawner; the systemd one adds its unit's limits and isolation."""
    settings: dict[str, Any] = {
        "cmd": [runtime.python, "-m", "jupyter_service.hub.singleuser"],
        "notebook_dir": config.notebookDir,
        "default_url": "/lab",
        # JupyterHub's 60 s and 30 s fail spawns on a busy small machine.
        "start_timeout": SPAWN_TIMEOUT,
        "http_timeout": SPAWN_TIMEOUT,
        "environment": dict(runtime.environment),
        "env_keep": list(ENV_KEEP),
        "singleuser_settings": render_singleuser_settings(config, runtime.server),
    }
    if config.hub.spawner != "systemd":
        return settings
    hub = config.hub
    settings.update(
        {
            "unit_name_template": UNIT_NAME_TEMPLATE,
            # The user's account and home (the unit's working dir); the server then opens
            # notebookDir there itself.
            "username_template": "{USERNAME}",
            "default_shell": "/bin/bash",
            # MemoryMax= and CPUQuota= of the unit (nothing when not configured).
            "mem_limit": hub.memoryLimit,
            "cpu_limit": float(hub.cpuLimit) if hub.cpuLimit else None,
            # Each user's own /tmp; no sudo or setuid way up from a notebook.
            "isolate_tmp": True,
            "disable_user_sudo": True,
            # The store and generations are read-only to users by their modes; the unit
            # makes the whole state dir so, whatever its modes.
            "readonly_paths": [runtime.state_dir] if runtime.state_dir else None,
        }
    )
    return settings


def render_cull_every(timeout: int) -> int:
    """How often the culler looks: a tenth of the timeout, between 1 s and 5 minutes."""
    return max(1, min(300, timeout // 10))
