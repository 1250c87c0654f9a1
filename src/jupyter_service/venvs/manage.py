"""`list`, `delete`, `shell`, `export`: the venv kernels already made."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import tree_size, write_text_atomic
from jupyter_service.hints import render_hint, venv_kernel_hint
from jupyter_service.kernel_dirs import OfferedKernel
from jupyter_service.venvs.build import site_packages, subprocess_env, uv_bin
from jupyter_service.venvs.layout import (
    INCOMPLETE_MARKER,
    LAST_USED_FILE,
    METADATA_FILE,
    Layout,
)
from jupyter_service.venvs.locks import clean_name, name_lock
from jupyter_service.venvs.spec_files import is_our_kernelspec, read_kernel_json, venv_of


@dataclass(frozen=True)
class VenvInfo:
    name: str
    path: str
    status: str  # ok | broken: venv missing | no kernelspec
    size: int | None
    packages: int | None
    created: float | None
    last_used: float | None


def _read_meta(venv: Path | str) -> dict[str, Any]:
    try:
        with open(os.path.join(venv, METADATA_FILE), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _dist_names(site: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


def _usage(venv: Path, meta: dict[str, Any]) -> tuple[int | None, int | None]:
    """The venv's own size and the packages it can import (its own and its base's), cached in
    its metadata until its site-packages changes: `list` costs the same with 100 venvs. The
    cache names the site-packages dir, so a warm `list` stats one path per venv."""
    cached = meta.get("usage")
    if not isinstance(cached, dict):
        cached = {}
    site = cached.get("site")
    try:
        key = os.stat(site).st_mtime_ns if isinstance(site, str) else None
    except OSError:
        key = None
    if key is not None and cached.get("key") == key:
        return cached.get("size"), cached.get("packages")
    try:
        sp = site_packages(venv)
        key = sp.stat().st_mtime_ns
    except (ServiceError, OSError):
        return None, None
    names = _dist_names(sp)
    base = meta.get("base")
    if isinstance(base, str) and os.path.isdir(base):
        names |= _dist_names(Path(base))
    packages = len(names)
    size = tree_size(venv)
    meta["usage"] = {"key": key, "site": str(sp), "size": size, "packages": packages}
    # A venv we may not write to still lists; the cache is computed again, so not synced.
    with contextlib.suppress(OSError, ServiceError):
        write_text_atomic(
            venv / METADATA_FILE, json.dumps(meta), mode=0o644, what="venv metadata", fsync=False
        )
    return size, packages


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _entries(root: Path) -> dict[str, os.DirEntry[str]]:
    """The visible entries of one of our roots (none when it is a symlink), by name."""
    if root.is_symlink() or not root.is_dir():
        return {}
    with os.scandir(root) as found:
        return {e.name: e for e in found if not e.name.startswith(".")}


def find_venvs(layout: Layout, specs: Mapping[str, dict[str, Any]] | None = None) -> list[VenvInfo]:
    """This user's venv kernels, with their state; and kernelspecs of ours whose venv is
    gone. `specs`: kernel.json contents already read, by resource dir. A few system calls
    per venv (directory entries carry their type), so 100 venvs cost about what 0 do."""
    known = specs or {}

    def spec_of(entry: os.DirEntry[str]) -> dict[str, Any] | None:
        found = known.get(entry.path)
        return found if found is not None else read_kernel_json(Path(entry.path))

    kernels = _entries(layout.kernels)
    result: dict[str, VenvInfo] = {}
    for name, entry in _entries(layout.venvs).items():
        if entry.is_symlink() or not entry.is_dir():
            continue
        if os.path.exists(os.path.join(entry.path, INCOMPLETE_MARKER)):
            continue
        venv = Path(entry.path)
        meta = _read_meta(entry.path)
        size, packages = _usage(venv, meta)
        spec_entry = kernels.get(name)
        spec = (
            spec_of(spec_entry)
            if spec_entry is not None and not spec_entry.is_symlink() and spec_entry.is_dir()
            else None
        )
        created = meta.get("created")
        result[name] = VenvInfo(
            name=name,
            path=entry.path,
            status="ok" if spec is not None and venv_of(spec) == entry.path else "no kernelspec",
            size=size,
            packages=packages,
            created=created if isinstance(created, (int, float)) else None,
            last_used=_mtime(os.path.join(entry.path, LAST_USED_FILE)),
        )
    for name, entry in kernels.items():
        if name in result or entry.is_symlink() or not entry.is_dir():
            continue
        spec = spec_of(entry)
        venv_path = venv_of(spec) if spec else None
        if venv_path and not os.path.isdir(venv_path):
            result[name] = VenvInfo(name, venv_path, "broken: venv missing", None, None, None, None)
    return [result[name] for name in sorted(result)]


def _server_hides_python() -> bool:
    """Whether the server hides its own Python: as it decided at its start, in its terminals
    and kernels (it says so in the environment, even if the config changed since); elsewhere
    from its config ($JUPYTER_SERVICE_CONFIG, else the system's; none: the embedded default,
    which hides nothing). A config this user cannot read or that does not parse: as the
    current generation says (a stable kernel was switched to, so one is enabled)."""
    from jupyter_service import paths
    from jupyter_service.kernel_dirs import HIDES_PYTHON_ENV, hides_service_python

    told = os.environ.get(HIDES_PYTHON_ENV)
    if told in ("0", "1"):
        return told == "1"
    source = paths.find_config(None)
    if source is None:
        return False
    from jupyter_service.config.model import parse_config, read_config_text

    try:
        config, _ = parse_config(read_config_text(source), source=source, shallow=True)
    except ServiceError:
        config = None
    if config is not None:
        return hides_service_python(config)
    stable = paths.ServicePaths.from_environment().current_kernels
    return stable.is_dir() and any(stable.iterdir())


@dataclass(frozen=True)
class KernelListing:
    """What `list` shows: the server's kernels tier by tier, and the venvs behind them."""

    generation: int | None
    kernels: list[OfferedKernel]
    venvs: list[VenvInfo]

    def tier(self, name: str) -> list[OfferedKernel]:
        return [k for k in self.kernels if k.tier == name]


