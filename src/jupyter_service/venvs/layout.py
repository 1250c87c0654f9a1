"""Where venv kernels live, and the checks that keep every write inside those dirs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.names import NAME_RULE, is_valid_name

METADATA_FILE = ".jupyter-service.json"
INCOMPLETE_MARKER = ".jupyter-service-incomplete"
LAST_USED_FILE = ".jupyter-service-last-used"


@dataclass(frozen=True)
class Layout:
    """The two roots we own: `<data>/venvs` and `<data>/kernels`."""

    venvs: Path
    kernels: Path

    @classmethod
    def from_environment(cls) -> Layout:
        # Imported here: paths are resolved at call time, from $JUPYTER_DATA_DIR and HOME.
        from jupyter_core.paths import jupyter_data_dir

        data = Path(jupyter_data_dir())
        return cls(venvs=data / "venvs", kernels=data / "kernels")

    def venv(self, name: str) -> Path:
        return checked_target(self.venvs, name)

    def kernelspec(self, name: str) -> Path:
        return checked_target(self.kernels, name)

    def base_dir(self) -> Path:
        return self.venvs / ".base"

    def locks_dir(self) -> Path:
        return self.venvs / ".locks"


def check_name(name: str) -> None:
    if not is_valid_name(name):
        raise ServiceError(
            f"invalid kernel name {name!r}: the rule is {NAME_RULE}",
            hint="pick a name such as `my-experiment`",
        )


def check_root(root: Path) -> None:
    """Our roots must be real directories (or absent), never symlinks to elsewhere."""
    if root.is_symlink():
        raise ServiceError(
            f"refusing to use {root}: it is a symlink (to {os.readlink(root)})",
            hint=f"replace it with a real directory: `rm {root} && mkdir {root}`",
        )
    if root.exists() and not root.is_dir():
        raise ServiceError(f"refusing to use {root}: it is not a directory")


def checked_target(root: Path, name: str) -> Path:
    """`root/name` after our name rule, with the root and the target no symlinks, and the
    resolved target inside the resolved root."""
    check_name(name)
    check_root(root)
    target = root / name
    if target.is_symlink():
        raise ServiceError(
            f"refusing to touch {target}: it is a symlink (to {os.readlink(target)})",
            hint=f"remove the link by hand if it is yours: `rm {target}`",
        )
    resolved_root = root.resolve()
    if target.resolve().parent != resolved_root:
        raise ServiceError(f"refusing to touch {target}: it resolves outside {resolved_root}")
    return target


def ensure_root(root: Path) -> None:
    check_root(root)
    root.mkdir(parents=True, exist_ok=True)
