"""The server's kernel manager: a kernel that cannot start is an HTTP error with its reason,
and never leaves the manager unable to shut down."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_client.kernelspec import NoSuchKernel
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web

from jupyter_service.server.kernel_log import TRANSPORT_LINE, KernelStderr


def render_start_error(kernel_name: str, exc: BaseException) -> web.HTTPError:
    """The HTTP error for a kernel that failed to start: 404 for an unknown name, else 500,
    each naming the kernel and what went wrong. Pure."""
    if isinstance(exc, NoSuchKernel):
        return web.HTTPError(404, f"kernel {kernel_name!r} does not exist")
    if isinstance(exc, json.JSONDecodeError):
        reason = f"its kernel.json is not valid JSON ({exc})"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return web.HTTPError(500, f"kernel {kernel_name!r} failed to start: {reason}")


class ServiceKernelManager(AsyncMappingKernelManager):
    """jupyter_client keeps the id of a kernel whose start failed among its pending kernels,
    and its `shutdown_all` then fails on it (the server's stop never finished)."""

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
