"""Long work shows progress: on a terminal the command's own (uv's bars, through a pseudo-
terminal), elsewhere line by line with a heartbeat; an interrupted build says so and what
it left, and `gc` counts what a killed one left."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.proc import Progress, format_duration, format_size, plain_text, run_subprocess

CHILD = (
    "import os, sys, time\n"
    "print('Resolved 3 packages', flush=True)\n"
    "time.sleep(1.0)\n"
    "print('tty:', os.isatty(1), os.isatty(2), flush=True)\n"
)


def test_pure_helpers() -> None:
    assert [format_duration(s) for s in (0.4, 59, 61, 3725)] == ["0s", "59s", "1m01s", "1h02m"]
    assert [format_size(n) for n in (2048, 3 * 2**20, 6 * 2**30)] == [
        "2 KiB",
        "3.0 MiB",
        "6.00 GiB",
    ]
    raw = b"\x1b[2K\rDownloading torch  10%\rDownloading torch 100%\r\n\x1b[1mInstalled\x1b[0m 2\n"
    assert plain_text(raw) == "Downloading torch 100%\nInstalled 2\n"


def test_not_on_a_terminal_line_by_line_with_a_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_bytes(b"x" * 4096)
    progress = Progress("installing 3 packages", watch=tmp_path, heartbeat=0.3)
    proc = run_subprocess([sys.executable, "-c", CHILD], progress=progress)
    assert proc.stdout == "Resolved 3 packages\ntty: False False\n"
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "  Resolved 3 packages"
    beats = [line for line in lines if line.startswith("  installing 3 packages: running for")]
    assert beats and beats[0] == f"  installing 3 packages: running for 0s, 4 KiB in {tmp_path}"
    assert lines[-2:] == ["  tty: False False", "  installing 3 packages: done in 1s"]


def test_on_a_terminal_the_command_gets_one_and_its_output_passes_through(
    tmp_path: Path,
) -> None:
    """A real pseudo-terminal as our stderr: the child sees a terminal, what it draws
    reaches ours, and the text without redraws is what a log would keep."""
    result = tmp_path / "result.json"
    child = CHILD + "print('\\x1b[2Kbar 50%\\rbar 100%')\n"
    code = (
        "import json, sys\n"
        "from jupyter_service.proc import Progress, run_subprocess\n"
        f"child = {child!r}\n"
        "proc = run_subprocess([sys.executable, '-c', child], progress=Progress('x'))\n"
        f"open({str(result)!r}, 'w').write(json.dumps(proc.stdout))\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal
        os.execv(sys.executable, [sys.executable, "-c", code])
    shown = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        shown += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert b"tty: True True" in shown and b"bar 50%\rbar 100%" in shown
    assert json.loads(result.read_text()) == ("Resolved 3 packages\ntty: True True\nbar 100%\n")


def test_gc_counts_what_a_killed_build_left(
    service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leftover = service_environ / "store" / ".tmp-0123abcd-python-base-x1y2"
    (leftover / "env").mkdir(parents=True)
    (leftover / "env" / "big").write_bytes(b"\0" * 3 * 2**20)
    assert main(["gc"]) == 0
    assert capsys.readouterr().out == (
        f"removed {leftover} (3.0 MiB), left by an interrupted build\n"
        "freed 3.0 MiB (0 store paths)\n"
    )
    assert not leftover.exists()


@pytest.mark.slow
def test_an_interrupted_build_says_so_and_what_it_left(project: Path, tmp_path: Path) -> None:
    """`switch` builds while uv waits on a download that never comes; Ctrl-C stops it."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    # A cache of its own that has the lock's metadata (what `uv lock` reads) but no wheel.
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "metadata-only-cache")}
    cmd = [sys.executable, "-m", "jupyter_service", "lock", "--upgrade", "--config"]
    subprocess.run([*cmd, str(project / "config.toml")], env=env, check=True, timeout=300)
    # Downloads go through a proxy that accepts and never answers.
    proxy = f"http://127.0.0.1:{silent.getsockname()[1]}"
    env.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, ALL_PROXY=proxy)
    cmd = [sys.executable, "-m", "jupyter_service", "switch", "--config"]
    child = subprocess.Popen(
        [*cmd, str(project / "config.toml")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = child.stderr.readline()
            seen.append(line)
            if line.startswith("building small into "):
                break
        time.sleep(2)  # into `uv pip sync`, waiting for the index
        child.send_signal(signal.SIGINT)
        rest = child.communicate(timeout=120)[1]
    finally:
        child.kill()
        silent.close()
    assert child.returncode == 130, "".join(seen) + rest
    [said] = [line for line in rest.splitlines() if line.startswith("interrupted:")]
    assert said.startswith("interrupted: building small stopped after ")
    assert said.endswith(
        "; its partial build was removed; what uv downloaded stays in its cache, so the next "
        "`switch` starts from there; the current generation is as it was"
    )
