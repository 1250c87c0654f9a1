"""`jupyter-service doctor`: real kernels, a real `up`, real nginx; each finding and its fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_service.cli import main
from jupyter_service.doctor.checks import read_gpu_probe
from jupyter_service.doctor.report import render_json, render_text
from jupyter_service.doctor.result import CheckResult
from jupyter_service.store.generations import write_generation
from jupyter_service.store.manifest import ManifestEntry
from jupyter_service.venv_cli import main as venv_main
from jupyter_service.venvs.layout import Layout

from .helpers import BASE_URL, Service, free_port, paste, service_cmd, shell_name
from .stable_fixtures import PASSWORD_HASH

HEAD = f'enable = true\npassword = "{PASSWORD_HASH}"\n'


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + f'notebookDir = "{tmp_path / "notebooks"}"\n' + text)
    return path


def doctor_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    status = main(["doctor", "--json", *argv])
    return status, json.loads(capsys.readouterr().out)


def by_check(doc: Any, check: str) -> dict[str, dict[str, Any]]:
    return {c["subject"]: c for c in doc["checks"] if c["check"] == check}


# -- pure: what the results and the GPU probe's answers mean ------------------------------


@pytest.mark.parametrize(
    ("status", "output", "expected", "fix"),
    [
        (0, "True\n", "ok", None),
        (0, "False\n", "warn", "nvidia-smi"),
        (0, "no torch\n", "skip", None),
        (1, "ImportError: libcuda.so.1\n", "fail", "jupyter-service rollback"),
    ],
)
def test_gpu_probe_answers(status: int, output: str, expected: str, fix: str | None) -> None:
    result = read_gpu_probe(status, output, "jupyter-service rollback")
    assert result.status == expected
    assert (result.fix or "").split(" ")[0] == (fix or "").split(" ")[0]


RESULTS = [
    CheckResult("config", "ok", "/c.toml is valid"),
    CheckResult("kernel", "fail", "X does not start", "jupyter kernelspec remove x", "x", ("d",)),
    CheckResult("gpu", "skip", "python-base is not in the current generation"),
]


def test_render_text() -> None:
    assert render_text(RESULTS) == (
        "ok    config  /c.toml is valid\n"
        "fail  kernel  x: X does not start\n"
        "              d\n"
        "              fix: jupyter kernelspec remove x\n"
        "skip  gpu     python-base is not in the current generation\n"
        "\n"
        "1 ok, 1 fail, 1 skip: problems found\n"
    )


def test_render_json_shape() -> None:
    doc = json.loads(render_json(RESULTS))
    assert doc["ok"] is False
    assert doc["counts"] == {"ok": 1, "warn": 0, "fail": 1, "skip": 1}
    assert doc["checks"][1] == {
        "check": "kernel",
        "status": "fail",
        "finding": "X does not start",
        "fix": "jupyter kernelspec remove x",
        "subject": "x",
        "details": ["d"],
    }
    assert set(doc["checks"][0]) == set(doc["checks"][1])


# -- config and auth -----------------------------------------------------------------------


def test_invalid_config_is_one_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("enable = true\nport = 70000\nprot = 1\n")
    assert main(["doctor", "--config", str(config), "--no-kernels"]) == 1
    out = capsys.readouterr().out
    assert f"fail  config            {config} has 3 problems\n" in out
    assert "  prot: unknown key; did you mean 'port'?\n" in out
    assert "  port: 70000 is out of range; allowed: an integer from 1 to 65535\n" in out
    assert f"fix: {service_cmd('check', '--config', config)}\n" in out
    assert "fail  auth              no password and no Authelia\n" in out
    assert f"fix: {service_cmd('hash-password')}\n" in out
    assert "skip  port              the config is not valid\n" in out
    assert "skip  kernel            --no-kernels\n" in out


def test_password_and_authelia_together_fail_auth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'enable = true\npassword = "{PASSWORD_HASH}"\n'
        '[reverseProxy]\nenable = true\ndomains = ["a.com"]\nauthelia.enable = true\n'
    )
    status, doc = doctor_json(["--config", str(config), "--no-kernels"], capsys)
    assert status == 1
    auth = by_check(doc, "auth")[""]
    assert (auth["status"], auth["finding"]) == (
        "fail",
        "a password and Authelia both: remove one (see `check`)",
    )
    assert auth["fix"] == f"${{EDITOR:-vi}} {config}"


def test_doctor_runs_the_checks_its_table_lists_in_that_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_service.doctor.checks import CHECKS

    config = tmp_path / "config.toml"
    config.write_text(f'enable = true\npassword = "{PASSWORD_HASH}"\n')
    _, doc = doctor_json(["--config", str(config), "--no-kernels"], capsys)
    ran = list(dict.fromkeys(c["check"] for c in doc["checks"]))
    assert ran == [check.name for check in CHECKS]


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, doc = doctor_json(["--config", str(tmp_path / "nope.toml"), "--no-kernels"], capsys)
    assert status == 1
    config = by_check(doc, "config")[""]
    assert config["status"] == "fail"
    assert config["details"] == [f"config file not found: {tmp_path / 'nope.toml'}"]


# -- kernels, stale kernelspecs, tools, port, GPU -----------------------------------------


@pytest.mark.slow
def test_kernels_stale_tools_and_free_port(
    layout: Layout, tmp_path: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert venv_main(["create", "good"]) == 0
    assert venv_main(["create", "gone"]) == 0
    shutil.rmtree(layout.venvs / "gone")  # by hand: its kernelspec stays behind
    nopython = layout.kernels / "nopython"
    nopython.mkdir()
    (nopython / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(tmp_path / "no-such-python"),
                    *("-m", "ipykernel_launcher", "-f", "{connection_file}"),
                ],
                "display_name": "No Python",
                "language": "python",
            }
        )
    )
    # Generation 1's python-base is a real venv without torch; the current one, 2, points it
    # at a store path that is gone.
    for store_path in (layout.venvs / "good", tmp_path / "gone-store-path"):
        entry = ManifestEntry("python", str(store_path), "0" * 64, "Python (base)")
        write_generation(service_environ, {"python-base": entry}, None)
    port = free_port()
    config = write_config(
        tmp_path, f'port = {port}\nextraTools = ["sh"]\nextraToolsPath = ["/bin", "/usr/bin"]\n'
    )
    capsys.readouterr()

    status, doc = doctor_json(["--config", str(config)], capsys)

    assert status == 1 and doc["ok"] is False
    kernels = by_check(doc, "kernel")
    assert {name: k["status"] for name, k in kernels.items()} == {
        "echo": "ok",  # pytest-jupyter's: answers with what it was sent
        "gone": "fail",
        "good": "ok",
        "nopython": "fail",
        "python-base": "fail",
        "python3": "ok",
    }
    assert kernels["echo"]["finding"] == "echo starts and answers `1+1` with 1+1"
    assert kernels["good"]["finding"] == "Python (good) starts and answers `1+1` with 2"
    assert kernels["gone"]["finding"] == f"Python (gone) has lost its venv {layout.venvs / 'gone'}"
    assert kernels["gone"]["fix"] == f"{shell_name('jupyter-venv-kernel')} delete --yes gone"
    assert kernels["nopython"]["finding"].startswith("No Python does not start: ")
    assert "no-such-python" in kernels["nopython"]["finding"]
    assert kernels["nopython"]["fix"] == f"{shell_name('jupyter')} kernelspec remove -f nopython"
    assert kernels["python-base"]["finding"].startswith("Python (base) does not start: ")
    assert kernels["python-base"]["fix"] == service_cmd("rollback")

    stale = by_check(doc, "stale-kernelspec")
    assert list(stale) == ["gone"]
    assert stale["gone"]["status"] == "fail"
    assert stale["gone"]["fix"] == f"{shell_name('jupyter-venv-kernel')} delete --yes gone"

    tools = by_check(doc, "tools")
    assert tools["sh"] == {
        "check": "tools",
        "status": "ok",
        "finding": "/bin/sh",
        "fix": None,
        "subject": "sh",
        "details": [],
    }
    assert tools["jupyter-venv-kernel"]["status"] == "ok"

    port_check = by_check(doc, "port")[""]
    assert port_check["status"] == "fail"
    assert port_check["finding"] == f"nothing listens on 127.0.0.1:{port}"
    assert port_check["fix"] == service_cmd("up", "--config", config)

    generation = by_check(doc, "generation")[""]
    assert generation["status"] == "ok"

    # Fixed by the commands doctor named, pasted into a shell elsewhere: nothing fails there
    # any more but the port (nothing serves), and python-base is generation 1's.
    for name in ("gone", "nopython", "python-base"):
        proc = paste(kernels[name]["fix"], tmp_path)
        assert proc.returncode == 0, (name, proc.stdout + proc.stderr)
    status, doc = doctor_json(["--config", str(config)], capsys)
    assert [c for c in doc["checks"] if c["status"] == "fail"] == [port_check]
    assert by_check(doc, "kernel")["python-base"]["status"] == "ok"
    gpu = by_check(doc, "gpu")[""]
    assert (gpu["status"], gpu["finding"]) == ("skip", "torch is not installed in python-base")


@pytest.mark.slow
def test_kernel_check_says_what_the_pre_warmed_kernels_cost(
    layout: Layout, service_environ: Path
) -> None:
    """A stable kernel with `preheat`: doctor's kernel check imports its preload in the
    kernel it started and reports that kernel's memory, times preheat."""
    import re

    from jupyter_service.config import parse_config
    from jupyter_service.doctor.kernels import check_kernels

    assert venv_main(["create", "good"]) == 0
    entry = ManifestEntry(
        language="python",
        store_path=str(layout.venvs / "good"),
        lock_sha256="0" * 64,
        display_name="Python (base)",
    )
    write_generation(service_environ, {"python-base": entry}, None)
    config, problems = parse_config(
        HEAD + '[extraKernels.python-base]\nenable = true\npreheat = 2\npreload = ["json"]\n'
    )
    assert problems == [] and config is not None
    [base] = [r for r in check_kernels(config, service_environ) if r.subject == "python-base"]
    assert base.status == "ok"
    assert re.fullmatch(
        r"Python \(base\) starts and answers `1\+1` with 2; 2 pre-warmed \(preheat\) with json "
        r"imported: (\d+) MiB each, (\d+) MiB in all",
        base.finding,
    ), base.finding


