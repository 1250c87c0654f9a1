"""The hub's authenticator: the service's own rules, per user.

Password mode checks the argon2 hash from `[hub.users]` with the same function the
single-user server's login uses (jupyter_server's `passwd_check`), in a thread so the
hub's event loop keeps serving. Authelia mode trusts `Remote-User` only with the proxy
secret, through `remote_user` in `server.proxy_auth`, as the single-user server does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.security import passwd_check
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from traitlets import Dict, Unicode

from jupyter_service.server.proxy_auth import remote_user


def verify_password(hashed: str, password: str) -> bool:
    """True when `password` matches `hashed` (an `argon2:` hash from hash-password)."""
    return bool(passwd_check(hashed, password))  # type: ignore[no-untyped-call]


class RemoteUserLoginHandler(BaseHandler):  # type: ignore[misc]
    """Authelia mode's /hub/login: the user nginx vouches for, or a 403."""

    async def get(self) -> None:
        authenticator = self.authenticator
        assert isinstance(authenticator, ServiceAuthenticator)
        name = remote_user(
            self.request.headers,
            authenticator.proxy_secret,
            sorted(authenticator.allowed_users),
        )
        if name is None:
            raise web.HTTPError(403)
        user = await self.auth_to_user({"name": name})
        self.set_login_cookie(user)
        self.redirect(self.get_next_url(user))


class ServiceAuthenticator(Authenticator):  # type: ignore[misc]
    """Users and their hashes from the config; or Authelia's `Remote-User` with the secret."""

    passwords = Dict(
        Unicode(), config=True, help="Password mode: user name -> argon2 hash (hub.users)."
    )
    proxy_secret = Unicode(
        "", config=True, help="Authelia mode: the secret header value nginx adds."
    )

    @property
    def authelia(self) -> bool:
        return bool(self.proxy_secret)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        if self.authelia:
            return [("/login", RemoteUserLoginHandler)]
        handlers: list[tuple[str, type]] = super().get_handlers(app)
        return handlers

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        if self.authelia:
            return None  # only RemoteUserLoginHandler logs anyone in
        name = data.get("username", "")
        hashed = self.passwords.get(name)
        if hashed is None:
            return None
        password = data.get("password", "")
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(None, verify_password, hashed, password):
            return str(name)
        return None
