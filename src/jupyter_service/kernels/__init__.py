"""Stable kernels by language: one `Language` protocol, one module per language.

The config turns each `extraKernels.<name>` table into a `StableKernel` (name, language,
packages, options); the store asks the kernel's `Language` for everything that depends on
the language (its lock, whether the lock still satisfies the config, its store-key inputs,
how to build a store path, its kernelspec and logos) and never branches on which one it
is. A third language is a third module here and one line in `_BACKENDS`.

Importing this package is cheap: a language's module is imported when it is first asked
for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_service.errors import ServiceError

if TYPE_CHECKING:
    from jupyter_service.store.manifest import ManifestEntry

# language name -> "module:class" of its backend.
_BACKENDS = {
    "haskell": "jupyter_service.kernels.haskell.backend:HaskellLanguage",
    "python": "jupyter_service.kernels.python:PythonLanguage",
}

# Manifests written before the seam (format 1) name no language: all their kernels were
# Python kernels.
FORMAT_1_LANGUAGE = "python"


@dataclass(frozen=True)
class StableKernel:
    """One `extraKernels.<name>` entry, as the config parsed it.

    `packages` is everything the kernel asks for (a preset's stack included); `options`
    holds the language's own keys (`pythonPackage`, `package`, ...) as written in the
    config. `packagesKey` is the config key that lists what a user added (`promote` edits
    it); `preferred` marks the kernel a server opens by default among its language's.
    """

    name: str
    language: str
    packages: tuple[str, ...]
    options: Mapping[str, str]
    # The config's options, no defaults here: `config.model.stable_kernel` fills them from
    # the schema.
    enable: bool
    displayName: str | None
    env: Mapping[str, str]
    # Pre-warmed kernels the server keeps started and idle, and what they import ahead.
    preheat: int
    preload: tuple[str, ...]
    packagesKey: str = "packages"
    preferred: bool = False


@dataclass(frozen=True)
class LockedKernel:
    """A stable kernel whose lock satisfies the config: what a build starts from."""

    kernel: StableKernel
    lock_dir: Path
    lock_sha256: str
    # What the manifest records about the toolchain (`{"python": "3.11.2"}`).
    details: Mapping[str, str] = field(default_factory=dict)


class Language(Protocol):
    """What the stable tier needs to know about one language. Instances are made per job
    (one lock, one switch) and may cache what they probe on the machine meanwhile."""

    # The value of `language` in the config and in manifests.
    name: str
    # For messages: "Python", "Haskell".
    title: str
    # When a stable kernel of this language is on, the server hides its own kernel of the
    # same language (the service's Python is not a notebook kernel).
    replaces_service_kernel: bool
    # Whether `jupyter-venv-kernel promote` can add a venv's packages to such a kernel.
    takes_venv_packages: bool

    def display_name(self, kernel: StableKernel) -> str:
        """What JupyterLab shows when the config names nothing."""
        ...

    def find_package_problems(self, kernel: StableKernel) -> list[str]:
        """What is wrong with the packages a kernel asks for, each a sentence naming the
        package, found without touching the machine (`check` runs it)."""
        ...

    def describe_toolchain(self, kernel: StableKernel) -> str:
        """What a lock is made for, for progress lines: "Python 3.11.2"."""
        ...

    def find_system_packages(self, kernel: StableKernel, root: Path) -> dict[str, str]:
        """The Debian packages a machine (or an image) must have for the kernel's store path
        to run: name -> the version its lock records ("" for none), from the config and the
        lock under `root` alone (no apt, no toolchain)."""
        ...

    def provide(
        self, kernel: StableKernel, root: Path, *, logs: Path, say: Callable[[str], None]
    ) -> None:
        """Make what the kernel needs from the machine itself present before it is locked
        or built (system packages), or fail saying the exact command that would."""
        ...

    def has_lock(self, kernel: StableKernel, root: Path) -> bool:
        """Whether `root/<kernel>` holds a lock at all (`up` locks what has none)."""
        ...

    def write_lock(self, kernel: StableKernel, root: Path, *, upgrade: bool, logs: Path) -> bool:
        """Resolve and write `root/<kernel>`; return whether it changed. A failure leaves
        the old lock as it was."""
        ...

    def remove_lock(self, directory: Path) -> bool:
        """Remove a lock dir this language wrote (and only such); return whether it did."""
        ...

    def find_lock_problems(self, kernel: StableKernel, root: Path) -> list[str]:
        """What is wrong with the kernel's lock files as files (truncated, garbage), found
        without resolving or touching the machine (`check` runs it); none when unlocked."""
        ...

    def check_lock(self, kernel: StableKernel, root: Path, hint: str) -> LockedKernel:
        """The kernel's lock when it satisfies the config; else a ServiceError saying why,
        with `hint`."""
        ...

    def store_key_inputs(self, locked: LockedKernel) -> dict[str, Any]:
        """Everything a store path of this kernel depends on (the store hashes it)."""
        ...

    def build(self, locked: LockedKernel, target: Path, logs: Path) -> None:
        """Build the complete store path `target` (not there yet); nothing left on failure."""
        ...

    def render_kernelspec(self, name: str, entry: ManifestEntry, generation: int) -> dict[str, Any]:
        """kernel.json of the kernel in generation `generation`. Pure."""
        ...

    def find_logos(self, entry: ManifestEntry) -> list[Path]:
        """Logo files to copy beside kernel.json."""
        ...


def language_names() -> tuple[str, ...]:
    """The languages stable kernels can be written in."""
    return tuple(sorted(_BACKENDS))


def find_language(name: str) -> Language | None:
    """A fresh backend for `name`, or None when this version builds no such kernels."""
    target = _BACKENDS.get(name)
    if target is None:
        return None
    module, cls = target.split(":")
    backend: Language = getattr(importlib.import_module(module), cls)()
    return backend


def language(name: str) -> Language:
    """The backend for `name`; a ServiceError when this version has none."""
    found = find_language(name)
    if found is None:
        allowed = ", ".join(repr(n) for n in language_names())
        raise ServiceError(
            f"this version builds no stable kernels in {name!r}; it knows {allowed}",
            hint="pip install --upgrade jupyter-service",
        )
    return found


def find_service_kernel_replacements(kernels: Iterable[StableKernel]) -> list[StableKernel]:
    """The enabled stable kernels that stand in for the server's own kernel of their
    language (a stable Python kernel hides the service's Python)."""
    found = []
    for kernel in kernels:
        backend = find_language(kernel.language) if kernel.enable else None
        if backend is not None and backend.replaces_service_kernel:
            found.append(kernel)
    return found


class Languages:
    """One backend per language for the length of a job, so what a backend probes on the
    machine (an interpreter, a compiler) is probed once."""

    def __init__(self) -> None:
        self._found: dict[str, Language] = {}

    def __call__(self, name: str) -> Language:
        if name not in self._found:
            self._found[name] = language(name)
        return self._found[name]
