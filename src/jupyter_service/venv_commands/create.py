"""`create NAME` and `create-from NAME FILE`: a new venv kernel, layered on the shared base."""

from __future__ import annotations

import argparse
from pathlib import Path

from jupyter_service.venv_commands.common import layout, say


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("create", help="create a venv kernel 'Python (NAME)'")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=run_create)

    p = subparsers.add_parser("create-from", help="create a venv kernel from a requirements.txt")
    p.add_argument("name", metavar="NAME")
    p.add_argument("requirements", metavar="FILE", help="requirements.txt (-r and -c work)")
    p.set_defaults(handler=run_create)


def run_create(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.create import create_venv_kernel

    requirements = Path(args.requirements) if getattr(args, "requirements", None) else None
    create_venv_kernel(layout(), args.name, say, requirements)
    say(f"Kernel '{args.name}' created successfully!")
    return 0
