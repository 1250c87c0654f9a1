"""GHC 9.0's text for failures, in one place: what in ghci's output of one input makes that
input a failure (an error reply), and what is only a warning or the user's own stderr.

ghci prints compile errors and uncaught exceptions on stderr just before its prompt, and a
few command failures (`unknown command`, a failed `:load`) on stdout. The tests hold output
captured from ghci 9.0.2 (tests/golden/ghci-9.0.2.json); a new GHC whose wording differs
fails them here first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A diagnostic with a source span: `<interactive>:3:5: error:`, `Foo.hs:4:11-13: error:`,
# `Foo.hs:(4,1)-(5,9): error:`; also GHC's `<no location info>: error:`.
_SPAN = r"(?::\d+:\d+(?:-\d+)?|:\(\d+,\d+\)-\(\d+,\d+\))"
_COMPILE_ERROR = re.compile(rf"^(?:\S[^\n]*?{_SPAN}|<no location info>|<command line>): error:")
_WARNING = re.compile(rf"^\S[^\n]*?{_SPAN}: warning:")
_EXCEPTION = re.compile(r"^\*\*\* Exception: ")
_INTERRUPTED = re.compile(r"^Interrupted\.$")
# ghci's own command failures, on stderr.
_GHCI_STDERR = re.compile(
    r"^(?:cannot satisfy -package|Some flags have not been recognized:"
    r"|target .* is not a module name or a source file)"
)
# ... and on stdout.
_GHCI_STDOUT = re.compile(r"^(?:unknown command '|Failed, (?:no|\S+) modules? loaded\.)", re.M)


# What ghci says on stdout when its package flags changed (by whatever route).
_PACKAGES_CHANGED = re.compile(
    r"^package flags have changed, resetting and loading new packages", re.M
)


@dataclass(frozen=True)
class Failure:
    """Why one ghci input failed: `ename`/`evalue` for the error reply, `traceback` the
    lines a notebook shows; `before` is stderr text printed ahead of the failure (the
    user's own output, warnings) that belongs in the stderr stream."""

    ename: str
    evalue: str
    traceback: list[str]
    before: str = ""


def find_failure(stdout: str, stderr: str) -> Failure | None:
    """The failure in the output of one input, or None when it succeeded (warnings and the
    user's stderr alone are not failures)."""
    lines = stderr.splitlines(keepends=True)
    for index, line in enumerate(lines):
        ename = _failure_kind(line.rstrip("\n"))
        if ename is not None:
            # GHC puts a blank line before each diagnostic: it goes with the diagnostic.
            before = "".join(lines[:index]).rstrip("\n")
            before = before + "\n" if before else ""
            failed = "".join(lines[index:])
            return Failure(ename, _evalue(ename, failed), _traceback(failed), before)
    match = _GHCI_STDOUT.search(stdout)
    if match is not None:
        line = stdout[match.start() :].splitlines()[0]
        text = stderr.strip("\n")
        return Failure("GhciError", line, _traceback(text) if text else [line])
    return None


def packages_changed(stdout: str) -> bool:
    return _PACKAGES_CHANGED.search(stdout) is not None


def is_warning(line: str) -> bool:
    return _WARNING.match(line) is not None


def _failure_kind(line: str) -> str | None:
    if _COMPILE_ERROR.match(line):
        return "CompileError"
    if _EXCEPTION.match(line):
        return "Exception"
    if _INTERRUPTED.match(line):
        return "Interrupted"
    if _GHCI_STDERR.match(line):
        return "GhciError"
    return None


def _evalue(ename: str, failed: str) -> str:
    """The one line a notebook shows in summaries: the exception text, or the first line
    of the diagnostic's message."""
    first, _, rest = failed.partition("\n")
    if ename == "Exception":
        return first.removeprefix("*** Exception: ")
    if ename == "CompileError":
        inline = first.partition(": error:")[2].strip()
        if inline:
            return inline
        for line in rest.splitlines():
            text = line.strip().removeprefix("• ")
            if text:
                return text
    return first.strip()


def _traceback(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")
