"""The stable tier's pure parts: what a lock's project, a store key and a kernelspec are."""

from __future__ import annotations

import tomllib
from pathlib import Path

from jupyter_service.config import StableKernel, embedded_default, stable_kernel
from jupyter_service.config.model import PYTHON_BASE_STACK as DEFAULT_STACK
from jupyter_service.kernels.python import (
    Interpreter,
    describe_mismatch,
    kernel_requirements,
    refusal_message,
    render_kernelspec,
    render_pyproject,
    store_key_inputs,
)
from jupyter_service.server.settings import Runtime, render_server_settings
from jupyter_service.store.build import store_hash as store_key

PY = Interpreter("/usr/bin/python3.11", "3.11.2", "cpython-311", "linux-x86_64-glibc-2.36")


def kernel(name: str = "ml", packages: tuple[str, ...] = ("iniconfig",)) -> StableKernel:
    table = {"language": "python", "packages": list(packages), "pythonPackage": "python3"}
    return stable_kernel(name, table)


def store_hash(name: str, lock_sha256: str, interpreter: Interpreter) -> str:
    return store_key(name, store_key_inputs(lock_sha256, interpreter))


def test_python_base_is_the_default_stack_plus_extra_packages() -> None:
    base = stable_kernel(
        "python-base",
        {"enable": True, "pythonPackage": "python3", "extraPackages": ["openai", "numpy>=2"]},
    )
    assert kernel_requirements(base) == [*DEFAULT_STACK, "openai", "numpy>=2"]
    assert DEFAULT_STACK[0] == "ipykernel" and "torch" in DEFAULT_STACK


def test_other_kernels_get_ipykernel_added_once() -> None:
    assert kernel_requirements(kernel(packages=("iniconfig",))) == ["ipykernel", "iniconfig"]
    assert kernel_requirements(kernel(packages=("IPyKernel>=6", "six"))) == ["IPyKernel>=6", "six"]
    assert kernel_requirements(kernel(packages=("six", "six"))) == ["ipykernel", "six"]


def test_pyproject_is_a_virtual_uv_project_without_paths() -> None:
    text = render_pyproject(kernel(packages=('foo; python_version >= "3.8"',)), "3.11")
    data = tomllib.loads(text)
    assert text.startswith("# Written by `jupyter-service lock` from extraKernels.ml;")
    assert data["project"] == {
        "name": "jupyter-service-kernel-ml",
        "version": "0",
        "requires-python": "==3.11.*",
        "dependencies": ["ipykernel", 'foo; python_version >= "3.8"'],
    }
    assert data["tool"]["uv"] == {"package": False, "environments": ["sys_platform == 'linux'"]}
    assert "/" not in text.split("\n", 1)[1].replace("python_version", "")


def test_mismatch_names_what_differs() -> None:
    old = render_pyproject(kernel(packages=("iniconfig",)), "3.11")
    new = render_pyproject(kernel(packages=("iniconfig", "six")), "3.12")
    assert describe_mismatch(old, new) == (
        "the config asks for six which the lock lacks; "
        "the lock is for Python ==3.11.*, the interpreter is ==3.12.*"
    )
    assert describe_mismatch(new, old).startswith("the lock has six which the config dropped")
    assert describe_mismatch("", old).startswith("the config asks for ipykernel, iniconfig")


def test_store_hash_covers_lock_interpreter_and_name() -> None:
    key = store_hash("ml", "a" * 64, PY)
    assert len(key) == 32 and key == store_hash("ml", "a" * 64, PY)
    assert key != store_hash("ml", "b" * 64, PY)
    assert key != store_hash("geo", "a" * 64, PY)
    assert key != store_hash(
        "ml", "a" * 64, Interpreter(PY.executable, "3.11.3", PY.implementation, PY.platform)
    )
    assert key != store_hash(
        "ml",
        "a" * 64,
        Interpreter(PY.executable, PY.version, PY.implementation, "linux-aarch64-glibc-2.36"),
    )
    assert PY.minor == "3.11"


