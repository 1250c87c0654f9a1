"""The doctor's checks: each finds one thing out and returns `CheckResult`s; none writes.

Subprocesses go through `proc.run_subprocess`; kernels are started with jupyter_client
(`doctor.kernels`).
"""

from __future__ import annotations

import secrets
import shlex
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_service import paths
from jupyter_service.config import PYTHON_BASE, ServiceConfig, embedded_default
from jupyter_service.config.model import parse_auth, read_config_text
from jupyter_service.config.runnable import load_with_problems, runnable_problems
from jupyter_service.doctor.kernels import (
    check_generation,
    check_kernels,
    check_locks,
    check_stale_kernelspecs,
)
from jupyter_service.doctor.result import CheckResult
from jupyter_service.errors import ServiceError
from jupyter_service.hints import find_program, service_hint
from jupyter_service.proc import run_subprocess
from jupyter_service.proxy.install import find_nginx, run_nginx_test
from jupyter_service.proxy.nginx import render_nginx_site
from jupyter_service.store.generations import current_generation
from jupyter_service.systemd.unit import UNIT_NAME
from jupyter_service.tools import find_tool
from jupyter_service.venvs.layout import Layout

SERVICE_UNIT = UNIT_NAME.removesuffix(".service")
SITE_PATH = "/etc/nginx/sites-enabled/jupyter-service.conf"
GPU_PROBE = (
    "import importlib.util, sys\n"
    "if importlib.util.find_spec('torch') is None:\n"
    "    print('no torch'); sys.exit(0)\n"
    "import torch\n"
    "print(torch.cuda.is_available())\n"
)


@dataclass(frozen=True)
class LoadedConfig:
    config: ServiceConfig | None
    problems: list[tuple[str, str]]
    source: str  # the file, or "the embedded default config"
    path: Path | None  # the file, for the fixing commands' --config


def load_for_doctor(explicit: str | None) -> LoadedConfig:
    """The config with every problem `check` reports; a config whose only problems are the
    host's (extraTools not installed, enable = false, notebookDir) is kept for the other
    checks."""
    path = paths.find_config(explicit)
    if path is None:
        default = embedded_default(Path.cwd())
        return LoadedConfig(default, runnable_problems(default), default.source_name, None)
    try:
        config, problems = load_with_problems(path)
    except ServiceError as exc:
        return LoadedConfig(None, [("", exc.message)], str(path), path)
    return LoadedConfig(config, problems, str(path), path)


def check_config(loaded: LoadedConfig) -> CheckResult:
    if loaded.problems:
        count = len(loaded.problems)
        details = tuple(f"{p}: {text}" if p else text for p, text in loaded.problems)
        return CheckResult(
            "config",
            "fail",
            f"{loaded.source} has {count} problem{'s' if count != 1 else ''}",
            service_hint("check", config=loaded.path),
            details=details,
        )
    return CheckResult("config", "ok", f"{loaded.source} is valid")


def check_auth(loaded: LoadedConfig) -> CheckResult:
    config = loaded.config
    if config is None:
        mode, problems = (None, []) if loaded.path is None else _auth_of(loaded.path)
        if problems:
            [(key, _)] = problems
            if key == "password":
                finding, fix = "no password and no Authelia", service_hint("hash-password")
            else:  # both: the config must pick one
                finding = "a password and Authelia both: remove one (see `check`)"
                fix = f"${{EDITOR:-vi}} {shlex.quote(str(loaded.path))}"
            return CheckResult("auth", "fail", finding, fix)
        if mode is None:
            return CheckResult("auth", "skip", "the config is not valid")
        config_mode = mode
    else:
        config_mode = config.auth_mode
    finding = {
        "token": "a generated token (the embedded default; the login URL is printed at start)",
        "password": "password (an argon2 hash)",
        "authelia": "Authelia forward-auth through nginx",
    }[config_mode]
    return CheckResult("auth", "ok", finding)


def _auth_of(path: Path) -> tuple[str | None, list[tuple[str, str]]]:
    try:
        return parse_auth(read_config_text(path))
    except ServiceError:
        return None, []


