"""The pure systemd unit renderer, exactly; and `jupyter-service install-service` for real:
a real system user and group (a unique test name, removed afterwards), a real unit file
checked by `systemd-analyze verify`, into a temporary unit dir."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.config import ServiceConfig, parse_config
from jupyter_service.hints import find_program
from jupyter_service.systemd.unit import render_systemd_unit

from .helpers import as_nobody, service_cmd
from .test_config import PASSWORD_LINE

CONFIG = Path("/etc/jupyter-service/config.toml")
HOME = Path("/home/codgi")
EXE = ["/opt/jupyter-service/bin/jupyter-service"]

GOLDEN = """\
# Written by `jupyter-service install-service` from /etc/jupyter-service/config.toml.
# Run it again after changing user, group or notebookDir; put local changes in
# `systemctl edit jupyter-service`, which it does not overwrite.
[Unit]
Description=Jupyter service (jupyter-service)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=codgi
Group=lab
ExecStart=/opt/jupyter-service/bin/jupyter-service run --config /etc/jupyter-service/config.toml
Environment=JUPYTER_SERVICE_STATE_DIR=/var/lib/jupyter-service
Environment=JUPYTER_SERVICE_CONFIG=/etc/jupyter-service/config.toml
WorkingDirectory=/lab/jupyter
StateDirectory=jupyter-service
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths=/lab/jupyter /var/lib/jupyter-service /home/codgi
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
UMask=0027

[Install]
WantedBy=multi-user.target
Alias=jupyter.service
"""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creates a system user: needs root")
needs_useradd = pytest.mark.skipif(
    shutil.which("useradd", path="/usr/sbin:/sbin") is None, reason="no useradd"
)


def parsed(text: str) -> ServiceConfig:
    config, problems = parse_config(text, source=CONFIG)
    assert problems == []
    assert config is not None
    return config


def quick_start() -> ServiceConfig:
    return parsed(
        'enable = true\nuser = "codgi"\ngroup = "lab"\nnotebookDir = "/lab/jupyter"\n'
        + PASSWORD_LINE
    )


def write_config(path: Path, text: str) -> Path:
    path.write_text("enable = true\n" + PASSWORD_LINE + text)
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry under root: mode, owner, and its bytes (or a link's target)."""
    result: dict[str, tuple[int, int, bytes | str]] = {}
    for path in sorted([root, *root.rglob("*")]):
        st = path.lstat()
        if path.is_symlink():
            content: bytes | str = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes()
        else:
            content = b""
        result[str(path)] = (st.st_mode, st.st_uid, content)
    return result


# -- the renderer ------------------------------------------------------------------------------


def test_unit_is_exactly_the_golden_one() -> None:
    assert render_systemd_unit(quick_start(), CONFIG, EXE, HOME) == GOLDEN


def test_notebook_dir_under_tilde_is_the_service_users_home() -> None:
    config = replace(quick_start(), notebookDir="~/notebooks")
    unit = render_systemd_unit(config, CONFIG, EXE, HOME).splitlines()
    assert "WorkingDirectory=/home/codgi/notebooks" in unit
    assert "ReadWritePaths=/home/codgi/notebooks /var/lib/jupyter-service /home/codgi" in unit
    home_itself = render_systemd_unit(replace(config, notebookDir="~/"), CONFIG, EXE, HOME)
    assert "WorkingDirectory=/home/codgi\n" in home_itself
    assert "ReadWritePaths=/home/codgi /var/lib/jupyter-service\n" in home_itself


def test_python_dash_m_when_there_is_no_console_script() -> None:
    unit = render_systemd_unit(
        quick_start(), CONFIG, ["/usr/bin/python3", "-m", "jupyter_service"], HOME
    )
    assert (
        "ExecStart=/usr/bin/python3 -m jupyter_service run --config /etc/jupyter-service/config.toml\n"
        in unit
    )


def test_spaces_percent_and_dollar_are_escaped_for_systemd() -> None:
    config = replace(quick_start(), notebookDir="/srv/my notes/50%")
    unit = render_systemd_unit(config, Path("/etc/j s/$HOME.toml"), EXE, HOME).splitlines()
    assert (
        'ExecStart=/opt/jupyter-service/bin/jupyter-service run --config "/etc/j s/$$HOME.toml"'
        in unit
    )
    assert 'Environment="JUPYTER_SERVICE_CONFIG=/etc/j s/$HOME.toml"' in unit
    assert "WorkingDirectory=/srv/my notes/50%%" in unit
    assert 'ReadWritePaths="/srv/my notes/50%%" /var/lib/jupyter-service /home/codgi' in unit


