"""Benchmark the stable tier, in one run:

- the no-op `switch` (in-process and as the CLI an admin types);
- a stable kernel's start to first execute reply against a bare, byte-compiled ipykernel venv
  with the same packages (alternating runs, medians, ratio);
- with --full: lock and build the whole python-base (torch, transformers, ...) once, and print
  the lock and build times, the store size, and the first reply of its kernel importing
  numpy, pandas and torch.

Usage: .venv/bin/python bench/stable_kernels.py [--full] [--runs N] [--keep DIR]

Everything lives in a temp dir (state, config, lock, venvs); uv's cache is the machine's own
(warm caches, as DESIGN.md measures) unless UV_CACHE_DIR is set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

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


def bench_small(work: Path, runs: int) -> None:
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
    for _ in range(runs):
        started = time.perf_counter()
        assert not switch(config, state).changed
        in_process.append(time.perf_counter() - started)
    cli = []
    command = [sys.executable, "-m", "jupyter_service", "switch", "--config", str(config_path)]
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cli.append(time.perf_counter() - started)
    print(
        f"no-op switch: in-process median {statistics.median(in_process) * 1000:.1f} ms; "
        f"`jupyter-service switch` median {statistics.median(cli) * 1000:.0f} ms "
        f"({runs} runs each)"
    )
    path = Path(result.generation.kernels["small"].store_path)
    bench_damage_check(path, runs, statistics.median(in_process))

    lock_dir = config_path.parent / "config.lock" / "small"
    bare_kernels = make_bare_venv(work, lock_dir)
    stable_kernels = state / "current" / "kernels"
    stable, bare = [], []
    first_reply(stable_kernels, "small", "1+1")  # warm the OS page cache for both
    first_reply(bare_kernels, "bare", "1+1")
    for _ in range(runs):
        stable.append(first_reply(stable_kernels, "small", "1+1"))
        bare.append(first_reply(bare_kernels, "bare", "1+1"))
    s, b = statistics.median(stable), statistics.median(bare)
    print(
        f"first reply (start to execute reply): stable {s:.3f} s, bare byte-compiled venv "
        f"{b:.3f} s, ratio {s / b:.2f} (medians of {runs}, alternating)"
    )


def bench_damage_check(path: Path, runs: int, no_op_switch: float) -> None:
    """The cheap check every no-op switch and doctor make (names and kinds), against the full one
    `verify` makes (hashes), on one store path."""
    cheap, full = [], []
    for _ in range(runs):
        started = time.perf_counter()
        assert not find_damage(path, contents=False)
        cheap.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert not find_damage(path, contents=True)
        full.append(time.perf_counter() - started)
    c, f = statistics.median(cheap), statistics.median(full)
    print(
        f"damage check of {path.name} ({len(read_contents(path) or {})} entries, "
        f"{du(path) / 2**20:.0f} MiB): cheap (names and kinds) {c * 1000:.1f} ms = "
        f"{c / no_op_switch:.0%} of the in-process no-op switch; full (hashes, `verify`) "
        f"{f * 1000:.0f} ms, {f / c:.0f}x the cheap one (medians of {runs})"
    )


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
    bench_damage_check(path, 3, no_op)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also build the full python-base")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-stable-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_SERVICE_STATE_DIR"] = str(work / "state")
    print(f"machine: {os.cpu_count()} cores; python {PYTHON}; work dir {work}")
    try:
        bench_small(work, args.runs)
        if args.full:
            bench_full(work)
    finally:
        if not args.keep:
            remove_tree(ServicePaths(work / "state").store)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
