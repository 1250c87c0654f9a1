"""Pre-warmed stable kernels: for a stable kernel with `preheat = N`, N kernels of its spec
are started ahead and left idle, `preload` modules already imported in them. Opening a
notebook takes one: it gets the notebook's working directory, environment and session
(`__session__`, `JPY_SESSION_NAME`) as if it had just been started there, and a new one is
started behind it.

A pre-warmed kernel belongs to no session until it is taken: it is not in the server's
kernel list, the culler does not see it, and taking is one pop on the server's event loop,
so no kernel is ever handed out twice. The pool follows the current generation: a kernel
started from a kernelspec that `switch` or `rollback` replaced is never handed out; its
pool is drained (shut down) and filled again from the new spec. The server shuts the
pools down with its kernels.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from typing import Any

from jupyter_client.kernelspec import NoSuchKernel
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import Dict, Float, Int, List, Unicode, default

from jupyter_service.server.kernels import ServiceKernelManager

HANDOVER_TIMEOUT = 30.0


def handover_code(cwd: str | None, env: dict[str, str], removed: list[str]) -> str:
    """Python run in a taken kernel: the state a fresh start in `cwd` with `env` has."""
    lines = ["import os as _js_os"]
    if cwd:
        lines.append(f"_js_os.chdir({cwd!r})")
    if env:
        lines.append(f"_js_os.environ.update({env!r})")
    for name in removed:
        lines.append(f"_js_os.environ.pop({name!r}, None)")
    session = env.get("JPY_SESSION_NAME")
    if session is not None:
        # What ipykernel does at start with JPY_SESSION_NAME.
        lines.append(f"get_ipython().user_ns['__session__'] = {session!r}")
    lines.append("del _js_os")
    return "\n".join(lines)


def preload_code(modules: list[str]) -> str:
    """Import `modules` without binding a name in the user's namespace."""
    return f"[__import__('importlib').import_module(_m) for _m in {modules!r}]"


async def run_silently(
    km: Any, code: str, timeout: float, *, started: bool = False
) -> dict[str, Any]:
    """Execute `code` in the kernel of `km` (an async kernel manager), silently: no
    history, no output to anyone."""
    client = km.client()
    client.start_channels()
    try:
        if not started:
            # A kernel just launched: wait until it answers (this also drains IOPub for
            # 0.2 s, which a kernel known to be up need not pay).
            await client.wait_for_ready(timeout=timeout)
        reply: dict[str, Any] = await client.execute(
            code, silent=True, store_history=False, reply=True, timeout=timeout
        )
        content: dict[str, Any] = reply["content"]
        return content
    finally:
        client.stop_channels()


def process_memory(pid: int) -> int | None:
    """Bytes a process costs: its proportional set size (shared pages split among their
    users), else its resident size; None where /proc does not tell."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}", encoding="ascii") as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return None


def kernel_pid(km: Any) -> int | None:
    """The pid of a kernel jupyter_client started on this host."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


