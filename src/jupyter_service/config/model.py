"""The parsed config, and the functions that read and validate it."""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jupyter_service.config.checks import check_password, check_requirement, hash_password_command
from jupyter_service.config.schema import (
    ROOT,
    Check,
    Problems,
    join_key,
    kernel_option,
    validate_table,
)
from jupyter_service.errors import ConfigError, ServiceError
from jupyter_service.hints import service_hint
from jupyter_service.kernels import StableKernel

# The checks that import a library for one value (see parse_config's `shallow`).
LIBRARY_CHECKS: frozenset[Check] = frozenset({check_password, check_requirement})

AuthMode = Literal["token", "password", "authelia"]


def auth_missing() -> str:
    return (
        "authentication is not configured; set `password` to a hash from "
        f"`{hash_password_command()}`, or use Authelia with `reverseProxy.enable = true` "
        "and `reverseProxy.authelia.enable = true`"
    )


# The original's presets: kernels whose name alone says their language, their package stack
# (to which `extraPackages` adds) and display name. Only the config knows them.
PYTHON_BASE = "python-base"
IHASKELL = "ihaskell"
# The original's python-base stack (DESIGN.md), before `extraPackages`.
PYTHON_BASE_STACK = (
    "ipykernel",
    "ipywidgets",
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "seaborn",
    "plotly",
    "scikit-learn",
    "torch",
    "torchvision",
    "transformers",
    "accelerate",
    "datasets",
    "requests",
    "aiohttp",
    "tqdm",
    "pydantic",
    "python-dotenv",
    "rich",
)


@dataclass(frozen=True)
class Preset:
    language: str
    stack: tuple[str, ...] = ()
    displayName: str | None = None
    # The server opens it by default among its language's stable kernels.
    preferred: bool = False


PRESETS = {
    PYTHON_BASE: Preset("python", PYTHON_BASE_STACK, "Python (base)", preferred=True),
    IHASKELL: Preset("haskell", preferred=True),
}
# Keys every `extraKernels.<name>` table may have; the others are its language's options.
_KERNEL_KEYS = (
    "enable",
    "language",
    "packages",
    "extraPackages",
    "displayName",
    "env",
    "preheat",
    "preload",
)


# The option dataclasses carry no defaults: the schema (config/schema.py) holds each
# option's default once; `build_config` fills every field from validated values.


@dataclass(frozen=True)
class AutheliaConfig:
    enable: bool
    users: tuple[str, ...]
    url: str


@dataclass(frozen=True)
class ReverseProxyConfig:
    enable: bool
    domains: tuple[str, ...]
    listen: int
    sslCertificate: str | None
    sslCertificateKey: str | None
    authelia: AutheliaConfig


@dataclass(frozen=True)
class HubConfig:
    enable: bool
    users: tuple[str, ...]
    # Password mode: each user's argon2 hash; empty in Authelia mode.
    passwords: dict[str, str]
    admins: tuple[str, ...]
    spawner: str
    memoryLimit: str | None
    cpuLimit: str | None
    idleTimeout: int
    image: str


@dataclass(frozen=True)
class ServiceConfig:
    enable: bool
    ip: str
    port: int
    user: str
    group: str
    notebookDir: str
    password: str | None
    enableVenvKernels: bool
    extraTools: tuple[str, ...]
    extraToolsPath: tuple[str, ...]
    baseUrl: str
    stableKernels: tuple[StableKernel, ...]
    reverseProxy: ReverseProxyConfig
    hub: HubConfig
    # Not options: how people sign in (decided once, by `decide_auth`, when the config is
    # parsed), where the config came from, and whether it is the embedded default.
    auth_mode: AuthMode
    source: Path | None = None
    embedded: bool = False

    @property
    def source_name(self) -> str:
        return str(self.source) if self.source else "the embedded default config"

    def kernel(self, name: str) -> StableKernel | None:
        """The `extraKernels.<name>` entry, enabled or not."""
        return next((k for k in self.stableKernels if k.name == name), None)


def embedded_default(cwd: Path | None = None) -> ServiceConfig:
    """What `up` runs with no config: loopback, a generated token, venv kernels on, dir = cwd;
    every other option at its schema default."""
    values = validate_table("", ROOT, {"enable": True, "notebookDir": str(cwd or Path.cwd())}, [])
    return build_config(values, (), "token", source=None, embedded=True)


def stable_kernel(name: str, table: dict[str, Any]) -> StableKernel:
    """One `extraKernels.<name>` table as a StableKernel, what it leaves out at its schema
    default; a preset's stack and display name applied. Pure."""

    def option(key: str) -> Any:
        return kernel_option(name, table, key)

    preset = PRESETS.get(name)
    if preset is not None:
        packages = (*preset.stack, *option("extraPackages"))
        language, key = preset.language, "extraPackages"
    else:
        packages = tuple(option("packages"))
        language, key = str(table.get("language")), "packages"
    return StableKernel(
        name=name,
        language=language,
        packages=packages,
        # A list option (allowBuild) as one comma-separated string.
        options={
            k: ",".join(v) if isinstance(v, list) else str(v)
            for k, v in table.items()
            if k not in _KERNEL_KEYS and v is not None and v != []
        },
        enable=bool(option("enable")),
        displayName=option("displayName") or (preset.displayName if preset else None),
        env=dict(option("env")),
        packagesKey=key,
        preferred=preset.preferred if preset else False,
        preheat=int(option("preheat")),
        preload=tuple(option("preload")),
    )


