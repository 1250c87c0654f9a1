"""`jupyter-service switch`: build from the lock, write a generation, make it current."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.commands.common import add_config_argument, resolve_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "switch",
        help="build from the lock into the store, write a new generation, make it current",
        description="Build every stable kernel the lock pins and the store lacks, write a new "
        "generation of kernelspecs and make it current with one atomic rename. A running "
        "server lists the new kernels at once. Nothing changed: nothing done. A failure "
        "leaves the current generation as it was.",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_switch)


def run_switch(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.store.switch import switch

    config = resolve_config(args)
    result = switch(config, paths.state_dir(), say=lambda text: print(text, file=sys.stderr))
    generation = result.generation
    if not result.changed:
        if generation is None:
            print(f"nothing to do: {config.source_name} has no stable kernels")
        else:
            print(f"nothing to do: generation {generation.number} is current")
        return 0
    assert generation is not None
    kernels = ", ".join(generation.kernels) or "no stable kernels"
    print(f"switched to generation {generation.number}: {kernels}")
    return 0
