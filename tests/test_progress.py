"""Long work shows progress: on a terminal the command's own (uv's bars, through a pseudo-
terminal), elsewhere line by line with a heartbeat; an interrupted build says so and what
it left, and `gc` counts what a killed one left."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.proc import Progress, run_subprocess
from jupyter_service.progress import (
    Step,
    UvOutput,
    format_duration,
    format_size,
    plain_text,
)

# What `uv pip sync` draws on a terminal, cut down (from a real python-base build): its
# summary lines, a redrawn download bar, the install bar, then silence while it compiles.
UV_TERMINAL = (
    b"\x1b[2mResolved \x1b[1m3 packages\x1b[0m \x1b[2min 553ms\x1b[0m\r\n"
    b"\x1b[37m\xe2\xa0\xb9\x1b[0m \x1b[2mPreparing packages...\x1b[0m (1/2)"
    b"          \x1b[2mtorch      \x1b[0m \x1b[32m-----\x1b[30m\x1b[2m-----\x1b[0m"
    b" 253.30 MiB/514.16 MiB          \r\x1b[2K"
)
UV_TERMINAL_2 = (
    b"\x1b[2mPrepared \x1b[1m2 packages\x1b[0m \x1b[2min 25.91s\x1b[0m\r\n"
    b"\xe2\x96\x88\xe2\x96\x91 [2/3] \x1b[2mnumpy==2.4.6      \x1b[0m\r\x1b[2K"
    b"\x1b[2mInstalled \x1b[1m3 packages\x1b[0m \x1b[2min 1m 06s\x1b[0m\r\n"
)
CHILD = (
    "import os, sys, time\n"
    f"os.write(1, {UV_TERMINAL!r})\n"
    "time.sleep(1.2)\n"
    f"os.write(1, {UV_TERMINAL_2!r})\n"
    "time.sleep(1.2)\n"
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
    # uv's own \r\n, through a terminal, arrives as \r\r\n: the line is kept.
    assert plain_text(b"\x1b[1m+\x1b[0m numpy==2.4.6\r\r\n") == "+ numpy==2.4.6\n"


def test_uv_output_is_read_into_counts_and_lasting_lines() -> None:
    """uv's terminal output, fed in pieces cut anywhere: its summaries come out as lines, its
    bars as counts and an activity."""
    uv = UvOutput(compiles=True)
    raw = (UV_TERMINAL + UV_TERMINAL_2).decode()
    seen, lasting = [], []
    for i in range(0, len(raw), 7):
        lasting += uv.feed(raw[i : i + 7])
        seen.append(uv.status.describe())
    assert lasting == [
        "Resolved 3 packages in 553ms",
        "Prepared 2 packages in 25.91s",
        "Installed 3 packages in 1m 06s",
    ]
    assert "1/2 downloaded, downloading torch 253.30 MiB/514.16 MiB" in seen
    assert "2/3 installed, installing numpy==2.4.6" in seen
    assert seen[-1] == "3/3 installed, compiling byte-code"
    plain = UvOutput()
    assert plain.feed("Downloading torch (514.2MiB)\n") == []
    assert plain.status.describe() == "downloading torch (514.2MiB)"
    resolving = UvOutput()
    resolving.feed("\x1b[37m\u283c\x1b[0m \x1b[2mnumpy==2.4.6\x1b[0m\r")
    assert resolving.status.describe() == "numpy==2.4.6"


def test_not_on_a_terminal_line_by_line_with_a_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Our stderr is no terminal (journald, CI): uv's lasting lines, and a heartbeat with the
    time, the bytes in the dir being filled and uv's counts, read from the pseudo-terminal
    it runs on."""
    (tmp_path / "file").write_bytes(b"x" * 4096)
    progress = Progress("installing 3 packages", watch=tmp_path, heartbeat=0.5)
    proc = run_subprocess([sys.executable, "-c", CHILD], progress=progress)
    assert proc.stdout.splitlines()[-1] == "tty: True True"
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "  Resolved 3 packages in 553ms"
    beats = [line for line in lines if line.startswith("  installing 3 packages: running for")]
    first = f"  installing 3 packages: running for 0s, 4 KiB in {tmp_path}; "
    assert beats[0] == first + "1/2 downloaded, downloading torch 253.30 MiB/514.16 MiB"
    assert beats[-1].endswith("; 3/3 installed")
    assert lines.index("  Prepared 2 packages in 25.91s") > lines.index(beats[0])
    assert "  Installed 3 packages in 1m 06s" in lines
    assert re.fullmatch(r"  installing 3 packages: done in 2s \(4 KiB\)", lines[-1]), lines


