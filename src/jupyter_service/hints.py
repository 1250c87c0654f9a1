"""Commands printed for a person to paste: each one works where it was printed.

A hint names our program as the shell will find it (the bare name when it is on the PATH,
else its absolute path), the config by its absolute path when one was given, and `sudo`
when what the command writes is not writable by whoever reads the hint.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

# Our console scripts, and the module each runs where the script is not installed.
PROGRAM_MODULES = {
    "jupyter-service": "jupyter_service",
    "jupyter-venv-kernel": "jupyter_service.venv_cli",
    "jupyter": "jupyter",
}


def find_program(name: str) -> list[str]:
    """The argv that starts our program `name`: the console script beside this Python (not
    resolved: a venv's python is a symlink out of it), else `python -m MODULE`."""
    python = Path(os.path.abspath(sys.executable))
    script = python.parent / name
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(python), "-m", PROGRAM_MODULES[name]]


def _found_on_path(name: str, argv: Sequence[str]) -> bool:
    """Whether the shell finds `name` as the very script `argv` starts."""
    found = shutil.which(name)
    if found is None or len(argv) != 1:
        return False
    try:
        return os.path.samefile(found, argv[0])
    except OSError:
        return False


def _writable(path: Path) -> bool:
    """Whether `path`, or the nearest dir above it that exists, may be written here."""
    for candidate in (path, *path.parents):
        try:
            candidate.lstat()
        except FileNotFoundError:
            continue
        except OSError:  # a dir above it we may not search
            return False
        return os.access(candidate, os.W_OK, effective_ids=os.access in os.supports_effective_ids)
    return False


def needs_root(writes: Sequence[Path]) -> bool:
    """Whether writing `writes` (files or dirs, existing or to be made) needs root here."""
    if os.geteuid() == 0:
        return False
    return not all(_writable(Path(os.path.abspath(p))) for p in writes)


def render_hint(
    program: str,
    *args: str,
    config: Path | None = None,
    writes: Sequence[Path] = (),
    root: bool = False,
) -> str:
    """`program args [--config ABS]`, quoted for a POSIX shell; `sudo` first (and the
    program by its absolute path, sudo's PATH lacks a venv) when the command needs `root`
    or `writes` what is not writable here, and this is not root already."""
    argv = find_program(program)
    sudo = (root and os.geteuid() != 0) or needs_root(writes)
    if not sudo and _found_on_path(program, argv):
        argv = [program]
    words = [*argv, *args]
    if config is not None:
        words += ["--config", os.path.abspath(config)]
    text = shlex.join(words)
    return f"sudo {text}" if sudo else text


def service_hint(
    *args: str, config: Path | None = None, writes: Sequence[Path] = (), root: bool = False
) -> str:
    """A `jupyter-service` command (see `render_hint`)."""
    return render_hint("jupyter-service", *args, config=config, writes=writes, root=root)


def venv_kernel_hint(*args: str) -> str:
    """A `jupyter-venv-kernel` command, for the user who reads it (venv kernels are theirs)."""
    return render_hint("jupyter-venv-kernel", *args)


def switch_hint(config: Path | None, state: Path) -> str:
    """`jupyter-service switch [--config ABS]`, with sudo where the state dir is not ours."""
    return service_hint("switch", config=config, writes=[state])


def generations_hint(config: Path | None) -> str:
    return service_hint("generations", config=config)
