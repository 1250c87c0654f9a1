"""What `up` refuses beyond a valid config, checked before anything is built or switched:
shared by `up`, `check` and `doctor` so the three agree."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from jupyter_service.config.model import ServiceConfig, is_loopback, parse_config, read_config_text
from jupyter_service.errors import ServiceError
from jupyter_service.paths import current_user, notebook_dir

Problems = list[tuple[str, str]]
# (key, what is wrong, how to fix it): served anyway, said by `check`.
Warnings = list[tuple[str, str, str]]

DISABLED = "is false: `up` and the service refuse to start; set `enable = true`"


def notebook_dir_problem(path: Path) -> str | None:
    """Why notebookDir cannot be used (a file, or under one, or not creatable), or None."""
    if path.is_dir():
        return None if os.access(path, os.W_OK | os.X_OK) else f"{path} is not writable"
    if path.exists() or path.is_symlink():
        return f"{path} exists and is not a directory"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{path} cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is not writable"
    return None


def find_warnings(config: ServiceConfig) -> Warnings:
    """What a valid config serves but a careful admin would not want. Pure."""
    proxy = config.reverseProxy
    tls = proxy.enable and proxy.sslCertificate is not None
    if config.auth_mode == "password" and not is_loopback(config.ip) and not tls:
        return [
            (
                "ip",
                f"password mode listens on {config.ip} (not loopback) without TLS in front: "
                "passwords and login cookies cross the network in clear text",
                'keep ip = "127.0.0.1" and serve through the nginx site with TLS '
                "(reverseProxy.enable, reverseProxy.domains, reverseProxy.sslCertificate and "
                "reverseProxy.sslCertificateKey), or put another TLS proxy in front and "
                f"firewall port {config.port}",
            )
        ]
    return []


def runnable_problems(config: ServiceConfig) -> Problems:
    """The problems that keep a valid config from being served. Reads the disk, writes nothing."""
    problems: Problems = []
    if not config.enable:
        problems.append(("enable", DISABLED))
    # In hub mode notebookDir is in each user's home, made by that user's server.
    notebook = (
        None if config.hub.enable else notebook_dir_problem(notebook_dir(config, current_user()))
    )
    if notebook:
        problems.append(("notebookDir", notebook))
    if config.hub.enable and config.hub.spawner == "systemd":
        from jupyter_service.hub.host import SYSTEMD_HINT, find_systemd_problem

        systemd = find_systemd_problem()
        if systemd:
            problems.append(("hub.spawner", f"{systemd}; {SYSTEMD_HINT}"))
    return problems


def load_with_problems(path: Path) -> tuple[ServiceConfig | None, Problems]:
    """Every problem `check` reports for the file at `path`, and the config when only the
    host is wrong (a tool not installed, enable = false, notebookDir), else None."""
    text = read_config_text(path)
    _, problems = parse_config(text, source=path, check_host=True)
    config, _ = parse_config(text, source=path)
    if config is not None:
        from jupyter_service import paths
        from jupyter_service.store.switch import find_lock_problems

        problems += runnable_problems(config) + find_lock_problems(config, paths.state_dir())
    return config, problems


def check_port_free(config: ServiceConfig) -> None:
    """Raise when something already listens on ip:port (the embedded default moves on)."""
    if config.embedded:
        return
    try:
        infos = socket.getaddrinfo(
            config.ip, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return  # the server's own bind reports an address it cannot use
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # As tornado binds: a port in TIME_WAIT is free, a listening one is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    continue
                raise ServiceError(
                    f"port {config.port} on {config.ip} is already in use; nothing was changed",
                    hint=f"stop what listens there (`ss -ltnp 'sport = :{config.port}'`), "
                    f"or set another `port` in {config.source_name}",
                ) from None
