"""Every hint the tools print works when pasted: each is run back through bash, as printed,
from another directory than the one the command ran in (the config given relatively)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.hints import needs_root, service_hint
from jupyter_service.venv_cli import main as venv_main
from jupyter_service.venvs.layout import Layout

from .helpers import as_nobody, paste, pasted, service_cmd
from .stable_fixtures import CONFIG_B, PASSWORD_HASH
from .test_install_service import account, needs_useradd, shared_dir, write_config

__all__ = ["account", "shared_dir"]  # fixtures used here


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def test_check_hint_names_the_config_absolutely(
    tmp_path: Path,
    elsewhere: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = tmp_path / "admin"
    admin.mkdir()
    config = admin / "config.toml"
    config.write_text("enable = true\nprot = 8888\n")
    monkeypatch.chdir(admin)
    assert main(["check", "--config", "config.toml"]) == 1
    [command] = pasted(capsys.readouterr().err)
    assert command == service_cmd("check", "--config", config)
    config.write_text(f"enable = true\npassword = {json.dumps(PASSWORD_HASH)}\n")
    proc = paste(command, elsewhere)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stdout
    assert proc.stdout.startswith(f"ok: {config} is valid (auth: password;")


def test_sudo_only_where_the_command_writes_what_is_not_ours() -> None:
    with tempfile.TemporaryDirectory() as name:  # under /tmp, not pytest's root-only dir
        root = Path(name)
        root.chmod(0o755)
        theirs = root / "theirs"
        theirs.mkdir(mode=0o755)
        ours = root / "ours"
        ours.mkdir()
        ours.chmod(0o777)
        hidden = root / "hidden"
        hidden.mkdir(mode=0o700)
        with as_nobody():
            assert needs_root([theirs / "config.lock"])
            assert needs_root([hidden / "state"])
            assert not needs_root([ours / "state" / "store"])
            hint = service_hint("lock", config=theirs / "c.toml", writes=[theirs / "c.lock"])
            root_hint = service_hint("install-service", root=True)
    assert hint.startswith("sudo /") and hint.endswith(f" lock --config {theirs / 'c.toml'}")
    assert root_hint.startswith("sudo /")
    # As root, nothing needs sudo.
    assert service_hint("install-service", root=True) == service_cmd("install-service")


@pytest.mark.slow
def test_stable_tier_hints_run_as_printed(
    project: Path,
    elsewhere: Path,
    service_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = service_environ
    monkeypatch.chdir(project)
    relative = ["--config", "config.toml"]

    # doctor: stable kernels but no generation; its fix switches.
    assert main(["doctor", *relative, "--no-kernels", "--json"]) == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    [fix] = [c["fix"] for c in checks if c["check"] == "generation"]
    assert paste(fix, elsewhere).returncode == 0
    assert (state / "current").exists()

    # The config asks for more than the lock has: switch's hint locks.
    (project / "config.toml").write_text(CONFIG_B)
    assert main(["switch", *relative]) == 1
    [command] = pasted(capsys.readouterr().err)
    proc = paste(command, elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert main(["switch", *relative]) == 0

    # An unknown kernel for --upgrade: the hint names a real one.
    assert main(["lock", "--upgrade", "nope", *relative]) == 1
    [command] = pasted(capsys.readouterr().err)
    assert command == service_cmd("lock", "--upgrade", "small", "--config", project / "config.toml")
    assert paste(command, elsewhere).returncode == 0

    # Nothing before generation 1: the hint lists the generations.
    assert main(["rollback", *relative]) == 0
    assert main(["rollback", *relative]) == 1
    [command] = pasted(capsys.readouterr().err)
    proc = paste(command, elsewhere)
    assert proc.returncode == 0 and "(current)" in proc.stdout, proc.stdout + proc.stderr

    assert main(["gc", "--keep", "-1", *relative]) == 1
    [command] = pasted(capsys.readouterr().err)
    assert paste(command, elsewhere).returncode == 0


@pytest.mark.slow
def test_promote_hint_locks_and_switches_as_printed(
    project: Path,
    layout: Layout,
    elsewhere: Path,
    service_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert venv_main(["create", "proto"]) == 0
    venv = layout.venvs / "proto"
    subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", "six"],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert venv_main(["promote", "proto", "--to", "small", "--config", "config.toml"]) == 0
    [command] = pasted(capsys.readouterr().out)
    config = project / "config.toml"
    assert command == (
        f"{service_cmd('lock', '--config', config)} && {service_cmd('switch', '--config', config)}"
    )
    proc = paste(command, elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "switched to generation 1: small" in proc.stdout
    manifest = json.loads((service_environ / "current" / "manifest.json").read_text())
    assert list(manifest["kernels"]) == ["small"]


def test_config_problems_name_hash_password_as_it_runs_here(
    tmp_path: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config problem that says how to make a hash names a command that runs here (after
    the README's set-up command, `jupyter-service` is not on the PATH): pasted, it makes
    the hash that fixes the config."""
    config = tmp_path / "config.toml"
    config.write_text('enable = true\npassword = "hunter2"\n')
    assert main(["check", "--config", str(config)]) == 1
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("  password: ")]
    [command] = re.findall(r"`([^`]+)`", line)
    assert command == service_cmd("hash-password")
    proc = paste(command, elsewhere, stdin="correct horse battery staple\n")
    assert proc.returncode == 0 and proc.stdout.startswith("argon2:$argon2id$"), proc.stderr
    config.write_text(f"enable = true\npassword = {json.dumps(proc.stdout.strip())}\n")
    assert main(["check", "--config", str(config)]) == 0


