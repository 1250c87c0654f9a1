"""Render the Jupyter server's settings from the config. Pure: no disk, no processes."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from jupyter_service.config import ServiceConfig

COOKIE_MAX_AGE_DAYS = 7
PORT_RETRIES_EMBEDDED = 50
PROXY_IDENTITY_PROVIDER = "jupyter_service.server.proxy_auth.ProxyIdentityProvider"
PASSWORD_IDENTITY_PROVIDER = "jupyter_service.server.password_auth.ServiceIdentityProvider"
KERNEL_SPEC_MANAGER = "jupyter_service.server.kernelspecs.ServiceKernelSpecManager"
# With pre-warmed stable kernels (`preheat`): the kernel manager that keeps their pools.
KERNEL_MANAGER = "jupyter_service.server.pool.PoolingKernelManager"


@dataclass(frozen=True)
class Runtime:
    """What the running service adds to the config: computed paths and secrets."""

    notebook_dir: str
    tools_dir: str | None
    terminal_rc: str | None
    # The current generation's kernelspec dir, searched before Jupyter's own.
    stable_kernel_dir: str | None = None
    # JupyterLab's app settings dir, holding our overrides.json.
    lab_settings_dir: str | None = None
    # Authelia mode: the secret nginx adds to every request it forwards.
    proxy_secret: str = ""


# JupyterLab settings a managed service pins: no news prompt, no update check.
LAB_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def render_lab_overrides(existing: dict[str, Any]) -> dict[str, Any]:
    """The admin's overrides.json, with our pins on top. Pure."""
    merged = {
        key: dict(value) if isinstance(value, dict) else value for key, value in existing.items()
    }
    for plugin, values in LAB_OVERRIDES.items():
        current = merged.get(plugin)
        merged[plugin] = {**(current if isinstance(current, dict) else {}), **values}
    return merged


def render_server_settings(config: ServiceConfig, runtime: Runtime) -> dict[str, dict[str, Any]]:
    """The traitlets config, section by section, with SECURITY.md's pins."""
    server: dict[str, Any] = {
        "ip": config.ip,
        "port": config.port,
        # An admin who asks for a port gets that port or an error; the default moves on.
        "port_retries": PORT_RETRIES_EMBEDDED if config.embedded else 0,
        "root_dir": runtime.notebook_dir,
        "base_url": config.baseUrl,
        "open_browser": False,
        "allow_root": True,
        "allow_unauthenticated_access": False,
        "allow_remote_access": False,
        "local_hostnames": ["localhost", *config.reverseProxy.domains],
        "allow_origin": "",
        "allow_origin_pat": "",
        "allow_credentials": False,
        "disable_check_xsrf": False,
        # Only nginx's word counts, and it comes as the proxy secret, never as an address.
        "trust_xheaders": False,
        "authenticate_prometheus": True,
        "identity_provider_class": PASSWORD_IDENTITY_PROVIDER,
        "default_url": "/lab",
        "jpserver_extensions": {"jupyterlab": True, "jupyter_server_terminals": True},
        "terminals_enabled": True,
    }
    if runtime.terminal_rc:
        server["terminado_settings"] = {
            "shell_command": ["/bin/bash", "--rcfile", runtime.terminal_rc, "-i"]
        }
    identity: dict[str, Any] = {
        "cookie_options": {"samesite": "Lax", "expires_days": COOKIE_MAX_AGE_DAYS},
        "get_secure_cookie_kwargs": {"max_age_days": COOKIE_MAX_AGE_DAYS},
        "allow_password_change": False,
        # TLS at nginx: the browser must never send the login cookie in the clear.
        # (None: jupyter_server's own rule, Secure when the request itself came over https.)
        "secure_cookie": (
            True if config.reverseProxy.enable and config.reverseProxy.sslCertificate else None
        ),
    }
    if config.auth_mode == "password":
        assert config.password
        identity.update(
            hashed_password=config.password,
            password_required=True,
            # Token login is off in password mode: `?token=` gets a 403.
            token="",
        )
    proxy: dict[str, Any] = {}
    if config.auth_mode == "authelia":
        server["identity_provider_class"] = PROXY_IDENTITY_PROVIDER
        proxy = {
            "proxy_secret": runtime.proxy_secret,
            "allowed_users": list(config.reverseProxy.authelia.users or (config.user,)),
            "token": "",
        }
    # Token mode leaves `token` unset: Jupyter generates one (or takes $JUPYTER_TOKEN)
    # and prints the login URL with it, once, at start.
    lab: dict[str, Any] = {
        # A managed service asks nothing at first start and calls no one.
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
    }
    if runtime.lab_settings_dir:
        lab["app_settings_dir"] = runtime.lab_settings_dir
    settings: dict[str, dict[str, Any]] = {
        "ServerApp": server,
        "ServiceIdentityProvider": identity,
        "LabApp": lab,
        "ProxyIdentityProvider": proxy,
        "LanguageServerManager": {"autodetect": False},
    }
    if runtime.stable_kernel_dir:
        from jupyter_service.kernels import find_service_kernel_replacements

        replacements = find_service_kernel_replacements(config.stableKernels)
        server["kernel_spec_manager_class"] = KERNEL_SPEC_MANAGER
        settings["ServiceKernelSpecManager"] = {
            "stable_kernel_dir": runtime.stable_kernel_dir,
            "hide_service_python": bool(replacements),
            # enableVenvKernels = false: venv kernels are not offered, not only not made.
            "hide_venv_kernels": not config.enableVenvKernels,
        }
        if replacements:
            # The kernel manager checks it against what is listed when it is asked: a
            # generation without it (or a dangling `current`) makes another the default.
            preferred = [k for k in replacements if k.preferred] or replacements
            settings["MappingKernelManager"] = {"default_kernel_name": preferred[0].name}
        warm = [k for k in config.stableKernels if k.enable and k.preheat > 0]
        if warm:
            server["kernel_manager_class"] = KERNEL_MANAGER
            settings["PoolingKernelManager"] = {
                "preheat": {k.name: k.preheat for k in warm},
                "preload": {k.name: list(k.preload) for k in warm},
            }
    return settings


def render_terminal_rc(tools_dir: str) -> str:
    """bash rc for JupyterLab terminals: a login-like environment, then our tools first on PATH.

    Terminals would otherwise run `bash -l`, and Debian's /etc/profile resets PATH.
    """
    return (
        "# written by jupyter-service: login environment, then the Jupyter tools on PATH\n"
        "[ -r /etc/profile ] && . /etc/profile\n"
        "_profile=\n"
        'for f in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do\n'
        '  if [ -r "$f" ]; then _profile=$f; . "$f"; break; fi\n'
        "done\n"
        '[ -z "$_profile" ] && [ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
        "unset _profile\n"
        f'export PATH={shlex.quote(tools_dir)}:"$PATH"\n'
    )
