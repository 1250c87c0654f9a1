"""`--config` and `--json` where people put them: before or after the command, the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_service.cli import build_parser, main

from .stable_fixtures import PASSWORD_HASH

READS_A_CONFIG = [
    "up",
    "run",
    "check",
    "lock",
    "switch",
    "generations",
    "rollback",
    "gc",
    "paths",
    "proxy-config",
    "install-service",
    "doctor",
]
PRINTS_A_LIST = ["check", "generations", "gc", "paths", "doctor"]


def _options(command: str) -> set[str]:
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    return set(commands.choices[command]._option_string_actions)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", READS_A_CONFIG)
def test_every_command_that_reads_a_config_takes_config(command: str) -> None:
    assert "--config" in _options(command)


@pytest.mark.parametrize("command", PRINTS_A_LIST)
def test_every_command_that_prints_a_list_takes_json(command: str) -> None:
    assert "--json" in _options(command)


def _valid(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"enable = true\npassword = {json.dumps(PASSWORD_HASH)}\n")
    return config


def test_config_and_json_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_valid(tmp_path))
    answers = []
    for argv in (["check", "--config", config], ["--config", config, "check"]):
        assert main(argv) == 0
        answers.append(capsys.readouterr())
    assert answers[0] == answers[1]
    assert answers[0].out.startswith(f"ok: {config} is valid (auth: password;")
    for argv in (["check", "--json", "--config", config], ["--json", "--config", config, "check"]):
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == {
            "config": config,
            "valid": True,
            "auth": "password",
            "stable_kernels": [],
            "venv_kernels": True,
            "problems": [],
            "warnings": [],
        }
    for argv in (["--json", "generations"], ["generations", "--json"]):
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == []


def test_check_json_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("enable = true\nprot = 1\nport = 0\n")
    assert main(["--json", "check", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    doc = json.loads(captured.out)
    assert (doc["config"], doc["valid"]) == (str(config), False)
    assert [p["key"] for p in doc["problems"]] == ["prot", "port", "password"]


def test_an_option_a_command_has_not_is_refused_in_either_place(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--json", "switch"])
    assert exited.value.code == 2
    assert "error: --json is not an option of switch" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["--config", "x.toml", "hash-password"])
    assert exited.value.code == 2
    assert "error: --config is not an option of hash-password" in capsys.readouterr().err


def test_gc_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gc", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "removed_generations": [],
        "removed_paths": [],
        "kept_in_use": {},
        "removed_interrupted_builds": {},
        "freed_bytes": 0,
    }
