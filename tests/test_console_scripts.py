"""The installed console scripts, and Jupyter's launcher finding them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_service.cli import main as service_main

from .helpers import hash_password

BIN = Path(sys.executable).parent


def run(*cmd: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (["jupyter-service", "--help"], "usage: jupyter-service"),
        (["jupyter", "service", "--help"], "usage: jupyter-service"),
        (["jupyter-venv-kernel", "--help"], "usage: jupyter-venv-kernel"),
        (["jupyter", "venv-kernel", "help"], "Workflow:"),
    ],
)
def test_scripts_and_jupyter_launcher(cmd: list[str], expected: str) -> None:
    proc = run(*cmd)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout


def test_hash_password_from_stdin_is_accepted_by_check(tmp_path: Path) -> None:
    proc = run("jupyter-service", "hash-password", stdin="s3cret horses\n")
    assert proc.returncode == 0, proc.stderr
    digest = proc.stdout.strip()
    assert digest.startswith("argon2:$argon2id$")
    from jupyter_server.auth.security import passwd_check

    assert passwd_check(digest, "s3cret horses") and not passwd_check(digest, "s3cret horses\n")
    config = tmp_path / "c.toml"
    config.write_text(f'enable = true\npassword = "{digest}"\n')
    assert service_main(["check", "--config", str(config)]) == 0


def test_hash_password_refuses_empty() -> None:
    proc = run("jupyter-service", "hash-password", stdin="\n")
    assert proc.returncode == 1
    assert proc.stderr == "error: empty password\nhint: type a non-empty password\n"


def test_hash_password_refuses_short_unless_told() -> None:
    # SECURITY.md 33: at least 12 characters, unless --allow-short.
    proc = run("jupyter-service", "hash-password", stdin="elevenchars\n")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: the password has 11 characters; at least 12 are required\n"
        "hint: use a longer one (a few words), or pass --allow-short to accept it anyway\n"
    )
    assert proc.stdout == ""
    allowed = run("jupyter-service", "hash-password", "--allow-short", stdin="elevenchars\n")
    assert allowed.returncode == 0 and allowed.stdout.startswith("argon2:$argon2id$")


def test_hash_password_on_a_terminal_asks_twice(tmp_path: Path) -> None:
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child: the real CLI on a pseudo-terminal
        os.execv(str(BIN / "jupyter-service"), ["jupyter-service", "hash-password"])
    output = b""
    for answer in (b"a long password\n", b"a long password\n"):
        while b"assword: " not in output.split(b"\n")[-1]:
            output += os.read(fd, 1024)
        os.write(fd, answer)
        output += os.read(fd, 1024)
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Password: " in text and "Verify password: " in text
    assert "argon2:$argon2id$" in text
    assert hash_password("x").startswith("argon2:")
