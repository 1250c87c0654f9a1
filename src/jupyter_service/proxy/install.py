"""Write the nginx site atomically, after `nginx -t` has accepted it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from jupyter_service.config.checks import check_nginx_path
from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import write_text_atomic
from jupyter_service.proc import run_subprocess, subprocess_error
from jupyter_service.proxy.nginx import render_nginx_main

SITE_MODE = 0o640
# Where Debian puts nginx; an admin's PATH often lacks the sbin dirs.
NGINX_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def find_nginx() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *NGINX_DIRS])
    return shutil.which("nginx", path=path)


def run_nginx_test(nginx: str, site: Path, log_dir: Path | None = None) -> None:
    """`nginx -t` on a minimal nginx.conf that includes `site`; a ServiceError on failure."""
    with tempfile.TemporaryDirectory(prefix="jupyter-service-nginx-") as tmp:
        prefix = Path(tmp)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_main(site.resolve(), prefix))
        cmd = [
            nginx,
            "-t",
            "-q",
            "-p",
            str(prefix),
            "-e",
            str(prefix / "error.log"),
            "-c",
            str(conf),
        ]
        proc = run_subprocess(cmd, check=False)
        if proc.returncode != 0:
            raise subprocess_error(
                cmd, proc.returncode, proc.stdout, log_dir, "nginx rejected the site"
            )


def write_site(text: str, target: Path, *, nginx: str | None) -> None:
    """Write `text` to `target` (mode 0640) in one rename; with `nginx`, only once `nginx -t`
    accepts it, so a site nginx would refuse never replaces a working one."""
    target = target.absolute()
    if why := check_nginx_path(str(target)):
        raise ServiceError(f"cannot write the site there: {why}")
    if target.is_dir():
        raise ServiceError(f"is a directory: {target}", hint="give the site file's path")
    write_text_atomic(
        target,
        text,
        mode=SITE_MODE,
        what="the site",
        check=(lambda tmp: run_nginx_test(nginx, tmp)) if nginx else None,
    )
