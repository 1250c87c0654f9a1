"""What several commands share: finding and loading the config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_service import paths

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $JUPYTER_SERVICE_CONFIG, else "
        "/etc/jupyter-service/config.toml, else the embedded default)",
    )


def resolve_config(args: argparse.Namespace) -> ServiceConfig:
    """Load the config that --config, the environment or the system names; else the default."""
    from jupyter_service.config import embedded_default, load_config

    path = paths.find_config(args.config)
    if path is None:
        return embedded_default(Path.cwd())
    return load_config(path)
