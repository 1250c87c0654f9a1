"""The config matrix: each option valid and invalid, with exact messages."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from jupyter_service.cli import main
from jupyter_service.commands.paths_cmd import render_paths
from jupyter_service.config import embedded_default, load_config, parse_config
from jupyter_service.config.schema import DEFAULT_TOOLS_PATH

from .helpers import as_nobody, hash_password, service_cmd

HASH = "argon2:$argon2id$v=19$m=10240,t=10,p=8$4XvOqzIPU/sWsC3LYqL4jQ$+58oZlS4ye9E8YQzuPrw8E6gCnvaGhnUeRjtd4qtmVI"

# The original's Quick Start, in our TOML.
QUICK_START = """
enable = true
notebookDir = "/lab/jupyter"
user = "codgi"

# Enable experimental venv kernel support
enableVenvKernels = true

# Stable Haskell kernel
[extraKernels.ihaskell]
enable = true
extraPackages = ["lens", "aeson", "vector"]

# Stable Python kernel
[extraKernels.python-base]
enable = true

# Reverse proxy with Authelia
[reverseProxy]
enable = true
domains = ["jupyter.example.com"]
authelia.enable = true
"""

PASSWORD_LINE = f'password = "{HASH}"\n'


def problems_of(text: str) -> list[tuple[str, str]]:
    return parse_config(text)[1]


def test_quick_start_is_valid() -> None:
    config, problems = parse_config(QUICK_START)
    assert problems == []
    assert config is not None
    assert config.auth_mode == "authelia"
    assert config.user == "codgi"
    ihaskell, base = config.stableKernels
    assert (ihaskell.name, ihaskell.language, ihaskell.enable) == ("ihaskell", "haskell", True)
    assert ihaskell.packages == ("lens", "aeson", "vector")
    assert ihaskell.options == {"package": "ihaskell"}
    assert (base.name, base.language, base.displayName) == (
        "python-base",
        "python",
        "Python (base)",
    )
    assert base.packages[0] == "ipykernel" and base.options == {"pythonPackage": "python3"}


def test_defaults_follow_the_original_tables() -> None:
    config, problems = parse_config(PASSWORD_LINE)
    assert problems == [] and config is not None
    assert (config.enable, config.ip, config.port) == (False, "127.0.0.1", 8888)
    assert (config.user, config.group, config.notebookDir) == ("jupyter", "jupyter", "~/")
    assert config.enableVenvKernels is True
    assert config.extraTools == ()
    assert config.extraToolsPath == tuple(DEFAULT_TOOLS_PATH)
    assert config.stableKernels == ()
    assert config.reverseProxy.enable is False and config.reverseProxy.domains == ()
    assert config.reverseProxy.authelia.enable is False
    assert config.baseUrl == "/"


@pytest.mark.parametrize(
    "line",
    [
        "enable = true",
        'ip = "0.0.0.0"',
        'ip = "::1"',
        'ip = "localhost"',
        "port = 1",
        "port = 65535",
        'user = "codgi"',
        'group = "_jupyter"',
        'notebookDir = "/lab/jupyter"',
        'notebookDir = "~/notebooks"',
        "enableVenvKernels = false",
        'extraTools = ["sh"]',
        'baseUrl = "/a%40b/"',
        'extraToolsPath = ["/opt/tools/bin"]',
        '[extraKernels.python-base]\nextraPackages = ["openai", "pandas>=2.2", "torch==2.1; python_version>\'3\'"]',
        '[extraKernels.python-base]\npythonPackage = "3.11"',
        '[extraKernels.python-base]\npythonPackage = "/usr/bin/python3"',
        '[extraKernels.ihaskell]\npackage = "ihaskell"\nextraPackages = ["lens-aeson"]',
        '[extraKernels.ml]\nlanguage = "python"\npackages = ["numpy"]\ndisplayName = "ML"\nenv = {OMP_NUM_THREADS = "2"}',
        '[reverseProxy]\nenable = true\ndomains = ["jupyter.example.com"]',
        '[extraKernels.python-base]\npreheat = 2\npreload = ["numpy", "os.path"]',
        '[extraKernels.ml]\nlanguage = "python"\npreheat = 1',
    ],
)
def test_valid_option(line: str) -> None:
    assert problems_of(PASSWORD_LINE + line) == []


@pytest.mark.parametrize(
    ("line", "path", "message"),
    [
        ('enable = "yes"', "enable", "expected a boolean (true or false), got string 'yes'"),
        (
            'ip = "my host"',
            "ip",
            "'my host' is not an IP address; allowed: an IPv4 or IPv6 address or 'localhost'",
        ),
        ('port = "8888"', "port", "expected an integer, got string '8888'"),
        ("port = 0", "port", "0 is out of range; allowed: an integer from 1 to 65535"),
        ("port = 65536", "port", "65536 is out of range; allowed: an integer from 1 to 65535"),
        ("port = true", "port", "expected an integer, got boolean True"),
        (
            'user = "Root User"',
            "user",
            "'Root User' is not a valid user or group name; allowed: up to 32 characters, lowercase letters, digits, '-' and '_', starting with a letter or '_'",
        ),
        ("group = 5", "group", "expected a string, got integer 5"),
        (
            'notebookDir = "notebooks"',
            "notebookDir",
            "'notebooks' is relative; allowed: an absolute path or one starting with '~/'",
        ),
        (
            "enableVenvKernels = 1",
            "enableVenvKernels",
            "expected a boolean (true or false), got integer 1",
        ),
        ('extraTools = "git"', "extraTools", "expected a list of strings, got string 'git'"),
        (
            'extraTools = ["/usr/bin/git"]',
            "extraTools[0]",
            "'/usr/bin/git' holds a path separator, space or shell character; allowed: a program or Debian package name such as 'git'",
        ),
        (
            'extraTools = ["git;rm"]',
            "extraTools[0]",
            "'git;rm' holds a path separator, space or shell character; allowed: a program or Debian package name such as 'git'",
        ),
        (
            'extraTools = ["$(id)"]',
            "extraTools[0]",
            "'$(id)' holds a path separator, space or shell character; allowed: a program or Debian package name such as 'git'",
        ),
        ("extraTools = [3]", "extraTools[0]", "expected a string, got integer"),
        (
            'baseUrl = "jupyter"',
            "baseUrl",
            "'jupyter' is not a URL path; allowed: a path that starts and ends with '/', such as '/jupyter/'",
        ),
        (
            '[extraKernels.python-base]\nextraPackages = ["numpy>="]',
            "extraKernels.python-base.extraPackages[0]",
            "'numpy>=' is not a PEP 508 requirement (Expected semicolon (after name with no version specifier) or end); allowed: for example 'requests' or 'pandas>=2.2'",
        ),
        (
            '[extraKernels.python-base]\npythonPackage = "ruby"',
            "extraKernels.python-base.pythonPackage",
            "'ruby' is not an interpreter; allowed: a version such as '3.11', a name such as 'python3.11', or an absolute path",
        ),
        (
            '[extraKernels.python-base]\nenable = "true"',
            "extraKernels.python-base.enable",
            "expected a boolean (true or false), got string 'true'",
        ),
        (
            '[extraKernels.ihaskell]\nextraPackages = ["lens aeson"]',
            "extraKernels.ihaskell.extraPackages[0]",
            "'lens aeson' is not a Haskell package name; allowed: for example 'lens' or 'lens-aeson'",
        ),
        (
            "[extraKernels.ihaskell]\npackage = 3",
            "extraKernels.ihaskell.package",
            "expected a string, got integer 3",
        ),
        (
            '[extraKernels.ml]\npackages = ["numpy"]',
            "extraKernels.ml.language",
            "required; expected a string",
        ),
        (
            '[extraKernels.ml]\nlanguage = "r"',
            "extraKernels.ml.language",
            "'r' is not supported; allowed: 'haskell', 'python'",
        ),
        (
            '[extraKernels."../x"]\nlanguage = "python"',
            'extraKernels."../x"',
            "'../x' is not a valid kernel name; allowed: 1 to 63 characters: lowercase letters a-z, digits, '-' and '_', starting with a letter or digit",
        ),
        (
            '[extraKernels.ml]\nlanguage = "python"\nenv = {A = 1}',
            "extraKernels.ml.env.A",
            "expected a string, got integer",
        ),
        ("extraKernels = 3", "extraKernels", "expected a table, got integer"),
        (
            '[reverseProxy]\nenable = true\ndomains = ["a.com; include /etc/passwd"]',
            "reverseProxy.domains[0]",
            "'a.com; include /etc/passwd' is not a domain name; allowed: letters, digits, '-' and dots, such as 'jupyter.example.com'",
        ),
        (
            "[reverseProxy]\nenable = true",
            "reverseProxy.domains",
            "must name at least one domain when reverseProxy.enable is true",
        ),
        (
            '[reverseProxy]\ndomains = ["a.com"]\nauthelia.enable = true',
            "reverseProxy.enable",
            "must be true when reverseProxy.authelia.enable is true",
        ),
        (
            "[reverseProxy]\nauthelia = true",
            "reverseProxy.authelia",
            "expected a table, got boolean",
        ),
        ("prot = 8888", "prot", "unknown key; did you mean 'port'?"),
        (
            "[extraKernels.python-base]\npreheat = 17",
            "extraKernels.python-base.preheat",
            "17 is out of range; allowed: 0 (none) to 16 pre-warmed kernels",
        ),
        (
            '[extraKernels.python-base]\npreload = ["numpy; rm -rf /"]',
            "extraKernels.python-base.preload[0]",
            "'numpy; rm -rf /' is not a module name; allowed: a dotted name such as 'numpy' or "
            "'os.path'",
        ),
        (
            '[extraKernels.hs]\nlanguage = "haskell"\npreload = ["lens"]',
            "extraKernels.hs.preload",
            "modules are imported ahead in Python kernels only",
        ),
        (
            "[extraKernels.python-base]\nextraPakages = []",
            "extraKernels.python-base.extraPakages",
            "unknown key; did you mean 'extraPackages'?",
        ),
        (
            "zzz = 1",
            "zzz",
            "unknown key; allowed here: baseUrl, enable, enableVenvKernels, extraKernels, extraTools, extraToolsPath, group, hub, ip, notebookDir, password, port, reverseProxy, user",
        ),
    ],
)
def test_invalid_option(line: str, path: str, message: str) -> None:
    assert (path, message) in problems_of(PASSWORD_LINE + line)


HASH_HINT = f"make one with `{service_cmd('hash-password')}`"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # SECURITY.md 16: malformed hashes are rejected by check, never a 500 at login.
        ("argon2:", f"is a malformed argon2 hash; {HASH_HINT}"),
        ("argon2:$argon2id$garbage", f"is a malformed argon2 hash; {HASH_HINT}"),
        (
            "sha1:x:y",
            f"is not an argon2 hash ('argon2:$argon2id$...'); only argon2 is accepted, {HASH_HINT}",
        ),
        (
            "hunter2",
            f"is not an argon2 hash ('argon2:$argon2id$...'); only argon2 is accepted, {HASH_HINT}",
        ),
        ("", f"is empty; omit the key to use Authelia instead, or {HASH_HINT}"),
    ],
)
def test_malformed_password_hash(value: str, message: str) -> None:
    assert problems_of(f'password = "{value}"') == [("password", message)]


def test_generated_hash_is_accepted() -> None:
    assert problems_of(f'password = "{hash_password("s3cret")}"') == []


def test_shallow_parse_leaves_out_only_the_checks_that_load_a_library() -> None:
    """`list` reads the config shallow (it must start at once): the argon2 hash, the PEP 508
    requirements and the hub's hashes are not checked; every other rule still holds."""
    text = (
        'password = "argon2:garbage"\n[extraKernels.python-base]\nenable = true\n'
        'extraPackages = ["not a requirement!"]\n'
    )
    assert [key for key, _ in problems_of(text)] == [
        "password",
        "extraKernels.python-base.extraPackages[0]",
    ]
    config, problems = parse_config(text, shallow=True)
    assert problems == []
    assert config is not None and [k.name for k in config.stableKernels] == ["python-base"]
    hub = (
        'enable = true\n[hub]\nenable = true\nadmins = ["bob"]\n'
        '[hub.users]\nalice = "argon2:garbage"\n'
    )
    assert parse_config(hub, shallow=True)[1] == [
        ("hub.admins[0]", "'bob' is not one of hub.users")
    ]
    assert len(problems_of(hub)) == 2


