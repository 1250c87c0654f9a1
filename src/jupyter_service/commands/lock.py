"""`jupyter-service lock`: lock every stable kernel; write the locks beside the config."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.commands.common import add_config_argument, resolve_config

ALL = True


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lock",
        help="lock the stable kernels (Python with uv, Haskell from Debian's packages) and "
        "write the locks next to the config",
        description="Lock every stable kernel next to the config file, to commit with it: a "
        "Python kernel with uv's resolver (CONFIG.lock/KERNEL/uv.lock, with the pyproject.toml "
        "it locks; pins already in the lock are kept unless --upgrade), a Haskell kernel from "
        "the Debian packages installed (CONFIG.lock/KERNEL/packages.lock.json: GHC's version, "
        "each package of the closure with its version, ABI and Debian package; as root the "
        "missing Debian packages are installed first).",
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
    from jupyter_service import paths
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
