"""`jupyter-service hub-config --kubernetes`: the zero-to-jupyterhub values and Dockerfile."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_service.commands.common import add_config_argument, resolve_config
from jupyter_service.errors import ServiceError

if TYPE_CHECKING:
    from jupyter_service.config import ServiceConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hub-config",
        help="render the hub for Kubernetes: zero-to-jupyterhub values and a Dockerfile",
        description="With --kubernetes, write into DIR the zero-to-jupyterhub Helm values "
        "(values.yaml: auth, users, admins, culler, resources, images) and a Dockerfile whose "
        "`singleuser` target builds the store from this config and its lock (every pod serves "
        "the same generation) and whose `hub` target adds jupyter-service to the chart's hub "
        "image; the config and lock are copied beside them as the build context. Rendered "
        "only: nothing is built or deployed.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--kubernetes",
        action="store_true",
        required=True,
        help="render for zero-to-jupyterhub (the only target)",
    )
    parser.add_argument("--output", metavar="DIR", required=True, type=Path, help="where to write")
    parser.set_defaults(handler=run_hub_config)


def run_hub_config(args: argparse.Namespace) -> int:
    import shutil

    from jupyter_service.fsutil import write_text_atomic
    from jupyter_service.hub.kubernetes import (
        CHART_VERSION,
        render_dockerfile,
        render_helm_values,
        render_kubernetes_problems,
    )
    from jupyter_service.store.lock import lock_root

    config = resolve_config(args)
    problems = render_kubernetes_problems(config)
    if config.source is None:
        problems.insert(0, "no config file: the embedded default has no hub")
    if problems:
        raise ServiceError(
            f"cannot render {config.source_name} for Kubernetes: " + "; ".join(problems)
        )
    assert config.source is not None
    lock = lock_root(config.source)
    if not lock.is_dir():
        raise ServiceError(
            f"no lock next to the config: {lock} (the image builds the store from it)",
            hint=f"jupyter-service lock --config {config.source.resolve()}",
        )
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: Helm reads it as it is (`helm upgrade --install ... -f values.yaml`).
    values = json.dumps(render_helm_values(config), indent=2) + "\n"
    # The values hold the users' hashes, as the config does: the admin's alone.
    write_text_atomic(out / "values.yaml", values, mode=0o600, what="the Helm values")
    dockerfile = render_dockerfile(
        config, "config.toml", "config.lock", find_system_packages(config, lock)
    )
    write_text_atomic(out / "Dockerfile", dockerfile, mode=0o644, what="the Dockerfile")
    shutil.copyfile(config.source, out / "config.toml")
    (out / "config.toml").chmod(0o600)
    shutil.rmtree(out / "config.lock", ignore_errors=True)
    shutil.copytree(lock, out / "config.lock")
    print(
        f"wrote {out}/values.yaml (zero-to-jupyterhub {CHART_VERSION}), {out}/Dockerfile, "
        f"and the config and lock beside them; add the jupyter-service wheel, build both "
        f"targets, then: helm upgrade --install jhub jupyterhub/jupyterhub "
        f"--version {CHART_VERSION} -f {out}/values.yaml"
    )
    return 0


def find_system_packages(config: ServiceConfig, lock: Path) -> dict[str, str]:
    """The Debian packages every stable kernel of the config needs, from its lock."""
    from jupyter_service.kernels import Languages
    from jupyter_service.store.switch import stable_kernels

    languages, found = Languages(), {}
    for kernel in stable_kernels(config):
        found.update(languages(kernel.language).find_system_packages(kernel, lock))
    return found