def test_authentication_must_be_configured() -> None:
    assert problems_of("enable = true") == [
        (
            "password",
            "authentication is not configured; set `password` to a hash from "
            f"`{service_cmd('hash-password')}`, or use Authelia with `reverseProxy.enable = true` "
            "and `reverseProxy.authelia.enable = true`",
        )
    ]


def test_password_and_authelia_together_are_refused() -> None:
    """One sign-in, decided once: `check` cannot say "password" while proxy-config writes an
    Authelia site."""
    text = (
        f'password = "{hash_password("s3cret")}"\n'
        '[reverseProxy]\nenable = true\ndomains = ["a.com"]\nauthelia.enable = true\n'
    )
    assert problems_of(text) == [
        (
            "reverseProxy.authelia.enable",
            "is true while `password` is set, so two sign-ins are asked for; pick one: remove "
            "`password` to sign in through Authelia, or set `reverseProxy.authelia.enable = "
            "false` to keep Jupyter's password login",
        )
    ]
    without_password = text.split("\n", 1)[1]
    config, problems = parse_config(without_password)
    assert problems == [] and config is not None and config.auth_mode == "authelia"
    config, problems = parse_config(text.replace("authelia.enable = true", ""))
    assert problems == [] and config is not None and config.auth_mode == "password"


