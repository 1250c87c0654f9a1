"""A notebook's view of ghci: cells in, output and failures out; a fresh ghci when one dies;
the display helpers defined when a cell first uses them (defining them at start would
cost every kernel a third of a second, most of which never draw anything).

Independent of Jupyter's messages: the kernel (kernel.py) turns what this says into them.
"""

from __future__ import annotations

import logging
import re
import signal
from dataclasses import dataclass

from jupyter_service.kernels.haskell.ghci.helpers import render_helpers
from jupyter_service.kernels.haskell.ghci.literals import read_haskell_string, render_haskell_string
from jupyter_service.kernels.haskell.ghci.patterns import Failure, find_failure, packages_changed
from jupyter_service.kernels.haskell.ghci.process import Ghci, GhciOptions, Reply, Sink
from jupyter_service.kernels.haskell.ghci.splitter import Input, split_cell

log = logging.getLogger("jupyter_service.ghci")

_BASE_HELPERS = re.compile(r"\b(?:html|svg|markdown|latex|pngFile|pngBytes|jpegFile|displayMime)\b")
_AESON_HELPERS = re.compile(r"\bvegaLite\b")
# ghci commands after which the interactive bindings, helpers included, are gone.
_UNLOADING = ("load", "reload", "add", "cd", "unadd")
# GHC's flags that change which packages ghci sees: a kernel with its own package database
# sees only what its configuration names (its database holds their dependencies too, hidden).
_PACKAGE_FLAGS = re.compile(
    r"(?:^|\s)-(?:package(?:-id|-db|-conf|-env)?|expose-package|hide-package|hide-all-packages"
    r"|ignore-package|trust|distrust|distrust-all-packages|clear-package-db"
    r"|(?:no-)?global-package-db|(?:no-)?user-package-db)(?=[\s=]|$)"
)
_COMPLETE_LIMIT = 200


@dataclass(frozen=True)
class Completion:
    matches: list[str]
    start: int
    end: int


def _quiet(_name: str, _text: str) -> None:
    pass


_DISCARD = Sink(stream=_quiet, display=lambda _frame: None)


