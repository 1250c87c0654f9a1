"""The per-deployment secret nginx adds to every request it forwards in Authelia mode.

Shared by the nginx site (which sends it) and the server (which checks it), and kept free
of server imports: `proxy-config` renders the site without loading jupyter_server."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from jupyter_service.errors import disk_full_error
from jupyter_service.paths import ServicePaths

SECRET_HEADER = "X-Jupyter-Service-Proxy"


def ensure_proxy_secret(state: Path) -> str:
    """The deployment's proxy secret, made on first use (0600 in the state dir)."""
    path = ServicePaths(state).secret
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    state.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
            os.link(tmp, path)  # first writer wins; a concurrent one reads the same secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise disk_full_error(path, "writing the proxy secret") from None
        raise
    return path.read_text().strip()