class PooledKernelManager(ServerKernelManager):
    """A kernel manager whose kernel may have been started ahead, for a pool. Then
    `start_kernel` hands that kernel over, set up for the caller's cwd and environment,
    instead of launching one; its restarts use the caller's too."""

    pooled = False

    async def start_kernel(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if not self.pooled:
            await super().start_kernel(*args, **kwargs)
            return
        self.pooled = False
        launched: dict[str, Any] = dict(self._launch_args or {})
        env: dict[str, str] = dict(kwargs.get("env") or os.environ)
        before: dict[str, str] = dict(launched.get("env") or {})
        changed = {k: v for k, v in env.items() if before.get(k) != v}
        removed = sorted(k for k in before if k not in env)
        cwd = kwargs.get("cwd")
        try:
            content = await run_silently(
                self, handover_code(cwd, changed, removed), HANDOVER_TIMEOUT, started=True
            )
        except Exception as exc:  # any failure: start one the usual way
            content = {"status": "error", "evalue": str(exc)}
        if content.get("status") != "ok":
            self.log.warning(
                "A pre-warmed kernel could not be handed over (%s); starting a new one",
                content.get("evalue", content.get("status")),
            )
            await self.shutdown_kernel(now=True)
            await super().start_kernel(*args, **kwargs)
            return
        # A restart of this kernel starts it where the session is, with its environment.
        assert self._launch_args is not None
        self._launch_args.update({k: v for k, v in kwargs.items() if k in ("cwd", "env")})


async def _discard(km: PooledKernelManager) -> None:
    """Shut down a kernel that never joined a pool, whatever state its start reached."""
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # its process killed below or already gone
        process = getattr(km.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()


class _Pool:
    def __init__(self) -> None:
        self.ready: deque[tuple[str, PooledKernelManager]] = deque()
        self.source: str | None = None  # the kernelspec the ready kernels were started from
        self.filling: asyncio.Task[None] | None = None


class PoolingKernelManager(ServiceKernelManager):
    """The server's kernel manager, with pools of pre-warmed stable kernels."""

    preheat = Dict(
        key_trait=Unicode(),
        value_trait=Int(),
        config=True,
        help="Kernel name -> how many kernels of it to keep started and idle.",
    )
    preload = Dict(
        key_trait=Unicode(),
        value_trait=List(Unicode()),
        config=True,
        help="Kernel name -> modules each pre-warmed kernel of it imports ahead.",
    )
    pool_check_interval = Float(
        2.0, config=True, help="Seconds between checks that the pools follow the generation."
    )

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return "jupyter_service.server.pool.PooledKernelManager"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._pools: dict[str, _Pool] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False

    # -- taking ----------------------------------------------------------------------------

    def pre_start_kernel(
        self, kernel_name: str | None, kwargs: Any
    ) -> tuple[PooledKernelManager, str, str]:
        """A pre-warmed kernel when one of the current spec is ready; else a new manager."""
        name = kernel_name or self.default_kernel_name
        pool = self._pools.get(name)
        if pool is not None and "kernel_id" not in kwargs:
            if pool.ready and self._source(name) != pool.source:
                self._drain(name)
            elif pool.ready:
                kernel_id, km = pool.ready.popleft()
                self.log.info("Kernel %s (%s) taken from the pre-warmed pool", kernel_id, name)
                self._fill_soon(name)
                return km, name, kernel_id
            self._fill_soon(name)
        new, name, kernel_id = super().pre_start_kernel(kernel_name, kwargs)
        assert isinstance(new, PooledKernelManager)
        return new, name, kernel_id

    # -- filling ---------------------------------------------------------------------------

    def start_pools(self) -> None:
        """Fill every pool and watch the generation; call once the event loop runs."""
        for name, count in self.preheat.items():
            if count > 0:
                self._pools.setdefault(name, _Pool())
                self._fill_soon(name)
        if self._pools and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    def pool_sizes(self) -> dict[str, int]:
        """Kernel name -> pre-warmed kernels ready now."""
        return {name: len(pool.ready) for name, pool in self._pools.items()}

    def _source(self, name: str) -> str | None:
        """What a kernel of `name` would be started from now: its kernelspec's real dir and
        contents (a new generation, or a rollback, changes it). None: no such kernel."""
        assert self.kernel_spec_manager is not None
        try:
            spec = self.kernel_spec_manager.get_kernel_spec(name)
        except (NoSuchKernel, OSError, ValueError):
            return None
        body = json.dumps(spec.to_dict(), sort_keys=True)
        return f"{os.path.realpath(spec.resource_dir)}\n{body}"

    def _fill_soon(self, name: str) -> None:
        pool = self._pools[name]
        if self._closing or (pool.filling is not None and not pool.filling.done()):
            return
        pool.filling = asyncio.get_running_loop().create_task(self._fill(name))

    async def _fill(self, name: str) -> None:
        pool = self._pools[name]
        while not self._closing and len(pool.ready) < self.preheat.get(name, 0):
            source = self._source(name)
            if source is None:
                self.log.warning("No kernel '%s' to pre-warm; its pool stays empty", name)
                return
            if pool.source != source:
                self._drain(name)
                pool.source = source
            started = await self._start_one(name)
            if started is None:
                return  # logged; the watcher tries again later
            if self._closing or self._source(name) != source:
                await started[1].shutdown_kernel(now=True)
                continue
            pool.ready.append(started)
            self.log.info("Pre-warmed kernel %s (%s) ready", started[0], name)

    async def _start_one(self, name: str) -> tuple[str, PooledKernelManager] | None:
        km, _, kernel_id = super().pre_start_kernel(name, {})
        assert isinstance(km, PooledKernelManager)
        try:
            await km.start_kernel(kernel_id=kernel_id, cwd=self.root_dir, env=dict(os.environ))
            modules = list(self.preload.get(name, []))
            if modules:
                content = await run_silently(km, preload_code(modules), 600)
                if content.get("status") != "ok":
                    self.log.warning(
                        "Pre-warmed kernel %s: preload %s failed: %s",
                        name,
                        modules,
                        content.get("evalue"),
                    )
        except asyncio.CancelledError:
            # The server stops while this one starts: it must not outlive the server.
            await asyncio.shield(_discard(km))
            raise
        except Exception:
            self.log.exception("Could not start a pre-warmed '%s' kernel", name)
            await _discard(km)
            return None
        km.pooled = True
        return kernel_id, km

    # -- following the generation, shutting down --------------------------------------------

    async def _watch(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.pool_check_interval)
            for name, pool in self._pools.items():
                # A session may take a kernel, or a fill add one, while is_alive is awaited:
                # check a snapshot and remove only the dead, never replace the deque.
                for entry in list(pool.ready):
                    if not await entry[1].is_alive() and entry in pool.ready:
                        pool.ready.remove(entry)
                if pool.ready and self._source(name) != pool.source:
                    self._drain(name)
                self._fill_soon(name)

    def _drain(self, name: str) -> None:
        pool = self._pools[name]
        doomed = list(pool.ready)
        pool.ready.clear()
        pool.source = None
        for kernel_id, km in doomed:
            self.log.info("Pre-warmed kernel %s (%s) of an old spec: shut down", kernel_id, name)
            asyncio.get_running_loop().create_task(km.shutdown_kernel(now=True))

    async def _async_shutdown_all(self, now: bool = False) -> None:
        self._closing = True
        tasks = [p.filling for p in self._pools.values() if p.filling is not None]
        if self._watcher is not None:
            tasks.append(self._watcher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        doomed = [km for pool in self._pools.values() for _, km in pool.ready]
        for pool in self._pools.values():
            pool.ready.clear()
        await asyncio.gather(
            *(km.shutdown_kernel(now=True) for km in doomed), return_exceptions=True
        )
        await super()._async_shutdown_all(now=now)

    shutdown_all = _async_shutdown_all
