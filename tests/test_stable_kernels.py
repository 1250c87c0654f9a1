"""The stable tier for real: uv locks and builds small kernels (ipykernel and a package or
two from PyPI), switches, rolls back and collects garbage; kernels run via jupyter_client."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_service.config import load_config
from jupyter_service.kernels.python import find_interpreter
from jupyter_service.store.generations import current_number, list_generations, write_generation
from jupyter_service.store.switch import switch

from .helpers import execute, service_cmd
from .stable_fixtures import (
    CONFIG_A,
    MISSING,
    PYTHON,
    cli,
    kernelspec,
    render_config,
    start_kernel,
    store_path,
    tree_bytes,
    use_config,
)

pytestmark = pytest.mark.slow


def distributions(store: Path) -> dict[str, str]:
    """name -> version of what is installed in a store path."""
    found = {}
    for info in store.glob("lib/python3.*/site-packages/*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[name.lower().replace("_", "-")] = version
    return found


# -- lock ----------------------------------------------------------------------------------


def test_lock_writes_uv_lock_next_to_the_config_and_locking_again_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "config.toml"
    lock_dir = project / "config.lock" / "small"
    assert sorted(p.name for p in lock_dir.iterdir()) == ["pyproject.toml", "uv.lock"]
    text = (lock_dir / "uv.lock").read_text()
    assert 'name = "iniconfig"' in text and 'name = "ipykernel"' in text
    assert "hash = " in text and 'requires-python = "==3.11.*"' in text
    before = tree_bytes(project)
    code, out, err = cli(capsys, "lock", "--config", str(config))
    assert (code, out) == (0, f"lock unchanged: {project / 'config.lock'}\n")
    # Then uv's own lines, indented, and how long it took.
    lines = err.splitlines()
    assert lines[0] == f"locking small (Python {find_interpreter(PYTHON).version})"
    assert all(line.startswith("  ") for line in lines[1:])
    assert re.fullmatch(r"  resolving small: done in \d+s", lines[-1]), err
    assert tree_bytes(project) == before
    # A kernel gone from the config takes its lock with it.
    (project / "config.lock" / "gone").mkdir()
    shutil.copyfile(
        lock_dir / "pyproject.toml", project / "config.lock" / "gone" / "pyproject.toml"
    )
    code, out, err = cli(capsys, "lock", "--config", str(config))
    assert (code, out) == (
        0,
        f"locked: gone changed in {project / 'config.lock'}; commit it with the config\n",
    )
    assert "removed the lock of gone, no longer in the config" in err
    assert tree_bytes(project) == before


def test_lock_refuses_a_missing_interpreter_and_an_unknown_kernel(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "config.toml"
    before = tree_bytes(project)
    config.write_text(render_config(["iniconfig"], python="/nonexistent/python3"))
    code, _, err = cli(capsys, "lock", "--config", str(config))
    assert code == 1
    assert err.startswith(
        "error: Python interpreter not found: pythonPackage = '/nonexistent/python3' (no such file)\n"
        "hint: install it"
    )
    config.write_text(CONFIG_A)
    assert cli(capsys, "lock", "--upgrade", "nope", "--config", str(config))[2] == (
        f"error: no stable kernel named 'nope' in {config}\n"
        f"hint: {service_cmd('lock', '--upgrade', 'small', '--config', config)}\n"
    )
    assert tree_bytes(project) == before
    # Where the lock cannot be written: a message, not a traceback.
    other = project.parent / "other"
    other.mkdir()
    (other / "config.toml").write_text(CONFIG_A)
    (other / "config.lock").write_text("not a dir")
    assert cli(capsys, "lock", "--config", str(other / "config.toml"))[2].splitlines()[1:] == [
        f"error: cannot write the lock of small in {other / 'config.lock'}: File exists: "
        f"{other / 'config.lock'}",
        "hint: free space or fix the permissions, then run the command again",
    ]
    # A version finds the interpreter through uv.
    assert find_interpreter(find_interpreter(PYTHON).minor).minor == find_interpreter(PYTHON).minor


# -- switch, the store, no-op, pip refusal -------------------------------------------------


def test_switch_builds_into_the_store_once_then_is_a_no_op(
    project: Path,
    service_environ: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = service_environ
    config = project / "config.toml"
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert (code, out) == (0, "switched to generation 1: small\n"), err
    path = store_path(state)
    assert path.parent == state / "store" and path.name.endswith("-small")
    # Progress: uv's lines indented, the package count and time, the store path's size
    # (a step shorter than a heartbeat says its time only; the last line has the size).
    lines = err.splitlines()
    assert lines[0] == f"building small into {path}"
    assert any(re.fullmatch(r"  installing small: done in \d+s", x) for x in lines), err
    assert re.fullmatch(r"built small in \d+s \(\d+\.\d MiB\)", lines[-1]), err
    # Read-only, byte-compiled, with the build's inputs recorded.
    assert not os.stat(path).st_mode & 0o222
    assert (
        not os.stat(path / "bin" / "python3").st_mode & 0o222
        or (path / "bin" / "python3").is_symlink()
    )
    site = next(path.glob("lib/python3.*/site-packages"))
    assert list((site / "iniconfig" / "__pycache__").glob("__init__.cpython-*.pyc"))
    info = json.loads((path / "jupyter-service-build.json").read_text())
    lock_sha = info["lock_sha256"]
    spec = kernelspec(state)
    assert spec["display_name"] == "Python (small)"
    assert spec["metadata"] == {
        "debugger": True,
        "jupyter_service": {"tier": "stable", "generation": 1, "lock": lock_sha},
    }
    assert not list((state / "store").glob(".tmp-*"))

    # Nothing changed: nothing done, fast.
    started = time.perf_counter()
    result = switch(load_config(config), state)
    elapsed = time.perf_counter() - started
    assert not result.changed and elapsed < 0.5, elapsed
    assert (
        cli(capsys, "switch", "--config", str(config))[1]
        == "nothing to do: generation 1 is current\n"
    )
    assert [g.number for g in list_generations(state)] == [1]

    # Same lock, another config dir: the same store path, not built again.
    other = tmp_path / "elsewhere"
    shutil.copytree(project, other)
    (other / "config.toml").write_text(CONFIG_A + 'env = { GREETING = "hi" }\n')
    code, out, err = cli(capsys, "switch", "--config", str(other / "config.toml"))
    assert (code, out, err) == (0, "switched to generation 2: small\n", "")
    assert store_path(state) == path
    assert kernelspec(state)["env"] == {
        "PATH": f"{path}/bin:${{PATH}}",
        "PYTHONPATH": "",
        "PYTHONHOME": "",
        "PYTHONNOUSERSITE": "1",
        "GREETING": "hi",
    }
    code, out, _ = cli(capsys, "generations")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"]
    assert lines[1].endswith("small   (current)") and not lines[0].endswith("(current)")

    # Another machine (another state dir) with the same config and lock: the same packages.
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(tmp_path / "machine-2"))
    assert cli(capsys, "switch", "--config", str(config))[0] == 0
    twin = store_path(tmp_path / "machine-2")
    assert twin.name == path.name
    assert distributions(twin) == distributions(path) and "iniconfig" in distributions(path)
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))

    # The kernel starts from the store, has its packages, and refuses pip every way.
    km, kc = start_kernel(state / "current" / "kernels")
    try:
        assert execute(
            kc, "import iniconfig, sys, os; print(sys.prefix); print(os.environ['GREETING'])"
        ).split() == [str(path), "hi"]
        magic = execute(kc, "%pip install six")
        assert magic.startswith(
            "UsageError: error: the stable kernel 'small' is managed by the jupyter-service config"
        ), magic
        assert (
            "jupyter-venv-kernel create NAME" in magic
            and "jupyter-venv-kernel promote NAME --to small" in magic
        )
        shell = execute(kc, "!pip install six; echo status=$?")
        assert "is managed by the jupyter-service config" in shell and "status=1" in shell, shell
        module = execute(
            kc,
            "import subprocess\n"
            "p = subprocess.run([sys.executable, '-m', 'pip', 'install', 'six'], capture_output=True, text=True)\n"
            "print(p.returncode, p.stderr)",
        )
        assert module.startswith("1 error: the stable kernel 'small' is managed"), module
        assert "ModuleNotFoundError" in execute(kc, "import six")
    finally:
        kc.stop_channels()  # type: ignore[attr-defined]
        km.shutdown_kernel(now=True)


def test_a_generation_written_before_the_language_seam_still_loads(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = service_environ
    config = project / "config.toml"
    assert cli(capsys, "switch", "--config", str(config))[:2] == (
        0,
        "switched to generation 1: small\n",
    )
    path = store_path(state)
    spec = kernelspec(state)
    # The manifest as the stable tier wrote it before kernels had a language (format 1).
    manifest_file = state / "generations" / "1" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["kernels"] = {
        "small": {
            "display_name": "Python (small)",
            "env": {},
            "lock_sha256": spec["metadata"]["jupyter_service"]["lock"],  # type: ignore[index]
            "python": find_interpreter(PYTHON).version,
            "store_path": str(path),
        }
    }
    manifest_file.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    (generation,) = list_generations(state)
    entry = generation.kernels["small"]
    assert (entry.language, entry.store_path, entry.format) == ("python", str(path), 2)
    assert entry.details == {"python": find_interpreter(PYTHON).version}
    # The same config over the old generation: nothing to do, nothing rebuilt.
    assert cli(capsys, "switch", "--config", str(config))[:2] == (
        0,
        "nothing to do: generation 1 is current\n",
    )
    # A newer generation, then back to the old one; gc keeps the store path it uses.
    write_generation(state, {}, None)
    assert cli(capsys, "rollback")[0] == 0 and current_number(state) == 1
    assert cli(capsys, "gc", "--keep", "0")[0] == 0
    assert path.is_dir() and kernelspec(state) == spec


# -- failures lose nothing -----------------------------------------------------------------


def test_a_broken_config_change_fails_and_leaves_everything_as_it_was(
    project: Path,
    locked: dict[str, Path],
    service_environ: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = service_environ
    config = project / "config.toml"
    assert cli(capsys, "switch", "--config", str(config))[0] == 0
    before_state = tree_bytes(state / "generations")
    before_lock = tree_bytes(project / "config.lock")
    store_before = sorted(p.name for p in (state / "store").iterdir())

    config.write_text(render_config(["iniconfig", MISSING]))
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert (code, out) == (1, "")
    assert err == (
        "error: the lock of stable kernel small does not satisfy the config: "
        f"the config asks for {MISSING} which the lock lacks\n"
        f"hint: {service_cmd('lock', '--config', config)}\n"
    )
    code, out, err = cli(capsys, "lock", "--config", str(config))
    assert code == 1
    lines = err.splitlines()
    progress, last = lines[0], lines[-1]
    first = next(line for line in lines if line.startswith("error: "))
    assert progress.startswith("locking small (Python ")
    assert re.search(r"^  resolving small: failed after \d+s$", err, re.M)
    assert (
        first.startswith("error: locking stable kernel small failed: `")
        and "exited with status 1" in first
    )
    assert MISSING in err and "  | " in err
    assert last.startswith(f"  full log: {state / 'logs'}/jupyter-service-")
    assert MISSING in Path(last.split(": ", 1)[1]).read_text()

    assert tree_bytes(project / "config.lock") == before_lock
    assert tree_bytes(state / "generations") == before_state
    assert sorted(p.name for p in (state / "store").iterdir()) == store_before
    assert current_number(state) == 1

    # A good config and lock, but the network refuses (a proxy on a closed loopback port)
    # and nothing is cached: the build fails, the current generation stays.
    config = use_config(project, locked, "b")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "cold-cache"))
    refused = "http://127.0.0.1:9"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, refused)
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert (code, out) == (1, "")
    assert "error: building stable kernel small failed: `" in err, err
    assert "Connection refused" in err and f"full log: {state / 'logs'}/" in err
    assert tree_bytes(state / "generations") == before_state
    assert sorted(p.name for p in (state / "store").iterdir()) == store_before
    assert current_number(state) == 1
    # A first lock that fails leaves no lock dir behind.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.toml").write_text(CONFIG_A)
    assert cli(capsys, "lock", "--config", str(fresh / "config.toml"))[0] == 1
    assert sorted(p.name for p in fresh.iterdir()) == ["config.toml"]


def test_a_build_killed_midway_leaves_the_current_generation_and_no_store_path(
    project: Path,
    locked: dict[str, Path],
    service_environ: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = service_environ
    assert cli(capsys, "switch", "--config", str(project / "config.toml"))[0] == 0
    first = store_path(state)
    config = use_config(project, locked, "b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_service", "switch", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        # Kill it once uv is installing packages into the temp venv.
        while not list((state / "store").glob(".tmp-*/env/lib/python3.*/site-packages/*")):
            assert proc.poll() is None and time.monotonic() < deadline, "the build never started"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert current_number(state) == 1 and store_path(state) == first
    assert [p.name for p in (state / "store").iterdir() if not p.name.startswith(".")] == [
        first.name
    ]
    assert [g.number for g in list_generations(state)] == [1]

    code, out, _ = cli(capsys, "switch", "--config", str(config))
    assert (code, out) == (0, "switched to generation 2: small\n")
    assert not list((state / "store").glob(".tmp-*"))
    assert store_path(state) != first


# -- generations, rollback, gc -------------------------------------------------------------


def test_rollback_and_gc_keep_what_generations_and_running_kernels_use(
    project: Path,
    locked: dict[str, Path],
    service_environ: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = service_environ
    assert cli(capsys, "switch", "--config", str(project / "config.toml"))[0] == 0
    path_a = store_path(state)
    assert cli(capsys, "switch", "--config", str(use_config(project, locked, "b")))[0] == 0
    path_b = store_path(state)
    assert path_a != path_b and current_number(state) == 2

    assert cli(capsys, "rollback") == (0, "rolled back to generation 1: small\n", "")
    assert (
        store_path(state) == path_a
        and kernelspec(state)["metadata"]["jupyter_service"]["generation"] == 1
    )  # type: ignore[index]
    assert cli(capsys, "rollback")[2] == (
        f"error: no generation before the current one (1)\nhint: {service_cmd('generations')}\n"
    )
    assert cli(capsys, "rollback", "2") == (0, "rolled back to generation 2: small\n", "")
    assert (
        cli(capsys, "rollback", "9")[2]
        == f"error: no generation 9\nhint: {service_cmd('generations')}\n"
    )
    assert cli(capsys, "gc") == (0, "freed 0.0 MiB (0 store paths)\n", "")

    # A kernel still running from generation 1's store path keeps it through gc.
    km, kc = start_kernel(state / "generations" / "1" / "kernels")
    try:
        assert execute(kc, "import sys; print(sys.prefix)").strip() == str(path_a)
        code, out, _ = cli(capsys, "gc", "--keep", "1")
        assert code == 0
        assert out.splitlines()[0] == "removed generation 1"
        assert out.splitlines()[1].startswith(f"kept {path_a}: in use by pid {km.provisioner.pid}")  # type: ignore[union-attr]
        assert path_a.is_dir() and not (state / "generations" / "1").exists()
    finally:
        kc.stop_channels()  # type: ignore[attr-defined]
        km.shutdown_kernel(now=True)
    code, out, _ = cli(capsys, "gc")
    assert out.splitlines()[0] == f"removed {path_a}" and not path_a.exists()
    assert path_b.is_dir() and current_number(state) == 2
    assert cli(capsys, "generations")[1].split()[0] == "2"
