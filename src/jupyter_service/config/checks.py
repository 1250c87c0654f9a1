"""Value checks: each returns why a value is wrong (with what is allowed), or None."""

from __future__ import annotations

import ipaddress
import re

_USERNAME = re.compile(r"[a-z_][a-z0-9_-]{0,30}\$?")
_HOSTNAME_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_HASKELL_PACKAGE = re.compile(
    r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*)*"
)
_PYTHON_NAME = re.compile(r"python3(\.\d{1,2})?")
_PYTHON_VERSION = re.compile(r"3\.\d{1,2}(\.\d{1,2})?")
_BASE_URL = re.compile(r"/([A-Za-z0-9._~%@!$&'()*+,;=:-]+/)*")


def hash_password_command() -> str:
    """`jupyter-service hash-password` as a shell here finds it (an absolute path when the
    venv is not on the PATH, as after the README's set-up command)."""
    from jupyter_service.hints import service_hint

    return service_hint("hash-password")


def hash_hint() -> str:
    return f"make one with `{hash_password_command()}`"


def check_ip(value: str) -> str | None:
    if value == "localhost":
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not an IP address; allowed: an IPv4 or IPv6 address or 'localhost'"
    return None


def check_port(value: int) -> str | None:
    if 1 <= value <= 65535:
        return None
    return f"{value} is out of range; allowed: an integer from 1 to 65535"


def check_account(value: str) -> str | None:
    if _USERNAME.fullmatch(value):
        return None
    return (
        f"{value!r} is not a valid user or group name; allowed: up to 32 characters, "
        "lowercase letters, digits, '-' and '_', starting with a letter or '_'"
    )


def check_dir(value: str) -> str | None:
    if not value or "\0" in value:
        return "must be a non-empty path"
    if not (value.startswith("/") or value == "~" or value.startswith("~/")):
        return f"{value!r} is relative; allowed: an absolute path or one starting with '~/'"
    return None


def check_password(value: str) -> str | None:
    if not value:
        return f"is empty; omit the key to use Authelia instead, or {hash_hint()}"
    algorithm, sep, digest = value.partition(":")
    if not sep or algorithm != "argon2":
        return (
            "is not an argon2 hash ('argon2:$argon2id$...'); only argon2 is accepted, "
            + hash_hint()
        )
    import argon2  # here, not at the top: most commands never see a password

    try:
        argon2.extract_parameters(digest)
    except argon2.exceptions.InvalidHashError:
        return f"is a malformed argon2 hash; {hash_hint()}"
    return None


def check_requirement(value: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(value)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0]
        return (
            f"{value!r} is not a PEP 508 requirement ({first}); "
            "allowed: for example 'requests' or 'pandas>=2.2'"
        )
    return None


def check_haskell_package(value: str) -> str | None:
    if _HASKELL_PACKAGE.fullmatch(value):
        return None
    return f"{value!r} is not a Haskell package name; allowed: for example 'lens' or 'lens-aeson'"


def check_tool_name(value: str) -> str | None:
    if _TOOL.fullmatch(value):
        return None
    return (
        f"{value!r} holds a path separator, space or shell character; "
        "allowed: a program or Debian package name such as 'git'"
    )


def check_domain(value: str) -> str | None:
    labels = value.rstrip(".").split(".")
    if len(value) <= 253 and all(_HOSTNAME_LABEL.fullmatch(label) for label in labels):
        return None
    return (
        f"{value!r} is not a domain name; allowed: letters, digits, '-' and dots, "
        "such as 'jupyter.example.com'"
    )


def check_python(value: str) -> str | None:
    if value.startswith("/") or _PYTHON_NAME.fullmatch(value) or _PYTHON_VERSION.fullmatch(value):
        return None
    return (
        f"{value!r} is not an interpreter; allowed: a version such as '3.11', "
        "a name such as 'python3.11', or an absolute path"
    )


