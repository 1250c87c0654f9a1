"""`promote`: add what the user installed in a venv kernel to a stable kernel's config,
keeping the file's comments and layout (tomlkit), and show the diff."""

from __future__ import annotations

import difflib
from email.parser import HeaderParser
from pathlib import Path

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from jupyter_service.config import PYTHON_BASE, parse_config, stable_kernel
from jupyter_service.config.model import read_config_text
from jupyter_service.errors import ConfigError, ServiceError
from jupyter_service.fsutil import write_text_atomic
from jupyter_service.kernels import find_language
from jupyter_service.venvs.build import BASE_PACKAGES, site_packages


def requested_packages(venv: Path) -> list[tuple[str, str]]:
    """(name, version) of what the user installed: the packages in the venv's own
    site-packages (the base's are layered below it) that no other of them depends on (uv
    marks dependencies REQUESTED too, so the dependency graph decides, as
    `pip list --not-required` does)."""
    base_names = {canonicalize_name(p) for p in BASE_PACKAGES}
    added: dict[str, tuple[str, str, list[str]]] = {}
    for dist in sorted(site_packages(venv).glob("*.dist-info")):
        headers = HeaderParser().parsestr((dist / "METADATA").read_text(errors="replace"))
        name, version = headers.get("Name"), headers.get("Version")
        if name and version and canonicalize_name(name) not in base_names:
            added[canonicalize_name(name)] = (name, version, headers.get_all("Requires-Dist") or [])
    required = set()
    for _, _, requires in added.values():
        for text in requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                required.add(canonicalize_name(req.name))
    return [(n, v) for key, (n, v, _) in sorted(added.items()) if key not in required]


def _requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def render_promoted(text: str, kernel: str, packages: list[tuple[str, str]]) -> str:
    """The config text with `packages` added to `extraKernels.<kernel>`. Pure."""
    doc = tomlkit.parse(text)
    kernels = doc.get("extraKernels")
    table = kernels.get(kernel) if kernels is not None else None
    if table is None:
        raise ServiceError(
            f"the config has no stable kernel [extraKernels.{kernel}]",
            hint=f"add `[extraKernels.{kernel}]` with `enable = true`, or pick one with --to",
        )
    stable = stable_kernel(kernel, table.unwrap())
    backend = find_language(stable.language)
    if backend is None or not backend.takes_venv_packages:
        raise ServiceError(
            f"{kernel} is a {stable.language} kernel; promote adds a venv's Python packages",
            hint=f"use --to {PYTHON_BASE}",
        )
    key = stable.packagesKey
    if key not in table:
        table[key] = tomlkit.array()
    array = table[key]
    have = {_requirement_name(str(item)) for item in array}
    for name, version in packages:
        if canonicalize_name(name) not in have:
            array.append(f"{name}=={version}")
    return tomlkit.dumps(doc)


def promote(venv: Path, config_path: Path, kernel: str) -> str:
    """Edit the config in place; return the unified diff ('' when nothing was new)."""
    packages = requested_packages(venv)
    if not packages:
        raise ServiceError(
            f"nothing to promote: no packages were installed in {venv} beyond the base ones",
            hint="install what you need first, e.g. `!pip install NAME` in the notebook",
        )
    old = read_config_text(config_path)
    new = render_promoted(old, kernel, packages)
    if new == old:
        return ""
    _, problems = parse_config(new, config_path)
    if problems:
        raise ConfigError(f"{config_path} (after promoting)", problems)
    write_text_atomic(
        config_path,
        new,
        mode=config_path.stat().st_mode & 0o7777,
        what="the config",
        hint="ask the admin to run this command, or pass a copy with --config",
    )
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=str(config_path),
            tofile=str(config_path),
        )
    )
