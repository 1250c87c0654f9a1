"""What long work shows while it runs (a lock, a build, the first venv base).

A `Step` has a label, and as it goes a count (`done` of `total` packages or files), what it
is doing now in its own words (`activity`), the bytes in the dir it fills (`watch`) and
the time so far. On a terminal that is a live bar (rich) with the activity below it; not on
one (journald, CI) each line the work prints, as it comes, and every `heartbeat` seconds a
line with the same numbers. Either way it ends with one line: done, failed or interrupted
after how long, and how big the dir became.

`UvOutput` reads uv's output (a terminal's, redraws and all, or plain lines) into those
numbers: uv's own progress (its counts, its downloads) passes through into our display.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

# Not on a terminal, a quiet long step says it is still at work this often.
HEARTBEAT_SECONDS = 30.0
# The downloads named at once (uv draws one bar per download running).
SHOWN_DOWNLOADS = 3
# How often, on a terminal, the size of the dir being filled is measured (a walk of it).
SIZE_SECONDS = 2.0


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


# -- reading uv's output ----------------------------------------------------------------------

_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
# uv's lines that stay (a summary, a warning, a package added or removed); everything else
# it prints on a terminal is a redraw of its bars.
_LASTING = re.compile(
    r"(Resolved|Prepared|Installed|Uninstalled|Audited|Bytecode compiled|Built|Updated) \S.*"
    r"|(warning|error|hint): .*|[-+~] \S+"
)
_PREPARING = re.compile(r"Preparing packages\.\.\. \((\d+)/(\d+)\)")
_INSTALLING = re.compile(r"\[(\d+)/(\d+)\] (\S+)")
_DOWNLOAD = re.compile(r"(\S+)\s+[-━─]+\s+(\d[\d.]* [KMGT]?i?B)/(\d[\d.]* [KMGT]?i?B)")
# A spinner (braille) then what uv is resolving or building.
_SPINNER = re.compile(r"[\u2800-\u28ff] (.+)")
_INSTALLED = re.compile(r"Installed (\d+) packages?")
# Not on a terminal, uv names each big download instead of drawing it.
_DOWNLOADING = re.compile(r"Downloading (\S+) \((.+)\)")


@dataclass
class Status:
    """What a step has told so far."""

    done: int | None = None
    total: int | None = None
    unit: str = "packages"
    activity: str = ""

    def describe(self) -> str:
        """`87/148 packages, torch 253 MiB/514 MiB`: the counts, then the activity. Pure."""
        parts = []
        if self.done is not None:
            of = f"/{self.total}" if self.total is not None else ""
            parts.append(f"{self.done}{of} {self.unit}")
        if self.activity:
            parts.append(self.activity)
        return ", ".join(parts)


class UvOutput:
    """Feed uv's output as it comes; `status` holds what it says it is doing, and each call
    returns the lasting lines it completed (the summaries a log keeps)."""

    def __init__(self, *, compiles: bool = False) -> None:
        self.status = Status()
        self._compiles = compiles
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        segments = re.split(r"[\r\n]", self._pending + text)
        self._pending = segments.pop()
        lasting = []
        for raw in segments:
            segment = _ESCAPE.sub("", raw).strip()
            if not segment:
                continue
            if _LASTING.fullmatch(segment):
                lasting.append(segment)
            self._read(segment)
        return lasting

    def _read(self, segment: str) -> None:
        status = self.status
        downloads = _DOWNLOAD.findall(segment)
        if downloads:
            shown = ", ".join(f"{n} {a}/{b}" for n, a, b in downloads[:SHOWN_DOWNLOADS])
            more = len(downloads) - SHOWN_DOWNLOADS
            status.activity = f"downloading {shown}" + (f" and {more} more" if more > 0 else "")
        if found := _PREPARING.search(segment):
            status.done, status.total, status.unit = int(found[1]), int(found[2]), "downloaded"
            if not downloads:
                status.activity = "downloading"
        elif found := _INSTALLING.search(segment):
            status.done, status.total, status.unit = int(found[1]), int(found[2]), "installed"
            status.activity = f"installing {found[3]}"
        elif found := _INSTALLED.match(segment):
            status.done = status.total = int(found[1])
            status.unit = "installed"
            # uv says nothing while it compiles (a minute for a big stack).
            status.activity = "compiling byte-code" if self._compiles else ""
        elif segment.startswith(("Resolved", "Prepared", "Bytecode compiled")):
            status.activity = ""
        elif found := _DOWNLOADING.match(segment):
            status.activity = f"downloading {found[1]} ({found[2]})"
        elif not downloads and (found := _SPINNER.match(segment)):
            status.activity = found[1].strip()


def plain_text(raw: bytes) -> str:
    """What a terminal's output says, for a log: escape sequences dropped, and of a line
    redrawn with carriage returns only its last state. Pure."""
    # A terminal ends lines with \r\n, and uv's own \r\n arrives as \r\r\n.
    text = re.sub(r"\r+\n", "\n", _ESCAPE.sub("", raw.decode(errors="replace")))
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join(line for line in lines if line.strip() or not line)


# -- showing a step -----------------------------------------------------------------------------


class Step:
    """One long step shown on `stream` (stderr), as a context manager: `update` its status,
    `note` a lasting line; on exit, one line says how it ended. `quiet_under`: a step done
    sooner than that many seconds shows nothing at all (a small build's bookkeeping)."""

    def __init__(
        self,
        label: str,
        *,
        watch: Path | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        quiet_under: float = 0.0,
        unit: str = "packages",
        total: int | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.label = label
        self.watch = watch
        self.heartbeat = heartbeat
        self.quiet_under = quiet_under
        self.status = Status(total=total, unit=unit)
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.size: int | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Any = None
        self._spinner: Any = None
        self._shown = False

    # -- the caller's side

    def update(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        activity: str | None = None,
        size: int | None = None,
    ) -> None:
        with self._lock:
            if done is not None:
                self.status.done = done
            if total is not None:
                self.status.total = total
            if activity is not None:
                self.status.activity = activity
            if size is not None:
                self.size = size

    def set_status(self, status: Status) -> None:
        with self._lock:
            self.status = Status(**vars(status))

    def note(self, line: str) -> None:
        """A line that stays: above the bar on a terminal, indented in a log."""
        if self._live is not None:
            self._live.console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        else:
            self._write(f"  {line}")

    def __enter__(self) -> Step:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self._live is not None:
            self._live.stop()
            self._live = None
        elapsed = time.monotonic() - self.started
        if kind is None and elapsed < self.quiet_under and not self._shown:
            return
        if kind is None:
            outcome = "done in"
        elif issubclass(kind, Exception):
            outcome = "failed after"
        else:
            outcome = "interrupted after"
        line = f"  {self.label}: {outcome} {format_duration(elapsed)}"
        # The size once it was worth showing (a heartbeat or the bar showed one): walking
        # the tree costs 0.08 s on a fresh venv base, a tenth of a first `create`.
        if self.watch is not None and kind is None and self.size is not None:
            line += f" ({format_size(self._measure())})"
        self._write(line)

    # -- the display's side

    def _write(self, text: str) -> None:
        self._shown = True
        self.stream.write(text + "\n")
        self.stream.flush()

    def _measure(self) -> int:
        from jupyter_service.fsutil import tree_size

        return tree_size(self.watch) if self.watch is not None and self.watch.exists() else 0

    def _watch(self) -> None:
        """The display's thread: on a terminal the live bar (after `quiet_under`) and the
        size of `watch` every SIZE_SECONDS; elsewhere a heartbeat line."""
        if self.terminal:
            if self._done.wait(self.quiet_under):
                return
            self._start_live()
            while True:
                if self.watch is not None:
                    self.update(size=self._measure())
                if self._done.wait(SIZE_SECONDS):
                    return
        while not self._done.wait(self.heartbeat):
            if self.watch is not None:
                self.size = self._measure()
            self._write(f"  {self.heartbeat_line()}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def heartbeat_line(self) -> str:
        """`LABEL: running for 1m05s, 2.31 GiB in DIR; 87/148 packages, installing x`."""
        line = f"{self.label}: running for {format_duration(self.elapsed())}"
        if self.watch is not None and self.size is not None:
            line += f", {format_size(self.size)} in {self.watch}"
        with self._lock:
            described = self.status.describe()
        return line + (f"; {described}" if described else "")

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, highlight=False)
        self._live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._shown = True
        self._live.start()

    def _render(self) -> Any:
        """The bar: spinner, label, bar (with a count), counts, size, time; the activity below."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            status = Status(**vars(self.status))
            size = self.size
        row = Table.grid(padding=(0, 1))
        row.add_column(no_wrap=True)
        row.add_column(no_wrap=True, overflow="ellipsis")
        if self._spinner is None:
            self._spinner = Spinner("dots")
        cells: list[Any] = [self._spinner, Text(self.label, overflow="ellipsis")]
        if status.total:
            row.add_column(width=30, no_wrap=True)
            cells.append(ProgressBar(total=status.total, completed=status.done or 0, width=30))
        numbers = []
        if status.done is not None:
            of = f"/{status.total}" if status.total is not None else ""
            numbers.append(f"{status.done}{of} {status.unit}")
        if size is not None:
            numbers.append(format_size(size))
        numbers.append(format_duration(self.elapsed()))
        row.add_column(no_wrap=True)
        cells.append(Text(" • ".join(numbers), style="cyan"))
        row.add_row(*cells)
        below = Text(f"  {status.activity}", style="dim", overflow="ellipsis", no_wrap=True)
        return Group(row, below) if status.activity else row
