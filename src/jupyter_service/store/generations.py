"""Generations: `<state>/generations/N` holds kernelspecs pointing into the store and a
manifest; `<state>/current` is a symlink to one of them, replaced with one atomic rename
(`rollback` is that rename, back to an earlier one)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import make_dirs, write_text_atomic
from jupyter_service.paths import GENERATION_KERNELS as KERNELS
from jupyter_service.paths import ServicePaths
from jupyter_service.state_files import (
    SHARED_DIR,
    ensure_dir,
    find_unsafe_state,
    open_lock,
    refuse,
)
from jupyter_service.store.manifest import ManifestEntry

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Generation:
    number: int
    path: Path
    manifest: dict[str, Any]

    @property
    def kernels(self) -> dict[str, ManifestEntry]:
        """The manifest's kernels, typed (entries of older formats migrated as they load)."""
        where = str(self.path / MANIFEST)
        return {
            str(name): ManifestEntry.from_dict(entry, where)
            for name, entry in dict(self.manifest.get("kernels", {})).items()
        }

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))


@contextlib.contextmanager
def state_lock(state: Path) -> Iterator[None]:
    """One switch, rollback or gc at a time on a state dir."""
    ensure_dir(state, SHARED_DIR, state)
    with os.fdopen(open_lock(ServicePaths(state).state_lock, state), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            # What is switched to is served: nothing another account could have written.
            refuse(find_unsafe_state(ServicePaths(state)))
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_number(state: Path) -> int | None:
    try:
        target = os.readlink(ServicePaths(state).current)
    except OSError:
        return None
    name = Path(target).name
    return int(name) if name.isdigit() else None


def read_generation(state: Path, number: int) -> Generation | None:
    path = ServicePaths(state).generation(number)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return Generation(number, path, manifest)


def list_generations(state: Path) -> list[Generation]:
    directory = ServicePaths(state).generations
    if not directory.is_dir():
        return []
    numbers = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())
    found = (read_generation(state, n) for n in numbers)
    return [g for g in found if g is not None]


def current_generation(state: Path) -> Generation | None:
    number = current_number(state)
    return read_generation(state, number) if number is not None else None


