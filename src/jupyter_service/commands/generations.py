"""`jupyter-service generations`: the history of what was switched to."""

from __future__ import annotations

import argparse

from jupyter_service import paths


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generations",
        help="list the generations: number, date, kernels, which is current",
        description="List every generation `switch` wrote: its number, when, its stable "
        "kernels, and which one is current.",
    )
    parser.set_defaults(handler=run_generations)


def run_generations(args: argparse.Namespace) -> int:
    from jupyter_service.store.generations import current_number, list_generations

    state = paths.state_dir()
    current = current_number(state)
    found = list_generations(state)
    if not found:
        print("no generations yet; `jupyter-service switch` writes the first")
        return 0
    for generation in found:
        mark = "   (current)" if generation.number == current else ""
        kernels = ", ".join(sorted(generation.kernels)) or "-"
        print(f"{generation.number:>4}  {generation.created}  {kernels}{mark}")
    return 0