def check_service() -> CheckResult:
    """`systemctl is-active` on the unit `install-service` writes."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return CheckResult("service", "skip", "systemctl is not installed")
    proc = run_subprocess([systemctl, "is-active", SERVICE_UNIT], check=False)
    state = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if state == "active":
        return CheckResult("service", "ok", f"{SERVICE_UNIT} is active")
    if state == "failed":
        return CheckResult(
            "service", "fail", f"{SERVICE_UNIT} failed", f"systemctl restart {SERVICE_UNIT}"
        )
    if state == "inactive" and _unit_load_state(systemctl) == "not-found":
        return CheckResult(
            "service",
            "warn",
            f"no {SERVICE_UNIT} unit is installed",
            service_hint("install-service", root=True),
        )
    if state in ("inactive", "activating", "deactivating", "reloading"):
        return CheckResult(
            "service", "warn", f"{SERVICE_UNIT} is {state}", f"systemctl start {SERVICE_UNIT}"
        )
    # No systemd running (a container), or no bus: nothing to ask.
    return CheckResult("service", "skip", f"systemctl cannot tell: {state or 'no answer'}")


def _unit_load_state(systemctl: str) -> str:
    cmd = [systemctl, "show", "--property=LoadState", "--value", SERVICE_UNIT]
    return run_subprocess(cmd, check=False).stdout.strip()


def _connect_host(ip: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(ip, ip)


def check_port(loaded: LoadedConfig) -> CheckResult:
    """Something listens on ip:port, and it is a Jupyter (`api/status` says 200 or 403)."""
    config = loaded.config
    if config is None:
        return CheckResult("port", "skip", "the config is not valid")
    if config.embedded:
        return CheckResult("port", "skip", "the embedded default picks a free port at each start")
    host = _connect_host(config.ip)
    where = f"{config.ip}:{config.port}"
    try:
        with socket.create_connection((host, config.port), timeout=5):
            pass
    except OSError:
        return CheckResult(
            "port", "fail", f"nothing listens on {where}", service_hint("up", config=loaded.path)
        )
    netloc = f"[{host}]:{config.port}" if ":" in host else f"{host}:{config.port}"
    url = f"http://{netloc}{config.baseUrl}api/status"
    reason = ""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        status = 0
        reason = str(getattr(exc, "reason", exc))
    if status in (200, 403):
        return CheckResult("port", "ok", f"Jupyter answers on {where} ({url}: {status})")
    said = f"HTTP {status}" if status else f"no HTTP answer: {reason}"
    return CheckResult(
        "port",
        "fail",
        f"{where} is taken, but not by this Jupyter ({url}: {said})",
        f"ss -ltnp 'sport = :{config.port}'",
    )


def check_proxy(loaded: LoadedConfig, state: Path) -> CheckResult:
    """Render the nginx site as `proxy-config` does and have `nginx -t` test it."""
    config = loaded.config
    if config is None:
        return CheckResult("proxy", "skip", "the config is not valid")
    if not config.reverseProxy.enable:
        return CheckResult("proxy", "skip", "reverseProxy.enable is off")
    nginx = find_nginx()
    if nginx is None:
        return CheckResult("proxy", "skip", "nginx is not installed")
    secret = None
    if config.auth_mode == "authelia":
        # The deployment's secret when it has one; a doctor makes none.
        try:
            secret = paths.ServicePaths(state).secret.read_text().strip()
        except OSError:
            secret = secrets.token_urlsafe(32)
    write = service_hint(
        "proxy-config", "--write", SITE_PATH, config=loaded.path, writes=[Path(SITE_PATH)]
    )
    try:
        site = render_nginx_site(config, secret)
    except ValueError as exc:
        return CheckResult("proxy", "fail", f"cannot render the nginx site: {exc}", write)
    with tempfile.TemporaryDirectory(prefix="jupyter-service-doctor-") as tmp:
        path = Path(tmp) / "site.conf"
        path.write_text(site)
        try:
            run_nginx_test(nginx, path, log_dir=paths.ServicePaths(state).logs)
        except ServiceError as exc:
            lines = exc.message.splitlines()
            return CheckResult(
                "proxy",
                "fail",
                "nginx -t rejects the site",
                f"fix reverseProxy in {loaded.source}, then `{write}`",
                details=tuple(line.strip() for line in lines[1:]),
            )
    return CheckResult("proxy", "ok", f"nginx -t accepts the site ({nginx})")


def check_tools(loaded: LoadedConfig) -> list[CheckResult]:
    """Each `extraTools` entry is on this machine; `jupyter-venv-kernel` runs."""
    config = loaded.config
    if config is None:
        return [CheckResult("tools", "skip", "the config is not valid")]
    results = []
    for name in config.extraTools:
        found = find_tool(name, config.extraToolsPath)
        if found:
            shown = ", ".join(str(p) for p in found[:3]) + (" ..." if len(found) > 3 else "")
            results.append(CheckResult("tools", "ok", shown, subject=name))
        else:
            where = ", ".join(config.extraToolsPath)
            results.append(
                CheckResult(
                    "tools",
                    "fail",
                    f"not in {where}, and no Debian package of that name",
                    f"apt-get install {name}",
                    name,
                )
            )
    if config.enableVenvKernels:
        results.append(_check_venv_kernel_tool())
    if not results:
        results.append(CheckResult("tools", "skip", "no extraTools, venv kernels off"))
    return results


def _check_venv_kernel_tool() -> CheckResult:
    command = find_program("jupyter-venv-kernel")
    name = "jupyter-venv-kernel"
    try:
        proc = run_subprocess([*command, "--help"], check=False)
    except OSError as exc:
        status, output = -1, str(exc)
    else:
        status, output = proc.returncode, proc.stdout
    if status == 0:
        return CheckResult("tools", "ok", " ".join(command), subject=name)
    last = output.strip().splitlines()[-1] if output.strip() else f"exit status {status}"
    return CheckResult(
        "tools",
        "fail",
        f"`{' '.join(command)} --help` fails: {last}",
        "pip install --force-reinstall jupyter-service",
        name,
    )


def read_gpu_probe(status: int, output: str, rollback: str) -> CheckResult:
    """What python-base's answer to GPU_PROBE means; `rollback` is the fixing command. Pure."""
    last = output.strip().splitlines()[-1] if output.strip() else ""
    if status != 0:
        return CheckResult(
            "gpu",
            "fail",
            f"importing torch in python-base fails: {last or f'exit status {status}'}",
            rollback,
        )
    if last == "no torch":
        return CheckResult("gpu", "skip", "torch is not installed in python-base")
    if last == "True":
        return CheckResult("gpu", "ok", "torch in python-base sees a CUDA GPU")
    return CheckResult(
        "gpu",
        "warn",
        "torch in python-base sees no CUDA GPU (torch.cuda.is_available() is False)",
        "nvidia-smi  # must list the GPU: the NVIDIA driver, and passthrough in a VM or container",
    )


