"""`jupyter-service doctor`: the README's troubleshooting as checks, each with its fix."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.commands.common import add_config_argument, add_json_argument


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the service and its kernels; print each problem with its fix",
        description="Check the config and its authentication, the stable generation, each "
        "stable kernel's lock (against the config, and a Haskell kernel's against the "
        "installed Debian packages), stale venv kernelspecs, that every kernel the server "
        "lists starts and answers `1+1`, the "
        "systemd service, the port, the nginx site (`nginx -t`), extraTools and "
        "jupyter-venv-kernel, a hub's host (systemd for the systemd spawner, the proxy, what "
        "users' servers must reach, the hub's state modes, the users' accounts), and torch's "
        "GPU in python-base. Each check prints ok, warn, "
        "fail or skip, and where not ok the command that fixes it. Exit 1 when one fails. "
        "Run it as the service's user: venv kernels are per user.",
    )
    add_config_argument(parser)
    add_json_argument(parser)
    parser.add_argument(
        "--no-kernels", action="store_true", help="do not start the kernels (faster)"
    )
    parser.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    from jupyter_service.doctor.checks import run_checks
    from jupyter_service.doctor.report import render_json, render_text
    from jupyter_service.doctor.result import failed

    results = run_checks(args.config, kernels=not args.no_kernels)
    sys.stdout.write(render_json(results) if args.json else render_text(results))
    return 1 if failed(results) else 0
