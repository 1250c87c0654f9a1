"""Benchmark the Haskell kernel over ghci against a plain ipykernel, in one run:

- start to first reply: from starting the kernel to the reply of its first execute (`1 + 1`),
  and to its first kernel_info reply (ready), as interleaved pairs (bench/pairs.py);
- memory per idle kernel: the RSS and PSS of the kernel's processes (for ours, the Python
  kernel plus its ghci) a moment after that first reply.

Usage: .venv/bin/python bench/haskell_kernel.py [--pairs N] [--packages NAME ...]

With --packages, ours runs as a stable kernel does: with its own package database holding
the closure of base and those packages (e.g. the seed's `lens aeson vector`); without,
over GHC's global database.

Kernelspecs, connection files and IPython's dir live in a temp dir; nothing is written to
the machine's own Jupyter dirs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from pairs import Pairs, interleaved, report

from jupyter_service.kernels.haskell.ghci import MODULE, find_ghc_version
from jupyter_service.kernels.haskell.pkgdb import (
    find_closure,
    find_ghc,
    read_global_packages,
    write_package_db,
)

GOAL_S = 1.5


@dataclass
class Start:
    """What one kernel start measured."""

    ready_s: float
    reply_s: float
    rss: int
    pss: int
    ghci_rss: int


@dataclass
class Kernel:
    name: str
    starts: list[Start] = field(default_factory=list)

    def sample(self, kernels_dir: Path) -> Callable[[int], float]:
        def run(i: int) -> float:
            start = measure(kernels_dir, self.name)
            if i >= 0:
                self.starts.append(start)
            return start.reply_s

        return run


def write_kernelspec(kernels_dir: Path, name: str, argv: list[str], language: str) -> None:
    directory = kernels_dir / name
    directory.mkdir(parents=True)
    spec = {"argv": argv, "display_name": name, "language": language}
    (directory / "kernel.json").write_text(json.dumps(spec))


def measure(kernels_dir: Path, name: str) -> Start:
    manager = KernelManager(
        kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    )
    started = time.perf_counter()
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        ready = time.perf_counter() - started
        reply = client.execute_interactive("1 + 1", timeout=120, output_hook=lambda msg: None)
        replied = time.perf_counter() - started
        assert reply["content"]["status"] == "ok", reply["content"]
        time.sleep(1.0)  # idle: what a kernel holds between cells
        assert manager.provisioner is not None
        kernel = psutil.Process(manager.provisioner.process.pid)  # type: ignore[attr-defined]
        processes = [kernel, *kernel.children(recursive=True)]
        infos = [p.memory_full_info() for p in processes]
        ghci_rss = sum(i.rss for p, i in zip(processes, infos, strict=True) if p.name() == "ghc")
        return Start(
            ready,
            replied,
            rss=sum(i.rss for i in infos),
            pss=sum(i.pss for i in infos),
            ghci_rss=ghci_rss,
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def write_db(root: Path, names: list[str]) -> Path:
    ghc = find_ghc()
    closure, missing = find_closure(read_global_packages(ghc), names)
    if missing:
        sys.exit(f"not installed: {', '.join(missing)}")
    db = root / "package.db"
    write_package_db(ghc, [package.id for package in closure], db, root / "logs")
    print(f"package DB: {len(closure)} packages (the closure of base and {' '.join(names)})")
    return db


def mib(values: list[int]) -> str:
    return f"{statistics.median(values) / 2**20:.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--packages", nargs="*", default=None, help="packages of ours' own DB")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-haskell-") as tmp:
        root = Path(tmp)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
        os.environ["IPYTHONDIR"] = str(root / "ipython")
        kernels_dir = root / "kernels"
        ours = [sys.executable, "-m", MODULE, "-f", "{connection_file}"]
        if args.packages is not None:
            ours += ["--package-db", str(write_db(root, args.packages))]
            ours += [arg for name in args.packages for arg in ("--package", name)]
        write_kernelspec(kernels_dir, "haskell", ours, "haskell")
        plain = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        write_kernelspec(kernels_dir, "python", plain, "python")

        python, haskell = Kernel("python"), Kernel("haskell")
        result: Pairs = interleaved(
            "start to first reply",
            "ipykernel",
            python.sample(kernels_dir),
            "haskell",
            haskell.sample(kernels_dir),
            pairs=args.pairs,
            target=f"haskell under {GOAL_S} s",
        )

    print(f"GHC {find_ghc_version()}, {psutil.cpu_count()} cores, {args.pairs} pairs")
    print(report([result]))
    for kernel in (python, haskell):
        ready = [s.ready_s for s in kernel.starts]
        reply = [s.reply_s for s in kernel.starts]
        print(
            f"{kernel.name:<8} ready (kernel_info) min/median/max "
            f"{min(ready):.3f}/{statistics.median(ready):.3f}/{max(ready):.3f} s; "
            f"first reply {min(reply):.3f}/{statistics.median(reply):.3f}/{max(reply):.3f} s"
        )
    for kernel in (python, haskell):
        starts = kernel.starts
        ghci = f" (of which ghci {mib([s.ghci_rss for s in starts])})" if kernel is haskell else ""
        print(
            f"{kernel.name:<8} idle memory: RSS {mib([s.rss for s in starts])}{ghci}, "
            f"PSS {mib([s.pss for s in starts])}"
        )
    met = statistics.median(s.reply_s for s in haskell.starts) < GOAL_S
    print(f"goal: first reply under {GOAL_S} s (median): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