def test_store_keys_of_python_kernels_are_what_they_were_before_the_language_seam() -> None:
    # Computed by the stable tier before kernels/ existed: an upgrade rebuilds nothing.
    assert store_hash("ml", "a" * 64, PY) == "07924b139a0e362417dd66605571bc9f"


def test_kernelspec_points_into_the_store_with_tier_metadata() -> None:
    spec = render_kernelspec(
        "ml",
        "/s/store/abc-ml",
        display="Python (ml)",
        env={"A": "1"},
        generation=7,
        lock_sha256="f" * 64,
    )
    assert spec == {
        "argv": [
            "/s/store/abc-ml/bin/python",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--ext=jupyter_service_stable",
        ],
        "display_name": "Python (ml)",
        "language": "python",
        "interrupt_mode": "signal",
        "env": {
            "PATH": "/s/store/abc-ml/bin:${PATH}",
            "PYTHONPATH": "",
            "PYTHONHOME": "",
            "PYTHONNOUSERSITE": "1",
            "A": "1",
        },
        "metadata": {
            "debugger": True,
            "jupyter_service": {"tier": "stable", "generation": 7, "lock": "f" * 64},
        },
    }


def test_refusal_points_to_venv_kernels_and_promote() -> None:
    message = refusal_message("ml")
    assert "managed by the jupyter-service config" in message
    assert "jupyter-venv-kernel create NAME" in message
    assert "jupyter-venv-kernel promote NAME --to ml" in message


def test_server_searches_the_current_generation_first() -> None:
    runtime = Runtime("/nb", None, None, stable_kernel_dir="/state/current/kernels")
    settings = render_server_settings(embedded_default(), runtime)
    assert settings["ServerApp"]["kernel_spec_manager_class"] == (
        "jupyter_service.server.kernelspecs.ServiceKernelSpecManager"
    )
    assert settings["ServiceKernelSpecManager"]["stable_kernel_dir"] == "/state/current/kernels"
    plain = render_server_settings(embedded_default(), Runtime("/nb", None, None))
    assert "kernel_spec_manager_class" not in plain["ServerApp"]


def test_kernelspec_manager_puts_the_stable_dir_first(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets.config import Config

    from jupyter_service.server.kernelspecs import ServiceKernelSpecManager

    stable = str(tmp_path / "current" / "kernels")
    config = Config({"ServiceKernelSpecManager": {"stable_kernel_dir": stable}})
    manager = ServiceKernelSpecManager(config=config)
    assert manager.kernel_dirs == [stable, *KernelSpecManager().kernel_dirs]


def test_preheated_kernels_get_a_pool_in_the_kernel_manager() -> None:
    """`preheat`/`preload` of an enabled stable kernel reach the pooling kernel manager;
    without any, the server keeps its usual one."""
    from jupyter_service.config import parse_config

    text = (
        'enable = true\npassword = "argon2:$argon2id$v=19$m=10240,t=10,p=8$'
        'JgmFmHnWq2nbyINEzBHQLQ$w3PNZ1rUn1S3Aq9G1IFlkhHEoWZCnwx3cRFA2VtjJms"\n'
        '[extraKernels.python-base]\nenable = true\npreheat = 2\npreload = ["numpy"]\n'
        '[extraKernels.off]\nlanguage = "python"\nenable = false\npreheat = 3\n'
    )
    config, problems = parse_config(text)
    assert problems == [] and config is not None
    runtime = Runtime("/nb", None, None, stable_kernel_dir="/state/current/kernels")
    settings = render_server_settings(config, runtime)
    assert settings["ServerApp"]["kernel_manager_class"] == (
        "jupyter_service.server.pool.PoolingKernelManager"
    )
    assert settings["PoolingKernelManager"] == {
        "preheat": {"python-base": 2},
        "preload": {"python-base": ["numpy"]},
    }
    cold, _ = parse_config(text.replace("preheat = 2", "preheat = 0").replace("preheat = 3", ""))
    assert cold is not None
    plain = render_server_settings(cold, runtime)
    assert "kernel_manager_class" not in plain["ServerApp"]
