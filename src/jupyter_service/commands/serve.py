"""`jupyter-service up` and `run`: serve JupyterLab in the foreground.

The server is imported when it is run: jupyter_server takes a second to import, and every
other command (a no-op `switch` above all) should not pay for it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from jupyter_service.commands.common import add_config_argument, resolve_config

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = subparsers.add_parser(
        "up",
        help="check, build what is missing, switch, and serve in the foreground",
        description="The main job: validate the config, lock stable kernels that have no "
        "lock yet, switch (build what the store lacks), and serve JupyterLab in the foreground "
        "until Ctrl-C or SIGTERM. With no config, the embedded default: 127.0.0.1, port 8888 "
        "or the next free one, the current directory, a generated token, venv kernels on.",
    )
    add_config_argument(up)
    up.set_defaults(handler=run_up)
    run = subparsers.add_parser(
        "run",
        help="serve JupyterLab with the current generation's kernels (what the service unit calls)",
        description="Serve JupyterLab in the foreground with the current generation's stable "
        "kernels, as the service unit does; builds and switches nothing.",
    )
    add_config_argument(run)
    run.set_defaults(handler=run_run)


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _serve(config: ServiceConfig) -> None:
    """JupyterHub when `hub.enable`, else the single-user JupyterLab."""
    if config.hub.enable:
        from jupyter_service.hub.app import run_hub

        run_hub(config)
    else:
        from jupyter_service.server.app import run_server

        run_server(config)


def run_up(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.server.app import check_runnable
    from jupyter_service.store.switch import lock_kernels, missing_locks, switch, unbuilt_kernels

    config = resolve_config(args)
    # A disabled service or an unusable auth mode is refused before anything is built.
    check_runnable(config)
    for kernel in unbuilt_kernels(config):
        _say(
            f"warning: extraKernels.{kernel.name} is enabled, but this version does not build "
            f"{kernel.language} kernels yet; serving without it"
        )
    if config.source is not None:
        # First start: lock what has no lock yet. A lock that no longer matches the config is
        # never changed here: `switch` says so and points to `lock`.
        state = paths.state_dir()
        if missing_locks(config):
            lock_kernels(config, state, say=_say)
        result = switch(config, state, say=_say)
        if result.changed and result.generation is not None:
            _say(f"switched to generation {result.generation.number}")
    _serve(config)
    return 0


def run_run(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.hints import service_hint, switch_hint
    from jupyter_service.store.generations import current_number
    from jupyter_service.store.switch import stable_kernels

    config = resolve_config(args)
    state = paths.state_dir()
    link = paths.ServicePaths(state).current
    if link.is_symlink() and not link.exists():
        _say(
            f"warning: {link} points at {os.readlink(link)}, which is gone, so no stable "
            f"kernel is served; run `{service_hint('rollback', writes=[state])}` or "
            f"`{switch_hint(config.source, state)}`"
        )
    elif stable_kernels(config) and current_number(state) is None:
        _say(
            "warning: no generation is current, so no stable kernel is served; "
            f"run `{switch_hint(config.source, state)}`"
        )
    _serve(config)
    return 0
