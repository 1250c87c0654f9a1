"""`reverseProxy` options, the pure nginx site renderer, and `jupyter-service proxy-config`.

The site is checked exactly against a golden file and structurally (every location that
reaches Jupyter asks Authelia first); tests/test_nginx_authelia.py runs it in real nginx.
"""

from __future__ import annotations

import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.config import ServiceConfig, parse_config
from jupyter_service.config.model import AutheliaConfig
from jupyter_service.proxy import install
from jupyter_service.proxy.install import find_nginx
from jupyter_service.proxy.nginx import render_nginx_site

from .fault_fixtures import fill
from .test_config import PASSWORD_LINE, problems_of

GOLDEN = Path(__file__).parent / "golden" / "nginx_site_authelia.conf"
SECRET = "s3cr3t-Secret_0123456789abcdefghijklmnopqrstu"
UPSTREAM = "proxy_pass http://127.0.0.1:8888;"
needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")

AUTHELIA = """\
enable = true
user = "bob"
baseUrl = "/a%40b/"
[reverseProxy]
enable = true
domains = ["jupyter.example.com", "nb.example.org"]
authelia.enable = true
"""


def parsed(text: str) -> ServiceConfig:
    config, problems = parse_config(text, source=Path("/etc/jupyter-service/config.toml"))
    assert problems == []
    assert config is not None
    return config


def locations(site: str) -> dict[str, str]:
    """Each `location` block of the site: its head (`= "/x"`, `"/x"`) and its body."""
    return {
        head.strip(): body
        for head, body in re.findall(r"^    location ([^{]+)\{\n(.*?)^    \}$", site, re.M | re.S)
    }


# -- options -----------------------------------------------------------------------------------


def test_proxy_option_defaults() -> None:
    proxy = parsed(PASSWORD_LINE).reverseProxy
    assert proxy.listen == 80
    assert (proxy.sslCertificate, proxy.sslCertificateKey) == (None, None)
    assert proxy.authelia.url == "http://127.0.0.1:9091"


@pytest.mark.parametrize(
    "lines",
    [
        "listen = 8443",
        'authelia.url = "https://auth.internal:9443/authelia/"',
        'authelia.url = "http://[::1]:9091"',
        'authelia.url = "http://authelia:9091"',
        'sslCertificate = "/etc/ssl/jupyter.pem"\nsslCertificateKey = "/etc/ssl/private/jupyter.key"',
    ],
)
def test_valid_proxy_option(lines: str) -> None:
    text = PASSWORD_LINE + '[reverseProxy]\nenable = true\ndomains = ["a.com"]\n' + lines
    assert problems_of(text) == []


URL_RULE = "is not an http(s) URL of a host; allowed: for example 'http://127.0.0.1:9091' or 'https://auth.internal/authelia'"
PATH_RULE = "is not an absolute path of plain characters; allowed: letters, digits, '.', '_', '-', '+', '@' and '/', such as '/etc/ssl/jupyter.pem'"


@pytest.mark.parametrize(
    ("lines", "path", "message"),
    [
        (
            "listen = 0",
            "reverseProxy.listen",
            "0 is out of range; allowed: an integer from 1 to 65535",
        ),
        ('listen = "80"', "reverseProxy.listen", "expected an integer, got string '80'"),
        (
            'authelia.url = "127.0.0.1:9091"',
            "reverseProxy.authelia.url",
            f"'127.0.0.1:9091' {URL_RULE}",
        ),
        ('authelia.url = "ftp://auth"', "reverseProxy.authelia.url", f"'ftp://auth' {URL_RULE}"),
        (
            'authelia.url = "http://a:9091;include /x"',
            "reverseProxy.authelia.url",
            f"'http://a:9091;include /x' {URL_RULE}",
        ),
        (
            'authelia.url = "http://a/$host"',
            "reverseProxy.authelia.url",
            f"'http://a/$host' {URL_RULE}",
        ),
        (
            'authelia.url = "http://a:70000"',
            "reverseProxy.authelia.url",
            f"'http://a:70000' {URL_RULE}",
        ),
        (
            'sslCertificate = "cert.pem"\nsslCertificateKey = "/k"',
            "reverseProxy.sslCertificate",
            f"'cert.pem' {PATH_RULE}",
        ),
        (
            'sslCertificate = "/c"\nsslCertificateKey = "/k; include /etc/passwd"',
            "reverseProxy.sslCertificateKey",
            f"'/k; include /etc/passwd' {PATH_RULE}",
        ),
        (
            'sslCertificate = "/c/$ssl_server_name"\nsslCertificateKey = "/k"',
            "reverseProxy.sslCertificate",
            f"'/c/$ssl_server_name' {PATH_RULE}",
        ),
        (
            'sslCertificate = "/c"',
            "reverseProxy.sslCertificateKey",
            "required when reverseProxy.sslCertificate is set",
        ),
        (
            'sslCertificateKey = "/k"',
            "reverseProxy.sslCertificate",
            "required when reverseProxy.sslCertificateKey is set",
        ),
        ("lisen = 80", "reverseProxy.lisen", "unknown key; did you mean 'listen'?"),
    ],
)
def test_invalid_proxy_option(lines: str, path: str, message: str) -> None:
    text = PASSWORD_LINE + '[reverseProxy]\nenable = true\ndomains = ["a.com"]\n' + lines
    assert (path, message) in problems_of(text)


