"""`jupyter-venv-kernel`: the notebook user's experimental kernels.

Each verb is a module in venv_commands/; this file puts them together and keeps argparse
from taking a NAME such as `-rf` for an option.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jupyter_service.errors import ServiceError, run_handler
from jupyter_service.venv_commands import create, delete, export, list_cmd, promote, shell

COMMANDS = (create, list_cmd, shell, delete, promote, export)

WORKFLOW = """\
Experimental kernels: per-kernel Python venvs for rapid prototyping, when you need
packages that are not in your stable kernels.

  jupyter-venv-kernel create my-experiment          # a new kernel, about a second
  jupyter-venv-kernel create-from project requirements.txt
  jupyter-venv-kernel list                          # the kernels Jupyter offers, by tier
  jupyter-venv-kernel shell my-experiment           # (inside) pip install some-package
  jupyter-venv-kernel delete my-experiment

Workflow:
  1. Experiment: create a venv kernel, refresh the browser, pick "Python (NAME)",
     and `!pip install` what you need from the notebook (it goes into that venv).
  2. Iterate: try, install, throw away; kernels are cheap.
  3. Stabilize: `jupyter-venv-kernel promote NAME` adds what you installed to the
     stable kernel in the service config (`--to KERNEL`, default python-base).
  4. Clean up: `jupyter-venv-kernel delete NAME`.
"""


def cmd_help(args: argparse.Namespace) -> int:
    build_parser().print_help()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-venv-kernel",
        description=WORKFLOW,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    p = sub.add_parser("help", help="show this help")
    p.set_defaults(handler=cmd_help)
    return parser


def _check_dash_names(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """A NAME such as `-rf` would reach argparse as an option; refuse it by our name rule."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if not argv or argv[0] not in subparsers.choices:
        return
    options = subparsers.choices[argv[0]]._option_string_actions
    expects_value = {"--to", "--config"}
    skip = False
    for token in argv[1:]:
        if token == "--":
            return
        if skip:
            skip = False
        elif token.startswith("-") and token.split("=")[0] not in options:
            from jupyter_service.venvs.layout import check_name

            check_name(token)
        elif token in expects_value:
            skip = True


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_dash_names(parser, argv)
    except ServiceError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    return run_handler(args.handler, args, interrupted="Interrupted; nothing was left half-made.")


if __name__ == "__main__":
    raise SystemExit(main())
