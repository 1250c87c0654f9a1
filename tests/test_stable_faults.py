"""The stable tier through faults (issue 10): killed commands, followed by the same command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_service.cli import main

from .fault_fixtures import fill
from .helpers import BASE_URL, PASSWORD, Service, free_port, hash_password, login, run_in_kernel
from .stable_fixtures import (
    MISSING,
    PASSWORD_HASH,
    PYTHON,
    cli,
    render_config,
    store_path,
    tree_bytes,
    use_config,
)

pytestmark = pytest.mark.slow


def test_killed_lock_is_cleaned_by_the_next_lock_and_reported_as_nothing(
    project: Path, stalling_index: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10.6. Before: the scratch dir a killed `lock` left was a kernel that "changed"
    and "was removed from the config"."""
    config = project / "config.toml"
    original = config.read_text()
    lock_root = project / "config.lock"
    before = tree_bytes(lock_root)
    # A package uv must ask the (stalling) index about: the lock is killed while uv waits.
    config.write_text(render_config(["iniconfig", MISSING]))
    env = {**os.environ, "UV_DEFAULT_INDEX": stalling_index, "UV_OFFLINE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_service", "lock", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(lock_root.glob(".tmp-*/pyproject.toml")):
        assert proc.poll() is None and time.monotonic() < deadline, "lock never started"
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert list(lock_root.glob(".tmp-*")), "the kill left no scratch dir to clean"
    config.write_text(original)
    code, out, err = cli(capsys, "lock", "--config", str(config))
    assert code == 0, err
    assert ".tmp" not in out + err
    assert "removed the lock" not in out + err
    assert list(lock_root.glob(".tmp-*")) == []
    assert tree_bytes(lock_root) == before


def sizes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.lstat().st_size for p in root.rglob("*")}


def service_config(project: Path, port: int, tools: Path) -> Path:
    head = (
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(project / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
        f'extraTools = ["sh"]\nextraToolsPath = [{json.dumps(str(tools))}]\n'
    )
    config = project / "config.toml"
    config.write_text(render_config(["iniconfig"], head=head))
    return config


def test_full_disk_keeps_serving_the_current_generation(
    project: Path, small_fs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10.3. Before: with the state filesystem full and nothing to build, `up` and
    `run` crashed writing their settings before serving."""
    state = small_fs / "state"
    port = free_port()
    config = service_config(project, port, Path("/bin"))
    first = Service(project / "first", config, port, state=state)
    try:
        first.wait_ready(timeout=300)
    finally:
        assert first.stop() == 0, first.output()
    before = sizes(state)
    fill(small_fs)
    for command in ("up", "run"):
        service = Service(project / command, config, port, command=command, state=state)
        try:
            service.wait_ready(timeout=120)
            session = login(service)
            specs = session.get(service.url("api/kernelspecs"), timeout=30).json()
            assert specs["default"] == "small", specs
            assert run_in_kernel(service, session, "print(1 + 1)", kernel_name="small") == "2\n"
        finally:
            assert service.stop() == 0, service.output()
        assert "Traceback" not in service.output(), service.output()
    # Nothing written, nothing left half-written.
    assert sizes(state) == before


def test_full_disk_during_a_build_is_one_clear_message(
    project: Path,
    locked: dict[str, Path],
    small_fs: Path,
    service_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10.3: ENOSPC names the full filesystem, with no traceback, no 0-byte log, and
    the current generation as it was."""
    state = small_fs / "state"
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))
    code, _, err = cli(capsys, "switch", "--config", str(project / "config.toml"))
    assert code == 0, err
    current = os.readlink(state / "current")
    config_b = use_config(project, locked, "b")
    fill(small_fs)
    before = sizes(state)
    code, _, err = cli(capsys, "switch", "--config", str(config_b))
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert error == (
        f"error: no space left on the filesystem mounted at {small_fs} (switching: {state})"
    )
    assert "Traceback" not in err
    assert f"hint: free space there (`df -h {small_fs}`;" in err
    assert os.readlink(state / "current") == current
    assert sizes(state) == before


