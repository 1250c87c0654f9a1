"""State files are ours alone (SECURITY.md 30): made with explicit modes whatever the umask,
and refused, with the fix, when another account could have written them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_service.config import load_config
from jupyter_service.doctor.checks import check_state_files
from jupyter_service.errors import ServiceError
from jupyter_service.hub.app import prepare_hub_dir
from jupyter_service.paths import ServicePaths
from jupyter_service.proc import write_log
from jupyter_service.proxy.secret import ensure_proxy_secret
from jupyter_service.server.app import prepare_runtime
from jupyter_service.state_files import trusted_owners
from jupyter_service.store.generations import state_lock, write_generation

from .helpers import free_port, isolated_env
from .test_server import write_config

NOBODY = 65534


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """Every path under `root` (links not followed) and its mode bits."""
    found = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode):
                found[str(path.relative_to(root))] = stat.S_IMODE(st.st_mode)
    return found


def prepare(tmp_path: Path) -> ServicePaths:
    """What `up` writes in the state dir, then what `switch`, the hub, a failed build's
    log and Authelia mode add."""
    prepare_runtime(load_config(write_config(tmp_path, free_port())))
    where = ServicePaths.from_environment()
    with state_lock(where.state):
        write_generation(where.state, {}, None)
    prepare_hub_dir(where.state)
    write_log(["false"], "output", where.logs)
    ensure_proxy_secret(where.state)
    return where


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o077], indirect=True)
def test_state_files_get_their_modes_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    where = prepare(tmp_path)
    found = modes(where.state)
    writable = {path: f"{mode:04o}" for path, mode in found.items() if mode & 0o022}
    assert writable == {}
    tools = next(p for p in where.tools.iterdir() if p.is_dir())
    expected = {
        ".": 0o755,
        "tools": 0o755,
        f"tools/{tools.name}": 0o755,
        f"tools/{tools.name}.bashrc": 0o644,
        f"tools/{tools.name}/jupyter-venv-kernel": 0o755,
        "lab-settings": 0o755,
        "lab-settings/overrides.json": 0o644,
        "generations": 0o755,
        "generations/1": 0o755,
        "generations/1/kernels": 0o755,
        "generations/1/manifest.json": 0o644,
        "generations/.last": 0o644,
        "hub": 0o700,
        "hub/jupyterhub.sqlite": 0o600,
        "logs": 0o700,
        "proxy-secret": 0o600,
        ".lock": 0o600,
    }
    assert {path: f"{found.get(path, 0):04o}" for path in expected} == {
        path: f"{mode:04o}" for path, mode in expected.items()
    }
    (log,) = where.logs.iterdir()
    assert found[f"logs/{log.name}"] == 0o600
    assert check_state_files(where.state)[0].status == "ok"


def chown_nobody(path: Path) -> str:
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    return "nobody"


def test_a_secret_made_by_another_account_is_refused_by_up(tmp_path: Path) -> None:
    """The audit's case: a pre-made proxy-secret owned by another user was accepted."""
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'enable = true\nport = {port}\nnotebookDir = "{tmp_path / "notebooks"}"\n'
        '[reverseProxy]\nenable = true\ndomains = ["a.example"]\nauthelia.enable = true\n'
    )
    env = isolated_env(tmp_path)
    secret = Path(env["JUPYTER_SERVICE_STATE_DIR"]) / "proxy-secret"
    secret.parent.mkdir()
    secret.write_text("chosen-by-someone-else\n")
    secret.chmod(0o600)
    chown_nobody(secret)
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service", "up", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        "error: state files another account could have written (not trusted):\n"
        f"  {secret}: is owned by nobody, not root\n"
        f"hint: chown root {secret}\n"
    )
    assert secret.read_text() == "chosen-by-someone-else\n"


def _world_writable(path: Path) -> str:
    path.chmod(0o777 if path.is_dir() else 0o666)
    return ""


