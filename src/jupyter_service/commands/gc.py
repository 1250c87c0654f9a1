"""`jupyter-service gc [--keep N]`: remove what no kept generation uses."""

from __future__ import annotations

import argparse
import json

from jupyter_service.commands.common import add_config_argument, add_json_argument, config_path
from jupyter_service.errors import ServiceError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gc",
        help="remove store paths no generation uses (and old generations with --keep N)",
        description="Remove store paths that no generation uses. With --keep N, first remove "
        "every generation but the current one and the N newest. A store path that a running "
        "kernel uses is never removed.",
    )
    parser.add_argument("--keep", type=int, metavar="N", help="keep only the N newest generations")
    add_config_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(handler=run_gc)


def run_gc(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.hints import service_hint
    from jupyter_service.store.gc import collect_garbage

    if args.keep is not None and args.keep < 0:
        raise ServiceError(
            "--keep must be 0 or more",
            hint=service_hint("gc", "--keep", "5", config=config_path(args)),
        )
    result = collect_garbage(paths.state_dir(), args.keep)
    if args.json:
        doc = {
            "removed_generations": result.removed_generations,
            "removed_paths": [str(p) for p in result.removed_paths],
            "kept_in_use": {str(p): pids for p, pids in result.in_use.items()},
            "removed_interrupted_builds": result.removed_work,
            "freed_bytes": result.freed_bytes,
        }
        print(json.dumps(doc, indent=1))
        return 0
    for number in result.removed_generations:
        print(f"removed generation {number}")
    for work, size in result.removed_work.items():
        print(f"removed {work} ({size / 2**20:.1f} MiB), left by an interrupted build")
    for path in result.removed_paths:
        print(f"removed {path}")
    for path, pids in result.in_use.items():
        print(f"kept {path}: in use by pid {', '.join(map(str, pids))}")
    mib = result.freed_bytes / 2**20
    print(f"freed {mib:.1f} MiB ({len(result.removed_paths)} store paths)")
    return 0
