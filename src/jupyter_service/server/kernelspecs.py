"""The server's kernelspec manager: the current generation's stable kernels come first."""

from __future__ import annotations

import os
import sys

from jupyter_client.kernelspec import KernelSpecManager
from traitlets import Bool, Unicode, default


class ServiceKernelSpecManager(KernelSpecManager):
    """Searches `stable_kernel_dir` before Jupyter's own kernel dirs.

    jupyter_client's `kernel_dirs` is not configurable; this adds the one dir we need. It is
    read through the `current` symlink at each listing, so a switch or a rollback shows in a
    running server without a restart.
    """

    stable_kernel_dir = Unicode(
        "", config=True, help="The current generation's kernelspec dir (searched first)."
    )

    hide_service_python = Bool(
        False,
        config=True,
        help="Hide the kernels of the service's own environment (its 'Python 3 (ipykernel)'), "
        "whose `%pip install` would change the service itself.",
    )

    @default("ensure_native_kernel")
    def _ensure_native_kernel_default(self) -> bool:
        return not self.hide_service_python

    @default("kernel_dirs")
    def _kernel_dirs_default(self) -> list[str]:
        dirs: list[str] = super()._kernel_dirs_default()
        if self.hide_service_python:
            own = os.path.join(sys.prefix, "share", "jupyter", "kernels")
            dirs = [d for d in dirs if os.path.abspath(d) != own]
        if self.stable_kernel_dir:
            return [self.stable_kernel_dir, *(d for d in dirs if d != self.stable_kernel_dir)]
        return dirs
