"""`jupyter-venv-kernel`: the notebook user's experimental kernels.

Kept light to import: `create` should cost about as much as copying the base venv.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_service.errors import ServiceError, run_handler

if TYPE_CHECKING:
    from jupyter_service.venvs.layout import Layout

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


def _layout() -> Layout:
    from jupyter_service.venvs.layout import Layout

    return Layout.from_environment()


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_create(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.create import create_venv_kernel

    requirements = Path(args.requirements) if getattr(args, "requirements", None) else None
    create_venv_kernel(_layout(), args.name, _say, requirements)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.locks import clean_all
    from jupyter_service.venvs.manage import list_json, list_kernels, render_list

    layout = _layout()
    clean_all(layout)
    listing = list_kernels(layout)
    print(list_json(listing) if args.json else render_list(listing))
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import exec_shell

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    exec_shell(_layout(), args.name, command)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import delete_venv_kernel

    delete_venv_kernel(_layout(), args.name, confirm=not args.yes)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.manage import export_requirements

    sys.stdout.write(export_requirements(_layout(), args.name))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.store.switch import lock_hint, switch_hint
    from jupyter_service.venvs.manage import complete_venv
    from jupyter_service.venvs.promote import promote

    venv = complete_venv(_layout(), args.name)
    config = paths.find_config(args.config)
    if config is None:
        raise ServiceError(
            "no service config found to promote into",
            hint="pass it with --config FILE (the service sets $JUPYTER_SERVICE_CONFIG "
            "in its terminals)",
        )
    diff = promote(venv, config, args.to)
    if not diff:
        print(f"Nothing new: {config} already lists what '{args.name}' has.")
        return 0
    sys.stdout.write(diff)
    state = paths.state_dir()
    apply = f"{lock_hint(config, state)} && {switch_hint(config, state)}"
    print(f"Promoted into extraKernels.{args.to}; apply with `{apply}`.")
    return 0


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

    p = sub.add_parser("create", help="create a venv kernel 'Python (NAME)'")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=cmd_create)

    p = sub.add_parser("create-from", help="create a venv kernel from a requirements.txt")
    p.add_argument("name", metavar="NAME")
    p.add_argument("requirements", metavar="FILE", help="requirements.txt (-r and -c work)")
    p.set_defaults(handler=cmd_create)

    p = sub.add_parser("list", help="list the kernels Jupyter offers: stable, venv kernels, others")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("shell", help="a shell with the venv active (or run CMD in it)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD", help="run one command")
    p.set_defaults(handler=cmd_shell)

    p = sub.add_parser("delete", help="delete a venv kernel: its venv and kernelspec")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=cmd_delete)

    p = sub.add_parser("promote", help="add what you installed to a stable kernel's config")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--to", default="python-base", metavar="KERNEL", help="default: python-base")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="default: $JUPYTER_SERVICE_CONFIG, else /etc/jupyter-service/config.toml",
    )
    p.set_defaults(handler=cmd_promote)

    p = sub.add_parser("export", help="print a pinned requirements file of a venv kernel")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=cmd_export)

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
