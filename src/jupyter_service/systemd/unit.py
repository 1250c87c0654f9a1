"""Render the systemd unit that runs `jupyter-service run` as the configured user. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig

UNIT_NAME = "jupyter-service.service"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
# The original's unit is `jupyter`: `systemctl status jupyter` finds ours through this alias
# once the unit is enabled (systemd makes the alias link at `enable`).
UNIT_ALIAS = "jupyter.service"
# The unit's state dir: systemd makes it (StateDirectory=) and hands it to `user`.
SERVICE_STATE_DIR = Path("/var/lib/jupyter-service")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A word needs quotes when systemd would split or unquote it.
_NEEDS_QUOTES = re.compile(r"[\s\"'\\;]")

# Each line says why, because every option left out is one that breaks a kernel: no
# PrivateDevices (GPUs live in /dev), no MemoryDenyWriteExecute (numpy, torch and numba JIT),
# no RestrictAddressFamilies or RestrictNamespaces (kernels, terminals and their tools use
# sockets and sandboxes of their own), no ProtectHome (the user's home holds venv kernels).
HARDENING = """\
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths={read_write}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
UMask={umask}
"""


def _no_control(value: str) -> str:
    # A newline would start a setting of its own.
    if _CONTROL.search(value):
        raise ValueError(f"contains a control character: {value!r}")
    return value


def _checked(value: str) -> str:
    # `%` starts a specifier in every setting we write.
    return _no_control(value).replace("%", "%%")


def _word(value: str, *, expands_env: bool = False) -> str:
    """One word of a whitespace-separated setting (ExecStart=, ReadWritePaths=, Environment=)."""
    text = _checked(value)
    if expands_env:
        text = text.replace("$", "$$")
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unique(paths: Sequence[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


def render_systemd_unit(
    config: ServiceConfig,
    config_path: Path,
    executable: Sequence[str],
    home: Path,
    user_homes: Sequence[Path] = (),
) -> str:
    """The unit for `config` read from `config_path`; `executable` is the argv that starts
    jupyter-service (its console script, or python -m jupyter_service); `home` is the
    service user's home; `user_homes` the hub users' homes. Raises ValueError on a relative
    path or a control character."""
    from jupyter_service.paths import expand_notebook_dir

    for path in (config_path, home, Path(executable[0])):
        if not path.is_absolute():
            raise ValueError(f"not an absolute path: {path}")
    notebook_dir = expand_notebook_dir(config.notebookDir, home)
    argv = [*executable, "run", "--config", str(config_path)]
    read_write = _unique([notebook_dir, SERVICE_STATE_DIR, home])
    user, group, umask = config.user, config.group, "0027"
    if config.hub.enable:
        # The local spawner starts each user's server as that user: the hub runs as root,
        # writes in every user's home, and leaves the store readable to all (umask 0022).
        user, group, umask = "root", "root", "0022"
        notebook_dir = SERVICE_STATE_DIR
        read_write = _unique([SERVICE_STATE_DIR, *user_homes])
        if config.hub.spawner == "systemd":
            # jupyterhub-systemdspawner writes each user's unit environment file under
            # /run/<unit> before `systemd-run` (ProtectSystem=strict makes /run read-only).
            read_write.append(Path("/run"))
    environment = {
        "JUPYTER_SERVICE_STATE_DIR": str(SERVICE_STATE_DIR),
        "JUPYTER_SERVICE_CONFIG": str(config_path),
    }
    lines = [
        f"# Written by `jupyter-service install-service` from {_no_control(str(config_path))}.",
        "# Run it again after changing user, group or notebookDir; put local changes in",
        "# `systemctl edit jupyter-service`, which it does not overwrite.",
        "[Unit]",
        "Description=Jupyter service (jupyter-service)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"User={_checked(user)}",
        f"Group={_checked(group)}",
        "ExecStart=" + " ".join(_word(arg, expands_env=True) for arg in argv),
        *(f"Environment={_word(f'{key}={value}')}" for key, value in environment.items()),
        f"WorkingDirectory={_checked(str(notebook_dir))}",
        f"StateDirectory={SERVICE_STATE_DIR.name}",
        "Restart=on-failure",
        "RestartSec=5",
        HARDENING.format(
            read_write=" ".join(_word(str(p)) for p in read_write), umask=umask
        ).rstrip("\n"),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        f"Alias={UNIT_ALIAS}",
    ]
    return "\n".join(lines) + "\n"
