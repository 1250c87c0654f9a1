"""Real nginx, with the site `jupyter-service proxy-config` writes, in front of a real
`jupyter-service up` in Authelia mode (SECURITY.md 2, 8, 9, 10).

Authelia itself cannot be installed here, so a small server in this file keeps our side of
its forward-auth contract (4.38+, `/api/authz/auth-request`): a session cookie
`authelia_session=<user>` stands for a logged-in user; no session gets a 401 with the
portal's `Location` (`rd=` the original URL); a user the rules deny gets a 403.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import websocket

from jupyter_service.proxy.install import find_nginx
from jupyter_service.proxy.nginx import render_nginx_main

from .helpers import BASE_URL, Service, execute_over_websocket, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_nginx() is None, reason="nginx is not installed (scripts/test.sh installs it)"
    ),
]

DOMAIN = "jupyter.example.com"
OWNER = "bob"
PORTAL = "https://auth.example.com/"
DENIED = "mallory"  # Authelia's rules deny this one
NOT_ALLOWED = "carol"  # Authelia lets this one in; Jupyter allows only the owner


# -- Authelia's side of the contract -----------------------------------------------------------


@dataclass
class Authz:
    port: int
    seen: list[dict[str, str]] = field(default_factory=list)


def start_authz() -> tuple[ThreadingHTTPServer, Authz]:
    authz = Authz(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/api/authz/auth-request":
                self.send_response(404)
                self.end_headers()
                return
            authz.seen.append({k.lower(): v for k, v in self.headers.items()})
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            session = cookie.get("authelia_session")
            user = session.value if session else ""
            if not user:
                target = self.headers.get("X-Original-URL", "")
                self.send_response(401)
                self.send_header("Location", f"{PORTAL}?rd={quote(target, safe='')}")
            elif user == DENIED:
                self.send_response(403)
            else:
                self.send_response(200)
                self.send_header("Remote-User", user)
                self.send_header("Remote-Groups", "dev")
                self.send_header("Remote-Name", user.title())
                self.send_header("Remote-Email", f"{user}@example.com")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    authz.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, authz


# -- the stack: authz, Jupyter, nginx ----------------------------------------------------------


@dataclass
class Stack:
    service: Service
    authz: Authz
    nginx_port: int
    site: Path

    @property
    def host(self) -> str:
        return f"{DOMAIN}:{self.nginx_port}"

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.nginx_port}{BASE_URL}{path}"

    def ws_url(self, path: str) -> str:
        return self.url(path).replace("http://", "ws://", 1)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nginx not listening after 20s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("nginx-authelia")
    authz_server, authz = start_authz()
    jupyter_port, nginx_port = free_port(), free_port()
    config = root / "config.toml"
    config.write_text(
        "enable = true\n"
        f"port = {jupyter_port}\n"
        f'user = "{OWNER}"\n'
        f'baseUrl = "{BASE_URL}"\n'
        f'notebookDir = "{root / "notebooks"}"\n'
        "[reverseProxy]\n"
        "enable = true\n"
        f'domains = ["{DOMAIN}"]\n'
        f"listen = {nginx_port}\n"
        "authelia.enable = true\n"
        f'authelia.url = "http://127.0.0.1:{authz.port}"\n'
    )
    service = Service(root, config, jupyter_port)
    nginx_proc = None
    try:
        service.wait_ready()
        (root / "notebooks" / "x.txt").write_text("the file x\n")
        # The site as an admin writes it: the real command, which runs `nginx -t` first.
        site = root / "site.conf"
        written = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter_service",
                "proxy-config",
                "--config",
                str(config),
                "--write",
                str(site),
            ],
            env=service.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert written.returncode == 0, written.stderr
        assert written.stdout == f"wrote {site} (nginx -t: ok); reload nginx: nginx -s reload\n"
        prefix = root / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_main(site, prefix, run_as_root=os.geteuid() == 0))
        log = prefix / "error.log"
        nginx = find_nginx()
        assert nginx
        nginx_proc = subprocess.Popen(
            [nginx, "-p", str(prefix), "-e", str(log), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(nginx_port, nginx_proc, log)
        yield Stack(service, authz, nginx_port, site)
    finally:
        if nginx_proc is not None:
            nginx_proc.terminate()
            nginx_proc.wait(timeout=30)
        authz_server.shutdown()
        assert service.stop() == 0, service.output()


def get(stack: Stack, path: str, user: str | None = None, **headers: str) -> requests.Response:
    cookies = {"authelia_session": user} if user else {}
    return requests.get(
        stack.url(path),
        headers={"Host": stack.host, **headers},
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
    )


def portal_for(stack: Stack, path: str) -> str:
    return f"{PORTAL}?rd={quote(f'http://{stack.host}{BASE_URL}{path}', safe='')}"


def ws_head(
    stack: Stack, path: str, user: str | None = None, origin: str = "", forged: str = ""
) -> str:
    """The response head of a websocket handshake through nginx, read off the wire (a
    client library would follow the portal redirect)."""
    lines = [
        f"GET {BASE_URL}{path} HTTP/1.1",
        f"Host: {stack.host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    if user:
        lines.append(f"Cookie: authelia_session={user}")
    if forged:
        lines.append(f"Remote-User: {forged}")
    with socket.create_connection(("127.0.0.1", stack.nginx_port), timeout=30) as sock:
        sock.sendall("\r\n".join([*lines, "", ""]).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.decode("latin-1")


def ws_status(
    stack: Stack, path: str, user: str | None = None, origin: str = "", forged: str = ""
) -> int:
    """The handshake's status: 101 when it upgraded."""
    return int(ws_head(stack, path, user, origin, forged).split()[1])


