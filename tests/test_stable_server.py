"""A real `jupyter-service up` with a stable kernel: it locks and builds on first start, and
the running server follows `switch` and `rollback` without a restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from .helpers import (
    BASE_URL,
    PASSWORD,
    Service,
    cookie_header,
    execute_over_websocket,
    free_port,
    hash_password,
    login,
    pids_using,
    process_alive,
    run_in_kernel,
    service_cmd,
    ws_url,
    xsrf_headers,
)
from .stable_fixtures import CONFIG_B, cli, render_config

pytestmark = pytest.mark.slow


def admin_config(
    directory: Path, packages: list[str], port: int, root: Path, extra: str = ""
) -> Path:
    head = (
        "enable = true\n"
        f"port = {port}\n"
        f"baseUrl = {json.dumps(BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(root / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
    )
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.write_text(render_config(packages, head=head, extra=extra))
    return config


def stable_spec(service: Service, session: requests.Session) -> dict[str, object]:
    response = session.get(service.url("api/kernelspecs"), timeout=30)
    assert response.status_code == 200
    # The stable kernel is the default; the service's own environment is no kernel.
    assert response.json()["default"] == "small"
    assert "python3" not in response.json()["kernelspecs"]
    spec = response.json()["kernelspecs"]["small"]["spec"]
    assert isinstance(spec, dict)
    return spec


def admin(service: Service, *args: str) -> str:
    """A command an admin runs beside the running service (same state dir)."""
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service", *args],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_up_locks_builds_and_the_running_server_follows_switch_and_rollback(
    tmp_path: Path, locked: dict[str, Path]
) -> None:
    root = tmp_path / "svc"
    port = free_port()
    config = admin_config(root / "admin", ["iniconfig"], port, root)
    service = Service(root, config, port)
    try:
        service.wait_ready(timeout=240)
        started = service.output()
        assert "locking small (Python 3." in started and "switched to generation 1" in started
        assert (root / "admin" / "config.lock" / "small" / "uv.lock").is_file()
        session = login(service)
        spec = stable_spec(service, session)
        assert spec["display_name"] == "Python (small)"
        assert spec["metadata"]["jupyter_service"]["tier"] == "stable"  # type: ignore[index]
        assert spec["metadata"]["jupyter_service"]["generation"] == 1  # type: ignore[index]
        code = "import iniconfig, sys; print(sys.prefix)"
        prefix = run_in_kernel(service, session, code, kernel_name="small").strip()
        assert prefix.startswith(str(root / "state" / "store") + "/"), prefix
        refused = run_in_kernel(service, session, "%pip install six", kernel_name="small")
        assert "managed by the jupyter-service config" in refused, refused

        # The admin pulls a new config and its lock, and switches; no restart.
        shutil.rmtree(root / "admin" / "config.lock")
        shutil.copytree(locked["b"] / "config.lock", root / "admin" / "config.lock")
        admin_config(root / "admin", ["iniconfig", "six"], port, root)
        assert admin(service, "switch", "--config", str(config)) == (
            "switched to generation 2: small\n"
        )
        assert stable_spec(service, session)["metadata"]["jupyter_service"]["generation"] == 2  # type: ignore[index]
        code = "import six; print(six.__name__)"
        assert run_in_kernel(service, session, code, kernel_name="small").strip() == "six"

        assert admin(service, "rollback") == "rolled back to generation 1: small\n"
        assert stable_spec(service, session)["metadata"]["jupyter_service"]["generation"] == 1  # type: ignore[index]
        assert "ModuleNotFoundError" in run_in_kernel(
            service, session, "import six", kernel_name="small"
        )
    finally:
        assert service.stop() == 0, service.output()


def test_up_stops_on_a_lock_that_no_longer_matches_the_config(
    locked: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "admin"
    shutil.copytree(locked["a"], directory)
    config = directory / "config.toml"
    # A free port: the lock is what must stop `up`, whatever else listens on 8888 here.
    config.write_text(f"port = {free_port()}\n" + CONFIG_B)
    code, out, err = cli(capsys, "up", "--config", str(config))
    assert (code, out) == (1, "")
    assert err == (
        "error: the lock of stable kernel small does not satisfy the config: "
        "the config asks for six which the lock lacks\n"
        f"hint: {service_cmd('lock', '--config', config)}\n"
    )


def open_notebook(service: Service, session: requests.Session, path: str) -> str:
    """Open a notebook as JupyterLab does (POST api/sessions); its kernel's id."""
    response = session.post(
        service.url("api/sessions"),
        json={"path": path, "name": path, "type": "notebook", "kernel": {"name": "small"}},
        headers=xsrf_headers(session),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["kernel"]["id"])


