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
    hub_config,
    install_service,
    lock,
    paths_cmd,
    proxy_config,
    rollback,
    serve,
    switch,
    verify,
)
from jupyter_service.commands.common import add_config_argument, add_json_argument
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
    hub_config,
    doctor,
    verify,
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
    # Also before the command (`jupyter-service --config F check`): the same option.
    add_config_argument(parser)
    add_json_argument(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def _command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[name]  # type: ignore[no-any-return]


def _settle_common_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--config and --json, given before or after the command, mean the same; a command
    that has no such option refuses it in either place."""
    command = _command_parser(parser, args.command)
    for option, dest, default in (("--config", "config", None), ("--json", "json", False)):
        if not hasattr(args, dest):
            setattr(args, dest, default)
        elif option not in command._option_string_actions:
            command.error(f"{option} is not an option of {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    _settle_common_options(parser, args)
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    return run_handler(args.handler, args)
