"""`jupyter-service lock`: resolve the stable kernels with uv; write the lock beside the config."""

from __future__ import annotations

import argparse
import sys

from jupyter_service import paths
from jupyter_service.commands.common import add_config_argument, resolve_config

ALL = True


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lock",
        help="resolve the stable kernels with uv and write the lock next to the config",
        description="Resolve every stable Python kernel with uv's resolver and write uv's lock "
        "(CONFIG.lock/KERNEL/uv.lock, with the pyproject.toml it locks) next to the config "
        "file, to commit with it. Pins already in the lock are kept unless --upgrade.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--upgrade",
        nargs="?",
        const=ALL,
        default=False,
        metavar="KERNEL",
        help="re-resolve to the newest allowed versions (all kernels, or only KERNEL)",
    )
    parser.set_defaults(handler=run_lock)


def say(text: str) -> None:
    print(text, file=sys.stderr)


def run_lock(args: argparse.Namespace) -> int:
    from jupyter_service.store import lock
    from jupyter_service.store.switch import lock_kernels, stable_kernels

    config = resolve_config(args)
    if not stable_kernels(config):
        print(f"nothing to lock: {config.source_name} has no stable Python kernel")
        return 0
    changed = lock_kernels(config, paths.state_dir(), upgrade=args.upgrade, say=say)
    assert config.source is not None
    root = lock.lock_root(config.source)
    if changed:
        print(f"locked: {', '.join(changed)} changed in {root}; commit it with the config")
    else:
        print(f"lock unchanged: {root}")
    return 0
