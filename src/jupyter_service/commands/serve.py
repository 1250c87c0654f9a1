"""`jupyter-service up` and `run`: serve JupyterLab in the foreground."""

from __future__ import annotations

import argparse

from jupyter_service.commands.common import add_config_argument, resolve_config
from jupyter_service.server.app import run_server


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = subparsers.add_parser(
        "up",
        help="check, build what is missing, switch, and serve in the foreground",
        description="The main job: validate the config and serve JupyterLab in the foreground "
        "until Ctrl-C or SIGTERM. With no config, the embedded default: 127.0.0.1, port 8888 "
        "or the next free one, the current directory, a generated token, venv kernels on.",
    )
    add_config_argument(up)
    up.set_defaults(handler=run_up)
    run = subparsers.add_parser(
        "run",
        help="serve JupyterLab from the config (what the service unit calls)",
        description="Serve JupyterLab in the foreground from the config, as the service unit does.",
    )
    add_config_argument(run)
    run.set_defaults(handler=run_up)


def run_up(args: argparse.Namespace) -> int:
    run_server(resolve_config(args))
    return 0