def list_kernels(layout: Layout) -> KernelListing:
    """Exactly the kernels the server offers (kernel_dirs decides for both), and this user's
    venv kernels with their sizes and state."""
    from jupyter_service import paths
    from jupyter_service.kernel_dirs import offered_kernels
    from jupyter_service.store.generations import current_number

    where = paths.ServicePaths.from_environment()
    offered = offered_kernels(where.current_kernels, _server_hides_python())
    specs = {k.resource_dir: k.spec for k in offered}
    return KernelListing(current_number(where.state), offered, find_venvs(layout, specs))


def _users(layout: Layout, name: str) -> str:
    """The running processes that use venv `name` (a kernel in JupyterLab), described."""
    from jupyter_service.inuse import describe_process, find_users

    pids = find_users(layout.venvs).get(name, [])
    return ", ".join(describe_process(pid) for pid in sorted(pids))


@dataclass(frozen=True)
class Deleted:
    """What `delete_venv_kernel` did."""

    deleted: bool
    # With force: the processes that ran the kernel (they lost their venv).
    users: str = ""
    # A kernelspec of that name that is not ours, left as it was.
    kept_kernelspec: Path | None = None


def delete_venv_kernel(
    layout: Layout, name: str, confirm: Callable[[str], bool] | None = None, *, force: bool = False
) -> Deleted:
    """Delete venv kernel `name`, once `confirm` (if given) says yes to the question it is
    asked; `deleted` is False when it said no. A kernel a running process uses is refused,
    as `gc` keeps a store path in use, unless `force`."""
    venv = layout.venv(name)
    spec_dir = layout.kernelspec(name)
    with name_lock(layout, name):
        interrupted = clean_name(layout, name)
        has_venv = venv.is_dir()
        ours = is_our_kernelspec(spec_dir, venv)
        # A kernelspec beside our venv whose kernel.json cannot be read is ours, damaged.
        damaged = has_venv and spec_dir.is_dir() and read_kernel_json(spec_dir) is None
        if not has_venv and not ours:
            if interrupted and not spec_dir.exists():
                # A delete of it was killed after renaming both away: now it is finished.
                return Deleted(True)
            if spec_dir.exists():
                raise ServiceError(
                    f"kernel '{name}' was not made by jupyter-venv-kernel; leaving it alone",
                    hint="remove it with "
                    f"`{render_hint('jupyter', 'kernelspec', 'remove', name)}` if you mean to",
                )
            raise ServiceError(
                f"no venv kernel named '{name}'",
                hint=f"see the names with `{venv_kernel_hint('list')}`",
            )
        users = _users(layout, name)
        if users and not force:
            raise ServiceError(
                f"kernel '{name}' is in use by {users}",
                hint="shut the kernel down in JupyterLab (Kernel > Shut Down Kernel), or run "
                f"`{venv_kernel_hint('delete', name, '--force')}` to delete it anyway",
            )
        if confirm and not confirm(f"Delete kernel '{name}' and its venv {venv}? [y/N] "):
            return Deleted(False)
        # Each renamed away first, so it vanishes at once even if the removal is killed; the
        # next run removes the rest.
        doomed = []
        if ours or damaged:
            doomed.append(spec_dir.rename(layout.kernels / f".tmp-{name}-{os.getpid()}-delete"))
        if has_venv:
            doomed.append(venv.rename(layout.venvs / f".tmp-{name}-{os.getpid()}-delete"))
        for path in doomed:
            shutil.rmtree(path)
    return Deleted(True, users, spec_dir if spec_dir.exists() else None)


