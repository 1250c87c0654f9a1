"""`promote NAME`: add what a venv kernel installed to a stable kernel in the config."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.errors import ServiceError
from jupyter_service.venv_commands.common import layout


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("promote", help="add what you installed to a stable kernel's config")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--to", default="python-base", metavar="KERNEL", help="default: python-base")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="default: $JUPYTER_SERVICE_CONFIG, else /etc/jupyter-service/config.toml",
    )
    p.set_defaults(handler=run_promote)


def run_promote(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.hints import switch_hint
    from jupyter_service.store.switch import lock_hint
    from jupyter_service.venvs.manage import complete_venv
    from jupyter_service.venvs.promote import promote

    venv = complete_venv(layout(), args.name)
    config = paths.find_config(args.config)
    if config is None:
        raise ServiceError(
            "no service config found to promote into",
            hint="pass it with --config FILE (the service sets $JUPYTER_SERVICE_CONFIG "
            "in its terminals)",
        )
    diff = promote(venv, config, args.to)
    if not diff:
        print(f"Nothing new: {config} already lists what '{args.name}' has.")
        return 0
    sys.stdout.write(diff)
    state = paths.state_dir()
    apply = f"{lock_hint(config, state)} && {switch_hint(config, state)}"
    print(f"Promoted into extraKernels.{args.to}; apply with `{apply}`.")
    return 0
