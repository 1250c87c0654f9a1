"""Generations on disk, without builds: numbering, the atomic `current` link, rollback, gc."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.errors import ServiceError
from jupyter_service.store.gc import collect_garbage
from jupyter_service.store.generations import (
    current_number,
    list_generations,
    rollback,
    write_generation,
)
from jupyter_service.store.manifest import ManifestEntry

from .helpers import service_cmd


def test_each_generation_gets_a_new_number_and_becomes_current(service_environ: Path) -> None:
    state = service_environ
    for expected in (1, 2, 3):
        assert write_generation(state, {}, "/etc/x.toml").number == expected
        assert current_number(state) == expected
    assert os.readlink(state / "current") == "generations/3"
    assert (state / "current" / "kernels").is_dir()
    assert [g.manifest["config"] for g in list_generations(state)] == ["/etc/x.toml"] * 3
    assert not [p for p in state.iterdir() if p.name.startswith(".current")]


def test_rollback_gc_and_numbers_never_reused(
    service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = service_environ
    for _ in range(3):
        write_generation(state, {}, None)
    assert rollback(state).number == 2
    assert rollback(state, 1).number == 1 and current_number(state) == 1
    result = collect_garbage(state, keep=0)
    assert result.removed_generations == [2, 3] and result.removed_paths == []
    assert [g.number for g in list_generations(state)] == [1]
    assert write_generation(state, {}, None).number == 4
    assert main(["generations"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "4"]
    assert lines[1].endswith("-   (current)")
    assert main(["generations", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["number"], r["kernels"], r["current"]) for r in rows] == [
        (1, [], False),
        (4, [], True),
    ]
    assert all(r["created"] for r in rows)


def test_nothing_yet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generations"]) == 0
    assert (
        capsys.readouterr().out
        == f"no generations yet; `{service_cmd('switch')}` writes the first\n"
    )
    assert main(["generations", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["rollback"]) == 1
    assert capsys.readouterr().err == (
        f"error: no generation before the current one\nhint: {service_cmd('generations')}\n"
    )
    assert main(["gc"]) == 0
    assert capsys.readouterr().out == "freed 0.0 MiB (0 store paths)\n"
    assert main(["gc", "--keep", "-1"]) == 1
    assert (
        capsys.readouterr().err
        == f"error: --keep must be 0 or more\nhint: {service_cmd('gc', '--keep', 5)}\n"
    )


def test_switch_and_lock_need_a_config_file(
    service_environ: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_generation(service_environ, {}, None)
    assert main(["switch"]) == 1
    assert capsys.readouterr().err == (
        "error: stable kernels need a config file; the embedded default has none\n"
        "hint: write a config with [extraKernels.python-base] and pass it with --config\n"
    )
    assert current_number(service_environ) == 1
    assert main(["lock"]) == 0
    assert (
        capsys.readouterr().out
        == "nothing to lock: the embedded default config has no stable Python kernel\n"
    )


def test_run_warns_when_no_generation_serves_the_stable_kernels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$JgmFmHnWq2nbyINEzBHQLQ$'
        'w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"\n'
        '[extraKernels.small]\nlanguage = "python"\n'
    )
    # enable = false: `run` stops right after its checks, before serving.
    assert main(["run", "--config", str(config)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "warning: no generation is current, so no stable kernel is served; "
        f"run `{service_cmd('switch', '--config', config)}`",
        f"error: the service is disabled in {config} (enable = false)",
        "hint: set `enable = true` in the config",
    ]


def test_manifest_entries_are_typed_and_versioned() -> None:
    entry = ManifestEntry(
        "python", "/s/store/abc-ml", "f" * 64, "ML", {"A": "1"}, {"python": "3.11.2"}
    )
    assert ManifestEntry.from_dict(entry.to_dict()) == entry
    assert entry.to_dict()["format"] == 2
    # Format 1, before kernels had a language: every kernel was a Python kernel.
    old = {
        "store_path": "/s/store/abc-ml",
        "lock_sha256": "f" * 64,
        "display_name": "ML",
        "env": {"A": "1"},
        "python": "3.11.2",
    }
    assert ManifestEntry.from_dict(old) == entry
    with pytest.raises(ServiceError) as newer:
        ManifestEntry.from_dict({**entry.to_dict(), "format": 3}, "/s/generations/9/manifest.json")
    assert str(newer.value) == (
        "/s/generations/9/manifest.json has kernel entries in format 3, newer than this "
        "version reads (format 2)"
    )
    assert newer.value.hint == "pip install --upgrade jupyter-service"
