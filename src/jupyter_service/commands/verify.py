"""`jupyter-service verify [--repair]`: every store path against the hashes recorded when
it was built, each generation's kernelspecs, the `current` link; `--repair` rebuilds."""

from __future__ import annotations

import argparse
import sys

from jupyter_service.commands.common import add_config_argument, config_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the store paths' contents and the generations; --repair rebuilds",
        description="Check every store path a generation uses against the hash of each file "
        "recorded when it was built (missing, changed and added files), every generation's "
        "kernelspecs, and the `current` link, like `nix-store --verify --check-contents`. "
        "Name every damaged path; exit 1 when one is. With --repair, rebuild each damaged "
        "store path from the config's lock, write damaged kernelspecs again, and point a "
        "dangling `current` at the newest intact generation.",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="rebuild what is damaged from the config's lock; point a dangling `current` at "
        "the newest intact generation",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_verify)


# Why `--repair` left a damaged thing as it was, by kind.
NOT_REPAIRED = {
    "store path": "its lock is not the config's",
    "current": "no intact generation to point it at",
}


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def run_verify(args: argparse.Namespace) -> int:
    from jupyter_service import paths
    from jupyter_service.commands.common import resolve_config
    from jupyter_service.hints import service_hint
    from jupyter_service.store.switch import repair
    from jupyter_service.store.verify import find_state_damage

    state = paths.state_dir()
    damage = find_state_damage(state, contents=True)
    for item in damage:
        print(item.render())
    if damage and args.repair:
        left = repair(resolve_config(args), state, damage, say=_say)
        for item in left:
            print(f"not repaired: {item.path}: {NOT_REPAIRED.get(item.kind, 'not repairable')}")
        damage = find_state_damage(state, contents=True)
        if not damage:
            print("repaired: the store and the generations are intact")
            return 0
    if not damage:
        print(f"ok: the store paths and generations in {state} are intact")
        return 0
    if not args.repair:
        hint = service_hint("verify", "--repair", config=config_path(args), writes=[state])
        print(f"hint: {hint}", file=sys.stderr)
    elif any(item.kind == "current" for item in damage):
        hint = service_hint("switch", config=config_path(args), writes=[state])
        print(f"hint: {hint}", file=sys.stderr)
    return 1
