"""`spawner = "systemd"`: one transient unit per user (jupyterhub-systemdspawner, as The
Littlest JupyterHub does), with the local spawner's command, environment and pinned settings
plus the unit's limits and isolation.

This machine's init is not systemd (no /run/systemd/system), so no unit can start here: the
tests check the rendered hub settings, the library's spawner as the hub configures it (its
unit name, user, working dir, limits, command and environment), and what `run` and `doctor`
say on a host without systemd. The real spawn is not run here."""

from __future__ import annotations

import json
import pwd
from pathlib import Path
from types import SimpleNamespace

import pytest

from jupyter_service.cli import main
from jupyter_service.config import parse_config
from jupyter_service.hub.host import SYSTEMD_RUNNING
from jupyter_service.hub.settings import HubRuntime, render_hub_settings
from jupyter_service.hub.singleuser import SETTINGS_ENV
from jupyter_service.server.settings import Runtime
from jupyter_service.systemd.unit import render_systemd_unit

from .test_hub_config import HUB, HUB_HEAD

STATE = "/var/lib/jupyter-service"
TOOLS = f"{STATE}/tools/0123abcd"
PYTHON = "/opt/jupyter-service/venv/bin/python"
LIMITS = 'spawner = "systemd"\nmemoryLimit = "2G"\ncpuLimit = "1.5"\n[hub.users]'
SYSTEMD = HUB_HEAD + 'notebookDir = "~/work"\n' + HUB.replace("[hub.users]", LIMITS)
NO_SYSTEMD = pytest.mark.skipif(
    SYSTEMD_RUNNING.is_dir(), reason="systemd runs here: the refusal is for hosts without it"
)


def runtime() -> HubRuntime:
    return HubRuntime(
        hub_dir=f"{STATE}/hub",
        python=PYTHON,
        proxy_command=("/usr/bin/configurable-http-proxy",),
        hub_port=8081,
        proxy_api_port=8082,
        server=Runtime(
            notebook_dir="",
            tools_dir=TOOLS,
            terminal_rc=f"{STATE}/terminal-rc",
            stable_kernel_dir=f"{STATE}/current/kernels",
        ),
        environment={"PATH": f"{TOOLS}:/opt/jupyter-service/venv/bin:/usr/bin:/bin"},
        state_dir=STATE,
    )


def settings_of(text: str) -> dict[str, object]:
    config, problems = parse_config(text)
    assert problems == [] and config is not None
    return render_hub_settings(config, runtime())


def test_the_systemd_spawner_gets_the_local_spawners_settings_and_the_units_limits() -> None:
    settings = settings_of(SYSTEMD)
    local = settings_of(HUB_HEAD + 'notebookDir = "~/work"\n' + HUB)
    hub = settings["JupyterHub"]
    assert isinstance(hub, dict)
    assert hub["spawner_class"] == "jupyter_service.hub.spawner.ServiceSystemdSpawner"
    assert "ServiceSpawner" not in settings
    spawner = settings["ServiceSystemdSpawner"]
    assert isinstance(spawner, dict)
    shared = local["ServiceSpawner"]
    assert isinstance(shared, dict)
    # The same command, notebookDir, environment and pinned settings as the local spawner.
    assert {key: spawner[key] for key in shared} == shared
    assert shared["cmd"] == [PYTHON, "-m", "jupyter_service.hub.singleuser"]
    assert shared["notebook_dir"] == "~/work"
    pinned = shared["singleuser_settings"]
    assert pinned["ServiceKernelSpecManager"]["stable_kernel_dir"] == f"{STATE}/current/kernels"
    # And the unit's own: limits, the user's account and home, isolation, a read-only state.
    assert {key: spawner[key] for key in spawner if key not in shared} == {
        "unit_name_template": "jupyter-{USERNAME}-singleuser",
        "username_template": "{USERNAME}",
        "default_shell": "/bin/bash",
        "mem_limit": "2G",
        "cpu_limit": 1.5,
        "isolate_tmp": True,
        "disable_user_sudo": True,
        "readonly_paths": [STATE],
    }


