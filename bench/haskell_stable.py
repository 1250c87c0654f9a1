"""Benchmark stable Haskell kernels (lock, switch, size), in one run:

- the Quick Start's set (lens aeson vector) and the original's whole example set (what
  Debian carries of it): `lock`, the first `switch` (it builds the kernel's package DB) and
  a no-op `switch`, each the median of --runs, against the same run's baseline, one
  `ghc-pkg --global dump` (what every lock and switch reads at least once);
- the install size of each set as Debian has it: the Installed-Size of every package apt
  installs for it (the recursive Depends of its libghc-*-dev packages), with ghc alone
  apart.

Usage: .venv/bin/python bench/haskell_stable.py [--runs N]

The Debian packages must be installed (run it as root and they are, by the first lock).
Everything else lives in a temp dir.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_service.config import load_config
from jupyter_service.kernels.haskell import debian, pkgdb
from jupyter_service.paths import ServicePaths
from jupyter_service.store.build import remove_tree
from jupyter_service.store.switch import lock_kernels, switch

QUICK_START = ["lens", "aeson", "vector"]
EXAMPLE_SET = [
    *("lens", "lens-aeson", "aeson", "vector", "containers", "text", "bytestring"),
    *("ihaskell-hvega", "hvega", "diagrams", "diagrams-cairo"),
    *("wreq", "http-client", "http-client-tls", "statistics", "scientific"),
]
PASSWORD = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$JgmFmHnWq2nbyINEzBHQLQ$"
    "w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"
)


def carried(names: list[str]) -> list[str]:
    return [n for n in names if debian.unavailable_reason(n) is None]


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_config(directory: Path, packages: list[str]) -> Path:
    directory.mkdir(parents=True)
    config = directory / "config.toml"
    listed = ", ".join(f'"{p}"' for p in packages)
    config.write_text(
        f'enable = true\npassword = "{PASSWORD}"\n'
        f"[extraKernels.ihaskell]\nenable = true\nextraPackages = [{listed}]\n"
    )
    return config


def bench_set(work: Path, name: str, packages: list[str], runs: int, baseline: float) -> None:
    state = work / f"state-{name}"
    os.environ["JUPYTER_SERVICE_STATE_DIR"] = str(state)
    config = load_config(write_config(work / name, packages))
    lock = median_seconds(lambda: lock_kernels(config, state), runs)
    lock_file = work / name / "config.lock" / "ihaskell" / "packages.lock.json"
    closure = lock_file.read_text().count('"id":')

    def first_switch() -> None:
        remove_tree(ServicePaths(state).store)
        shutil.rmtree(state / "generations", ignore_errors=True)
        (state / "current").unlink(missing_ok=True)
        assert switch(config, state).changed

    build = median_seconds(first_switch, runs)
    noop = median_seconds(lambda: switch(config, state), runs)
    print(
        f"{name} ({len(packages)} packages asked, {closure} in the closure): "
        f"lock {lock:.2f} s ({lock / baseline:.1f}x the dump), "
        f"first switch {build:.2f} s ({build / baseline:.1f}x), "
        f"no-op switch {noop * 1000:.0f} ms ({noop / baseline:.1f}x)"
    )


def installed_sizes(packages: list[str]) -> dict[str, int]:
    """Debian package -> Installed-Size (KiB) of everything apt installs for `packages`."""
    only = ("--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks")
    only += ("--no-replaces", "--no-enhances")
    depends = subprocess.run(
        ["apt-cache", "depends", "--recurse", *only, *packages],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.strip() for line in depends.splitlines() if not line.startswith(" ")}
    names = {n for n in names if n and not n.startswith("<")}
    shown = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Installed-Size}\n", *sorted(names)],
        capture_output=True,
        text=True,
    ).stdout
    sizes = {}
    for line in shown.splitlines():
        package, _, size = line.partition("\t")
        if size.strip().isdigit():
            sizes[package] = int(size)
    return sizes


def print_install_size(name: str, packages: list[str]) -> None:
    sources = sorted(
        {
            found.debian
            for p in debian.expand_bundles(packages)
            if (found := debian.find_debian_package(p))
        }
    )
    sizes = installed_sizes(sources)
    haskell = {p: s for p, s in sizes.items() if p.startswith("libghc-")}
    total, ghc = sum(sizes.values()), sizes.get("ghc", 0)
    rest = total - sum(haskell.values()) - ghc
    gib = 1024**2  # Installed-Size is in KiB
    print(
        f"{name}: {len(sizes)} Debian packages, {total / gib:.2f} GiB installed "
        f"(ghc {ghc / gib:.2f} GiB, {len(haskell)} libghc-* packages "
        f"{sum(haskell.values()) / gib:.2f} GiB, {len(sizes) - len(haskell) - 1} other "
        f"packages {rest / gib:.2f} GiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ghc = pkgdb.find_ghc()
    print(f"machine: {os.cpu_count()} cores; GHC {ghc.version}; runs {args.runs}")
    baseline = median_seconds(lambda: pkgdb.read_global_packages(ghc), args.runs)
    print(f"baseline: ghc-pkg --global dump {baseline * 1000:.0f} ms")
    work = Path(tempfile.mkdtemp(prefix="bench-haskell-"))
    try:
        bench_set(work, "quick-start", QUICK_START, args.runs, baseline)
        bench_set(work, "example-set", carried(EXAMPLE_SET), args.runs, baseline)
    finally:
        for state in work.glob("state-*"):
            remove_tree(ServicePaths(state).store)
        shutil.rmtree(work, ignore_errors=True)
    print_install_size("quick-start", QUICK_START)
    print_install_size("example-set", carried(EXAMPLE_SET))


if __name__ == "__main__":
    main()
