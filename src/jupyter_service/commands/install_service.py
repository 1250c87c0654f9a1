"""`jupyter-service install-service`: system user and group, notebook dir, systemd unit."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jupyter_service.commands.common import add_config_argument
from jupyter_service.errors import ServiceError
from jupyter_service.systemd.unit import DEFAULT_UNIT_DIR


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install-service",
        help="create the system user and group, the notebook dir and the systemd unit",
        description="Install the service for systemd, as root: create `group` and `user` "
        "(a system user with a home, for its venv kernels) when missing, create notebookDir "
        "owned by the user, write jupyter-service.service (mode 0644, in one rename) and run "
        "`systemctl daemon-reload`. With `hub.enable`, the unit runs the hub as root and each "
        "of hub.users gets a login account with a private home (0700) when missing. With "
        "--print, only print the unit.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--print",
        action="store_true",
        dest="print_only",
        help="print the unit; write and create nothing",
    )
    parser.add_argument(
        "--unit-dir",
        metavar="DIR",
        type=Path,
        default=DEFAULT_UNIT_DIR,
        help=f"where to write the unit (default: {DEFAULT_UNIT_DIR}; only there is systemd "
        "reloaded)",
    )
    parser.set_defaults(handler=run_install_service)


def _say(text: str) -> None:
    print(text)


def _unit_dir_option(args: argparse.Namespace) -> list[str]:
    """--unit-dir as given, for a hint to repeat (absolute: the hint may be run elsewhere)."""
    if Path(args.unit_dir) == DEFAULT_UNIT_DIR:
        return []
    return ["--unit-dir", os.path.abspath(args.unit_dir)]


def run_install_service(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.config import load_config
    from jupyter_service.hints import find_program, service_hint
    from jupyter_service.systemd.install import (
        check_unit_dir,
        ensure_group,
        ensure_hub_user,
        ensure_notebook_dir,
        ensure_user,
        reload_systemd,
        warn_unreadable_config,
        write_unit,
    )
    from jupyter_service.systemd.unit import render_systemd_unit

    found = paths.find_config(args.config)
    if found is None:
        raise ServiceError(
            "no config file: the embedded default serves whoever runs `up`, it cannot be "
            "installed as a service",
            hint=f"write {paths.SYSTEM_CONFIG} (see the README's Quick start), then run "
            f"`{service_hint('check', config=paths.SYSTEM_CONFIG)}`",
        )
    config_path = Path(os.path.abspath(found))
    if not args.print_only and os.geteuid() != 0:
        raise ServiceError(
            "install-service creates a system user and writes the systemd unit: run it as root",
            hint=service_hint(
                "install-service", *_unit_dir_option(args), config=config_path, root=True
            ),
        )
    config = load_config(config_path)
    if not config.enable:
        raise ServiceError(
            f"the service is disabled in {config_path} (enable = false): it would not start",
            hint="set `enable = true` in the config",
        )
    home = paths.user_home(config.user)
    hub_users = config.hub.users if config.hub.enable else ()
    try:
        unit = render_systemd_unit(
            config,
            config_path,
            find_program("jupyter-service"),
            home,
            [paths.user_home(name) for name in hub_users],
        )
    except ValueError as exc:
        raise ServiceError(f"cannot render the systemd unit: {exc}") from None
    if args.print_only:
        sys.stdout.write(unit)
        return 0
    unit_dir = check_unit_dir(args.unit_dir)
    if config.hub.enable:
        # The hub runs as root; each user's server makes its own notebookDir.
        for name in hub_users:
            ensure_hub_user(name, _say)
    else:
        ensure_group(config.group, _say)
        ensure_user(config.user, config.group, home, _say)
        ensure_notebook_dir(
            paths.notebook_dir(config, config.user), config.user, config.group, home, _say
        )
        warn_unreadable_config(config_path, config.user, _say)
    target = write_unit(unit, unit_dir)
    _say(f"wrote {target}")
    reload_systemd(unit_dir, _say)
    return 0
