"""One long-lived ghci: started in its own session with a heap limit, killed with the kernel,
fed one input at a time, its output read up to the prompt that follows each input.

The kernel's SIGINT handler calls `interrupt`; everything else runs on the kernel's main
thread (PR_SET_PDEATHSIG fires when the thread that started the child ends, so ghci is
always started from the main thread, which lives as long as the kernel).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from jupyter_service.kernels.haskell.ghci import DEFAULT_HEAP_LIMIT, is_heap_limit
from jupyter_service.kernels.haskell.ghci.framing import (
    Display,
    Event,
    Prompt,
    StdoutScanner,
    Text,
    new_token,
    render_prompt_prefix,
)
from jupyter_service.kernels.haskell.ghci.literals import render_haskell_string
from jupyter_service.proc import start_process

# stderr written this long before the prompt is shown as it comes (the user's own output
# during a long computation); what comes later is held until the prompt, so that a
# diagnostic can be told apart from output (ghci writes it just before the prompt).
HOLD_STDERR_S = 0.2
# Text is sent on to the notebook at most this often while an input runs.
FLUSH_EVERY_S = 0.05
# After SIGINT, how long ghci has to come back to its prompt before it is killed.
INTERRUPT_GRACE_S = 5.0


class HeapLimitError(ValueError):
    pass


def check_heap_limit(value: str) -> str:
    """`4g`, `512m`, ... as GHC's RTS takes it, or `none`; else a HeapLimitError."""
    if is_heap_limit(value):
        return value
    raise HeapLimitError(
        f"--heap-limit {value!r} is not a size: write it as GHC's +RTS -M takes it "
        "(e.g. 4g, 512m), or `none` for no limit"
    )


@dataclass(frozen=True)
class GhciOptions:
    """How to start ghci: the kernel's command line."""

    ghc: str = "ghc"
    package_db: str | None = None
    packages: tuple[str, ...] = ()
    heap_limit: str = DEFAULT_HEAP_LIMIT

    def argv(self) -> list[str]:
        argv = [self.ghc, "--interactive", "-ignore-dot-ghci", "-package-env", "-"]
        argv += ["-fdiagnostics-color=never"]
        if self.package_db is not None:
            argv += ["-clear-package-db", "-package-db", self.package_db, "-hide-all-packages"]
            for name in ("base", *self.packages):
                argv += ["-package", name]
        if self.heap_limit != "none":
            argv += ["+RTS", f"-M{self.heap_limit}", "-RTS"]
        return argv

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        # Only the command line decides which packages ghci sees.
        for name in ("GHC_PACKAGE_PATH", "GHC_ENVIRONMENT", "LC_ALL", "LC_CTYPE"):
            env.pop(name, None)
        env["LANG"] = "C.UTF-8"
        return env


@dataclass
class Reply:
    """What one input printed: stdout as the notebook saw it (display frames taken out),
    the stderr held until the prompt, and how ghci fared."""

    stdout: str = ""
    stderr: str = ""
    # Set when ghci is gone: its exit status (negative: killed by that signal).
    exit_status: int | None = None
    interrupted: bool = False
    killed_after_interrupt: bool = False


@dataclass
class Sink:
    """Where output goes while an input runs."""

    stream: Callable[[str, str], None]
    display: Callable[[str], None]


@dataclass
class _Run:
    sink: Sink
    reply: Reply = field(default_factory=Reply)
    pending: dict[str, str] = field(default_factory=lambda: {"stdout": "", "stderr": ""})
    held_since: float | None = None
    flushed_at: float = field(default_factory=time.monotonic)


