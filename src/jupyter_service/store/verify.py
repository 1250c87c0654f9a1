"""What a store path holds, recorded when it is built (a hash per file, as
`nix-store --verify --check-contents` has them), and checked against it: by `verify` (the
hashes), by `doctor` and `switch` (the cheap part: every file there, of its kind, and
nothing added)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_service.fsutil import make_dirs, write_text_atomic
from jupyter_service.paths import GENERATION_KERNELS, ServicePaths
from jupyter_service.store.manifest import ManifestEntry

if TYPE_CHECKING:
    from jupyter_service.progress import Step

CONTENTS_DIR = ".contents"
# A store path's record: {"format": 1, "files": {relpath: ["f", size, sha256] | ["l", target]
# | ["d"]}}.
CONTENTS_FORMAT = 1
SHOWN = 5


def contents_record(store_path: Path) -> Path:
    """Where the record of `store_path` lives: beside the store paths, not in one (a damaged
    path cannot take its record with it)."""
    return store_path.parent / CONTENTS_DIR / f"{store_path.name}.json"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: Path) -> dict[str, os.stat_result]:
    found: dict[str, os.stat_result] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = os.lstat(path)
        # A symlink to a directory is an entry, never walked into.
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return found


def render_contents(root: Path, step: Step | None = None) -> dict[str, Any]:
    """The record of the tree at `root`: each file's size and sha256, each link's target;
    `step` is told how many files are hashed, and how many bytes."""
    files: dict[str, list[Any]] = {}
    entries = sorted(_walk(root).items())
    total = sum(1 for _, st in entries if stat.S_ISREG(st.st_mode))
    done = hashed = 0
    for rel, st in entries:
        path = os.path.join(root, rel)
        if stat.S_ISLNK(st.st_mode):
            files[rel] = ["l", os.readlink(path)]
        elif stat.S_ISDIR(st.st_mode):
            files[rel] = ["d"]
        else:
            files[rel] = ["f", st.st_size, _sha256(path)]
            done, hashed = done + 1, hashed + st.st_size
            if step is not None:
                step.update(done=done, total=total, size=hashed)
    return {"format": CONTENTS_FORMAT, "files": files}


def write_contents(store_path: Path, tree: Path) -> None:
    """Record what `tree` (about to become `store_path`) holds; written before the path is
    renamed into place, so every store path in place has its record. A long one (a few GiB)
    shows its progress."""
    from jupyter_service.progress import Step

    record = contents_record(store_path)
    make_dirs(record.parent, 0o755)
    name = store_path.name.partition("-")[2] or store_path.name
    with Step(f"hashing the files of {name}", unit="files hashed", quiet_under=2.0) as step:
        text = json.dumps(render_contents(tree, step), separators=(",", ":"))
    write_text_atomic(record, text, mode=0o644, what=f"the content record of {store_path}")


def read_contents(store_path: Path) -> dict[str, list[Any]] | None:
    try:
        data = json.loads(contents_record(store_path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CONTENTS_FORMAT:
        return None
    files = data.get("files")
    return files if isinstance(files, dict) else None


def remove_contents(store_path: Path) -> None:
    contents_record(store_path).unlink(missing_ok=True)


def _ignored(rel: str) -> bool:
    # Python writes byte-code caches where it may (root may write anywhere).
    return "__pycache__" in rel.split(os.sep)


NO_RECORD = "no content record"


def _kinds(root: Path) -> dict[str, str]:
    """Every entry under `root` and its kind (f, d, l), from the directory listings alone
    (d_type: no stat per file, which is what keeps the cheap check cheap)."""
    found: dict[str, str] = {}
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(os.path.join(root, rel_dir)) as entries:
            for entry in entries:
                rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
                if entry.is_symlink():
                    found[rel] = "l"
                elif entry.is_dir():
                    found[rel] = "d"
                    pending.append(rel)
                else:
                    found[rel] = "f"
    return found


def find_damage(store_path: Path, *, contents: bool, unrecorded_ok: bool = False) -> list[str]:
    """What differs between `store_path` and its record. The cheap check (what `switch` and
    `doctor` run) compares the names and kinds of every entry: a file removed, added or
    replaced. With `contents`, each file's size and hash and each link's target too (reads
    it all). Empty: intact. A path without a record (built by a version that wrote none)
    cannot be checked: a problem of its own, or none with `unrecorded_ok` (`switch`
    rebuilds nothing for that)."""
    if not store_path.is_dir():
        return ["missing"]
    record = read_contents(store_path)
    if record is None:
        return [] if unrecorded_ok else [f"{NO_RECORD} ({contents_record(store_path)})"]
    found = _kinds(store_path)
    problems: list[str] = []
    for rel, expected in record.items():
        kind = found.get(rel)
        if kind is None:
            problems.append(f"missing {rel}")
        elif kind != expected[0] or (contents and not _same(store_path / rel, expected)):
            problems.append(f"changed {rel}")
    problems += [f"added {rel}" for rel in sorted(set(found) - set(record)) if not _ignored(rel)]
    return problems


def _same(path: Path, expected: list[Any]) -> bool:
    if expected[0] == "l":
        return bool(os.readlink(path) == expected[1])
    if expected[0] == "d":
        return True
    return bool(os.lstat(path).st_size == expected[1] and _sha256(str(path)) == expected[2])


def summarize(problems: list[str]) -> str:
    """The first few problems, and how many more."""
    shown = ", ".join(problems[:SHOWN])
    more = len(problems) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def find_kernelspec_damage(
    generation_path: Path, number: int, name: str, entry: ManifestEntry
) -> str | None:
    """Why generation `number`'s kernelspec of `name` is not what its manifest renders
    (missing, unreadable, changed), else None."""
    from jupyter_service.kernels import find_language

    spec_file = generation_path / GENERATION_KERNELS / name / "kernel.json"
    try:
        spec = json.loads(spec_file.read_text())
    except FileNotFoundError:
        return f"{spec_file} is missing"
    except (OSError, ValueError) as exc:
        return f"{spec_file} is not valid JSON ({exc})"
    backend = find_language(entry.language)
    if backend is not None and spec != backend.render_kernelspec(name, entry, number):
        return f"{spec_file} differs from what generation {number}'s manifest renders"
    return None


@dataclass(frozen=True)
class Damage:
    """One damaged thing: a store path (with the kernel and generations using it), a
    generation's kernelspec, or the `current` link."""

    kind: str  # store path | kernelspec | current
    path: Path
    problems: tuple[str, ...]
    kernel: str = ""
    generations: tuple[int, ...] = ()

    def render(self) -> str:
        about = [f"kernel {self.kernel}"] if self.kernel else []
        if self.generations:
            noun = "generations" if len(self.generations) > 1 else "generation"
            about.append(f"{noun} {', '.join(map(str, self.generations))}")
        used = f" ({', '.join(about)})" if about else ""
        return f"damaged {self.kind} {self.path}{used}: {summarize(list(self.problems))}"


