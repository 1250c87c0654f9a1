"""Which kernelspecs the server offers, found as jupyter_client finds them, without it.

One answer for the server's kernelspec manager, `doctor` and `jupyter-venv-kernel list`:
the current generation's stable kernels first, then Jupyter's own kernel dirs (from
`jupyter_core.paths`), the service's own Python left out when a stable Python kernel
replaces it. jupyter_client is not imported here: it pulls in IPython, zmq and tornado,
a quarter of a second that `list` should not pay.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_service.venvs.spec_files import read_kernel_json, venv_of

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig

# Set by the server for its terminals and kernels: "1" when it hides its own Python.
HIDES_PYTHON_ENV = "JUPYTER_SERVICE_HIDES_PYTHON"
# jupyter_client's name for the kernel of the Python it runs in, and its name rule.
NATIVE_KERNEL_NAME = "python3"
_KERNEL_NAME = re.compile(r"[a-z0-9._\-]+", re.IGNORECASE)


def hides_service_python(config: ServiceConfig) -> bool:
    """With a stable Python kernel to use, the service's own environment is not one: its
    `%pip install` would change the service itself."""
    from jupyter_service.kernels import find_service_kernel_replacements

    return bool(find_service_kernel_replacements(config.stableKernels))


def service_kernels_dir() -> str:
    """Where the service's own environment keeps its kernelspecs ('Python 3 (ipykernel)')."""
    return os.path.join(sys.prefix, "share", "jupyter", "kernels")


def ipython_kernels_dir() -> str:
    """IPython's kernels dir, which jupyter_client searches too: $IPYTHONDIR, else ~/.ipython."""
    base = os.environ.get("IPYTHONDIR") or os.path.join("~", ".ipython")
    return os.path.join(os.path.normpath(os.path.expanduser(base)), "kernels")


def served_kernel_dirs(stable_kernel_dir: str, hide_service_python: bool) -> list[str]:
    """The dirs the server searches, first match of a name winning."""
    from jupyter_core.paths import jupyter_path

    dirs = [*jupyter_path("kernels"), ipython_kernels_dir()]
    if hide_service_python:
        own = service_kernels_dir()
        dirs = [d for d in dirs if os.path.abspath(d) != own]
    if stable_kernel_dir:
        return [stable_kernel_dir, *(d for d in dirs if d != stable_kernel_dir)]
    return dirs


def native_kernel_dir() -> str | None:
    """ipykernel's resources dir, where jupyter_client finds the native kernel when no dir has
    one; located without importing ipykernel."""
    spec = importlib.util.find_spec("ipykernel")
    if spec is None or spec.origin is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "resources")


def find_kernel_dirs(dirs: list[str], *, native: bool) -> dict[str, str]:
    """Kernel name -> resource dir, as jupyter_client's `find_kernel_specs` has it: names
    lowercased, the first dir to have a name wins, the native kernel last if asked for."""
    found: dict[str, str] = {}
    for kernel_dir in dirs:
        try:
            entries = sorted(os.listdir(kernel_dir))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(kernel_dir, entry)
            key = entry.lower()
            # A hidden name is a kernelspec being written (`.tmp-NAME-…`), never a kernel.
            if key in found or key.startswith(".") or not _KERNEL_NAME.fullmatch(key):
                continue
            if os.path.isfile(os.path.join(path, "kernel.json")):
                found[key] = path
    if native and NATIVE_KERNEL_NAME not in found:
        resources = native_kernel_dir()
        if resources is not None:
            found[NATIVE_KERNEL_NAME] = resources
    return found


@dataclass(frozen=True)
class OfferedKernel:
    """One kernel the server lists."""

    name: str
    display_name: str
    resource_dir: str
    tier: str  # stable | experimental | other
    spec: dict[str, Any]


def offered_kernels(
    stable_kernel_dir: Path, hide_service_python: bool, hide_venv_kernels: bool = False
) -> list[OfferedKernel]:
    """Every kernel the server offers, with its tier: stable when it comes from the current
    generation, experimental when jupyter-venv-kernel made it (none with
    `hide_venv_kernels`: enableVenvKernels = false), other for the rest."""
    dirs = served_kernel_dirs(str(stable_kernel_dir), hide_service_python)
    result = []
    for name, resource_dir in find_kernel_dirs(dirs, native=not hide_service_python).items():
        spec = read_kernel_json(Path(resource_dir)) or {}
        if os.path.dirname(resource_dir) == str(stable_kernel_dir):
            tier = "stable"
        elif venv_of(spec) is not None:
            if hide_venv_kernels:
                continue
            tier = "experimental"
        else:
            tier = "other"
        display = spec.get("display_name")
        if not isinstance(display, str):
            # The native kernel from ipykernel's resources has no kernel.json to read.
            display = f"Python {sys.version_info[0]} (ipykernel)" if not spec else name
        result.append(OfferedKernel(name, display, resource_dir, tier, spec))
    return sorted(result, key=lambda k: k.name)
