"""Hub tests' helpers: real system accounts, a hub from `up`, and a user's way through it
(login form, spawn, the OAuth hand-off to their server, a kernel over its websocket)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import Service, execute_over_websocket, free_port, hash_password

# Marks the accounts the tests made, so a crashed run's leftovers can be told from real ones.
TEST_ACCOUNT_COMMENT = "jupyter-service hub test account"
# JupyterHub cannot serve a percent-encoded base URL (config refuses one in hub mode).
BASE_URL = "/j-hub/"
# Names of this test session's own: parallel test runs on one machine never share accounts.
_SUFFIX = uuid.uuid4().hex[:6]
ALICE = f"alice-{_SUFFIX}"
BOB = f"bob-{_SUFFIX}"
USERS = {ALICE: "alice's long password", BOB: "bob's long password"}


def _remove_account(name: str) -> None:
    subprocess.run(["userdel", "-r", name], check=False, capture_output=True)


def make_accounts(names: list[str]) -> None:
    """System accounts made here, homes 0700; a leftover of ours from a crashed run is
    replaced, anyone else's account of that name stops the tests."""
    if os.geteuid() != 0:
        pytest.skip("hub tests make system accounts: they need root")
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            pass
        else:
            if entry.pw_gecos != TEST_ACCOUNT_COMMENT:
                pytest.fail(f"account {name!r} exists and is not a test account; not touching it")
            _remove_account(name)
        subprocess.run(
            ["useradd", "-m", "-c", TEST_ACCOUNT_COMMENT, "-s", "/bin/bash", name],
            check=True,
            capture_output=True,
        )
        # Debian's useradd makes homes 0755 (readable by every other user).
        Path(pwd.getpwnam(name).pw_dir).chmod(0o700)


def remove_accounts(names: list[str]) -> None:
    for name in names:
        _remove_account(name)


def world_readable_tmp(prefix: str) -> Path:
    """A dir the users' servers can pass (pytest's tmp dirs are 0700, root's own)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def hub_head(port: int, *, extra: str = "", users: str = "") -> str:
    hashes = users or "".join(
        f"{name} = {json.dumps(hash_password(password))}\n" for name, password in USERS.items()
    )
    return (
        "enable = true\n"
        f"port = {port}\n"
        f"baseUrl = {json.dumps(BASE_URL)}\n"
        'notebookDir = "~/notebooks"\n'
        f"{extra}"
        "[hub]\n"
        "enable = true\n"
        f"admins = [{json.dumps(ALICE)}]\n"
        "[hub.users]\n" + hashes
    )


class Hub(Service):
    """`jupyter-service up` serving the hub."""

    def url(self, path: str = "", base_url: str = BASE_URL) -> str:
        return super().url(path, base_url)

    def wait_ready(self, base_url: str = BASE_URL, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"hub exited {self.proc.returncode}:\n{self.output()}")
            try:
                # The login page; Authelia mode refuses a request nginx did not vouch for.
                if requests.get(self.url("hub/login"), timeout=2).status_code in (200, 403):
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"hub not ready after {timeout}s:\n{self.output()}")


def start_hub(root: Path, config: Path, port: int) -> Hub:
    hub = Hub(root, config, port)
    try:
        hub.wait_ready()
    except BaseException:
        hub.stop()
        raise
    return hub


def deploy(root: Path, config_text: str, lock_dir: Path | None = None) -> Path:
    """The admin's dir: the config, and the lock copied from the session's locked one."""
    admin = root / "admin"
    if lock_dir is not None:
        shutil.copytree(lock_dir / "config.lock", admin / "config.lock")
    admin.mkdir(exist_ok=True)
    config = admin / "config.toml"
    config.write_text(config_text)
    return config


def hub_xsrf(session: requests.Session, path: str) -> dict[str, str]:
    """The `_xsrf` cookie set for `path` (the hub's, or one user server's own)."""
    for cookie in session.cookies:
        if cookie.name == "_xsrf" and cookie.path == path:
            return {"X-XSRFToken": cookie.value}
    return {}


def cookie_path(name: str = "") -> str:
    return f"{BASE_URL}user/{name}/" if name else f"{BASE_URL}hub/"


def login_response(hub: Service, name: str, password: str) -> tuple[requests.Session, int]:
    session = requests.Session()
    session.get(hub.url("hub/login"), timeout=10)
    response = session.post(
        hub.url("hub/login"),
        data={"username": name, "password": password, **_form_xsrf(session)},
        allow_redirects=False,
        timeout=30,
    )
    return session, response.status_code


def _form_xsrf(session: requests.Session) -> dict[str, str]:
    header = hub_xsrf(session, cookie_path())
    return {"_xsrf": header["X-XSRFToken"]} if header else {}


def hub_login(hub: Service, name: str) -> requests.Session:
    session, status = login_response(hub, name, USERS[name])
    assert status == 302, f"login of {name}: {status}"
    return session


def start_server(hub: Service, session: requests.Session, name: str) -> None:
    """Spawn `name`'s server through the hub's API, then pass the OAuth hand-off to it."""
    response = session.post(
        hub.url(f"hub/api/users/{name}/server"),
        headers=hub_xsrf(session, cookie_path()),
        timeout=60,
    )
    assert response.status_code in (201, 202), response.text
    wait_server(hub, session, name, ready=True)
    # The browser's way in: sets that server's own cookies (its `_xsrf` among them).
    response = session.get(hub.url(f"user/{name}/lab"), timeout=60)
    assert response.status_code == 200, response.text[-2000:]


def wait_server(
    hub: Service, session: requests.Session, name: str, *, ready: bool, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = session.get(hub.url(f"hub/api/users/{name}"), timeout=30).json()
        server = model.get("servers", {}).get("")
        if bool(server and server.get("ready")) == ready:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{name}'s server not {'ready' if ready else 'gone'} after {timeout}s: {model}\n"
        + "\n".join(
            line
            for line in hub.output().splitlines()
            if "api/users/" not in line and "xsrf" not in line
        )[-6000:]
    )


def run_in_user_kernel(
    hub: Service, session: requests.Session, name: str, code: str, kernel_name: str = "small"
) -> str:
    """Start a kernel on `name`'s server, run `code` over the websocket, shut it down."""
    import websocket

    xsrf = hub_xsrf(session, cookie_path(name))
    response = session.post(
        hub.url(f"user/{name}/api/kernels"), json={"name": kernel_name}, headers=xsrf, timeout=60
    )
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(
        hub.url(
            f"user/{name}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        ).replace("http://", "ws://", 1),
        cookie=cookies,
        timeout=60,
    )
    try:
        return execute_over_websocket(ws, code, username=name)
    finally:
        ws.close()
        session.delete(hub.url(f"user/{name}/api/kernels/{kernel_id}"), headers=xsrf, timeout=30)


@pytest.fixture(scope="session")
def hub_accounts() -> Iterator[None]:
    """alice and bob, real accounts for the session; skipped where users' servers cannot run
    this interpreter (a venv from pyenv's Python under a 0700 /root: scripts/test.sh makes
    its venv from /usr/bin/python3 for this)."""
    import sys

    pytest.importorskip("jupyterhub")
    from jupyter_service.hub.host import find_closed_to_others

    for path in (Path(sys.executable), Path(sys.prefix)):
        closed = find_closed_to_others(path, execute=True)
        if closed is not None:
            pytest.skip(f"other users cannot run {path} ({closed} is closed to them)")
    names = list(USERS)
    make_accounts(names)
    try:
        yield
    finally:
        remove_accounts(names)


__all__ = ["free_port"]
