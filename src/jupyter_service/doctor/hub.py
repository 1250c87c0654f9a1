"""The doctor's checks of a hub on this host: the systemd spawner's systemd, the proxy and
whether it runs (with the NODE_PATH `up` gives it), what users' servers must pass, the
modes of the hub's state, the users' accounts. Each finding names its fix; none writes."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from jupyter_service.config import ServiceConfig
from jupyter_service.doctor.result import CheckResult
from jupyter_service.errors import ServiceError
from jupyter_service.hints import service_hint
from jupyter_service.hub.host import (
    DEBIAN_NODE_PATH,
    PROXY_INSTALL,
    SYSTEMD_HINT,
    describe_unreachable,
    find_missing_accounts,
    find_proxy,
    find_systemd_problem,
    render_node_path,
    render_unreachable_hint,
)
from jupyter_service.hub.settings import COOKIE_SECRET_FILE, DB_FILE
from jupyter_service.paths import ServicePaths
from jupyter_service.proc import run_subprocess

CHECK = "hub"


def check_hub(
    config: ServiceConfig | None, config_path: Path | None, state: Path
) -> list[CheckResult]:
    if config is None:
        return [CheckResult(CHECK, "skip", "the config is not valid")]
    if not config.hub.enable:
        return [CheckResult(CHECK, "skip", "hub.enable is off")]
    if config.hub.spawner == "kubernetes":
        fix = service_hint("hub-config", "--kubernetes", "--output", "DIR", config=config_path)
        return [CheckResult(CHECK, "skip", "the kubernetes spawner runs nothing on this host", fix)]
    results = []
    if config.hub.spawner == "systemd":
        results.append(check_systemd())
    return [
        *results,
        check_proxy_runs(),
        *check_users_can_pass(state),
        *check_state_modes(state),
        *check_accounts(config, config_path),
    ]


def check_systemd() -> CheckResult:
    problem = find_systemd_problem()
    if problem is not None:
        return CheckResult(
            CHECK, "fail", f'hub.spawner = "systemd" {problem}', SYSTEMD_HINT, "spawner"
        )
    return CheckResult(
        CHECK, "ok", "systemd runs: users' servers start as transient units", subject="spawner"
    )


def _run_version(proxy: str, node_path: str | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "NODE_PATH"}
    if node_path:
        env["NODE_PATH"] = node_path
    try:
        proc = run_subprocess([proxy, "--version"], env=env, check=False)
    except OSError as exc:
        return -1, f"{proxy}: {exc.strerror}"
    return proc.returncode, proc.stdout.strip()


def check_proxy_runs() -> CheckResult:
    """configurable-http-proxy is there and answers `--version`, as the hub starts it."""
    subject = "configurable-http-proxy"
    try:
        proxy = find_proxy()
    except ServiceError as exc:
        return CheckResult(CHECK, "fail", exc.message, PROXY_INSTALL, subject)
    node_path = render_node_path(os.environ.get("NODE_PATH"))
    status, output = _run_version(proxy, node_path)
    if status != 0:
        last = output.splitlines()[-1] if output else f"exit status {status}"
        for line in output.splitlines():
            if line.startswith("Error:"):
                last = line  # node's own reason, not its stack
                break
        return CheckResult(
            CHECK,
            "fail",
            f"`{proxy} --version` fails with NODE_PATH={node_path}: {last}",
            PROXY_INSTALL,
            subject,
        )
    version = output.splitlines()[-1] if output else "?"
    alone, _ = _run_version(proxy, os.environ.get("NODE_PATH"))
    how = (
        ""
        if alone == 0
        else f"; only with NODE_PATH={DEBIAN_NODE_PATH} (Debian's build), which `up` sets"
    )
    return CheckResult(CHECK, "ok", f"{proxy} {version} runs{how}", subject=subject)


def check_users_can_pass(state: Path) -> list[CheckResult]:
    """Users' servers run this interpreter and read the state dir, store and generations."""
    found = describe_unreachable(state)
    if not found:
        finding = "every user can reach the interpreter, its venv, the state dir and the store"
        return [CheckResult(CHECK, "ok", finding, subject="users' reach")]
    return [
        CheckResult(
            CHECK,
            "fail",
            f"users' servers cannot reach {path}: {closed} is closed to other users (mode {mode})",
            render_unreachable_hint(closed),
            "users' reach",
        )
        for path, closed, mode in found
    ]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_state_modes(state: Path) -> list[CheckResult]:
    """The hub's dir is root's alone (0700, files 0600); no user may write the store or the
    generations (no group or other write bit on the state dir, the store, generations)."""
    subject = "state modes"
    results = []
    where = ServicePaths(state)
    hub_dir = where.hub
    if hub_dir.is_dir():
        if _mode(hub_dir) & 0o077:
            results.append(
                CheckResult(
                    CHECK,
                    "fail",
                    f"{hub_dir} is mode {_mode(hub_dir):04o}: users could read the hub's "
                    "database and cookie secret",
                    f"chmod 700 {hub_dir}",
                    subject,
                )
            )
        for name in (DB_FILE, COOKIE_SECRET_FILE):
            path = hub_dir / name
            if path.is_file() and _mode(path) & 0o077:
                results.append(
                    CheckResult(
                        CHECK,
                        "fail",
                        f"{path} is mode {_mode(path):04o}, not 0600",
                        f"chmod 600 {path}",
                        subject,
                    )
                )
    for path in (state, where.store, where.generations):
        if path.is_dir() and _mode(path) & 0o022:
            results.append(
                CheckResult(
                    CHECK,
                    "fail",
                    f"{path} is mode {_mode(path):04o}: users could write the stable kernels",
                    f"chmod go-w {path}",
                    subject,
                )
            )
    if results:
        return results
    made = "" if hub_dir.is_dir() else f" ({hub_dir} is made at the hub's first start)"
    finding = f"the hub's dir is root's alone and users cannot write the store{made}"
    return [CheckResult(CHECK, "ok", finding, subject=subject)]


def check_accounts(config: ServiceConfig, config_path: Path | None) -> list[CheckResult]:
    """Each hub user has a system account (the spawners start servers as it), with a home
    other users cannot list."""
    subject = "accounts"
    results = []
    missing = find_missing_accounts(config.hub.users)
    if missing:
        fix = service_hint("install-service", config=config_path, root=True)
        results.append(
            CheckResult(
                CHECK,
                "warn",
                f"no system account for {', '.join(missing)}: their servers cannot start "
                "(install-service makes them, homes 0700)",
                fix,
                subject,
            )
        )
    for name in config.hub.users:
        if name in missing:
            continue
        home = Path(pwd.getpwnam(name).pw_dir)
        if home.is_dir() and _mode(home) & 0o077:
            results.append(
                CheckResult(
                    CHECK,
                    "warn",
                    f"the home of {name}, {home}, is mode {_mode(home):04o}: other users' "
                    "kernels can look in",
                    f"chmod 700 {home}",
                    subject,
                )
            )
    if results:
        return results
    finding = "every hub user has a system account with a private home"
    return [CheckResult(CHECK, "ok", finding, subject=subject)]
