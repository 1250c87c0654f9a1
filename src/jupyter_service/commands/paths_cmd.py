"""`jupyter-service paths`: what to persist under impermanence (the original's section)."""

from __future__ import annotations

import argparse
import json
import pwd
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_service import paths
from jupyter_service.commands.common import add_config_argument, add_json_argument, resolve_config

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "paths",
        help="list what to persist under impermanence",
        description="List the paths that hold the service's data: the notebooks, the config "
        "and its lock, the store and generations, and the service user's venv kernels and "
        "kernelspecs. Persist these when / is wiped at boot.",
    )
    add_config_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(handler=run_paths)


def _user_home(user: str) -> Path:
    try:
        return Path(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return Path("/home") / user


def render_paths(config: ServiceConfig, state: Path) -> list[tuple[str, str]]:
    """(path, what it holds) to persist. Pure but for the user's home lookup."""
    rows = [(str(config.notebook_path()), "notebooks (notebookDir)")]
    if config.source is not None:
        from jupyter_service.store.lock import lock_root

        rows.append((str(config.source), "the config"))
        rows.append((str(lock_root(config.source)), "the stable kernels' locks"))
    rows.append((str(state), "store, generations, proxy secret, tools (state dir)"))
    if config.enableVenvKernels:
        data = _user_home(config.user) / ".local" / "share" / "jupyter"
        rows.append((str(data), f"{config.user}'s venv kernels and kernelspecs"))
    return rows


def run_paths(args: argparse.Namespace) -> int:
    rows = render_paths(resolve_config(args), paths.state_dir())
    if args.json:
        print(json.dumps([{"path": p, "holds": what} for p, what in rows], indent=1))
    else:
        width = max(len(p) for p, _ in rows)
        for path, what in rows:
            print(f"{path:<{width}}  # {what}")
    return 0
