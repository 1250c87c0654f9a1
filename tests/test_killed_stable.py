"""Issue 10: `kill -9` of `switch`, `rollback`, `gc` and `verify --repair` at every rename,
link and removal they make (and while a build runs), each followed by the same command,
leaves exactly what one clean run leaves."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .kill_helpers import (
    Call,
    children,
    command,
    differences,
    kill_at,
    kill_when,
    needs_strace,
    processes_mentioning,
    render_problems,
    restore,
    save,
    snapshot,
    trace_calls,
)

pytestmark = [pytest.mark.slow, needs_strace]

# What a command does to the state dir, call by call.
CHANGES = "rename,symlink,unlink,unlinkat,mkdir"


@dataclass(frozen=True)
class States:
    """One state dir path for the module (store paths are absolute), and saved copies of it
    to restore before each run: `one` after switching to config A (generation 1), `two`
    after switching to config B next (generations 1 and 2, store paths A and B), `back`
    after a rollback from there (generation 1 current, B's store path still there)."""

    root: Path
    state: Path
    env: dict[str, str]
    config_a: Path
    config_b: Path

    @property
    def one(self) -> Path:
        return self.root / "one"

    @property
    def two(self) -> Path:
        return self.root / "two"

    @property
    def back(self) -> Path:
        return self.root / "back"

    def service(self, *args: str) -> list[str]:
        return command("jupyter_service", *args)

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory, locked: dict[str, Path]) -> Iterator[States]:
    root = tmp_path_factory.mktemp("killed-stable")
    state = root / "state"
    (root / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_SERVICE_")}
    env.update(JUPYTER_SERVICE_STATE_DIR=str(state), HOME=str(root / "home"))
    built = States(root, state, env, locked["a"] / "config.toml", locked["b"] / "config.toml")
    for argv, saved in (
        (built.service("switch", "--config", str(built.config_a)), built.one),
        (built.service("switch", "--config", str(built.config_b)), built.two),
        (built.service("rollback"), built.back),
    ):
        proc = built.run(argv)
        assert proc.returncode == 0, proc.stderr
        save(state, saved)
    yield built
    # Writable again, for the temp dir's cleanup.
    subprocess.run(["find", str(root), "-type", "d", "-exec", "chmod", "u+w", "{}", "+"])


def clean_run(
    states: States, saved: Path, argv: list[str], *, trace: str = CHANGES
) -> tuple[dict[str, object], list[Call]]:
    """What one run of `argv` from `saved` leaves, and the calls it made on the way."""
    restore(saved, states.state)
    proc, calls = trace_calls(argv, trace, env=states.env, log=states.root / "trace.log")
    assert proc.returncode == 0, proc.stderr
    return snapshot(states.state), calls


def in_state(calls: list[Call], states: States) -> list[Call]:
    """The calls on paths in the state dir (relative ones, inside a tree being removed, are
    not among them)."""
    return [c for c in calls if str(states.state) in c.args]


def problems_after(states: States, argv: list[str], want: dict[str, object]) -> list[str]:
    """What a killed run left running, and how the next run of `argv` fails or leaves
    other than `want`."""
    problems = [f"left running: {p}" for p in processes_mentioning(str(states.state))]
    proc = states.run(argv)
    if proc.returncode != 0:
        problems.append(f"exit {proc.returncode}: {proc.stderr}")
    return problems + differences(snapshot(states.state), want)


def rerun_leaves(
    states: States, saved: Path, argv: list[str], want: dict[str, object], points: list[Call]
) -> dict[str, list[str]]:
    """Kill `argv` at each point, run it again; what differs from `want`, by point."""
    found = {}
    for call in points:
        restore(saved, states.state)
        kill_at(argv, call, env=states.env)
        problems = problems_after(states, argv, want)
        if problems:
            found[f"{call.name} #{call.number} {call.args}"] = problems
    return found


def building(states: States) -> Callable[[int], bool]:
    """Whether the command `pid` runs uv, building into a temp dir of the store."""
    work = f"{states.state}/store/.tmp-"
    return lambda pid: any(work in line and "uv" in line for line in children(pid))


def named(points: list[Call], *patterns: str) -> list[Call]:
    """The calls whose arguments match one of `patterns` (a regex each), each pattern's
    first match."""
    found = []
    for pattern in patterns:
        matches = [c for c in points if re.search(pattern, c.args)]
        assert matches, f"no call matches {pattern!r}"
        found.append(matches[0])
    return found


def test_killed_switch_around_the_generation_and_current_renames(states: States) -> None:
    """Every rename, link and removal a switch makes when its store paths are built: the
    generation's temp dir, its rename into place, and `current`'s."""
    argv = states.service("switch", "--config", str(states.config_b))
    want, calls = clean_run(states, states.back, argv)
    points = in_state(calls, states)
    assert {c.name for c in points} >= {"rename", "symlink", "mkdir"}
    found = rerun_leaves(states, states.back, argv, want, points)
    assert not found, render_problems(found)


@pytest.mark.timeout(1200)
def test_killed_switch_while_building_then_switch(states: States) -> None:
    """While uv builds, as its content record is renamed into place, and as the built tree,
    moved beside the store paths, is made read-only there (to be renamed into place)."""
    argv = states.service("switch", "--config", str(states.config_b))
    want, calls = clean_run(states, states.one, argv, trace=f"{CHANGES},chmod")
    points = named(
        in_state(calls, states),
        r"/store/\.contents/\..*\.tmp\"",  # the content record's rename
        # The built tree moved beside the store paths, about to be made read-only there and
        # renamed into place (the kill before that rename leaves the same, read-only).
        r"-ready\", 0555",
    )
    found = rerun_leaves(states, states.one, argv, want, points)
    restore(states.one, states.state)
    kill_when(argv, building(states), env=states.env)
    problems = problems_after(states, argv, want)
    if problems:
        found["while uv builds"] = problems
    assert not found, render_problems(found)


def test_killed_rollback_then_rollback(states: States) -> None:
    argv = states.service("rollback")
    want, calls = clean_run(states, states.two, argv)
    points = in_state(calls, states)
    assert {c.name for c in points} >= {"rename", "symlink"}
    found = rerun_leaves(states, states.two, argv, want, points)
    assert not found, render_problems(found)


def test_killed_gc_then_gc(states: States) -> None:
    """At each rename and removal of `gc --keep 1` (generation 1 and store path A go), and
    in the middle of removing a store path's files."""
    argv = states.service("gc", "--keep", "1")
    want, calls = clean_run(states, states.two, argv)
    points = in_state(calls, states)
    assert {c.name for c in points} >= {"rename", "unlink"}
    removals = [c for c in calls if c.name == "unlinkat"]
    assert len(removals) > 100
    points += [removals[0], removals[len(removals) // 2], removals[-1]]
    found = rerun_leaves(states, states.two, argv, want, points)
    assert not found, render_problems(found)


@pytest.mark.timeout(1200)
def test_killed_verify_repair_then_verify_repair(states: States) -> None:
    """A store path with a file removed: kill `verify --repair` as it moves the damaged
    copy aside, and while uv builds the new one (the rest of a build is `switch`'s)."""
    restore(states.one, states.state)
    store = next(p for p in (states.state / "store").iterdir() if p.name.endswith("-small"))
    [module] = store.glob("lib/python3*/site-packages/iniconfig/__init__.py")
    module.parent.chmod(0o755)
    module.unlink()
    module.parent.chmod(0o555)
    damaged = save(states.state, states.root / "damaged")
    argv = states.service("verify", "--repair", "--config", str(states.config_a))
    want, calls = clean_run(states, damaged, argv)
    points = named(in_state(calls, states), r"/store/\w+-small\", ")
    found = rerun_leaves(states, damaged, argv, want, points)
    restore(damaged, states.state)
    kill_when(argv, building(states), env=states.env)
    problems = problems_after(states, argv, want)
    if problems:
        found["while uv builds"] = problems
    assert not found, render_problems(found)
