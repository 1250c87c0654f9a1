"""Kernels: every kernelspec the server would list actually starts and answers `1+1`;
stale kernelspecs (a venv kernel whose venv is gone, a `current` link pointing nowhere)."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from jupyter_client.manager import AsyncKernelManager

from jupyter_service.config import ServiceConfig
from jupyter_service.doctor.result import CheckResult
from jupyter_service.hints import render_hint, service_hint, venv_kernel_hint
from jupyter_service.kernel_dirs import hides_service_python
from jupyter_service.kernels import StableKernel
from jupyter_service.paths import ServicePaths
from jupyter_service.server.kernelspecs import ServiceKernelSpecManager
from jupyter_service.store.switch import stable_kernels
from jupyter_service.venvs.layout import Layout
from jupyter_service.venvs.manage import find_venvs
from jupyter_service.venvs.spec_files import venv_of

KERNEL_TIMEOUT = 60.0
# jupyter_client logs a failed start with its traceback; the check's finding says it once.
_QUIET = logging.getLogger("jupyter_service.doctor.kernels")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
# Kernels started at once: each is a process importing ipykernel.
PARALLEL = 4


def find_kernel_specs(config: ServiceConfig | None, state: Path) -> ServiceKernelSpecManager:
    """The kernelspecs as the server finds them: the current generation's stable kernels
    first, then Jupyter's own dirs (the service's own Python hidden as the server hides it)."""
    hide = config is not None and hides_service_python(config)
    return ServiceKernelSpecManager(
        stable_kernel_dir=str(ServicePaths(state).current_kernels),
        hide_service_python=hide,
        hide_venv_kernels=config is not None and not config.enableVenvKernels,
    )


def _tier(spec: dict[str, Any]) -> str:
    meta = spec.get("metadata")
    ours = meta.get("jupyter_service") if isinstance(meta, dict) else None
    tier = ours.get("tier") if isinstance(ours, dict) else None
    return tier if isinstance(tier, str) else ""


def kernel_fix(name: str, spec: dict[str, Any], state: Path) -> str:
    """The command that gets a broken kernel out of the list, by who made it."""
    tier = _tier(spec)
    if tier == "experimental":
        return venv_kernel_hint("delete", "--yes", name)
    if tier == "stable":
        return service_hint("rollback", writes=[state])
    return render_hint("jupyter", "kernelspec", "remove", "-f", name)


async def _execute(km: AsyncKernelManager, timeout: float, log: IO[bytes]) -> str:
    """Start the kernel (its output into `log`), run `1+1`, return what it answered."""
    await km.start_kernel(stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels()
    results: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "execute_result":
            results.append(str(msg["content"]["data"].get("text/plain", "")))
        elif msg["msg_type"] == "stream":
            results.append(str(msg["content"]["text"]))

    try:
        await kc.wait_for_ready(timeout=timeout)
        reply = await kc.execute_interactive("1+1", output_hook=hook, timeout=timeout)
    finally:
        kc.stop_channels()
    content = reply["content"]
    if content["status"] != "ok":
        raise KernelAnswerError(f"{content.get('ename', '')}: {content.get('evalue', '')}")
    return "".join(results).strip()


class KernelAnswerError(Exception):
    """The kernel answered `1+1` with an error."""


async def _prewarm_cost(km: AsyncKernelManager, kernel: StableKernel, timeout: float) -> str:
    """What the server's pool of this kernel costs: its preload imported in the kernel just
    checked, that kernel's memory, times `preheat`."""
    from jupyter_service.server.pool import kernel_pid, preload_code, process_memory, run_silently

    if kernel.preload:
        content = await run_silently(km, preload_code(list(kernel.preload)), timeout)
        if content.get("status") != "ok":
            return f"; its preload failed: {content.get('ename')}: {content.get('evalue')}"
    pid = kernel_pid(km)
    memory = process_memory(pid) if pid is not None else None
    each = f"{memory / 2**20:.0f} MiB each" if memory is not None else "memory unknown"
    total = f", {kernel.preheat * memory / 2**20:.0f} MiB in all" if memory is not None else ""
    preload = f" with {', '.join(kernel.preload)} imported" if kernel.preload else ""
    return f"; {kernel.preheat} pre-warmed (preheat){preload}: {each}{total}"


