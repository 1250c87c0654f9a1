"""Render the nginx site for `reverseProxy`. Pure: no disk, no processes.

Every value written into the site is checked again here with the config's own checks, so
a `ServiceConfig` built in code cannot smuggle nginx syntax in either (SECURITY.md 27).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from jupyter_service.config import ServiceConfig, checks
from jupyter_service.proxy.secret import SECRET_HEADER

AUTHZ_PATH = "/api/authz/auth-request"
# nginx-internal: a client asking for it gets a 404.
AUTHZ_LOCATION = "/.jupyter-service/authelia"
# Jupyter's websockets ping every 30 s; an idle notebook must stay connected all day.
WEBSOCKET_TIMEOUT = "1d"
HTTP_TIMEOUT = "1h"
# Jupyter's own limit (ServerApp.max_body_size); JupyterLab uploads big files in chunks.
MAX_BODY = "512m"
# No trailing slash: nginx would answer the bare path (`api/kernels`, a REST call) with a 301.
WEBSOCKET_PATHS = ("api/kernels", "terminals/websocket")
EVENTS_PATH = "api/events/subscribe"

_SECRET = re.compile(r"[A-Za-z0-9_-]{16,}")
# What a base URL may decode to inside a quoted nginx string.
_LOCATION = re.compile(r"/[A-Za-z0-9._~@!&'()*+,;=:/-]*")
_LOCATIONS_COMMENT = (
    "\n"
    "    # Every location that reaches Jupyter asks Authelia first, websockets included.\n"
    "    # No session: 302 to Authelia's portal (its Location carries rd=); denied: 403.\n"
    "    # Remote-* headers are set from Authelia's answer: a client's own never pass.\n"
    "    # Host keeps its port, so Jupyter's Host and Origin checks see what the browser saw.\n"
)
_UPGRADE_MAP = (
    "# Websockets: pass the client's Upgrade on, and close plain requests as usual.\n"
    "map $http_upgrade $jupyter_service_connection {\n"
    "    default upgrade;\n"
    "    ''      close;\n"
    "}\n"
)


def _require(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _upstream(config: ServiceConfig) -> str:
    _require(checks.check_ip(config.ip))
    _require(checks.check_port(config.port))
    host = f"[{config.ip}]" if ":" in config.ip else config.ip
    return f"http://{host}:{config.port}"


def _location_prefix(base_url: str) -> str:
    """nginx matches locations against the decoded path (`/a%40b/` arrives as `/a@b/`)."""
    _require(checks.check_base_url(base_url))
    decoded = unquote(base_url)
    if not _LOCATION.fullmatch(decoded):
        raise ValueError(f"baseUrl {base_url!r} decodes to characters nginx cannot match safely")
    return decoded


def _auth_lines(secret: str) -> list[str]:
    return [
        f"auth_request {AUTHZ_LOCATION};",
        "auth_request_set $jupyter_service_user $upstream_http_remote_user;",
        "auth_request_set $jupyter_service_groups $upstream_http_remote_groups;",
        "auth_request_set $jupyter_service_name $upstream_http_remote_name;",
        "auth_request_set $jupyter_service_email $upstream_http_remote_email;",
        "auth_request_set $jupyter_service_portal $upstream_http_location;",
        "error_page 401 =302 $jupyter_service_portal;",
        "proxy_set_header Remote-User $jupyter_service_user;",
        "proxy_set_header Remote-Groups $jupyter_service_groups;",
        "proxy_set_header Remote-Name $jupyter_service_name;",
        "proxy_set_header Remote-Email $jupyter_service_email;",
        f'proxy_set_header {SECRET_HEADER} "{secret}";',
    ]


def _proxy_lines(upstream: str, timeout: str) -> list[str]:
    return [
        f"proxy_pass {upstream};",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $jupyter_service_connection;",
        f"proxy_read_timeout {timeout};",
        f"proxy_send_timeout {timeout};",
    ]


def _block(head: str, lines: list[str]) -> str:
    body = "".join(f"        {line}\n" for line in lines)
    return f"    {head} {{\n{body}    }}\n"


def _authz_location(url: str) -> str:
    _require(checks.check_service_url(url))
    return _block(
        f"location = {AUTHZ_LOCATION}",
        [
            "internal;",
            f"proxy_pass {url.rstrip('/')}{AUTHZ_PATH};",
            "proxy_pass_request_body off;",
            'proxy_set_header Content-Length "";',
            'proxy_set_header Connection "";',
            "proxy_set_header X-Original-Method $request_method;",
            "proxy_set_header X-Original-URL $scheme://$http_host$request_uri;",
            # Authelia's other implementations read these: the true values, never a client's.
            "proxy_set_header X-Forwarded-Method $request_method;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Host $http_host;",
            "proxy_set_header X-Forwarded-Uri $request_uri;",
            "proxy_set_header X-Forwarded-For $remote_addr;",
            "proxy_http_version 1.1;",
            "proxy_connect_timeout 10s;",
            "proxy_read_timeout 30s;",
        ],
    )


def render_nginx_site(config: ServiceConfig, secret: str | None) -> str:
    """The nginx site for `config.reverseProxy`: one file to include in nginx's `http` block.

    With Authelia on, every location that reaches Jupyter asks Authelia first, and `secret`
    (the deployment's proxy secret) is the header Jupyter trusts `Remote-User` by.
    """
    proxy = config.reverseProxy
    if not proxy.domains:
        raise ValueError("reverseProxy.domains is empty")
    for domain in proxy.domains:
        _require(checks.check_domain(domain))
    _require(checks.check_port(proxy.listen))
    authelia = config.auth_mode == "authelia"
    if authelia and not (secret and _SECRET.fullmatch(secret)):
        raise ValueError("Authelia mode needs the proxy secret (16+ of A-Z a-z 0-9 _ -)")
    upstream = _upstream(config)
    prefix = _location_prefix(config.baseUrl)
    auth = _auth_lines(secret) if authelia and secret else []

    server = [
        f"listen {proxy.listen}{' ssl' if proxy.sslCertificate else ''};",
        f"server_name {' '.join(proxy.domains)};",
    ]
    if proxy.sslCertificate and proxy.sslCertificateKey:
        _require(checks.check_nginx_path(proxy.sslCertificate))
        _require(checks.check_nginx_path(proxy.sslCertificateKey))
        server += [
            f'ssl_certificate "{proxy.sslCertificate}";',
            f'ssl_certificate_key "{proxy.sslCertificateKey}";',
            "ssl_protocols TLSv1.2 TLSv1.3;",
            # Browsers that saw the site over TLS never try it in the clear again.
            'add_header Strict-Transport-Security "max-age=31536000" always;',
        ]
    # Only our domains: a request that reaches this server block with another Host
    # (`localhost`, an address, a made-up name) is dropped without an answer.
    hosts = "|".join(re.escape(domain.lower()) for domain in proxy.domains)
    server.append(f'if ($host !~* "^({hosts})$") {{ return 444; }}')
    server.append(f"client_max_body_size {MAX_BODY};")
    text = "".join(f"    {line}\n" for line in server)
    text += _LOCATIONS_COMMENT if authelia else ""
    if authelia:
        text += "\n" + _authz_location(proxy.authelia.url)
    if prefix != "/":
        text += "\n" + _block("location /", ["return 404;"])
    text += "\n" + _block(f'location "{prefix}"', auth + _proxy_lines(upstream, HTTP_TIMEOUT))
    for path in WEBSOCKET_PATHS:
        text += "\n" + _block(
            f'location "{prefix}{path}"', auth + _proxy_lines(upstream, WEBSOCKET_TIMEOUT)
        )
    text += "\n" + _block(
        f'location = "{prefix}{EVENTS_PATH}"', auth + _proxy_lines(upstream, WEBSOCKET_TIMEOUT)
    )
    if config.hub.enable:
        # Every user's server is under user/NAME/: its websockets get the same timeouts.
        paths = "|".join(re.escape(p) for p in (*WEBSOCKET_PATHS, EVENTS_PATH))
        text += "\n" + _block(
            f'location ~ "^{re.escape(prefix)}user/[^/]+/({paths})"',
            auth + _proxy_lines(upstream, WEBSOCKET_TIMEOUT),
        )
    mode = "Authelia forward-auth" if authelia else "Jupyter's own login"
    header = (
        f"# nginx site for jupyter-service ({mode}), rendered by `jupyter-service proxy-config`\n"
        f"# from {config.source_name}. Include it in nginx's http block; do not edit it.\n"
    )
    if authelia:
        header += "# It holds the proxy secret: keep it root-owned, mode 0640.\n"
    return f"{header}\n{_UPGRADE_MAP}\nserver {{\n{text}}}\n"


def render_nginx_main(site: Path, prefix: Path, *, run_as_root: bool = False) -> str:
    """A minimal nginx.conf that includes `site`, with every file nginx writes under `prefix`:
    for `nginx -t` on the site alone, and for running nginx in tests."""
    for path in (site, prefix):
        _require(checks.check_nginx_path(str(path)))
    temp = "".join(
        f'    {kind}_temp_path "{prefix}/{kind}_temp";\n'
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if run_as_root else ""
    return (
        f"{user}"
        f'pid "{prefix}/nginx.pid";\n'
        f'error_log "{prefix}/error.log" info;\n'
        "worker_processes 1;\n"
        "events {\n    worker_connections 256;\n}\n"
        "http {\n"
        f'    access_log "{prefix}/access.log";\n'
        f"{temp}"
        f'    include "{site}";\n'
        "}\n"
    )