def test_a_newline_cannot_inject_a_setting() -> None:
    config = replace(quick_start(), notebookDir="/lab\nExecStartPre=/bin/sh")
    with pytest.raises(ValueError, match="control character"):
        render_systemd_unit(config, CONFIG, EXE, HOME)


def test_the_executable_is_the_console_script_beside_this_python() -> None:
    script = Path(os.path.abspath(sys.executable)).parent / "jupyter-service"
    assert script.is_file()  # the test venv has it
    assert find_program("jupyter-service") == [str(script)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "jupyter-service.service"
    unit.write_text(
        render_systemd_unit(quick_start(), CONFIG, find_program("jupyter-service"), HOME)
    )
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


# -- the command -------------------------------------------------------------------------------


def test_print_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "config.toml", f'notebookDir = "{tmp_path}/nb"\n')
    units = tmp_path / "units"
    units.mkdir()
    before = snapshot(tmp_path)
    assert (
        main(["install-service", "--config", str(config), "--print", "--unit-dir", str(units)]) == 0
    )
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out == render_systemd_unit(
        parsed_file(config), config, find_program("jupyter-service"), Path("/home/jupyter")
    )
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "nb").exists()


def parsed_file(path: Path) -> ServiceConfig:
    config, problems = parse_config(path.read_text(), source=path)
    assert problems == [] and config is not None
    return config


def test_no_config_file_cannot_be_installed(capsys: pytest.CaptureFixture[str]) -> None:
    if CONFIG.exists():
        pytest.skip("this machine has /etc/jupyter-service/config.toml")
    assert main(["install-service", "--print"]) == 1
    assert capsys.readouterr().err == (
        "error: no config file: the embedded default serves whoever runs `up`, it cannot be "
        "installed as a service\n"
        "hint: write /etc/jupyter-service/config.toml (see the README's Quick start), then run "
        f"`{service_cmd('check', '--config', '/etc/jupyter-service/config.toml')}`\n"
    )


