"""Benchmark the experimental tier, every figure a ratio against a baseline measured in this
same run, as interleaved pairs (bench/pairs.py):

- warm `jupyter-venv-kernel create` vs the floor: a `cp -al` of the prepared base venv;
- the first `create` (no base yet) vs the uv recipe (`uv venv` + `uv pip install
  ipykernel ipywidgets pip`), both from uv's warm cache; each pair waits for the first
  create's background byte-compile to end, so none slows the next pair;
- a second `create` while that compile runs vs a warm `create` on a compiled base;
- a venv kernel's first reply, started while the compile runs, vs on a compiled base, and
  vs one in a fresh uv-recipe venv (no byte-code, nothing compiling: what the first kernel
  of an install costs without the background compile);
- a venv kernel's first reply vs a byte-compiled bare ipykernel venv;
- with --original-runs N: the original's pip recipe vs `create` (slow; medians).

Run: .venv/bin/python bench/venv_kernels.py [--pairs 5] [--original-runs 1] [--json FILE]
Everything lives in a temporary HOME and Jupyter data dir; uv and pip caches persist in
$BENCH_CACHE (default /tmp/jupyter-service-bench-cache) so "warm" means warm.
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
from pathlib import Path

from pairs import Pairs, bench_parser, command, interleaved, timed, write_figures

from jupyter_service.venvs.build import COMPILED_MARKER

BIN = Path(sys.executable).parent
VENV_KERNEL = str(BIN / "jupyter-venv-kernel")
PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def first_reply(kernel_name: str, env: dict[str, str]) -> float:
    """Seconds from launching the kernel to its first execute reply, in a fresh process."""
    code = (
        "import time, sys\n"
        "from jupyter_client.manager import start_new_kernel\n"
        "t = time.perf_counter()\n"
        f"km, kc = start_new_kernel(kernel_name={kernel_name!r}, startup_timeout=120)\n"
        # No output hook: the default one would print "2" in front of the figure.
        "kc.execute_interactive('1+1', timeout=120, output_hook=lambda msg: None)\n"
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


def wait_compiled(data: Path, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not list((data / "venvs" / ".base").glob(f"*/{COMPILED_MARKER}")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the base under {data} was not byte-compiled in {timeout} s")
        time.sleep(0.1)


def main() -> int:
    parser = bench_parser(__doc__, pairs=5)
    parser.add_argument("--original-runs", type=int, default=0, help="the slow pip recipe")
    args = parser.parse_args()

    cache = Path(os.environ.get("BENCH_CACHE", "/tmp/jupyter-service-bench-cache"))
    root = Path(tempfile.mkdtemp(prefix="bench-venv-"))
    home, data = root / "home", root / "data"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTHONPATH", "VIRTUAL_ENV", "IPYTHON"))
    }
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(data),
        UV_CACHE_DIR=str(cache / "uv"),
        PIP_CACHE_DIR=str(cache / "pip"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    # Byte-code is written and used, as on an installed system.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    uv = shutil.which("uv", path=str(BIN)) or "uv"
    results: list[Pairs] = []
    extra: dict[str, float] = {}
    try:
        # Warm: the first create builds the shared base venv from the uv cache.
        run([VENV_KERNEL, "create", "warmup"], env)
        wait_compiled(data)
        base = next(p for p in (data / "venvs" / ".base").iterdir() if p.name[0] != ".")

        results.append(
            interleaved(
                "warm create vs cp -al of the base",
                "cp -al",
                lambda i: command(["cp", "-al", str(base), str(root / f"floor{i}")], env)(i),
                "create",
                lambda i: command([VENV_KERNEL, "create", f"warm{i + 1}"], env)(i),
                pairs=args.pairs,
                target="<= 1.5x",
            )
        )

        def uv_recipe(i: int) -> float:
            target = root / "uv-recipe"
            shutil.rmtree(target, ignore_errors=True)
            return timed(
                lambda: (
                    run([uv, "venv", "-q", "--python", str(PYTHON), str(target)], env),
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
                    ),
                )
            )

        def cold_create(i: int) -> float:
            fresh = root / f"cold{i}"
            shutil.rmtree(fresh, ignore_errors=True)
            elapsed = command(
                [VENV_KERNEL, "create", "first"], {**env, "JUPYTER_DATA_DIR": str(fresh)}
            )(i)
            wait_compiled(fresh)  # not timed: no compile may slow the next pair
            return elapsed

        results.append(
            interleaved(
                "first create (no base) vs uv recipe",
                "uv recipe",
                uv_recipe,
                "first create",
                cold_create,
                pairs=args.pairs,
                target="<= 1.3x",
            )
        )

        # A second create and a kernel start right behind a first create (its byte-compile
        # running) against the same on a compiled base.
        def fresh_first(i: int) -> dict[str, str]:
            fresh = root / f"behind{i}"
            shutil.rmtree(fresh, ignore_errors=True)
            fenv = {**env, "JUPYTER_DATA_DIR": str(fresh)}
            run([VENV_KERNEL, "create", "first"], fenv)
            return fenv

        second = Pairs("second create, compile running vs compiled base", "compiled", "compiling")
        start = Pairs("first reply, compile running vs compiled base", "compiled", "compiling")
        # What a kernel start costs right after an install with no byte-code and no compile
        # (the uv recipe): what the background compile is not to make worse.
        fresh = Pairs("first reply, compile running vs fresh uv recipe", "recipe", "compiling")
        for i in range(-1, args.pairs):
            fenv = fresh_first(i)
            behind = command([VENV_KERNEL, "create", "second"], fenv)(i)
            compiling_reply = first_reply("second", fenv)
            uv_recipe(i)
            write_kernelspec(data, "uv-recipe", root / "uv-recipe" / "bin" / "python", {})
            recipe_reply = first_reply("uv-recipe", env)
            wait_compiled(Path(fenv["JUPYTER_DATA_DIR"]))
            on_compiled = command([VENV_KERNEL, "create", f"second{i + 1}"], env)(i)
            compiled_reply = first_reply(f"second{i + 1}", env)
            if i >= 0:
                second.a.append(on_compiled)
                second.b.append(behind)
                start.a.append(compiled_reply)
                start.b.append(compiling_reply)
                fresh.a.append(recipe_reply)
                fresh.b.append(compiling_reply)
        second.target = "~1.0x (never slower)"
        start.target = "~1.0x (never slower)"
        fresh.target = "<= 1.0x (never slower)"
        results += [second, start, fresh]

        # First start to first reply against a bare, byte-compiled ipykernel venv.
        bare = root / "bare"
        run([uv, "venv", "-q", "--python", str(PYTHON), str(bare)], env)
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
        results.append(
            interleaved(
                "first reply, venv kernel vs bare venv",
                "bare",
                lambda i: first_reply("bare-bytecode", env),
                "venv kernel",
                lambda i: first_reply("warmup", env),
                pairs=args.pairs,
                target="~1.0x",
            )
        )

        if args.original_runs:

            def original(i: int) -> None:
                target = root / f"orig{i}"
                run([str(PYTHON), "-m", "venv", str(target)], env)
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

            original(-1)  # warm pip's cache
            recipe = statistics.median(
                timed(lambda i=i: original(i)) for i in range(args.original_runs)
            )
            create = statistics.median(
                command([VENV_KERNEL, "create", f"o{i}"], env)(i) for i in range(args.original_runs)
            )
            extra["original_pip_recipe_s"] = recipe
            extra["original_vs_create_x"] = recipe / create
    finally:
        shutil.rmtree(root, ignore_errors=True)

    write_figures(results, args.json, extra)
    if extra:
        print(
            f"original pip recipe {extra['original_pip_recipe_s']:.1f} s: "
            f"{extra['original_vs_create_x']:.0f}x a warm create"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
