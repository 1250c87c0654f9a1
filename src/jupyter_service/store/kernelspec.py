"""What a stable kernel is made of beyond its packages: its kernelspec, and the guards that
keep it stable. Pure: text and dicts, no disk."""

from __future__ import annotations

from typing import Any

EXTENSION_MODULE = "jupyter_service_stable"


def display_name(name: str, configured: str | None) -> str:
    return configured or f"Python ({name})"


def refusal_message(name: str) -> str:
    """What `pip install`, `!pip` and `%pip` say inside a stable kernel."""
    return (
        f"error: the stable kernel {name!r} is managed by the jupyter-service config; "
        "nothing can be installed into it.\n"
        "hint: make an experimental kernel in a terminal with "
        "`jupyter-venv-kernel create NAME`, install there, then "
        f"`jupyter-venv-kernel promote NAME --to {name}` to add what you installed to the "
        "config (an admin then runs `jupyter-service lock` and `switch`)."
    )


def render_pip_script(name: str) -> str:
    """bin/pip, bin/pip3, bin/pip3.X of a stable kernel: `!pip install` lands here."""
    return f"#!/bin/sh\ncat >&2 <<'EOF'\n{refusal_message(name)}\nEOF\nexit 1\n"


def render_pip_module(name: str) -> str:
    """`python -m pip` (what `%pip` runs, and what tools run) in a stable kernel."""
    return (
        '"""Not pip: this stable kernel is managed by the jupyter-service config."""\n'
        "import sys\n\n"
        f"MESSAGE = {refusal_message(name)!r}\n\n"
        'if __name__ == "__main__":\n'
        "    sys.stderr.write(MESSAGE + '\\n')\n"
        "    sys.exit(1)\n"
    )


def render_extension(name: str) -> str:
    """An IPython extension loaded by the kernelspec: `%pip` fails with the message instead
    of running `python -m pip` (which would fail too, less clearly)."""
    return (
        '"""Loaded into stable kernels by jupyter-service: %pip refuses to install."""\n'
        "from IPython.core.error import UsageError\n\n"
        f"MESSAGE = {refusal_message(name)!r}\n\n\n"
        "def _refuse(line=''):\n"
        "    raise UsageError(MESSAGE)\n\n\n"
        "def load_ipython_extension(ipython):\n"
        "    for magic in ('pip', 'conda', 'mamba', 'micromamba', 'uv'):\n"
        "        ipython.register_magic_function(_refuse, 'line', magic)\n"
    )


def render_kernelspec(
    name: str,
    store_path: str,
    *,
    display: str,
    env: dict[str, str],
    generation: int,
    lock_sha256: str,
) -> dict[str, Any]:
    """kernel.json of a stable kernel in generation `generation`."""
    return {
        "argv": [
            f"{store_path}/bin/python",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            f"--ext={EXTENSION_MODULE}",
        ],
        "display_name": display,
        "language": "python",
        "interrupt_mode": "signal",
        "env": {
            # The kernel's bin first, so `!python` is this kernel and `!pip` its refusal.
            # jupyter_client substitutes ${PATH} from the server's environment.
            "PATH": f"{store_path}/bin:${{PATH}}",
            # Nothing from the server's environment or ~/.local may shadow the locked
            # packages; Python takes an empty PYTHONPATH or PYTHONHOME as unset.
            "PYTHONPATH": "",
            "PYTHONHOME": "",
            "PYTHONNOUSERSITE": "1",
            **env,
        },
        "metadata": {
            "debugger": True,
            "jupyter_service": {
                "tier": "stable",
                "generation": generation,
                "lock": lock_sha256,
            },
        },
    }