@pytest.mark.slow
def test_run_warnings_run_as_printed(
    project: Path,
    elsewhere: Path,
    service_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` with no generation current, then with `current` dangling: each warning's
    commands, pasted, bring the stable kernels back. (The service is disabled, so `run`
    stops after its warnings instead of serving.)"""
    config = project / "config.toml"
    config.write_text(config.read_text().replace("enable = true", "enable = false", 1))
    monkeypatch.chdir(project)

    def warned() -> list[str]:
        assert main(["run", "--config", "config.toml"]) == 1
        err = capsys.readouterr().err
        [warning] = [line for line in err.splitlines() if line.startswith("warning: ")]
        return re.findall(r"`([^`]+)`", warning)

    assert warned() == [service_cmd("switch", "--config", config)]
    proc = paste(service_cmd("switch", "--config", config), elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(service_environ / "current") == "generations/1"

    (service_environ / "current").unlink()
    (service_environ / "current").symlink_to("generations/7")
    rollback, switch = warned()
    assert (rollback, switch) == (
        service_cmd("rollback"),
        service_cmd("switch", "--config", config),
    )
    proc = paste(rollback, elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(service_environ / "current") == "generations/1"


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="makes a system user")
@pytest.mark.skipif(shutil.which("sudo") is None, reason="no sudo")
@needs_useradd
def test_install_service_sudo_hint_runs_as_printed(
    shared_dir: Path, account: str, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not root: the refusal's hint is `sudo ABS-PROGRAM install-service --unit-dir ABS
    --config ABS`; pasted by an admin who may sudo, it installs."""
    config = write_config(shared_dir / "config.toml", f'user = "{account}"\ngroup = "{account}"\n')
    config.chmod(0o644)
    units = shared_dir / "units"
    units.mkdir()
    with as_nobody():
        code = main(["install-service", "--config", str(config), "--unit-dir", str(units)])
    assert code == 1
    [command] = pasted(capsys.readouterr().err)
    assert command.startswith("sudo /")
    proc = paste(command, elsewhere)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote {units / 'jupyter-service.service'}" in proc.stdout.splitlines()
    assert pwd.getpwnam(account).pw_dir == f"/home/{account}"


def test_venv_kernel_hints_run_as_printed(
    layout: Layout, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`jupyter-venv-kernel`'s own hints name it as the shell finds it (a Jupyter terminal
    has it on the PATH; a shell after the README's set-up command does not)."""
    assert venv_main(["delete", "nothing", "--yes"]) == 1
    [command] = pasted(capsys.readouterr().err)
    proc = paste(command, elsewhere)
    assert proc.returncode == 0 and "Experimental venv kernels:" in proc.stdout, proc.stderr
    assert venv_main(["shell", "nothing"]) == 1
    [command] = pasted(capsys.readouterr().err)
    assert command.endswith(" create nothing")
    proc = paste(command, elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (layout.venvs / "nothing" / "bin" / "python").exists()
