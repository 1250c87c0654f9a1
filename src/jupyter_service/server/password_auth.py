"""Password and token modes: jupyter_server's login, with the service's rules on top.

- The password is checked by `login.LoginGuard` (off the event loop, failures throttled
  per client address and account, logged); a throttled client gets a 429 at once.
- Each login cookie names a server-side session; logout ends it, so a cookie copied before
  the logout is refused after it (as is every cookie after a restart).
- A `next=` holding control characters is a 400, not tornado's 500 on the header.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import math
import re
import secrets
import time
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from tornado import web
from tornado.httputil import HTTPHeaders, parse_cookie
from traitlets import default

from jupyter_service.server.login import LoginGuard, TooManyAttempts

# Who logs in on the single-user server: its one password has one account.
ACCOUNT = "owner"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NON_ALPHANUM = re.compile(r"[^A-Za-z0-9]")


class ServiceLoginHandler(LoginFormHandler):
    """The login form; its POST goes through the guard."""

    def _redirect_safe(self, url: str, default: str | None = None) -> None:
        if _CONTROL.search(url):
            raise web.HTTPError(400, "next= holds a control character")
        super()._redirect_safe(url, default)  # type: ignore[no-untyped-call]

    @allow_unauthenticated
    async def post(self) -> None:
        provider = self.identity_provider
        assert isinstance(provider, ServiceIdentityProvider)
        typed = self.get_argument("password", default="")
        # The web may not set a password (allow_password_change is pinned off).
        wants_change = bool(self.get_argument("new_password", default=""))
        try:
            ok = await provider.check_password(self.request.remote_ip or "", typed)
        except TooManyAttempts as refused:
            self.set_status(429)
            self.set_header("Retry-After", str(math.ceil(refused.retry_after)))
            self._render(message={"error": str(refused)})  # type: ignore[no-untyped-call]
            return
        if not ok or wants_change:
            self.set_status(401)
            self._render(message={"error": "Invalid credentials"})  # type: ignore[no-untyped-call]
            return
        user = provider.generate_anonymous_user(self)
        self.current_user = user
        self.log.info("User %s logged in.", user.username)
        provider.set_login_cookie(self, user)
        self._redirect_safe(self.get_argument("next", default=self.base_url))


class ServiceIdentityProvider(PasswordIdentityProvider):
    """jupyter_server's password/token provider with server-side sessions and the guard."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = LoginGuard()
        # session id -> when it expires (time.time()); in memory: a restart logs out.
        self.sessions: dict[str, float] = {}

    @default("login_handler_class")
    def _login_handler_class_default(self) -> type[web.RequestHandler]:
        return ServiceLoginHandler

    async def check_password(self, address: str, typed: str) -> bool:
        if self.hashed_password:
            return await self.guard.verify(address, ACCOUNT, self.hashed_password, typed)
        # Token mode: the login form takes the token; compared in constant time.
        self.guard.check_allowed(address, ACCOUNT)
        ok = bool(self.token) and hmac.compare_digest(typed.encode(), self.token.encode())
        self.guard.record(address, ACCOUNT, ok)
        return ok

    def _max_age(self) -> float:
        days = self.get_secure_cookie_kwargs.get("max_age_days", 31)
        return float(days) * 86400

    def user_to_cookie(self, user: User) -> str:
        now = time.time()
        for expired in [sid for sid, until in self.sessions.items() if until < now]:
            del self.sessions[expired]
        session = secrets.token_urlsafe(24)
        self.sessions[session] = now + self._max_age()
        return json.dumps({"username": user.username, "session": session})

    def user_from_cookie(self, cookie_value: str) -> User | None:
        data = json.loads(cookie_value)
        session = data.get("session") if isinstance(data, dict) else None
        if not isinstance(session, str) or self.sessions.get(session, 0) < time.time():
            return None
        return User(username=str(data["username"]))

    def clear_login_cookie(self, handler: web.RequestHandler) -> None:
        value = handler.get_secure_cookie(
            self.get_cookie_name(handler), **self.get_secure_cookie_kwargs
        )
        if value:
            with contextlib.suppress(ValueError, AttributeError):
                self.sessions.pop(json.loads(value).get("session", ""), None)
        super().clear_login_cookie(handler)

    def may_send_body(self, headers: HTTPHeaders, query: str, cookie_secret: bytes) -> bool:
        """Whether a request, known by its headers only, comes from a logged-in client."""
        if self.token and not self.hashed_password:
            token = self.token.encode()
            sent = headers.get("Authorization", "")
            if sent.lower().startswith(("token ", "bearer ")) and hmac.compare_digest(
                sent.split(None, 1)[1].strip().encode(), token
            ):
                return True
            if "token=" in query:
                return True  # checked by the handler; token mode is the embedded default
        name = _NON_ALPHANUM.sub("-", f"username-{headers.get('Host', '')}")
        for header in headers.get_list("Cookie"):
            value = parse_cookie(header).get(name)
            if not value:
                continue
            decoded = web.decode_signed_value(
                cookie_secret, name, value, **self.get_secure_cookie_kwargs
            )
            if decoded is None:
                continue
            try:
                if self.user_from_cookie(decoded.decode()) is not None:
                    return True
            except (ValueError, KeyError, UnicodeDecodeError):
                continue
        return False
