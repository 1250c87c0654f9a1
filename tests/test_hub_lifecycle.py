"""A hub in Authelia mode with a short idleTimeout: `Remote-User` counts only with the proxy
secret, the idle culler stops an idle server, and a restarted hub keeps its users."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import free_port
from .hub_helpers import (
    ALICE,
    BASE_URL,
    BOB,
    Hub,
    cookie_path,
    deploy,
    hub_xsrf,
    start_hub,
    world_readable_tmp,
)

pytestmark = pytest.mark.slow

SECRET_HEADER = "X-Jupyter-Service-Proxy"
IDLE_TIMEOUT = 20


def authelia_config(port: int) -> str:
    return (
        "enable = true\n"
        f"port = {port}\n"
        f"baseUrl = {json.dumps(BASE_URL)}\n"
        'notebookDir = "~/notebooks"\n'
        "[reverseProxy]\n"
        "enable = true\n"
        'domains = ["lab.example.com"]\n'
        "[reverseProxy.authelia]\n"
        "enable = true\n"
        "[hub]\n"
        "enable = true\n"
        f'users = ["{ALICE}", "{BOB}"]\n'
        f"idleTimeout = {IDLE_TIMEOUT}\n"
    )


@pytest.fixture
def deployment(hub_accounts: None) -> Iterator[tuple[Path, Path, int]]:
    root = world_readable_tmp("jupyter-service-hub-authelia-")
    port = free_port()
    try:
        yield root, deploy(root, authelia_config(port)), port
    finally:
        shutil.rmtree(root, ignore_errors=True)


def secret_of(hub: Hub) -> str:
    return (Path(hub.env["JUPYTER_SERVICE_STATE_DIR"]) / "proxy-secret").read_text().strip()


def remote_login(hub: Hub, headers: dict[str, str]) -> tuple[requests.Session, int]:
    session = requests.Session()
    response = session.get(hub.url("hub/login"), headers=headers, allow_redirects=False, timeout=30)
    return session, response.status_code


def test_remote_user_needs_the_secret_culler_stops_idle_servers_restart_keeps_users(
    deployment: tuple[Path, Path, int],
) -> None:
    root, config, port = deployment
    hub = start_hub(root, config, port)
    try:
        secret = secret_of(hub)
        # Forged: no secret, a wrong one, two Remote-User values, a user not in hub.users.
        for headers in (
            {"Remote-User": ALICE},
            {"Remote-User": ALICE, SECRET_HEADER: "guess"},
            {"Remote-User": "carol", SECRET_HEADER: secret},
        ):
            session, status = remote_login(hub, headers)
            assert status == 403, headers
            assert session.get(hub.url("hub/api/user"), timeout=30).status_code == 403
        session, status = remote_login(hub, {"Remote-User": ALICE, SECRET_HEADER: secret})
        assert status == 302
        assert session.get(hub.url("hub/api/user"), timeout=30).json()["name"] == ALICE

        response = session.post(
            hub.url(f"hub/api/users/{ALICE}/server"),
            headers=hub_xsrf(session, cookie_path()),
            timeout=60,
        )
        assert response.status_code in (201, 202), response.text
        servers = wait_for_servers(hub, session, lambda s: bool(s.get("", {}).get("ready")))
        check_sessions_follow_remote_user(hub, session, secret)
        started = time.monotonic()
        # Nobody uses it: the culler stops it after idleTimeout.
        servers = wait_for_servers(hub, session, lambda s: "" not in s, timeout=120)
        assert time.monotonic() - started >= IDLE_TIMEOUT - 5
        assert "culled" in hub.output() or f"Culling server {ALICE}" in hub.output()
    finally:
        assert hub.stop() == 0, hub.output()[-3000:]

        # The same state dir: the database and the cookie secret survive, so does the session.
    hub = start_hub(root, config, port)
    try:
        assert session.get(hub.url("hub/api/user"), timeout=30).json()["name"] == ALICE
    finally:
        hub.stop()
    del servers


def check_sessions_follow_remote_user(hub: Hub, session: requests.Session, secret: str) -> None:
    """alice's hub and server cookies serve alice only while nginx says it is alice: in the
    same browser, another Authelia user (bob) gets nothing of hers, and the hub logs bob in
    as bob."""
    as_alice = {"Remote-User": ALICE, SECRET_HEADER: secret}
    as_bob = {"Remote-User": BOB, SECRET_HEADER: secret}
    # The same browser: alice's cookies (her own session goes on in `session`).
    browser = requests.Session()
    browser.cookies.update(session.cookies)
    # Through to alice's server (the OAuth hand-off), as nginx forwards it.
    assert (
        browser.get(hub.url(f"user/{ALICE}/lab"), headers=as_alice, timeout=60).status_code == 200
    )
    status = hub.url(f"user/{ALICE}/api/status")
    assert browser.get(status, headers=as_alice, timeout=30).status_code == 200
    # Authelia now says bob: alice's cookies get him nothing, from the hub or her server.
    time.sleep(1.1)  # the hub re-checks at most once a second per user
    response = browser.get(hub.url("hub/api/user"), headers=as_bob, timeout=30)
    assert response.status_code == 403, response.text
    response = browser.get(status, headers=as_bob, timeout=30, allow_redirects=False)
    assert response.status_code == 403, response.text
    # A hub page sends bob to the login, which makes him bob.
    response = browser.get(hub.url("hub/home"), headers=as_bob, timeout=30)
    assert response.status_code == 200
    assert browser.get(hub.url("hub/api/user"), headers=as_bob, timeout=30).json()["name"] == BOB
    # Requests without `Remote-User` (not from nginx) keep the cookie's user.
    assert browser.get(hub.url("hub/api/user"), timeout=30).json()["name"] == BOB


def wait_for_servers(
    hub: Hub,
    session: requests.Session,
    done: object,
    timeout: float = 120,
) -> dict[str, dict[str, object]]:
    assert callable(done)
    deadline = time.monotonic() + timeout
    servers: dict[str, dict[str, object]] = {}
    while time.monotonic() < deadline:
        servers = session.get(hub.url(f"hub/api/users/{ALICE}"), timeout=30).json()["servers"]
        if done(servers):
            return servers
        time.sleep(1)
    raise AssertionError(f"servers stayed {servers}:\n{hub.output()[-4000:]}")
