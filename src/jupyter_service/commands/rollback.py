"""`jupyter-service rollback [N]`: make an earlier generation current again."""

from __future__ import annotations

import argparse

from jupyter_service.commands.common import add_config_argument, config_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="make generation N (default: the one before the current) current",
        description="Make generation N current with one atomic rename; by default the "
        "generation before the current one. A running server lists its kernels at once; "
        "kernels already running keep theirs. The next `switch` writes a new generation.",
    )
    parser.add_argument("generation", nargs="?", type=int, metavar="N")
    add_config_argument(parser)
    parser.set_defaults(handler=run_rollback)


def run_rollback(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.store.generations import rollback

    generation = rollback(paths.state_dir(), args.generation, config=config_path(args))
    kernels = ", ".join(sorted(generation.kernels)) or "no stable kernels"
    print(f"rolled back to generation {generation.number}: {kernels}")
    return 0
