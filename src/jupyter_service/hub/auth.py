"""The hub's authenticator: the service's own rules, per user.

Password mode checks the argon2 hash from `[hub.users]` through the single-user server's
own `LoginGuard` (server/login.py): off the event loop, one check at a time, failed logins
throttled per client address and per user with growing waits, and logged. Authelia mode
trusts `Remote-User` only with the proxy secret, through `remote_user` in
`server.proxy_auth`, as the single-user server does.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from traitlets import Dict, Unicode

from jupyter_service.server.login import LoginGuard, TooManyAttempts
from jupyter_service.server.proxy_auth import remote_user


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = LoginGuard()

    @property
    def authelia(self) -> bool:
        return bool(self.proxy_secret)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        if self.authelia:
            return [("/login", RemoteUserLoginHandler)]
        handlers: list[tuple[str, type]] = super().get_handlers(app)
        return handlers

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """Authelia mode: a hub session belongs to the Authelia user it began with. nginx
        sets `Remote-User` on every request it forwards (after asking Authelia), so a
        request naming someone else (another person signed in to Authelia in the same
        browser) is not this session's: JupyterHub then asks for a login, which the
        `Remote-User` login gives to whoever Authelia now says. Deny-only, so it needs no
        secret: requests without `Remote-User` (the users' servers and the culler calling
        the hub's API with their tokens) are not nginx's and keep their token's user."""
        if not self.authelia or handler is None:
            return True
        named = handler.request.headers.get_list("Remote-User")
        return not named or named == [user.name]

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        if self.authelia:
            return None  # only RemoteUserLoginHandler logs anyone in
        name = data.get("username", "")
        password = data.get("password", "")
        # An unknown name is checked against a dummy hash: it takes as long, and counts.
        try:
            ok = await self._guard.verify(
                handler.request.remote_ip or "", name, self.passwords.get(name), password
            )
        except TooManyAttempts as refused:
            raise web.HTTPError(429, str(refused)) from None
        return str(name) if ok else None