# -- issue 10.4: damage is detected, not served ----------------------------------------------


def store_file(path: Path, pattern: str) -> Path:
    [found] = list(path.glob(pattern))
    return found


def writable(path: Path) -> None:
    """Make a read-only store path's dir writable, as root (or a stray chmod) could."""
    path.chmod(0o755)


def test_a_damaged_store_path_is_named_rebuilt_by_switch_and_repaired_by_verify(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(project / "config.toml")
    assert cli(capsys, "switch", "--config", config)[0] == 0
    path = store_path(service_environ)
    assert cli(capsys, "verify", "--config", config)[:2] == (
        0,
        f"ok: the store paths and generations in {service_environ} are intact\n",
    )
    # A file removed: verify and doctor name the path; switch rebuilds it.
    module = store_file(path, "lib/python3*/site-packages/iniconfig/__init__.py")
    writable(module.parent)
    module.unlink()
    rel = module.relative_to(path)
    code, out, err = cli(capsys, "verify", "--config", config)
    assert code == 1
    assert out == f"damaged store path {path} (kernel small, generation 1): missing {rel}\n"
    assert err.startswith("hint: ") and " verify --repair --config " in err
    assert main(["doctor", "--config", config, "--no-kernels", "--json"]) == 1
    [store] = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["check"] == "store"]
    assert (store["status"], store["subject"]) == ("fail", "small")
    assert " verify --repair --config " in store["fix"]
    code, _, err = cli(capsys, "switch", "--config", config)
    assert code == 0, err
    assert f"rebuilding small: {path} is damaged (missing {rel})" in err
    assert module.is_file()
    assert cli(capsys, "verify", "--config", config)[0] == 0
    # A file changed in place, same size: only the hashes see it; --repair rebuilds.
    writable(module.parent)
    module.chmod(0o644)
    text = module.read_bytes()
    module.write_bytes(text[:-1] + (b"#" if text[-1:] != b"#" else b" "))
    assert cli(capsys, "switch", "--config", config)[0] == 0  # the cheap check misses it
    code, out, _ = cli(capsys, "verify", "--config", config)
    assert code == 1 and out.endswith(f": changed {rel}\n"), out
    code, out, err = cli(capsys, "verify", "--repair", "--config", config)
    assert code == 0, out + err
    assert out.endswith("repaired: the store and the generations are intact\n")
    assert module.read_bytes() == text
    assert cli(capsys, "verify", "--config", config)[0] == 0


