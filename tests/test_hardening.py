"""What an outside audit got through, against a real `jupyter-service up` in password mode:
large unauthenticated bodies (SECURITY.md 31), login floods (32), logout (33) and clean
errors for bad input (36)."""

from __future__ import annotations

import re
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import BASE_URL, PASSWORD, Service, free_port, login, xsrf_headers
from .test_server import write_config

pytestmark = pytest.mark.slow

# What the server waits for a request's headers (jupyter_service.server.http).
HEADER_TIMEOUT = 30


def start(root: Path) -> Service:
    port = free_port()
    service = Service(root, write_config(root, port), port)
    service.wait_ready()
    return service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start(tmp_path_factory.mktemp("hardening"))
    yield svc
    assert svc.stop() == 0, svc.output()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def send_large_body(service: Service, path: str, size: int, headers: str = "") -> int | None:
    """POST `size` bytes without credentials, as fast as the server takes them; the status
    it answered (None: it closed the connection without one)."""
    head = (
        f"POST {BASE_URL}{path} HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n{headers}\r\n"
    )
    chunk = b"x" * (1 << 20)
    with socket.create_connection(("127.0.0.1", service.port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass  # the server stopped reading and closed: what we want
        try:
            answer = sock.recv(4096)
        except OSError:
            return None
    match = re.match(rb"HTTP/1\.1 (\d+)", answer)
    return int(match.group(1)) if match else None


# -- SECURITY.md 31: no body before authentication -----------------------------------------------


def test_unauthenticated_large_bodies_are_refused_unread(service: Service) -> None:
    session = login(service)
    for _ in range(3):
        session.get(service.url("api/contents"), timeout=10)
    before = rss_mib(service.proc.pid)
    size = 48 << 20
    statuses: list[int | None] = []
    threads = [
        threading.Thread(
            target=lambda path=path: statuses.append(send_large_body(service, path, size))
        )
        for path in ("api/contents/big.bin", "login", "api/kernels", "files/x")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    grown = rss_mib(service.proc.pid) - before
    assert grown < 40, f"the server grew by {grown:.0f} MiB reading unauthenticated bodies"
    assert all(status in (400, 403, 413, None) for status in statuses), statuses
    # A logged-in client still uploads what jupyter_server allows.
    body = {"type": "file", "format": "base64", "content": "QUJD" * (1 << 19)}
    response = session.put(
        service.url("api/contents/upload.bin"), json=body, headers=xsrf_headers(session), timeout=60
    )
    assert response.status_code == 201, response.text
    assert (service.root / "notebooks" / "upload.bin").stat().st_size == 3 << 19


def test_half_sent_headers_are_dropped(service: Service) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=HEADER_TIMEOUT + 20) as sock:
        sock.sendall(f"GET {BASE_URL}api/status HTTP/1.1\r\nHost: 127".encode())
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed by the server, nothing answered
    assert HEADER_TIMEOUT - 1 <= time.monotonic() - started <= HEADER_TIMEOUT + 20


# -- SECURITY.md 33: logout ends the session on the server --------------------------------------


def test_logout_ends_the_session_on_the_server(service: Service) -> None:
    session = login(service)
    copied = requests.Session()
    copied.cookies.update(session.cookies)
    assert copied.get(service.url("api/contents"), timeout=10).status_code == 200
    assert session.get(service.url("logout"), timeout=10).status_code == 200
    replayed = copied.get(service.url("api/contents"), timeout=10)
    assert replayed.status_code == 403
    # Other sessions are not affected.
    assert login(service).get(service.url("api/contents"), timeout=10).status_code == 200


# -- SECURITY.md 36: clean errors, one log line --------------------------------------------------


def log_since(service: Service, mark: int) -> str:
    return service.output()[mark:]


@pytest.mark.parametrize(
    "next_url", [f"{BASE_URL}lab\r\nSet-Cookie: a=b", f"{BASE_URL}lab\nx", f"{BASE_URL}lab\tx"]
)
def test_control_characters_in_next_are_a_400(service: Service, next_url: str) -> None:
    session = login(service)
    mark = len(service.output())
    logged_in = session.get(
        service.url("login"), params={"next": next_url}, allow_redirects=False, timeout=10
    )
    assert logged_in.status_code == 400
    fresh = requests.Session()
    fresh.get(service.url("login"), timeout=10)
    posted = fresh.post(
        service.url("login"),
        params={"next": next_url},
        data={"password": PASSWORD, "_xsrf": fresh.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    assert posted.status_code == 400
    assert "Set-Cookie: a=b" not in posted.headers.get("Location", "")
    time.sleep(0.5)
    assert "Traceback" not in log_since(service, mark)


@pytest.mark.parametrize("path", ["files/a%00b", "files/d%00/x.txt", "api/contents/a%00b"])
def test_nul_in_a_contents_path_is_a_400(service: Service, path: str) -> None:
    session = login(service)
    mark = len(service.output())
    response = session.get(service.url(path), timeout=10)
    assert response.status_code == 400, response.text
    time.sleep(0.5)
    assert "Traceback" not in log_since(service, mark)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "api/sessions",
            {"path": "a\x00b.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        ),
        (
            "POST",
            "api/sessions",
            {"path": "a.ipynb", "type": "notebook", "kernel": {"name": "python3", "path": "d\x00"}},
        ),
        ("POST", "api/contents", {"copy_from": "a\x00b.txt"}),
        ("PATCH", "api/contents/here.txt", {"path": "there\x00.txt"}),
        ("POST", "api/terminals", {"cwd": "x\x00y"}),
    ],
)
def test_nul_in_a_json_path_is_a_400(
    service: Service, method: str, path: str, body: dict[str, object]
) -> None:
    session = login(service)
    notebooks = service.root / "notebooks"
    (notebooks / "here.txt").write_text("kept")
    before = sorted(p.name for p in notebooks.iterdir())
    mark = len(service.output())
    response = session.request(
        method, service.url(path), json=body, headers=xsrf_headers(session), timeout=30
    )
    assert response.status_code == 400, response.text
    time.sleep(0.5)
    log = log_since(service, mark)
    assert "Traceback" not in log
    said = [line for line in log.splitlines() if "NUL" in line]
    assert len(said) == 1 and f"400 {method} " in said[0], log
    assert sorted(p.name for p in notebooks.iterdir()) == before
    assert session.get(service.url("api/sessions"), timeout=10).json() == []


# -- SECURITY.md 32: login floods ------------------------------------------------------------------


def test_login_flood_is_throttled_logged_and_others_stay_fast(tmp_path: Path) -> None:
    from jupyter_server.auth.security import passwd_check

    from .helpers import hash_password

    hashed = hash_password("x")
    started = time.perf_counter()
    passwd_check(hashed, "y")
    one_check = time.perf_counter() - started

    service = start(tmp_path)
    try:
        user = login(service)

        def latencies(count: int) -> list[float]:
            found = []
            for _ in range(count):
                begin = time.perf_counter()
                assert user.get(service.url("api/contents"), timeout=30).status_code == 200
                found.append(time.perf_counter() - begin)
                time.sleep(0.02)
            return found

        baseline = statistics.median(latencies(25))
        statuses: list[int] = []
        retry_after: list[int] = []
        stop = threading.Event()

        def flood() -> None:
            attacker = requests.Session()
            attacker.get(service.url("login"), timeout=30)
            xsrf = attacker.cookies.get("_xsrf", "")
            while not stop.is_set():
                response = attacker.post(
                    service.url("login"),
                    data={"password": "wrong guess", "_xsrf": xsrf},
                    allow_redirects=False,
                    timeout=60,
                )
                statuses.append(response.status_code)
                if response.status_code == 429:
                    retry_after.append(int(response.headers["Retry-After"]))

        flooders = [threading.Thread(target=flood) for _ in range(4)]
        for thread in flooders:
            thread.start()
        try:
            time.sleep(0.5)
            during = statistics.median(latencies(25))
        finally:
            stop.set()
            for thread in flooders:
                thread.join(timeout=120)
        assert during < 3 * baseline + one_check / 2, (
            f"median {during * 1000:.0f} ms during the flood, {baseline * 1000:.0f} ms before; "
            f"one password check takes {one_check * 1000:.0f} ms"
        )
        # Five checked, then one more after each wait (1 s, 2 s, 4 s, ...); the rest were
        # answered at once.
        assert statuses.count(401) <= 10, statuses
        assert statuses.count(429) >= 10, statuses
        # (That a throttled address waits whatever the password is, is checked without a
        # race against the waits' expiry in test_login_guard.py.)
        assert retry_after and min(retry_after) >= 1, retry_after
        log = service.output()
        assert "login failed: 127.0.0.1 for account 'owner' (5 in a row" in log
        assert "login refused without a check: 127.0.0.1" in log
        # The logged-in user was never affected.
        assert user.get(service.url("api/contents"), timeout=10).status_code == 200
    finally:
        assert service.stop() == 0, service.output()
