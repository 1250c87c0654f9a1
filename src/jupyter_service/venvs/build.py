"""Make venv kernels: a shared base venv per interpreter (byte-compiled in the background),
and small venvs layered on it.

`create` writes a venv of a few dozen files that imports the base, plus a kernelspec.
Everything is built under a hidden temp name and renamed into place, under a per-name lock.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.venvs import compile_base
from jupyter_service.venvs.compile_base import COMPILED_MARKER
from jupyter_service.venvs.kernelspec import (
    MARKER_MODULE,
    MARKER_SOURCE,
    render_kernelspec,
    render_shell_rc,
)
from jupyter_service.venvs.layout import (
    INCOMPLETE_MARKER,
    METADATA_FILE,
    Layout,
    check_root,
    ensure_root,
)

BASE_PACKAGES = ("ipykernel", "ipywidgets", "pip")
BASE_FORMAT = 1

Say = Callable[[str], None]


def uv_bin() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def base_python() -> str:
    """The interpreter venv kernels use: $JUPYTER_SERVICE_VENV_PYTHON, else the one under ours."""
    env = os.environ.get("JUPYTER_SERVICE_VENV_PYTHON")
    if env:
        return env
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate) if candidate.exists() else sys.executable


def subprocess_env() -> dict[str, str]:
    """Our environment without what would point uv or Python at another venv."""
    from jupyter_service.proc import clean_environment

    return clean_environment()


def site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python3.*/site-packages"))
    if not found:
        raise ServiceError(f"not a Python venv (no lib/python3.*/site-packages): {venv}")
    return found[0]


def uv_pip_install(
    venv: Path, args: list[str], *, what: str, log_dir: Path, cwd: Path | None = None
) -> None:
    """`uv pip install ARGS` into `venv`, its progress shown (uv's own bars on a terminal,
    line by line with a heartbeat elsewhere), log kept on failure."""
    from jupyter_service.proc import Progress, run_subprocess

    run_subprocess(
        [uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python"), *args],
        env=subprocess_env(),
        cwd=cwd,
        what=what,
        log_dir=log_dir,
        progress=Progress("uv pip install", watch=venv),
    )


def base_key(python: str) -> str:
    import hashlib

    real = os.path.realpath(python)
    try:
        # An interpreter upgraded in place gets a new base.
        stamp = os.stat(real).st_mtime_ns
    except OSError:
        stamp = 0
    spec = {"python": real, "stamp": stamp, "packages": BASE_PACKAGES, "format": BASE_FORMAT}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def temp_dir(root: Path, label: str) -> Path:
    """A hidden work dir under `root`, named so leftovers can be found and cleaned."""
    path = root / f".tmp-{label}-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir(mode=0o755)
    return path


def ensure_base(layout: Layout, say: Say) -> Path:
    """The prepared base venv: made once (cold) with uv from its cache. It is usable at
    once; its byte-code is written in the background (`compile_in_background`)."""
    python = base_python()
    base = layout.base_dir() / base_key(python)
    # Every venv kernel runs the base's code: one we did not build is never used.
    check_root(layout.base_dir())
    check_root(base)
    if (base / "pyvenv.cfg").exists():
        if not (base / COMPILED_MARKER).exists():
            compile_in_background(base)  # one that was interrupted (a reboot) goes on
        return base
    ensure_root(layout.base_dir())
    # Imported here: a warm `create` runs no process, and need not import for one.
    from jupyter_service.proc import run_subprocess

    say("Installing base packages (first run: preparing the shared base venv)...")
    work = temp_dir(layout.base_dir(), "base")
    try:
        run_subprocess(
            [uv_bin(), "venv", "--quiet", "--relocatable", "--python", python, str(work)],
            env=subprocess_env(),
            what="creating the base venv failed",
            log_dir=layout.venvs,
            stream=True,
        )
        uv_pip_install(
            work,
            list(BASE_PACKAGES),
            what="installing the base packages failed",
            log_dir=layout.venvs,
        )
        try:
            work.rename(base)
        except OSError:
            if not (base / "pyvenv.cfg").exists():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    compile_in_background(base)
    return base


def compile_in_background(base: Path) -> None:
    """Write the base's byte-code in a process of its own that outlives `create`
    (compile_base.py, run by the base's interpreter): a first `create` costs what uv's install
    does, not that plus compiling. It first copies the byte-code our own environment already
    holds for identical files, what a kernel start reads first; then, at idle priority,
    compiles the rest. A kernel started before it is done compiles what it still lacks
    itself, as Python always does. One at a time: the lock is taken here and handed to the
    process, so none is started while one runs; done, it leaves COMPILED_MARKER."""
    try:
        lock = compile_base.take_lock(base)
    except OSError as exc:  # best effort: the base works without it, only slower at first
        _compile_not_started(base, exc)
        return
    if lock is None:
        return  # one runs: a second `create` right behind the first imports nothing more
    try:
        from jupyter_service.proc import start_detached

        env = subprocess_env()
        # compileall would write hash-based byte-code, and take ours for out of date.
        env.pop("SOURCE_DATE_EPOCH", None)
        start_detached(
            [
                str(base / "bin" / "python"),
                "-I",
                str(Path(compile_base.__file__)),
                str(base),
                str(site_packages(base)),
                *(f"--ours={p}" for p in our_site_dirs()),
                f"--lock-fd={lock}",
            ],
            env=env,
            pass_fds=(lock,),
        )
    except OSError as exc:
        _compile_not_started(base, exc)
    finally:
        os.close(lock)


def our_site_dirs() -> list[str]:
    """The site dirs of the environment we run in, in import order: where the base's
    byte-code is copied from."""
    return [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]


def _compile_not_started(base: Path, exc: OSError) -> None:
    import logging

    logging.getLogger("jupyter_service").warning(
        "byte-compiling %s in the background did not start (%s); "
        "its kernels compile what they import, and the next `create` tries again",
        base,
        exc,
    )


BASE_PTH = "_jupyter_service_base.pth"


def make_layered_venv(base: Path, target: Path) -> None:
    """A venv of its own on top of the shared base: its own (empty) site-packages first on
    sys.path, then the base's, added by a .pth file. What the user installs lands in the
    venv and shadows the base; nothing is ever installed into the base.

    Only `bin` is copied (a few small relocatable scripts, so `pip` and `ipython` run this
    venv's python), which is why `create` costs a fraction of copying the base."""
    base_site = site_packages(base)
    site = target / base_site.relative_to(base)
    site.mkdir(parents=True)
    (target / "bin").mkdir()
    for entry in (base / "bin").iterdir():
        if entry.is_symlink():
            (target / "bin" / entry.name).symlink_to(os.readlink(entry))
        else:
            shutil.copy2(entry, target / "bin" / entry.name)
    shutil.copy2(base / "pyvenv.cfg", target / "pyvenv.cfg")
    if (base / "lib64").is_symlink():
        (target / "lib64").symlink_to(os.readlink(base / "lib64"))
    # addsitedir, not a bare path: the base's own .pth files are honoured too.
    (site / BASE_PTH).write_text(
        f"import site; site.addsitedir({str(base_site)!r})\nimport {MARKER_MODULE}\n"
    )


def personalize(work: Path, name: str, final: Path, base: Path) -> None:
    """What each venv gets of its own: the launcher, the shell rc, the metadata."""
    (work / INCOMPLETE_MARKER).write_text("")
    (site_packages(work) / f"{MARKER_MODULE}.py").write_text(MARKER_SOURCE)
    (work / ".jupyter-service-shellrc").write_text(render_shell_rc(name, final))
    meta = {
        "name": name,
        "created": time.time(),
        "python": base_python(),
        "base": str(site_packages(base)),
    }
    (work / METADATA_FILE).write_text(json.dumps(meta))


def write_kernelspec_dir(work: Path, name: str, venv: Path) -> None:
    spec = render_kernelspec(name, venv)
    (work / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
