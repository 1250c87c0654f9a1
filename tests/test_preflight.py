"""Issue 10.2: a failed `up` changes nothing; `check`, `up` and `doctor` agree on a config."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from jupyter_service.cli import main

from .helpers import service_cmd
from .stable_fixtures import PASSWORD_HASH, cli, render_config, tree_bytes

HEAD = f"password = {json.dumps(PASSWORD_HASH)}\n"


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text)
    return config


def test_check_refuses_a_disabled_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, HEAD + f"notebookDir = {json.dumps(str(tmp_path))}\n")
    code, out, err = cli(capsys, "check", "--config", str(config))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {config} has 1 problem:\n"
        "  enable: is false: `up` and the service refuse to start; set `enable = true`\n"
        f"hint: fix them, then run `{service_cmd('check', '--config', config)}` again; "
        "nothing was changed on disk\n"
    )


def test_check_and_up_refuse_a_notebook_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.write_text("not a directory")
    config = write(tmp_path, "enable = true\n" + HEAD + f'notebookDir = "{notebooks}"\n')
    for command in ("check", "up"):
        code, out, err = cli(capsys, command, "--config", str(config))
        assert (code, out) == (1, ""), command
        assert f"  notebookDir: {notebooks} exists and is not a directory\n" in err, command
    assert not service_environ.exists()


def test_doctor_agrees_with_check_on_extra_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    config = write(
        tmp_path,
        "enable = true\n"
        + HEAD
        + f"notebookDir = {json.dumps(str(tmp_path / 'notebooks'))}\n"
        + 'extraTools = ["no-such-tool-a", "no-such-tool-b", "no-such-tool-c"]\n'
        + f"extraToolsPath = [{json.dumps(str(tools))}]\n",
    )
    code, _, err = cli(capsys, "check", "--config", str(config))
    assert code == 1
    assert f"error: {config} has 3 problems:" in err
    checked = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert main(["doctor", "--config", str(config), "--json", "--no-kernels"]) == 1
    doc = json.loads(capsys.readouterr().out)
    [result] = [c for c in doc["checks"] if c["check"] == "config"]
    assert result["status"] == "fail"
    assert result["finding"] == f"{config} has 3 problems"
    assert result["details"] == checked


@pytest.mark.slow
def test_up_on_a_taken_port_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    """Before: `up` locked, built and switched to a new generation, then found the port taken
    (the server already running on that state dir lost its stable kernels)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        head = (
            f"enable = true\nport = {port}\n"
            + HEAD
            + f"notebookDir = {json.dumps(str(project / 'notebooks'))}\n"
        )
        config = write(project, render_config(["iniconfig"], head=head))
        before = tree_bytes(project)
        code, out, err = cli(capsys, "up", "--config", str(config))
    assert (code, out) == (1, "")
    assert err == (
        f"error: port {port} on 127.0.0.1 is already in use; nothing was changed\n"
        f"hint: stop what listens there (`ss -ltnp 'sport = :{port}'`), "
        f"or set another `port` in {config}\n"
    )
    assert tree_bytes(project) == before
    assert not service_environ.exists()
