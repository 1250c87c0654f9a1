"""`jupyter-service check`: validate the config and print every problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jupyter_service import paths
from jupyter_service.commands.common import add_config_argument


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate the config; print every problem; exit 1 on any",
        description="Validate the config and print every problem at once, each with its key "
        "path, and what `up` would refuse (enable = false, a notebookDir that is a file). "
        "Exit 0 when clean, 1 otherwise. Writes nothing.",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from jupyter_service.config import embedded_default
    from jupyter_service.config.runnable import load_with_problems, runnable_problems
    from jupyter_service.errors import ConfigError

    # What `up` would refuse, `check` refuses too; `doctor` reports the same problems.
    path = paths.find_config(args.config)
    if path is None:
        config = embedded_default(Path.cwd())
        problems = runnable_problems(config)
    else:
        found, problems = load_with_problems(path)
        if found is None or problems:
            raise ConfigError(str(path), problems)
        config = found
    if problems:
        raise ConfigError(config.source_name, problems)
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
