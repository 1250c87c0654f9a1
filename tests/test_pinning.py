"""SECURITY.md 29: what the service pins cannot be changed by a Jupyter config file on the
machine, whichever file, format or config dir it is in; `up` refuses, naming file and key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .helpers import Service, free_port, isolated_env, login, xsrf_headers
from .test_server import write_config

pytestmark = pytest.mark.slow

# (file under the Jupyter config dir, its text, the key `up` must name)
WEAKENING = [
    (
        "jupyter_server_config.py",
        "c.ServerApp.allow_origin_pat = '.*'",
        "ServerApp.allow_origin_pat",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.allow_credentials = True",
        "ServerApp.allow_credentials",
    ),
    ("jupyter_server_config.py", "c.ServerApp.allow_origin = '*'", "ServerApp.allow_origin"),
    (
        "jupyter_server_config.py",
        "c.ServerApp.disable_check_xsrf = True",
        "ServerApp.disable_check_xsrf",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.allow_remote_access = True",
        "ServerApp.allow_remote_access",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.local_hostnames = ['evil.example']",
        "ServerApp.local_hostnames",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.allow_unauthenticated_access = True",
        "ServerApp.allow_unauthenticated_access",
    ),
    ("jupyter_server_config.py", "c.ServerApp.trust_xheaders = True", "ServerApp.trust_xheaders"),
    ("jupyter_server_config.py", "c.ServerApp.token = ''", "ServerApp.token"),
    (
        "jupyter_server_config.py",
        "c.ServerApp.cookie_secret = b'x' * 32",
        "ServerApp.cookie_secret",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.login_handler_class = 'jupyter_server.auth.login.LegacyLoginHandler'",
        "ServerApp.login_handler_class",
    ),
    (
        "jupyter_server_config.py",
        "c.ServerApp.identity_provider_class = 'jupyter_server.auth.identity.IdentityProvider'",
        "ServerApp.identity_provider_class",
    ),
    ("jupyter_server_config.py", "c.IdentityProvider.token = ''", "IdentityProvider.token"),
    (
        "jupyter_server_config.py",
        "c.PasswordIdentityProvider.allow_password_change = True",
        "PasswordIdentityProvider.allow_password_change",
    ),
    (
        "jupyter_server_config.py",
        "c.ServiceServerApp.allow_origin = '*'",
        "ServiceServerApp.allow_origin",
    ),
    *[
        (
            "jupyter_server_config.py",
            f"c.ServerApp.tornado_settings.update({{{key!r}: {value!r}}})",
            f"ServerApp.tornado_settings.{key}",
        )
        for key, value in [
            ("xsrf_cookies", False),
            ("disable_check_xsrf", True),
            ("allow_remote_access", True),
            ("local_hostnames", ["evil.example"]),
            ("allow_unauthenticated_access", True),
            ("allow_origin", "*"),
            ("allow_credentials", True),
            ("cookie_secret", "known"),
            ("secure_cookie", False),
        ]
    ],
    *[
        (
            "jupyter_server_config.py",
            "c.ServerApp.tornado_settings.update({'headers': {"
            "'Access-Control-Allow-Origin': '*', 'Content-Security-Policy': 'frame-ancestors *'}})",
            f"ServerApp.tornado_settings.headers.{header}",
        )
        for header in ("Access-Control-Allow-Origin", "Content-Security-Policy")
    ],
    (
        "jupyter_server_config.json",
        json.dumps({"ServerApp": {"allow_origin_pat": ".*", "allow_credentials": True}}),
        "ServerApp.allow_origin_pat",
    ),
    (
        "jupyter_server_config.json",
        json.dumps({"ServerApp": {"tornado_settings": {"xsrf_cookies": False}}}),
        "ServerApp.tornado_settings.xsrf_cookies",
    ),
    (
        "jupyter_config.json",
        json.dumps({"ServerApp": {"disable_check_xsrf": True}}),
        "ServerApp.disable_check_xsrf",
    ),
    # JupyterLab reads its own config file and hands its ServerApp section to the server.
    ("jupyter_lab_config.py", "c.ServerApp.allow_origin_pat = '.*'", "ServerApp.allow_origin_pat"),
    (
        "jupyter_lab_config.json",
        json.dumps({"ServerApp": {"tornado_settings": {"disable_check_xsrf": True}}}),
        "ServerApp.tornado_settings.disable_check_xsrf",
    ),
]


def run_up(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config = write_config(root, free_port())
    return subprocess.run(
        [sys.executable, "-m", "jupyter_service", "up", "--config", str(config)],
        env=env,
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal(proc: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    """The (file, key) pairs `up` named; it must have stopped cleanly, before serving."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "hint: remove these settings from those files" in proc.stderr
    assert "Traceback" not in proc.stderr
    return {
        tuple(line.strip().rsplit(": ", 1))  # type: ignore[misc]
        for line in proc.stderr.splitlines()
        if line.startswith("  /")
    }