UNSAFE = [
    # (what to spoil, how, the problem named, the fix)
    ("proxy-secret", chown_nobody, "is owned by nobody, not root", "chown root {path}"),
    (
        "proxy-secret",
        lambda p: p.chmod(0o644),
        "is open to other accounts (mode 0644)",
        "chmod 600 {path}",
    ),
    (".", _world_writable, "is writable by others (mode 0777)", "chmod go-w {path}"),
    (
        "tools",
        lambda p: p.chmod(0o775),
        "is writable by group root (mode 0775)",
        "chmod go-w {path}",
    ),
    ("tools/*.bashrc", chown_nobody, "is owned by nobody, not root", "chown root {path}"),
    ("lab-settings", chown_nobody, "is owned by nobody, not root", "chown -R root {path}"),
    (
        "lab-settings/overrides.json",
        _world_writable,
        "is writable by others (mode 0666)",
        "chmod go-w {path}",
    ),
    ("generations", _world_writable, "is writable by others (mode 0777)", "chmod go-w {path}"),
    ("hub", lambda p: p.chmod(0o755), "is open to other accounts (mode 0755)", "chmod 700 {path}"),
    ("logs", _world_writable, "is writable by others (mode 0777)", "chmod go-w {path}"),
    (".lock", chown_nobody, "is owned by nobody, not root", "chown root {path}"),
]


@pytest.mark.parametrize(("name", "spoil", "problem", "fix"), UNSAFE)
def test_state_files_another_account_could_write_are_refused_with_the_fix(
    tmp_path: Path, name: str, spoil: object, problem: str, fix: str
) -> None:
    where = prepare(tmp_path)
    path = where.state if name == "." else next(where.state.glob(name))
    assert callable(spoil)
    spoil(path)
    with pytest.raises(ServiceError) as refused:
        prepare(tmp_path)
    assert refused.value.message == (
        f"state files another account could have written (not trusted):\n  {path}: {problem}"
    )
    assert refused.value.hint == fix.format(path=path)
    # doctor says the same, and the fix it names works.
    (result,) = check_state_files(where.state)
    assert (result.status, result.subject, result.finding, result.fix) == (
        "fail",
        str(path),
        problem,
        fix.format(path=path),
    )
    subprocess.run(["sh", "-c", refused.value.hint], check=True)
    prepare(tmp_path)
    assert check_state_files(where.state)[0].status == "ok"


def test_a_symlink_where_a_file_belongs_is_refused(tmp_path: Path) -> None:
    where = prepare(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    overrides = where.lab_settings / "overrides.json"
    overrides.unlink()
    overrides.symlink_to(elsewhere)
    with pytest.raises(ServiceError) as refused:
        prepare(tmp_path)
    assert f"{overrides}: is a symbolic link where a file is expected" in refused.value.message
    assert refused.value.hint == f"rm {overrides}"
    assert elsewhere.read_text() == "{}"


def test_what_we_generate_is_rewritten_at_each_start(tmp_path: Path) -> None:
    where = prepare(tmp_path)
    tools = next(p for p in where.tools.iterdir() if p.is_dir())
    rc = tools.with_suffix(".bashrc")
    overrides = where.lab_settings / "overrides.json"
    good = {path: path.read_text() for path in (rc, overrides)}
    rc.write_text("echo planted\n")
    overrides.chmod(0o600)
    (tools / "planted").write_text("#!/bin/sh\n")
    prepare(tmp_path)
    assert {path: path.read_text() for path in (rc, overrides)} == good
    assert stat.S_IMODE(overrides.stat().st_mode) == 0o644
    tools_now = [p for p in where.tools.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert tools_now == [tools]
    assert sorted(os.listdir(tools)) == ["hello-tool", "jupyter-venv-kernel"]


def test_as_root_the_state_dirs_owner_is_trusted_only_where_only_root_could_make_it(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("root's rule")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)
    (closed / "state").mkdir()
    chown_nobody(closed / "state")
    # systemd's StateDirectory: /var/lib is root's; the state dir is given to `user`.
    assert trusted_owners(closed / "state") == {0, NOBODY}
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    (sticky / "state").mkdir()
    chown_nobody(sticky / "state")
    # Like /tmp: anyone could have made it there.
    assert trusted_owners(sticky / "state") == {0}
