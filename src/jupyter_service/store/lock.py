"""`lock`: each stable Python kernel is a small uv project next to the config, locked by uv.

`<config dir>/<config stem>.lock/<kernel>/pyproject.toml` is rendered from the config and
`uv.lock` beside it is uv's own lock; both are meant to be committed with the config.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from jupyter_service.config import PythonKernel
from jupyter_service.errors import ServiceError
from jupyter_service.proc import run_subprocess
from jupyter_service.store.interpreter import Interpreter
from jupyter_service.store.uv import uv_bin, uv_env

# The original's python-base stack (DESIGN.md), before `extraPackages`.
DEFAULT_STACK = (
    "ipykernel",
    "ipywidgets",
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "seaborn",
    "plotly",
    "scikit-learn",
    "torch",
    "torchvision",
    "transformers",
    "accelerate",
    "datasets",
    "requests",
    "aiohttp",
    "tqdm",
    "pydantic",
    "python-dotenv",
    "rich",
)

PROJECT_FILE = "pyproject.toml"
LOCK_FILE = "uv.lock"
MARKER = "# Written by `jupyter-service lock`"
# Stable kernels are built for the machine that serves them; locking for Linux alone keeps
# the resolution (and the lock) free of other platforms' wheels.
ENVIRONMENTS = ("sys_platform == 'linux'",)


def _name(requirement: str) -> str | None:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return None


def kernel_requirements(kernel: PythonKernel) -> list[str]:
    """What a stable kernel asks for: python-base's stack plus `extraPackages`, or another
    kernel's `packages`; ipykernel always in."""
    if kernel.name == "python-base":
        wanted = [*DEFAULT_STACK, *kernel.extraPackages]
    else:
        wanted = list(kernel.packages)
    if "ipykernel" not in {_name(r) for r in wanted}:
        wanted.insert(0, "ipykernel")
    return list(dict.fromkeys(wanted))


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_pyproject(kernel: PythonKernel, python_minor: str) -> str:
    """The uv project of one stable kernel. Pure; it holds no path, so the same config gives
    the same text on every machine."""
    deps = "".join(f"    {_toml_string(r)},\n" for r in kernel_requirements(kernel))
    environments = ", ".join(_toml_string(e) for e in ENVIRONMENTS)
    return (
        f"{MARKER} from extraKernels.{kernel.name}; edit the config, not this file.\n"
        "[project]\n"
        f'name = "jupyter-service-kernel-{kernel.name}"\n'
        'version = "0"\n'
        f'requires-python = "=={python_minor}.*"\n'
        f"dependencies = [\n{deps}]\n"
        "\n"
        "[tool.uv]\n"
        "package = false\n"
        f"environments = [{environments}]\n"
    )


def lock_root(config_path: Path) -> Path:
    """`/etc/jupyter-service/config.toml` -> `/etc/jupyter-service/config.lock`."""
    return config_path.parent / f"{config_path.stem}.lock"


def _project(text: str) -> tuple[str, list[str]]:
    try:
        project = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError:
        return "", []
    return str(project.get("requires-python", "")), list(project.get("dependencies", []))


def describe_mismatch(locked: str, wanted: str) -> str:
    """Why the locked project does not satisfy the config, in words. Pure."""
    old_python, old_deps = _project(locked)
    new_python, new_deps = _project(wanted)
    reasons = []
    added = [d for d in new_deps if d not in old_deps]
    removed = [d for d in old_deps if d not in new_deps]
    if added:
        reasons.append("the config asks for " + ", ".join(added) + " which the lock lacks")
    if removed:
        reasons.append("the lock has " + ", ".join(removed) + " which the config dropped")
    if old_python != new_python:
        reasons.append(f"the lock is for Python {old_python}, the interpreter is {new_python}")
    return "; ".join(reasons) or "the lock's project differs from the config"


def check_lock(kernel: PythonKernel, interpreter: Interpreter, root: Path, hint: str) -> Path:
    """The kernel's lock dir, when its lock satisfies the config; else say why."""
    directory = root / kernel.name
    lock = directory / LOCK_FILE
    if not lock.is_file():
        raise ServiceError(f"stable kernel {kernel.name} is not locked: no {lock}", hint=hint)
    try:
        locked = (directory / PROJECT_FILE).read_text(encoding="utf-8")
    except OSError:
        locked = ""
    wanted = render_pyproject(kernel, interpreter.minor)
    if locked != wanted:
        raise ServiceError(
            f"the lock of stable kernel {kernel.name} does not satisfy the config: "
            f"{describe_mismatch(locked, wanted)}",
            hint=hint,
        )
    return directory


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_lock(
    kernel: PythonKernel, interpreter: Interpreter, root: Path, *, upgrade: bool, logs: Path
) -> bool:
    """Resolve one kernel with `uv lock` in a scratch copy, then put the project and lock in
    place. Return whether anything changed. A failure leaves the old lock as it was."""
    directory = root / kernel.name
    fresh_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    before = (_read(directory / PROJECT_FILE), _read(directory / LOCK_FILE))
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        (work / PROJECT_FILE).write_text(render_pyproject(kernel, interpreter.minor))
        if before[1] is not None:
            # Starting from the old lock keeps every pin the config still allows.
            (work / LOCK_FILE).write_bytes(before[1])
        cmd = [uv_bin(), "lock", "--project", str(work), "--python", interpreter.executable]
        if upgrade:
            cmd.append("--upgrade")
        run_subprocess(
            cmd, env=uv_env(), log_dir=logs, what=f"locking stable kernel {kernel.name} failed"
        )
        after = ((work / PROJECT_FILE).read_bytes(), (work / LOCK_FILE).read_bytes())
        if after == before:
            return False
        directory.mkdir(exist_ok=True)
        # The lock first, the project last: a project that matches the config is what marks
        # a lock as complete.
        os.replace(work / LOCK_FILE, directory / LOCK_FILE)
        os.replace(work / PROJECT_FILE, directory / PROJECT_FILE)
        return True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if fresh_root and not any(root.iterdir()):
            root.rmdir()


def remove_stale_locks(root: Path, keep: set[str]) -> list[str]:
    """Remove the lock dirs of kernels no longer in the config (only ones we wrote)."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for directory in sorted(root.iterdir()):
        project = directory / PROJECT_FILE
        if directory.name in keep or directory.is_symlink() or not project.is_file():
            continue
        if not project.read_text(encoding="utf-8").startswith(MARKER):
            continue
        for name in (LOCK_FILE, PROJECT_FILE):
            (directory / name).unlink(missing_ok=True)
        try:
            directory.rmdir()
        except OSError:
            continue
        removed.append(directory.name)
    return removed
