"""`jupyter-service up` with no config: loopback, a generated token, the current directory."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import Service, run_in_kernel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = Service(tmp_path_factory.mktemp("embedded"), config=None)
    svc.wait_ready(base_url="/")
    yield svc
    svc.stop()


def test_answers_only_with_its_token(service: Service) -> None:
    token = service.token()
    status = service.url("api/status", base_url="/")
    assert requests.get(status, timeout=10).status_code == 403
    assert requests.get(status, params={"token": "0" * len(token)}, timeout=10).status_code == 403
    ok = requests.get(status, headers={"Authorization": f"token {token}"}, timeout=10)
    assert ok.status_code == 200
    assert f"http://127.0.0.1:{service.port}/lab?token={token}" in service.output()


def test_listens_on_loopback_from_8888_up(service: Service) -> None:
    assert service.port >= 8888


def test_serves_the_current_directory(service: Service) -> None:
    (service.root / "hello.ipynb").write_text("{}")
    response = requests.get(
        service.url("api/contents", base_url="/"),
        headers={"Authorization": f"token {service.token()}"},
        timeout=10,
    )
    assert "hello.ipynb" in [item["name"] for item in response.json()["content"]]


def test_root_warning(service: Service) -> None:
    if os.geteuid() == 0:
        assert "warning: running as root" in service.output()


def _token_session(service: Service) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {service.token()}"
    session.get(service.url("lab", base_url="/"), timeout=10)
    return session


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_with_kernels(tmp_path: Path, sig: int) -> None:
    service = Service(tmp_path, config=None)
    service.wait_ready(base_url="/")
    session = _token_session(service)
    service.url = lambda path="", base_url="/": (  # type: ignore[method-assign]
        f"http://127.0.0.1:{service.port}{base_url}{path}"
    )
    pid = int(run_in_kernel(service, session, "import os; print(os.getpid())", keep=True))
    os.kill(pid, 0)  # the kernel runs
    assert service.stop(sig) == 0, service.output()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"kernel {pid} still running after the server stopped")
    assert "Shutting down 1 kernel" in service.output()
