"""The settings that decide who gets in, from where, and with which checks: pinned.

jupyter_server reads them from config files all over the machine (`jupyter_config`,
`jupyter_server_config`, each extension's `jupyter_<ext>_config`, as `.py` or `.json`, in
every dir of `jupyter --paths` and `$JUPYTER_CONFIG_DIR`/`$JUPYTER_CONFIG_PATH`), and
`ServerApp.tornado_settings` goes into tornado's settings as it is, over the server's own.
A file that changes one of them makes `up` refuse, naming the file and the key; after the
files are read our rendered settings are applied again, and once the server is set up its
effective settings are compared with ours, so nothing that slipped past runs. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from traitlets.config.loader import LazyConfigValue

SERVER_SECTIONS = ("ServerApp", "ServiceServerApp")

# Read by jupyter_server from its traits and, through `tornado_settings`, from tornado's.
_SHARED_KEYS = (
    "allow_unauthenticated_access",
    "allow_remote_access",
    "local_hostnames",
    "allow_origin",
    "allow_origin_pat",
    "allow_credentials",
    "disable_check_xsrf",
    "authenticate_prometheus",
)

# Rendered by `render_server_settings`; a config file may repeat our value, never change it.
SERVER_KEYS = (*_SHARED_KEYS, "trust_xheaders", "identity_provider_class")

# ServerApp's older spellings of the identity provider's settings, and the cookie secret
# (a secret in a readable config file lets its readers forge login cookies): any value.
SERVER_AUTH_KEYS = (
    "token",
    "password",
    "password_required",
    "allow_password_change",
    "cookie_options",
    "get_secure_cookie_kwargs",
    "login_handler_class",
    "logout_handler_class",
    "cookie_secret",
    "cookie_secret_file",
)

# Every setting of these classes is about authentication: only our values.
IDENTITY_SECTIONS = (
    "IdentityProvider",
    "PasswordIdentityProvider",
    "LegacyIdentityProvider",
    "ServiceIdentityProvider",
    "ProxyIdentityProvider",
)

# tornado settings jupyter_server reads for auth, XSRF, Host, Origin, CORS and cookies.
TORNADO_KEYS = (
    *_SHARED_KEYS,
    "xsrf_cookies",
    "xsrf_cookie_kwargs",
    "cookie_secret",
    "cookie_options",
    "get_secure_cookie_kwargs",
    "secure_cookie",
    "login_url",
    "token",
    "password",
    "identity_provider",
    "authorizer",
    "login_handler_class",
    "logout_handler_class",
    "allow_password_change",
)

# Response headers that open the server to other origins or to framing.
TORNADO_HEADER_PREFIXES = ("access-control-", "content-security-policy")


def dotted(value: Any) -> Any:
    """A class as its import path (config may hold either)."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return value


def _same(found: Any, pinned: Any) -> bool:
    if isinstance(found, list | tuple) and isinstance(pinned, list | tuple):
        return [dotted(v) for v in found] == [dotted(v) for v in pinned]
    return bool(dotted(found) == dotted(pinned))


def _tornado_findings(settings: Mapping[str, Any], prefix: str) -> list[str]:
    found = [f"{prefix}.{key}" for key in TORNADO_KEYS if key in settings]
    headers = settings.get("headers")
    if isinstance(headers, Mapping):
        found += [
            f"{prefix}.headers.{name}"
            for name in headers
            if str(name).lower().startswith(TORNADO_HEADER_PREFIXES)
        ]
    return found


def _value(value: Any) -> Any:
    """A config file's value; `c.X.y.update(...)` and `.append(...)` arrive lazy."""
    if isinstance(value, LazyConfigValue):
        update = value._update
        initial: Any = {} if isinstance(update, dict) else set() if isinstance(update, set) else []
        return value.get_value(initial)
    return value


def find_unpinned(config: Mapping[str, Any], pins: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The keys of one config file (a traitlets Config) that would change a pin."""
    found: list[str] = []
    server_pins = pins.get("ServerApp", {})
    for section in SERVER_SECTIONS:
        values = config.get(section) or {}
        for key, lazy in values.items():
            value = _value(lazy)
            changed = key not in server_pins or not _same(value, server_pins[key])
            if (key in SERVER_KEYS and changed) or key in SERVER_AUTH_KEYS:
                found.append(f"{section}.{key}")
            elif key == "tornado_settings" and isinstance(value, Mapping):
                found += _tornado_findings(value, f"{section}.tornado_settings")
    for section in IDENTITY_SECTIONS:
        values = config.get(section) or {}
        section_pins = pins.get(section, {})
        for key, value in values.items():
            if key not in section_pins or not _same(_value(value), section_pins[key]):
                found.append(f"{section}.{key}")
    return found


def find_weakened(
    server: Any, identity: Any, settings: Mapping[str, Any], pins: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What differs from the pins in a set-up server: its traits, its identity provider and
    the tornado settings its handlers read. Empty when all holds."""
    found = []
    server_pins = pins["ServerApp"]
    # A hub's user server: JupyterHub's extension turns tornado's early XSRF check off for
    # its own (jupyter_server's check still runs) and sets a stricter frame-ancestors.
    hub = "jupyterhub" in server_pins.get("jpserver_extensions", {})
    for key in SERVER_KEYS:
        if key in server_pins and not _same(getattr(server, key), server_pins[key]):
            found.append(f"ServerApp.{key}")
    # A hub's user server: the hub's extension sets the identity provider and the Host
    # names; only what we render is compared.
    identity_class = server_pins.get("identity_provider_class")
    if identity_class is not None:
        if dotted(type(identity)) != identity_class:
            found.append("ServerApp.identity_provider_class")
        section = identity_class.rsplit(".", 1)[1]
        for key, value in pins.get(section, {}).items():
            if hasattr(identity, key) and not _same(getattr(identity, key), value):
                found.append(f"{section}.{key}")
        if not identity.auth_enabled:
            found.append(f"{section}.token")
    expected = {
        "disable_check_xsrf": False,
        "allow_unauthenticated_access": False,
        "allow_origin": "",
        "allow_credentials": False,
        "authenticate_prometheus": True,
    }
    for key in ("allow_remote_access", "local_hostnames"):
        if key in server_pins:
            expected[key] = server_pins[key]
    if not hub:
        expected["xsrf_cookies"] = True
    for key, value in expected.items():
        if not _same(settings.get(key), value):
            found.append(f"ServerApp.tornado_settings.{key}")
    for key in ("allow_origin_pat", "secure_cookie", "password"):
        if settings.get(key):
            found.append(f"ServerApp.tornado_settings.{key}")
    if settings.get("identity_provider") is not identity:
        found.append("ServerApp.tornado_settings.identity_provider")
    headers = settings.get("headers") or {}
    prefixes = ("access-control-",) if hub else TORNADO_HEADER_PREFIXES
    found += [
        f"ServerApp.tornado_settings.headers.{name}"
        for name in headers
        if str(name).lower().startswith(prefixes)
    ]
    return found


def render_refusal(findings: Iterable[tuple[str, str]]) -> str:
    """One line per (file, key): what the admin must remove."""
    return "\n".join(f"  {file}: {key}" for file, key in findings)
