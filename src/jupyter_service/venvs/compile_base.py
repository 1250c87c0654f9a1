"""Byte-code for a new base venv, written behind the first `create` by the base's own
interpreter (`python -I compile_base.py ...`) in a process that outlives `create`.
Standard library only: it runs outside our environment.

1. **Seed**, at normal priority: byte-code our own environment already holds for a source file
   byte-for-byte identical to one in the base is copied into the base (its header made to
   match the base's file). The files a kernel start reads come first, in the order it reads
   them (kernel_start_files.txt): a copy costs about a tenth of a ms, compiling about 1.5 ms,
   so a kernel started at once finds them ready instead of compiling them itself.
2. **Compile**, at idle priority: the rest of what can be seeded, then what a kernel start
   reads and could not be seeded, then the whole of site-packages (`compileall`, which
   skips what is already valid).

A file whose copy in our environment differs, or has no valid byte-code, is left to step 2.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

# Written into the base once its byte-code is complete (JSON: what was seeded, compiled).
COMPILED_MARKER = ".jupyter-service-compiled"
# Held while compiling: one compile per base at a time. `create` takes it before starting
# us and hands it over (`--lock-fd`), so a second `create` right behind never starts another.
COMPILE_LOCK = ".jupyter-service-compile.lock"
# Site-packages-relative sources a kernel start reads, in order (scripts/kernel_start_files.py)
KERNEL_START_FILES = Path(__file__).with_name("kernel_start_files.txt")

_TIMESTAMP = 0
_HASH_BASED = 0b01  # unchecked; with 0b10 set, checked (PEP 552)


def pyc_valid_for(pyc: bytes, source: bytes, stat: os.stat_result) -> bool:
    """Whether this interpreter's import system would take `pyc` for that source without
    compiling it again: its magic, then its timestamp and size, or its source hash."""
    import importlib.util

    if len(pyc) < 16 or pyc[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(pyc[4:8], "little")
    if flags == _TIMESTAMP:
        return pyc[8:16] == _timestamp_fields(stat)
    if flags & _HASH_BASED and not flags & ~0b11:
        return pyc[8:16] == importlib.util.source_hash(source)
    return False


def _timestamp_fields(stat: os.stat_result) -> bytes:
    mtime = int(stat.st_mtime) & 0xFFFFFFFF
    return mtime.to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")


def trusted(stat: os.stat_result) -> bool:
    """Byte-code we copy is code every venv kernel runs: only from a file that its owner
    (root or us) alone may write."""
    return stat.st_uid in (0, os.getuid()) and not stat.st_mode & 0o022


def _read(path: str) -> tuple[bytes, os.stat_result]:
    with open(path, "rb") as f:
        return f.read(), os.fstat(f.fileno())


def seed_file(base_site: Path, our_sites: Sequence[Path], rel: str, made: set[str]) -> bool:
    """Copy our byte-code of `rel` into the base when both sources are identical and ours is
    valid. True when the base has valid byte-code for it afterwards from this copy.
    `made`: __pycache__ dirs known to exist (saves a mkdir per file)."""
    from importlib.util import cache_from_source

    target = os.path.join(base_site, rel)
    out = cache_from_source(target)
    if os.path.exists(out):
        return False  # written already, by a kernel or an earlier compile
    for site in our_sites:
        ours = os.path.join(site, rel)
        try:
            code, code_stat = _read(cache_from_source(ours))
            source, stat = _read(ours)
        except OSError:
            continue
        if not (trusted(code_stat) and pyc_valid_for(code, source, stat)):
            continue
        try:
            base_source, base_stat = _read(target)
        except OSError:
            return False
        if base_source != source:
            continue
        # Always a timestamp header (the code after the 16 bytes is the same in both
        # kinds): what compileall takes for current, and checked against the base's file.
        code = code[:4] + bytes(4) + _timestamp_fields(base_stat) + code[16:]
        cache = os.path.dirname(out)
        if cache not in made:
            os.makedirs(cache, exist_ok=True)
            made.add(cache)
        _write_atomic(out, code, (base_stat.st_mode & 0o666) | 0o200)
        return True
    return False


def _write_atomic(path: str, data: bytes, mode: int) -> None:
    """As the import system writes byte-code: a temp file renamed over, so a kernel reading
    it at the same time sees all of it or none."""
    temp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def seed(base_site: Path, our_sites: Sequence[Path], rels: Iterable[str]) -> int:
    """Seed each of `rels`; the number of files seeded."""
    seeded = 0
    made: set[str] = set()
    for rel in rels:
        try:
            seeded += seed_file(base_site, our_sites, rel, made)
        except OSError:
            continue  # that file is compiled later, as any other
    return seeded


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return (
        rel.endswith(".py")
        and not rel.startswith("/")
        and ".." not in parts
        and "__pycache__" not in parts
    )


def kernel_start_files(listing: Path = KERNEL_START_FILES) -> list[str]:
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return []
    return [line for line in lines if line and not line.startswith("#") and _safe_rel(line)]


def shared_sources(base_site: Path, our_sites: Sequence[Path]) -> Iterator[str]:
    """The .py files of every distribution installed at the same version in the base and in
    one of `our_sites` (from the base's RECORD)."""
    ours = {p.name for site in our_sites for p in site.glob("*.dist-info")}
    for dist in sorted(base_site.glob("*.dist-info")):
        if dist.name not in ours:
            continue
        try:
            lines = (dist / "RECORD").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            rel = line.split(",", 1)[0]
            if _safe_rel(rel):
                yield rel


def idle() -> None:
    """Linux's idle scheduling: it runs only on a CPU nothing else wants (its disk I/O
    follows, as the idle class of I/O, where the I/O scheduler has classes); nice 19
    elsewhere."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def take_lock(base: Path) -> int | None:
    """The base's compile lock, held (an open fd), or None while another holds it."""
    fd = os.open(base / COMPILE_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def compile_base(base: Path, site: Path, our_sites: Sequence[Path]) -> dict[str, float]:
    """Seed, then compile, the base (the caller holds its compile lock); leave the marker."""
    started = time.monotonic()
    # Only byte-code of this interpreter's own version is ever found (its cache tag is in
    # the file name, its magic number in the header).
    start_files = kernel_start_files()
    first = seed(site, our_sites, start_files)
    first_seconds = time.monotonic() - started
    idle()
    rest = seed(site, our_sites, shared_sources(site, our_sites))
    import compileall
    from py_compile import PycInvalidationMode

    timestamp = PycInvalidationMode.TIMESTAMP
    for rel in start_files:
        if (site / rel).is_file():
            compileall.compile_file(site / rel, quiet=2, invalidation_mode=timestamp)
    compileall.compile_dir(site, quiet=2, workers=1, invalidation_mode=timestamp)
    report = {
        "seeded_kernel_start": first,
        "seeded_kernel_start_seconds": round(first_seconds, 3),
        "seeded": first + rest,
        "seconds": round(time.monotonic() - started, 3),
    }
    (base / COMPILED_MARKER).write_text(json.dumps(report) + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("site", type=Path)
    parser.add_argument("--ours", type=Path, action="append", default=[], help="seed from")
    parser.add_argument("--lock-fd", type=int, help="the compile lock, taken by our caller")
    args = parser.parse_args(argv)
    lock = args.lock_fd if args.lock_fd is not None else take_lock(args.base)
    if lock is None:
        return 0  # another one is at it
    if not (args.base / COMPILED_MARKER).exists():
        compile_base(args.base, args.site, args.ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