def _package_problems(kernels: tuple[StableKernel, ...]) -> Problems:
    """Each kernel's packages as its language sees them (a Haskell package that Debian
    does not carry), keyed by the config list that names them."""
    from jupyter_service.kernels import find_language

    problems: Problems = []
    for kernel in kernels:
        backend = find_language(kernel.language)
        if backend is not None:
            key = f"extraKernels.{kernel.name}.{kernel.packagesKey}"
            problems += [(key, why) for why in backend.find_package_problems(kernel)]
    return problems


def is_loopback(ip: object) -> bool:
    """Whether `ip` is loopback; an invalid one counts as loopback (reported elsewhere)."""
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(ip)).is_loopback
    except ValueError:
        return True  # already reported as not an address


def _cross_checks(values: dict[str, Any], problems: Problems, skip: frozenset[Check]) -> None:
    proxy = values["reverseProxy"]
    authelia = proxy["authelia"]["enable"]
    if authelia and not proxy["enable"]:
        problems.append(
            ("reverseProxy.enable", "must be true when reverseProxy.authelia.enable is true")
        )
    if proxy["enable"] and not proxy["domains"]:
        problems.append(
            (
                "reverseProxy.domains",
                "must name at least one domain when reverseProxy.enable is true",
            )
        )
    for key, pair in (
        ("sslCertificate", "sslCertificateKey"),
        ("sslCertificateKey", "sslCertificate"),
    ):
        if proxy[key] is None and proxy[pair] is not None:
            problems.append((f"reverseProxy.{key}", f"required when reverseProxy.{pair} is set"))
    if authelia and not is_loopback(values["ip"]):
        problems.append(
            (
                "ip",
                f"{values['ip']!r} is not a loopback address; with reverseProxy.authelia on, "
                "Jupyter listens on loopback only and nginx is the way in (use '127.0.0.1')",
            )
        )
    if values["hub"]["enable"]:
        _hub_checks(values, authelia, problems, skip)
    problems += decide_auth(values)[1]


BOTH_AUTH = (
    "is true while `password` is set, so two sign-ins are asked for; pick one: remove "
    "`password` to sign in through Authelia, or set `reverseProxy.authelia.enable = false` "
    "to keep Jupyter's password login"
)


def decide_auth(values: dict[str, Any]) -> tuple[AuthMode | None, Problems]:
    """How people sign in, from validated option values: the one place that decides it
    (the server, the nginx site, `check`, the banner and `doctor` all read the answer).
    A password and Authelia together are refused: which one wins would be a guess."""
    authelia = values["reverseProxy"]["authelia"]["enable"]
    if values["hub"]["enable"]:
        # Hub mode: passwords per user in [hub.users], or Authelia (checked in _hub_checks).
        return ("authelia" if authelia else "password"), []
    if values["password"] is not None:
        if authelia:
            return None, [("reverseProxy.authelia.enable", BOTH_AUTH)]
        return "password", []
    if authelia and values["reverseProxy"]["enable"]:
        return "authelia", []
    return None, [("password", auth_missing())]


