"""Authelia mode on Jupyter's side: `Remote-User` is trusted only with the proxy secret
(SECURITY.md 1-7, 9, 10, 12, 13, 15), against a real `jupyter-service up`."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from jupyter_service.config import parse_config
from jupyter_service.proxy.secret import SECRET_HEADER

from .helpers import BASE_URL, Service, free_port

pytestmark = pytest.mark.slow

DOMAIN = "jupyter.example.com"
OWNER = "alice"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("authelia-service")
    port = free_port()
    config = root / "config.toml"
    config.write_text(
        "enable = true\n"
        f"port = {port}\n"
        f'user = "{OWNER}"\n'
        f'baseUrl = "{BASE_URL}"\n'
        f'notebookDir = "{root / "notebooks"}"\n'
        "[reverseProxy]\n"
        "enable = true\n"
        f'domains = ["{DOMAIN}"]\n'
        "authelia.enable = true\n"
    )
    svc = Service(root, config, port)
    svc.wait_ready()
    yield svc
    assert svc.stop() == 0, svc.output()


@pytest.fixture(scope="module")
def secret(service: Service) -> str:
    path = Path(service.env["JUPYTER_SERVICE_STATE_DIR"]) / "proxy-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().strip()


def raw_request(
    service: Service,
    path: str,
    headers: list[tuple[str, str]],
    method: str = "GET",
    body: bytes = b"",
) -> tuple[int, str]:
    """Send exactly these header lines (repeats, tabs, non-ASCII included); return the
    status and the response head."""
    lines = [f"{method} {BASE_URL}{path} HTTP/1.1", f"Host: 127.0.0.1:{service.port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode("utf-8") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split()[1]), head


def proxied(secret: str, user: str = OWNER) -> list[tuple[str, str]]:
    return [(SECRET_HEADER, secret), ("Remote-User", user)]


def test_the_proxy_identity_is_accepted(service: Service, secret: str) -> None:
    status, head = raw_request(service, "api/me", proxied(secret))
    assert status == 200, head
    assert "username-" not in head  # no Jupyter login cookie: an Authelia logout counts at once
    status, _ = raw_request(service, "lab", proxied(secret))
    assert status == 200


@pytest.mark.parametrize(
    "path", ["api/kernels", "api/contents", "api/sessions", "api/terminals", "lab", "files/x.txt"]
)
def test_nothing_without_the_proxy(service: Service, path: str) -> None:
    # SECURITY 1 and 2: direct to the listener is a 403, no login page to go to.
    assert raw_request(service, path, [])[0] == 403


def test_forged_headers_without_the_secret(service: Service) -> None:
    # SECURITY 3 and 4: the word of a forwarded address counts for nothing.
    forged = [
        ("Remote-User", OWNER),
        ("X-Real-Ip", "127.0.0.1"),
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-Proto", "https"),
    ]
    assert raw_request(service, "api/me", forged)[0] == 403


def test_wrong_secret_or_wrong_user(service: Service, secret: str) -> None:
    # SECURITY 5.
    assert raw_request(service, "api/me", proxied(secret[:-1] + "x"))[0] == 403
    assert raw_request(service, "api/me", proxied(""))[0] == 403
    assert raw_request(service, "api/me", proxied(secret, "bob"))[0] == 403


def test_two_remote_users(service: Service, secret: str) -> None:
    # SECURITY 6: two headers arrive joined as "alice,root".
    two = [(SECRET_HEADER, secret), ("Remote-User", OWNER), ("Remote-User", "root")]
    assert raw_request(service, "api/me", two)[0] == 403
    assert raw_request(service, "api/me", proxied(secret, f"{OWNER},root"))[0] == 403


# Whitespace around a header value is optional whitespace in HTTP (RFC 9110 5.5): the
# parser drops it before any code sees it, so `alice\t` is `alice`. Inside, it is refused.
@pytest.mark.parametrize(
    "user", ["", "ALICE", "ali\tce", "al ice", "../alice", "a" * 300, "alicé", "alice\x00"]
)
def test_malformed_remote_user(service: Service, secret: str, user: str) -> None:
    # SECURITY 7.
    assert raw_request(service, "api/me", proxied(secret, user))[0] in (400, 403)


def test_xsrf_and_origin_stay_on(service: Service, secret: str) -> None:
    # SECURITY 12 and 13: proxy requests are not token-authenticated.
    before = raw_request(service, "api/kernels", proxied(secret))
    status, _ = raw_request(
        service,
        "api/kernels",
        [*proxied(secret), ("Content-Type", "application/json")],
        method="POST",
        body=b"{}",
    )
    assert status == 403
    xsrf = "2|aaaa|bbbb|1700000000"
    status, _ = raw_request(
        service,
        "api/kernels",
        [
            *proxied(secret),
            ("Content-Type", "application/json"),
            ("Cookie", f"_xsrf={xsrf}"),
            ("X-XSRFToken", xsrf),
            ("Origin", "https://evil.example"),
        ],
        method="POST",
        body=b"{}",
    )
    assert status in (403, 404)
    assert raw_request(service, "api/kernels", proxied(secret)) == before


def test_kernel_websocket(service: Service, secret: str) -> None:
    # SECURITY 9 and 10, at the listener.
    import requests

    session = requests.Session()
    session.headers.update({SECRET_HEADER: secret, "Remote-User": OWNER})
    session.get(service.url("lab"), timeout=30)
    xsrf = session.cookies.get("_xsrf", "")
    response = session.post(
        service.url("api/kernels"),
        json={"name": "python3"},
        headers={"X-XSRFToken": xsrf},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    kernel = response.json()["id"]
    url = f"ws://127.0.0.1:{service.port}{BASE_URL}api/kernels/{kernel}/channels"
    same_origin = f"http://127.0.0.1:{service.port}"
    try:
        for headers, origin in (
            ([], same_origin),  # no proxy identity
            ([f"Remote-User: {OWNER}"], same_origin),  # forged, no secret
            ([f"{SECRET_HEADER}: {secret}", f"Remote-User: {OWNER}"], "https://evil.example"),
        ):
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                websocket.create_connection(url, header=headers, origin=origin, timeout=30)
            assert refused.value.status_code == 403
        ws = websocket.create_connection(
            url,
            header=[f"{SECRET_HEADER}: {secret}", f"Remote-User: {OWNER}"],
            origin=same_origin,
            timeout=30,
        )
        assert ws.getstatus() == 101
        ws.close()
    finally:
        session.delete(
            service.url(f"api/kernels/{kernel}"), headers={"X-XSRFToken": xsrf}, timeout=30
        )


def test_authelia_needs_loopback() -> None:
    # SECURITY 15: nginx is the way in; Jupyter never listens beyond loopback in this mode.
    _, problems = parse_config(
        'ip = "0.0.0.0"\n[reverseProxy]\nenable = true\ndomains = ["a.example"]\nauthelia.enable = true\n'
    )
    assert problems == [
        (
            "ip",
            "'0.0.0.0' is not a loopback address; with reverseProxy.authelia on, Jupyter "
            "listens on loopback only and nginx is the way in (use '127.0.0.1')",
        )
    ]


def test_the_service_adds_no_handlers() -> None:
    # SECURITY 21: every handler is jupyter_server's or JupyterLab's, behind their auth; the
    # service contributes no tornado handler, no server extension, no login route.
    import importlib
    import inspect
    import pkgutil

    from tornado.web import RequestHandler

    import jupyter_service
    from jupyter_service.config import ServiceConfig
    from jupyter_service.server.proxy_auth import ProxyIdentityProvider
    from jupyter_service.server.settings import Runtime, render_server_settings

    handlers = []
    for module in pkgutil.walk_packages(jupyter_service.__path__, "jupyter_service."):
        if module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        handlers += [
            f"{module.name}.{name}"
            for name, obj in inspect.getmembers(loaded, inspect.isclass)
            if issubclass(obj, RequestHandler) and obj.__module__ == module.name
        ]
    # The one exception is the hub's Authelia login route, which is itself the check
    # (Remote-User with the proxy secret, or a 403).
    assert handlers == [
        "jupyter_service.hub.auth.RemoteUserLoginHandler",
        "jupyter_service.server.password_auth.ServiceLoginHandler",
    ]
    assert ProxyIdentityProvider().get_handlers() == []
    config, problems = parse_config(
        'enable = true\nuser = "alice"\n[reverseProxy]\nenable = true\n'
        'domains = ["a.example"]\nauthelia.enable = true\n'
    )
    assert not problems and isinstance(config, ServiceConfig)
    settings = render_server_settings(config, Runtime("/nb", None, None, proxy_secret="s"))
    assert settings["ServerApp"]["jpserver_extensions"] == {
        "jupyterlab": True,
        "jupyter_server_terminals": True,
    }


@pytest.mark.parametrize("path", ["login", "logout", "login?next=%2Fx%0D%0Ay"])
def test_login_pages_without_the_proxy_are_a_clean_403(service: Service, path: str) -> None:
    # SECURITY 36: a 403 and one log line, no uncaught-exception traceback.
    import time

    mark = len(service.output())
    assert raw_request(service, path, [])[0] == 403
    time.sleep(0.5)
    assert "Traceback" not in service.output()[mark:], service.output()[mark:]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("Alice Liddell", "Alice Liddell"),
        ("<img src=x onerror=alert(1)>", OWNER),
        ('Alice "admin"', OWNER),
        ("x" * 101, OWNER),
    ],
)
def test_remote_name_is_validated(service: Service, secret: str, sent: str, shown: str) -> None:
    # SECURITY 34: markup in Authelia's Remote-Name never reaches JupyterLab.
    import json

    lines = [f"GET {BASE_URL}api/me HTTP/1.1", f"Host: 127.0.0.1:{service.port}"]
    lines += [f"{name}: {value}" for name, value in [*proxied(secret), ("Remote-Name", sent)]]
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall("\r\n".join([*lines, "Connection: close", "", ""]).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    identity = json.loads(data.split(b"\r\n\r\n", 1)[1])["identity"]
    assert (identity["name"], identity["display_name"]) == (shown, shown)
