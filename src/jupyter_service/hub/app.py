"""Prepare the state dir and run JupyterHub in the foreground with the rendered settings."""

from __future__ import annotations

import functools
import os
import socket
import sys
from pathlib import Path
from typing import Any

from jupyter_service import paths
from jupyter_service.config import ServiceConfig
from jupyter_service.errors import ServiceError
from jupyter_service.hints import service_hint
from jupyter_service.hub.host import (
    check_systemd_running,
    check_users_can_run,
    find_proxy,
    render_node_path,
)
from jupyter_service.hub.settings import DB_FILE, HubRuntime, render_hub_settings
from jupyter_service.paths import ServicePaths
from jupyter_service.state_files import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    SHARED_DIR,
    check_file,
    ensure_dir,
)

USER_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prepare_hub_dir(state: Path) -> Path:
    """`<state>/hub`: the hub's database and cookie secret, the hub's alone (0700/0600)."""
    hub_dir = ensure_dir(ServicePaths(state).hub, PRIVATE_DIR, state)
    db = hub_dir / DB_FILE
    fd = os.open(db, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    os.close(fd)
    check_file(db, state, private=True)
    return hub_dir


def prepare_hub_runtime(config: ServiceConfig) -> HubRuntime:
    from jupyter_service.kernel_dirs import HIDES_PYTHON_ENV, hides_service_python
    from jupyter_service.proxy.secret import ensure_proxy_secret
    from jupyter_service.server.app import prepare_shared_runtime

    state = paths.state_dir()
    ensure_dir(state, SHARED_DIR, state)
    proxy = find_proxy()
    check_users_can_run(state)
    hub_dir = prepare_hub_dir(state)
    server = prepare_shared_runtime(config, notebook_dir=config.notebookDir)
    user_path = [str(Path(sys.executable).parent), *USER_PATH]
    if server.tools_dir:
        user_path.insert(0, server.tools_dir)
    return HubRuntime(
        hub_dir=str(hub_dir),
        python=sys.executable,
        proxy_command=(proxy,),
        hub_port=free_port(),
        proxy_api_port=free_port(),
        server=server,
        proxy_secret=(ensure_proxy_secret(state) if config.auth_mode == "authelia" else ""),
        state_dir=str(state),
        environment={
            "PATH": os.pathsep.join(user_path),
            "JUPYTER_SERVICE_STATE_DIR": str(state),
            # `jupyter-venv-kernel list` in a user's terminal shows what the server offers.
            HIDES_PYTHON_ENV: "1" if hides_service_python(config) else "0",
        },
    )


def run_hub(config: ServiceConfig) -> None:
    """Serve JupyterHub in the foreground until Ctrl-C or SIGTERM."""
    from jupyterhub.app import JupyterHub
    from tornado.ioloop import IOLoop
    from traitlets.config import Config

    spawner = config.hub.spawner
    if spawner == "kubernetes":
        raise ServiceError(
            f'hub.spawner = "{spawner}" is not run on this host',
            hint="render it with "
            f"`{service_hint('hub-config', '--kubernetes', config=config.source)}`",
        )
    if spawner == "systemd":
        check_systemd_running()
    if os.geteuid() != 0:
        raise ServiceError(
            f"the {spawner} spawner starts each user's server as that user, which needs root",
            hint="run the hub as root "
            f"(`{service_hint('install-service', config=config.source, root=True)}` does in hub "
            "mode)",
        )
    runtime = prepare_hub_runtime(config)
    os.environ["NODE_PATH"] = render_node_path(os.environ.get("NODE_PATH"))
    # The hub writes nothing beside the caller; relative paths land in its own dir.
    os.chdir(runtime.hub_dir)

    class ServiceHub(JupyterHub):  # type: ignore[misc]
        def load_config_file(self, *args: Any, **kwargs: Any) -> None:
            """The TOML is the config: no jupyterhub_config.py is read."""

    hub = ServiceHub.instance(config=Config(render_hub_settings(config, runtime)))
    hub._init_asyncio_patch()
    loop = IOLoop(make_current=False)
    # Our own command line is not the hub's: hand it none.
    loop.run_sync(functools.partial(hub.launch_instance_async, []))
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        loop.stop()
        loop.close()