def test_not_toml() -> None:
    [(path, message)] = problems_of("port = = 3")
    assert path == "" and message.startswith("not valid TOML: ")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


def test_five_mistakes_all_reported_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "enable = true\n"
        "prot = 8888\n"
        "port = 70000\n"
        'password = "sha1:x:y"\n'
        'extraTools = ["git; rm -rf /"]\n'
        "[extraKernels.python-base]\n"
        'extraPackages = ["numpy>="]\n'
    )
    before = snapshot(tmp_path)
    home_before = snapshot(Path(os.environ["HOME"]))
    for command in ("check", "up"):
        assert main([command, "--config", str(config)]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"error: {config} has 5 problems:\n"
            "  prot: unknown key; did you mean 'port'?\n"
            "  port: 70000 is out of range; allowed: an integer from 1 to 65535\n"
            "  password: is not an argon2 hash ('argon2:$argon2id$...'); only argon2 is accepted, "
            f"make one with `{service_cmd('hash-password')}`\n"
            "  extraTools[0]: 'git; rm -rf /' holds a path separator, space or shell character; "
            "allowed: a program or Debian package name such as 'git'\n"
            "  extraKernels.python-base.extraPackages[0]: 'numpy>=' is not a PEP 508 requirement "
            "(Expected semicolon (after name with no version specifier) or end); "
            "allowed: for example 'requests' or 'pandas>=2.2'\n"
            f"hint: fix them, then run `{service_cmd('check', '--config', config)}` again; "
            "nothing was changed on disk\n"
        )
    assert snapshot(tmp_path) == before
    assert snapshot(Path(os.environ["HOME"])) == home_before
    assert not service_environ.exists()


