"""The one place where subprocesses are started: logged, and their output kept on failure."""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError, disk_full_error
from jupyter_service.fsutil import make_dirs

log = logging.getLogger("jupyter_service")

TAIL_LINES = 20
# Not on a terminal, a quiet long command says it is still at work this often.
HEARTBEAT_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


# What would point a child Python, uv or pip at another environment than the one we mean.
FOREIGN_ENVIRONMENT = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONHOME",
    "PYTHONPATH",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
)


def clean_environment(**extra: str) -> dict[str, str]:
    """Our environment for a child, without FOREIGN_ENVIRONMENT, with `extra` set: the one
    place a subprocess environment is cleaned."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENVIRONMENT}
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """In the child: be killed when we are, so a SIGKILLed command leaves no uv or pip
    running on (writing into a dir the next run cleans, holding uv's cache lock)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def start_process(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-lived child with pipes on all three streams, in its own session (a
    signal to our process group does not reach it) and killed when the calling thread
    ends: start it from a thread that lives as long as the child should."""
    log.debug("starting: %s", " ".join(cmd))
    parent = os.getpid()

    def die_with_parent() -> None:
        _die_with_parent()
        if os.getppid() != parent:  # the parent died before prctl: nobody would kill us
            os._exit(1)

    return subprocess.Popen(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


@dataclass(frozen=True)
class Progress:
    """Show a long command's progress on stderr while it runs: on a terminal, the command
    runs on a pseudo-terminal of its own so its own progress bars (uv's) pass through; else
    (journald, CI) its output line by line, and every `heartbeat` seconds a line with the
    time so far and how much `watch` (the dir it fills) holds."""

    label: str
    watch: Path | None = None
    heartbeat: float = HEARTBEAT_SECONDS


def run_subprocess(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    log_dir: Path | None = None,
    what: str | None = None,
    stream: bool = False,
    progress: Progress | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`, capturing its output (and, with `stream` on a terminal, showing it as it
    comes; with `progress`, see `Progress`). On failure with `check`, keep the output in a
    log file and raise a ServiceError naming the command, its status, its last lines and
    the log."""
    log.debug("running: %s", " ".join(cmd))
    if progress is not None and sys.stderr.isatty():
        proc = _run_on_pty(cmd, env, cwd)
    elif progress is not None:
        proc = _run_reporting(cmd, env, cwd, progress)
    else:
        proc = _run(cmd, env, cwd, echo=stream and sys.stderr.isatty())
    if check and proc.returncode != 0:
        raise subprocess_error(cmd, proc.returncode, proc.stdout, log_dir, what)
    return proc


def format_duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`. Pure."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_size(size: int) -> str:
    """`512 KiB`, `3.4 MiB`, `5.92 GiB`. Pure."""
    if size < 2**20:
        return f"{size / 2**10:.0f} KiB"
    if size < 2**30:
        return f"{size / 2**20:.1f} MiB"
    return f"{size / 2**30:.2f} GiB"


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _run_reporting(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None, progress: Progress
) -> subprocess.CompletedProcess[str]:
    """Not on a terminal: each output line as it comes, a heartbeat line while it is quiet."""
    from jupyter_service.fsutil import tree_size

    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(progress.heartbeat):
            line = f"  {progress.label}: running for {format_duration(time.monotonic() - started)}"
            if progress.watch is not None and progress.watch.exists():
                line += f", {format_size(tree_size(progress.watch))} in {progress.watch}"
            _say(line)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        proc = _run(cmd, env, cwd, echo=True, prefix="  ")
    finally:
        done.set()
        thread.join()
    outcome = "done in" if proc.returncode == 0 else "failed after"
    _say(f"  {progress.label}: {outcome} {format_duration(time.monotonic() - started)}")
    return proc


def _run_on_pty(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    """On a terminal: the child writes to a pseudo-terminal as wide as ours, which we copy
    to stderr as it comes (its progress bars draw as on a terminal); the text, without its
    escape sequences and redrawn lines, is kept for the log."""
    import fcntl
    import pty
    import termios

    master, replica = pty.openpty()
    try:
        size = fcntl.ioctl(sys.stderr.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(replica, termios.TIOCSWINSZ, size)
    except OSError:
        pass
    try:
        child = subprocess.Popen(
            list(cmd),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=replica,
            stderr=replica,
            preexec_fn=_die_with_parent,
        )
    finally:
        os.close(replica)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            os.write(sys.stderr.fileno(), data)
        status = child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        os.close(master)
    return subprocess.CompletedProcess(list(cmd), status, plain_text(b"".join(chunks)), None)


_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")


def plain_text(raw: bytes) -> str:
    """What a terminal's output says, for a log: escape sequences dropped, and of a line
    redrawn with carriage returns only its last state. Pure."""
    text = _ESCAPE.sub("", raw.decode(errors="replace")).replace("\r\n", "\n")
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join(line for line in lines if line.strip() or not line)


def _run(
    cmd: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    *,
    echo: bool,
    prefix: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run to completion, output captured (and echoed line by line to stderr with `echo`).
    Interrupted (Ctrl-C, SIGTERM turned into an exception), the child is killed first."""
    with subprocess.Popen(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent,
    ) as child:
        assert child.stdout is not None
        chunks = []
        try:
            for line in child.stdout:
                chunks.append(line)
                if echo:
                    sys.stderr.write(prefix + line)
                    sys.stderr.flush()
            status = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
    return subprocess.CompletedProcess(list(cmd), status, "".join(chunks), None)


def start_detached(cmd: Sequence[str], *, env: Mapping[str, str]) -> None:
    """Start `cmd` in a session of its own, its output dropped, not waited for and not killed
    with us: work that goes on after the command that started it has answered."""
    log.debug("starting in the background: %s", " ".join(cmd))
    subprocess.Popen(
        list(cmd),
        env=dict(env),
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def subprocess_error(
    cmd: Sequence[str], status: int, output: str, log_dir: Path | None, what: str | None
) -> ServiceError:
    tail = "\n".join("  | " + line for line in output.rstrip().splitlines()[-TAIL_LINES:])
    message = f"{what or 'command failed'}: `{' '.join(cmd)}` exited with status {status}"
    if tail:
        message += f"\n{tail}"
    full: Path | str | None = log_dir if "No space left on device" in output else None
    try:
        message += f"\n  full log: {write_log(cmd, output, log_dir)}"
    except OSError as exc:
        message += f"\n  full log: not kept ({exc.strerror})"
        if exc.errno != errno.ENOSPC:
            raise
        full = exc.filename
    if full is None:
        return ServiceError(message)
    # A full disk is said first, with the filesystem, whatever the command made of it.
    disk_full = disk_full_error(full)
    return ServiceError(f"{disk_full.message}\n{message}", hint=disk_full.hint)


def write_log(cmd: Sequence[str], output: str, log_dir: Path | None) -> Path:
    """The command and its whole output in a new file under `log_dir`; a log that cannot be
    written whole (a full disk) is removed, never left empty or cut."""
    directory = log_dir or Path(tempfile.gettempdir())
    # Logs hold commands and their output: the owner's alone (mkstemp makes them 0600).
    make_dirs(directory, 0o700)
    fd, name = tempfile.mkstemp(prefix="jupyter-service-", suffix=".log", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("$ " + " ".join(cmd) + "\n" + output)
    except OSError as exc:
        os.unlink(name)
        exc.filename = exc.filename or name
        raise
    return Path(name)
