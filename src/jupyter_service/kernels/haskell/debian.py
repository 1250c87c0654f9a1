"""Hackage names -> Debian packages, from a snapshot kept in the project.

Debian's Haskell library packages declare the Hackage package they carry in `Provides:`
(`libghc-<lowercase name>-dev-<version>-<abi hash>`); `ghc` itself provides the boot
libraries the same way. `debian-packages.json` beside this module is that mapping, taken
from `apt-cache dumpavail`, so `check` needs no apt. Regenerate it on a Debian machine
with `python -m jupyter_service.kernels.haskell.debian --write`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jupyter_service.proc import run_subprocess

SNAPSHOT = Path(__file__).with_name("debian-packages.json")
_PROVIDES = re.compile(
    r"libghc-(?P<name>[a-z0-9][a-z0-9-]*?)-dev-(?P<version>\d+(?:\.\d+)*)-[0-9a-f]*"
)
# Hackage packages that are only a set of others (no modules of their own).
BUNDLES = {"diagrams": ("diagrams-core", "diagrams-lib", "diagrams-svg", "diagrams-cairo")}
# What to use instead of a package Debian does not carry, where we know.
ALTERNATIVES = {
    "hvega": "for Vega-Lite, the kernel's built-in `vegaLite :: Data.Aeson.Value -> IO ()` "
    "(with aeson among the packages) displays a spec written as an aeson Value",
    "ihaskell-hvega": "for Vega-Lite, the kernel's built-in `vegaLite :: Data.Aeson.Value "
    "-> IO ()` (with aeson among the packages) displays a spec written as an aeson Value",
    "ihaskell-diagrams": "render a diagram with diagrams-svg and show it with the kernel's "
    "built-in `svg :: String -> IO ()`",
    "ihaskell-blaze": "render the markup to a String and show it with the kernel's built-in "
    "`html :: String -> IO ()`",
    "ihaskell-charts": "draw to a PNG or SVG file and show it with the kernel's built-in "
    "`pngFile` or `svg`",
    "diagrams-rasterific": "diagrams-cairo (in Debian) renders PNG; diagrams-svg renders SVG",
}


@dataclass(frozen=True)
class DebianPackage:
    debian: str  # the Debian package: "libghc-lens-dev", or "ghc" for a boot library
    version: str  # the Hackage version Debian builds


def render_snapshot(dumpavail: str) -> dict[str, Any]:
    """The mapping from `apt-cache dumpavail` output. Pure."""
    packages: dict[str, list[str]] = {}
    ghc = ""
    for paragraph in dumpavail.split("\n\n"):
        fields = _fields(paragraph)
        name = fields.get("Package", "")
        if name == "ghc":
            ghc = fields.get("Version", "").split("-")[0].split(":")[-1]
        elif not (name.startswith("libghc-") and name.endswith("-dev")):
            continue
        for provided in fields.get("Provides", "").split(","):
            match = _PROVIDES.fullmatch(provided.strip())
            if match is None:
                continue
            current = packages.get(match["name"])
            # Several Debian versions in the lists: keep the highest version.
            if current is None or _version_key(match["version"]) > _version_key(current[1]):
                packages[match["name"]] = [name, match["version"]]
    return {
        "about": "Hackage name (lowercase) -> [Debian package, Hackage version], from the "
        "Provides fields of `apt-cache dumpavail`; regenerate with "
        "`python -m jupyter_service.kernels.haskell.debian --write`",
        "ghc": ghc,
        "packages": dict(sorted(packages.items())),
    }


def render_snapshot_text(snapshot: dict[str, Any]) -> str:
    """The snapshot as committed: one package a line, so a regeneration diffs by package."""
    head = {k: v for k, v in snapshot.items() if k != "packages"}
    lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in snapshot["packages"].items()]
    return json.dumps(head)[:-1] + ', "packages": {\n' + ",\n".join(lines) + "\n}}\n"


def _fields(paragraph: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] = f"{fields[key]} {line.strip()}".strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def load_snapshot() -> dict[str, DebianPackage]:
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return {name: DebianPackage(*entry) for name, entry in data["packages"].items()}


def expand_bundles(names: tuple[str, ...] | list[str]) -> list[str]:
    """The Hackage packages asked for, bundles replaced by what they hold, each once."""
    expanded: list[str] = []
    for name in names:
        expanded += BUNDLES.get(name.lower(), (name,))
    return list(dict.fromkeys(expanded))


def find_debian_package(name: str) -> DebianPackage | None:
    return load_snapshot().get(name.lower())


def unavailable_reason(name: str) -> str | None:
    """Why Hackage package `name` cannot be in a stable Haskell kernel, or None. Pure but
    for reading the snapshot."""
    if name.lower() in BUNDLES or find_debian_package(name) is not None:
        return None
    reason = f"{name!r} is not available: no Debian package provides it"
    alternative = ALTERNATIVES.get(name.lower())
    return f"{reason}; {alternative}" if alternative else reason


APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# apt is shared with whatever else runs on the machine: wait for its lock, do not fail.
APT_OPTIONS = ("-o", "DPkg::Lock::Timeout=1200")


def render_apt_install(packages: Iterable[str]) -> str:
    """The command an admin runs to install `packages`. Pure."""
    return "apt-get install -y " + " ".join(sorted(set(packages)))


def find_installed_versions(packages: Iterable[str]) -> dict[str, str]:
    """Debian package -> installed version, for those of `packages` that are installed."""
    wanted = sorted(set(packages))
    if not wanted:
        return {}
    proc = run_subprocess(
        ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", *wanted], check=False
    )
    installed = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1] == "install ok installed":
            installed[parts[0]] = parts[2]
    return installed


def install_packages(packages: Iterable[str], logs: Path, say: Callable[[str], None]) -> None:
    """`apt-get update`, then install `packages` (as root)."""
    wanted = sorted(set(packages))
    env = {**os.environ, **APT_ENV}
    say(f"apt-get update, then {render_apt_install(wanted)}")
    run_subprocess(
        ["apt-get", *APT_OPTIONS, "update", "-q"],
        env=env,
        log_dir=logs,
        what="apt-get update failed",
    )
    run_subprocess(
        ["apt-get", *APT_OPTIONS, "install", "-y", "-q", *wanted],
        env=env,
        log_dir=logs,
        what="installing the Debian packages of a stable Haskell kernel failed",
        stream=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_service.kernels.haskell.debian",
        description="Print (or --write) the Hackage -> Debian snapshot from apt-cache.",
    )
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT}")
    args = parser.parse_args(argv)
    dump = run_subprocess(["apt-cache", "dumpavail"], what="apt-cache dumpavail failed").stdout
    snapshot = render_snapshot(dump)
    text = render_snapshot_text(snapshot)
    if args.write:
        SNAPSHOT.write_text(text, encoding="utf-8")
        print(f"wrote {SNAPSHOT}: {len(snapshot['packages'])} packages, GHC {snapshot['ghc']}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