def test_tool_not_on_host(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    _, problems = parse_config(
        PASSWORD_LINE + f'extraTools = ["no-such-tool-xyz"]\nextraToolsPath = ["{tools}"]',
        check_host=True,
    )
    assert problems == [
        (
            "extraTools[0]",
            f"'no-such-tool-xyz' is not installed on this machine (looked in {tools} and "
            "Debian's packages); install it, for example `apt-get install no-such-tool-xyz`, "
            "or remove it",
        )
    ]


def test_tool_found_in_search_path(tmp_path: Path) -> None:
    tool = tmp_path / "hello-tool"
    tool.write_text("#!/bin/sh\necho hello\n")
    tool.chmod(0o755)
    text = PASSWORD_LINE + f'extraTools = ["hello-tool"]\nextraToolsPath = ["{tmp_path}"]'
    assert parse_config(text, check_host=True)[1] == []


def test_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "enable = true\n" + PASSWORD_LINE + "[extraKernels.python-base]\nenable = true\n"
    )
    assert main(["check", "--config", str(config)]) == 0
    assert capsys.readouterr().out == (
        f"ok: {config} is valid (auth: password; stable kernels: python-base; venv kernels: on)\n"
    )


PLAIN_HTTP_WARNING = (
    "warning: ip: password mode listens on {ip} (not loopback) without TLS in front: "
    "passwords and login cookies cross the network in clear text\n"
    'hint: keep ip = "127.0.0.1" and serve through the nginx site with TLS '
    "(reverseProxy.enable, reverseProxy.domains, reverseProxy.sslCertificate and "
    "reverseProxy.sslCertificateKey), or put another TLS proxy in front and firewall port "
    "{port}\n"
)


