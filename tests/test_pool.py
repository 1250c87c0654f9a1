"""Pre-warmed stable kernels: the server's kernel manager with a pool, real kernels started
by jupyter_client, a real `current` link switched under it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_service.server.kernelspecs import ServiceKernelSpecManager
from jupyter_service.server.pool import PooledKernelManager, PoolingKernelManager

from .helpers import process_alive, processes_using

pytestmark = pytest.mark.slow


def write_generation(state: Path, number: int) -> None:
    spec = state / "generations" / str(number) / "kernels" / "warm"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": argv,
                "display_name": "Warm",
                "language": "python",
                "env": {"GENERATION": str(number), "PYTHONDONTWRITEBYTECODE": "1"},
            }
        )
    )


def make_current(state: Path, number: int) -> None:
    link = state / ".current-new"
    link.symlink_to(f"generations/{number}")
    link.replace(state / "current")


def pid(km: PooledKernelManager) -> int:
    process = getattr(km.provisioner, "process", None)
    assert process is not None
    return int(process.pid)


async def until(check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def evaluate(km: Any, expressions: dict[str, str]) -> dict[str, str]:
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute("", user_expressions=expressions, reply=True, timeout=60)
    finally:
        client.stop_channels()
    found = reply["content"]["user_expressions"]
    return {k: v["data"]["text/plain"] for k, v in found.items()}


def ready(mkm: PoolingKernelManager) -> list[PooledKernelManager]:
    return [km for _, km in mkm._pools["warm"].ready]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


@pytest.fixture
def manager(tmp_path: Path) -> PoolingKernelManager:
    state = tmp_path / "state"
    write_generation(state, 1)
    write_generation(state, 2)
    make_current(state, 1)
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "connections").mkdir()
    ksm = ServiceKernelSpecManager(stable_kernel_dir=str(state / "current" / "kernels"))
    return PoolingKernelManager(
        kernel_spec_manager=ksm,
        root_dir=str(tmp_path / "root"),
        connection_dir=str(tmp_path / "connections"),
        preheat={"warm": 1},
        preload={"warm": ["decimal", "fractions"]},
        pool_check_interval=0.2,
    )


def test_a_taken_kernel_is_as_if_started_for_the_session(
    manager: PoolingKernelManager, tmp_path: Path
) -> None:
    async def scenario() -> None:
        manager.start_pools()
        try:
            await until(lambda: len(ready(manager)) == 1)
            [pooled] = ready(manager)
            assert manager.list_kernel_ids() == []  # not a session's until taken
            notebook = str(tmp_path / "root" / "sub" / "nb.ipynb")
            kernel_id = await manager.start_kernel(
                kernel_name="warm", path="sub", env={**os.environ, "JPY_SESSION_NAME": notebook}
            )
            taken = manager.get_kernel(kernel_id)
            assert taken is pooled and manager.list_kernel_ids() == [kernel_id]
            seen = await evaluate(
                taken,
                {
                    "cwd": "__import__('os').getcwd()",
                    "session": "__session__",
                    "env": "__import__('os').environ['JPY_SESSION_NAME']",
                    "preloaded": "'decimal' in __import__('sys').modules",
                    "bound": "'decimal' in globals()",
                },
            )
            assert seen == {
                "cwd": repr(str(tmp_path / "root" / "sub")),
                "session": repr(notebook),
                "env": repr(notebook),
                "preloaded": "True",
                "bound": "False",
            }
            # A new one is started behind it.
            await until(lambda: len(ready(manager)) == 1)
            assert ready(manager)[0] is not taken
            # Restarted, it starts where the session is.
            old = pid(taken)
            await manager.restart_kernel(kernel_id)
            assert pid(taken) != old
            assert (await evaluate(taken, {"cwd": "__import__('os').getcwd()"}))["cwd"] == repr(
                str(tmp_path / "root" / "sub")
            )
        finally:
            pids = [pid(km) for km in ready(manager)]
            await manager.shutdown_all(now=True)
        # Shut down with the server: the pool's kernels too, the one starting behind included.
        assert not any(process_alive(p) for p in pids)
        assert processes_using(tmp_path / "connections", live_only=True) == []

    run(scenario)


def test_never_handed_to_two_sessions(manager: PoolingKernelManager) -> None:
    async def scenario() -> None:
        manager.start_pools()
        try:
            await until(lambda: len(ready(manager)) == 1)
            ids = await asyncio.gather(
                *(manager.start_kernel(kernel_name="warm", path="sub") for _ in range(3))
            )
            assert len(set(ids)) == 3
            pids = {pid(manager.get_kernel(k)) for k in ids}
            assert len(pids) == 3
        finally:
            await manager.shutdown_all(now=True)

    run(scenario)


def test_the_pool_follows_switch_and_rollback(
    manager: PoolingKernelManager, tmp_path: Path
) -> None:
    state = tmp_path / "state"

    async def generation_of(kernel_id: str) -> str:
        seen = await evaluate(
            manager.get_kernel(kernel_id), {"g": "__import__('os').environ['GENERATION']"}
        )
        return seen["g"]

    async def scenario() -> None:
        manager.start_pools()
        try:
            await until(lambda: len(ready(manager)) == 1)
            [old] = ready(manager)
            old_pid = pid(old)
            make_current(state, 2)  # switch
            # The old generation's pool is drained, and filled from the new spec.
            await until(lambda: not process_alive(old_pid))
            await until(lambda: len(ready(manager)) == 1)
            kernel_id = await manager.start_kernel(kernel_name="warm", path="sub")
            assert await generation_of(kernel_id) == "'2'"
            await until(lambda: len(ready(manager)) == 1)
            make_current(state, 1)  # rollback, then a session at once: never the old spec
            kernel_id = await manager.start_kernel(kernel_name="warm", path="sub")
            assert await generation_of(kernel_id) == "'1'"
        finally:
            await manager.shutdown_all(now=True)

    run(scenario)


def test_a_kernel_starting_for_the_pool_dies_with_the_server(
    manager: PoolingKernelManager, tmp_path: Path
) -> None:
    async def scenario() -> None:
        manager.start_pools()
        await until(lambda: len(ready(manager)) == 1)
        await manager.start_kernel(kernel_name="warm", path="sub")  # a refill starts behind
        await asyncio.sleep(0.3)
        await manager.shutdown_all(now=True)

    run(scenario)
    deadline = time.monotonic() + 10
    while processes_using(tmp_path / "connections", live_only=True) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_using(tmp_path / "connections", live_only=True) == []