# -- the renderer ------------------------------------------------------------------------------


def test_authelia_site_is_the_golden_one() -> None:
    site = render_nginx_site(parsed(AUTHELIA), SECRET)
    assert site == GOLDEN.read_text()


def test_every_location_that_reaches_jupyter_asks_authelia() -> None:
    site = render_nginx_site(parsed(AUTHELIA), SECRET)
    blocks = locations(site)
    assert list(blocks) == [
        "= /.jupyter-service/authelia",
        "/",
        '"/a@b/"',
        '"/a@b/api/kernels"',
        '"/a@b/terminals/websocket"',
        '= "/a@b/api/events/subscribe"',
    ]
    assert blocks["/"] == "        return 404;\n"
    authz = blocks["= /.jupyter-service/authelia"]
    assert "        internal;\n" in authz
    assert "proxy_pass http://127.0.0.1:9091/api/authz/auth-request;" in authz
    assert "proxy_set_header X-Original-Method $request_method;" in authz
    assert "proxy_set_header X-Original-URL $scheme://$http_host$request_uri;" in authz
    assert "proxy_set_header X-Forwarded-Host $http_host;" in authz
    assert SECRET not in authz and "Remote-User" not in authz
    proxied = {head: body for head, body in blocks.items() if UPSTREAM in body}
    assert len(proxied) == 4
    for head, body in proxied.items():
        lines = [line.strip() for line in body.splitlines()]
        assert lines[0] == "auth_request /.jupyter-service/authelia;", head
        for header in ("User", "Groups", "Name", "Email"):
            variable = f"$jupyter_service_{header.lower()}"
            assert f"auth_request_set {variable} $upstream_http_remote_{header.lower()};" in lines
            assert f"proxy_set_header Remote-{header} {variable};" in lines
        assert "error_page 401 =302 $jupyter_service_portal;" in lines
        assert "auth_request_set $jupyter_service_portal $upstream_http_location;" in lines
        assert f'proxy_set_header X-Jupyter-Service-Proxy "{SECRET}";' in lines
        assert "proxy_set_header Host $http_host;" in lines
        assert "proxy_set_header Connection $jupyter_service_connection;" in lines
        timeout = "1h" if head == '"/a@b/"' else "1d"
        assert f"proxy_read_timeout {timeout};" in lines, head
    assert site.count(SECRET) == 4
    assert "map $http_upgrade $jupyter_service_connection {" in site
    assert "    server_name jupyter.example.com nb.example.org;\n" in site
    assert "    client_max_body_size 512m;\n" in site


def test_password_mode_site_has_no_authelia_and_no_secret() -> None:
    config = parsed(PASSWORD_LINE + '[reverseProxy]\nenable = true\ndomains = ["a.com"]\n')
    site = render_nginx_site(config, None)
    assert "auth_request" not in site and "X-Jupyter-Service-Proxy" not in site
    assert list(locations(site)) == [
        '"/"',
        '"/api/kernels"',
        '"/terminals/websocket"',
        '= "/api/events/subscribe"',
    ]
    assert "(Jupyter's own login)" in site.splitlines()[0]


