"""`python -m jupyter_service.kernels.haskell.ghci -f {connection_file} [--ghc PATH]
[--package-db DIR] [--package NAME ...] [--heap-limit SIZE]`: the Haskell kernel over ghci.

ghci is started before ipykernel is imported, so that the two take their time side by side.
"""

from __future__ import annotations

import argparse
import sys

from jupyter_service.kernels.haskell.ghci import DEFAULT_HEAP_LIMIT
from jupyter_service.kernels.haskell.ghci.process import (
    GhciOptions,
    HeapLimitError,
    check_heap_limit,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_service.kernels.haskell.ghci",
        description="A Jupyter kernel for Haskell over one long-lived ghci (not IHaskell).",
    )
    parser.add_argument("-f", dest="connection_file", required=True, help="connection file")
    parser.add_argument("--ghc", default="ghc", help="the ghc to run (default: ghc on PATH)")
    parser.add_argument(
        "--package-db",
        help="use only this package database, and only the packages named by --package "
        "(and base); without it, ghc's global database",
    )
    parser.add_argument(
        "--package",
        dest="packages",
        action="append",
        default=[],
        metavar="NAME",
        help="a package to expose (repeat it; only with --package-db)",
    )
    parser.add_argument(
        "--heap-limit",
        default=DEFAULT_HEAP_LIMIT,
        metavar="SIZE",
        help=f"ghci's heap limit, as +RTS -M takes it, or `none` (default: {DEFAULT_HEAP_LIMIT})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        heap_limit = check_heap_limit(args.heap_limit)
    except HeapLimitError as err:
        parser.error(str(err))
    if args.packages and args.package_db is None:
        parser.error("--package needs --package-db (without it, every global package is seen)")
    options = GhciOptions(
        ghc=args.ghc,
        package_db=args.package_db,
        packages=tuple(args.packages),
        heap_limit=heap_limit,
    )
    from jupyter_service.kernels.haskell.ghci.repl import GhciRepl

    try:
        repl = GhciRepl(options)
    except OSError as err:
        parser.exit(1, f"error: cannot start ghci: {args.ghc}: {err.strerror}\n")
    try:
        from ipykernel.kernelapp import IPKernelApp

        from jupyter_service.kernels.haskell.ghci.kernel import make_kernel_class

        IPKernelApp.launch_instance(
            argv=["-f", args.connection_file], kernel_class=make_kernel_class(repl)
        )
    finally:
        repl.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
