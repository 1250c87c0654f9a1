"""`create` and `create-from`: layer a venv on the base, install, register; all or nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from jupyter_service.errors import ServiceError, terminate_as_exception
from jupyter_service.hints import venv_kernel_hint
from jupyter_service.venvs.build import (
    Say,
    ensure_base,
    make_layered_venv,
    personalize,
    temp_dir,
    uv_pip_install,
    write_kernelspec_dir,
)
from jupyter_service.venvs.layout import INCOMPLETE_MARKER, Layout, ensure_root
from jupyter_service.venvs.locks import BASE_LOCK, clean_name, name_lock


def check_not_stable(name: str) -> None:
    """A venv kernel may not shadow (or be shadowed by) a stable kernel: the server lists the
    current generation's kernels first, and two "Python (base)" would confuse everyone."""
    from jupyter_service import paths
    from jupyter_service.venvs.kernelspec import display_name
    from jupyter_service.venvs.spec_files import read_kernel_json

    stable = paths.ServicePaths.from_environment().current_kernels
    if not stable.is_dir():
        return
    for spec_dir in stable.iterdir():
        spec = read_kernel_json(spec_dir) or {}
        if spec_dir.name == name or spec.get("display_name") == display_name(name):
            raise ServiceError(
                f"'{name}' is taken by the stable kernel '{spec_dir.name}' "
                f"({spec.get('display_name', spec_dir.name)})",
                hint=f"pick another name, such as `{name}-dev`",
            )


def create_venv_kernel(
    layout: Layout, name: str, say: Say, requirements: Path | None = None
) -> Path:
    venv = layout.venv(name)
    spec_dir = layout.kernelspec(name)
    if requirements is not None and not requirements.is_file():
        raise ServiceError(
            f"requirements file not found: {requirements}",
            hint="pass the path of a requirements.txt",
        )
    check_not_stable(name)
    ensure_root(layout.venvs)
    ensure_root(layout.kernels)
    with terminate_as_exception(), name_lock(layout, name):
        clean_name(layout, name)
        if venv.exists() or spec_dir.exists():
            raise ServiceError(
                f"kernel '{name}' already exists",
                hint=f"pick another name, or delete it first: `{venv_kernel_hint('delete', name)}`",
            )
        say(f"Creating venv for kernel '{name}'...")
        with name_lock(layout, BASE_LOCK, wait=True):
            base = ensure_base(layout, say)
        work = temp_dir(layout.venvs, name)
        spec_work: Path | None = None
        try:
            make_layered_venv(base, work)
            personalize(work, name, venv, base)
            if requirements is not None:
                say(f"Installing packages from {requirements}...")
                uv_pip_install(
                    work,
                    ["-r", str(requirements)],
                    cwd=requirements.resolve().parent,
                    what=f"installing {requirements} failed; nothing was created",
                    log_dir=layout.venvs,
                )
            say("Registering kernel...")
            spec_work = temp_dir(layout.kernels, name)
            write_kernelspec_dir(spec_work, name, venv)
            # The venv goes in place still marked incomplete; the kernelspec's rename is the
            # one step that makes the kernel exist (`clean_name` reads the marker so).
            work.rename(venv)
            spec_work.rename(spec_dir)
            spec_work = None
            (venv / INCOMPLETE_MARKER).unlink()
        except BaseException:
            for leftover in (work, spec_work):
                if leftover is not None and leftover.exists():
                    shutil.rmtree(leftover, ignore_errors=True)
            clean_name(layout, name)
            raise
    return venv
