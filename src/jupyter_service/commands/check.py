"""`jupyter-service check`: validate the config and print every problem."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.commands.common import add_config_argument, resolve_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate the config; print every problem; exit 1 on any",
        description="Validate the config and print every problem at once, each with its key "
        "path. Exit 0 when clean, 1 otherwise. Writes nothing.",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    kernels = [k.name for k in config.pythonKernels if k.enable]
    if config.ihaskell.enable:
        kernels.append("ihaskell")
    print(
        f"ok: {config.source_name} is valid "
        f"(auth: {config.auth_mode}; stable kernels: {', '.join(kernels) or 'none'}; "
        f"venv kernels: {'on' if config.enableVenvKernels else 'off'})",
        file=sys.stdout,
    )
    return 0