def set_current(state: Path, number: int) -> None:
    """Make generation `number` current: a new symlink renamed over the old one."""
    where = ServicePaths(state)
    tmp = where.current.with_name(f".{where.current.name}-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    # Relative, so a state dir moved or seen through another mount stays whole.
    os.symlink(where.generation(number).relative_to(where.current.parent), tmp)
    os.replace(tmp, where.current)


def _write_kernel_dir(directory: Path, name: str, entry: ManifestEntry, number: int) -> None:
    from jupyter_service.kernels import language

    backend = language(entry.language)
    make_dirs(directory, 0o755)
    spec = backend.render_kernelspec(name, entry, number)
    (directory / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    for logo in backend.find_logos(entry):
        shutil.copyfile(logo, directory / logo.name)
    for written in directory.iterdir():
        written.chmod(0o644)


def rewrite_kernelspec(generation: Generation, name: str) -> None:
    """Write generation `generation`'s kernelspec of `name` again from its manifest, aside
    and renamed over the damaged one."""
    entry = generation.kernels[name]
    kernels = generation.path / KERNELS
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=generation.path))
    try:
        _write_kernel_dir(work / name, name, entry, generation.number)
        doomed = work / ".damaged"
        if (kernels / name).exists():
            (kernels / name).rename(doomed)
        kernels.mkdir(exist_ok=True)
        (work / name).rename(kernels / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_generation(
    state: Path, kernels: dict[str, ManifestEntry], config: str | None
) -> Generation:
    """Write generation N+1 aside, rename it into place, then make it current."""
    where = ServicePaths(state)
    directory = ensure_dir(where.generations, SHARED_DIR, state)
    number = max([_last_number(state), *(g.number for g in list_generations(state))]) + 1
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    try:
        for name, entry in sorted(kernels.items()):
            _write_kernel_dir(work / KERNELS / name, name, entry, number)
        make_dirs(work / KERNELS, 0o755)
        manifest = {
            "generation": number,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": config,
            "kernels": {name: entry.to_dict() for name, entry in kernels.items()},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (work / MANIFEST).chmod(0o644)
        work.chmod(0o755)
        work.rename(where.generation(number))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    set_current(state, number)
    _write_last(state, number)
    return Generation(number, where.generation(number), manifest)


def _write_last(state: Path, number: int) -> None:
    """Record `number` as the newest generation made current: numbers are never reused,
    even after gc removed the newest generations; a newer one is a killed switch's."""
    write_text_atomic(
        ServicePaths(state).generation_counter,
        f"{number}\n",
        mode=0o644,
        what="the generation counter",
    )


def _last_number(state: Path) -> int:
    try:
        return int(ServicePaths(state).generation_counter.read_text())
    except (OSError, ValueError):
        return 0


def remove_generation(generation: Generation) -> None:
    """Remove a generation dir (never the current one: callers check)."""
    doomed = generation.path.with_name(f".tmp-gc-{generation.number}")
    generation.path.rename(doomed)
    shutil.rmtree(doomed)


def remove_stale_work(state: Path) -> None:
    """Remove what a killed switch, rollback or gc left (callers hold the state lock): temp
    generations, a generation counter being written, a `current` link being made; and
    finish a generation it renamed into place."""
    where = ServicePaths(state)
    counter = where.generation_counter.name
    if where.generations.is_dir():
        for entry in where.generations.iterdir():
            if entry.name.startswith(".tmp-") and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.name.startswith(f".{counter}.") and entry.name.endswith(".tmp"):
                entry.unlink(missing_ok=True)  # write_text_atomic's temp file
    for entry in state.glob(f".{where.current.name}-*"):
        entry.unlink(missing_ok=True)
    finish_interrupted_switch(state)


def finish_interrupted_switch(state: Path) -> None:
    """What a switch killed between renaming its generation into place and recording it in
    the generation counter left (callers hold the state lock): made current, it is
    complete and recorded now; not current, it was never served and is removed (the next
    switch writes it again, under the same number)."""
    where = ServicePaths(state)
    if not where.generations.is_dir():
        return
    numbers = [int(p.name) for p in where.generations.iterdir() if p.name.isdigit()]
    newest = max(numbers, default=0)
    if newest <= _last_number(state):
        return
    current = current_number(state)
    # Without a counter at all (made by an early version), only a current one is known.
    if newest == current or (current is not None and not where.generation_counter.exists()):
        _write_last(state, newest)
    else:
        remove_generation(Generation(newest, where.generation(newest), {}))


def rollback(state: Path, number: int | None = None, *, config: Path | None = None) -> Generation:
    """Make generation `number` current, by default the one before the current one.
    `config`, where one was given, goes into the hints."""
    from jupyter_service.hints import generations_hint, switch_hint

    with state_lock(state):
        remove_stale_work(state)
        current = current_number(state)
        known = {g.number: g for g in list_generations(state)}
        if number is None:
            earlier = [n for n in known if current is None or n < current]
            if not earlier:
                raise ServiceError(
                    "no generation before the current one"
                    + (f" ({current})" if current is not None else ""),
                    hint=generations_hint(config),
                )
            number = max(earlier)
        if number not in known:
            raise ServiceError(f"no generation {number}", hint=generations_hint(config))
        missing = [
            name
            for name, entry in known[number].kernels.items()
            if not Path(entry.store_path).is_dir()
        ]
        if missing:
            raise ServiceError(
                f"generation {number} cannot be restored: the store paths of "
                f"{', '.join(missing)} were removed",
                hint=switch_hint(config, state),
            )
        set_current(state, number)
        return known[number]
