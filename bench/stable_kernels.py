"""Benchmark the stable tier, in one run:

- the no-op `switch` (in-process, median; and the CLI an admin types against `python -c
  pass`, as interleaved pairs);
- a stable kernel's start to first execute reply against a bare, byte-compiled ipykernel venv
  with the same packages, as interleaved pairs (bench/pairs.py: min/median/max of ratios);
- the damage check a no-op switch makes (names and kinds) against the full one of `verify`
  (hashes), as interleaved pairs;
- with --full: lock and build the whole python-base (torch, transformers, ...) once, and print
  the lock and build times, the store size, and the first reply of its kernel importing
  numpy, pandas and torch.

Usage: .venv/bin/python bench/stable_kernels.py [--full] [--pairs N] [--keep DIR] [--json FILE]

Everything lives in a temp dir (state, config, lock, venvs); uv's cache is the machine's own
(warm caches, as DESIGN.md measures) unless UV_CACHE_DIR is set.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from pairs import Pairs, bench_parser, command, interleaved, report, timed, write_figures

from jupyter_service.config import load_config
from jupyter_service.kernels.python import LOCK_FILE, PROJECT_FILE, uv_bin, uv_env
from jupyter_service.paths import ServicePaths
from jupyter_service.store.build import remove_tree
from jupyter_service.store.switch import lock_kernels, switch
from jupyter_service.store.verify import find_damage, read_contents

PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def write_config(directory: Path, kernels: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.write_text(
        'enable = true\npassword = "argon2:$argon2id$v=19$m=10240,t=10,p=8$'
        'JgmFmHnWq2nbyINEzBHQLQ$w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"\n' + kernels
    )
    return config


def first_reply(kernels_dir: Path, name: str, code: str) -> float:
    """Seconds from starting the kernel to its first execute reply."""
    manager = KernelManager(
        kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    )
    started = time.perf_counter()
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        # kernel_info round trip first: an execute sent before IOPub is connected loses its
        # idle status, and waiting for it would hang.
        client.wait_for_ready(timeout=600)
        reply = client.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
        elapsed = time.perf_counter() - started
        assert reply["content"]["status"] == "ok", reply["content"]
        return elapsed
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def make_bare_venv(work: Path, lock_dir: Path) -> Path:
    """A plain byte-compiled ipykernel venv with the lock's exact packages, and its kernelspec."""
    requirements = work / "bare-requirements.txt"
    uv, env = uv_bin(), uv_env()
    subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--project",
            str(lock_dir),
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--no-header",
            "-o",
            str(requirements),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    venv = work / "bare-venv"
    subprocess.run([uv, "venv", "--quiet", "--python", PYTHON, str(venv)], check=True, env=env)
    subprocess.run(
        [
            uv,
            "pip",
            "sync",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--compile-bytecode",
            str(requirements),
        ],
        check=True,
        env=env,
    )
    spec_dir = work / "bare-kernels" / "bare"
    spec_dir.mkdir(parents=True)
    argv = [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "bare", "language": "python"})
    )
    return spec_dir.parent


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def bench_small(work: Path, pairs: int) -> list[Pairs]:
    config_path = write_config(
        work / "small",
        f'[extraKernels.small]\nlanguage = "python"\npackages = []\npythonPackage = "{PYTHON}"\n',
    )
    config = load_config(config_path)
    state = Path(os.environ["JUPYTER_SERVICE_STATE_DIR"])
    lock_kernels(config, state)
    started = time.perf_counter()
    result = switch(config, state)
    print(f"small kernel (ipykernel only): build {time.perf_counter() - started:.1f} s")
    assert result.generation is not None

    in_process = []
    for _ in range(pairs):
        started = time.perf_counter()
        assert not switch(config, state).changed
        in_process.append(time.perf_counter() - started)
    no_op = statistics.median(in_process)
    print(f"no-op switch in-process: median {no_op * 1000:.1f} ms of {pairs}")
    results = [
        interleaved(
            "no-op `jupyter-service switch` vs python -c pass",
            "python",
            command([sys.executable, "-c", "pass"]),
            "switch",
            command(
                [sys.executable, "-m", "jupyter_service", "switch", "--config", str(config_path)]
            ),
            pairs=pairs,
        )
    ]
    path = Path(result.generation.kernels["small"].store_path)
    results.append(bench_damage_check(path, pairs, no_op))

    lock_dir = config_path.parent / "config.lock" / "small"
    bare_kernels = make_bare_venv(work, lock_dir)
    stable_kernels = state / "current" / "kernels"
    results.append(
        interleaved(
            "first reply, stable kernel vs bare venv",
            "bare",
            lambda i: first_reply(bare_kernels, "bare", "1+1"),
            "stable",
            lambda i: first_reply(stable_kernels, "small", "1+1"),
            pairs=pairs,
            target="~1.0x",
        )
    )
    return results