def test_tls_and_listen_port() -> None:
    config = parsed(
        AUTHELIA
        + 'listen = 8443\nsslCertificate = "/etc/ssl/j.pem"\nsslCertificateKey = "/etc/ssl/j.key"\n'
    )
    site = render_nginx_site(config, SECRET)
    assert (
        "    listen 8443 ssl;\n"
        "    server_name jupyter.example.com nb.example.org;\n"
        '    ssl_certificate "/etc/ssl/j.pem";\n'
        '    ssl_certificate_key "/etc/ssl/j.key";\n'
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        '    add_header Strict-Transport-Security "max-age=31536000" always;\n'
    ) in site


def test_only_our_domains_are_served() -> None:
    # SECURITY.md 34: any other Host is dropped (444) by the site itself.
    site = render_nginx_site(parsed(AUTHELIA), SECRET)
    assert (
        '    if ($host !~* "^(jupyter\\.example\\.com|nb\\.example\\.org)$") { return 444; }\n'
        in site
    )
    assert "Strict-Transport-Security" not in site  # plain HTTP: no HSTS


def test_ipv6_upstream_and_authelia_path() -> None:
    config = parsed(
        AUTHELIA.replace("enable = true\nuser", 'enable = true\nip = "::1"\nport = 9999\nuser')
        + 'authelia.url = "https://auth.internal/authelia/"\n'
    )
    site = render_nginx_site(config, SECRET)
    assert "proxy_pass http://[::1]:9999;" in site
    assert "proxy_pass https://auth.internal/authelia/api/authz/auth-request;" in site


def with_proxy(config: ServiceConfig, **changes: object) -> ServiceConfig:
    return replace(config, reverseProxy=replace(config.reverseProxy, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # SECURITY.md 27: `check` rejects these; a config built in code cannot pass them either.
        (
            {"domains": ("a.com; include /etc/passwd",)},
            "'a.com; include /etc/passwd' is not a domain name",
        ),
        ({"domains": ("a.com}\nserver {",)}, "is not a domain name"),
        ({"domains": ()}, "reverseProxy.domains is empty"),
        (
            {"authelia": AutheliaConfig(enable=True, users=(), url="http://a;include /x")},
            "is not an http(s) URL",
        ),
        ({"sslCertificate": "/c;x", "sslCertificateKey": "/k"}, "is not an absolute path"),
        ({"listen": 0}, "0 is out of range"),
    ],
)
def test_renderer_refuses_nginx_syntax(change: dict[str, object], message: str) -> None:
    config = with_proxy(parsed(AUTHELIA), **change)
    with pytest.raises(ValueError, match=re.escape(message)):
        render_nginx_site(config, SECRET)


@pytest.mark.parametrize("base_url", ["/a%0a/", "/a%22%3B/", "/%24host/", "/a%7B/"])
def test_renderer_refuses_base_url_decoding_to_syntax(base_url: str) -> None:
    config = replace(parsed(AUTHELIA), baseUrl=base_url)
    with pytest.raises(ValueError, match="decodes to characters nginx cannot match safely"):
        render_nginx_site(config, SECRET)


@pytest.mark.parametrize("secret", [None, "", "short", SECRET + '";', SECRET + "\n"])
def test_renderer_refuses_a_bad_secret(secret: str | None) -> None:
    with pytest.raises(ValueError, match="Authelia mode needs the proxy secret"):
        render_nginx_site(parsed(AUTHELIA), secret)


# -- the command -------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str = AUTHELIA) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text)
    return config


def test_print_uses_the_service_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    config = write_config(tmp_path)
    assert main(["proxy-config", "--config", str(config)]) == 0
    secret_file = service_environ / "proxy-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    out = capsys.readouterr().out
    assert out == render_nginx_site(replace(parsed(AUTHELIA), source=config), secret)
    # Printing again gives the same site: the secret is made once.
    assert main(["proxy-config", "--config", str(config)]) == 0
    assert capsys.readouterr().out == out


