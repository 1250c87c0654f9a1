"""`export NAME`: a pinned requirements file of what a venv kernel adds to the base."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.venv_commands.common import layout


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("export", help="print a pinned requirements file of a venv kernel")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import export_requirements

    sys.stdout.write(export_requirements(layout(), args.name))
    return 0
