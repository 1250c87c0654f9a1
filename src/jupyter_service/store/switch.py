"""The stable tier's jobs over a config: lock its kernels, plan and switch, roll back."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jupyter_service.config import PYTHON_BASE, ServiceConfig
from jupyter_service.errors import ServiceError, Terminated, disk_full_error, terminate_as_exception
from jupyter_service.fsutil import tree_size
from jupyter_service.hints import service_hint
from jupyter_service.kernels import (
    Language,
    Languages,
    LockedKernel,
    StableKernel,
    find_language,
    language,
    language_names,
)
from jupyter_service.paths import ServicePaths
from jupyter_service.progress import format_duration, format_size
from jupyter_service.store import build, generations, lock, verify
from jupyter_service.store.manifest import ManifestEntry

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@contextlib.contextmanager
def _os_errors(what: str, where: Path, doing: str) -> Iterator[None]:
    """A disk full or a directory we may not write is a message, not a traceback; the
    current generation is untouched either way. A full disk names the filesystem of `where`
    (what we write), not the file an OSError happens to carry (a copy's source)."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise disk_full_error(where, doing) from None
        raise ServiceError(
            f"{what}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
            hint="free space or fix the permissions, then run the command again",
        ) from None


def stable_kernels(config: ServiceConfig) -> list[StableKernel]:
    """The enabled stable kernels this version builds."""
    return [k for k in config.stableKernels if k.enable and find_language(k.language)]


def unbuilt_kernels(config: ServiceConfig) -> list[StableKernel]:
    """Enabled stable kernels in a language this version does not build yet."""
    return [k for k in config.stableKernels if k.enable and not find_language(k.language)]


def _config_path(config: ServiceConfig) -> Path:
    if config.source is None:
        raise ServiceError(
            "stable kernels need a config file; the embedded default has none",
            hint=f"write a config with [extraKernels.{PYTHON_BASE}] and pass it with --config",
        )
    return config.source


def lock_hint(config: Path, state: Path, *options: str) -> str:
    """`jupyter-service lock [options] --config ABS`, with sudo where the lock dir or the
    state dir is not ours to write."""
    return service_hint("lock", *options, config=config, writes=[lock.lock_root(config), state])


def find_lock_problems(config: ServiceConfig, state: Path) -> list[tuple[str, str]]:
    """Lock files that are there but damaged (truncated, garbage), by kernel, each with what
    fixes it; found without resolving (`check` runs it)."""
    if config.source is None:
        return []
    root = lock.lock_root(config.source)
    problems = []
    for kernel in stable_kernels(config):
        for problem in language(kernel.language).find_lock_problems(kernel, root):
            fix = lock_hint(config.source, state)
            problems.append((f"extraKernels.{kernel.name}", f"{problem}; lock again: `{fix}`"))
    return problems


def missing_locks(config: ServiceConfig) -> list[str]:
    """Stable kernels with no lock file at all (what `up` locks by itself)."""
    kernels = stable_kernels(config)
    if not kernels:
        return []
    root = lock.lock_root(_config_path(config))
    languages = Languages()
    return [k.name for k in kernels if not languages(k.language).has_lock(k, root)]


def lock_kernels(
    config: ServiceConfig, state: Path, *, upgrade: bool | str = False, say: Say = _quiet
) -> list[str]:
    """Resolve every stable kernel and write its lock. Return the names that changed."""
    path = _config_path(config)
    kernels = stable_kernels(config)
    names = [k.name for k in kernels]
    if isinstance(upgrade, str) and upgrade not in names:
        raise ServiceError(
            f"no stable kernel named {upgrade!r} in {path}",
            hint=lock_hint(path, state, "--upgrade", names[0] if names else PYTHON_BASE),
        )
    root = lock.lock_root(path)
    lock.remove_stale_work(root)
    languages = Languages()
    logs = ServicePaths(state).logs
    for kernel in kernels:
        languages(kernel.language).provide(kernel, root, logs=logs, say=say)
    # Every toolchain is found before anything is written.
    toolchains = {k.name: languages(k.language).describe_toolchain(k) for k in kernels}
    changed = []
    for kernel in kernels:
        again = upgrade is True or upgrade == kernel.name
        say(f"locking {kernel.name} ({toolchains[kernel.name]})" + (", upgrading" if again else ""))
        with (
            _os_errors(
                f"cannot write the lock of {kernel.name} in {root}",
                root,
                f"writing the lock of {kernel.name}",
            ),
            lock.lock_root_ready(root),
        ):
            backend = languages(kernel.language)
            if backend.write_lock(kernel, root, upgrade=again, logs=logs):
                changed.append(kernel.name)
    # A lock dir is removed by the language that wrote it, whichever the config still has.
    backends = [languages(name) for name in language_names()]
    keep = {k.name for k in config.stableKernels}
    for name in lock.remove_stale_locks(
        root, keep, lambda d: any(b.remove_lock(d) for b in backends)
    ):
        say(f"removed the lock of {name}, no longer in the config")
        changed.append(name)
    return changed


@dataclass(frozen=True)
class KernelPlan:
    locked: LockedKernel
    display_name: str
    store_path: Path

    @property
    def kernel(self) -> StableKernel:
        return self.locked.kernel

    def entry(self) -> ManifestEntry:
        """The kernel's entry in a generation's manifest (what a no-op switch compares)."""
        return ManifestEntry(
            language=self.kernel.language,
            store_path=str(self.store_path),
            lock_sha256=self.locked.lock_sha256,
            display_name=self.display_name,
            env=dict(self.kernel.env),
            details=dict(self.locked.details),
        )


def plan_kernels(
    config: ServiceConfig, state: Path, languages: Languages | None = None, say: Say = _quiet
) -> list[KernelPlan]:
    """What the config asks for, pinned by its lock: one store path per stable kernel."""
    kernels = stable_kernels(config)
    if not kernels:
        return []
    languages = languages or Languages()
    root = lock.lock_root(_config_path(config))
    for kernel in kernels:
        languages(kernel.language).provide(kernel, root, logs=ServicePaths(state).logs, say=say)
    plans = []
    for kernel in kernels:
        backend = languages(kernel.language)
        locked = backend.check_lock(kernel, root, lock_hint(_config_path(config), state))
        key = build.store_hash(kernel.name, backend.store_key_inputs(locked))
        path = ServicePaths(state).store / f"{key}-{kernel.name}"
        plans.append(KernelPlan(locked, backend.display_name(kernel), path))
    return plans


@dataclass(frozen=True)
class SwitchResult:
    generation: generations.Generation | None
    changed: bool
    built: list[str]


def switch(config: ServiceConfig, state: Path, *, say: Say = _quiet) -> SwitchResult:
    """Build what the lock pins and is not in the store, write a generation, make it current.
    Nothing changed: return at once. Any failure: the current generation stays as it was."""
    _config_path(config)  # never switch the embedded default's "no kernels" over a config's
    languages = Languages()
    plans = plan_kernels(config, state, languages, say)
    desired = {p.kernel.name: p.entry() for p in plans}
    with generations.state_lock(state):
        with _os_errors(f"cannot switch in the state dir {state}", state, "switching"):
            generations.remove_stale_work(state)
        current = generations.current_generation(state)
        # The cheap check: every recorded file there, of its kind, and none added. A
        # damaged path is rebuilt, never called current.
        damaged = {
            p.kernel.name: problems
            for p in plans
            if p.store_path.is_dir()
            and (problems := verify.find_damage(p.store_path, contents=False, unrecorded_ok=True))
        }
        if (
            desired == (current.kernels if current else {})
            and all(p.store_path.is_dir() for p in plans)
            and not damaged
            and not (current and generation_damage(current))
        ):
            return SwitchResult(current, False, [])
        with _os_errors(f"cannot switch in the state dir {state}", state, "switching"):
            for work, size in build.remove_stale_work(ServicePaths(state).store).items():
                say(f"removed {work} ({format_size(size)}), left by an interrupted build")
            built = []
            for plan in plans:
                # SIGTERM (systemd stopping `up`) unwinds like Ctrl-C: the partial build goes.
                aside = None
                if plan.kernel.name in damaged:
                    shown = verify.summarize(damaged[plan.kernel.name])
                    say(f"rebuilding {plan.kernel.name}: {plan.store_path} is damaged ({shown})")
                    aside = build.replace_damaged(plan.store_path)
                elif plan.store_path.is_dir():
                    continue
                with terminate_as_exception():
                    _build(plan, languages, state, say, aside)
                built.append(plan.kernel.name)
            source = str(config.source.resolve()) if config.source else None
            generation = generations.write_generation(state, desired, source)
        return SwitchResult(generation, True, built)


def _build(
    plan: KernelPlan, languages: Languages, state: Path, say: Say, aside: Path | None = None
) -> None:
    """Build one store path, saying how long it took; interrupted, say so and what is left.
    `aside`: the damaged copy this build replaces (see `rebuild_store_path`)."""
    name = plan.kernel.name
    if aside is None:
        say(f"building {name} into {plan.store_path}")
    started = time.monotonic()
    try:
        backend = languages(plan.kernel.language)
        rebuild_store_path(backend, plan.locked, plan.store_path, aside, state)
    except (KeyboardInterrupt, Terminated) as exc:
        by = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C (SIGINT)"
        left = sorted(ServicePaths(state).store.glob(f"{build.TMP_PREFIX}{plan.store_path.name}-*"))
        where = (
            f"its partial build {left[0]} is left; "
            f"`{service_hint('gc', writes=[state])}` removes it"
            if left
            else "its partial build was removed"
        )
        say(
            f"interrupted by {by}: building {name} stopped after "
            f"{format_duration(time.monotonic() - started)}; {where}; what it downloaded stays "
            "in the package cache, so the next `switch` starts from there; the current "
            "generation is as it was"
        )
        raise
    say(
        f"built {name} in {format_duration(time.monotonic() - started)} "
        f"({format_size(tree_size(plan.store_path))})"
    )


def rebuild_store_path(
    backend: Language, locked: LockedKernel, path: Path, aside: Path | None, state: Path
) -> None:
    """Build `path`; the damaged copy moved `aside` (if any) is removed once the new one is
    in place, and put back if the build fails (damaged still beats missing)."""
    try:
        backend.build(locked, path, ServicePaths(state).logs)
    except BaseException:
        if aside is not None and not path.exists():
            (aside / path.name).rename(path)
            build.remove_tree(aside)
        raise
    if aside is not None:
        build.remove_tree(aside)


def repair(
    config: ServiceConfig, state: Path, damage: list[verify.Damage], *, say: Say = _quiet
) -> list[verify.Damage]:
    """Rebuild each damaged store path from the config's lock (through its language) and
    write each damaged kernelspec again from its generation's manifest; then point a
    dangling `current` at the newest intact generation. Return what could not be repaired
    (a store path whose lock the config no longer has, a `current` with no intact
    generation to point at)."""
    languages = Languages()
    plans = {p.store_path: p for p in plan_kernels(config, state, languages, say)}
    left = []
    with (
        generations.state_lock(state),
        _os_errors(f"cannot repair in the state dir {state}", state, "repairing"),
    ):
        build.remove_stale_work(ServicePaths(state).store)
        generations.remove_stale_work(state)
        for item in damage:
            if item.kind == "kernelspec":
                generation = generations.read_generation(state, item.generations[0])
                if generation is not None:
                    generations.rewrite_kernelspec(generation, item.kernel)
                    say(f"rewrote {item.path}")
                    continue
            plan = plans.get(item.path) if item.kind == "store path" else None
            if plan is None:
                left.append(item)
                continue
            say(f"rebuilding {plan.kernel.name} into {plan.store_path}")
            aside = build.replace_damaged(item.path) if item.path.exists() else None
            backend = languages(plan.kernel.language)
            rebuild_store_path(backend, plan.locked, plan.store_path, aside, state)
        for item in damage:
            if item.kind != "current":
                continue
            # After the rebuilds above: a generation they mended counts as intact.
            intact = find_intact_generation(state)
            if intact is None:
                left.append(item)
                continue
            gone = os.readlink(item.path)
            generations.set_current(state, intact.number)
            say(
                f"pointed {item.path} at generation {intact.number}, the newest intact one "
                f"(it pointed at {gone}, which is gone)"
            )
    return left


def find_intact_generation(state: Path) -> generations.Generation | None:
    """The newest generation whose kernelspecs and store paths pass the cheap check."""
    for generation in reversed(generations.list_generations(state)):
        paths = {Path(entry.store_path) for entry in generation.kernels.values()}
        if not generation_damage(generation) and not any(
            verify.find_damage(path, contents=False, unrecorded_ok=True) for path in paths
        ):
            return generation
    return None


def generation_damage(generation: generations.Generation) -> list[str]:
    """What is wrong with a generation's kernelspecs (a garbage or missing kernel.json)."""
    found = []
    for name, entry in generation.kernels.items():
        problem = verify.find_kernelspec_damage(generation.path, generation.number, name, entry)
        if problem:
            found.append(problem)
    return found
