"""Render a venv kernel's kernelspec. Pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LAUNCHER_MODULE = "jupyter_service_kernel_launcher"

# Written into each venv: marks "last used", then runs ipykernel as usual.
LAUNCHER_SOURCE = '''"""jupyter-service: mark this venv kernel as used, then start ipykernel."""
import os
import runpy
import sys

_marker = os.path.join(sys.prefix, ".jupyter-service-last-used")
try:
    with open(_marker, "a"):
        pass
    os.utime(_marker)
except OSError:
    pass
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
'''


def display_name(name: str) -> str:
    return f"Python ({name})"


def render_kernelspec(name: str, venv: Path) -> dict[str, Any]:
    """The kernel.json of venv kernel `name`: its python, VIRTUAL_ENV, its bin first on PATH
    (so `!pip` and `%pip` install into it), and metadata naming the tier."""
    python = str(venv / "bin" / "python")
    return {
        "argv": [python, "-m", LAUNCHER_MODULE, "-f", "{connection_file}"],
        "display_name": display_name(name),
        "language": "python",
        "interrupt_mode": "signal",
        "env": {
            "VIRTUAL_ENV": str(venv),
            # jupyter_client substitutes ${PATH} from the server's environment.
            "PATH": f"{venv / 'bin'}:${{PATH}}",
            # The venv alone decides what imports: no path leaking in from the server.
            "PYTHONPATH": "",
        },
        "metadata": {
            "debugger": True,
            "jupyter_service": {"tier": "experimental", "venv": str(venv)},
        },
    }


def render_shell_rc(name: str, venv: Path) -> str:
    """bash rc for `jupyter-venv-kernel shell NAME`: the user's bashrc, then the venv active."""
    return (
        "# written by jupyter-venv-kernel\n"
        '[ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
        f"export VIRTUAL_ENV='{venv}'\n"
        'export PATH="$VIRTUAL_ENV/bin:$PATH"\n'
        "unset PYTHONHOME\n"
        f"PS1='(venv-kernel:{name}) '\"$PS1\"\n"
        "hash -r 2>/dev/null\n"
    )