def test_without_a_pseudo_terminal_uv_runs_on_pipes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pseudo-terminal to be had (none left, no /dev/pts in a sandbox): the command runs
    on pipes instead, its lasting lines shown as they come and all of it kept for the log."""

    def no_pty() -> tuple[int, int]:
        raise OSError(2, "out of pty devices")

    monkeypatch.setattr(pty, "openpty", no_pty)
    child = (
        "import os\n"
        "print('Resolved 3 packages in 553ms', flush=True)\n"
        "print('Installed 3 packages in 1m 06s', flush=True)\n"
        "print('tty:', os.isatty(1), os.isatty(2), flush=True)\n"
    )
    proc = run_subprocess([sys.executable, "-c", child], progress=Progress("installing"))
    assert proc.stdout.splitlines() == [
        "Resolved 3 packages in 553ms",
        "Installed 3 packages in 1m 06s",
        "tty: False False",
    ]
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == ["  Resolved 3 packages in 553ms", "  Installed 3 packages in 1m 06s"]
    assert re.fullmatch(r"  installing: done in 0s", lines[-1]), lines


def test_a_failed_step_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = "print('error: no solution'); raise SystemExit(2)"
    proc = run_subprocess([sys.executable, "-c", code], progress=Progress("x"), check=False)
    assert proc.returncode == 2 and proc.stdout == "error: no solution\n"
    assert capsys.readouterr().err == "  error: no solution\n  x: failed after 0s\n"


def test_a_step_of_ours_counts_and_stays_quiet_when_short() -> None:
    stream = io.StringIO()
    with Step("hashing", unit="files hashed", heartbeat=0.2, stream=stream) as step:
        step.update(done=3, total=10, size=3 * 2**20)
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  hashing: running for 0s; 3/10 files hashed"
    assert lines[-1] == "  hashing: done in 0s"
    quiet = io.StringIO()
    with Step("hashing", quiet_under=2.0, stream=quiet):
        pass
    assert quiet.getvalue() == ""


def run_on_a_terminal(code: str, columns: int = 100) -> bytes:
    """Run `code` in a Python whose stdin, stdout and stderr are a real pseudo-terminal;
    return what it drew there."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
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
    return shown


def test_on_a_terminal_a_live_bar_with_uvs_counts(tmp_path: Path) -> None:
    """A real pseudo-terminal as our stderr: the command sees a terminal; we draw a bar with
    its counts, the time and our label, its lasting lines above; the log keeps its text."""
    result = tmp_path / "result.json"
    code = (
        "import json, sys\n"
        "from jupyter_service.proc import Progress, run_subprocess\n"
        f"child = {CHILD!r}\n"
        "cmd = [sys.executable, '-c', child, '--compile-bytecode']\n"
        "proc = run_subprocess(cmd, progress=Progress('building x'))\n"
        f"open({str(result)!r}, 'w').write(json.dumps(proc.stdout))\n"
    )
    shown = plain_text(run_on_a_terminal(code).replace(b"\r", b"\n"))
    bars = [line for line in shown.splitlines() if "building x" in line and "•" in line]
    assert any("1/2 downloaded • " in bar for bar in bars), shown
    assert any("3/3 installed • " in bar for bar in bars), shown
    assert "  downloading torch 253.30 MiB/514.16 MiB" in shown.splitlines()
    assert "  compiling byte-code" in shown.splitlines()
    for line in ("Resolved 3 packages in 553ms", "Installed 3 packages in 1m 06s"):
        assert f"  {line}" in shown.splitlines()
    assert re.search(r"^  building x: done in 2s$", shown, re.MULTILINE), shown
    logged = json.loads(result.read_text())
    assert logged.splitlines()[0] == "Resolved 3 packages in 553ms"
    assert logged.splitlines()[-1] == "tty: True True"


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
@pytest.mark.parametrize(
    ("command", "signum", "by"),
    [
        ("switch", signal.SIGINT, "Ctrl-C (SIGINT)"),
        ("switch", signal.SIGTERM, "SIGTERM"),
        ("switch", signal.SIGKILL, ""),
        # systemd stopping the service while `up` builds what the store lacks; or killing it.
        ("up", signal.SIGTERM, "SIGTERM"),
        ("up", signal.SIGKILL, ""),
    ],
)
def test_an_interrupted_build_says_so_and_what_it_left(
    project: Path,
    tmp_path: Path,
    service_environ: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    signum: int,
    by: str,
) -> None:
    """`switch` (or `up`, which switches first) builds while uv waits on a download that
    never comes; Ctrl-C, or SIGTERM (systemd stopping `up`), stops it in order: it says so,
    and leaves nothing. SIGKILL cannot be answered: `gc` then removes what it left, and says
    how much."""
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
    cmd = [sys.executable, "-m", "jupyter_service", command, "--config"]
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
        child.send_signal(signum)
        rest = child.communicate(timeout=120)[1]
    finally:
        child.kill()
        silent.close()
    leftovers = list((service_environ / "store").glob(".tmp-*"))
    if signum == signal.SIGKILL:
        assert child.returncode == -signum and len(leftovers) == 1
        assert main(["gc"]) == 0
        out = capsys.readouterr().out.splitlines()
        size = re.fullmatch(
            rf"removed {leftovers[0]} \((\d+ KiB|[\d.]+ MiB)\), left by an interrupted build",
            out[0],
        )
        assert size and not size[1].startswith("0 "), out
        assert out[1] == f"freed {size[1]} (0 store paths)"
        assert not leftovers[0].exists()
        return
    assert child.returncode == 128 + signum, "".join(seen) + rest
    # The step's own line, then what the build left.
    assert re.search(r"^  installing small: interrupted after \d+s$", rest, re.M)
    [said] = [line for line in rest.splitlines() if line.startswith("interrupted")]
    assert said.startswith(f"interrupted by {by}: building small stopped after ")
    assert said.endswith(
        "; its partial build was removed; what it downloaded stays in the package cache, so "
        "the next `switch` starts from there; the current generation is as it was"
    )
    assert leftovers == []