@pytest.fixture(scope="module")
def kernel_id(stack: Stack) -> Iterator[str]:
    """A kernel started through nginx, as the owner (the XSRF cookie from the lab page)."""
    session = requests.Session()
    session.headers["Host"] = stack.host
    session.cookies.set("authelia_session", OWNER)
    assert session.get(stack.url("lab"), timeout=30).status_code == 200
    xsrf = {"X-XSRFToken": session.cookies["_xsrf"]}
    response = session.post(stack.url("api/kernels"), json={}, headers=xsrf, timeout=60)
    assert response.status_code == 201, response.text
    yield response.json()["id"]
    session.delete(stack.url(f"api/kernels/{response.json()['id']}"), headers=xsrf, timeout=30)


# -- SECURITY.md 2 and 8: no session, the portal; a client's Remote-User never passes ----------

PATHS = ["lab", "api/contents", "api/me", "files/x.txt", "api/kernels", "api/terminals"]


@pytest.mark.parametrize("path", PATHS)
def test_no_session_goes_to_the_portal(stack: Stack, path: str) -> None:
    response = get(stack, path)
    assert response.status_code == 302
    assert response.headers["Location"] == portal_for(stack, path)
    # Forging the identity changes nothing.
    response = get(stack, path, **{"Remote-User": OWNER})
    assert response.status_code == 302
    assert response.headers["Location"] == portal_for(stack, path)


def test_authz_gets_the_original_method_and_url(stack: Stack) -> None:
    stack.authz.seen.clear()
    forged = {"X-Forwarded-Host": "evil.example", "X-Original-URL": "https://evil.example/"}
    requests.head(stack.url("lab?x=1"), headers={"Host": stack.host, **forged}, timeout=30)
    (seen,) = stack.authz.seen
    assert seen["x-original-method"] == "HEAD"
    assert seen["x-original-url"] == f"http://{stack.host}{BASE_URL}lab?x=1"
    assert seen["x-forwarded-host"] == stack.host
    assert seen["x-forwarded-uri"] == f"{BASE_URL}lab?x=1"
    assert "x-jupyter-service-proxy" not in seen  # the secret goes to Jupyter only


@pytest.mark.parametrize("path", PATHS)
def test_session_reaches_jupyter(stack: Stack, path: str) -> None:
    # A browser sends the lab page as Referer (Jupyter's /files/ asks for a same-site one).
    # The client's own Remote-User must not pass: joined with bob's, Jupyter would say 403.
    headers = {"Referer": f"{stack.origin}{BASE_URL}lab", "Remote-User": "admin"}
    response = get(stack, path, OWNER, **headers)
    assert response.status_code == 200, response.text
    if path == "files/x.txt":
        assert response.text == "the file x\n"


def test_upstream_sees_the_authelia_user_not_the_clients(stack: Stack) -> None:
    response = get(stack, "api/me", OWNER, **{"Remote-User": "admin", "Remote-Name": "Admin"})
    assert response.status_code == 200
    identity = response.json()["identity"]
    assert (identity["username"], identity["name"]) == (OWNER, "Bob")


