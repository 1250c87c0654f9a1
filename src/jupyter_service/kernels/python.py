"""Stable Python kernels: a small uv project per kernel, locked by uv, built into a venv.

`<config dir>/<config stem>.lock/<kernel>/pyproject.toml` is rendered from the config and
`uv.lock` beside it is uv's own lock; both are meant to be committed with the config. A
store path is a relocatable venv synced from the lock with hashes checked, with guards
that keep it stable (`pip` and `%pip` refuse, pointing to venv kernels and `promote`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jupyter_service.errors import ServiceError
from jupyter_service.kernels import LockedKernel, StableKernel
from jupyter_service.store.manifest import ManifestEntry

PROJECT_FILE = "pyproject.toml"
LOCK_FILE = "uv.lock"
MARKER = "# Written by `jupyter-service lock`"
# Stable kernels are built for the machine that serves them; locking for Linux alone keeps
# the resolution (and the lock) free of other platforms' wheels.
ENVIRONMENTS = ("sys_platform == 'linux'",)
# Bump when what a build writes into a store path changes: the old paths stay valid.
RECIPE = 1
BUILD_INFO = "jupyter-service-build.json"
EXTENSION_MODULE = "jupyter_service_stable"
_LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


# -- uv and the interpreter -----------------------------------------------------------------


def uv_bin() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def uv_env(**extra: str) -> dict[str, str]:
    """Our environment without what would point uv at another venv or project; uv never
    downloads an interpreter: the config names one that is on this machine."""
    from jupyter_service.proc import clean_environment

    return clean_environment(UV_PYTHON_DOWNLOADS="never", **extra)


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
    from jupyter_service.proc import run_subprocess

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
    from jupyter_service.proc import run_subprocess

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


def interpreter_spec(kernel: StableKernel) -> str:
    return kernel.options.get("pythonPackage", "python3")


# -- the lock: a uv project ----------------------------------------------------------------


def _name(requirement: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return None


def kernel_requirements(kernel: StableKernel) -> list[str]:
    """What a stable kernel asks for, ipykernel always in."""
    wanted = list(kernel.packages)
    if "ipykernel" not in {_name(r) for r in wanted}:
        wanted.insert(0, "ipykernel")
    return list(dict.fromkeys(wanted))


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_pyproject(kernel: StableKernel, python_minor: str) -> str:
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


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def find_lock_problems(path: Path) -> list[str]:
    """A uv.lock that exists must be uv's TOML with its version and its packages. Reads it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path} cannot be read: {exc}"]
    except tomllib.TOMLDecodeError as exc:
        return [f"{path} is not valid TOML ({exc}): truncated or damaged"]
    packages = data.get("package")
    if not isinstance(data.get("version"), int) or not isinstance(packages, list) or not packages:
        return [f"{path} is not a uv lock (no `version` and `[[package]]` entries)"]
    if not all(isinstance(p, dict) and "name" in p and "version" in p for p in packages):
        return [f"{path} has a `[[package]]` entry without its name or version"]
    return []


