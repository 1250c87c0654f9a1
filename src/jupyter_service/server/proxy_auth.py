"""Authelia mode: trust `Remote-User` only from our nginx, never on a forwarded address.

nginx does the forward-auth with Authelia, drops whatever `Remote-User` the client sent,
sets the one Authelia returned, and adds a per-deployment secret header. Jupyter accepts a
request only when that secret matches (constant-time) and there is exactly one, strictly
formed `Remote-User` that is an allowed user. Everything else, a direct request to the
listener with forged headers above all, gets a 403. No Jupyter login cookie is minted, so
an Authelia logout takes effect at the next request; requests are never marked
token-authenticated, so XSRF and Origin checks stay on.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import List, Unicode

from jupyter_service.proxy.secret import SECRET_HEADER

USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,63}")


def remote_user(headers: Any, secret: str, allowed: list[str]) -> str | None:
    """The user a request comes from, or None. Pure: `headers` is tornado's HTTPHeaders."""
    sent = headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(sent.encode(), secret.encode()):
        return None
    values = headers.get_list("Remote-User")
    if len(values) != 1:
        return None
    user = values[0]
    if not USERNAME.fullmatch(user) or user not in allowed:
        return None
    return str(user)


class ProxyIdentityProvider(IdentityProvider):
    """Identity from nginx + Authelia; a 403 for anything else."""

    proxy_secret = Unicode("", config=True, help="The secret header value nginx adds.")
    allowed_users = List(Unicode(), config=True, help="Authelia users who may use Jupyter.")

    @property
    def login_available(self) -> bool:
        return False

    @property
    def logout_available(self) -> bool:
        return False

    def get_handlers(self) -> list[tuple[str, object]]:
        return []

    def get_user(self, handler: web.RequestHandler) -> User:
        user = remote_user(handler.request.headers, self.proxy_secret, list(self.allowed_users))
        if user is None:
            # Direct to the listener, forged or unknown: refuse outright (no login page to
            # send anyone to, and websockets must never upgrade). Known as nobody first:
            # the 403 page asks who is logged in, which would otherwise be an uncaught
            # error with its traceback.
            handler.current_user = None
            raise web.HTTPError(403)
        name = display_name(handler.request.headers, user)
        return User(username=user, name=name, display_name=name)


# A display name as people write theirs; markup, quotes and control characters are not.
DISPLAY_NAME = re.compile(r"[^\x00-\x1f\x7f<>&\"'`]{1,100}")


def display_name(headers: Any, user: str) -> str:
    """Authelia's `Remote-Name` when it reads as a name, else the user name. Pure."""
    values = headers.get_list("Remote-Name")
    if len(values) == 1 and DISPLAY_NAME.fullmatch(values[0].strip()):
        return str(values[0].strip())
    return user