def test_up_refuses_config_files_that_weaken_a_pin(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    site = tmp_path / "site-config"  # a dir on $JUPYTER_CONFIG_PATH
    site.mkdir()
    env["JUPYTER_CONFIG_PATH"] = str(site)
    expected = set()
    for filename, text, key in WEAKENING:
        if filename.startswith("jupyter_lab"):
            continue
        directory = site if filename == "jupyter_config.json" else config_dir
        path = directory / filename
        if filename.endswith(".json"):
            merged = json.loads(path.read_text()) if path.exists() else {}
            for section, values in json.loads(text).items():
                merged.setdefault(section, {}).update(values)
            path.write_text(json.dumps(merged))
        else:
            with path.open("a") as f:
                f.write(text + "\n")
        expected.add((str(path), key))
    named = refusal(run_up(tmp_path, env))
    assert expected <= named, expected - named


def test_jupyterlabs_own_config_files_count_too(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    expected = set()
    for filename, text, key in WEAKENING:
        if filename.startswith("jupyter_lab"):
            (config_dir / filename).write_text(text + "\n")
            expected.add((str(config_dir / filename), key))
    assert refusal(run_up(tmp_path, env)) == expected


def test_files_that_keep_the_pins_have_no_effect_on_them(tmp_path: Path) -> None:
    """Our own values repeated, harmless settings, and a `jupyter_server_config.d` file
    (read only for enabling extensions) do not stop `up`, and change nothing: a logged-in
    cookie's cross-origin request gets no CORS answer, and state changes still need XSRF."""
    env_root = tmp_path
    config_dir = env_root / "jupyter-config"
    (config_dir / "jupyter_server_config.d").mkdir(parents=True)
    (config_dir / "jupyter_server_config.py").write_text(
        "c.ServerApp.disable_check_xsrf = False\n"
        "c.ServerApp.allow_origin = ''\n"
        "c.ServerApp.tornado_settings = {'compress_response': True}\n"
    )
    (config_dir / "jupyter_server_config.d" / "evil.json").write_text(
        json.dumps({"ServerApp": {"allow_origin": "*", "disable_check_xsrf": True}})
    )
    port = free_port()
    service = Service(env_root, write_config(env_root, port), port)
    try:
        service.wait_ready()
        session = login(service)
        evil = {"Origin": "https://evil.example"}
        response = session.get(service.url("api/contents"), headers=evil, timeout=10)
        assert "Access-Control-Allow-Origin" not in response.headers
        kernels = session.get(service.url("api/kernels"), timeout=10).json()
        refused = session.post(
            service.url("api/kernels"),
            json={},
            headers={**evil, **xsrf_headers(session)},
            timeout=10,
        )
        assert refused.status_code in (403, 404)  # jupyter_server answers a bad Origin 404
        assert session.post(service.url("api/kernels"), json={}, timeout=10).status_code == 403
        assert session.get(service.url("api/kernels"), timeout=10).json() == kernels
        preflight = requests.options(
            service.url("api/kernels"),
            headers={**evil, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        assert "Access-Control-Allow-Origin" not in preflight.headers
    finally:
        assert service.stop() == 0, service.output()


def test_a_hub_user_server_keeps_what_the_hub_sets_and_nothing_else() -> None:
    """Pure: JupyterHub's extension owns the identity, the Host names and forwarded
    addresses, turns tornado's early XSRF check off for its own and forbids framing; a CORS
    header is still refused."""
    from types import SimpleNamespace

    from jupyter_service.config import parse_config
    from jupyter_service.hub.settings import render_singleuser_settings
    from jupyter_service.server.pins import find_weakened
    from jupyter_service.server.settings import Runtime

    from .test_hub_config import HUB, HUB_HEAD

    config, problems = parse_config(HUB_HEAD + HUB)
    assert config is not None and not problems
    pins = render_singleuser_settings(config, Runtime("/nb", None, None))
    server = SimpleNamespace(
        **{**pins["ServerApp"], "allow_remote_access": True, "trust_xheaders": True}
    )
    settings = {
        "xsrf_cookies": False,
        "disable_check_xsrf": False,
        "allow_unauthenticated_access": False,
        "allow_remote_access": True,
        "allow_origin": "",
        "allow_credentials": False,
        "authenticate_prometheus": True,
        "headers": {"Content-Security-Policy": "frame-ancestors 'none'"},
    }
    identity = object()
    settings["identity_provider"] = identity
    assert find_weakened(server, identity, settings, pins) == []
    settings["headers"] = {"Access-Control-Allow-Origin": "*"}
    assert find_weakened(server, identity, settings, pins) == [
        "ServerApp.tornado_settings.headers.Access-Control-Allow-Origin"
    ]