def test_the_first_secret_on_a_full_disk_is_one_message_and_leaves_no_temp_file(
    tmp_path: Path,
    small_fs: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10.3. Before: the secret's temp file was left behind (0 bytes), with a
    traceback."""
    state = small_fs / "state"
    state.mkdir()
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))
    config = write_config(tmp_path)
    fill(small_fs)
    assert main(["proxy-config", "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == (
        f"error: no space left on the filesystem mounted at {small_fs} "
        f"(writing the proxy secret: {state / 'proxy-secret'})"
    )
    assert list(state.iterdir()) == []
    # With space again, the next run makes it.
    (small_fs / "filler").unlink()
    assert main(["proxy-config", "--config", str(config)]) == 0
    assert [p.name for p in state.iterdir()] == ["proxy-secret"]


def test_proxy_off_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, PASSWORD_LINE)
    assert main(["proxy-config", "--config", str(config)]) == 1
    assert capsys.readouterr().err == (
        f"error: reverseProxy.enable is not true in {config}: no nginx site to render\n"
        "hint: set `[reverseProxy] enable = true` and `domains = [...]` in the config\n"
    )


def test_invalid_config_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, AUTHELIA.replace('["jupyter.example.com"', '["a.com; x"'))
    site = tmp_path / "site.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 1
    assert "reverseProxy.domains[0]: 'a.com; x' is not a domain name" in capsys.readouterr().err
    assert not site.exists()


@needs_nginx
def test_write_runs_nginx_test_and_sets_the_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    sites = tmp_path / "sites-enabled"
    sites.mkdir()
    site = sites / "jupyter.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 0
    assert (
        capsys.readouterr().out == f"wrote {site} (nginx -t: ok); reload nginx: nginx -s reload\n"
    )
    assert stat.S_IMODE(site.stat().st_mode) == 0o640
    assert "auth_request /.jupyter-service/authelia;" in site.read_text()
    assert [p.name for p in sites.iterdir()] == ["jupyter.conf"]


@needs_nginx
def test_site_nginx_rejects_leaves_the_old_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    config = write_config(
        tmp_path,
        AUTHELIA + f'sslCertificate = "{missing}"\nsslCertificateKey = "{missing}"\n',
    )
    sites = tmp_path / "sites-enabled"
    sites.mkdir()
    site = sites / "jupyter.conf"
    site.write_text("# the working site\n")
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nginx rejected the site: `")
    assert "exited with status 1" in err
    assert f'cannot load certificate "{missing}"' in err
    assert "full log: " in err
    assert site.read_text() == "# the working site\n"
    assert [p.name for p in sites.iterdir()] == ["jupyter.conf"]


def test_write_without_nginx_says_it_was_not_tested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(install, "NGINX_DIRS", ())
    config = write_config(tmp_path)
    site = tmp_path / "site.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 0
    assert capsys.readouterr().out == (
        f"wrote {site}; nginx is not installed, so it was not tested: "
        "install nginx, then run `nginx -t`\n"
    )
    assert stat.S_IMODE(site.stat().st_mode) == 0o640


def test_write_into_a_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    site = tmp_path / "no-such-dir" / "site.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot write the site: {site}: No such file or directory\n"
    )


def test_write_to_a_path_nginx_would_misread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    site = tmp_path / "my site.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot write the site there: '{site}' is not an absolute path of plain "
        "characters; allowed: letters, digits, '.', '_', '-', '+', '@' and '/', such as "
        "'/etc/ssl/jupyter.pem'\n"
    )
    assert not site.exists()


HUB_AUTHELIA = (
    AUTHELIA.replace('baseUrl = "/a%40b/"', 'baseUrl = "/lab.x/"')
    + '[hub]\nenable = true\nusers = ["alice", "bob"]\n'
)


def test_hub_site_gives_every_users_websockets_the_same_authelia_and_timeouts() -> None:
    site = render_nginx_site(parsed(HUB_AUTHELIA), SECRET)
    blocks = locations(site)
    users = '~ "^/lab\\.x/user/[^/]+/(api/kernels|terminals/websocket|api/events/subscribe)"'
    assert list(blocks)[-1] == users
    lines = [line.strip() for line in blocks[users].splitlines()]
    assert lines[0] == "auth_request /.jupyter-service/authelia;"
    assert f'proxy_set_header X-Jupyter-Service-Proxy "{SECRET}";' in lines
    assert "proxy_set_header Remote-User $jupyter_service_user;" in lines
    assert "proxy_read_timeout 1d;" in lines
    assert UPSTREAM in blocks[users]


@needs_nginx
def test_hub_site_passes_nginx_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, HUB_AUTHELIA)
    site = tmp_path / "jupyter.conf"
    assert main(["proxy-config", "--config", str(config), "--write", str(site)]) == 0
    assert "(nginx -t: ok)" in capsys.readouterr().out