def test_a_garbage_kernelspec_in_a_generation_is_found_and_rewritten(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(project / "config.toml")
    assert cli(capsys, "switch", "--config", config)[0] == 0
    spec = service_environ / "current" / "kernels" / "small" / "kernel.json"
    good = spec.read_text()
    spec.write_text("{garbage")
    code, out, _ = cli(capsys, "verify", "--config", config)
    assert code == 1
    spec_dir = service_environ / "generations" / "1" / "kernels" / "small"
    assert out.startswith(f"damaged kernelspec {spec_dir} (kernel small, generation 1): ")
    assert "is not valid JSON" in out
    # `switch` no longer says "nothing to do": it writes a good generation.
    code, out, err = cli(capsys, "switch", "--config", config)
    assert code == 0 and "generation 2" in out + err, out + err
    spec = service_environ / "current" / "kernels" / "small" / "kernel.json"
    assert json.loads(spec.read_text())["metadata"]["jupyter_service"]["generation"] == 2
    # Generation 1's is damaged still: --repair writes it again from its manifest.
    assert cli(capsys, "verify", "--config", config)[0] == 1
    assert cli(capsys, "verify", "--repair", "--config", config)[0] == 0
    restored = service_environ / "generations" / "1" / "kernels" / "small" / "kernel.json"
    assert restored.read_text() == good


def test_verify_repair_points_a_dangling_current_at_the_newest_intact_generation(
    project: Path,
    locked: dict[str, Path],
    service_environ: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10.4. Before: `--repair` left a dangling `current` as it was and pointed to
    `rollback`, which needs a current generation to roll back from."""
    state = service_environ
    config_a = str(project / "config.toml")
    assert cli(capsys, "switch", "--config", config_a)[0] == 0
    config_b = str(use_config(project, locked, "b"))
    assert cli(capsys, "switch", "--config", config_b)[0] == 0
    assert os.readlink(state / "current") == "generations/2"
    shutil.rmtree(state / "generations" / "2")
    code, out, err = cli(capsys, "verify", "--config", config_b)
    assert code == 1
    assert out == f"damaged current {state / 'current'}: points at generations/2, which is gone\n"
    assert err.startswith("hint: ") and " verify --repair --config " in err, err
    code, out, err = cli(capsys, "verify", "--repair", "--config", config_b)
    assert code == 0, out + err
    assert (
        f"pointed {state / 'current'} at generation 1, the newest intact one "
        "(it pointed at generations/2, which is gone)"
    ) in err
    assert out.endswith("repaired: the store and the generations are intact\n"), out
    assert os.readlink(state / "current") == "generations/1"
    # No generation left to point at: nothing to repair with; `switch` writes one.
    shutil.rmtree(state / "generations" / "1")
    code, out, err = cli(capsys, "verify", "--repair", "--config", config_b)
    assert code == 1
    assert f"not repaired: {state / 'current'}: no intact generation to point it at\n" in out
    assert err.startswith("hint: ") and " switch --config " in err, err
    assert os.readlink(state / "current") == "generations/1"
    assert cli(capsys, "switch", "--config", config_b)[0] == 0
    assert cli(capsys, "verify", "--config", config_b)[0] == 0


def test_check_validates_lock_files_and_run_warns_on_a_dangling_current(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "config.toml"
    config.write_text("enable = true\n" + config.read_text().removeprefix("enable = true\n"))
    lock_file = project / "config.lock" / "small" / "uv.lock"
    good = lock_file.read_text()
    assert cli(capsys, "check", "--config", str(config))[0] == 0
    for damaged in (good[: len(good) // 2], "garbage = [\n", "version = 1\n"):
        lock_file.write_text(damaged)
        code, out, err = cli(capsys, "check", "--config", str(config))
        assert (code, out) == (1, ""), damaged
        assert f"  extraKernels.small: {lock_file} " in err, err
        assert "; lock again: `" in err and " lock --config " in err
    # `lock` resolves a damaged lock afresh instead of failing on it.
    assert cli(capsys, "lock", "--config", str(config))[0] == 0
    assert cli(capsys, "check", "--config", str(config))[0] == 0


def test_run_with_a_dangling_current_warns(
    tmp_path: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service_environ.mkdir(parents=True)
    (service_environ / "current").symlink_to("generations/7")
    config = tmp_path / "config.toml"
    # enable = false: `run` stops right after its warnings, before serving.
    config.write_text(
        render_config(["iniconfig"], head=f"password = {json.dumps(PASSWORD_HASH)}\n")
    )
    code, _, err = cli(capsys, "run", "--config", str(config))
    assert code == 1
    assert err.startswith(
        f"warning: {service_environ / 'current'} points at generations/7, which is gone, so "
        "no stable kernel is served; run `"
    ), err


def test_the_default_kernel_is_always_one_the_server_lists(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10.4. Before: with the service's own Python hidden (a stable Python kernel is
    configured) and no stable kernel in the current generation, /api/kernelspecs named
    `python3` as the default, a kernel it does not list and cannot start."""
    service_environ.mkdir(parents=True)
    (service_environ / "current").symlink_to("generations/7")
    port = free_port()
    config = service_config(project, port, Path("/bin"))
    root = project / "run"
    user_kernel = root / "jupyter-data" / "kernels" / "mine"  # the isolated JUPYTER_DATA_DIR
    service = Service(root, config, port, command="run", state=service_environ)
    try:
        service.wait_ready(timeout=120)
        session = login(service)

        def specs() -> dict[str, Any]:
            found = session.get(service.url("api/kernelspecs"), timeout=30).json()
            assert isinstance(found, dict)
            return found

        listed = specs()
        assert "python3" not in listed["kernelspecs"], listed
        assert listed["default"] in listed["kernelspecs"] or (
            listed["kernelspecs"] == {} and listed["default"] == ""
        ), listed
        # A kernel of the user's own: the default while the generation has none.
        user_kernel.mkdir(parents=True)
        spec = {"argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
        (user_kernel / "kernel.json").write_text(
            json.dumps({**spec, "display_name": "Mine", "language": "python"})
        )
        listed = specs()
        assert listed["default"] == "mine", listed
        # A switch while the server runs: the config's stable kernel is the default again.
        assert cli(capsys, "switch", "--config", str(config))[0] == 0
        listed = specs()
        assert listed["default"] == "small", listed
    finally:
        assert service.stop() == 0, service.output()


def test_render_binary_only() -> None:
    from jupyter_service.kernels.python import render_binary_only

    requirements = (
        "iniconfig==2.3.1 \\\n    --hash=sha256:aa\n"
        "Jedi==0.19.2 ; python_version >= '3.11' \\\n    --hash=sha256:bb\n"
    )
    assert render_binary_only(requirements, ()) == ["--only-binary", ":all:"]
    assert render_binary_only(requirements, ("iniconfig",)) == ["--only-binary", "jedi"]


def test_a_wheel_hash_that_no_longer_matches_fails_the_build_unless_allow_build(
    project: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: uv quietly built the sdist instead (`Building iniconfig==2.3.1`, exit 0: this
    test's first half run against b190eb6, the commit before `--only-binary`). Now stable
    kernels install from wheels only, unless `allowBuild` names the package; then uv
    builds its sdist (with the build backend it fetches), and the manifest records it."""
    config = project / "config.toml"
    lock_file = project / "config.lock" / "small" / "uv.lock"
    text = lock_file.read_text()
    start = text.index("iniconfig-2.3.1-py3-none-any.whl")
    digest = text.index("sha256:", start) + len("sha256:")
    tampered = text[:digest] + "0" * 64 + text[digest + 64 :]
    lock_file.write_text(tampered)
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert code == 1, out + err
    assert "building stable kernel small failed" in err
    assert "hash" in err.lower()
    assert "Building iniconfig" not in out + err
    assert not (service_environ / "current").exists()
    assert [
        p.name for p in (service_environ / "store").iterdir() if not p.name.startswith(".")
    ] == []
    # Allowed to be built: the wheel no longer matches, so uv builds the sdist.
    original = config.read_text()
    config.write_text(original + 'allowBuild = ["iniconfig"]\n')
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert code == 0, out + err
    assert "Built iniconfig==2.3.1" in out + err, out + err
    manifest = json.loads((service_environ / "current" / "manifest.json").read_text())
    assert manifest["kernels"]["small"]["details"]["allow_build"] == "iniconfig"
    path = store_path(service_environ)
    assert list(path.glob("lib/python3*/site-packages/iniconfig-2.3.1.dist-info/RECORD"))
    # With the wheel matching again, it is the wheel that is installed: nothing is built.
    lock_file.write_text(text)
    code, out, err = cli(capsys, "switch", "--config", str(config))
    assert code == 0, out + err
    assert "Built iniconfig" not in out + err


def test_every_language_backend_has_every_protocol_method() -> None:
    """A method added to `Language` (find_lock_problems) must exist in every backend: `check`
    calls it on each stable kernel whatever its language."""
    from jupyter_service.kernels import Language, language, language_names

    wanted = {n for n in vars(Language) if not n.startswith("_") and callable(vars(Language)[n])}
    for name in language_names():
        backend = language(name)
        assert {n for n in wanted if not callable(getattr(backend, n, None))} == set(), name