def test_invalid_config_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('enable = true\nport = 0\nusr = "x"\n' + PASSWORD_LINE)
    units = tmp_path / "units"
    units.mkdir()
    before = snapshot(tmp_path)
    assert main(["install-service", "--config", str(config), "--unit-dir", str(units)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {config} has 2 problems:\n")
    assert "nothing was changed on disk" in err
    assert snapshot(tmp_path) == before


def test_a_disabled_service_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(PASSWORD_LINE)
    assert main(["install-service", "--config", str(config), "--print"]) == 1
    assert capsys.readouterr().err == (
        f"error: the service is disabled in {config} (enable = false): it would not start\n"
        "hint: set `enable = true` in the config\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_not_root_is_refused_with_a_sudo_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config.toml", "")
    before = snapshot(tmp_path)
    with as_nobody():
        status = main(["install-service", "--config", str(config), "--unit-dir", str(tmp_path)])
    assert status == 1
    exe = " ".join(find_program("jupyter-service"))
    assert capsys.readouterr().err == (
        "error: install-service creates a system user and writes the systemd unit: run it as root\n"
        f"hint: sudo {exe} install-service --unit-dir {tmp_path} --config {config}\n"
    )
    assert snapshot(tmp_path) == before


@pytest.fixture
def account() -> Iterator[str]:
    """A user and group name no one has; whatever the test made of it is removed after."""
    name = "jstest" + uuid.uuid4().hex[:8]
    assert_absent(name)
    try:
        yield name
    finally:
        if user_exists(name):
            subprocess.run(["/usr/sbin/userdel", "-r", name], capture_output=True, check=False)
        if group_exists(name):
            subprocess.run(["/usr/sbin/groupdel", name], capture_output=True, check=True)
        assert_absent(name)


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def assert_absent(name: str) -> None:
    assert not user_exists(name) and not group_exists(name)
    assert not Path("/home", name).exists()


@pytest.mark.parametrize("kind", ["missing", "symlink", "file"])
def test_a_bad_unit_dir_is_refused_before_anything_is_made(
    kind: str, tmp_path: Path, account: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config.toml", f'user = "{account}"\ngroup = "{account}"\n')
    units = tmp_path / "units"
    real = tmp_path / "real"
    real.mkdir()
    if kind == "symlink":
        units.symlink_to(real)
    elif kind == "file":
        units.write_text("")
    if os.geteuid() != 0:
        pytest.skip("the unit dir is checked after the root check")
    assert main(["install-service", "--config", str(config), "--unit-dir", str(units)]) == 1
    expected = {
        "missing": f"error: unit dir does not exist: {units}\n"
        "hint: create it first, or leave out --unit-dir for /etc/systemd/system\n",
        "symlink": f"error: unit dir is a symlink: {units} -> {real}\n"
        f"hint: pass the directory itself: --unit-dir {real}\n",
        "file": f"error: unit dir is not a directory: {units}\n",
    }
    assert capsys.readouterr().err == expected[kind]
    assert_absent(account)
    assert list(real.iterdir()) == []


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A dir the service user can read (pytest's tmp dirs are root's, mode 0700)."""
    with tempfile.TemporaryDirectory(prefix="jupyter-service-test-") as name:
        path = Path(name)
        path.chmod(0o755)
        yield path


@pytest.mark.slow
@needs_root
@needs_useradd
def test_install_creates_user_group_dirs_and_unit(
    shared_dir: Path, account: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        shared_dir / "config.toml",
        f'user = "{account}"\ngroup = "{account}"\nnotebookDir = "~/notebooks/lab"\n',
    )
    config.chmod(0o644)
    units = shared_dir / "units"
    units.mkdir()
    argv = ["install-service", "--config", str(config), "--unit-dir", str(units)]
    assert main(argv) == 0

    user, group = pwd.getpwnam(account), grp.getgrnam(account)
    home = Path("/home") / account
    assert (user.pw_gid, user.pw_dir, user.pw_shell) == (
        group.gr_gid,
        str(home),
        "/usr/sbin/nologin",
    )
    assert user.pw_uid < 1000 and group.gr_gid < 1000  # system accounts
    for directory in (home, home / "notebooks", home / "notebooks" / "lab"):
        st = directory.stat()
        assert (st.st_uid, st.st_gid) == (user.pw_uid, group.gr_gid), directory
    assert stat.S_IMODE((home / "notebooks" / "lab").stat().st_mode) == 0o750

    unit = units / "jupyter-service.service"
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert unit.stat().st_uid == 0
    expected = render_systemd_unit(
        parsed_file(config), config, find_program("jupyter-service"), home
    )
    assert unit.read_text() == expected
    assert f"WorkingDirectory={home}/notebooks/lab\n" in expected
    assert f"User={account}\nGroup={account}\n" in expected
    assert sorted(p.name for p in units.iterdir()) == ["jupyter-service.service"]

    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.splitlines() == [
        f"group {account}: created (system group)",
        f"user {account}: created (system user, home {home})",
        f"notebookDir {home}/notebooks/lab: created (owner {account}:{account}, mode 0750)",
        f"wrote {unit}",
        f"{units} is not /etc/systemd/system: systemd was not reloaded",
        "next: systemctl daemon-reload && systemctl enable --now jupyter-service",
    ]
    if shutil.which("systemd-analyze"):
        proc = subprocess.run(
            ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
        )
        assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")

    # Again, with a config the service user cannot read: nothing to create, the same unit,
    # and a warning now rather than a failed start later.
    config.chmod(0o600)
    assert main(argv) == 0
    assert unit.read_text() == expected
    assert capsys.readouterr().out.splitlines()[:4] == [
        f"group {account}: exists, left as it is",
        f"user {account}: exists, left as it is (home {home})",
        f"notebookDir {home}/notebooks/lab: exists, left as it is",
        f"warning: user {account} cannot read {config}, so the service will not start: make it "
        f"and its directories readable to {account} (e.g. chgrp and chmod g+r)",
    ]


@pytest.mark.slow
def test_hub_install_creates_private_user_accounts_and_a_root_hub_unit(
    shared_dir: Path, account: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_config import HASH

    config = shared_dir / "config.toml"
    config.write_text(
        f'enable = true\nport = 8000\n[hub]\nenable = true\n[hub.users]\n{account} = "{HASH}"\n'
    )
    units = shared_dir / "units"
    units.mkdir()
    argv = ["install-service", "--config", str(config), "--unit-dir", str(units)]
    assert main(argv) == 0
    user = pwd.getpwnam(account)
    home = Path(user.pw_dir)
    assert user.pw_shell == "/bin/bash"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert home.stat().st_uid == user.pw_uid
    unit = (units / "jupyter-service.service").read_text()
    assert "User=root\nGroup=root\n" in unit
    assert f"ReadWritePaths=/var/lib/jupyter-service {home}\n" in unit
    assert "UMask=0022\n" in unit
    assert (
        capsys.readouterr().out.splitlines()[0]
        == f"hub user {account}: created (home {home}, mode 0700)"
    )
    if shutil.which("systemd-analyze"):
        proc = subprocess.run(
            ["systemd-analyze", "verify", str(units / "jupyter-service.service")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")
    # Again: the account exists and stays as it is.
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"hub user {account}: exists (home {home})"