def write_lock(
    kernel: StableKernel, interpreter: Interpreter, root: Path, *, upgrade: bool, logs: Path
) -> bool:
    """Resolve one kernel with `uv lock` in a scratch copy, then put the project and lock in
    place. Return whether anything changed. A failure leaves the old lock as it was."""
    from jupyter_service.proc import Progress, run_subprocess
    from jupyter_service.store.lock import scratch_dir

    directory = root / kernel.name
    before = (_read(directory / PROJECT_FILE), _read(directory / LOCK_FILE))
    work = scratch_dir(root)
    try:
        (work / PROJECT_FILE).write_text(render_pyproject(kernel, interpreter.minor))
        if before[1] is not None and not find_lock_problems(directory / LOCK_FILE):
            # Starting from the old lock keeps every pin the config still allows (a damaged
            # one is resolved afresh).
            (work / LOCK_FILE).write_bytes(before[1])
        cmd = [uv_bin(), "lock", "--project", str(work), "--python", interpreter.executable]
        if upgrade:
            cmd.append("--upgrade")
        run_subprocess(
            cmd,
            env=uv_env(),
            log_dir=logs,
            what=f"locking stable kernel {kernel.name} failed",
            progress=Progress(f"resolving {kernel.name}"),
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


# -- the store path: a venv with guards ----------------------------------------------------


def store_key_inputs(lock_sha256: str, interpreter: Interpreter) -> dict[str, Any]:
    """The lock, the interpreter (version, path, platform), the recipe. Pure."""
    return {"recipe": RECIPE, "lock": lock_sha256, **asdict(interpreter)}


def _site_packages(env: Path) -> Path:
    found = sorted(env.glob("lib/python*/site-packages"))
    return found[0]


def write_guards(env: Path, name: str, interpreter: Interpreter) -> list[Path]:
    """The pieces that keep a stable kernel stable: pip refusals and the %pip extension."""
    site = _site_packages(env)
    written = [site / f"{EXTENSION_MODULE}.py"]
    written[0].write_text(render_extension(name))
    if not (site / "pip").exists():
        (site / "pip").mkdir()
        (site / "pip" / "__init__.py").write_text('"""Not pip (jupyter-service)."""\n')
        (site / "pip" / "__main__.py").write_text(render_pip_module(name))
        written += [site / "pip" / "__init__.py", site / "pip" / "__main__.py"]
    for script in ("pip", "pip3", f"pip{interpreter.minor}"):
        path = env / "bin" / script
        path.unlink(missing_ok=True)
        path.write_text(render_pip_script(name))
        path.chmod(0o755)
    return written


def allowed_builds(kernel: StableKernel) -> tuple[str, ...]:
    """The packages `allowBuild` lets be built from source, canonical names, sorted."""
    from packaging.utils import canonicalize_name

    names = kernel.options.get("allowBuild", "")
    return tuple(sorted({canonicalize_name(n) for n in names.split(",") if n}))


def render_binary_only(requirements: str, allowed: tuple[str, ...]) -> list[str]:
    """uv's options that install every package of `requirements` (uv export's format) from
    a wheel, but those `allowed` to be built. Pure."""
    from packaging.utils import canonicalize_name

    if not allowed:
        return ["--only-binary", ":all:"]
    names = sorted(
        {
            canonicalize_name(line.split("==")[0].split(";")[0].strip())
            for line in requirements.splitlines()
            if line and not line[0].isspace() and not line.startswith(("#", "-"))
        }
        - set(allowed)
    )
    return [arg for name in names for arg in ("--only-binary", name)]


def build_venv(
    name: str,
    lock_dir: Path,
    interpreter: Interpreter,
    work: Path,
    logs: Path,
    allowed: tuple[str, ...] = (),
) -> Path:
    """Build the kernel's venv in `work` from the lock in `lock_dir`, hashes checked, from
    wheels only but for the packages `allowed` to be built (a wheel whose hash no longer
    matches fails the build; it never falls back to the sdist)."""
    from jupyter_service.proc import Progress, run_subprocess
    from jupyter_service.store.build import file_sha256

    uv, env = uv_bin(), uv_env()
    what = f"building stable kernel {name} failed"
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
    sync += ["--compile-bytecode", "--link-mode", "copy"]
    sync += [*render_binary_only(requirements.read_text(), allowed), str(requirements)]
    # The count is uv's to tell (the bar shows it): the export's lines include packages
    # whose markers leave them out.
    label = f"installing {name}"
    run_subprocess(sync, env=env, log_dir=logs, what=what, progress=Progress(label, watch=venv))
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
    return venv


# -- the kernelspec and the guards' texts (pure) -------------------------------------------


def display_name(name: str, configured: str | None) -> str:
    return configured or f"Python ({name})"


def refusal_message(name: str) -> str:
    """What `pip install`, `!pip` and `%pip` say inside a stable kernel."""
    return (
        f"error: the stable kernel {name!r} is managed by the jupyter-service config; "
        "nothing can be installed into it.\n"
        "hint: make an experimental kernel in a terminal with "
        "`jupyter-venv-kernel create NAME`, install there, then "
        f"`jupyter-venv-kernel promote NAME --to {name}` to add what you installed to the "
        "config (an admin then runs `jupyter-service lock` and `switch`)."
    )


def render_pip_script(name: str) -> str:
    """bin/pip, bin/pip3, bin/pip3.X of a stable kernel: `!pip install` lands here."""
    return f"#!/bin/sh\ncat >&2 <<'EOF'\n{refusal_message(name)}\nEOF\nexit 1\n"


def render_pip_module(name: str) -> str:
    """`python -m pip` (what `%pip` runs, and what tools run) in a stable kernel."""
    return (
        '"""Not pip: this stable kernel is managed by the jupyter-service config."""\n'
        "import sys\n\n"
        f"MESSAGE = {refusal_message(name)!r}\n\n"
        'if __name__ == "__main__":\n'
        "    sys.stderr.write(MESSAGE + '\\n')\n"
        "    sys.exit(1)\n"
    )


def render_extension(name: str) -> str:
    """An IPython extension loaded by the kernelspec: `%pip` fails with the message instead
    of running `python -m pip` (which would fail too, less clearly)."""
    return (
        '"""Loaded into stable kernels by jupyter-service: %pip refuses to install."""\n'
        "from IPython.core.error import UsageError\n\n"
        f"MESSAGE = {refusal_message(name)!r}\n\n\n"
        "def _refuse(line=''):\n"
        "    raise UsageError(MESSAGE)\n\n\n"
        "def load_ipython_extension(ipython):\n"
        "    for magic in ('pip', 'conda', 'mamba', 'micromamba', 'uv'):\n"
        "        ipython.register_magic_function(_refuse, 'line', magic)\n"
    )


def render_kernelspec(
    name: str,
    store_path: str,
    *,
    display: str,
    env: dict[str, str],
    generation: int,
    lock_sha256: str,
) -> dict[str, Any]:
    """kernel.json of a stable kernel in generation `generation`."""
    return {
        "argv": [
            f"{store_path}/bin/python",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            f"--ext={EXTENSION_MODULE}",
        ],
        "display_name": display,
        "language": "python",
        "interrupt_mode": "signal",
        "env": {
            # The kernel's bin first, so `!python` is this kernel and `!pip` its refusal.
            # jupyter_client substitutes ${PATH} from the server's environment.
            "PATH": f"{store_path}/bin:${{PATH}}",
            # Nothing from the server's environment or ~/.local may shadow the locked
            # packages; Python takes an empty PYTHONPATH or PYTHONHOME as unset.
            "PYTHONPATH": "",
            "PYTHONHOME": "",
            "PYTHONNOUSERSITE": "1",
            **env,
        },
        "metadata": {
            "debugger": True,
            "jupyter_service": {
                "tier": "stable",
                "generation": generation,
                "lock": lock_sha256,
            },
        },
    }


def python_executable(entry: ManifestEntry) -> Path:
    """The interpreter of a built stable Python kernel."""
    return Path(entry.store_path) / "bin" / "python"


# -- the backend -----------------------------------------------------------------------------


class PythonLanguage:
    """The `Language` of stable Python kernels (see jupyter_service.kernels)."""

    name = "python"
    title = "Python"
    replaces_service_kernel = True
    takes_venv_packages = True

    def __init__(self) -> None:
        self._interpreters: dict[str, Interpreter] = {}

    def interpreter(self, kernel: StableKernel) -> Interpreter:
        spec = interpreter_spec(kernel)
        if spec not in self._interpreters:
            self._interpreters[spec] = find_interpreter(spec)
        return self._interpreters[spec]

    def display_name(self, kernel: StableKernel) -> str:
        return display_name(kernel.name, kernel.displayName)

    def find_package_problems(self, kernel: StableKernel) -> list[str]:
        return []  # each requirement's syntax is checked with the config's other values

    def describe_toolchain(self, kernel: StableKernel) -> str:
        return f"Python {self.interpreter(kernel).version}"

    def find_system_packages(self, kernel: StableKernel, root: Path) -> dict[str, str]:
        return {}  # uv brings every package into the store path

    def provide(
        self, kernel: StableKernel, root: Path, *, logs: Path, say: Callable[[str], None]
    ) -> None:
        """Nothing: uv brings every package, and the interpreter is the admin's choice."""

    def has_lock(self, kernel: StableKernel, root: Path) -> bool:
        return (root / kernel.name / LOCK_FILE).is_file()

    def write_lock(self, kernel: StableKernel, root: Path, *, upgrade: bool, logs: Path) -> bool:
        return write_lock(kernel, self.interpreter(kernel), root, upgrade=upgrade, logs=logs)

    def remove_lock(self, directory: Path) -> bool:
        project = directory / PROJECT_FILE
        if directory.is_symlink() or not project.is_file():
            return False
        if not project.read_text(encoding="utf-8").startswith(MARKER):
            return False
        for name in (LOCK_FILE, PROJECT_FILE):
            (directory / name).unlink(missing_ok=True)
        return True

    def find_lock_problems(self, kernel: StableKernel, root: Path) -> list[str]:
        return find_lock_problems(root / kernel.name / LOCK_FILE)

    def check_lock(self, kernel: StableKernel, root: Path, hint: str) -> LockedKernel:
        from jupyter_service.store.build import file_sha256

        interpreter = self.interpreter(kernel)
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
        details = {"python": interpreter.version}
        if allowed_builds(kernel):
            # Recorded: which packages this store path may hold built from source.
            details["allow_build"] = ",".join(allowed_builds(kernel))
        return LockedKernel(kernel, directory, file_sha256(lock), details)

    def store_key_inputs(self, locked: LockedKernel) -> dict[str, Any]:
        inputs = store_key_inputs(locked.lock_sha256, self.interpreter(locked.kernel))
        if allowed_builds(locked.kernel):
            # Only when set: store paths built before the option keep their keys.
            inputs["allow_build"] = list(allowed_builds(locked.kernel))
        return inputs

    def build(self, locked: LockedKernel, target: Path, logs: Path) -> None:
        from jupyter_service.store.build import install_tree

        interpreter = self.interpreter(locked.kernel)
        install_tree(
            target,
            lambda work: build_venv(
                locked.kernel.name,
                locked.lock_dir,
                interpreter,
                work,
                logs,
                allowed_builds(locked.kernel),
            ),
        )

    def render_kernelspec(self, name: str, entry: ManifestEntry, generation: int) -> dict[str, Any]:
        return render_kernelspec(
            name,
            entry.store_path,
            display=entry.display_name,
            env=dict(entry.env),
            generation=generation,
            lock_sha256=entry.lock_sha256,
        )

    def find_logos(self, entry: ManifestEntry) -> list[Path]:
        logos = Path(entry.store_path) / "share" / "jupyter" / "kernels" / "python3"
        return [logos / logo for logo in _LOGOS if (logos / logo).is_file()]
