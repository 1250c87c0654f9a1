"""Make the machine ready for the unit: system group and user, notebook dir, the unit file."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from jupyter_service.errors import ServiceError
from jupyter_service.fsutil import write_text_atomic
from jupyter_service.proc import run_subprocess
from jupyter_service.systemd.unit import DEFAULT_UNIT_DIR, UNIT_NAME

UNIT_MODE = 0o644
NOTEBOOK_DIR_MODE = 0o750
# Where Debian keeps useradd, groupadd and runuser; sudo's PATH has them, a plain root's may not.
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

Say = Callable[[str], None]


def _find_program(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS]))
    if path is None:
        raise ServiceError(
            f"{name} not found", hint="install it: apt-get install passwd (or util-linux)"
        )
    return path


def check_unit_dir(unit_dir: Path) -> Path:
    """The unit dir, absolute; an existing real directory, not a symlink to one."""
    unit_dir = Path(os.path.abspath(unit_dir))
    if unit_dir.is_symlink():
        raise ServiceError(
            f"unit dir is a symlink: {unit_dir} -> {os.readlink(unit_dir)}",
            hint=f"pass the directory itself: --unit-dir {unit_dir.resolve()}",
        )
    if not unit_dir.exists():
        raise ServiceError(
            f"unit dir does not exist: {unit_dir}",
            hint=f"create it first, or leave out --unit-dir for {DEFAULT_UNIT_DIR}",
        )
    if not unit_dir.is_dir():
        raise ServiceError(f"unit dir is not a directory: {unit_dir}")
    return unit_dir


def ensure_group(group: str, say: Say) -> None:
    try:
        grp.getgrnam(group)
        say(f"group {group}: exists, left as it is")
    except KeyError:
        run_subprocess(
            [_find_program("groupadd"), "--system", group], what=f"cannot create group {group}"
        )
        say(f"group {group}: created (system group)")


def ensure_user(user: str, group: str, home: Path, say: Say) -> None:
    """A system user with a real home: its venv kernels live in ~/.local/share/jupyter."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        pass
    else:
        if not home.is_dir():
            raise ServiceError(
                f"the home of user {user} does not exist: {home}; its venv kernels live in "
                "~/.local/share/jupyter",
                hint=f"install -d -o {user} -g {group} -m 0750 {home}",
            )
        say(f"user {user}: exists, left as it is (home {home})")
        return
    cmd = [
        _find_program("useradd"),
        "--system",
        "--gid",
        group,
        "--create-home",
        "--home-dir",
        str(home),
        # Nobody logs in as it; Jupyter's terminals start /bin/bash themselves.
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "Jupyter service",
        user,
    ]
    run_subprocess(cmd, what=f"cannot create user {user}")
    say(f"user {user}: created (system user, home {home})")


HUB_USER_COMMENT = "jupyter-service hub user"


def ensure_hub_user(name: str, say: Say) -> Path:
    """A hub user's login account with a private home (0700: Debian's useradd makes 0755,
    which every other user's kernels could list)."""
    try:
        home = Path(pwd.getpwnam(name).pw_dir)
        created = False
    except KeyError:
        cmd = [
            _find_program("useradd"),
            "--create-home",
            "--user-group",
            # Jupyter's terminals start /bin/bash themselves; a shell makes them feel at home.
            "--shell",
            "/bin/bash",
            "--comment",
            HUB_USER_COMMENT,
            name,
        ]
        run_subprocess(cmd, what=f"cannot create user {name}")
        home = Path(pwd.getpwnam(name).pw_dir)
        created = True
    if not home.is_dir():
        raise ServiceError(
            f"the home of hub user {name} does not exist: {home}",
            hint=f"install -d -o {name} -m 0700 {home}",
        )
    opened = stat.S_IMODE(home.stat().st_mode) & 0o077
    if opened:
        home.chmod(0o700)
    if created:
        say(f"hub user {name}: created (home {home}, mode 0700)")
    elif opened:
        say(f"hub user {name}: exists; home {home} made private (mode 0700)")
    else:
        say(f"hub user {name}: exists (home {home})")
    return home


def ensure_notebook_dir(path: Path, user: str, group: str, home: Path, say: Say) -> None:
    """Create notebookDir: the dir itself (and what is made under the user's home) owned by
    the user, mode 0750; parents elsewhere stay root's. An existing dir is left alone."""
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    if path.exists():
        if not path.is_dir():
            raise ServiceError(f"notebookDir is not a directory: {path}")
        owner = path.stat().st_uid
        if owner != uid:
            say(
                f"warning: notebookDir {path} is owned by uid {owner}, not {user}; the service "
                f"may not write there: chown {user}:{group} {path}"
            )
        else:
            say(f"notebookDir {path}: exists, left as it is")
        return
    missing = [p for p in [path, *path.parents] if not p.exists()][::-1]
    try:
        for directory in missing:
            directory.mkdir()
            if directory == path or directory.is_relative_to(home):
                os.chown(directory, uid, gid, follow_symlinks=False)
                directory.chmod(NOTEBOOK_DIR_MODE)
    except OSError as exc:
        raise ServiceError(f"cannot create notebookDir {path}: {exc.strerror}") from None
    say(f"notebookDir {path}: created (owner {user}:{group}, mode 0750)")


def warn_unreadable_config(config_path: Path, user: str, say: Say) -> None:
    """The service reads the config as `user`: tell now, not at its first start."""
    runuser = shutil.which("runuser", path=os.pathsep.join((*SBIN_DIRS, "/usr/bin", "/bin")))
    if runuser is None:
        return
    proc = run_subprocess([runuser, "-u", user, "--", "test", "-r", str(config_path)], check=False)
    if proc.returncode != 0:
        say(
            f"warning: user {user} cannot read {config_path}, so the service will not start: "
            f"make it and its directories readable to {user} (e.g. chgrp and chmod g+r)"
        )


def write_unit(text: str, unit_dir: Path) -> Path:
    """Write the unit into `unit_dir` (mode 0644) in one rename."""
    target = unit_dir / UNIT_NAME
    if target.is_dir():
        raise ServiceError(f"is a directory: {target}")
    write_text_atomic(target, text, mode=UNIT_MODE, what="the unit")
    return target


def systemd_is_running() -> bool:
    # What sd_booted() checks.
    return Path("/run/systemd/system").is_dir()


def reload_systemd(unit_dir: Path, say: Say) -> None:
    """`systemctl daemon-reload` when the unit went where systemd looks and systemd runs."""
    following = "systemctl enable --now jupyter-service"
    systemctl = shutil.which("systemctl")
    if unit_dir != DEFAULT_UNIT_DIR:
        say(f"{unit_dir} is not {DEFAULT_UNIT_DIR}: systemd was not reloaded")
        following = f"systemctl daemon-reload && {following}"
    elif systemctl is None or not systemd_is_running():
        say("systemd is not running here: not reloaded")
        following = f"systemctl daemon-reload && {following}"
    else:
        run_subprocess([systemctl, "daemon-reload"], what="cannot reload systemd")
        say("systemd reloaded (systemctl daemon-reload)")
    say(f"next: {following}")