def check_gpu(state: Path) -> CheckResult:
    generation = current_generation(state)
    # The GPU stack (torch) is python-base's preset; the generation says where it was built.
    entry = generation.kernels.get(PYTHON_BASE) if generation else None
    if entry is None:
        return CheckResult("gpu", "skip", f"{PYTHON_BASE} is not in the current generation")
    from jupyter_service.kernels.python import python_executable

    python = python_executable(entry)
    rollback = service_hint("rollback", writes=[state])
    try:
        proc = run_subprocess([str(python), "-c", GPU_PROBE], check=False)
    except OSError as exc:
        return read_gpu_probe(-1, f"{python}: {exc.strerror}", rollback)
    return read_gpu_probe(proc.returncode, proc.stdout, rollback)


def check_store(loaded: LoadedConfig, state: Path) -> list[CheckResult]:
    """`verify`'s cheap part on the current generation: its kernelspecs, and every file of
    its store paths there, of its kind, and none added (no stat, no hashing)."""
    from jupyter_service.store.verify import NO_RECORD, find_state_damage

    # A dangling `current` is the generation check's to say.
    found = find_state_damage(state, contents=False, current_only=True)
    damage = [d for d in found if d.kind != "current"]
    if not damage:
        if paths.ServicePaths(state).current.exists():
            return [CheckResult("store", "ok", "the current generation's store paths are intact")]
        return [CheckResult("store", "skip", "no generation is current")]
    config = loaded.config.source if loaded.config else None
    fix = service_hint("verify", "--repair", config=config, writes=[state])
    # A path an older version built has no record: it cannot be checked, which is no damage.
    return [
        CheckResult(
            "store",
            "warn" if item.problems[0].startswith(NO_RECORD) else "fail",
            item.render().removeprefix("damaged "),
            fix,
            item.kernel,
        )
        for item in damage
    ]


