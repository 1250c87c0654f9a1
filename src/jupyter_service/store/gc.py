"""`gc`: remove old generations (with --keep) and the store paths no kept generation uses,
never one that a running process (a kernel started from an older generation) uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jupyter_service.fsutil import tree_size
from jupyter_service.inuse import find_users
from jupyter_service.paths import ServicePaths
from jupyter_service.store import build, generations
from jupyter_service.store.verify import CONTENTS_DIR, remove_contents


@dataclass
class GcResult:
    removed_generations: list[int] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)
    in_use: dict[str, list[int]] = field(default_factory=dict)
    # What a killed or interrupted build left: its temp dir, and its size.
    removed_work: dict[str, int] = field(default_factory=dict)
    freed_bytes: int = 0


def collect_garbage(state: Path, keep: int | None = None) -> GcResult:
    """With `keep`, remove all generations but the current one and the `keep` newest; then
    remove every store path that no remaining generation and no running process uses."""
    result = GcResult()
    store = ServicePaths(state).store
    with generations.state_lock(state):
        for work, size in build.remove_stale_work(store).items():
            result.removed_work[str(work)] = size
            result.freed_bytes += size
        generations.remove_stale_work(state)
        current = generations.current_number(state)
        remaining = generations.list_generations(state)
        if keep is not None:
            newest = {g.number for g in remaining[-keep:]} if keep > 0 else set()
            for generation in remaining:
                if generation.number not in newest and generation.number != current:
                    generations.remove_generation(generation)
                    result.removed_generations.append(generation.number)
            remaining = [g for g in remaining if g.number not in result.removed_generations]
        referenced = {
            Path(entry.store_path).name for g in remaining for entry in g.kernels.values()
        }
        if not store.is_dir():
            return result
        users = find_users(store)
        for path in sorted(store.iterdir()):
            if path.name.startswith(".") or path.name in referenced:
                continue
            if path.name in users:
                result.in_use[str(path)] = users[path.name]
                continue
            result.freed_bytes += tree_size(path)
            doomed = store / f"{build.TMP_PREFIX}gc-{path.name}"
            path.rename(doomed)
            build.remove_tree(doomed)
            remove_contents(path)
            result.removed_paths.append(str(path))
        # Records of store paths that are gone (a build killed before its rename).
        records = store / CONTENTS_DIR
        if records.is_dir():
            for record in records.glob("*.json"):
                if not (store / record.name.removesuffix(".json")).is_dir():
                    record.unlink(missing_ok=True)
    return result
