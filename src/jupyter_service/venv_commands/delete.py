"""`delete NAME`: a venv kernel's venv and kernelspec, after asking."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.errors import ServiceError
from jupyter_service.venv_commands.common import layout


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("delete", help="delete a venv kernel: its venv and kernelspec")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=run_delete)


def ask(question: str) -> bool:
    if not sys.stdin.isatty():
        raise ServiceError(
            "refusing to delete without a question, and there is no terminal to ask on",
            hint="add --yes to delete without asking",
        )
    return input(question).strip().lower() in ("y", "yes")


def run_delete(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import delete_venv_kernel

    if delete_venv_kernel(layout(), args.name, confirm=None if args.yes else ask):
        print(f"Kernel '{args.name}' deleted.")
    else:
        print("Nothing deleted.")
    return 0