def check_state_files(state: Path) -> list[CheckResult]:
    """Every state path another account could have written, with its fix (`up` refuses
    them)."""
    from jupyter_service.state_files import find_unsafe_state

    if not state.exists():
        return [CheckResult("state-files", "skip", f"no state dir yet: {state}")]
    found = find_unsafe_state(paths.ServicePaths(state))
    if not found:
        return [CheckResult("state-files", "ok", f"{state}: owned by us, closed to others")]
    return [
        CheckResult("state-files", "fail", unsafe.problem, unsafe.fix, str(unsafe.path))
        for unsafe in found
    ]


@dataclass(frozen=True)
class Context:
    """What every check may look at."""

    loaded: LoadedConfig
    state: Path
    kernels: bool  # False with --no-kernels


@dataclass(frozen=True)
class Check:
    """One of doctor's checks: what it looks at and the fixes it names (the README's table
    is rendered from these), and the function that runs it."""

    name: str
    troubleshooting: str  # the original's troubleshooting item it answers
    looks_at: str
    fixes: str
    run: Callable[[Context], list[CheckResult]]


def _kernels(ctx: Context) -> list[CheckResult]:
    if not ctx.kernels:
        return [CheckResult("kernel", "skip", "--no-kernels")]
    return check_kernels(ctx.loaded.config, ctx.state)


def _hub(ctx: Context) -> list[CheckResult]:
    from jupyter_service.doctor.hub import check_hub

    return check_hub(ctx.loaded.config, ctx.loaded.path, ctx.state)