def kernel_facts(service: Service, session: requests.Session, kernel_id: str) -> list[str]:
    """pid, cwd, whether iniconfig was imported ahead, and __session__, from the kernel."""
    import uuid

    import websocket

    ws = websocket.create_connection(
        ws_url(service, f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"),
        cookie=cookie_header(session),
        timeout=60,
    )
    try:
        code = (
            "import os, sys\n"
            "print(os.getpid(), os.getcwd(), 'iniconfig' in sys.modules, __session__, sep='\\n')"
        )
        return execute_over_websocket(ws, code).splitlines()
    finally:
        ws.close()


def until(check: Callable[[], bool], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_pre_warmed_kernels_through_a_running_up(tmp_path: Path, locked: dict[str, Path]) -> None:
    """`preheat = 1` with `preload`: opening a notebook through the REST API gets the
    pre-warmed kernel (its modules imported, its cwd the notebook's dir, its session the
    notebook), a second notebook another one, the pool refills, a switch drains the old
    generation's pool, and the server takes every kernel down with it."""
    root = tmp_path / "svc"
    port = free_port()
    pool = 'preheat = 1\npreload = ["iniconfig"]\n'
    config = admin_config(root / "admin", ["iniconfig"], port, root, extra=pool)
    for folder in ("a", "b", "c"):
        (root / "notebooks" / folder).mkdir(parents=True)
    store = root / "state" / "store"
    service = Service(root, config, port)

    def pooled(count: int) -> set[int]:
        """Once the server has logged `count` pre-warmed kernels ready: the kernels running."""
        until(lambda: service.output().count(") ready") >= count, f"pre-warmed kernel {count}")
        return pids_using(store)

    def notebook(path: str) -> list[str]:
        return kernel_facts(service, session, open_notebook(service, session, path))

    try:
        service.wait_ready(timeout=240)
        session = login(service)
        [warm] = pooled(1)
        first = notebook("a/one.ipynb")
        assert first[:3] == [str(warm), str(root / "notebooks" / "a"), "True"]
        assert first[3].endswith("a/one.ipynb")

        [refill] = pooled(2) - {warm}
        assert notebook("b/two.ipynb")[:3] == [str(refill), str(root / "notebooks" / "b"), "True"]
        [old_pool] = pooled(3) - {warm, refill}

        # The admin switches to a config with six: the pooled kernel of generation 1 goes,
        # one of generation 2 takes its place; the kernels in use keep running.
        shutil.rmtree(root / "admin" / "config.lock")
        shutil.copytree(locked["b"] / "config.lock", root / "admin" / "config.lock")
        admin_config(root / "admin", ["iniconfig", "six"], port, root, extra=pool)
        assert admin(service, "switch", "--config", str(config)) == (
            "switched to generation 2: small\n"
        )
        [new_pool] = pooled(4) - {warm, refill, old_pool}
        until(lambda: not process_alive(old_pool), "the old generation's pool to drain")
        assert process_alive(warm) and process_alive(refill)
        third = notebook("c/three.ipynb")
        assert third[:3] == [str(new_pool), str(root / "notebooks" / "c"), "True"]
        code = "import six; print(six.__name__)"
        assert run_in_kernel(service, session, code, kernel_name="small").strip() == "six"
        running = pids_using(store)
    finally:
        assert service.stop() == 0, service.output()
    assert {warm, refill, new_pool} <= running
    assert [pid for pid in running if process_alive(pid)] == []