@pytest.mark.slow
def test_missing_tool_and_dangling_generation(
    tmp_path: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, 'extraTools = ["no-such-tool-3f9"]\n')
    service_environ.mkdir(parents=True)
    (service_environ / "current").symlink_to("generations/7")
    status, doc = doctor_json(["--config", str(config), "--no-kernels"], capsys)
    assert status == 1
    # As `check` says: the config is not valid on this machine.
    assert by_check(doc, "config")[""]["status"] == "fail"
    assert by_check(doc, "config")[""]["details"][0].startswith(
        "extraTools[0]: 'no-such-tool-3f9' is not installed on this machine"
    )
    tool = by_check(doc, "tools")["no-such-tool-3f9"]
    assert (tool["status"], tool["fix"]) == ("fail", "apt-get install no-such-tool-3f9")
    generation = by_check(doc, "generation")[""]
    assert generation["status"] == "fail"
    assert generation["fix"] == service_cmd("rollback")


@pytest.mark.slow
def test_port_answered_by_a_running_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    config = write_config(tmp_path, f'port = {port}\nbaseUrl = "{BASE_URL}"\n')
    service = Service(tmp_path / "svc", config, port)
    try:
        service.wait_ready()
        assert main(["doctor", "--config", str(config), "--no-kernels"]) == 0
    finally:
        assert service.stop() == 0, service.output()
    out = capsys.readouterr().out
    url = f"http://127.0.0.1:{port}{BASE_URL}api/status"
    assert f"ok    port              Jupyter answers on 127.0.0.1:{port} ({url}: 403)\n" in out
    assert out.endswith(": nothing failed\n")


