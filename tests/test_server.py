"""A real `jupyter-service up` in a subprocess: auth always on, SECURITY.md's attacks."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from .helpers import (
    BASE_URL,
    PASSWORD,
    Service,
    hash_password,
    isolated_env,
    login,
    run_in_kernel,
    run_in_terminal,
    xsrf_headers,
)

pytestmark = pytest.mark.slow

DOMAIN = "jupyter.example.com"
TOOL = "hello-tool"


def write_config(root: Path, port: int, password: str = PASSWORD) -> Path:
    toolsrc = root / "toolsrc"
    toolsrc.mkdir(exist_ok=True)
    (toolsrc / TOOL).write_text("#!/bin/sh\necho hello from the tool\n")
    (toolsrc / TOOL).chmod(0o755)
    config = root / "config.toml"
    config.write_text(
        "enable = true\n"
        f"port = {port}\n"
        f'baseUrl = "{BASE_URL}"\n'
        f'notebookDir = "{root / "notebooks"}"\n'
        f'password = "{hash_password(password)}"\n'
        f'extraTools = ["{TOOL}"]\n'
        f'extraToolsPath = ["{toolsrc}"]\n'
        "[reverseProxy]\n"
        "enable = true\n"
        f'domains = ["{DOMAIN}"]\n'
    )
    return config


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from .helpers import free_port

    root = tmp_path_factory.mktemp("password-service")
    port = free_port()
    svc = Service(root, write_config(root, port), port)
    svc.wait_ready()
    yield svc
    assert svc.stop() == 0, svc.output()


@pytest.fixture(scope="module")
def session(service: Service) -> requests.Session:
    return login(service)


# -- SECURITY.md 1: the APIs refuse anonymous requests -----------------------------------------


@pytest.mark.parametrize("path", ["api/kernels", "api/contents", "api/sessions", "api/terminals"])
def test_api_without_credentials_is_forbidden(service: Service, path: str) -> None:
    response = requests.get(service.url(path), timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden", "reason": None}


def test_lab_redirects_to_login(service: Service) -> None:
    response = requests.get(service.url("lab"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{BASE_URL}login?next=")


def test_authenticated_status(service: Service, session: requests.Session) -> None:
    response = session.get(service.url("api/status"), timeout=10)
    assert response.status_code == 200
    assert "kernels" in response.json()


# -- SECURITY.md 17: login --------------------------------------------------------------------


def test_wrong_password_gets_401_and_no_cookie(service: Service) -> None:
    anonymous = requests.Session()
    anonymous.get(service.url("login"), timeout=10)
    response = anonymous.post(
        service.url("login"),
        data={"password": "wrong", "_xsrf": anonymous.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 401
    assert not any(c.name.startswith("username-") for c in anonymous.cookies)
    assert anonymous.get(service.url("api/kernels"), timeout=10).status_code == 403


def test_login_cookie_flags(service: Service) -> None:
    anonymous = requests.Session()
    anonymous.get(service.url("login"), timeout=10)
    response = anonymous.post(
        service.url("login"),
        data={"password": PASSWORD, "_xsrf": anonymous.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    [set_cookie] = [
        h for h in response.raw.headers.getlist("Set-Cookie") if h.startswith("username-")
    ]
    attributes = {part.strip().split("=")[0].lower(): part for part in set_cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == f"Path={BASE_URL}"
    expires = next(c for c in anonymous.cookies if c.name.startswith("username-")).expires
    assert expires is not None
    assert 0 < expires - time.time() <= 7 * 24 * 3600 + 60


# -- SECURITY.md 18: open redirects -------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil", "///evil", "https://evil", "\\\\evil", "/%2F%2Fevil"])
def test_login_next_stays_on_base_url(service: Service, target: str) -> None:
    anonymous = requests.Session()
    anonymous.get(service.url("login"), timeout=10)
    response = anonymous.post(
        service.url("login") + "?next=" + quote(target, safe=""),
        data={"password": PASSWORD, "_xsrf": anonymous.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("", ""), location
    assert parts.path.startswith(BASE_URL), location
    assert not parts.path[len(BASE_URL) :].startswith(("/", "\\")), location


# -- SECURITY.md 19: no token login when token auth is off --------------------------------------


@pytest.mark.parametrize("token", ["", "anything", "0"])
def test_token_parameter_is_refused(service: Service, token: str) -> None:
    response = requests.get(service.url(f"api/kernels?token={token}"), timeout=10)
    assert response.status_code == 403
    response = requests.get(
        service.url("api/kernels"), headers={"Authorization": f"token {token}"}, timeout=10
    )
    assert response.status_code == 403


# -- SECURITY.md 20: no password change from the web --------------------------------------------


def test_login_form_new_password_writes_nothing(service: Service) -> None:
    config_dir = Path(service.env["JUPYTER_CONFIG_DIR"])
    before = sorted(config_dir.rglob("*")) if config_dir.exists() else []
    anonymous = requests.Session()
    anonymous.get(service.url("login"), timeout=10)
    response = anonymous.post(
        service.url("login"),
        data={
            "password": PASSWORD,
            "new_password": "taken over",
            "_xsrf": anonymous.cookies.get("_xsrf", ""),
        },
        allow_redirects=False,
        timeout=30,
    )
    # jupyter_server treats a login that carries new_password as a password change, which
    # is off: refused, and no jupyter_server_config.json written.
    assert response.status_code == 401
    after = sorted(config_dir.rglob("*")) if config_dir.exists() else []
    assert after == before
    login(service)  # the old password still works
    fresh = requests.Session()
    fresh.get(service.url("login"), timeout=10)
    refused = fresh.post(
        service.url("login"),
        data={"password": "taken over", "_xsrf": fresh.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    assert refused.status_code == 401


# -- SECURITY.md 12: XSRF ------------------------------------------------------------------------


def test_state_changes_without_xsrf_are_refused(
    service: Service, session: requests.Session
) -> None:
    kernels_before = session.get(service.url("api/kernels"), timeout=10).json()
    assert session.post(service.url("api/kernels"), json={}, timeout=10).status_code == 403
    assert session.get(service.url("api/kernels"), timeout=10).json() == kernels_before
    assert (
        session.put(
            service.url("api/contents/x.txt"),
            json={"type": "file", "format": "text", "content": "x"},
            timeout=10,
        ).status_code
        == 403
    )
    assert not (service.root / "notebooks" / "x.txt").exists()
    (service.root / "notebooks" / "keep.txt").write_text("keep")
    assert session.delete(service.url("api/contents/keep.txt"), timeout=10).status_code == 403
    assert (service.root / "notebooks" / "keep.txt").read_text() == "keep"
    # With the token the same request goes through: the refusal was the XSRF check.
    ok = session.put(
        service.url("api/contents/x.txt"),
        json={"type": "file", "format": "text", "content": "x"},
        headers=xsrf_headers(session),
        timeout=10,
    )
    assert ok.status_code == 201
    assert (service.root / "notebooks" / "x.txt").read_text() == "x"


# -- SECURITY.md 14: DNS rebinding ----------------------------------------------------------------


def test_foreign_host_header_is_refused(service: Service) -> None:
    evil = requests.get(service.url("login"), headers={"Host": "evil.example"}, timeout=10)
    assert evil.status_code == 403
    ours = requests.get(service.url("login"), headers={"Host": DOMAIN}, timeout=10)
    assert ours.status_code == 200


# -- extraTools and jupyter-venv-kernel: on Jupyter's PATH, and only there ------------------------


def test_extra_tools_visible_from_kernel(service: Service, session: requests.Session) -> None:
    output = run_in_kernel(service, session, f"!which {TOOL} jupyter-venv-kernel && {TOOL}")
    state = service.env["JUPYTER_SERVICE_STATE_DIR"]
    paths = output.split()
    assert re.fullmatch(rf"{re.escape(state)}/tools/[0-9a-f]{{16}}/{TOOL}", paths[0]), output
    assert paths[1] == str(Path(paths[0]).parent / "jupyter-venv-kernel"), output
    assert "hello from the tool" in output


def test_extra_tools_visible_from_terminal(service: Service, session: requests.Session) -> None:
    # JupyterLab terminals are login-like shells; Debian's /etc/profile resets PATH.
    output = run_in_terminal(service, session, f"{TOOL} && which jupyter-venv-kernel")
    assert "hello from the tool" in output
    state = re.escape(service.env["JUPYTER_SERVICE_STATE_DIR"])
    assert re.search(rf"^{state}/tools/[0-9a-f]{{16}}/jupyter-venv-kernel\r?$", output, re.M), (
        output
    )


def test_terminal_opens_in_notebook_dir(service: Service, session: requests.Session) -> None:
    output = run_in_terminal(service, session, 'echo "cwd=$(pwd)"')
    assert f"cwd={service.root / 'notebooks'}" in output


def test_no_news_prompt_no_update_check(service: Service, session: requests.Session) -> None:
    plugin = "@jupyterlab/apputils-extension:notification"
    response = session.get(service.url(f"lab/api/settings/{plugin}"), timeout=10)
    assert response.status_code == 200
    # Overrides become the schema's defaults, which the front end uses when no user set them.
    properties = response.json()["schema"]["properties"]
    assert properties["fetchNews"]["default"] == "false"
    assert properties["checkForUpdates"]["default"] is False


def test_extra_tools_absent_outside_jupyter(service: Service) -> None:
    env = isolated_env(service.root / "outside")
    for shell in (["sh", "-c"], ["bash", "-lc"]):
        proc = subprocess.run([*shell, f"command -v {TOOL}"], env=env, capture_output=True)
        assert proc.returncode != 0
        assert proc.stdout == b""


# -- SECURITY.md 26: changing the password invalidates old cookies --------------------------------


def test_password_change_invalidates_old_cookie(tmp_path: Path) -> None:
    from .helpers import free_port

    port = free_port()
    config = write_config(tmp_path, port, password="first password")
    first = Service(tmp_path, config, port)
    first.wait_ready()
    old = login(first, "first password")
    assert old.get(first.url("api/kernels"), timeout=10).status_code == 200
    assert first.stop() == 0
    write_config(tmp_path, port, password="second password")
    second = Service(tmp_path, config, port)
    try:
        second.wait_ready()
        assert old.get(second.url("api/kernels"), timeout=10).status_code == 403
        assert (
            login(second, "second password").get(second.url("api/kernels"), timeout=10).status_code
            == 200
        )
    finally:
        assert second.stop() == 0


# -- SECURITY.md 23: kernel names through the API ----------------------------------------------


@pytest.mark.parametrize("name", ["../x", "..", "../../etc", "python3/../../x"])
def test_kernel_name_traversal_spawns_nothing(
    service: Service, session: requests.Session, name: str
) -> None:
    before = session.get(service.url("api/kernels"), timeout=10).json()
    response = session.post(
        service.url("api/kernels"), json={"name": name}, headers=xsrf_headers(session), timeout=30
    )
    # jupyter_server answers an unknown kernelspec with a bare 500: an error, nothing started.
    assert response.status_code >= 400, response.text
    assert "traceback" not in response.text or '"traceback": ""' in response.text
    assert session.get(service.url("api/kernels"), timeout=10).json() == before


# -- SECURITY.md 22: contents traversal ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "api/contents/%2e%2e/notebooks-secret/secret.txt",
        "api/contents/..%2Fnotebooks-secret%2Fsecret.txt",
        "files/%2e%2e/notebooks-secret/secret.txt",
        "files/..%2Fnotebooks-secret%2Fsecret.txt",
        "api/contents/%2e%2e%2fnotebooks-secret",
    ],
)
def test_contents_traversal(service: Service, session: requests.Session, path: str) -> None:
    import http.client

    sibling = service.root / "notebooks-secret"  # shares the root's prefix
    sibling.mkdir(exist_ok=True)
    (sibling / "secret.txt").write_text("TOP-SECRET-CONTENT")
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    conn.putrequest("GET", f"{BASE_URL}{path}", skip_accept_encoding=True)
    conn.putheader("Cookie", cookies)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    assert response.status in (400, 403, 404), (response.status, body[:200])
    assert b"TOP-SECRET-CONTENT" not in body
    for method in ("PUT", "DELETE"):
        conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        conn.putrequest(method, f"{BASE_URL}{path}", skip_accept_encoding=True)
        conn.putheader("Cookie", cookies)
        conn.putheader("X-XSRFToken", session.cookies.get("_xsrf", ""))
        payload = b'{"type": "file", "format": "text", "content": "pwned"}'
        conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)
        assert conn.getresponse().status in (400, 403, 404, 405)
    assert (sibling / "secret.txt").read_text() == "TOP-SECRET-CONTENT"
    assert sorted(p.name for p in sibling.iterdir()) == ["secret.txt"]


# -- SECURITY.md 9, 10, 11: websockets and terminals ---------------------------------------------


def test_websockets_need_auth_and_our_origin(service: Service, session: requests.Session) -> None:
    import websocket

    assert requests.post(service.url("api/terminals"), timeout=10).status_code == 403
    response = session.post(
        service.url("api/kernels"),
        json={"name": "python3"},
        headers=xsrf_headers(session),
        timeout=60,
    )
    assert response.status_code == 201
    kernel = response.json()["id"]
    terminal = session.post(
        service.url("api/terminals"), headers=xsrf_headers(session), timeout=30
    ).json()["name"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    base = f"ws://127.0.0.1:{service.port}{BASE_URL}"
    ours = f"http://127.0.0.1:{service.port}"
    try:
        for path in (f"api/kernels/{kernel}/channels", f"terminals/websocket/{terminal}"):
            for kwargs in ({}, {"cookie": cookie, "origin": "https://evil.example"}):
                with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                    websocket.create_connection(base + path, timeout=30, **kwargs)
                assert refused.value.status_code == 403, (path, kwargs)
            ws = websocket.create_connection(base + path, cookie=cookie, origin=ours, timeout=30)
            assert ws.getstatus() == 101
            ws.close()
        # The language-server websocket, which jupyter_server's start-up check cannot see
        # is authenticated (the log says it is: see the next test).
        for kwargs in ({}, {"origin": ours}):
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                websocket.create_connection(base + "lsp/ws/pylsp", timeout=30, **kwargs)
            assert refused.value.status_code == 403
    finally:
        session.delete(
            service.url(f"api/kernels/{kernel}"), headers=xsrf_headers(session), timeout=30
        )
        session.delete(
            service.url(f"api/terminals/{terminal}"), headers=xsrf_headers(session), timeout=30
        )


def test_startup_log_tells_the_truth(service: Service, session: requests.Session) -> None:
    """No confirmation Ctrl-C does not ask for; no auth warning about websockets that are
    authenticated (the test above opens them without a login), none about kernels' TCP on
    loopback: one true line each instead. A kernel's own stderr still reaches the log."""
    run_in_kernel(service, session, "1+1")
    run_in_kernel(service, session, "import sys; print('to-the-log', file=sys.__stderr__)")
    log = service.output()
    assert "twice to skip confirmation" not in log
    assert "JupyterServerAuthWarning" not in log
    # Kernels listen on loopback with signed messages: one line says so, none warns per kernel.
    assert "running over TCP without encryption" not in log
    assert log.count("kernels: ZMQ on 127.0.0.1 only, every message signed") == 1
    assert "to-the-log" in log
    assert (
        "Ctrl-C or SIGTERM stops the server and shuts its kernels down, without confirmation."
        in log
    )
    for pattern in (
        r"terminal websocket \S*/terminals/websocket/\S*: authenticated \(",
        r"language-server websocket \S*/lsp/ws/\S*: authenticated \(",
    ):
        assert len(re.findall(pattern, log)) == 1, log
    # The banner: what is served, from where, how one gets in.
    banner = [
        line.split("] jupyter-service ", 1)[1]
        for line in log.splitlines()
        if "] jupyter-service " in line
    ]
    assert banner == [
        f"config: {service.root / 'config.toml'}",
        f"state dir: {service.root / 'state'}",
        "generation: none (no stable kernels are served)",
        "auth: password (argon2 hash from the config)",
        f"public URL: http://{DOMAIN}{BASE_URL}",
        f"serving at: http://127.0.0.1:{service.port}{BASE_URL}lab",
    ], log
