"""The Haskell kernel over ghci: an ipykernel `Kernel` driving one long-lived ghci from
Debian's GHC (not IHaskell, which no reachable registry carries).

Run it as `python -m jupyter_service.kernels.haskell.ghci -f {connection_file} [--ghc PATH]
[--package-db DIR] [--package NAME ...] [--heap-limit SIZE]`. Importing this package is
cheap (no ipykernel): the kernelspec side asks it only for names.
"""

from __future__ import annotations

import re
import shutil

from jupyter_service.errors import ServiceError
from jupyter_service.proc import run_subprocess

MODULE = "jupyter_service.kernels.haskell.ghci"
# A ghci that lost its reader was seen spinning up to 6 GB; 4 GB is ample for notebooks.
DEFAULT_HEAP_LIMIT = "4g"
_HEAP_LIMIT = re.compile(r"[1-9][0-9]*[kKmMgG]?")


def is_heap_limit(value: str) -> bool:
    """`4g`, `512m`, ... as GHC's `+RTS -M` takes it, or `none` (no limit)."""
    return value == "none" or _HEAP_LIMIT.fullmatch(value) is not None


def find_ghc_version(ghc: str = "ghc") -> str:
    """`ghc --numeric-version` ("9.0.2"); a ServiceError when there is no such ghc."""
    if shutil.which(ghc) is None:
        raise ServiceError(
            f"the Haskell kernel needs GHC, and {ghc!r} is not installed",
            hint="apt-get install ghc",
        )
    proc = run_subprocess([ghc, "--numeric-version"], what="asking GHC for its version")
    return proc.stdout.strip()


def render_display_name(version: str) -> str:
    """What JupyterLab shows for the kernel: it is ghci, not IHaskell."""
    return f"Haskell (GHC {version})"
