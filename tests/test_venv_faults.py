"""Venv kernels through faults (issue 10.5, 10.6): a kill at each step of `create`, a
damaged kernel.json, a kernel in use; each followed by the next command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_service.server.kernelspecs import ServiceKernelSpecManager
from jupyter_service.venv_cli import main
from jupyter_service.venvs.layout import INCOMPLETE_MARKER, Layout

from .helpers import shell_name

pytestmark = pytest.mark.slow


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def listed(layout: Layout) -> set[str]:
    """The kernel names a server with this data dir offers."""
    return set(ServiceKernelSpecManager().find_kernel_specs())


def test_killed_after_both_renames_keeps_the_complete_kernel(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the marker left by a kill after both renames made `list` delete the kernel."""
    assert main(["create", "done"]) == 0
    (layout.venvs / "done" / INCOMPLETE_MARKER).touch()  # as a kill before its unlink leaves
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    venvs = {v["name"]: v for v in json.loads(capsys.readouterr().out)["venvs"]}
    assert venvs["done"]["status"] == "ok"
    assert (layout.kernels / "done" / "kernel.json").is_file()
    assert not (layout.venvs / "done" / INCOMPLETE_MARKER).exists()
    assert "done" in listed(layout)


def test_killed_between_the_renames_shows_no_temp_kernel_and_is_cleaned(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a running server listed (and could start) a kernel named `.tmp-half-…`."""
    assert main(["create", "half"]) == 0
    # What a kill between the renames leaves: the venv in place, still marked, and the
    # kernelspec still under its temp name.
    (layout.venvs / "half" / INCOMPLETE_MARKER).touch()
    temp = layout.kernels / f".tmp-half-{dead_pid()}-1234"
    (layout.kernels / "half").rename(temp)
    assert not any(name.startswith(".") for name in listed(layout))
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in doc["kernels"] if k["name"].startswith(".")] == []
    assert "half" not in {v["name"] for v in doc["venvs"]}
    assert not temp.exists() and not (layout.venvs / "half").exists()
    assert main(["create", "half"]) == 0


def test_delete_removes_a_kernelspec_it_cannot_parse(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `delete` said "deleted" and left the garbage kernelspec behind."""
    assert main(["create", "garbled"]) == 0
    (layout.kernels / "garbled" / "kernel.json").write_text("{not json")
    capsys.readouterr()
    assert main(["delete", "garbled", "--yes"]) == 0
    assert capsys.readouterr().out == "Kernel 'garbled' deleted.\n"
    assert not (layout.kernels / "garbled").exists()
    assert not (layout.venvs / "garbled").exists()


def test_delete_refuses_a_kernel_in_use_unless_forced(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `delete` of a running kernel succeeded silently; the kernel lost its venv."""
    assert main(["create", "busy"]) == 0
    km, kc = start_new_kernel(kernel_name="busy")
    try:
        pid = km.provisioner.pid  # type: ignore[union-attr]
        capsys.readouterr()
        assert main(["delete", "busy", "--yes"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: kernel 'busy' is in use by pid {pid} (")
        assert "ipykernel_launcher" in err.splitlines()[0]
        assert err.splitlines()[-1] == (
            "hint: shut the kernel down in JupyterLab (Kernel > Shut Down Kernel), or run "
            f"`{shell_name('jupyter-venv-kernel')} delete busy --force` to delete it anyway"
        )
        assert (layout.venvs / "busy" / "bin" / "python").exists()
        assert (layout.kernels / "busy" / "kernel.json").is_file()
        assert main(["delete", "busy", "--yes", "--force"]) == 0
        out, err = capsys.readouterr()
        assert out == "Kernel 'busy' deleted.\n"
        assert err.startswith(f"warning: deleted kernel 'busy' while pid {pid} (")
        assert "cannot restart" in err
        assert not (layout.venvs / "busy").exists()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_lock_files_of_gone_kernels_are_removed(layout: Layout) -> None:
    """Before: every name ever used kept a `.locks/NAME.lock`, and a killed run's stayed."""
    assert main(["create", "brief"]) == 0
    assert main(["delete", "brief", "--yes"]) == 0
    assert not (layout.locks_dir() / "brief.lock").exists()
    # What a killed create (and an older version's temp labels) left: lock files alone.
    for stale in ("killed.lock", f".tmp-killed-{dead_pid()}-1.lock"):
        (layout.locks_dir() / stale).write_text("")
    assert main(["list"]) == 0
    assert sorted(p.name for p in layout.locks_dir().iterdir()) == ["_base.lock"]
