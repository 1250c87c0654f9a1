"""Where things live, resolved at call time from the environment (never at import)."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig

SYSTEM_CONFIG = Path("/etc/jupyter-service/config.toml")
# A generation's kernelspec dir, inside each generation.
GENERATION_KERNELS = "kernels"


def find_config(explicit: str | None) -> Path | None:
    """The config named by --config, else $JUPYTER_SERVICE_CONFIG, else the system one."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JUPYTER_SERVICE_CONFIG")
    if env:
        return Path(env)
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    return None


def state_dir() -> Path:
    """$JUPYTER_SERVICE_STATE_DIR, else /var/lib/jupyter-service as root, else XDG state."""
    env = os.environ.get("JUPYTER_SERVICE_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/jupyter-service")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "jupyter-service"


@dataclass(frozen=True)
class ServicePaths:
    """Everything the service keeps under its state dir, named in one place."""

    state: Path

    @classmethod
    def from_environment(cls) -> ServicePaths:
        return cls(state_dir())

    @property
    def store(self) -> Path:
        """Built stable kernels, one read-only dir per input hash."""
        return self.state / "store"

    @property
    def generations(self) -> Path:
        return self.state / "generations"

    def generation(self, number: int) -> Path:
        return self.generations / str(number)

    @property
    def generation_counter(self) -> Path:
        """The last generation number given (numbers are never reused)."""
        return self.generations / ".last"

    @property
    def current(self) -> Path:
        """The link to the current generation."""
        return self.state / "current"

    @property
    def current_kernels(self) -> Path:
        """The kernelspec dir a running server searches: through `current`, so a switch or
        a rollback changes what it lists without a restart."""
        return self.current / GENERATION_KERNELS

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def tools(self) -> Path:
        """Content-addressed dirs of extraTools links (and their terminal rc files)."""
        return self.state / "tools"

    @property
    def lab_settings(self) -> Path:
        return self.state / "lab-settings"

    @property
    def secret(self) -> Path:
        """The proxy secret nginx adds in Authelia mode."""
        return self.state / "proxy-secret"

    @property
    def hub(self) -> Path:
        """JupyterHub's own state (its database, cookie secret)."""
        return self.state / "hub"

    @property
    def state_lock(self) -> Path:
        """One switch, rollback or gc at a time."""
        return self.state / ".lock"


def user_home(user: str) -> Path:
    """The user's home; for a user not made yet, the one `install-service` will make."""
    try:
        return Path(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return Path("/home") / user


def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def serving_user(user: str) -> str:
    """Who serves, seen from here: whoever runs this, or, for root, the configured `user`
    (root installs the unit, and the unit runs the service as `user`)."""
    return user if os.geteuid() == 0 else current_user()


def expand_notebook_dir(value: str, home: Path) -> Path:
    """notebookDir with `~` as `home`. Pure."""
    if value == "~" or value.startswith("~/"):
        return home.joinpath(value[2:]) if value != "~" else home
    return Path(value)


def notebook_dir(config: ServiceConfig, user: str) -> Path:
    """notebookDir as `user` sees it: `~` is that user's home (its entry in the passwd
    database; HOME only for the user running this, as a shell would)."""
    home = Path(os.path.expanduser("~")) if user == current_user() else user_home(user)
    return expand_notebook_dir(config.notebookDir, home)
