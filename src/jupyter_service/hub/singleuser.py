"""What runs as each user: their notebookDir made when missing, then JupyterLab with the
hub's extension and the service's pinned settings (handed over by the spawner in the
environment: the users cannot read the config, which holds everyone's hashes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_service.server.app import ServiceServerApp

SETTINGS_ENV = "JUPYTER_SERVICE_SINGLEUSER_SETTINGS"


def make_app_class() -> type[ServiceServerApp]:
    """The user's ServerApp: the service's, whose hub identity can be bound to Authelia's
    `Remote-User` (imported late: JupyterLab and the hub's extension are heavy)."""
    from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
    from traitlets import Bool

    from jupyter_service.server.app import ServiceServerApp

    class RemoteUserBoundIdentityProvider(JupyterHubIdentityProvider):  # type: ignore[misc]
        """The hub's OAuth identity, refused for a request nginx forwards for another
        Authelia user (nginx sets `Remote-User` after asking Authelia; a client's own is
        dropped). Deny-only: a forged header can only lock its sender out."""

        async def get_user(self, handler: Any) -> Any:
            user = await super().get_user(handler)
            named = handler.request.headers.get_list("Remote-User")
            if user is not None and named and named != [user.username]:
                handler._jupyterhub_user = None
                # The cookie was issued to someone else: a new OAuth round with the hub.
                self.hub_auth.clear_cookie(handler)
                return None
            return user

    class HubUserServerApp(ServiceServerApp):
        bind_remote_user = Bool(
            False, config=True, help="Authelia mode: refuse another Authelia user's requests."
        )

        def init_configurables(self) -> None:
            # After the hub's extension chose its identity provider (linking extensions).
            if self.bind_remote_user:
                self.identity_provider_class = RemoteUserBoundIdentityProvider
            super().init_configurables()

    return HubUserServerApp


def main() -> None:
    from traitlets.config import Config

    settings = json.loads(os.environ.pop(SETTINGS_ENV))
    root = Path(os.path.expanduser(os.environ.get("JUPYTERHUB_ROOT_DIR", "~")))
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        sys.exit(f"error: cannot create notebookDir {root}: {exc.strerror}")
    # Kernels started without a path, and terminals, open where the notebooks are.
    os.chdir(root)
    settings["ServerApp"]["root_dir"] = str(root)
    make_app_class().launch_instance(argv=[], config=Config(settings))


if __name__ == "__main__":
    main()
