"""`jupyter-service check`: validate the config and print every problem."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jupyter_service.commands.common import add_config_argument, add_json_argument


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate the config; print every problem; exit 1 on any",
        description="Validate the config and print every problem at once, each with its key "
        "path, and what `up` would refuse (enable = false, a notebookDir that is a file). "
        "Exit 0 when clean, 1 otherwise. Writes nothing.",
    )
    add_config_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    # What `up` would refuse, `check` refuses too; `doctor` reports the same problems.
    from jupyter_service import paths
    from jupyter_service.config import embedded_default
    from jupyter_service.config.runnable import (
        find_warnings,
        load_with_problems,
        runnable_problems,
    )

    path = paths.find_config(args.config)
    if path is None:
        config = embedded_default(Path.cwd())
        problems = runnable_problems(config)
    else:
        found, problems = load_with_problems(path)
        if found is None or problems:
            return _refuse(args, str(path), problems, path)
        config = found
    if problems:
        return _refuse(args, config.source_name, problems, config.source)
    kernels = [k.name for k in config.stableKernels if k.enable]
    warnings = find_warnings(config)
    if args.json:
        print(
            json.dumps(
                {
                    "config": config.source_name,
                    "valid": True,
                    "auth": config.auth_mode,
                    "stable_kernels": kernels,
                    "venv_kernels": config.enableVenvKernels,
                    "problems": [],
                    "warnings": [
                        {"key": key, "warning": text, "hint": hint} for key, text, hint in warnings
                    ],
                },
                indent=1,
            )
        )
        return 0
    for key, text, hint in warnings:
        print(f"warning: {key}: {text}\nhint: {hint}", file=sys.stderr)
    print(
        f"ok: {config.source_name} is valid "
        f"(auth: {config.auth_mode}; stable kernels: {', '.join(kernels) or 'none'}; "
        f"venv kernels: {'on' if config.enableVenvKernels else 'off'})",
        file=sys.stdout,
    )
    return 0


def _refuse(
    args: argparse.Namespace, source: str, problems: list[tuple[str, str]], path: Path | None
) -> int:
    """Every problem: as JSON on stdout with --json, else the usual error (exit 1 both)."""
    from jupyter_service.errors import ConfigError

    if not args.json:
        raise ConfigError(source, problems, config=path)
    rows = [{"key": key, "problem": text} for key, text in problems]
    print(json.dumps({"config": source, "valid": False, "problems": rows}, indent=1))
    return 1
