"""`[hub]`: the issue's shape is valid as written; every mistake is named with its key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jupyter_service.config import embedded_default, parse_config

from .helpers import service_cmd
from .test_config import HASH

HASH_PASSWORD = service_cmd("hash-password")

HUB_HEAD = "enable = true\nport = 8000\n"
HUB = f"""[hub]
enable = true
admins = ["alice"]
[hub.users]
alice = "{HASH}"
bob = "{HASH}"
"""
AUTHELIA = """enable = true
[reverseProxy]
enable = true
domains = ["lab.example.com"]
[reverseProxy.authelia]
enable = true
"""


def problems_of(text: str) -> list[tuple[str, str]]:
    return parse_config(text)[1]


def test_the_issues_shape_works_as_written() -> None:
    config, problems = parse_config(HUB_HEAD + HUB)
    assert problems == []
    assert config is not None
    # The rest at the schema's defaults, as the embedded default has them.
    assert config.hub == replace(
        embedded_default().hub,
        enable=True,
        users=("alice", "bob"),
        passwords={"alice": HASH, "bob": HASH},
        admins=("alice",),
    )
    assert config.auth_mode == "password"
    assert config.port == 8000


def test_authelia_mode_takes_a_list_of_names() -> None:
    config, problems = parse_config(AUTHELIA + '[hub]\nenable = true\nusers = ["alice", "bob"]\n')
    assert problems == []
    assert config is not None
    assert config.hub.users == ("alice", "bob")
    assert config.hub.passwords == {}
    assert config.auth_mode == "authelia"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (
            HUB_HEAD + "[hub]\nenable = true\n",
            "hub.users",
            "must name at least one user when hub.enable is true",
        ),
        (
            HUB_HEAD + '[hub]\nenable = true\nusers = ["alice"]\n',
            "hub.users",
            f'in password mode each user needs a hash: [hub.users] alice = "argon2:..." (from `{HASH_PASSWORD}`); or turn on reverseProxy.authelia',
        ),
        (
            AUTHELIA + f'[hub]\nenable = true\n[hub.users]\nalice = "{HASH}"\n',
            "hub.users",
            'with reverseProxy.authelia on, Authelia checks passwords: list the names, such as users = ["alice", "bob"]',
        ),
        (
            HUB_HEAD + '[hub]\nenable = true\n[hub.users]\nalice = "sha1:abc"\n',
            "hub.users.alice",
            f"is not an argon2 hash ('argon2:$argon2id$...'); only argon2 is accepted, make one with `{HASH_PASSWORD}`",
        ),
        (
            HUB_HEAD + f'[hub]\nenable = true\n[hub.users]\nAlice = "{HASH}"\n',
            "hub.users.Alice",
            "'Alice' is not a valid user or group name; allowed: up to 32 characters, lowercase letters, digits, '-' and '_', starting with a letter or '_'",
        ),
        (
            HUB_HEAD + HUB.replace('admins = ["alice"]', 'admins = ["carol"]'),
            "hub.admins[0]",
            "'carol' is not one of hub.users",
        ),
        (
            HUB_HEAD + f'password = "{HASH}"\n' + HUB,
            "password",
            f"is not used when hub.enable is true; give each user's hash in [hub.users] (`{HASH_PASSWORD}`) and remove `password`",
        ),
        (
            HUB_HEAD + HUB.replace("[hub.users]", 'spawner = "docker"\n[hub.users]'),
            "hub.spawner",
            "'docker' is not a spawner; allowed: 'local', 'systemd' or 'kubernetes'",
        ),
        (
            HUB_HEAD + HUB.replace("[hub.users]", 'memoryLimit = "2G"\n[hub.users]'),
            "hub.memoryLimit",
            'is not enforced by the local spawner; remove it, or use spawner = "systemd" or '
            '"kubernetes"',
        ),
        (
            HUB_HEAD
            + HUB.replace(
                "[hub.users]", 'spawner = "kubernetes"\nmemoryLimit = "2 GB"\n[hub.users]'
            ),
            "hub.memoryLimit",
            "'2 GB' is not a memory size; allowed: bytes or a K, M, G, T suffix, such as '2G'",
        ),
        (
            HUB_HEAD
            + HUB.replace("[hub.users]", 'spawner = "kubernetes"\ncpuLimit = "0"\n[hub.users]'),
            "hub.cpuLimit",
            "'0' is not a CPU count; allowed: a positive number, such as '1' or '0.5'",
        ),
        (
            HUB_HEAD + HUB.replace("[hub.users]", "idleTimeout = -1\n[hub.users]"),
            "hub.idleTimeout",
            "-1 is negative; allowed: seconds, or 0 to never stop idle servers",
        ),
        (
            HUB_HEAD + 'baseUrl = "/a%40b/"\n' + HUB,
            "baseUrl",
            "has a percent-escape; JupyterHub's user servers cannot reach a hub under one (they ask for the decoded path and are redirected in a loop); use plain characters, such as '/jupyter/'",
        ),
        (
            HUB_HEAD + 'notebookDir = "/srv/notebooks"\n' + HUB,
            "notebookDir",
            "must start with '~/' when hub.enable is true: each user's server opens its own dir in that user's home",
        ),
        (
            HUB_HEAD + "[hub]\nenable = true\nusers = 3\n",
            "hub.users",
            "expected a list of strings or a table of string values, got integer 3",
        ),
    ],
)
def test_hub_mistakes_are_named(text: str, path: str, message: str) -> None:
    assert (path, message) in problems_of(text)


@pytest.mark.parametrize("spawner", ["systemd", "kubernetes"])
def test_limits_are_accepted_by_the_spawners_that_enforce_them(spawner: str) -> None:
    text = HUB_HEAD + HUB.replace(
        "[hub.users]", f'spawner = "{spawner}"\nmemoryLimit = "2G"\ncpuLimit = "1.5"\n[hub.users]'
    )
    config, problems = parse_config(text)
    assert problems == []
    assert config is not None
    assert (config.hub.memoryLimit, config.hub.cpuLimit) == ("2G", "1.5")
