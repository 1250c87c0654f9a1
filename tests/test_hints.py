"""Every hint the tools print works when pasted: each is run back through bash, as printed,
from another directory than the one the command ran in (the config given relatively)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.hints import needs_root, service_hint
from jupyter_service.venv_cli import main as venv_main
from jupyter_service.venvs.layout import Layout

from .helpers import service_cmd
from .stable_fixtures import CONFIG_B, PASSWORD_HASH


def pasted(text: str) -> list[str]:
    """The commands of the `hint:`, `fix:` and `apply with` lines: the backticked part where
    the line is prose around a command, else the whole line."""
    commands = []
    for line in text.splitlines():
        line = line.strip()
        for prefix in ("hint: ", "fix: ", "Promoted into "):
            if line.startswith(prefix):
                rest = line[len(prefix) :]
                commands += re.findall(r"`([^`]+)`", rest) or [rest]
    return commands


def paste(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` as a person pasting it into a shell would."""
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=600
    )


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
        # Only the effective uid changes (the saved one stays 0): the test becomes root again.
        os.seteuid(65534)
        try:
            assert needs_root([theirs / "config.lock"])
            assert needs_root([hidden / "state"])
            assert not needs_root([ours / "state" / "store"])
            hint = service_hint("lock", config=theirs / "c.toml", writes=[theirs / "c.lock"])
            root_hint = service_hint("install-service", root=True)
        finally:
            os.seteuid(0)
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
