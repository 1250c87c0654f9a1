"""Issue 10: `kill -9` of `jupyter-venv-kernel create` and `delete` at each rename and
removal they make, followed by the same command, leaves exactly what one clean run
leaves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_service.venv_cli import main
from jupyter_service.venvs.layout import INCOMPLETE_MARKER, Layout

from .kill_helpers import (
    command,
    differences,
    kill_at,
    needs_strace,
    processes_mentioning,
    render_problems,
    restore,
    save,
    snapshot,
    trace_calls,
)

pytestmark = [pytest.mark.slow, needs_strace]


def test_killed_delete_then_delete_leaves_what_one_delete_leaves(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", "doomed"]) == 0
    assert main(["create", "kept"]) == 0
    capsys.readouterr()
    data = layout.venvs.parent
    saved = save(data, tmp_path / "saved")
    env = dict(os.environ)
    argv = command("jupyter_service.venv_cli", "delete", "doomed", "--yes")
    proc, calls = trace_calls(argv, "rename,unlink,unlinkat", env=env, log=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Kernel 'doomed' deleted.\n"
    want = snapshot(data)
    assert not any(name.endswith("doomed") for name in want)
    renames = [c for c in calls if c.name == "rename" and str(data) in c.args]
    removals = [c for c in calls if c.name == "unlinkat"]
    unlinks = [c for c in calls if c.name == "unlink" and str(data) in c.args]
    assert len(renames) == 2 and len(removals) > 10 and unlinks
    points = [*renames, removals[0], removals[len(removals) // 2], removals[-1], *unlinks]
    found = {}
    for call in points:
        restore(saved, data)
        kill_at(argv, call, env=env)
        problems = [f"left running: {p}" for p in processes_mentioning(str(data))]
        code = main(["delete", "doomed", "--yes"])
        out, err = capsys.readouterr()
        said = (code, out, err.splitlines()[0] if err else "")
        # Killed as it drops its lock file, the kernel was all gone: a second delete.
        expected = (
            (1, "", "error: no venv kernel named 'doomed'")
            if call in unlinks
            else (0, "Kernel 'doomed' deleted.\n", "")
        )
        if said != expected:
            problems.append(f"exit {code}, said {out!r} {err!r}")
        problems += differences(snapshot(data), want)
        if problems:
            found[f"{call.name} #{call.number} {call.args}"] = problems
    assert not found, render_problems(found)


def test_killed_create_then_create_leaves_what_one_create_leaves(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At each link, rename and removal of `create`: the venv made aside, renamed into place
    still marked, the kernelspec renamed into place (what makes the kernel exist), the
    marker dropped."""
    data = layout.venvs.parent
    saved = save(data, tmp_path / "saved")
    env = dict(os.environ)
    argv = command("jupyter_service.venv_cli", "create", "fresh")
    calls = "rename,unlink,symlink,mkdir"
    proc, traced = trace_calls(argv, calls, env=env, log=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    want = snapshot(data)
    assert "kernels/fresh/kernel.json" in want
    points = [c for c in traced if str(data) in c.args and "fresh" in c.args]
    assert {c.name for c in points} == set(calls.split(","))
    found = {}
    for call in points:
        restore(saved, data)
        kill_at(argv, call, env=env)
        problems = [f"left running: {p}" for p in processes_mentioning(str(data))]
        code = main(["create", "fresh"])
        out, err = capsys.readouterr()
        # Killed after the kernelspec's rename, the kernel exists: a second create says so.
        done = call.name == "unlink" and call.args.endswith(f'fresh/{INCOMPLETE_MARKER}"')
        if done:
            ok = code == 1 and err.startswith("error: kernel 'fresh' already exists")
        else:
            ok = code == 0 and "Kernel 'fresh' created" in out
        if not ok:
            problems.append(f"exit {code}, said {out!r} {err!r}")
        problems += differences(snapshot(data), want)
        if problems:
            found[f"{call.name} #{call.number} {call.args}"] = problems
    assert not found, render_problems(found)