KERNEL_NOT_SHOWING = "Kernel not showing up"
# In the order a person would look.
CHECKS: tuple[Check, ...] = (
    Check(
        "config",
        "(ours)",
        "the config, with every problem `check` reports",
        "`jupyter-service check --config F`",
        lambda ctx: [check_config(ctx.loaded)],
    ),
    Check(
        "auth",
        "(ours)",
        "how people sign in: password, Authelia, or the embedded default's token",
        "`jupyter-service hash-password`; with both a password and Authelia, remove one",
        lambda ctx: [check_auth(ctx.loaded)],
    ),
    Check(
        "generation",
        KERNEL_NOT_SHOWING,
        "the `current` link points at a generation; stable kernels in the config have one",
        "`jupyter-service rollback`, `jupyter-service switch --config F`",
        lambda ctx: [check_generation(ctx.loaded.config, ctx.state)],
    ),
    Check(
        "lock",
        "Package conflicts in IHaskell",
        "each stable kernel's lock against the config and this machine, as `switch` would",
        "`jupyter-service lock --config F`, or the `apt-get install PKG=VERSION` it names",
        lambda ctx: check_locks(ctx.loaded.config, ctx.state),
    ),
    Check(
        "state-files",
        "(ours)",
        "the state dir and what is in it (one level into the store, generations, tools, "
        "JupyterLab's settings and the hub dir): owned by the serving account or root, not "
        "writable by group or others, no symlink where a file or dir belongs; the proxy "
        "secret and the hub dir closed to others",
        "the `chmod go-w PATH`, `chmod 600 PATH` or `chown USER PATH` it names",
        lambda ctx: check_state_files(ctx.state),
    ),
    Check(
        "store",
        "(ours)",
        "`verify`'s cheap part on the current generation: its kernelspecs, and every file "
        "recorded at each store path's build there, of its kind, none added",
        "`jupyter-service verify --repair --config F`",
        lambda ctx: check_store(ctx.loaded, ctx.state),
    ),
    Check(
        "stale-kernelspec",
        KERNEL_NOT_SHOWING,
        "venv kernelspecs whose venv is gone",
        "`jupyter-venv-kernel delete --yes NAME`",
        lambda ctx: check_stale_kernelspecs(Layout.from_environment()),
    ),
    Check(
        "kernel",
        KERNEL_NOT_SHOWING,
        "every kernel the server lists (stable first, then Jupyter's dirs) started with "
        "jupyter_client and asked `1+1`, 60 s each, four at a time; `--no-kernels` skips",
        "by who made it: `jupyter-venv-kernel delete --yes NAME`, `jupyter-service rollback`, "
        "`jupyter kernelspec remove -f NAME`",
        _kernels,
    ),
    Check(
        "service",
        KERNEL_NOT_SHOWING,
        "`systemctl is-active jupyter-service` (skipped where systemd does not run)",
        "`jupyter-service install-service`, `systemctl start jupyter-service`",
        lambda ctx: [check_service()],
    ),
    Check(
        "port",
        KERNEL_NOT_SHOWING,
        "something answers on `ip:port`, and it is a Jupyter (`<baseUrl>api/status`: 200 or 403)",
        "`jupyter-service up --config F`; `ss -ltnp` shows who holds the port",
        lambda ctx: [check_port(ctx.loaded)],
    ),
    Check(
        "proxy",
        "(ours)",
        "the nginx site as `proxy-config` renders it, through `nginx -t` (skipped without "
        "nginx; the deployment's proxy secret when there is one, none made)",
        "fix `reverseProxy`, then `jupyter-service proxy-config --write PATH`",
        lambda ctx: [check_proxy(ctx.loaded, ctx.state)],
    ),
    Check(
        "tools",
        "Venv kernel tool not available",
        "`jupyter-venv-kernel --help` as the server puts it on its terminals' PATH, and each "
        "`extraTools` entry",
        "`apt-get install NAME`",
        lambda ctx: check_tools(ctx.loaded),
    ),
    Check(
        "hub",
        "(ours)",
        "with `hub.enable` on this host: systemd as init for the systemd spawner; "
        "configurable-http-proxy runs (with `NODE_PATH=/usr/share/nodejs`, as `up` sets it); "
        "every user can pass the interpreter, its venv, the state dir and store; the hub's dir "
        "0700 (files 0600), the store not writable by users; each user has a system account "
        "with a 0700 home",
        "`apt-get install node-configurable-http-proxy`, `chmod o+x DIR`, `chmod 700 DIR`, "
        '`chmod go-w DIR`, `jupyter-service install-service`, `spawner = "local"`',
        _hub,
    ),
    Check(
        "gpu",
        "GPU not available in Python kernel",
        "python-base's own python from the current generation: "
        "`torch.cuda.is_available()` (skipped without python-base or torch)",
        "`nvidia-smi` must list the GPU (driver, passthrough); `jupyter-service rollback`",
        lambda ctx: [check_gpu(ctx.state)],
    ),
)


def run_checks(explicit_config: str | None, *, kernels: bool = True) -> list[CheckResult]:
    """Every check in CHECKS, in order."""
    ctx = Context(load_for_doctor(explicit_config), paths.state_dir(), kernels)
    return [result for check in CHECKS for result in check.run(ctx)]


def render_checks_table() -> str:
    """The README's table of doctor's checks. Pure."""
    rows = ["| check | the original's item | looks at | fix |", "| --- | --- | --- | --- |"]
    for check in CHECKS:
        rows.append(
            f"| `{check.name}` | {check.troubleshooting} | {check.looks_at} | {check.fixes} |"
        )
    return "\n".join(rows)
