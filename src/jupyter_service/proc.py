"""The one place where subprocesses are started: logged, and their output kept on failure."""

from __future__ import annotations

import codecs
import contextlib
import errno
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.errors import ServiceError, disk_full_error
from jupyter_service.fsutil import make_dirs
from jupyter_service.progress import HEARTBEAT_SECONDS

log = logging.getLogger("jupyter_service")

TAIL_LINES = 20
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
    """Show a long command's progress on stderr while it runs (a `progress.Step`): the
    command runs on a pseudo-terminal of its own where we can, so uv draws its progress,
    which `progress.UvOutput` reads into our display: on a terminal a live bar, else (journald,
    CI) the command's lines as they come and a heartbeat line every `heartbeat` seconds, with
    the time so far, how much `watch` (the dir it fills) holds and uv's counts."""

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
    if progress is not None:
        proc = _run_showing(cmd, env, cwd, progress)
    else:
        proc = _run(cmd, env, cwd, echo=stream and sys.stderr.isatty())
    if check and proc.returncode != 0:
        raise subprocess_error(cmd, proc.returncode, proc.stdout, log_dir, what)
    return proc


def _run_showing(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None, progress: Progress
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` as a progress Step, on a pseudo-terminal of its own (uv then draws its
    progress, which is read into the step; its lasting lines are shown); where none can be
    had, on pipes, each line shown as it comes."""
    from jupyter_service.progress import Step, UvOutput

    uv = UvOutput(compiles="--compile-bytecode" in cmd)
    try:
        with Step(progress.label, watch=progress.watch, heartbeat=progress.heartbeat) as step:

            def show(text: str) -> None:
                for line in uv.feed(text):
                    step.note(line)
                step.set_status(uv.status)

            def echo(line: str) -> None:
                step.note(line.rstrip("\n"))
                uv.feed(line)
                step.set_status(uv.status)

            try:
                proc = _run_on_pty(cmd, env, cwd, show)
            except _NoTerminal:
                proc = _run(cmd, env, cwd, echo=False, each_line=echo)
            if proc.returncode != 0:
                raise _Failed(proc)
    except _Failed as failed:
        return failed.proc
    return proc


class _NoTerminal(Exception):
    """No pseudo-terminal to be had (none left, or no /dev/pts in a sandbox)."""


class _Failed(Exception):
    """A command that failed inside a Step: the step says "failed after"; the caller gets the
    process back (run_subprocess decides whether that is an error)."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.proc = proc


def _run_on_pty(
    cmd: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    show: Callable[[str], None],
) -> subprocess.CompletedProcess[str]:
    """The child writes to a pseudo-terminal as wide as ours (or 120 columns when we have
    none), so it draws its progress, each chunk handed to `show` as it comes; the text,
    without its escape sequences and redrawn lines, is kept for the log."""
    import fcntl
    import pty
    import struct
    import termios

    from jupyter_service.progress import plain_text

    try:
        master, replica = pty.openpty()
    except OSError as exc:
        raise _NoTerminal() from exc
    try:
        size = fcntl.ioctl(sys.stderr.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        size = struct.pack("HHHH", 40, 120, 0, 0)
    with contextlib.suppress(OSError):
        fcntl.ioctl(replica, termios.TIOCSWINSZ, size)
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
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            show(decoder.decode(data))
        status = child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        os.close(master)
    return subprocess.CompletedProcess(list(cmd), status, plain_text(b"".join(chunks)), None)


def _run(
    cmd: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    *,
    echo: bool,
    each_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run to completion, output captured (and echoed line by line to stderr with `echo`,
    or handed to `each_line`). Interrupted (Ctrl-C, SIGTERM turned into an exception), the
    child is killed first."""
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
                if each_line is not None:
                    each_line(line)
                elif echo:
                    sys.stderr.write(line)
                    sys.stderr.flush()
            status = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
    return subprocess.CompletedProcess(list(cmd), status, "".join(chunks), None)


def start_detached(
    cmd: Sequence[str], *, env: Mapping[str, str], pass_fds: Sequence[int] = ()
) -> None:
    """Start `cmd` in a session of its own, its output dropped, not waited for and not killed
    with us: work that goes on after the command that started it has answered. `pass_fds`
    stay open in it (a lock it takes over)."""
    log.debug("starting in the background: %s", " ".join(cmd))
    subprocess.Popen(
        list(cmd),
        env=dict(env),
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
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
