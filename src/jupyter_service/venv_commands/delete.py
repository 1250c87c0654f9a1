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
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even while a running kernel uses it (that kernel breaks)",
    )
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

    result = delete_venv_kernel(
        layout(), args.name, confirm=None if args.yes else ask, force=args.force
    )
    if not result.deleted:
        print("Nothing deleted.")
        return 0
    if result.users:
        print(
            f"warning: deleted kernel '{args.name}' while {result.users} ran it: that kernel "
            "lost its venv (imports of its packages fail, and it cannot restart); shut it down "
            "in JupyterLab",
            file=sys.stderr,
        )
    if result.kept_kernelspec:
        print(
            f"Kernel '{args.name}': venv deleted; its kernelspec {result.kept_kernelspec} was "
            "not made by jupyter-venv-kernel and is left as it is"
        )
    else:
        print(f"Kernel '{args.name}' deleted.")
    return 0