def complete_venv(layout: Layout, name: str) -> Path:
    venv = layout.venv(name)
    if not venv.is_dir() or (venv / INCOMPLETE_MARKER).exists():
        raise ServiceError(
            f"no venv kernel named '{name}'",
            hint=f"make it with `{venv_kernel_hint('create', name)}`",
        )
    return venv


def venv_environment(venv: Path) -> dict[str, str]:
    from jupyter_service.proc import clean_environment

    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return clean_environment(VIRTUAL_ENV=str(venv), PATH=path)


def shell_command(
    layout: Layout, name: str, command: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of a shell (or `command`) with the venv active."""
    venv = complete_venv(layout, name)
    env = venv_environment(venv)
    if command:
        return command, env
    shell = os.environ.get("SHELL") or "/bin/bash"
    rc = venv / ".jupyter-service-shellrc"
    if os.path.basename(shell) == "bash" and rc.exists():
        return [shell, "--rcfile", str(rc), "-i"], env
    env["PS1"] = f"(venv-kernel:{name}) $ "
    return [shell, "-i"], env


def export_requirements(layout: Layout, name: str) -> str:
    """The venv's own packages, pinned (what it adds on top of the shared base, which every
    venv kernel has), with the base's pins as comments for reference."""
    from jupyter_service.proc import run_subprocess

    venv = complete_venv(layout, name)
    proc = run_subprocess(
        [uv_bin(), "pip", "freeze", "--quiet", "--python", str(venv / "bin" / "python")],
        env=subprocess_env(),
        what=f"listing the packages of '{name}' failed",
    )
    base = _read_meta(venv).get("base")
    base_pins = []
    if isinstance(base, str) and os.path.isdir(base):
        for dist in sorted(Path(base).glob("*.dist-info")):
            dist_name, _, version = dist.name[: -len(".dist-info")].partition("-")
            base_pins.append(f"#   {dist_name}=={version}\n")
    header = (
        f"# Packages of venv kernel '{name}', pinned by `jupyter-venv-kernel export {name}`.\n"
        "# Reproduce with: jupyter-venv-kernel create-from NEW-NAME this-file.txt\n"
        "# On top of the base every venv kernel has:\n"
    )
    return header + "".join(base_pins) + proc.stdout
