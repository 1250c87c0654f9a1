"""Render a venv kernel's kernelspec. Pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARKER_MODULE = "_jupyter_service_venv"

# Imported by the venv's .pth at each interpreter start (a kernel, pip, a script): records
# when the venv was last used. A wrapper module around ipykernel_launcher cost 70 ms of
# kernel start; this costs a file touch.
MARKER_SOURCE = """\
import os as _os
import sys as _sys

_marker = _os.path.join(_sys.prefix, ".jupyter-service-last-used")
try:
    _os.utime(_marker)
except FileNotFoundError:
    try:
        open(_marker, "a").close()
    except OSError:
        pass
except OSError:
    pass
"""


def display_name(name: str) -> str:
    return f"Python ({name})"


def render_kernelspec(name: str, venv: Path) -> dict[str, Any]:
    """The kernel.json of venv kernel `name`: its python, VIRTUAL_ENV, its bin first on PATH
    (so `!pip` and `%pip` install into it), and metadata naming the tier."""
    python = str(venv / "bin" / "python")
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
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
