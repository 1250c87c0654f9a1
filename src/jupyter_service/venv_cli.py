"""`jupyter-venv-kernel`: the notebook user's experimental kernels (its verbs come later)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter-venv-kernel")
    parser.parse_args(argv)
    parser.print_help()
    return 2
