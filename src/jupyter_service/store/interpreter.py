"""Find the interpreter a stable kernel's `pythonPackage` names, and what it is."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.proc import run_subprocess
from jupyter_service.store.uv import uv_bin, uv_env

_VERSION = re.compile(r"\d+(\.\d+){0,2}")

# Printed by the interpreter itself: the base executable (not a venv's, not a shim), the
# version, and the platform its wheels are chosen for.
_PROBE = (
    "import json, os, platform, sys, sysconfig;"
    "exe = getattr(sys, '_base_executable', None) or sys.executable;"
    "print(json.dumps({'executable': os.path.realpath(exe),"
    " 'version': platform.python_version(),"
    " 'implementation': sys.implementation.cache_tag,"
    " 'platform': sysconfig.get_platform() + '-' + '-'.join(platform.libc_ver())}))"
)


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str
    implementation: str
    platform: str

    @property
    def minor(self) -> str:
        """'3.11' for 3.11.7: what a lock's requires-python pins."""
        return ".".join(self.version.split(".")[:2])


def _not_found(spec: str, why: str) -> ServiceError:
    return ServiceError(
        f"Python interpreter not found: pythonPackage = {spec!r} ({why})",
        hint="install it (for example `apt-get install python3`) or set pythonPackage to an "
        'interpreter on this machine: a version such as "3.11", a name or an absolute path',
    )


def _locate(spec: str) -> str:
    if spec.startswith("/"):
        if not Path(spec).exists():
            raise _not_found(spec, "no such file")
        return spec
    if _VERSION.fullmatch(spec):
        proc = run_subprocess(
            [uv_bin(), "python", "find", "--system", "--no-project", spec],
            env=uv_env(),
            check=False,
        )
        if proc.returncode != 0:
            raise _not_found(spec, "uv finds no such version on this machine")
        return proc.stdout.strip().splitlines()[-1]
    found = shutil.which(spec)
    if found is None:
        raise _not_found(spec, "not on PATH")
    return found


def find_interpreter(spec: str) -> Interpreter:
    """The interpreter `spec` names, probed by running it."""
    path = _locate(spec)
    proc = run_subprocess([path, "-I", "-c", _PROBE], check=False)
    if proc.returncode != 0:
        raise _not_found(spec, f"{path} does not run: {proc.stdout.strip()[-200:]}")
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise _not_found(spec, f"{path} is not a Python interpreter") from None
    return Interpreter(
        executable=data["executable"],
        version=data["version"],
        implementation=data["implementation"],
        platform=data["platform"],
    )
