"""What runs as each user: their notebookDir made when missing, then JupyterLab with the
hub's extension and the service's pinned settings (handed over by the spawner in the
environment: the users cannot read the config, which holds everyone's hashes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SETTINGS_ENV = "JUPYTER_SERVICE_SINGLEUSER_SETTINGS"


def main() -> None:
    from traitlets.config import Config

    from jupyter_service.server.app import ServiceServerApp

    settings = json.loads(os.environ.pop(SETTINGS_ENV))
    root = Path(os.path.expanduser(os.environ.get("JUPYTERHUB_ROOT_DIR", "~")))
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        sys.exit(f"error: cannot create notebookDir {root}: {exc.strerror}")
    # Kernels started without a path, and terminals, open where the notebooks are.
    os.chdir(root)
    settings["ServerApp"]["root_dir"] = str(root)
    ServiceServerApp.launch_instance(argv=[], config=Config(settings))


if __name__ == "__main__":
    main()
