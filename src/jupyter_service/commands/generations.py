"""`jupyter-service generations`: the history of what was switched to."""

from __future__ import annotations

import argparse
import json

from jupyter_service.commands.common import add_config_argument, add_json_argument, config_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generations",
        help="list the generations: number, date, kernels, which is current",
        description="List every generation `switch` wrote: its number, when, its stable "
        "kernels, and which one is current.",
    )
    add_config_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(handler=run_generations)


def run_generations(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.store.generations import current_number, list_generations

    state = paths.state_dir()
    current = current_number(state)
    found = list_generations(state)
    if args.json:
        rows = [
            {
                "number": g.number,
                "created": g.created,
                "kernels": sorted(g.kernels),
                "current": g.number == current,
            }
            for g in found
        ]
        print(json.dumps(rows, indent=1))
        return 0
    if not found:
        from jupyter_service.hints import switch_hint

        print(f"no generations yet; `{switch_hint(config_path(args), state)}` writes the first")
        return 0
    for generation in found:
        mark = "   (current)" if generation.number == current else ""
        kernels = ", ".join(sorted(generation.kernels)) or "-"
        print(f"{generation.number:>4}  {generation.created}  {kernels}{mark}")
    return 0
