"""Build a stable kernel from its lock into the store: `<state>/store/<hash>-<name>`.

A store path is complete or absent: it is built in a temp dir beside it, byte-compiled,
made read-only, then renamed into place. The hash covers everything that goes in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import asdict
from pathlib import Path

from jupyter_service.proc import run_subprocess
from jupyter_service.store import kernelspec
from jupyter_service.store.interpreter import Interpreter
from jupyter_service.store.lock import LOCK_FILE, PROJECT_FILE
from jupyter_service.store.uv import log_dir, uv_bin, uv_env

# Bump when what a build writes into a store path changes: the old paths stay valid.
RECIPE = 1
BUILD_INFO = "jupyter-service-build.json"
TMP_PREFIX = ".tmp-"


def store_dir(state: Path) -> Path:
    return state / "store"


def store_hash(name: str, lock_sha256: str, interpreter: Interpreter) -> str:
    """The store key: the lock, the interpreter (version, path, platform), the recipe. Pure."""
    inputs = {"recipe": RECIPE, "name": name, "lock": lock_sha256, **asdict(interpreter)}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, stat.S_IMODE(mode) & ~0o222)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                dirnames.remove(name)
    for dirpath, _, _ in os.walk(root, topdown=False):
        os.chmod(dirpath, 0o555)


def remove_tree(root: Path) -> None:
    """Remove a (read-only) tree we made; never follows a symlink out of it."""
    if root.is_symlink() or not root.exists():
        return
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    shutil.rmtree(root)


def remove_stale_work(store: Path) -> None:
    """Temp dirs left by a build that was killed (callers hold the state lock)."""
    if store.is_dir():
        for entry in store.iterdir():
            if entry.name.startswith(TMP_PREFIX):
                remove_tree(entry)


def _site_packages(env: Path) -> Path:
    found = sorted(env.glob("lib/python*/site-packages"))
    return found[0]


def write_guards(env: Path, name: str, interpreter: Interpreter) -> list[Path]:
    """The pieces that keep a stable kernel stable: pip refusals and the %pip extension."""
    site = _site_packages(env)
    written = [site / f"{kernelspec.EXTENSION_MODULE}.py"]
    written[0].write_text(kernelspec.render_extension(name))
    if not (site / "pip").exists():
        (site / "pip").mkdir()
        (site / "pip" / "__init__.py").write_text('"""Not pip (jupyter-service)."""\n')
        (site / "pip" / "__main__.py").write_text(kernelspec.render_pip_module(name))
        written += [site / "pip" / "__init__.py", site / "pip" / "__main__.py"]
    for script in ("pip", "pip3", f"pip{interpreter.minor}"):
        path = env / "bin" / script
        path.unlink(missing_ok=True)
        path.write_text(kernelspec.render_pip_script(name))
        path.chmod(0o755)
    return written


def build_kernel(
    name: str, lock_dir: Path, interpreter: Interpreter, target: Path, state: Path
) -> None:
    """Build `target` from the lock in `lock_dir`; hashes checked; nothing left on failure."""
    logs = log_dir(state)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=target.parent))
    uv, env = uv_bin(), uv_env()
    what = f"building stable kernel {name} failed"
    try:
        project = work / "project"
        project.mkdir()
        for file in (PROJECT_FILE, LOCK_FILE):
            shutil.copyfile(lock_dir / file, project / file)
        python = ["--python", interpreter.executable]
        # The lock must still satisfy its project (a hand-edited uv.lock fails here).
        run_subprocess(
            [uv, "lock", "--check", "--offline", "--project", str(project), *python],
            env=env,
            log_dir=logs,
            what=f"the lock of stable kernel {name} does not match its project",
        )
        requirements = work / "requirements.txt"
        export = [uv, "export", "--frozen", "--project", str(project), "--no-emit-project"]
        export += ["--format", "requirements-txt", "--no-header", "-o", str(requirements)]
        run_subprocess(export, env=env, log_dir=logs, what=what)
        venv = work / "env"
        run_subprocess(
            [uv, "venv", "--quiet", "--relocatable", *python, str(venv)],
            env=env,
            log_dir=logs,
            what=what,
        )
        # Copies, not hardlinks into uv's cache: a store path shares no inode with anything.
        sync = [uv, "pip", "sync", "--python", str(venv / "bin" / "python"), "--require-hashes"]
        sync += ["--compile-bytecode", "--link-mode", "copy", str(requirements)]
        run_subprocess(sync, env=env, log_dir=logs, what=what)
        guards = write_guards(venv, name, interpreter)
        run_subprocess(
            [str(venv / "bin" / "python"), "-I", "-m", "compileall", "-q", *map(str, guards)],
            log_dir=logs,
            what=what,
        )
        info = {
            "name": name,
            "lock_sha256": file_sha256(lock_dir / LOCK_FILE),
            "interpreter": asdict(interpreter),
        }
        (venv / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
        set_read_only(venv)
        # Moving a dir to another parent rewrites its `..`: it must be writable until then.
        os.chmod(venv, 0o755)
        venv.rename(target)
        os.chmod(target, 0o555)
    finally:
        remove_tree(work)
