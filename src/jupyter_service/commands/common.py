"""What several commands share: finding and loading the config, the common options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,  # set once in cli.main, wherever it was given
        help="config file (default: $JUPYTER_SERVICE_CONFIG, else "
        "/etc/jupyter-service/config.toml, else the embedded default)",
    )


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def config_path(args: argparse.Namespace) -> Path | None:
    """The config file that --config, the environment or the system names (None: none)."""
    from jupyter_service import paths

    return paths.find_config(args.config)


def resolve_config(args: argparse.Namespace) -> ServiceConfig:
    """Load the config that --config, the environment or the system names; else the default."""
    from jupyter_service.config import embedded_default, load_config

    path = config_path(args)
    if path is None:
        return embedded_default(Path.cwd())
    return load_config(path)