def parse_auth(text: str) -> tuple[AuthMode | None, Problems]:
    """`decide_auth` for config text (None and no problems when it is not valid TOML)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None, []
    return decide_auth(validate_table("", ROOT, data, []))


def _hub_checks(
    values: dict[str, Any], authelia: bool, problems: Problems, skip: frozenset[Check]
) -> None:
    hub = values["hub"]
    users = hub["users"]
    if values["password"] is not None:
        problems.append(
            (
                "password",
                "is not used when hub.enable is true; give each user's hash in [hub.users] "
                f"(`{hash_password_command()}`) and remove `password`",
            )
        )
    if not users:
        problems.append(("hub.users", "must name at least one user when hub.enable is true"))
    elif authelia and isinstance(users, dict):
        problems.append(
            (
                "hub.users",
                "with reverseProxy.authelia on, Authelia checks passwords: list the names, "
                'such as users = ["alice", "bob"]',
            )
        )
    elif not authelia and isinstance(users, list):
        problems.append(
            (
                "hub.users",
                'in password mode each user needs a hash: [hub.users] alice = "argon2:..." '
                f"(from `{hash_password_command()}`); or turn on reverseProxy.authelia",
            )
        )
    elif isinstance(users, dict) and check_password not in skip:
        for name, digest in users.items():
            if isinstance(digest, str) and (why := check_password(digest)):
                problems.append((join_key("hub.users", name), why))
    for i, admin in enumerate(hub["admins"]):
        if isinstance(admin, str) and admin not in users:
            problems.append((f"hub.admins[{i}]", f"{admin!r} is not one of hub.users"))
    if "%" in values["baseUrl"]:
        problems.append(
            (
                "baseUrl",
                "has a percent-escape; JupyterHub's user servers cannot reach a hub under one "
                "(they ask for the decoded path and are redirected in a loop); use plain "
                "characters, such as '/jupyter/'",
            )
        )
    if not values["notebookDir"].startswith("~"):
        problems.append(
            (
                "notebookDir",
                "must start with '~/' when hub.enable is true: each user's server opens its own "
                "dir in that user's home",
            )
        )
    if hub["spawner"] == "local":
        for key in ("memoryLimit", "cpuLimit"):
            if hub[key] is not None:
                problems.append(
                    (
                        f"hub.{key}",
                        "is not enforced by the local spawner; remove it, or use "
                        'spawner = "systemd" or "kubernetes"',
                    )
                )


def parse_config(
    text: str, source: Path | None = None, *, check_host: bool = False, shallow: bool = False
) -> tuple[ServiceConfig | None, Problems]:
    """Parse and validate config text; every problem at once.

    Pure unless `check_host`, which also looks for each `extraTools` entry on this machine.
    `shallow` leaves out the checks that load a library (argon2 hashes, PEP 508
    requirements, each language's package rules): for a reader that only looks at the
    config (`jupyter-venv-kernel list`) and must start at once.
    """
    problems: Problems = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [("", f"not valid TOML: {exc}")]
    skip = LIBRARY_CHECKS if shallow else frozenset()
    values = validate_table("", ROOT, data, problems, skip)
    _cross_checks(values, problems, skip)
    if check_host:
        from jupyter_service.tools import tool_problems

        problems += tool_problems(values["extraTools"], values["extraToolsPath"], problems)
    if problems:
        return None, problems
    kernels = tuple(stable_kernel(n, t) for n, t in values["extraKernels"].items())
    if not shallow:
        problems += _package_problems(kernels)
    problems += [
        (f"extraKernels.{k.name}.preload", "modules are imported ahead in Python kernels only")
        for k in kernels
        if k.preload and k.language != "python"
    ]
    problems += [
        (f"extraKernels.{k.name}.heapLimit", "a heap limit applies to Haskell kernels only")
        for k in kernels
        if "heapLimit" in k.options and k.language != "haskell"
    ]
    if problems:
        return None, problems
    auth, _ = decide_auth(values)
    assert auth is not None  # else a problem was reported above
    return build_config(values, kernels, auth, source=source), []


def build_config(
    values: dict[str, Any],
    kernels: tuple[StableKernel, ...],
    auth: AuthMode,
    *,
    source: Path | None,
    embedded: bool = False,
) -> ServiceConfig:
    """The config from validated option values (every default filled in by the schema)."""
    proxy = values["reverseProxy"]
    return ServiceConfig(
        enable=values["enable"],
        ip=values["ip"],
        port=values["port"],
        user=values["user"],
        group=values["group"],
        notebookDir=values["notebookDir"],
        password=values["password"],
        enableVenvKernels=values["enableVenvKernels"],
        extraTools=tuple(values["extraTools"]),
        extraToolsPath=tuple(values["extraToolsPath"]),
        baseUrl=values["baseUrl"],
        stableKernels=kernels,
        reverseProxy=ReverseProxyConfig(
            enable=proxy["enable"],
            domains=tuple(proxy["domains"]),
            listen=proxy["listen"],
            sslCertificate=proxy["sslCertificate"],
            sslCertificateKey=proxy["sslCertificateKey"],
            authelia=AutheliaConfig(
                enable=proxy["authelia"]["enable"],
                users=tuple(proxy["authelia"]["users"]),
                url=proxy["authelia"]["url"],
            ),
        ),
        hub=_hub_config(values["hub"]),
        auth_mode=auth,
        source=source,
        embedded=embedded,
    )


def _hub_config(hub: dict[str, Any]) -> HubConfig:
    users = hub["users"]
    return HubConfig(
        enable=hub["enable"],
        users=tuple(users),
        passwords=dict(users) if isinstance(users, dict) else {},
        admins=tuple(hub["admins"]),
        spawner=hub["spawner"],
        memoryLimit=hub["memoryLimit"],
        cpuLimit=hub["cpuLimit"],
        idleTimeout=hub["idleTimeout"],
        image=hub["image"],
    )


def read_config_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ServiceError(
            f"config file not found: {path}",
            hint="pass an existing file with --config, or run "
            f"`{service_hint('up')}` with no config for the embedded default",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"cannot read config file: {path}: {exc}") from None


def load_config(path: Path) -> ServiceConfig:
    """Read, validate and check against the host (extraTools); raise ConfigError listing all."""
    config, problems = parse_config(read_config_text(path), source=path, check_host=True)
    if problems or config is None:
        raise ConfigError(str(path), problems, config=path)
    return config
