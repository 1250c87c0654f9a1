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
from jupyter_service.state_files import PRIVATE_FILE, SHARED_DIR, check_file, ensure_dir

SECRET_HEADER = "X-Jupyter-Service-Proxy"


def ensure_proxy_secret(state: Path) -> str:
    """The deployment's proxy secret, made on first use (0600 in the state dir); one that
    another account could have written or read is refused."""
    path = ServicePaths(state).secret
    ensure_dir(state, SHARED_DIR, state)
    check_file(path, state, private=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
        try:
            with os.fdopen(fd, "w") as f:
                os.fchmod(f.fileno(), PRIVATE_FILE)
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
    check_file(path, state, private=True)
    return path.read_text().strip()