class GhciRepl:
    def __init__(self, options: GhciOptions, ghci: Ghci | None = None) -> None:
        """Adopt `ghci` when the kernel started it early (see __main__), else start one."""
        self.options = options
        self._ghci = ghci if ghci is not None else Ghci(options)
        self._defined: set[int] = set()
        self._aeson_missing = False
        self._notice: str | None = None
        self._interrupted = False
        self._version: str | None = None

    @property
    def version(self) -> str:
        """The GHC version ghci announced (waits for ghci's first prompt)."""
        if self._version is None:
            self.wait_ready()
        return self._version or ""

    def wait_ready(self) -> None:
        """Wait for ghci's first prompt; the banner says which GHC it is."""
        found = re.search(r"GHCi, version (\S+):", self._ghci.wait_ready())
        if found or self._version is None:
            self._version = found.group(1) if found else ""

    def execute(self, cell: str, sink: Sink) -> Failure | None:
        """Run a cell's inputs in turn, up to the first that fails."""
        self._ensure_running()
        if self._notice:
            sink.stream("stderr", self._notice + "\n")
            self._notice = None
        self._define_helpers(cell)
        self._interrupted = False
        for item in split_cell(cell):
            if self._interrupted:  # between two inputs, when ghci was idle
                return Failure("Interrupted", "Interrupted.", ["Interrupted."])
            refused = self._refuse(item)
            if refused is not None:
                return refused
            reply = self._ghci.run(item.text, sink)
            failure = self._judge(reply, sink)
            if failure is not None:
                return failure
            if item.command and any(name.startswith(item.command) for name in _UNLOADING):
                self._defined.clear()
                self._define_helpers(cell)
        return None

    def complete(self, code: str, cursor: int) -> Completion:
        """ghci's own completion (`:complete repl`) of the line up to the cursor."""
        self._ensure_running()
        self._define_helpers(code, base=True)  # so that they complete before first use
        line_start = code.rfind("\n", 0, cursor) + 1
        line = code[line_start:cursor]
        command = f':complete repl {_COMPLETE_LIMIT} "{render_haskell_string(line)}"\n'
        reply = self._ghci.run(command, _DISCARD)
        if reply.exit_status is not None:
            self._restart(reply.exit_status, reply.stderr)
            return Completion([], cursor, cursor)
        lines = reply.stdout.splitlines()
        header = re.match(r'^\d+ \d+ (".*")$', lines[0]) if lines else None
        if header is None:
            return Completion([], cursor, cursor)
        kept = len(read_haskell_string(header.group(1)))
        matches = [read_haskell_string(text) for text in lines[1:]]
        return Completion(matches, line_start + kept, cursor)

    def inspect(self, code: str, cursor: int) -> str | None:
        """`:info` of the name at the cursor, or None when ghci knows nothing of it."""
        name = _name_at(code, cursor)
        if not name:
            return None
        self._ensure_running()
        reply = self._ghci.run(f":info {name}\n", _DISCARD)
        if reply.exit_status is not None:
            self._restart(reply.exit_status, reply.stderr)
            return None
        if find_failure(reply.stdout, reply.stderr) is not None or not reply.stdout.strip():
            return None
        return reply.stdout

    def interrupt(self) -> None:
        """Stop the cell that runs (from the kernel's SIGINT handler)."""
        self._interrupted = True
        self._ghci.interrupt()

    def shutdown(self) -> None:
        self._ghci.kill()

    @property
    def pid(self) -> int:
        return self._ghci.pid

    def _ensure_running(self) -> None:
        self._ghci.wait_ready()
        if not self._ghci.alive():
            self._restart(self._ghci.process.wait(), "")

    def _restart(self, status: int | None, stderr: str) -> str:
        message = render_restart_message(status)
        log.warning("%s%s", message, f"; its last words: {stderr.strip()}" if stderr else "")
        self._ghci.kill()
        self._ghci = Ghci(self.options)
        self._defined.clear()
        self._notice = message
        self.wait_ready()
        return message

    def _judge(self, reply: Reply, sink: Sink) -> Failure | None:
        if reply.exit_status is not None:
            message = self._restart(reply.exit_status, reply.stderr)
            if reply.killed_after_interrupt:
                message = render_restart_message(None, after_interrupt=True)
            self._notice = None
            lines = [*reply.stderr.rstrip("\n").split("\n"), message] if reply.stderr else [message]
            return Failure("GhciExited", message, lines)
        failure = find_failure(reply.stdout, reply.stderr)
        if self.options.package_db is not None and packages_changed(reply.stdout):
            # Round the :set guard (`:cmd`, `:script`): back to the configured packages.
            self._ghci.kill()
            self._restart(self._ghci.process.returncode, "")
            self._notice = None
            message = render_packages_fixed_message(restarted=True)
            return Failure("GhciError", message, [message])
        if failure is None:
            if reply.stderr:
                sink.stream("stderr", reply.stderr)
            if reply.interrupted:
                return Failure("Interrupted", "Interrupted.", ["Interrupted."])
            return None
        if failure.before:
            sink.stream("stderr", failure.before)
        return self._add_hints(failure)

    def _add_hints(self, failure: Failure) -> Failure:
        if self._aeson_missing and "not in scope: vegalite" in failure.evalue.lower():
            hint = (
                'hint: vegaLite needs the aeson package: add "aeson" to this kernel\'s '
                "extraPackages"
            )
            return Failure(failure.ename, failure.evalue, [*failure.traceback, hint])
        return failure

    def _refuse(self, item: Input) -> Failure | None:
        """`:set -package ...` and the like, in a kernel whose packages are configured."""
        if self.options.package_db is None or not item.command:
            return None
        if not ("set".startswith(item.command) or "seti".startswith(item.command)):
            return None
        if _PACKAGE_FLAGS.search(item.text) is None:
            return None
        message = render_packages_fixed_message()
        return Failure("GhciError", message, [item.text.rstrip("\n"), message])

    def _define_helpers(self, code: str, *, base: bool = False) -> None:
        """Define the helpers `code` uses (and base's with `base`) that are not yet."""
        wanted = [
            index
            for index, pattern in enumerate((_BASE_HELPERS, _AESON_HELPERS))
            if index not in self._defined and (pattern.search(code) or (base and index == 0))
        ]
        if not wanted:
            return
        sources = render_helpers(self._ghci.token)
        for index in sorted({0, *wanted}):
            if index in self._defined:
                continue
            reply = self._ghci.run(f":{{\n{sources[index].rstrip()}\n:}}\n", _DISCARD)
            failure = find_failure(reply.stdout, reply.stderr)
            if failure is None:
                self._defined.add(index)
            elif index == 0:
                log.error("the display helpers do not compile: %s", reply.stderr)
            else:
                self._aeson_missing = True
                self._defined.add(index)  # asked once per ghci: aeson will not appear


def render_packages_fixed_message(*, restarted: bool = False) -> str:
    text = (
        "this kernel sees only the packages its configuration names: add the package to "
        "the kernel's extraPackages, then run `jupyter-service switch`"
    )
    if restarted:
        text += (
            ". ghci was restarted with the configured packages: the definitions, imports "
            "and settings of earlier cells are gone, run those cells again."
        )
    return text


def render_restart_message(status: int | None, *, after_interrupt: bool = False) -> str:
    if after_interrupt:
        how = "did not stop within a few seconds of the interrupt and was killed"
    elif status is None:
        how = "exited"
    elif status < 0:
        how = f"was killed by {signal.Signals(-status).name}"
    else:
        how = f"exited with status {status}"
    return (
        f"ghci {how}. A fresh ghci was started: the definitions, imports and settings of "
        "earlier cells are gone, run those cells again."
    )


_NAME_CHARS = re.compile(r"[\w'.]")


def _name_at(code: str, cursor: int) -> str:
    start = cursor
    while start > 0 and _NAME_CHARS.match(code[start - 1]):
        start -= 1
    end = cursor
    while end < len(code) and _NAME_CHARS.match(code[end]):
        end += 1
    return code[start:end].strip(".")
