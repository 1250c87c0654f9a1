"""GHC and its package databases: the installed compiler, one `ghc-pkg --global dump`
parsed, the closure of a set of packages, and a kernel's own package DB built from it."""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.proc import run_subprocess

# Every kernel sees base; it is also what `-package base` exposes.
BASE = "base"


@dataclass(frozen=True)
class Ghc:
    ghc: str
    ghc_pkg: str
    version: str
    global_db: Path


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    version: str
    id: str
    abi: str
    depends: tuple[str, ...]


def _not_found(spec: str, why: str) -> ServiceError:
    return ServiceError(
        f"GHC not found: {spec} ({why})",
        hint="DEBIAN_FRONTEND=noninteractive apt-get install -y ghc",
    )


def find_ghc(spec: str = "ghc") -> Ghc:
    """The ghc `spec` names (a name on PATH or a path), its ghc-pkg and global DB."""
    ghc = spec if spec.startswith("/") else shutil.which(spec)
    if ghc is None or not os.access(ghc, os.X_OK):
        raise _not_found(spec, "not on PATH" if ghc is None else "not executable")
    ghc_pkg = str(Path(ghc).with_name(Path(ghc).name.replace("ghc", "ghc-pkg", 1)))
    if not os.access(ghc_pkg, os.X_OK):
        raise _not_found(spec, f"no {ghc_pkg} beside it")
    proc = run_subprocess([ghc, "--info"], check=False)
    try:
        info = dict(ast.literal_eval(proc.stdout.strip()))
    except (ValueError, SyntaxError, TypeError):
        raise _not_found(spec, f"`{ghc} --info` fails: {proc.stdout.strip()[-200:]}") from None
    return Ghc(
        ghc=ghc,
        ghc_pkg=ghc_pkg,
        version=str(info.get("Project version", "")),
        global_db=Path(str(info.get("Global Package DB", ""))),
    )


def parse_dump(text: str) -> list[InstalledPackage]:
    """`ghc-pkg dump` output, the fields a lock and a closure need. Pure."""
    found = []
    for record in text.split("\n---\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in record.splitlines():
            if line[:1] in (" ", "\t"):
                if key:
                    fields[key] = f"{fields[key]} {line.strip()}".strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "id" in fields and "name" in fields:
            found.append(
                InstalledPackage(
                    name=fields["name"],
                    version=fields.get("version", ""),
                    id=fields["id"],
                    abi=fields.get("abi", ""),
                    depends=tuple(fields.get("depends", "").split()),
                )
            )
    return found


def read_global_packages(ghc: Ghc) -> list[InstalledPackage]:
    proc = run_subprocess(
        [ghc.ghc_pkg, "--global", "dump", "--expand-pkgroot"], what="ghc-pkg dump failed"
    )
    return parse_dump(proc.stdout)


def find_closure(
    installed: Iterable[InstalledPackage], names: Iterable[str]
) -> tuple[list[InstalledPackage], list[str]]:
    """Base and `names` with everything they depend on, sorted by name; and the names not
    installed at all. Pure."""
    by_id = {p.id: p for p in installed}
    by_name: dict[str, InstalledPackage] = {}
    for package in by_id.values():
        # Two versions of one package: the newer one is what ghc exposes.
        have = by_name.get(package.name.lower())
        if have is None or _version_key(package.version) > _version_key(have.version):
            by_name[package.name.lower()] = package
    missing = [n for n in names if n.lower() not in by_name]
    todo = [by_name[n.lower()].id for n in [BASE, *names] if n.lower() in by_name]
    seen: dict[str, InstalledPackage] = {}
    while todo:
        package_id = todo.pop()
        if package_id in seen or package_id not in by_id:
            continue
        seen[package_id] = by_id[package_id]
        todo += by_id[package_id].depends
    return sorted(seen.values(), key=lambda p: (p.name.lower(), p.id)), missing


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_conf_files(db: Path) -> dict[str, Path]:
    """package id -> its .conf file in the package DB `db` (file names are not ids)."""
    found = {}
    for conf in sorted(db.glob("*.conf")):
        for package in parse_dump(conf.read_text(encoding="utf-8", errors="replace")):
            found[package.id] = conf
    return found


def write_package_db(ghc: Ghc, package_ids: Iterable[str], db: Path, logs: Path) -> None:
    """A package DB at `db` holding exactly `package_ids`: their .conf files from the global
    DB, symlinked, then `ghc-pkg recache`."""
    confs = find_conf_files(ghc.global_db)
    db.mkdir(parents=True)
    for package_id in package_ids:
        if package_id not in confs:
            raise ServiceError(
                f"package {package_id} has no .conf file in {ghc.global_db}",
                hint="apt-get install --reinstall ghc  # or the libghc-*-dev package of it",
            )
        (db / f"{package_id}.conf").symlink_to(confs[package_id])
    run_subprocess(
        [ghc.ghc_pkg, "--package-db", str(db), "recache"],
        log_dir=logs,
        what=f"ghc-pkg recache of {db} failed",
    )