def find_state_damage(state: Path, *, contents: bool, current_only: bool = False) -> list[Damage]:
    """Everything damaged in the state dir: the `current` link, each generation's kernelspecs
    and the store paths the generations use. `contents` hashes every file (slow);
    `current_only` looks at the current generation alone (what `doctor` does)."""
    from jupyter_service.store import generations

    found: list[Damage] = []
    link = ServicePaths(state).current
    if link.is_symlink() and not link.exists():
        gone = f"points at {os.readlink(link)}, which is gone"
        found.append(Damage("current", link, (gone,)))
    if current_only:
        current = generations.current_generation(state)
        listed = [current] if current else []
    else:
        listed = generations.list_generations(state)
    users: dict[Path, tuple[str, list[int]]] = {}
    for generation in listed:
        for name, entry in sorted(generation.kernels.items()):
            spec = find_kernelspec_damage(generation.path, generation.number, name, entry)
            if spec:
                spec_dir = generation.path / GENERATION_KERNELS / name
                found.append(Damage("kernelspec", spec_dir, (spec,), name, (generation.number,)))
            users.setdefault(Path(entry.store_path), (name, []))[1].append(generation.number)
    for path, (name, numbers) in sorted(users.items()):
        problems = find_damage(path, contents=contents)
        if problems:
            found.append(Damage("store path", path, tuple(problems), name, tuple(numbers)))
    return found
