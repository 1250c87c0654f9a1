"""The one exception family, caught once at the CLI boundary."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any


class ServiceError(Exception):
    """A failure a person can act on: what failed, and where one exists, the fixing command."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        lines = [f"error: {self.message}"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class ConfigError(ServiceError):
    """An invalid config: every problem at once, each with its key path."""

    def __init__(
        self, source: str, problems: list[tuple[str, str]], *, config: Path | None = None
    ) -> None:
        from jupyter_service.hints import service_hint

        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        check = service_hint("check", config=config)
        super().__init__(
            f"{source} has {count} {noun}",
            hint=f"fix them, then run `{check}` again; nothing was changed on disk",
        )
        self.source = source
        self.problems = problems

    def render(self) -> str:
        lines = [f"error: {self.message}:"]
        lines += [f"  {path}: {text}" if path else f"  {text}" for path, text in self.problems]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def mount_point(path: str | os.PathLike[str]) -> str:
    """The mount point of the filesystem `path` is on (of its nearest existing parent)."""
    current = os.path.abspath(path)
    while not os.path.ismount(current):
        current = os.path.dirname(current)
    return current


def disk_full_error(path: str | os.PathLike[str] | None, what: str = "") -> ServiceError:
    """ENOSPC, said once: which filesystem is full, and what to do."""
    if path is None:
        return ServiceError(
            f"no space left on device{f' ({what})' if what else ''}",
            hint="free some space (`df -h` shows which filesystem is full), then run it again",
        )
    from jupyter_service.hints import service_hint

    mount = mount_point(path)
    doing = f"{what}: " if what else "writing "
    return ServiceError(
        f"no space left on the filesystem mounted at {mount} ({doing}{path})",
        hint=f"free space there (`df -h {mount}`; `{service_hint('gc', '--keep', '5')}` removes "
        "old stable kernel builds), then run the command again",
    )


class Terminated(BaseException):
    """SIGTERM (systemd stopping us, `kill`), raised as an exception by
    `terminate_as_exception` so that work unwinds and cleans up as on Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated (only the main thread can take a signal:
    elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_handler(handler: Callable[[Any], int], args: Any, *, interrupted: str = "") -> int:
    """The CLI boundary: run a subcommand's handler; print a ServiceError as `error:` and
    `hint:` lines (a traceback only with --verbose) and return its exit status."""
    try:
        return int(handler(args))
    except ServiceError as exc:
        if getattr(args, "verbose", False):
            raise
        print(exc.render(), file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno != errno.ENOSPC or getattr(args, "verbose", False):
            raise
        print(disk_full_error(exc.filename).render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if interrupted:
            print(interrupted, file=sys.stderr)
        return 130
    except Terminated:
        if interrupted:
            print(interrupted, file=sys.stderr)
        return 128 + signal.SIGTERM
