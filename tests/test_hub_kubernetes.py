"""`hub-config --kubernetes`: the values validate against the zero-to-jupyterhub chart's own
schema (kept in tests/data/z2jh with its source), merged onto the chart's defaults as Helm
does; the Dockerfile builds the store from the same config and lock. No cluster here: what
is rendered is checked, nothing is deployed."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from jupyter_service.cli import main
from jupyter_service.hub.kubernetes import CHART_VERSION, split_image
from jupyter_service.hub.singleuser import SETTINGS_ENV

from .test_config import HASH

DATA = Path(__file__).parent / "data" / "z2jh"
CONFIG = f"""enable = true
port = 8000
baseUrl = "/jupyter/"
notebookDir = "~/notebooks"
[extraKernels.small]
language = "python"
packages = ["iniconfig"]
[hub]
enable = true
admins = ["alice"]
spawner = "kubernetes"
memoryLimit = "2G"
cpuLimit = "1.5"
idleTimeout = 1800
image = "registry.example.com:5000/lab/jupyter:1.2"
[hub.users]
alice = "{HASH}"
bob = "{HASH}"
"""


def merged(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values onto a chart's defaults: tables merge, the rest replaces."""
    result = dict(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def render(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str = CONFIG) -> Path:
    admin = tmp_path / "admin"
    (admin / "config.lock" / "small").mkdir(parents=True)
    (admin / "config.lock" / "small" / "uv.lock").write_text("# a lock\n")
    (admin / "config.toml").write_text(text)
    out = tmp_path / "k8s"
    assert (
        main(
            [
                "hub-config",
                "--kubernetes",
                "--config",
                str(admin / "config.toml"),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith(
        f"wrote {out}/values.yaml (zero-to-jupyterhub {CHART_VERSION})"
    )
    return out


def test_values_validate_against_the_charts_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render(tmp_path, capsys)
    values = yaml.safe_load((out / "values.yaml").read_text())
    schema = yaml.safe_load((DATA / "values.schema.yaml").read_text())
    defaults = yaml.safe_load((DATA / "values.yaml").read_text())
    jsonschema.validate(merged(defaults, values), schema)
    # And the schema does catch a mistake in the same place.
    broken = merged(
        defaults, {**values, "singleuser": {**values["singleuser"], "cpu": {"limit": "1.5"}}}
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_values_carry_auth_users_admins_culler_resources_and_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render(tmp_path, capsys)
    values = json.loads((out / "values.yaml").read_text())
    assert stat.S_IMODE((out / "values.yaml").stat().st_mode) == 0o600
    hub = values["hub"]
    assert hub["baseUrl"] == "/jupyter/"
    assert hub["image"] == {"name": "registry.example.com:5000/lab/jupyter-hub", "tag": "1.2"}
    assert (
        hub["config"]["JupyterHub"]["authenticator_class"]
        == "jupyter_service.hub.auth.ServiceAuthenticator"
    )
    auth = hub["config"]["ServiceAuthenticator"]
    assert auth == {
        "allowed_users": ["alice", "bob"],
        "admin_users": ["alice"],
        "passwords": {"alice": HASH, "bob": HASH},
    }
    assert hub["config"]["KubeSpawner"] == {"notebook_dir": "~/notebooks"}
    single = values["singleuser"]
    assert single["image"] == {"name": "registry.example.com:5000/lab/jupyter", "tag": "1.2"}
    assert single["memory"] == {"limit": "2G"} and single["cpu"] == {"limit": 1.5}
    assert single["cmd"] == [
        "/opt/jupyter-service/venv/bin/python",
        "-m",
        "jupyter_service.hub.singleuser",
    ]
    settings = json.loads(single["extraEnv"][SETTINGS_ENV])
    # The same pins as the host's user servers, the stable kernels from the image's store.
    assert (
        settings["ServiceKernelSpecManager"]["stable_kernel_dir"]
        == "/opt/jupyter-service/state/current/kernels"
    )
    assert settings["MappingKernelManager"] == {"default_kernel_name": "small"}
    assert settings["ServerApp"]["jpserver_extensions"]["jupyterhub"] is True
    assert settings["ServerApp"]["disable_check_xsrf"] is False
    assert values["cull"] == {"enabled": True, "timeout": 1800, "every": 180}


def test_dockerfile_builds_the_store_from_the_same_config_and_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render(tmp_path, capsys)
    dockerfile = (out / "Dockerfile").read_text()
    assert (out / "config.toml").read_text() == CONFIG
    assert (out / "config.lock" / "small" / "uv.lock").read_text() == "# a lock\n"
    lines = dockerfile.splitlines()
    assert "COPY config.toml /build/config.toml" in lines
    assert "COPY config.lock/ /build/config.lock/" in lines
    assert (
        "RUN /opt/jupyter-service/venv/bin/jupyter-service switch --config /build/config.toml"
        in lines
    )
    assert "COPY --from=build /opt/jupyter-service /opt/jupyter-service" in lines
    assert f"FROM quay.io/jupyterhub/k8s-hub:{CHART_VERSION} AS hub" in lines
    # The config (the users' hashes) never reaches the single-user image.
    singleuser = dockerfile.split("AS singleuser")[1].split("AS hub")[0]
    assert "config.toml" not in singleuser.replace("--config /build/config.toml", "")


def test_the_single_user_image_carries_a_haskell_kernels_debian_packages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Haskell store path is a package DB of symlinks into Debian's ghc and libghc-*-dev:
    # the image that runs it needs them, at the versions the lock records.
    text = CONFIG.replace(
        "[hub]", '[extraKernels.ihaskell]\nenable = true\nextraPackages = ["lens"]\n[hub]'
    )
    admin = tmp_path / "admin"
    lock = {
        "format": 1,
        "requested": ["lens"],
        "ghc": "9.0.2",
        "packages": [
            {
                "name": "base",
                "version": "4.15.1.0",
                "id": "base-4.15.1.0",
                "abi": "b",
                "debian": "",
                "debianVersion": "",
            },
            {
                "name": "lens",
                "version": "5.0.1",
                "id": "lens-5.0.1-X",
                "abi": "a",
                "debian": "libghc-lens-dev",
                "debianVersion": "5.0.1-2+b1",
            },
        ],
    }
    (admin / "config.lock" / "ihaskell").mkdir(parents=True)
    (admin / "config.lock" / "ihaskell" / "packages.lock.json").write_text(json.dumps(lock))
    out = render(tmp_path, capsys, text)
    dockerfile = (out / "Dockerfile").read_text()
    apt = (
        "RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
        "--no-install-recommends ghc libghc-lens-dev=5.0.1-2+b1 && rm -rf /var/lib/apt/lists/*"
    )
    build = dockerfile.split("AS build")[1].split("AS singleuser")[0].splitlines()
    singleuser = dockerfile.split("AS singleuser")[1].split("AS hub")[0].splitlines()
    # In the build stage before `switch` (which then finds them there, pinned as locked),
    # and in the image the pods run.
    assert build.index(apt) < next(i for i, line in enumerate(build) if " switch " in line)
    assert apt in singleuser
    # A config of Python kernels only installs nothing from Debian.
    plain = (render(tmp_path / "plain", capsys) / "Dockerfile").read_text()
    assert "apt-get" not in plain


def test_authelia_mode_and_a_missing_lock_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    assert (
        main(
            ["hub-config", "--kubernetes", "--config", str(config), "--output", str(tmp_path / "o")]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert f"error: no lock next to the config: {tmp_path}/config.lock" in err
    assert not (tmp_path / "o").exists()
    authelia = (
        'enable = true\n[reverseProxy]\nenable = true\ndomains = ["a.example.com"]\n'
        '[reverseProxy.authelia]\nenable = true\n[hub]\nenable = true\nusers = ["alice"]\n'
    )
    config.write_text(authelia)
    assert (
        main(
            ["hub-config", "--kubernetes", "--config", str(config), "--output", str(tmp_path / "o")]
        )
        == 1
    )
    assert capsys.readouterr().err == (
        f"error: cannot render {config} for Kubernetes: Authelia mode is not rendered for "
        "Kubernetes: the proxy secret would have to live in the Helm values; use password mode "
        "([hub.users] with hashes)\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("lab", ("lab", "latest")),
        ("lab:1.0", ("lab", "1.0")),
        ("registry:5000/lab", ("registry:5000/lab", "latest")),
        ("registry:5000/lab:2", ("registry:5000/lab", "2")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected
