"""Stable Haskell kernels: Hackage names, Debian's builds, locked; a package DB per kernel.

The lock (`<config>.lock/<kernel>/packages.lock.json`) records GHC's version and each
package of the closure of base plus the requested ones: its version, its GHC id and ABI
hash, and the Debian package (with version) it came from. A store path is a package DB
holding exactly that closure (the global DB's .conf files, symlinked, then `ghc-pkg
recache`); the kernel runs ghci with only that DB and only the requested packages exposed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import write_text_atomic
from jupyter_service.kernels import LockedKernel, StableKernel
from jupyter_service.kernels.haskell import debian, pkgdb
from jupyter_service.store.build import file_sha256, install_tree
from jupyter_service.store.manifest import ManifestEntry

LOCK_FILE = "packages.lock.json"
WRITTEN_BY = "jupyter-service lock"
LOCK_FORMAT = 1
# Bump when what a build writes into a store path changes: the old paths stay valid.
RECIPE = 1
DB_DIR = "package.conf.d"
BUILD_INFO = "jupyter-service-build.json"
KERNEL_MODULE = "jupyter_service.kernels.haskell.ghci"
# ghci's messages and the user's text are UTF-8 whatever the server's locale.
KERNEL_ENV = {"LANG": "C.UTF-8"}


def requested_packages(kernel: StableKernel) -> list[str]:
    """The Hackage packages the kernel exposes: bundles expanded, base not repeated."""
    return [p for p in debian.expand_bundles(kernel.packages) if p.lower() != pkgdb.BASE]


def find_ihaskell(kernel: StableKernel) -> str | None:
    """The real IHaskell when the kernel's `package` names an executable on this machine."""
    spec = kernel.options.get("package", "")
    if not spec:
        return None
    found = spec if spec.startswith("/") else shutil.which(spec)
    return found if found and os.access(found, os.X_OK) and Path(found).is_file() else None


def render_lock(
    kernel: StableKernel,
    ghc: pkgdb.Ghc,
    closure: list[pkgdb.InstalledPackage],
    debian_versions: dict[str, str],
) -> str:
    """The lock's text. Pure."""
    packages = []
    for package in closure:
        found = debian.find_debian_package(package.name)
        source = found.debian if found else ""
        packages.append(
            {
                "name": package.name,
                "version": package.version,
                "id": package.id,
                "abi": package.abi,
                "debian": source,
                "debianVersion": debian_versions.get(source, ""),
            }
        )
    head = {
        "writtenBy": f"{WRITTEN_BY} from extraKernels.{kernel.name}; edit the config, not this",
        "format": LOCK_FORMAT,
        "requested": requested_packages(kernel),
        "ghc": ghc.version,
    }
    # One package a line: a Debian upgrade shows in a diff as the lines it changed.
    lines = ",\n".join(f"  {json.dumps(p)}" for p in packages)
    return json.dumps(head, indent=1)[:-2] + f',\n "packages": [\n{lines}\n ]\n}}\n'


def read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == LOCK_FORMAT else None


def locked_debian_packages(lock: dict[str, Any]) -> dict[str, str]:
    """Debian package -> the version the lock has."""
    return {p["debian"]: p["debianVersion"] for p in lock["packages"] if p.get("debian")}


def describe_mismatch(lock: dict[str, Any], kernel: StableKernel, ghc: pkgdb.Ghc) -> str:
    """Why a lock does not satisfy the config, in words; "" when it does. Pure."""
    locked, wanted = list(lock.get("requested", [])), requested_packages(kernel)
    reasons = []
    added = [p for p in wanted if p not in locked]
    removed = [p for p in locked if p not in wanted]
    if added:
        reasons.append("the config asks for " + ", ".join(added) + " which the lock lacks")
    if removed:
        reasons.append("the lock has " + ", ".join(removed) + " which the config dropped")
    if not added and not removed and locked != wanted:
        reasons.append("the config lists the packages in another order")
    if lock.get("ghc") != ghc.version:
        reasons.append(f"the lock is for GHC {lock.get('ghc')}, the installed GHC is {ghc.version}")
    return "; ".join(reasons)


def describe_drift(
    lock: dict[str, Any], installed: list[pkgdb.InstalledPackage], debian_versions: dict[str, str]
) -> list[str]:
    """How the installed packages differ from the lock, one line each. Pure."""
    by_id = {p.id: p for p in installed}
    drift = []
    for source, version in sorted(locked_debian_packages(lock).items()):
        now = debian_versions.get(source)
        if now != version:
            drift.append(f"{source} is {now or 'not installed'}, the lock has {version}")
    for package in lock["packages"]:
        have = by_id.get(package["id"])
        if have is None:
            drift.append(f"{package['id']} is not in GHC's package DB")
        elif have.abi != package["abi"]:
            drift.append(f"{package['id']} has ABI {have.abi}, the lock has {package['abi']}")
    return drift


def render_kernelspec(name: str, entry: ManifestEntry, generation: int) -> dict[str, Any]:
    """kernel.json of a stable Haskell kernel: ours over ghci with only the kernel's
    package DB, or the real IHaskell where `package` named one. Pure."""
    details = entry.details
    if details.get("ihaskell"):
        argv = [details["ihaskell"], "kernel", "{connection_file}"]
    else:
        argv = [details["python"], "-m", KERNEL_MODULE, "-f", "{connection_file}"]
        argv += ["--ghc", details["ghcPath"], "--package-db", f"{entry.store_path}/{DB_DIR}"]
        for package in details.get("packages", "").split():
            argv += ["--package", package]
        if "heapLimit" in details:
            argv += ["--heap-limit", details["heapLimit"]]
    return {
        "argv": argv,
        "display_name": entry.display_name,
        "language": "haskell",
        "interrupt_mode": "signal",
        "env": {**KERNEL_ENV, **entry.env},
        "metadata": {
            "jupyter_service": {
                "tier": "stable",
                "generation": generation,
                "lock": entry.lock_sha256,
            },
        },
    }


class HaskellLanguage:
    """The `Language` of stable Haskell kernels (see jupyter_service.kernels)."""

    name = "haskell"
    title = "Haskell"
    replaces_service_kernel = False
    takes_venv_packages = False

    def __init__(self) -> None:
        self._ghc: pkgdb.Ghc | None = None
        self._installed: list[pkgdb.InstalledPackage] | None = None

    def ghc(self) -> pkgdb.Ghc:
        if self._ghc is None:
            self._ghc = pkgdb.find_ghc()
        return self._ghc

    def installed(self) -> list[pkgdb.InstalledPackage]:
        if self._installed is None:
            self._installed = pkgdb.read_global_packages(self.ghc())
        return self._installed

    def display_name(self, kernel: StableKernel) -> str:
        if kernel.displayName:
            return kernel.displayName
        version = self.ghc().version
        if kernel.preferred:
            return f"Haskell (GHC {version})"
        return f"Haskell ({kernel.name}, GHC {version})"

    def find_package_problems(self, kernel: StableKernel) -> list[str]:
        """Packages Debian does not carry, from the snapshot: no apt, no GHC needed."""
        found = []
        for name in kernel.packages:
            for part in debian.expand_bundles([name]):
                why = debian.unavailable_reason(part)
                if why:
                    found.append(why)
        return found

    def describe_toolchain(self, kernel: StableKernel) -> str:
        return f"GHC {self.ghc().version}"

    def _wanted_debian(self, kernel: StableKernel, root: Path) -> set[str]:
        """ghc, the Debian packages of what the config asks for, and, while the lock is for
        the same packages, every package it names (the exact closure on a new machine)."""
        wanted = {"ghc", *self._debian_of(kernel, requested_packages(kernel))}
        lock = read_lock(root / kernel.name / LOCK_FILE)
        if lock is not None and lock.get("requested") == requested_packages(kernel):
            wanted.update(locked_debian_packages(lock))
        return wanted

    def find_system_packages(self, kernel: StableKernel, root: Path) -> dict[str, str]:
        """ghc and the libghc-*-dev packages: the store path is symlinks into their package
        DB. Pinned to the lock's versions while the lock is for the same packages."""
        lock = read_lock(root / kernel.name / LOCK_FILE)
        same = lock is not None and lock.get("requested") == requested_packages(kernel)
        pinned = locked_debian_packages(lock) if lock is not None and same else {}
        return {name: pinned.get(name, "") for name in sorted(self._wanted_debian(kernel, root))}

    def _debian_of(self, kernel: StableKernel, names: list[str]) -> set[str]:
        found = set()
        for name in names:
            package = debian.find_debian_package(name)
            if package is None:
                raise ServiceError(
                    f"extraKernels.{kernel.name}: {debian.unavailable_reason(name)}",
                    hint="remove it from the config; `jupyter-service check` lists every one",
                )
            found.add(package.debian)
        return found

    def provide(
        self, kernel: StableKernel, root: Path, *, logs: Path, say: Callable[[str], None]
    ) -> None:
        wanted = self._wanted_debian(kernel, root)
        missing = sorted(wanted - set(debian.find_installed_versions(wanted)))
        if not missing:
            return
        if os.geteuid() != 0:
            raise ServiceError(
                f"the Debian packages of stable kernel {kernel.name} are not installed: "
                f"{', '.join(missing)}; nothing was changed",
                hint=f"sudo {debian.render_apt_install(missing)}",
            )
        debian.install_packages(missing, logs, say)
        self._ghc, self._installed = None, None

    def has_lock(self, kernel: StableKernel, root: Path) -> bool:
        return (root / kernel.name / LOCK_FILE).is_file()

    def write_lock(self, kernel: StableKernel, root: Path, *, upgrade: bool, logs: Path) -> bool:
        # `upgrade` changes nothing here: Debian decides the versions; a lock records them.
        closure, missing = pkgdb.find_closure(self.installed(), requested_packages(kernel))
        if missing:
            raise ServiceError(
                f"stable kernel {kernel.name}: {', '.join(missing)} not in GHC's package DB "
                f"({self.ghc().global_db})",
                hint=debian.render_apt_install(self._debian_of(kernel, missing)),
            )
        sources = {found.debian for p in closure if (found := debian.find_debian_package(p.name))}
        text = render_lock(kernel, self.ghc(), closure, debian.find_installed_versions(sources))
        path = root / kernel.name / LOCK_FILE
        try:
            if path.read_text(encoding="utf-8") == text:
                return False
        except OSError:
            pass
        path.parent.mkdir(exist_ok=True)
        write_text_atomic(path, text, mode=0o644, what=f"the lock of {kernel.name}")
        return True

    def remove_lock(self, directory: Path) -> bool:
        lock = directory / LOCK_FILE
        data = read_lock(lock) if lock.is_file() and not lock.is_symlink() else None
        if data is None or not str(data.get("writtenBy", "")).startswith(WRITTEN_BY):
            return False
        lock.unlink()
        return True

    def find_lock_problems(self, kernel: StableKernel, root: Path) -> list[str]:
        path = root / kernel.name / LOCK_FILE
        if not path.exists():
            return []
        if read_lock(path) is None:
            return [f"{path} is not a lock of this version (truncated, garbage or another format)"]
        return []

    def check_lock(self, kernel: StableKernel, root: Path, hint: str) -> LockedKernel:
        path = root / kernel.name / LOCK_FILE
        lock = read_lock(path)
        if lock is None:
            raise ServiceError(f"stable kernel {kernel.name} is not locked: no {path}", hint=hint)
        mismatch = describe_mismatch(lock, kernel, self.ghc())
        if mismatch:
            raise ServiceError(
                f"the lock of stable kernel {kernel.name} does not satisfy the config: {mismatch}",
                hint=hint,
            )
        locked_debian = locked_debian_packages(lock)
        versions = debian.find_installed_versions(locked_debian)
        drift = describe_drift(lock, self.installed(), versions)
        if drift:
            # Back to the locked versions where apt still has them; else lock what is there.
            pinned = [f"{p}={v}" for p, v in sorted(locked_debian.items()) if versions.get(p) != v]
            relock = hint or "jupyter-service lock"
            raise ServiceError(
                f"the installed Debian packages differ from the lock of stable kernel "
                f"{kernel.name}: {'; '.join(drift)}. To serve what is installed instead, run "
                f"`{relock}` and commit the lock",
                hint=f"apt-get install -y --allow-downgrades {' '.join(pinned)}"
                if pinned
                else relock,
            )
        ihaskell = find_ihaskell(kernel)
        details = {"ghc": self.ghc().version, "ghcPath": self.ghc().ghc}
        if ihaskell:
            details["ihaskell"] = ihaskell
        else:
            details["python"] = sys.executable
            details["packages"] = " ".join(requested_packages(kernel))
            if "heapLimit" in kernel.options:
                details["heapLimit"] = kernel.options["heapLimit"]
        return LockedKernel(kernel, path.parent, file_sha256(path), details)

    def store_key_inputs(self, locked: LockedKernel) -> dict[str, Any]:
        ghc = self.ghc()
        return {
            "language": self.name,
            "recipe": RECIPE,
            "lock": locked.lock_sha256,
            "ghc": ghc.version,
            "ghcPath": ghc.ghc,
            "globalDb": str(ghc.global_db),
        }

    def build(self, locked: LockedKernel, target: Path, logs: Path) -> None:
        lock = read_lock(locked.lock_dir / LOCK_FILE)
        assert lock is not None  # check_lock read it
        ghc = self.ghc()

        def fill(work: Path) -> Path:
            tree = work / "kernel"
            ids = [p["id"] for p in lock["packages"]]
            pkgdb.write_package_db(ghc, ids, tree / DB_DIR, logs)
            info = {
                "name": locked.kernel.name,
                "lock_sha256": locked.lock_sha256,
                "ghc": ghc.version,
                "packages": ids,
            }
            (tree / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
            return tree

        install_tree(target, fill)

    def render_kernelspec(self, name: str, entry: ManifestEntry, generation: int) -> dict[str, Any]:
        return render_kernelspec(name, entry, generation)

    def find_logos(self, entry: ManifestEntry) -> list[Path]:
        return []
