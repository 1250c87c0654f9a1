"""`doctor` on a hub host: the proxy and whether it runs, what users' servers must pass, the
hub's state modes, the users' accounts; real accounts, real modes, the real proxy."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from jupyter_service.cli import main
from jupyter_service.hints import service_hint
from jupyter_service.hub.host import PROXY_INSTALL

from .hub_helpers import ALICE, hub_head, world_readable_tmp
from .test_config import HASH


def hub_results(config: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, ...]]:
    main(["doctor", "--json", "--no-kernels", "--config", str(config)])
    doc: Any = json.loads(capsys.readouterr().out)
    return [
        (c["status"], c["subject"], c["finding"], c["fix"] or "")
        for c in doc["checks"]
        if c["check"] == "hub"
    ]


@pytest.mark.slow
def test_doctor_names_each_hub_problem_with_its_fix(
    hub_accounts: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    carol = f"carol-{uuid.uuid4().hex[:6]}"  # no such account
    root = world_readable_tmp("jupyter-service-doctor-")
    home = Path(f"/home/{ALICE}")
    try:
        state = root / "state"
        (state / "hub").mkdir(parents=True)
        (state / "hub").chmod(0o755)
        (state / "hub" / "jupyterhub.sqlite").write_text("")
        (state / "hub" / "jupyterhub.sqlite").chmod(0o644)
        (state / "store").mkdir(mode=0o777)
        (state / "store").chmod(0o777)
        monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))
        # As a shell has it: Debian's proxy needs NODE_PATH, which only `up` sets.
        monkeypatch.delenv("NODE_PATH", raising=False)
        home.chmod(0o755)
        config = root / "config.toml"
        config.write_text(hub_head(8000, users=f'{ALICE} = "{HASH}"\n{carol} = "{HASH}"\n'))
        assert hub_results(config, capsys) == [
            (
                "ok",
                "configurable-http-proxy",
                f"{shutil.which('configurable-http-proxy')} 4.5.3 runs; only with "
                "NODE_PATH=/usr/share/nodejs (Debian's build), which `up` sets",
                "",
            ),
            (
                "ok",
                "users' reach",
                "every user can reach the interpreter, its venv, the state dir and the store",
                "",
            ),
            (
                "fail",
                "state modes",
                f"{state}/hub is mode 0755: users could read the hub's database and cookie secret",
                f"chmod 700 {state}/hub",
            ),
            (
                "fail",
                "state modes",
                f"{state}/hub/jupyterhub.sqlite is mode 0644, not 0600",
                f"chmod 600 {state}/hub/jupyterhub.sqlite",
            ),
            (
                "fail",
                "state modes",
                f"{state}/store is mode 0777: users could write the stable kernels",
                f"chmod go-w {state}/store",
            ),
            (
                "warn",
                "accounts",
                f"no system account for {carol}: their servers cannot start (install-service "
                "makes them, homes 0700)",
                service_hint("install-service", config=config, root=True),
            ),
            (
                "warn",
                "accounts",
                f"the home of {ALICE}, {home}, is mode 0755: other users' kernels can look in",
                f"chmod 700 {home}",
            ),
        ]
        # Each fix as doctor says it; then only the missing account is left.
        for path, mode in ((state / "hub", 0o700), (state / "hub" / "jupyterhub.sqlite", 0o600)):
            path.chmod(mode)
        (state / "store").chmod(0o755)
        home.chmod(0o700)
        statuses = {(s, subject) for s, subject, _, _ in hub_results(config, capsys)}
        assert statuses == {
            ("ok", "configurable-http-proxy"),
            ("ok", "users' reach"),
            ("ok", "state modes"),
            ("warn", "accounts"),
        }
        # A state dir under a dir only root may pass (pytest's own tmp dirs are 0700).
        closed = tmp_path / "state"
        closed.mkdir()
        monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(closed))
        reach = [r for r in hub_results(config, capsys) if r[1] == "users' reach"]
        blocker = next(p for p in reversed(closed.parents) if not p.stat().st_mode & 0o001)
        assert reach == [
            (
                "fail",
                "users' reach",
                f"users' servers cannot reach {closed}: {blocker} is closed to other users "
                "(mode drwx------)",
                "install jupyter-service where every user can read it (such as a venv under /opt "
                f"from /usr/bin/python3), or `chmod o+x {blocker}`",
            )
        ]
        # No proxy on PATH.
        monkeypatch.setenv("PATH", str(tmp_path))
        proxy = [r for r in hub_results(config, capsys) if r[1] == "configurable-http-proxy"]
        assert proxy == [
            (
                "fail",
                "configurable-http-proxy",
                "configurable-http-proxy is not installed (JupyterHub's proxy)",
                PROXY_INSTALL,
            )
        ]
    finally:
        home.chmod(0o700)
        shutil.rmtree(root)