def test_client_remote_user_cannot_replace_authelias(stack: Stack) -> None:
    # carol has an Authelia session; the client claims to be the owner: Jupyter sees carol.
    assert get(stack, "api/me", NOT_ALLOWED, **{"Remote-User": OWNER}).status_code == 403


def test_denied_user_gets_403(stack: Stack) -> None:
    response = get(stack, "lab", DENIED)
    assert response.status_code == 403
    assert "Location" not in response.headers


def test_outside_base_url_is_404(stack: Stack) -> None:
    response = requests.get(
        f"http://127.0.0.1:{stack.nginx_port}/etc/passwd", headers={"Host": stack.host}, timeout=30
    )
    assert response.status_code == 404
    internal = requests.get(
        f"http://127.0.0.1:{stack.nginx_port}/.jupyter-service/authelia",
        headers={"Host": stack.host},
        timeout=30,
    )
    assert internal.status_code == 404


# -- SECURITY.md 8, 9, 10: websockets ----------------------------------------------------------


def ws_paths(kernel_id: str) -> list[str]:
    session = uuid.uuid4().hex
    return [
        f"api/kernels/{kernel_id}/channels?session_id={session}",
        "api/events/subscribe",
    ]


def test_websockets_without_session_never_upgrade(stack: Stack, kernel_id: str) -> None:
    for path in [*ws_paths(kernel_id), "terminals/websocket/1"]:
        for forged in ("", OWNER):
            head = ws_head(stack, path, origin=stack.origin, forged=forged)
            assert head.startswith("HTTP/1.1 302 "), head
            assert f"\r\nLocation: {portal_for(stack, path)}\r\n" in head
        assert ws_status(stack, path, DENIED, origin=stack.origin) == 403, path


def test_websockets_upgrade_for_the_owner_from_our_origin(stack: Stack, kernel_id: str) -> None:
    for path in ws_paths(kernel_id):
        assert ws_status(stack, path, OWNER, origin=stack.origin) == 101, path
        assert ws_status(stack, path, OWNER, origin=stack.origin, forged="admin") == 101, path
        assert ws_status(stack, path, OWNER, origin="https://evil.example") == 403, path
        # Authelia says carol; the client says the owner: Jupyter refuses carol.
        assert ws_status(stack, path, NOT_ALLOWED, origin=stack.origin, forged=OWNER) == 403


def test_terminal_websocket_through_nginx(stack: Stack) -> None:
    session = requests.Session()
    session.headers["Host"] = stack.host
    session.cookies.set("authelia_session", OWNER)
    assert session.get(stack.url("lab"), timeout=30).status_code == 200
    xsrf = {"X-XSRFToken": session.cookies["_xsrf"]}
    response = session.post(stack.url("api/terminals"), headers=xsrf, timeout=30)
    assert response.status_code == 200, response.text
    name = response.json()["name"]
    try:
        path = f"terminals/websocket/{name}"
        assert ws_status(stack, path, OWNER, origin="https://evil.example") == 403
        ws = websocket.create_connection(
            stack.ws_url(path),
            host=stack.host,
            origin=stack.origin,
            cookie=f"authelia_session={OWNER}",
            timeout=30,
        )
        try:
            ws.send(json.dumps(["stdin", "echo through-$((6*7))\r"]))
            seen = ""
            while "through-42" not in seen:
                kind, *rest = json.loads(ws.recv())
                if kind == "stdout":
                    seen += rest[0]
        finally:
            ws.close()
    finally:
        session.delete(stack.url(f"api/terminals/{name}"), headers=xsrf, timeout=30)


def test_kernel_executes_over_the_proxied_websocket(stack: Stack, kernel_id: str) -> None:
    ws = websocket.create_connection(
        stack.ws_url(f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"),
        host=stack.host,
        origin=stack.origin,
        cookie=f"authelia_session={OWNER}",
        timeout=60,
    )
    try:
        out = execute_over_websocket(ws, "print(6 * 7)", username=OWNER)
    finally:
        ws.close()
    assert out == "42\n"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "evil.example"])
def test_other_hosts_are_dropped_by_the_site(stack: Stack, host: str) -> None:
    # SECURITY.md 34: nginx answers nothing (444) for a Host that is not one of the domains.
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"http://127.0.0.1:{stack.nginx_port}{BASE_URL}lab",
            headers={"Host": f"{host}:{stack.nginx_port}"},
            timeout=30,
        )
