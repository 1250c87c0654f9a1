"""`enableVenvKernels = false` means venv kernels are not offered: not listed, not startable
(their files stay, and come back when it is turned on again); the command is off the PATH."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import NoSuchKernel

from jupyter_service.server.kernelspecs import ServiceKernelSpecManager

from .helpers import BASE_URL, PASSWORD, Service, free_port, hash_password, login, xsrf_headers


def write_kernelspec(kernels: Path, name: str, metadata: dict[str, object]) -> None:
    directory = kernels / name
    directory.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({name})",
        "language": "python",
        "metadata": metadata,
    }
    (directory / "kernel.json").write_text(json.dumps(spec))


def write_pair(directory: Path) -> Path:
    """A venv kernel of ours and a kernel someone else installed, in `directory`."""
    venv = {
        "jupyter_service": {"tier": "experimental", "venv": str(directory.parent / "venvs/exp")}
    }
    write_kernelspec(directory, "exp", venv)
    write_kernelspec(directory, "theirs", {})
    return directory


@pytest.fixture
def kernels() -> Path:
    """The pair in the user's Jupyter data dir."""
    from jupyter_core.paths import jupyter_data_dir

    return write_pair(Path(jupyter_data_dir()) / "kernels")


def test_the_kernelspec_manager_hides_venv_kernels_when_off(kernels: Path, tmp_path: Path) -> None:
    stable = str(tmp_path / "state/current/kernels")
    on = ServiceKernelSpecManager(stable_kernel_dir=stable, hide_service_python=True)
    assert {"exp", "theirs"} <= set(on.find_kernel_specs())
    assert on.get_kernel_spec("exp").display_name == "Python (exp)"
    off = ServiceKernelSpecManager(
        stable_kernel_dir=stable, hide_service_python=True, hide_venv_kernels=True
    )
    assert "exp" not in off.find_kernel_specs() and "theirs" in off.find_kernel_specs()
    assert "exp" not in off.get_all_specs()
    with pytest.raises(NoSuchKernel):
        off.get_kernel_spec("exp")
    assert (kernels / "exp" / "kernel.json").is_file()  # nothing removed


@pytest.mark.slow
def test_a_server_with_venv_kernels_off_neither_lists_nor_starts_them(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        "enable = true\nenableVenvKernels = false\n"
        f'port = {port}\nbaseUrl = "{BASE_URL}"\nnotebookDir = "{tmp_path / "nb"}"\n'
        f'password = "{hash_password(PASSWORD)}"\n'
    )
    service = Service(tmp_path / "svc", config, port)
    # In the service's own Jupyter data dir (it reads kernelspecs at each request).
    write_pair(Path(service.env["JUPYTER_DATA_DIR"]) / "kernels")
    try:
        service.wait_ready()
        session = login(service)
        listed = session.get(service.url("api/kernelspecs"), timeout=30).json()["kernelspecs"]
        assert "exp" not in listed and "theirs" in listed
        started = session.post(
            service.url("api/kernels"),
            json={"name": "exp"},
            headers=xsrf_headers(session),
            timeout=60,
        )
        assert started.status_code >= 400, started.text
        assert session.get(service.url("api/kernels"), timeout=30).json() == []
    finally:
        assert service.stop() == 0, service.output()
