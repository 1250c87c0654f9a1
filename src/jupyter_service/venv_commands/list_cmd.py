"""`list`: the kernels the server offers, tier by tier, and the venv kernels behind them."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

from jupyter_service.hints import venv_kernel_hint
from jupyter_service.venv_commands.common import layout

if TYPE_CHECKING:
    from jupyter_service.kernel_dirs import OfferedKernel
    from jupyter_service.venvs.manage import KernelListing


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "list", help="list the kernels Jupyter offers: stable, venv kernels, others"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    from jupyter_service.venvs.locks import clean_all
    from jupyter_service.venvs.manage import list_kernels

    where = layout()
    clean_all(where)
    listing = list_kernels(where)
    print(list_json(listing) if args.json else render_list(listing))
    return 0


def _human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError


def _when(stamp: float | None, never: str = "never") -> str:
    if stamp is None:
        return never
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _kernel_rows(kernels: list[OfferedKernel]) -> list[str]:
    width = max(len(k.name) for k in kernels)
    return [f"  {k.name:<{width}}  {k.display_name}" for k in kernels]


def render_list(listing: KernelListing) -> str:
    """The server's kernels tier by tier: stable (of the current generation), experimental
    venv kernels (with what each holds), then any other kernel Jupyter finds."""
    stable = listing.tier("stable")
    generation = f" (generation {listing.generation})" if listing.generation is not None else ""
    lines = [f"Stable kernels{generation}:"]
    lines += _kernel_rows(stable) if stable else ["  (none)"]
    lines += ["", "Experimental venv kernels:"]
    venvs = listing.venvs
    if not venvs:
        lines.append("  (none; make one with `jupyter-venv-kernel create NAME`)")
    else:
        width = max(len(v.name) for v in venvs)
        lines.append(
            f"  {'NAME':<{width}}  {'SIZE':>9}  {'PACKAGES':>8}  {'CREATED':<16}  LAST USED"
        )
        for v in venvs:
            row = (
                f"  {v.name:<{width}}  {_human_size(v.size):>9}  "
                f"{'-' if v.packages is None else v.packages:>8}  {_when(v.created, '-'):<16}  "
                f"{_when(v.last_used)}"
            )
            if v.status != "ok":
                row += f"  ({v.status}; remove with `{venv_kernel_hint('delete', v.name)}`)"
            lines.append(row)
    # A venv kernel found elsewhere on Jupyter's path is offered too, though not ours to list.
    listed = {v.name for v in venvs}
    other = [
        k
        for k in listing.kernels
        if k.tier == "other" or (k.tier == "experimental" and k.name not in listed)
    ]
    if other:
        lines += ["", "Other kernels:", *_kernel_rows(other)]
    return "\n".join(lines)


def list_json(listing: KernelListing) -> str:
    from dataclasses import asdict

    kernels = [
        {
            "name": k.name,
            "display_name": k.display_name,
            "resource_dir": k.resource_dir,
            "tier": k.tier,
        }
        for k in listing.kernels
    ]
    return json.dumps(
        {
            "generation": listing.generation,
            "kernels": kernels,
            "venvs": [asdict(v) for v in listing.venvs],
        },
        indent=1,
    )
