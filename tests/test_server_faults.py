"""A real `jupyter-service up` through faults: kernels that cannot start, then a stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import (
    BASE_URL,
    PASSWORD,
    Service,
    free_port,
    hash_password,
    login,
    run_in_kernel,
    xsrf_headers,
)

pytestmark = pytest.mark.slow


def write_kernelspec(root: Path, name: str, spec: dict[str, object] | str) -> None:
    directory = root / "jupyter-data" / "kernels" / name
    directory.mkdir(parents=True)
    text = spec if isinstance(spec, str) else json.dumps(spec)
    (directory / "kernel.json").write_text(text)


def python_spec(python: str, **extra: object) -> dict[str, object]:
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "broken",
        "language": "python",
        **extra,
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, the server, is gone or has not reaped).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_ends_the_process_after_failed_kernel_starts(tmp_path: Path, sig: int) -> None:
    """Issue 10.1: each failed start is an HTTP error with its reason, and afterwards Ctrl-C
    or SIGTERM ends the server within seconds, shutting the running kernel down."""
    write_kernelspec(tmp_path, "no-python", python_spec(str(tmp_path / "gone" / "bin" / "python")))
    write_kernelspec(tmp_path, "garbage", "{not json")
    # One variable larger than Linux's 128 KiB limit on a single exec string: E2BIG.
    huge = python_spec("/usr/bin/python3", env={"HUGE": "x" * 200_000})
    write_kernelspec(tmp_path, "huge-env", huge)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(tmp_path / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
    )
    service = Service(tmp_path, config, port)
    try:
        service.wait_ready()
        session = login(service)
        pid = int(run_in_kernel(service, session, "import os; print(os.getpid())", keep=True))
        expected = {
            "no-such-kernel": (404, "no-such-kernel"),
            "no-python": (500, "No such file or directory"),
            "garbage": (500, "kernel.json"),
            "huge-env": (500, "Argument list too long"),
        }
        for name, (status, reason) in expected.items():
            response = session.post(
                service.url("api/kernels"),
                json={"name": name},
                headers=xsrf_headers(session),
                timeout=60,
            )
            assert response.status_code == status, (name, response.text)
            message = response.json()["message"]
            assert f"kernel {name!r}" in message and reason in message, (name, message)
        listed = session.get(service.url("api/kernels"), timeout=30).json()
        assert len(listed) == 1, listed
        started = time.monotonic()
        service.proc.send_signal(sig)
        try:
            returncode = service.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 15 s after {sig!r}:\n{service.output()}")
        assert time.monotonic() - started < 15
        assert returncode == 0, service.output()
        assert not alive(pid), "the running kernel outlived the server"
        assert not re.search(r"Exception in callback", service.output()), service.output()
    finally:
        service.stop(signal.SIGKILL)
