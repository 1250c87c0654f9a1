"""Every test runs with a temporary HOME and Jupyter dirs (pytest-jupyter's jp_environ)
and our own JUPYTER_SERVICE_* dirs under tmp_path; nothing touches the machine's own."""

from __future__ import annotations

import signal
from pathlib import Path

import jupyter_core.paths  # noqa: F401  (pytest-jupyter patches it, and needs it imported)
import pytest

# A suite started in the background of a non-interactive shell (`bash .ci/run &`) inherits
# SIGINT ignored, and so would every process it starts: the tests that send Ctrl-C (and
# JupyterHub stopping a server, which interrupts first) would find it ignored. A handler
# here gives the suite the usual disposition, and its children the default one.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = [
    "pytest_jupyter.jupyter_core",
    "tests.stable_fixtures",
    "tests.fault_fixtures",
    "tests.venv_fixtures",
    "tests.hub_helpers",
]


@pytest.fixture(autouse=True)
def service_environ(jp_environ: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "service-state"
    monkeypatch.setenv("JUPYTER_SERVICE_STATE_DIR", str(state))
    monkeypatch.delenv("JUPYTER_SERVICE_CONFIG", raising=False)
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    return state
