"""The server's kernel manager: a kernel that cannot start is an HTTP error with its reason,
and never leaves the manager unable to shut down."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_client.kernelspec import NoSuchKernel
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import HasTraits, Unicode

from jupyter_service.server.kernel_log import TRANSPORT_LINE, KernelStderr


def render_start_error(kernel_name: str, exc: BaseException) -> web.HTTPError:
    """The HTTP error for a kernel that failed to start: 404 for an unknown name, else 500,
    each naming the kernel and what went wrong. Pure."""
    if isinstance(exc, NoSuchKernel):
        if not kernel_name:
            return web.HTTPError(404, "no kernel name given, and the server lists no kernel")
        return web.HTTPError(404, f"kernel {kernel_name!r} does not exist")
    if isinstance(exc, json.JSONDecodeError):
        reason = f"its kernel.json is not valid JSON ({exc})"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return web.HTTPError(500, f"kernel {kernel_name!r} failed to start: {reason}")


def find_default_kernel(configured: str, listed: dict[str, str], stable_dir: str) -> str:
    """The default kernel among the `listed` ones (name -> resource dir): the `configured`
    one when listed, else the first stable kernel (under `stable_dir`), else the first
    listed kernel, else none (""). Pure."""
    if configured in listed:
        return configured
    stable = sorted(n for n, d in listed.items() if stable_dir and d.startswith(stable_dir + "/"))
    return (stable or sorted(listed) or [""])[0]


class _ListedKernelName(Unicode):  # type: ignore[type-arg]
    """`default_kernel_name` as configured, read against what the kernelspec manager lists
    now: a switch or rollback changes the list while the server runs, and a generation with
    no stable kernel (or a dangling `current`) has none of its names."""

    def get(self, obj: HasTraits, cls: type[Any] | None = None) -> str:
        configured = str(super().get(obj, cls))
        ksm = getattr(obj, "kernel_spec_manager", None)
        if ksm is None:
            return configured
        listed: dict[str, str] = ksm.find_kernel_specs()
        return find_default_kernel(configured, listed, getattr(ksm, "stable_kernel_dir", ""))


class ServiceKernelManager(AsyncMappingKernelManager):
    """jupyter_client keeps the id of a kernel whose start failed among its pending kernels,
    and its `shutdown_all` then fails on it (the server's stop never finished). Its default
    kernel is always one the server lists (Jupyter's own, `python3`, may be hidden)."""

    default_kernel_name = _ListedKernelName(
        "python3",
        config=True,
        help="The kernel a notebook opens with when it names none; when the server does not "
        "list it, the first stable kernel it lists, else the first kernel.",
    )

    def _forget_failed_starts(self) -> None:
        for kernel_id, task in list(self._pending_kernels.items()):
            if task.done() and kernel_id not in self._kernels:
                del self._pending_kernels[kernel_id]

    _kernel_stderr: KernelStderr | None = None

    async def start_kernel(self, *, kernel_name: str | None = None, **kwargs: Any) -> str:  # type: ignore[override]
        if self._kernel_stderr is None:
            self._kernel_stderr = KernelStderr()
            self.log.info(TRANSPORT_LINE)
        kwargs.setdefault("stderr", self._kernel_stderr.fd)
        try:
            kernel_id: str = await super().start_kernel(kernel_name=kernel_name, **kwargs)
        except web.HTTPError:
            raise
        except Exception as exc:
            self._forget_failed_starts()
            name = kernel_name or self.default_kernel_name
            error = render_start_error(name, exc)
            self.log.error("%s", error.log_message)
            raise error from exc
        return kernel_id

    async def _async_shutdown_all(self, now: bool = False) -> None:
        """Shut every kernel down, each on its own: one that fails is logged, and killed."""
        self._forget_failed_starts()
        kernel_ids = list(set(self.list_kernel_ids()) | set(self._pending_kernels))
        results = await asyncio.gather(
            *(self._async_shutdown_kernel(kernel_id, now=now) for kernel_id in kernel_ids),  # type: ignore[no-untyped-call]
            return_exceptions=True,
        )
        for kernel_id, result in zip(kernel_ids, results, strict=True):
            if isinstance(result, BaseException):
                self.log.warning("kernel %s did not shut down cleanly: %s", kernel_id, result)
                km = self._kernels.pop(kernel_id, None)
                if km is not None and km.has_kernel:
                    await km._async_kill_kernel()

    shutdown_all = _async_shutdown_all  # type: ignore[assignment]
