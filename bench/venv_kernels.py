"""Benchmark the experimental tier, every figure a ratio against a baseline measured in this
same run (DESIGN.md, "Performance"):

- warm `jupyter-venv-kernel create` vs the original's pip recipe, and vs the floor: a
  `cp -al` of the prepared, byte-compiled base venv;
- a new venv kernel's first start to its first execute reply vs a byte-compiled bare
  ipykernel venv (and vs the same venv without byte-code);
- `jupyter-venv-kernel list` with 10 and with 100 venv kernels.

Run: .venv/bin/python bench/venv_kernels.py [--runs 5] [--original-runs 1]
Everything lives in a temporary HOME and Jupyter data dir; uv and pip caches persist in
$BENCH_CACHE (default /tmp/jupyter-service-bench-cache) so "warm" means warm.
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
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
VENV_KERNEL = str(BIN / "jupyter-venv-kernel")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(
    runs: int, fn: Callable[[int], object], before: Callable[[int], object] | None = None
) -> float:
    samples = []
    for i in range(runs):
        if before:
            before(i)
        samples.append(timed(lambda i=i: fn(i)))
    return statistics.median(samples)


def run(cmd: list[str], env: dict[str, str], **kw: object) -> None:
    subprocess.run(
        cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw
    )  # type: ignore[call-overload]


def first_reply(kernel_name: str, env: dict[str, str]) -> float:
    """Seconds from launching the kernel to its first execute reply, in a fresh process."""
    code = (
        "import time, sys\n"
        "from jupyter_client.manager import start_new_kernel\n"
        "t = time.perf_counter()\n"
        f"km, kc = start_new_kernel(kernel_name={kernel_name!r}, startup_timeout=120)\n"
        "kc.execute_interactive('1+1', timeout=120)\n"
        "print(time.perf_counter() - t)\n"
        "km.shutdown_kernel(now=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def write_kernelspec(data: Path, name: str, python: Path, extra_env: dict[str, str]) -> None:
    spec = data / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": name,
                "language": "python",
                "env": extra_env,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--original-runs", type=int, default=1, help="0 skips the slow pip recipe")
    parser.add_argument("--list-count", type=int, default=100)
    args = parser.parse_args()

    cache = Path(os.environ.get("BENCH_CACHE", "/tmp/jupyter-service-bench-cache"))
    root = Path(tempfile.mkdtemp(prefix="bench-venv-"))
    home, data = root / "home", root / "data"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTHONPATH", "VIRTUAL_ENV"))
    }
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(data),
        UV_CACHE_DIR=str(cache / "uv"),
        PIP_CACHE_DIR=str(cache / "pip"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    results: dict[str, float] = {}
    try:
        # Warm: the first create builds the shared base venv from the uv cache.
        run([VENV_KERNEL, "create", "warmup"], env)
        base = next((data / "venvs" / ".base").iterdir())

        results["floor_cp_al_s"] = median_of(
            args.runs, lambda i: run(["cp", "-al", str(base), str(root / f"floor{i}")], env)
        )
        results["create_s"] = median_of(
            args.runs, lambda i: run([VENV_KERNEL, "create", f"bench{i}"], env)
        )

        uv = shutil.which("uv", path=str(BIN)) or "uv"
        python = (
            Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        )

        def uv_recipe(i: int) -> None:
            target = root / f"uv{i}"
            run([uv, "venv", "-q", "--python", str(python), str(target)], env)
            run(
                [
                    uv,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(target / "bin/python"),
                    "ipykernel",
                    "ipywidgets",
                    "pip",
                ],
                env,
            )

        uv_recipe(99)  # warm
        results["uv_venv_install_s"] = median_of(args.runs, uv_recipe)

        if args.original_runs:

            def original(i: int) -> None:
                target = root / f"orig{i}"
                run([str(python), "-m", "venv", str(target)], env)
                run([str(target / "bin/pip"), "install", "-q", "--upgrade", "pip"], env)
                run([str(target / "bin/pip"), "install", "-q", "ipykernel", "ipywidgets"], env)
                run(
                    [
                        str(target / "bin/python"),
                        "-m",
                        "ipykernel",
                        "install",
                        "--user",
                        "--name",
                        f"orig{i}",
                    ],
                    env,
                )

            original(98)  # warm pip's cache
            results["original_pip_recipe_s"] = median_of(args.original_runs, original)

        # First start to first reply.
        bare = root / "bare"
        run([uv, "venv", "-q", "--python", str(python), str(bare)], env)
        run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--compile-bytecode",
                "--python",
                str(bare / "bin/python"),
                "ipykernel",
            ],
            env,
        )
        write_kernelspec(data, "bare-bytecode", bare / "bin/python", {})
        nobc = root / "nobytecode"
        run([uv, "venv", "-q", "--python", str(python), str(nobc)], env)
        run([uv, "pip", "install", "-q", "--python", str(nobc / "bin/python"), "ipykernel"], env)
        write_kernelspec(
            data, "bare-nobytecode", nobc / "bin/python", {"PYTHONDONTWRITEBYTECODE": "1"}
        )
        for name in ("bare-bytecode", "bench0", "bare-nobytecode"):
            first_reply(name, env)  # page cache warm
        results["first_reply_bare_bytecode_s"] = median_of(
            args.runs, lambda i: first_reply("bare-bytecode", env)
        )
        results["first_reply_venv_kernel_s"] = median_of(
            args.runs, lambda i: first_reply("bench0", env)
        )
        results["first_reply_no_bytecode_s"] = median_of(
            args.runs, lambda i: first_reply("bare-nobytecode", env)
        )

        # list: flat in the count.
        def list_time() -> float:
            run([VENV_KERNEL, "list"], env)  # fills the size cache once
            return median_of(args.runs, lambda i: run([VENV_KERNEL, "list"], env))

        existing = len([p for p in (data / "venvs").iterdir() if not p.name.startswith(".")])
        for i in range(existing, 10):
            run([VENV_KERNEL, "create", f"many{i}"], env)
        results["list_10_s"] = list_time()
        for i in range(10, args.list_count):
            run([VENV_KERNEL, "create", f"many{i}"], env)
        results[f"list_{args.list_count}_s"] = list_time()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(json.dumps(results, indent=1))
    r = results
    floor = r["create_s"] / r["floor_cp_al_s"]
    print(f"create vs cp -al floor:        {floor:.2f}x  (target <= 1.5x)")
    if "original_pip_recipe_s" in r:
        speedup = r["original_pip_recipe_s"] / r["create_s"]
        print(f"original pip recipe vs create: {speedup:.0f}x faster  (target >= 50x)")
    print(f"uv venv+install vs create:     {r['uv_venv_install_s'] / r['create_s']:.1f}x faster")
    bare = r["first_reply_bare_bytecode_s"]
    ratio = r["first_reply_venv_kernel_s"] / bare
    print(f"first reply, venv kernel vs byte-compiled bare venv: {ratio:.2f}x  (target ~1.0x)")
    ratio = r["first_reply_no_bytecode_s"] / bare
    print(f"first reply, no byte-code vs byte-compiled:          {ratio:.2f}x")
    key = f"list_{args.list_count}_s"
    flat = r[key] / r["list_10_s"]
    print(
        f"list with {args.list_count}: {r[key]:.3f} s (target < 0.2 s); vs 10: {flat:.2f}x (~1.0x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
