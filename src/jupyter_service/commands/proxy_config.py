"""`jupyter-service proxy-config`: print or write the nginx site for `reverseProxy`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jupyter_service.commands.common import add_config_argument, resolve_config
from jupyter_service.errors import ServiceError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "proxy-config",
        help="print or write the nginx site for reverseProxy",
        description="Render the nginx site for `reverseProxy` (with Authelia forward-auth when "
        "`reverseProxy.authelia.enable`) and print it. With --write, write it to PATH "
        "(mode 0640, in one rename) once `nginx -t` accepts it, where nginx is installed. "
        "Run it as the service's user (or with its JUPYTER_SERVICE_STATE_DIR): the site "
        "carries the proxy secret from the service's state dir.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--write",
        metavar="PATH",
        help="write the site to PATH, e.g. /etc/nginx/sites-enabled/jupyter-service.conf",
    )
    parser.set_defaults(handler=run_proxy_config)


def run_proxy_config(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.proxy.install import find_nginx, write_site
    from jupyter_service.proxy.nginx import render_nginx_site
    from jupyter_service.proxy.secret import ensure_proxy_secret

    config = resolve_config(args)
    if not config.reverseProxy.enable:
        raise ServiceError(
            f"reverseProxy.enable is not true in {config.source_name}: no nginx site to render",
            hint="set `[reverseProxy] enable = true` and `domains = [...]` in the config",
        )
    secret = ensure_proxy_secret(paths.state_dir()) if config.auth_mode == "authelia" else None
    try:
        site = render_nginx_site(config, secret)
    except ValueError as exc:
        raise ServiceError(f"cannot render the nginx site: {exc}") from None
    if args.write is None:
        sys.stdout.write(site)
        return 0
    target = Path(args.write)
    nginx = find_nginx()
    write_site(site, target, nginx=nginx)
    if nginx:
        print(f"wrote {target} (nginx -t: ok); reload nginx: nginx -s reload")
    else:
        print(
            f"wrote {target}; nginx is not installed, so it was not tested: "
            "install nginx, then run `nginx -t`"
        )
    return 0
