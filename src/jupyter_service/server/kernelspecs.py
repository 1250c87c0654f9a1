"""The server's kernelspec manager: the current generation's stable kernels come first."""

from __future__ import annotations

from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import Bool, Unicode, default

from jupyter_service.kernel_dirs import served_kernel_dirs
from jupyter_service.venvs.spec_files import read_kernel_json, venv_of


class ServiceKernelSpecManager(KernelSpecManager):
    """Searches `stable_kernel_dir` before Jupyter's own kernel dirs.

    jupyter_client's `kernel_dirs` is not configurable; this adds the one dir we need. It is
    read through the `current` symlink at each listing, so a switch or a rollback shows in a
    running server without a restart. The dirs come from `kernel_dirs.served_kernel_dirs`,
    which `jupyter-venv-kernel list` reads too: both show the same kernels.
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

    hide_venv_kernels = Bool(
        False,
        config=True,
        help="Hide the venv kernels jupyter-venv-kernel made (enableVenvKernels = false): "
        "they are not listed and cannot be started; their files stay.",
    )

    @default("ensure_native_kernel")
    def _ensure_native_kernel_default(self) -> bool:
        return not self.hide_service_python

    @default("kernel_dirs")
    def _kernel_dirs_default(self) -> list[str]:
        return served_kernel_dirs(self.stable_kernel_dir, self.hide_service_python)

    def find_kernel_specs(self) -> dict[str, str]:
        """jupyter_client's, without hidden names (`jupyter-venv-kernel create` writes a
        kernelspec as `.tmp-NAME-…` and renames it into place; no one may start that), and
        without venv kernels when they are off."""
        specs: dict[str, str] = super().find_kernel_specs()
        return {
            name: path
            for name, path in specs.items()
            if not name.startswith(".") and not (self.hide_venv_kernels and _is_venv_kernel(path))
        }

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name.startswith("."):
            raise NoSuchKernel(kernel_name)
        spec: KernelSpec = super().get_kernel_spec(kernel_name)
        if self.hide_venv_kernels and _is_venv_kernel(spec.resource_dir):
            raise NoSuchKernel(kernel_name)
        return spec


def _is_venv_kernel(resource_dir: str) -> bool:
    spec = read_kernel_json(Path(resource_dir))
    return spec is not None and venv_of(spec) is not None