class Ghci:
    def __init__(self, options: GhciOptions, env: Mapping[str, str] | None = None) -> None:
        self.options = options
        self.token = new_token()
        self.process = start_process(
            options.argv(), env=options.environ(os.environ if env is None else env)
        )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self._stdin = self.process.stdin
        self._out = self.process.stdout.fileno()
        self._err = self.process.stderr.fileno()
        self._decoders = {
            self._out: codecs.getincrementaldecoder("utf-8")(errors="replace"),
            self._err: codecs.getincrementaldecoder("utf-8")(errors="replace"),
        }
        self._scanner = StdoutScanner(self.token)
        self._backlog: deque[Event] = deque()
        self._last_line = 0
        self._interrupted_at: float | None = None
        self._busy = False
        self.send(render_prompt_function(self.token) + ':set prompt-cont ""\n')
        self._startup_replies = 2

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, text: str) -> bool:
        """Write one input (or several, at start); False when ghci is gone."""
        try:
            self._stdin.write(text.encode("utf-8"))
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def wait_ready(self) -> str:
        """Read the replies to the start-up inputs (sent by __init__, so that ghci works
        through them while the kernel imports); return ghci's banner, or "" if it died."""
        banner = ""
        while self._startup_replies:
            reply = self.read_reply(Sink(stream=_ignore, display=_ignore))
            self._startup_replies -= 1
            banner = banner or reply.stdout
            if reply.exit_status is not None:
                self._startup_replies = 0
                return ""
        return banner

    def run(self, text: str, sink: Sink) -> Reply:
        """Send one input and read what it prints up to the next prompt."""
        if not self.send(text):
            return Reply(exit_status=self.process.wait())
        return self.read_reply(sink)

    def read_reply(self, sink: Sink) -> Reply:
        run = _Run(sink)
        self._busy = True
        self._interrupted_at = None
        try:
            if not self._take_backlog(run):
                self._read_until_prompt(run)
        finally:
            self._busy = False
        self._flush_stdout(run)
        run.reply.stderr += run.pending["stderr"]
        run.reply.interrupted = self._interrupted_at is not None
        return run.reply

    def interrupt(self) -> bool:
        """SIGINT to ghci when it runs an input (from a signal handler); whether it was busy."""
        if not self._busy or not self.alive():
            return False
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        return True

    def kill(self) -> None:
        """Kill ghci and whatever it started (its session), and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _read_until_prompt(self, run: _Run) -> None:
        open_fds = [self._out, self._err]
        while self._out in open_fds:
            ready, _, _ = select.select(open_fds, [], [], self._timeout(run))
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    open_fds.remove(fd)
                elif fd == self._err:
                    self._on_stderr(run, self._decoders[fd].decode(data))
                else:
                    self._backlog.extend(self._scanner.feed(self._decoders[fd].decode(data)))
            if self._take_backlog(run):
                self._drain_stderr(run)
                return
            self._flush(run)
            if self._overdue():
                run.reply.killed_after_interrupt = True
                self.kill()
                run.reply.exit_status = self.process.returncode
                return
        self._drain_stderr(run)
        run.reply.exit_status = self.process.wait()

    def _timeout(self, run: _Run) -> float | None:
        if run.pending["stdout"] or run.pending["stderr"]:
            return FLUSH_EVERY_S
        if self._interrupted_at is not None:
            return 0.25
        return None

    def _overdue(self) -> bool:
        started = self._interrupted_at
        return started is not None and time.monotonic() - started > INTERRUPT_GRACE_S

    def _take_backlog(self, run: _Run) -> bool:
        """Pass on stdout events up to the next prompt; True when one was reached (what
        follows it stays for the next reply: at start, several inputs are in flight)."""
        while self._backlog:
            event = self._backlog.popleft()
            if isinstance(event, Prompt):
                if event.line <= self._last_line:
                    continue  # a prompt again after a SIGINT that found ghci waiting
                self._last_line = event.line
                return True
            if isinstance(event, Text):
                run.pending["stdout"] += event.text
                run.reply.stdout += event.text
            elif isinstance(event, Display):
                self._flush_stdout(run)
                run.sink.display(event.frame)
        return False

    def _on_stderr(self, run: _Run, text: str) -> None:
        if run.held_since is None:
            run.held_since = time.monotonic()
        run.pending["stderr"] += text

    def _drain_stderr(self, run: _Run) -> None:
        """Read what stderr holds now: ghci wrote it before the prompt we just read."""
        while select.select([self._err], [], [], 0)[0]:
            data = os.read(self._err, 65536)
            if not data:
                return
            self._on_stderr(run, self._decoders[self._err].decode(data))

    def _flush(self, run: _Run) -> None:
        now = time.monotonic()
        if now - run.flushed_at >= FLUSH_EVERY_S:
            self._flush_stdout(run)
        held = run.held_since
        if held is not None and now - held >= HOLD_STDERR_S and run.pending["stderr"]:
            run.sink.stream("stderr", run.pending["stderr"])
            run.pending["stderr"] = ""
            run.held_since = None

    def _flush_stdout(self, run: _Run) -> None:
        if run.pending["stdout"]:
            run.sink.stream("stdout", run.pending["stdout"])
            run.pending["stdout"] = ""
            run.flushed_at = time.monotonic()


def render_prompt_function(token: str) -> str:
    """The ghci command that sets our prompt. It also sets the buffering back to what the
    kernel reads well (stdout by line: a prompt then always ends a write, whatever buffering
    the user's code chose; stderr unbuffered), since the user's code and ghci share them."""
    prefix = render_haskell_string(render_prompt_prefix(token))
    return (
        ":set prompt-function \\_ line -> "
        "System.IO.hSetBuffering System.IO.stdout System.IO.LineBuffering >> "
        "System.IO.hSetBuffering System.IO.stderr System.IO.NoBuffering >> "
        f'return ("{prefix}" ++ show line ++ "\\n")\n'
    )


def _ignore(*_args: str) -> None:
    pass
