"""`shell NAME [-- CMD]`: a shell (or one command) with the venv active."""

from __future__ import annotations

import argparse
import os
import sys

from jupyter_service.errors import ServiceError
from jupyter_service.venv_commands.common import layout


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("shell", help="a shell with the venv active (or run CMD in it)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD", help="run one command")
    p.set_defaults(handler=run_shell)


def run_shell(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import shell_command

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    argv, env = shell_command(layout(), args.name, command)
    if not command:
        print(
            f"Entering venv of kernel '{args.name}'; pip installs go into it. Type `exit` to leave."
        )
    sys.stdout.flush()
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        raise ServiceError(f"command not found in the venv or on PATH: {argv[0]}") from None