async def _check_kernel(
    ksm: ServiceKernelSpecManager,
    name: str,
    spec: dict[str, Any],
    state: Path,
    timeout: float,
    warm: StableKernel | None = None,
) -> CheckResult:
    fix = kernel_fix(name, spec, state)
    display = spec.get("display_name", name)
    venv = venv_of(spec)
    if venv and not os.path.isdir(venv):
        return CheckResult("kernel", "fail", f"{display} has lost its venv {venv}", fix, name)
    km = AsyncKernelManager(kernel_name=name, kernel_spec_manager=ksm, log=_QUIET)
    with tempfile.TemporaryFile() as log:
        try:
            answer = await asyncio.wait_for(_execute(km, timeout, log), timeout)
            cost = await _prewarm_cost(km, warm, timeout) if warm is not None else ""
        except TimeoutError:
            finding = f"{display} gave no answer to `1+1` within {timeout:.0f} s"
            return CheckResult("kernel", "fail", finding, fix, name, _tail(log))
        except KernelAnswerError as exc:
            finding = f"{display} failed at `1+1`: {exc}"
            return CheckResult("kernel", "fail", finding, fix, name, _tail(log))
        except Exception as exc:  # whatever starting a kernel raises: a missing python, a crash
            why = str(exc) or type(exc).__name__
            finding = f"{display} does not start: {why}"
            return CheckResult("kernel", "fail", finding, fix, name, _tail(log))
        finally:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
    finding = f"{display} starts and answers `1+1` with {answer or 'no output'}{cost}"
    return CheckResult("kernel", "ok", finding, subject=name)


def _tail(log: IO[bytes], lines: int = 5) -> tuple[str, ...]:
    """The last lines the kernel printed: why it died."""
    log.seek(0)
    text = log.read().decode(errors="replace")
    return tuple(line for line in text.strip().splitlines()[-lines:] if line.strip())


async def _check_all(
    ksm: ServiceKernelSpecManager,
    specs: dict[str, dict[str, Any]],
    state: Path,
    timeout: float,
    warm: dict[str, StableKernel],
) -> list[CheckResult]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(name: str) -> CheckResult:
        async with gate:
            return await _check_kernel(ksm, name, specs[name], state, timeout, warm.get(name))

    return list(await asyncio.gather(*(one(name) for name in specs)))


def check_kernels(
    config: ServiceConfig | None, state: Path, timeout: float = KERNEL_TIMEOUT
) -> list[CheckResult]:
    """Start every kernel the server would list, a few at a time, each bounded by `timeout`."""
    ksm = find_kernel_specs(config, state)
    specs = {name: found["spec"] for name, found in sorted(ksm.get_all_specs().items())}
    if not specs:
        return [
            CheckResult(
                "kernel",
                "fail",
                "no kernel is registered",
                venv_kernel_hint("create", "my-experiment"),
            )
        ]
    # Stable kernels the server keeps pre-warmed: the check says what their pools cost.
    warm = {
        k.name: k
        for k in (config.stableKernels if config is not None else ())
        if k.enable and k.preheat > 0 and _tier(specs.get(k.name, {})) == "stable"
    }
    return asyncio.run(_check_all(ksm, specs, state, timeout, warm))


def check_stale_kernelspecs(layout: Layout) -> list[CheckResult]:
    """Venv kernelspecs whose venv is gone (what `jupyter-venv-kernel list` marks broken)."""
    stale = [v for v in find_venvs(layout) if v.status.startswith("broken")]
    if not stale:
        return [CheckResult("stale-kernelspec", "ok", f"none in {layout.kernels}")]
    return [
        CheckResult(
            "stale-kernelspec",
            "fail",
            f"kernelspec {layout.kernels / v.name} points at {v.path}, which is gone",
            venv_kernel_hint("delete", "--yes", v.name),
            v.name,
        )
        for v in stale
    ]


def check_generation(config: ServiceConfig | None, state: Path) -> CheckResult:
    """The `current` link: it must point at a generation when there is one."""
    link = ServicePaths(state).current
    wants_stable = config is not None and bool(stable_kernels(config))
    if link.is_symlink() and not link.exists():
        finding = f"{link} points at {os.readlink(link)}, which is gone"
        fix = service_hint("rollback", writes=[state])
        return CheckResult("generation", "fail", finding, fix)
    if not link.exists():
        if wants_stable:
            assert config is not None
            finding = "the config has stable kernels but no generation is current"
            fix = service_hint("switch", config=config.source, writes=[state])
            return CheckResult("generation", "fail", finding, fix)
        return CheckResult("generation", "skip", "no stable kernels and no generation")
    return CheckResult("generation", "ok", f"{link} -> {os.readlink(link)}")


def check_locks(config: ServiceConfig | None, state: Path) -> list[CheckResult]:
    """Each stable kernel's lock against the config and the machine (an interpreter that
    changed, Debian packages upgraded under a Haskell kernel), as `switch` would find it."""
    kernels = stable_kernels(config) if config is not None and config.source else []
    if config is None or not kernels:
        return [CheckResult("lock", "skip", "no stable kernels in the config")]
    from jupyter_service.errors import ServiceError
    from jupyter_service.kernels import Languages
    from jupyter_service.store.lock import lock_root
    from jupyter_service.store.switch import lock_hint

    assert config.source is not None
    root, languages = lock_root(config.source), Languages()
    hint = lock_hint(config.source, state)
    results = []
    for kernel in kernels:
        try:
            languages(kernel.language).check_lock(kernel, root, hint)
        except ServiceError as exc:
            results.append(CheckResult("lock", "fail", exc.message, exc.hint, kernel.name))
            continue
        finding = "the lock satisfies the config and matches this machine"
        results.append(CheckResult("lock", "ok", finding, subject=kernel.name))
    return results
