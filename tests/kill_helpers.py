"""Kill -9 a command at an exact point, then compare what the next run leaves with what one
clean run leaves.

The point is a system call: strace delivers SIGKILL as the command enters its Nth
`rename` (or `symlink`, `unlink`...), so the call never happens, and everything before it
did. No hook in the code: the command is the one an admin runs. Counting the calls of a
clean run under strace names every such point, with its arguments."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

STRACE = shutil.which("strace")
# Small files whose contents say what a tree means; everything else is compared by name
# and kind. Keys that differ between two good runs (times, caches) are dropped.
METADATA = {"kernel.json", "manifest.json", ".last", "pyvenv.cfg", ".jupyter-service.json"}
VOLATILE_KEYS = {"created", "usage"}


@functools.cache
def strace_works() -> bool:
    if STRACE is None:
        return False
    proc = subprocess.run([STRACE, "-qq", "-o", os.devnull, "true"], capture_output=True)
    return proc.returncode == 0


needs_strace = pytest.mark.skipif(
    not strace_works(), reason="strace is missing or may not trace here (ptrace refused)"
)


def command(program: str, *args: str) -> list[str]:
    """A console script's command line; `-B`: the count of calls does not depend on
    whether Python had its byte-code cached already."""
    return [sys.executable, "-B", "-m", program, *args]


@dataclass(frozen=True)
class Call:
    """One traced system call: its name, its index among calls of that name (1-based, as
    strace's `when=` counts), and its arguments as strace prints them."""

    name: str
    number: int
    args: str


def trace_calls(
    argv: list[str], syscalls: str, *, env: Mapping[str, str], log: Path
) -> tuple[subprocess.CompletedProcess[str], list[Call]]:
    """Run `argv` to its end under strace; return its result and every call in `syscalls`
    (comma-separated) it made, in order."""
    assert STRACE is not None
    proc = subprocess.run(
        [STRACE, "-qq", "-s", "512", "-o", str(log), "-e", f"trace={syscalls}", "--", *argv],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    calls: list[Call] = []
    seen: dict[str, int] = {}
    for line in log.read_text().splitlines():
        match = re.match(r"(\w+)\((.*)\)\s+=", line)
        if match:
            seen[match[1]] = seen.get(match[1], 0) + 1
            calls.append(Call(match[1], seen[match[1]], match[2]))
    return proc, calls


def kill_at(argv: list[str], call: Call, *, env: Mapping[str, str]) -> None:
    """Run `argv` and SIGKILL it as it enters `call` (that call does not happen). Its
    output goes nowhere: a child it left running would hold a pipe open."""
    assert STRACE is not None
    inject = f"inject={call.name}:signal=KILL:when={call.number}"
    proc = subprocess.run(
        [STRACE, "-qq", "-o", os.devnull, "-e", f"trace={call.name}", "-e", inject, "--", *argv],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=900,
    )
    assert proc.returncode == -signal.SIGKILL, f"not killed at {call} (exit {proc.returncode})"


def processes_mentioning(text: str, *, grace: float = 10) -> list[str]:
    """The command lines of processes that name `text` (a dir a killed command worked in)
    and still run after `grace` seconds: what the command left running. (Its children
    die with it, by a signal of their own, a moment later.)"""
    deadline = time.monotonic() + grace
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text in cmdline.decode(errors="replace"):
                found.append(f"{entry.name}: {cmdline.decode(errors='replace')}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def render_problems(found: dict[str, list[str]]) -> str:
    """Each kill point, and what went wrong after it, for an assertion message."""
    return "\n".join(f"killed at {point}:\n  " + "\n  ".join(p) for point, p in found.items())


def kill_when(
    argv: list[str], seen: Callable[[int], bool], *, env: Mapping[str, str], timeout: float = 300
) -> None:
    """Run `argv` and SIGKILL it as soon as `seen(pid)` (polled) says it got there."""
    proc = subprocess.Popen(
        argv, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    try:
        while not seen(proc.pid):
            assert proc.poll() is None, f"{argv} ended ({proc.returncode}) before the point"
            assert time.monotonic() < deadline, f"{argv} never got to the point"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait(timeout=60)


def children(pid: int) -> list[str]:
    """The command lines of `pid`'s direct children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", status, re.M):
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _metadata(path: str) -> object:
    text = Path(path).read_text(errors="replace")
    if not path.endswith(".json"):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and "files" in data and data.get("format") == 1:
        # A store path's content record: its names and kinds (a rebuild's hashes of byte
        # code differ from the first build's).
        return {rel: entry[0] for rel, entry in data["files"].items()}
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in VOLATILE_KEYS}
    return data


def snapshot(root: Path) -> dict[str, object]:
    """What a tree holds: every entry's name and kind, a link's target, a directory's
    writability, and the contents of small metadata files (and content records)."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                found[rel] = ("dir", "writable" if mode & 0o200 else "read-only")
            elif name in METADATA or os.path.basename(dirpath) == ".contents":
                found[rel] = ("file", _metadata(path))
            else:
                found[rel] = ("file",)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return found


def differences(got: dict[str, object], want: dict[str, object]) -> list[str]:
    """What `got` has that `want` lacks, lacks that it has, and has otherwise."""
    return (
        [f"extra {k}: {got[k]}" for k in sorted(set(got) - set(want))]
        + [f"missing {k}: {want[k]}" for k in sorted(set(want) - set(got))]
        + [
            f"differs {k}: {got[k]} != {want[k]}"
            for k in sorted(got)
            if k in want and got[k] != want[k]
        ]
    )


def restore(saved: Path, target: Path, *, linked: tuple[str, ...] = ("store", "venvs")) -> None:
    """Make `target` a copy of `saved` (modes, links, read-only store paths). Its `linked`
    top-level dirs are hard-linked, not copied (the store is large, and nothing writes
    into a file of it in place); everything else is copied."""
    if target.exists():
        # Dirs only: a file's mode is its inode's, shared with the saved copy.
        subprocess.run(["find", str(target), "-type", "d", "-exec", "chmod", "u+w", "{}", "+"])
        shutil.rmtree(target)
    target.mkdir()
    shutil.copystat(saved, target)
    for entry in saved.iterdir():
        flags = "-al" if entry.name in linked else "-a"
        subprocess.run(["cp", flags, str(entry), str(target / entry.name)], check=True)


def save(source: Path, saved: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(saved)], check=True)
    return saved