def check_base_url(value: str) -> str | None:
    if _BASE_URL.fullmatch(value):
        return None
    return (
        f"{value!r} is not a URL path; allowed: a path that starts and ends with '/', "
        "such as '/jupyter/'"
    )


def check_absolute(value: str) -> str | None:
    if value.startswith("/") and "\0" not in value:
        return None
    return f"{value!r} is not an absolute path"


def check_language(value: str) -> str | None:
    from jupyter_service.kernels import language_names

    if value in language_names():
        return None
    return f"{value!r} is not supported; allowed: " + ", ".join(map(repr, language_names()))


# Values written into the nginx site: nothing nginx would read as syntax or a variable.
_NGINX_PATH = re.compile(r"/[A-Za-z0-9._/+@-]*")
_SERVICE_URL = re.compile(
    r"https?://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(?P<port>\d{1,5}))?(/[A-Za-z0-9._~-]+)*/?"
)


def check_nginx_path(value: str) -> str | None:
    if _NGINX_PATH.fullmatch(value):
        return None
    return (
        f"{value!r} is not an absolute path of plain characters; allowed: letters, digits, "
        "'.', '_', '-', '+', '@' and '/', such as '/etc/ssl/jupyter.pem'"
    )


def check_service_url(value: str) -> str | None:
    match = _SERVICE_URL.fullmatch(value)
    if match:
        host, port = match["host"], match["port"]
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
                host_ok = True
            except ValueError:
                host_ok = False
        else:
            host_ok = check_domain(host) is None
        if host_ok and (port is None or 1 <= int(port) <= 65535):
            return None
    return (
        f"{value!r} is not an http(s) URL of a host; allowed: "
        "for example 'http://127.0.0.1:9091' or 'https://auth.internal/authelia'"
    )


SPAWNERS = ("local", "systemd", "kubernetes")
_MEMORY = re.compile(r"[1-9][0-9]*(\.[0-9]+)?[KMGT]?")
_CPU = re.compile(r"([0-9]+(\.[0-9]+)?)")
_IMAGE_PART = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
# [registry[:port]/]name[/name...][:tag]
_IMAGE = re.compile(
    rf"{_IMAGE_PART}(:[0-9]{{1,5}})?(/{_IMAGE_PART})*(:[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})?"
)


def check_spawner(value: str) -> str | None:
    if value in SPAWNERS:
        return None
    return f"{value!r} is not a spawner; allowed: 'local', 'systemd' or 'kubernetes'"


def check_memory_limit(value: str) -> str | None:
    if _MEMORY.fullmatch(value):
        return None
    return f"{value!r} is not a memory size; allowed: bytes or a K, M, G, T suffix, such as '2G'"


def check_cpu_limit(value: str) -> str | None:
    if _CPU.fullmatch(value) and float(value) > 0:
        return None
    return f"{value!r} is not a CPU count; allowed: a positive number, such as '1' or '0.5'"


MAX_PREHEAT = 16
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def check_preheat(value: int) -> str | None:
    if 0 <= value <= MAX_PREHEAT:
        return None
    return f"{value} is out of range; allowed: 0 (none) to {MAX_PREHEAT} pre-warmed kernels"


def check_heap_limit(value: str) -> str | None:
    from jupyter_service.kernels.haskell.ghci import is_heap_limit

    if is_heap_limit(value):
        return None
    return (
        f"{value!r} is not a heap size; allowed: a size as GHC's +RTS -M takes it, such as "
        "'4g' or '512m', or 'none' for no limit"
    )


def check_module(value: str) -> str | None:
    if _MODULE.fullmatch(value):
        return None
    return f"{value!r} is not a module name; allowed: a dotted name such as 'numpy' or 'os.path'"


def check_idle_timeout(value: int) -> str | None:
    if value >= 0:
        return None
    return f"{value} is negative; allowed: seconds, or 0 to never stop idle servers"


def check_image(value: str) -> str | None:
    if _IMAGE.fullmatch(value):
        return None
    return f"{value!r} is not an image name; allowed: for example 'registry.example.com/lab:1.0'"