def test_the_library_spawner_takes_the_settings_as_the_hub_gives_them() -> None:
    """The library's own class, configured by the rendered settings: a misspelt trait
    would be dropped silently by traitlets, so the values are read back from the spawner."""
    from traitlets.config import Config

    from jupyter_service.hub.spawner import ServiceSystemdSpawner

    settings = settings_of(SYSTEMD)
    me = pwd.getpwuid(0).pw_name
    user = SimpleNamespace(name=me, id=7, url=f"/hub/user/{me}/", escaped_name=me)
    hub = SimpleNamespace(
        public_host="",
        api_url="http://127.0.0.1:8081/hub/api",
        base_url="/hub/",
        url="http://127.0.0.1:8081/hub/",
    )
    spawner = ServiceSystemdSpawner(user=user, hub=hub, config=Config(settings))
    assert spawner.unit_name == f"jupyter-{me}-singleuser"
    # MemoryMax= and CPUQuota= of the unit are made from these (2G -> bytes, 1.5 -> 150%).
    assert spawner.mem_limit == 2 * 1024**3
    assert spawner.cpu_limit == 1.5
    assert spawner.cmd == [PYTHON, "-m", "jupyter_service.hub.singleuser"]
    # The unit runs as the user's account, in their home (None: the account's home dir);
    # the server then opens notebookDir there.
    assert spawner.username_template == "{USERNAME}" and spawner.user_workingdir is None
    assert spawner.notebook_dir == "~/work"
    assert spawner.readonly_paths == [STATE]
    assert spawner.isolate_tmp and spawner.disable_user_sudo and not spawner.dynamic_users
    assert spawner.start_timeout == 180 and spawner.http_timeout == 180
    env = spawner.get_env()
    assert env["PATH"].split(":")[0] == TOOLS
    assert env["JUPYTERHUB_USER"] == me
    assert env["MEM_LIMIT"] == str(2 * 1024**3) and env["CPU_LIMIT"] == "1.5"
    spawner_settings = settings["ServiceSystemdSpawner"]
    assert isinstance(spawner_settings, dict)
    assert json.loads(env[SETTINGS_ENV]) == spawner_settings["singleuser_settings"]


@NO_SYSTEMD
def test_run_says_when_systemd_is_not_this_hosts_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(SYSTEMD)
    assert main(["run", "--config", str(config)]) == 1
    init = Path("/proc/1/comm").read_text().strip()
    err = capsys.readouterr().err
    assert (
        'error: hub.spawner = "systemd" starts each user\'s server as a transient systemd unit, '
        f"but systemd is not the running init system here (PID 1 is {init}; "
        "/run/systemd/system is missing)\n"
        'hint: use spawner = "local" on this host (no memory or CPU limits), or run the hub '
        "on a host booted with systemd\n"
    ) == err


@NO_SYSTEMD
def test_check_names_the_spawner_that_cannot_run_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(SYSTEMD)
    assert main(["check", "--config", str(config)]) == 1
    init = Path("/proc/1/comm").read_text().strip()
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"error: {config} has 1 problem:",
        "  hub.spawner: starts each user's server as a transient systemd unit, but systemd is "
        f"not the running init system here (PID 1 is {init}; /run/systemd/system is missing); "
        'use spawner = "local" on this host (no memory or CPU limits), or run the hub on a '
        "host booted with systemd",
    ]


def test_the_hub_unit_lets_the_spawner_write_the_units_environment_files() -> None:
    config, problems = parse_config(SYSTEMD)
    assert problems == [] and config is not None
    home = Path("/home/alice")
    unit = render_systemd_unit(
        config,
        Path("/etc/jupyter-service/config.toml"),
        ["/usr/bin/jupyter-service"],
        Path("/root"),
        [home],
    )
    assert "User=root\nGroup=root\n" in unit
    assert f"ReadWritePaths=/var/lib/jupyter-service {home} /run\n" in unit


@NO_SYSTEMD
def test_doctor_says_the_systemd_spawner_cannot_run_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(SYSTEMD)
    assert main(["doctor", "--json", "--no-kernels", "--config", str(config)]) == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    [spawner] = [c for c in checks if c["check"] == "hub" and c["subject"] == "spawner"]
    init = Path("/proc/1/comm").read_text().strip()
    assert (spawner["status"], spawner["finding"], spawner["fix"]) == (
        "fail",
        'hub.spawner = "systemd" starts each user\'s server as a transient systemd unit, but '
        f"systemd is not the running init system here (PID 1 is {init}; /run/systemd/system "
        "is missing)",
        'use spawner = "local" on this host (no memory or CPU limits), or run the hub on a '
        "host booted with systemd",
    )
