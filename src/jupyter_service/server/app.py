"""Run JupyterLab in this process with the rendered settings pinned over any config file."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from jupyter_server.serverapp import ServerApp
from traitlets import List, Unicode, default
from traitlets.config import Config

from jupyter_service import paths
from jupyter_service.config import ServiceConfig
from jupyter_service.config.runnable import check_port_free, runnable_problems
from jupyter_service.errors import ConfigError, ServiceError
from jupyter_service.fsutil import write_generated
from jupyter_service.kernel_dirs import HIDES_PYTHON_ENV, hides_service_python
from jupyter_service.proxy.secret import ensure_proxy_secret
from jupyter_service.server.http import GuardedHTTPServer
from jupyter_service.server.pins import find_unpinned, find_weakened, render_refusal
from jupyter_service.server.settings import (
    Runtime,
    render_lab_overrides,
    render_server_settings,
    render_terminal_rc,
)
from jupyter_service.state_files import (
    SHARED_DIR,
    ensure_dir,
    find_unsafe_state,
    refuse,
    trusted_owners,
)
from jupyter_service.tools import render_tools_dir, write_tools_dir

KERNEL_MANAGER = "jupyter_service.server.kernels.ServiceKernelManager"
# Seconds the stop waits for extensions and kernels (a kernel is killed after 5 of them).
STOP_TIMEOUT = 10.0


class ServiceServerApp(ServerApp):
    """ServerApp whose Ctrl-C stops at once, kernels shut down, as JupyterHub configures it.

    Jupyter asks for confirmation on a terminal and, without one, lets KeyboardInterrupt
    skip the kernel shutdown; a service does neither. Its start-up log says so, and says
    the truth about the websockets jupyter_server cannot see are authenticated.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Our rendered settings: what config files may not change (SECURITY.md 29).
        self.pins = copy.deepcopy(kwargs.get("config") or Config())

    def init_signal(self) -> None:
        super().init_signal()
        signal.signal(signal.SIGINT, self._signal_stop)

    @default("kernel_manager_class")
    def _kernel_manager_class_default(self) -> str:
        return KERNEL_MANAGER

    async def _stop(self) -> None:
        """Stop whatever the cleanup does: jupyter_server stops its loop only after a cleanup
        that succeeded, so one failing callback kept the process alive without a port."""
        try:
            await asyncio.wait_for(self._cleanup(), STOP_TIMEOUT)
        except Exception:
            self.log.exception("cleanup did not finish; stopping anyway")
        finally:
            if getattr(self, "io_loop", None):
                self.io_loop.stop()

    banner = List(Unicode(), help="What `up` and `run` serve, logged once listening.").tag(
        config=True
    )

    def start_app(self) -> None:
        super().start_app()
        for line in self.banner:
            self.log.info("jupyter-service %s", line)
        self.log.info("jupyter-service serving at: %s", self.display_url)

    async def _post_start(self) -> None:
        await super()._post_start()  # type: ignore[no-untyped-call]
        # Pre-warmed stable kernels (`preheat`): their pools fill once the loop runs.
        start_pools = getattr(self.kernel_manager, "start_pools", None)
        if start_pools is not None:
            start_pools()

    def init_logging(self) -> None:
        super().init_logging()
        self.log.addFilter(startup_log_filter)

    def load_server_extensions(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            super().load_server_extensions()
        for warning in caught:
            explained = explain_auth_warning(
                str(warning.message), self.allow_unauthenticated_access
            )
            if explained is None:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
                continue
            for line in explained:
                self.log.info(line)

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        super().load_config_file(suppress_errors)
        self._refuse_unpinned(["jupyter_config", self.config_file_name])
        self.update_config(self.pins)

    def init_server_extensions(self) -> None:
        # Linking an extension reads its own config files, which may set ServerApp's.
        super().init_server_extensions()
        self._refuse_unpinned(self._config_file_names())
        self.update_config(self.pins)

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        weakened = find_weakened(self, self.identity_provider, self.web_app.settings, self.pins)
        if weakened:
            self._refuse_unpinned(self._config_file_names())
            raise ServiceError(
                "the server's security settings differ from what jupyter-service pins: "
                + ", ".join(weakened),
                hint="look for an installed server extension or config that changes them "
                "(`jupyter --paths`, `jupyter server extension list`)",
            )

    def init_httpserver(self) -> None:
        super().init_httpserver()
        # Replaced before it is bound (jupyter_server binds it from the event loop).
        self._http_server = GuardedHTTPServer(
            self.web_app,
            trusted=self._may_send_body,
            ssl_options=self.ssl_options,
            xheaders=self.trust_xheaders,
            max_body_size=self.max_body_size,
            max_buffer_size=self.max_buffer_size,
        )

    def _may_send_body(self, start_line: Any, headers: Any) -> bool:
        """Whether a request's headers show a logged-in client (SECURITY.md 31)."""
        from jupyter_service.server.password_auth import ServiceIdentityProvider
        from jupyter_service.server.proxy_auth import ProxyIdentityProvider, remote_user

        provider = self.identity_provider
        if isinstance(provider, ServiceIdentityProvider):
            query = start_line.path.partition("?")[2]
            return provider.may_send_body(headers, query, self.web_app.settings["cookie_secret"])
        if isinstance(provider, ProxyIdentityProvider):
            allowed = list(provider.allowed_users)
            return remote_user(headers, provider.proxy_secret, allowed) is not None
        # A hub's user server: the hub's proxy and its tokens decide.
        return True

    def _config_file_names(self) -> list[str]:
        names = ["jupyter_config", self.config_file_name]
        for apps in self.extension_manager.extension_apps.values():
            names += sorted({app.config_file_name for app in apps} - set(names))
        return names

    def _refuse_unpinned(self, basenames: list[str]) -> None:
        findings = []
        for basename in basenames:
            for config, filename in self._load_config_files(
                basename, path=self.config_file_paths, log=None
            ):
                findings += [(filename, key) for key in find_unpinned(config, self.pins)]
        if findings:
            raise ServiceError(
                "a Jupyter config file changes what jupyter-service pins (authentication, "
                "CORS, XSRF, Host and Origin checks):\n" + render_refusal(findings),
                hint="remove these settings from those files; the service decides them "
                "(see SECURITY.md, 'What is pinned')",
            )


# jupyter_server's own line; our Ctrl-C and SIGTERM stop at once.
CONTROL_C_LINE = (
    "Use Control-C to stop this server and shut down all kernels (twice to skip confirmation)."
)
STOP_LINE = "Ctrl-C or SIGTERM stops the server and shuts its kernels down, without confirmation."
# Websocket handlers that jupyter_server lists as undecorated although its JupyterHandler
# authenticates every request (a 403 without a user) when allow_unauthenticated_access is
# off; tests/test_server.py opens each without a login and gets the 403.
AUTHENTICATED_WEBSOCKETS = {
    "TermSocket": "terminal websocket",
    "LanguageServerWebSocketHandler": "language-server websocket",
}
_UNDECORATED = re.compile(r"- (?P<method>[A-Z]+) of (?P<handler>\w+) registered for (?P<path>.+)")


def explain_auth_warning(message: str, allow_unauthenticated: bool) -> list[str] | None:
    """For a JupyterServerAuthWarning about only the websockets we know are authenticated,
    one true line each; else None (the warning stands). Pure."""
    head, *endpoints = message.splitlines()
    if allow_unauthenticated or not head.startswith("Extension endpoints without") or not endpoints:
        return None
    lines = []
    for endpoint in endpoints:
        match = _UNDECORATED.fullmatch(endpoint.strip())
        if match is None or match["handler"] not in AUTHENTICATED_WEBSOCKETS:
            return None
        lines.append(
            f"{AUTHENTICATED_WEBSOCKETS[match['handler']]} {match['path']}: authenticated "
            "(no login, no connection: allow_unauthenticated_access is off)"
        )
    return lines


def startup_log_filter(record: logging.LogRecord) -> bool:
    """Replace jupyter_server's "twice to skip confirmation" with what Ctrl-C does here."""
    if record.msg == CONTROL_C_LINE:
        record.msg, record.args = STOP_LINE, ()
    return True


def check_runnable(config: ServiceConfig) -> None:
    """Refuse, before anything is written, a config that cannot be served: what `check`
    reports (a disabled service, an unusable notebookDir), then a port already taken."""
    if not config.enable:
        raise ServiceError(
            f"the service is disabled in {config.source_name} (enable = false)",
            hint="set `enable = true` in the config",
        )
    problems = runnable_problems(config)
    if problems:
        raise ConfigError(config.source_name, problems)
    check_port_free(config)


def _prepare_notebook_dir(config: ServiceConfig) -> Path:
    path = paths.notebook_dir(config, paths.current_user())
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(
            f"cannot create notebookDir {path}: {exc.strerror}",
            hint="create it by hand with the right owner, or point notebookDir elsewhere",
        ) from None
    if not path.is_dir():
        raise ServiceError(f"notebookDir is not a directory: {path}")
    return path.resolve()


def prepare_runtime(config: ServiceConfig) -> Runtime:
    """Make what the server needs on disk: notebook dir, tools dir, terminal rc."""
    return prepare_shared_runtime(config, str(_prepare_notebook_dir(config)))


def prepare_shared_runtime(config: ServiceConfig, notebook_dir: str) -> Runtime:
    """What every server of this config shares on disk: tools dir, terminal rc, lab settings
    (the hub's users' servers too)."""
    where = paths.ServicePaths.from_environment()
    # Nothing in the state dir is trusted that another account could have written.
    refuse(find_unsafe_state(where))
    ensure_dir(where.state, SHARED_DIR, where.state)
    owners = trusted_owners(where.state)
    entries = render_tools_dir(config.extraTools, config.extraToolsPath, config.enableVenvKernels)
    tools_dir: Path | None = None
    rc: Path | None = None
    if entries:
        tools_dir = write_tools_dir(where, entries)
        rc = tools_dir.with_suffix(".bashrc")
        write_generated(
            rc, render_terminal_rc(str(tools_dir)), what="the terminal rc", owners=owners
        )
    return Runtime(
        notebook_dir=notebook_dir,
        tools_dir=str(tools_dir) if tools_dir else None,
        terminal_rc=str(rc) if rc else None,
        # Through the `current` link: a switch or rollback shows in the running server.
        stable_kernel_dir=str(where.current_kernels),
        lab_settings_dir=str(write_lab_settings(where)),
        proxy_secret=(ensure_proxy_secret(where.state) if config.auth_mode == "authelia" else ""),
    )


def write_lab_settings(where: paths.ServicePaths) -> Path:
    """JupyterLab's app settings dir: the default one's overrides.json plus our pins
    (JupyterLab would otherwise ask every new user about news, whatever news_url says)."""
    from jupyterlab.commands import get_app_dir

    existing: dict[str, Any] = {}
    default = Path(get_app_dir()) / "settings" / "overrides.json"
    if default.is_file():
        try:
            loaded = json.loads(default.read_text())
        except ValueError:
            loaded = {}
        existing = loaded if isinstance(loaded, dict) else {}
    target = ensure_dir(where.lab_settings, SHARED_DIR, where.state)
    text = json.dumps(render_lab_overrides(existing), indent=1)
    write_generated(
        target / "overrides.json",
        text,
        what="JupyterLab's settings",
        owners=trusted_owners(where.state),
    )
    return target


def _banner(config: ServiceConfig, state: Path) -> list[str]:
    from jupyter_service.server.banner import render_banner
    from jupyter_service.store.generations import current_generation

    generation = current_generation(state)
    if generation is None:
        return render_banner(config, state, None, [])
    return render_banner(config, state, generation.number, sorted(generation.kernels))


def run_server(config: ServiceConfig) -> None:
    """Serve JupyterLab in the foreground until Ctrl-C or SIGTERM."""
    check_runnable(config)
    runtime = prepare_runtime(config)
    if runtime.tools_dir:
        # The server, its kernels and terminals inherit this; nothing outside Jupyter does.
        os.environ["PATH"] = runtime.tools_dir + os.pathsep + os.environ.get("PATH", "")
    if config.source:
        os.environ["JUPYTER_SERVICE_CONFIG"] = str(config.source.resolve())
    if os.geteuid() == 0:
        from jupyter_service.hints import service_hint

        unit = service_hint("install-service", config=config.source)
        print(
            "warning: running as root; kernels and terminals get root's rights. "
            f"The service unit (`{unit}`) runs as `user` instead.",
            file=sys.stderr,
        )
    # Kernels and terminals (jupyter-venv-kernel) find the same state dir, and `list` the
    # kernels this server offers, as it decided at its start.
    os.environ["JUPYTER_SERVICE_STATE_DIR"] = str(paths.state_dir())
    os.environ[HIDES_PYTHON_ENV] = "1" if hides_service_python(config) else "0"
    # Terminals open where the notebooks are, not where `up` was started.
    os.chdir(runtime.notebook_dir)
    settings = render_server_settings(config, runtime)
    settings["ServiceServerApp"] = {"banner": _banner(config, paths.state_dir())}
    # Config given to the constructor is re-applied after config files are read,
    # so these pins win over any jupyter_server_config.py on the machine.
    ServiceServerApp.launch_instance(argv=[], config=Config(settings))
