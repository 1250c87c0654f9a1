"""`jupyter-service`: the admin's command line. Errors are caught here, once.

Every command module is imported for `--help`; each keeps its imports light (see
jupyter_service.commands) so a command starts in well under a tenth of a second."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from jupyter_service import __version__
from jupyter_service.commands import (
    check,
    doctor,
    gc,
    generations,
    hash_password,
    install_service,
    lock,
    paths_cmd,
    proxy_config,
    rollback,
    serve,
    switch,
)
from jupyter_service.errors import run_handler

COMMANDS = (
    serve,
    check,
    hash_password,
    lock,
    switch,
    generations,
    rollback,
    gc,
    paths_cmd,
    proxy_config,
    install_service,
    doctor,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-service",
        description="Turn one declarative TOML file into a running, authenticated Jupyter "
        "service with stable and experimental kernels.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks and debug logs"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    return run_handler(args.handler, args)