def bench_damage_check(path: Path, pairs: int, no_op_switch: float) -> Pairs:
    """The cheap check every no-op switch and doctor make (names and kinds), against the full one
    `verify` makes (hashes), on one store path."""

    def check(contents: bool) -> Callable[[int], float]:
        return lambda i: timed(lambda: find_damage(path, contents=contents))

    found = interleaved(
        "damage check of a store path, full (hashes) vs cheap (names, kinds)",
        "cheap",
        check(False),
        "full",
        check(True),
        pairs=pairs,
    )
    cheap = statistics.median(found.a)
    print(
        f"damage check of {path.name} ({len(read_contents(path) or {})} entries, "
        f"{du(path) / 2**20:.0f} MiB): cheap (names and kinds) median {cheap * 1000:.1f} ms = "
        f"{cheap / no_op_switch:.0%} of the in-process no-op switch"
    )
    return found


def bench_full(work: Path) -> None:
    config_path = write_config(
        work / "full", f'[extraKernels.python-base]\nenable = true\npythonPackage = "{PYTHON}"\n'
    )
    config = load_config(config_path)
    state = Path(os.environ["JUPYTER_SERVICE_STATE_DIR"])
    started = time.perf_counter()
    lock_kernels(config, state)
    lock_time = time.perf_counter() - started
    lock_dir = config_path.parent / "config.lock" / "python-base"
    packages = (lock_dir / LOCK_FILE).read_text().count("[[package]]")
    print(f"python-base: lock {lock_time:.1f} s ({packages} packages)")
    assert (lock_dir / PROJECT_FILE).is_file()
    started = time.perf_counter()
    result = switch(config, state, say=lambda text: print("  " + text, flush=True))
    build_time = time.perf_counter() - started
    assert result.generation is not None
    path = Path(result.generation.kernels["python-base"].store_path)
    print(f"python-base: build {build_time:.1f} s; store path {du(path) / 2**30:.2f} GiB")
    code = "import numpy, pandas, torch"
    cold = first_reply(state / "current" / "kernels", "python-base", code)
    warm = first_reply(state / "current" / "kernels", "python-base", code)
    print(f"python-base: first reply to `{code}`: {cold:.2f} s first, {warm:.2f} s again")
    started = time.perf_counter()
    assert not switch(config, state).changed
    no_op = time.perf_counter() - started
    print(f"python-base: no-op switch {no_op * 1000:.1f} ms")
    print(report([bench_damage_check(path, 3, no_op)]))


def main() -> None:
    parser = bench_parser(__doc__, pairs=7)
    parser.add_argument("--full", action="store_true", help="also build the full python-base")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-stable-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_SERVICE_STATE_DIR"] = str(work / "state")
    print(f"machine: {os.cpu_count()} cores; python {PYTHON}; work dir {work}")
    try:
        write_figures(bench_small(work, args.pairs), args.json)
        if args.full:
            bench_full(work)
    finally:
        if not args.keep:
            remove_tree(ServicePaths(work / "state").store)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
