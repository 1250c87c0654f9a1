"""Test helpers: a real `jupyter-service up` in a subprocess, with isolated dirs."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

BASE_URL = "/a%40b/"
PASSWORD = "correct horse battery staple"


def shell_name(program: str) -> str:
    """How a hint names our console script: bare when the shell finds this very one on the
    PATH, else by its absolute path (the tests' venv is usually not on the PATH)."""
    script = Path(os.path.abspath(sys.executable)).parent / program
    found = shutil.which(program)
    if found and os.path.samefile(found, script):
        return program
    return str(script)


def service_cmd(*words: object) -> str:
    """The `jupyter-service ...` command line a hint prints (pasteable)."""
    return shlex.join([shell_name("jupyter-service"), *map(str, words)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_stable_generation(state: Path, store_root: Path) -> None:
    """A generation with a `python-base` stable kernel (a store path with nothing built in
    it: enough to list, not to start)."""
    from jupyter_service.store.generations import write_generation
    from jupyter_service.store.manifest import ManifestEntry

    store = store_root / "abc-python-base"
    (store / "bin").mkdir(parents=True, exist_ok=True)
    entry = ManifestEntry("python", str(store), "0" * 64, "Python (base)")
    write_generation(state, {"python-base": entry}, None)


def isolated_env(root: Path) -> dict[str, str]:
    """A process environment whose HOME, Jupyter and service dirs all live under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        IPYTHONDIR=str(root / "ipython"),
        JUPYTER_SERVICE_STATE_DIR=str(root / "state"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    return env


def hash_password(password: str) -> str:
    from jupyter_server.auth.security import passwd

    return str(passwd(password, algorithm="argon2"))


class Service:
    """`jupyter-service up` running in a subprocess until `stop()`."""

    def __init__(
        self,
        root: Path,
        config: Path | None,
        port: int | None = None,
        *,
        command: str = "up",
        state: Path | None = None,
    ) -> None:
        self.root = root
        self.env = isolated_env(root)
        if state is not None:
            self.env["JUPYTER_SERVICE_STATE_DIR"] = str(state)
        # Port 0: the service chooses (the embedded default), found in its output.
        self.port = port if port is not None else (0 if config is None else free_port())
        self.log_path = root / "service.log"
        cmd = [sys.executable, "-m", "jupyter_service", command]
        if config is not None:
            cmd += ["--config", str(config)]
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def url(self, path: str = "", base_url: str = BASE_URL) -> str:
        return f"http://127.0.0.1:{self.port}{base_url}{path}"

    def wait_ready(self, base_url: str = BASE_URL, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited {self.proc.returncode}:\n{self.output()}")
            if self.port == 0:
                # The embedded default picks its port: read it from the printed URL.
                match = re.search(r"http://127\.0\.0\.1:(\d+)/", self.output())
                if not match:
                    time.sleep(0.2)
                    continue
                self.port = int(match.group(1))
            try:
                # Any HTTP answer means the server is up (unauthenticated: 403).
                requests.get(self.url("api/status", base_url), timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"service not ready after {timeout}s:\n{self.output()}")

    def token(self) -> str:
        match = re.search(r"\?token=([0-9a-f]{16,})", self.output())
        assert match, self.output()
        return match.group(1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def login(service: Service, password: str = PASSWORD) -> requests.Session:
    """A session logged in through the real login form (with its XSRF cookie)."""
    session = requests.Session()
    session.get(service.url("login"), timeout=10)
    xsrf = session.cookies.get("_xsrf", "")
    response = session.post(
        service.url("login"),
        data={"password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return session


def xsrf_headers(session: requests.Session) -> dict[str, str]:
    return {"X-XSRFToken": session.cookies.get("_xsrf", "")}


def ws_url(service: Service, path: str) -> str:
    return service.url(path).replace("http://", "ws://", 1)


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def run_in_kernel(
    service: Service,
    session: requests.Session,
    code: str,
    *,
    keep: bool = False,
    kernel_name: str = "python3",
) -> str:
    """Start a kernel through the server's REST API, run `code` over the websocket, return
    its stream output, and shut the kernel down unless `keep`."""
    import uuid

    import websocket

    response = session.post(
        service.url("api/kernels"),
        json={"name": kernel_name},
        headers=xsrf_headers(session),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    ws = websocket.create_connection(
        ws_url(service, f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"),
        cookie=cookie_header(session),
        timeout=60,
    )
    try:
        return execute_over_websocket(ws, code)
    finally:
        ws.close()
        if not keep:
            session.delete(
                service.url(f"api/kernels/{kernel_id}"), headers=xsrf_headers(session), timeout=30
            )


def execute_over_websocket(ws: Any, code: str, username: str = "test") -> str:
    """Send an execute_request on a kernel's websocket (Jupyter's JSON protocol) and return
    the streams and tracebacks it answers with, until the kernel is idle again."""
    import json
    import uuid

    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": username,
        "session": uuid.uuid4().hex,
        "date": "2026-01-01T00:00:00Z",
        "version": "5.3",
    }
    content = {
        "code": code,
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    output = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            output.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            output.append("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(output)


def run_in_terminal(service: Service, session: requests.Session, command: str) -> str:
    """Open a JupyterLab terminal, type `command`, return what it printed."""
    import json

    import websocket

    response = session.post(service.url("api/terminals"), headers=xsrf_headers(session), timeout=30)
    assert response.status_code == 200, response.text
    name = response.json()["name"]
    ws = websocket.create_connection(
        ws_url(service, f"terminals/websocket/{name}"), cookie=cookie_header(session), timeout=30
    )
    marker = "END-OF-" + "COMMAND"
    ws.send(json.dumps(["stdin", f"{command}; echo END-OF-''COMMAND\r"]))
    seen = ""
    try:
        while marker not in seen:
            kind, *rest = json.loads(ws.recv())
            if kind == "stdout":
                seen += rest[0]
    finally:
        ws.close()
        session.delete(
            service.url(f"api/terminals/{name}"), headers=xsrf_headers(session), timeout=30
        )
    return seen


def execute(kc: object, code: str) -> str:
    """Run `code` on a jupyter_client kernel client; return its streams and errors as text."""
    out: list[str] = []

    def hook(msg: dict[str, object]) -> None:
        content = msg["content"]
        assert isinstance(content, dict)
        if msg["msg_type"] == "stream":
            out.append(content["text"])
        elif msg["msg_type"] == "error":
            out.append(content["ename"] + ": " + content["evalue"] + "\n")
            out.append("\n".join(content["traceback"]))

    kc.execute_interactive(code, output_hook=hook, timeout=120)  # type: ignore[attr-defined]
    return "".join(out)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie is gone for our purpose."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):  # gone, before or while we looked
        return False


def _command_lines_using(directory: Path, live_only: bool) -> dict[int, list[bytes]]:
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if not any(str(directory).encode() in arg for arg in args):
            continue
        pid = int(cmdline.parent.name)
        if live_only and not process_alive(pid):
            continue
        found[pid] = args
    return found


def processes_using(directory: Path, *, live_only: bool = False) -> list[str]:
    """Processes whose command line names `directory` (with `live_only`, no zombies)."""
    found = _command_lines_using(directory, live_only)
    return [b" ".join(args).decode(errors="replace") for args in found.values()]


def pids_using(directory: Path) -> set[int]:
    """The live processes whose command line names `directory`."""
    return set(_command_lines_using(directory, live_only=True))


def pasted(text: str) -> list[str]:
    """The commands of the `hint:`, `fix:` and `apply with` lines: the backticked part where
    the line is prose around a command, else the whole line."""
    commands = []
    for line in text.splitlines():
        line = line.strip()
        for prefix in ("hint: ", "fix: ", "Promoted into "):
            if line.startswith(prefix):
                rest = line[len(prefix) :]
                commands += re.findall(r"`([^`]+)`", rest) or [rest]
    return commands


def paste(command: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `command` as a person pasting it into a shell would (typing `stdin`)."""
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=600
    )


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """The block runs as nobody (uid 65534). Only the effective uid changes (the saved one
    stays 0), so the test becomes root again after it."""
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
