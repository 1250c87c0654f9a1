"""Benchmark pre-warmed stable kernels (issue 13, item 4) as interleaved pairs against the
same stable kernel started cold, in the server's own kernel manager:

- first reply: from the server asking for a kernel (a notebook opened) to the reply to
  `1+1`, cold vs taken from a pool (`preheat = 1`);
- `import numpy, pandas` in the first cell: cold vs with them in `preload`;
- the memory (PSS) one pre-warmed kernel costs, with and without its preload.

Run: .venv/bin/python bench/prewarmed.py [--pairs 7] [--preload numpy,pandas] [--json FILE]
It locks and builds a stable kernel with the --preload packages (uv's cache, else PyPI)
under a temporary state dir; torch only when named (a 6 GiB build).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pairs import Pairs, bench_parser, write_figures

from jupyter_service.config import load_config
from jupyter_service.paths import ServicePaths
from jupyter_service.server.kernelspecs import ServiceKernelSpecManager
from jupyter_service.server.pool import PoolingKernelManager, kernel_pid, process_memory
from jupyter_service.store.build import remove_tree
from jupyter_service.store.switch import lock_kernels, switch

PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
PRELOAD = "numpy,pandas"
PASSWORD = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$JgmFmHnWq2nbyINEzBHQLQ$"
    "w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"
)


async def reply_time(
    manager: PoolingKernelManager, kernel_id: str, code: str, *, connect: bool = True
) -> float:
    """Seconds until the kernel's reply to `code`; with `connect`, counted from before its
    channels are connected (what opening a notebook costs), else from the request."""
    km = manager.get_kernel(kernel_id)
    client = km.client()
    client.start_channels()
    try:
        started = time.perf_counter()
        if not connect:
            await client.wait_for_ready(timeout=600)
            started = time.perf_counter()
        # As a notebook's first cell: sent at once, answered when the kernel is up (no
        # wait_for_ready, whose IOPub drain alone costs 0.2 s).
        reply = await client.execute(code, reply=True, timeout=600)
        assert reply["content"]["status"] == "ok", reply["content"]
        return time.perf_counter() - started
    finally:
        client.stop_channels()


async def open_notebook(manager: PoolingKernelManager) -> tuple[str, float]:
    """What opening a notebook costs until `1+1` is answered: the kernel's start (or its
    handover) and the first reply."""
    started = time.perf_counter()
    kernel_id = await manager.start_kernel(kernel_name="warm", path="")
    await reply_time(manager, kernel_id, "1+1")
    return kernel_id, time.perf_counter() - started


async def until_ready(manager: PoolingKernelManager) -> None:
    while manager.pool_sizes().get("warm", 0) < 1:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the pool's kernel idle, as one waiting for a notebook is


async def measure(
    kernels: Path, work: Path, pairs: int, preload: list[str]
) -> tuple[list[Pairs], dict[str, float]]:
    ksm = ServiceKernelSpecManager(stable_kernel_dir=str(kernels))
    common: dict[str, Any] = {
        "kernel_spec_manager": ksm,
        "root_dir": str(work),
        "connection_dir": str(work / "connections"),
    }
    (work / "connections").mkdir(exist_ok=True)
    cold = PoolingKernelManager(**common)
    bare = PoolingKernelManager(**common, preheat={"warm": 1})
    loaded = PoolingKernelManager(**common, preheat={"warm": 1}, preload={"warm": preload})
    start = Pairs("first reply, pre-warmed vs cold", "cold", "pre-warmed", target="< 0.15 s")
    code = "import " + ", ".join(preload)
    imports = Pairs(f"{code}: preloaded vs cold kernel", "cold", "preloaded", target="< 0.1 s")
    memory: dict[str, float] = {}
    try:
        bare.start_pools()
        loaded.start_pools()
        for i in range(-1, pairs):
            kernel_id, cold_time = await open_notebook(cold)
            cold_import = await reply_time(cold, kernel_id, code, connect=False)
            await cold.shutdown_kernel(kernel_id, now=True)

            await until_ready(bare)
            if i == 0:
                [(_, km)] = list(bare._pools["warm"].ready)
                memory["prewarmed_bare_mib"] = (process_memory(kernel_pid(km) or 0) or 0) / 2**20
            kernel_id, warm_time = await open_notebook(bare)
            await bare.shutdown_kernel(kernel_id, now=True)

            await until_ready(loaded)
            if i == 0:
                [(_, km)] = list(loaded._pools["warm"].ready)
                pss = process_memory(kernel_pid(km) or 0) or 0
                memory["prewarmed_preloaded_mib"] = pss / 2**20
            kernel_id, _ = await open_notebook(loaded)
            warm_import = await reply_time(loaded, kernel_id, code, connect=False)
            await loaded.shutdown_kernel(kernel_id, now=True)
            if i >= 0:
                start.a.append(cold_time)
                start.b.append(warm_time)
                imports.a.append(cold_import)
                imports.b.append(warm_import)
    finally:
        for manager in (cold, bare, loaded):
            await manager.shutdown_all(now=True)
    return [start, imports], memory


def main() -> int:
    parser = bench_parser(__doc__, pairs=7)
    parser.add_argument(
        "--preload",
        default=PRELOAD,
        help=f"the stable kernel's packages, imported ahead (default {PRELOAD}; torch: 6 GiB)",
    )
    args = parser.parse_args()
    preload = args.preload.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-prewarmed-"))
    state = work / "state"
    os.environ["JUPYTER_SERVICE_STATE_DIR"] = str(state)
    try:
        config_path = work / "config.toml"
        config_path.write_text(
            f'enable = true\npassword = "{PASSWORD}"\n[extraKernels.warm]\nlanguage = "python"\n'
            f'packages = {json.dumps(preload)}\npythonPackage = "{PYTHON}"\n'
        )
        config = load_config(config_path)
        lock_kernels(config, state)
        assert switch(config, state).generation is not None
        results, memory = asyncio.run(
            measure(state / "current" / "kernels", work, args.pairs, preload)
        )
    finally:
        remove_tree(ServicePaths(state).store)
        shutil.rmtree(work, ignore_errors=True)
    extra: dict[str, object] = {
        **memory,
        "first_reply_prewarmed_median_s": statistics.median(results[0].b),
    }
    write_figures(results, args.json, extra)
    print(
        f"memory of one pre-warmed kernel (PSS): {memory['prewarmed_bare_mib']:.0f} MiB bare, "
        f"{memory['prewarmed_preloaded_mib']:.0f} MiB with {', '.join(preload)} preloaded"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
