"""The one place where subprocesses are started: logged, and their output kept on failure."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from jupyter_service.errors import ServiceError

log = logging.getLogger("jupyter_service")

TAIL_LINES = 20
_PR_SET_PDEATHSIG = 1


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


def run_subprocess(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    log_dir: Path | None = None,
    what: str | None = None,
    stream: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`, capturing its output (and, with `stream` on a terminal, showing it as it
    comes: progress for long installs). On failure with `check`, keep the output in a log
    file and raise a ServiceError naming the command, its status, its last lines and the log."""
    log.debug("running: %s", " ".join(cmd))
    proc = _run(cmd, env, cwd, echo=stream and sys.stderr.isatty())
    if check and proc.returncode != 0:
        raise subprocess_error(cmd, proc.returncode, proc.stdout, log_dir, what)
    return proc


def _run(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None, *, echo: bool
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
                    sys.stderr.write(line)
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
    log_path = write_log(cmd, output, log_dir)
    tail = "\n".join("  | " + line for line in output.rstrip().splitlines()[-TAIL_LINES:])
    message = f"{what or 'command failed'}: `{' '.join(cmd)}` exited with status {status}"
    if tail:
        message += f"\n{tail}"
    message += f"\n  full log: {log_path}"
    return ServiceError(message)


def write_log(cmd: Sequence[str], output: str, log_dir: Path | None) -> Path:
    directory = log_dir or Path(tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="jupyter-service-", suffix=".log", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + output)
    return Path(name)
