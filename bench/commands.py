"""Benchmark command start-up (issue 13, items 1 and 2), as interleaved pairs against a
baseline measured in the same run (bench/pairs.py):

- `jupyter-service --help`, `generations`, `check`, `rollback N`, `jupyter-venv-kernel
  --help` and a warm `jupyter-venv-kernel create` against `python -c pass`;
- `jupyter-venv-kernel list` with 0, 10 and 100 venv kernels against `python -c pass`, and
  100 against 0 (flat: ~1.0x).

Run: .venv/bin/python bench/commands.py [--pairs 15] [--json FILE]
Everything lives in a temporary HOME, Jupyter data dirs and state dir; uv's cache persists
in $BENCH_CACHE (default /tmp/jupyter-service-bench-cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pairs import Pairs, bench_parser, command, interleaved, write_figures

from jupyter_service.store.generations import write_generation
from jupyter_service.store.manifest import ManifestEntry

BIN = Path(sys.executable).parent
SERVICE = str(BIN / "jupyter-service")
VENV_KERNEL = str(BIN / "jupyter-venv-kernel")
# argon2id of "bench": a config with a password and packages, as a real one has.
PASSWORD = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$JgmFmHnWq2nbyINEzBHQLQ$"
    "w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"
)


def bench_env(root: Path, cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTHONPATH", "VIRTUAL_ENV", "IPYTHON"))
    }
    env.update(
        HOME=str(root / "home"),
        JUPYTER_DATA_DIR=str(root / "data"),
        JUPYTER_SERVICE_STATE_DIR=str(root / "state"),
        UV_CACHE_DIR=str(cache / "uv"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    # Byte-code is written and used, as on an installed system (the first pair warms it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (root / "home").mkdir(parents=True, exist_ok=True)
    return env


def with_data(env: dict[str, str], data: Path) -> dict[str, str]:
    return {**env, "JUPYTER_DATA_DIR": str(data)}


def make_venv_kernels(env: dict[str, str], data: Path, count: int, base_from: Path | None) -> None:
    """`count` venv kernels made by the real command, on a base hardlinked from `base_from`."""
    if base_from is not None:
        (data / "venvs").mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", str(base_from), str(data / "venvs" / ".base")], check=True)
    for i in range(count):
        subprocess.run(
            [VENV_KERNEL, "create", f"k{i:03d}"],
            env=with_data(env, data),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def main() -> int:
    args = bench_parser(__doc__, pairs=15).parse_args()

    cache = Path(os.environ.get("BENCH_CACHE", "/tmp/jupyter-service-bench-cache"))
    root = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    env = bench_env(root, cache)
    results: list[Pairs] = []
    try:
        state = root / "state"
        store = root / "store" / "abc-python-base"
        (store / "bin").mkdir(parents=True)
        entry = ManifestEntry("python", str(store), "0" * 64, "Python (base)")
        for _ in range(2):
            write_generation(state, {"python-base": entry}, None)
        config = root / "config.toml"
        config.write_text(
            f'enable = true\npassword = "{PASSWORD}"\n'
            '[extraKernels.python-base]\nenable = true\nextraPackages = ["requests>=2"]\n'
        )
        env["JUPYTER_SERVICE_CONFIG"] = str(config)

        data = {n: root / f"data{n}" for n in (0, 10, 100)}
        make_venv_kernels(env, data[100], 100, None)
        base = data[100] / "venvs" / ".base"
        make_venv_kernels(env, data[10], 10, base)
        make_venv_kernels(env, data[0], 0, base)
        for n in data:
            # The first list after a create fills the size cache; later ones read it.
            command([VENV_KERNEL, "list"], with_data(env, data[n]))(0)

        python = command([sys.executable, "-c", "pass"], env)
        startup = [
            ("jupyter-service --help", [SERVICE, "--help"]),
            ("jupyter-service generations", [SERVICE, "generations"]),
            ("jupyter-service check", [SERVICE, "check", "--config", str(config)]),
            ("jupyter-venv-kernel --help", [VENV_KERNEL, "--help"]),
        ]
        for label, cmd in startup:
            results.append(
                interleaved(
                    f"{label} vs python -c pass",
                    "python",
                    python,
                    "command",
                    command(cmd, env),
                    pairs=args.pairs,
                    target="< 0.1 s",
                )
            )

        def rollback(i: int) -> float:
            # Back and forth between the two generations: each run really moves `current`.
            return command([SERVICE, "rollback", str(1 + (i % 2))], env)(i)

        results.append(
            interleaved(
                "jupyter-service rollback N vs python -c pass",
                "python",
                python,
                "command",
                rollback,
                pairs=args.pairs,
                target="< 0.1 s",
            )
        )
        for n in (0, 10, 100):
            results.append(
                interleaved(
                    f"list, {n} venv kernels vs python -c pass",
                    "python",
                    python,
                    "list",
                    command([VENV_KERNEL, "list"], with_data(env, data[n])),
                    pairs=args.pairs,
                    target="< 0.1 s",
                )
            )
        results.append(
            interleaved(
                "list, 100 venv kernels vs 0",
                "list 0",
                command([VENV_KERNEL, "list"], with_data(env, data[0])),
                "list 100",
                command([VENV_KERNEL, "list"], with_data(env, data[100])),
                pairs=args.pairs,
                target="~1.0x (flat)",
            )
        )

        def create(i: int) -> float:
            return command([VENV_KERNEL, "create", f"warm{i + 1}"], with_data(env, data[0]))(i)

        results.append(
            interleaved(
                "warm create vs python -c pass",
                "python",
                python,
                "create",
                create,
                pairs=args.pairs,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    write_figures(results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
