"""`jupyter-service paths`: what to persist under impermanence (the original's section)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

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


def _jupyter_data_dir(user: str) -> Path:
    """Where `user`'s venv kernels and kernelspecs live: from this environment when it is
    the user running this (JUPYTER_DATA_DIR counts), else that user's
    ~/.local/share/jupyter."""
    from jupyter_service import paths

    if user == paths.current_user():
        from jupyter_core.paths import jupyter_data_dir

        return Path(jupyter_data_dir())
    return paths.user_home(user) / ".local" / "share" / "jupyter"


def render_paths(config: ServiceConfig, state: Path) -> list[tuple[str, str]]:
    """(path, what it holds) to persist, every path absolute, for the user who serves: the
    one running this, or for root the configured `user` (whom the unit runs as)."""
    from jupyter_service import paths

    user = paths.current_user() if config.embedded else paths.serving_user(config.user)
    rows = [(str(paths.notebook_dir(config, user)), "notebooks (notebookDir)")]
    if config.source is not None:
        from jupyter_service.store.lock import lock_root

        source = Path(os.path.abspath(config.source))
        rows.append((str(source), "the config"))
        rows.append((str(lock_root(source)), "the stable kernels' locks"))
    rows.append((os.path.abspath(state), "store, generations, proxy secret, tools (state dir)"))
    if config.enableVenvKernels:
        rows.append((str(_jupyter_data_dir(user)), f"{user}'s venv kernels and kernelspecs"))
    return rows


def run_paths(args: argparse.Namespace) -> int:
    from jupyter_service import paths

    rows = render_paths(resolve_config(args), paths.state_dir())
    if args.json:
        print(json.dumps([{"path": p, "holds": what} for p, what in rows], indent=1))
    else:
        width = max(len(p) for p, _ in rows)
        for path, what in rows:
            print(f"{path:<{width}}  # {what}")
    return 0
