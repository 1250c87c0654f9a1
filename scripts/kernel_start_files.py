"""Write src/jupyter_service/venvs/kernel_start_files.txt: the files a venv kernel's start
reads from the base venv, in the order it reads them (what the background compile seeds
first). Run it again when ipykernel changes what it imports:

    .venv/bin/python scripts/kernel_start_files.py

It makes a venv kernel in a throw-away Jupyter data dir (a base from uv's cache), starts it
with jupyter_client, and asks it which of its modules came from the base.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

LISTING = Path(__file__).parents[1] / "src" / "jupyter_service" / "venvs" / "kernel_start_files.txt"
PROBE = """\
import json, os, sys
from importlib.metadata import version
site = os.path.realpath(sys.argv[1]) + os.sep
files = []
for module in list(sys.modules.values()):
    path = os.path.realpath(getattr(module, "__file__", None) or "/")
    if path.startswith(site) and path.endswith(".py"):
        files.append(path[len(site):])
versions = {name: version(name) for name in ("ipykernel", "ipython", "jupyter_client", "debugpy")}
print(json.dumps({"files": files, "versions": versions}))
"""


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="kernel-start-files-"))
    env = {**os.environ, "HOME": str(root), "JUPYTER_DATA_DIR": str(root / "data")}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "jupyter-venv-kernel"), "create", "probe"], env=env, check=True)
    os.environ.update(env)
    from jupyter_client.manager import start_new_kernel

    from jupyter_service.venvs.build import site_packages

    [base] = [p for p in (root / "data" / "venvs" / ".base").iterdir() if p.name[0] != "."]
    # Python's verbose mode names each module's code as it is read, in the order of reading.
    log = root / "kernel-stderr.txt"
    with log.open("wb") as stderr:
        km, kc = start_new_kernel(
            kernel_name="probe",
            startup_timeout=120,
            env={**env, "PYTHONVERBOSE": "1"},
            stderr=stderr,
        )
    try:
        outputs: list[str] = []
        code = f"import sys\nsys.argv = ['probe', {str(site_packages(base))!r}]\n{PROBE}"
        kc.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda msg: (
                outputs.append(msg["content"].get("text", ""))
                if msg["content"].get("name") == "stdout"
                else None
            ),
        )
    finally:
        km.shutdown_kernel(now=True)
    found = json.loads("".join(outputs))
    site = os.path.realpath(site_packages(base)) + os.sep
    ordered: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("# code object from "):
            path = os.path.realpath(line.split("from ", 1)[1].strip("'"))
            rel = path[len(site) :] if path.startswith(site) else ""
            if "/__pycache__/" in rel:  # x/__pycache__/y.cpython-311.pyc -> x/y.py
                head, _, name = rel.partition("/__pycache__/")
                rel = f"{head}/{name.split('.')[0]}.py" if head else ""
            if rel.endswith(".py") and rel not in ordered:
                ordered.append(rel)
    # What verbose mode missed (none, so far), after.
    files = ordered + [rel for rel in found["files"] if rel not in ordered]
    # The probe's own imports (json, importlib.metadata) are the standard library's, never
    # the base's: what is listed is the kernel start alone.
    header = ", ".join(f"{name} {v}" for name, v in found["versions"].items())
    LISTING.write_text(
        "# What a venv kernel's start reads from the base venv, in that order; written by\n"
        f"# scripts/kernel_start_files.py from a kernel of {header}.\n"
        + "".join(f"{rel}\n" for rel in files)
    )
    print(f"{LISTING}: {len(files)} files ({header}), {len(ordered)} in the order read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