# -- proxy: the site proxy-config renders, through nginx -t --------------------------------

PROXY = '[reverseProxy]\nenable = true\ndomains = ["jupyter.example.com"]\nauthelia.enable = true\n'


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin") is None, reason="nginx")
def test_proxy_site_through_nginx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"enable = true\n{PROXY}")
    status, doc = doctor_json(["--config", str(config), "--no-kernels"], capsys)
    proxy = by_check(doc, "proxy")[""]
    assert proxy["status"] == "ok", proxy
    assert proxy["finding"].startswith("nginx -t accepts the site")
    assert by_check(doc, "auth")[""]["finding"] == "Authelia forward-auth through nginx"
    # A doctor writes nothing: no proxy secret was made.
    assert not any(Path(p).name == "proxy-secret" for p in tmp_path.rglob("*"))

    missing = tmp_path / "missing.pem"
    config.write_text(
        f"enable = true\n{PROXY}"
        f'listen = 443\nsslCertificate = "{missing}"\nsslCertificateKey = "{missing}"\n'
    )
    status, doc = doctor_json(["--config", str(config), "--no-kernels"], capsys)
    assert status == 1
    proxy = by_check(doc, "proxy")[""]
    assert (proxy["status"], proxy["finding"]) == ("fail", "nginx -t rejects the site")
    assert any(str(missing) in line for line in proxy["details"]), proxy
    site = "/etc/nginx/sites-enabled/jupyter-service.conf"
    write = service_cmd("proxy-config", "--write", site, "--config", config)
    assert proxy["fix"].endswith(f"`{write}`")