@pytest.mark.parametrize(
    ("ip", "extra"),
    [
        ("0.0.0.0", ""),
        ("192.0.2.7", ""),
        ("::", ""),
        # A proxy without TLS is no TLS in front.
        ("0.0.0.0", '[reverseProxy]\nenable = true\ndomains = ["j.example.com"]\n'),
    ],
)
def test_check_warns_on_password_logins_over_the_network_without_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ip: str, extra: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'enable = true\nip = "{ip}"\nport = 8999\n' + PASSWORD_LINE + extra)
    assert main(["check", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"ok: {config} is valid")
    assert captured.err == PLAIN_HTTP_WARNING.format(ip=ip, port=8999)
    assert main(["check", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    warning, hint = PLAIN_HTTP_WARNING.format(ip=ip, port=8999).splitlines()
    assert report["warnings"] == [
        {
            "key": "ip",
            "warning": warning.removeprefix("warning: ip: "),
            "hint": hint.removeprefix("hint: "),
        }
    ]


@pytest.mark.parametrize(
    "text",
    [
        'ip = "127.0.0.1"\n' + PASSWORD_LINE,
        'ip = "localhost"\n' + PASSWORD_LINE,
        'ip = "::1"\n' + PASSWORD_LINE,
        'ip = "0.0.0.0"\n'
        + PASSWORD_LINE
        + '[reverseProxy]\nenable = true\ndomains = ["j.example.com"]\n'
        'sslCertificate = "/etc/ssl/j.pem"\nsslCertificateKey = "/etc/ssl/j.key"\n',
    ],
)
def test_check_is_quiet_on_loopback_or_behind_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("enable = true\n" + text)
    assert main(["check", "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""


def test_config_found_through_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "env.toml"
    config.write_text("port = 0\n" + PASSWORD_LINE)
    monkeypatch.setenv("JUPYTER_SERVICE_CONFIG", str(config))
    assert main(["check"]) == 1
    assert "port: 0 is out of range" in capsys.readouterr().err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["check", "--config", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"error: config file not found: {missing}\n"
        "hint: pass an existing file with --config, or run "
        f"`{service_cmd('up')}` with no config for the embedded default\n"
    )


def test_disabled_service_is_refused_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(PASSWORD_LINE + "[extraKernels.python-base]\nenable = true\n")
    before = snapshot(tmp_path)
    assert main(["up", "--config", str(config)]) == 1
    assert capsys.readouterr().err == (
        f"error: the service is disabled in {config} (enable = false)\n"
        "hint: set `enable = true` in the config\n"
    )
    assert snapshot(tmp_path) == before
    assert not service_environ.exists()


def test_paths_lists_what_to_persist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_environ: Path
) -> None:
    import json as jsonlib

    config = tmp_path / "config.toml"
    notebooks = tmp_path / "lab" / "jupyter"
    config.write_text(PASSWORD_LINE + f'user = "nobody-here-xyz"\nnotebookDir = "{notebooks}"\n')
    assert main(["paths", "--config", str(config), "--json"]) == 0
    rows = jsonlib.loads(capsys.readouterr().out)
    assert [row["path"] for row in rows] == [
        str(notebooks),
        str(config),
        str(tmp_path / "config.lock"),
        str(service_environ),
        "/home/nobody-here-xyz/.local/share/jupyter",
    ]
    # Listing writes nothing: neither the notebook dir nor the state dir is made.
    assert not notebooks.parent.exists()
    assert not service_environ.exists()
    assert main(["paths", "--config", str(config)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{notebooks} ") and first.endswith("  # notebooks (notebookDir)")


def test_paths_unit_and_up_agree_where_the_notebooks_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One notebook_dir(config, user): as root, `paths` answers for the user the unit runs
    as, and says what the unit's WorkingDirectory says; the config by its absolute path."""
    import json as jsonlib

    (tmp_path / "admin").mkdir()
    config = tmp_path / "admin" / "config.toml"
    config.write_text(
        "enable = true\n" + PASSWORD_LINE + 'user = "nobody"\nnotebookDir = "~/notebooks"\n'
    )
    monkeypatch.chdir(tmp_path / "admin")
    assert main(["paths", "--config", "config.toml", "--json"]) == 0
    rows = {row["holds"]: row["path"] for row in jsonlib.loads(capsys.readouterr().out)}
    home = Path(pwd.getpwnam("nobody").pw_dir)
    assert rows["notebooks (notebookDir)"] == str(home / "notebooks")
    assert rows["the config"] == str(config)
    assert rows["nobody's venv kernels and kernelspecs"] == str(home / ".local/share/jupyter")
    assert main(["install-service", "--config", "config.toml", "--print"]) == 0
    unit = capsys.readouterr().out
    assert f"WorkingDirectory={home / 'notebooks'}\n" in unit
    # Not root: whoever runs it serves, from their own home and Jupyter dirs.
    parsed = load_config(config)
    with as_nobody():
        rows = {what: path for path, what in render_paths(parsed, tmp_path / "state")}
    assert rows["notebooks (notebookDir)"] == os.path.expanduser("~/notebooks")
    assert rows["nobody's venv kernels and kernelspecs"] == os.environ["JUPYTER_DATA_DIR"]


def test_defaults_come_from_the_schema_alone() -> None:
    """The option dataclasses have no defaults of their own: a config built from an empty
    table has every option at the schema's default."""
    import dataclasses

    from jupyter_service.config.model import AutheliaConfig, HubConfig, ReverseProxyConfig
    from jupyter_service.config.schema import ROOT, Opt, Table

    for cls in (AutheliaConfig, ReverseProxyConfig, HubConfig):
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), cls
    config = embedded_default(Path("/nb"))

    def compare(table: Table, obj: object, prefix: str) -> None:
        for key, spec in table.options.items():
            if key in ("enable", "notebookDir") and not prefix:
                continue  # the embedded default's own two
            if isinstance(spec, Opt) and hasattr(obj, key):
                value = getattr(obj, key)
                expected = spec.default
                if isinstance(expected, list):
                    expected = tuple(expected)
                if key == "users" and prefix == "hub.":
                    continue  # a list of names or a table of hashes: split into two fields
                assert value == expected, prefix + key
            elif isinstance(spec, Table) and spec.entry is None and hasattr(obj, key):
                compare(spec, getattr(obj, key), f"{prefix}{key}.")

    compare(ROOT, config, "")
    assert config.enable and config.notebookDir == "/nb" and config.auth_mode == "token"


def test_stable_kernel_defaults_come_from_the_schema() -> None:
    """StableKernel repeats no option default: a kernel table that leaves an option out
    gets the schema's, per kernel (ihaskell is off unless enabled, an added kernel on)."""
    import dataclasses

    from jupyter_service.config import stable_kernel
    from jupyter_service.config.schema import OTHER_PYTHON_KERNEL, Opt
    from jupyter_service.kernels import StableKernel

    fields = {f.name: f for f in dataclasses.fields(StableKernel)}
    options = [k for k in OTHER_PYTHON_KERNEL.options if k in fields]
    assert sorted(options) == [
        "displayName",
        "enable",
        "env",
        "language",
        "packages",
        "preheat",
        "preload",
    ]
    for key in options:
        assert fields[key].default is dataclasses.MISSING, key
        assert fields[key].default_factory is dataclasses.MISSING, key
    added = stable_kernel("ml", {"language": "python"})
    for key in options:
        if key == "language":
            continue  # required
        spec = OTHER_PYTHON_KERNEL.options[key]
        assert isinstance(spec, Opt)
        value = getattr(added, key)
        assert (list(value) if isinstance(value, tuple) else value) == spec.default, key
    assert (added.enable, added.packages, added.options) == (True, (), {})
    haskell = stable_kernel("ihaskell", {"extraPackages": ["lens"]})
    assert (haskell.enable, haskell.packages, haskell.preheat) == (False, ("lens",), 0)
    assert stable_kernel("python-base", {}).displayName == "Python (base)"


def test_state_dir_names_are_written_once() -> None:
    """Every dir and file under the state dir is named by ServicePaths alone: no other
    module joins a name onto a state dir."""
    import re

    import jupyter_service

    root = Path(jupyter_service.__file__).parent
    joins = re.compile(r"""\bstate(_dir\(\))?\s*/\s*(["'A-Z]|f["'])""")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "paths.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if joins.search(line)
    ]
    assert found == []
