"""The HTTP server in front of the Jupyter app: nothing heavy before authentication.

tornado reads a request's whole body before any handler (or auth check) runs, up to
jupyter_server's 512 MiB, and waits for headers forever. Here each request's headers are
looked at first: one that is not from a logged-in client (no valid login cookie or token,
no proxy identity) may send a small body only, quickly (`set_max_body_size` makes tornado
answer 400 and close instead of reading on). Half-sent headers and idle connections are
closed after a timeout. A NUL in a path, in the URL or in a small JSON body's path field,
is a 400 here: jupyter_server hands such paths to os.path and answers 500 with a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tornado import httputil
from tornado.httpserver import HTTPServer

# A login form is a few hundred bytes; anything an anonymous client may send fits.
UNAUTHENTICATED_BODY_LIMIT = 64 * 1024
UNAUTHENTICATED_BODY_TIMEOUT = 10.0
# Waiting for a request's headers, the first or the next on a kept-alive connection.
HEADER_TIMEOUT = 30.0
# A logged-in upload of jupyter_server's largest body over a slow link.
BODY_TIMEOUT = 3600.0

# JSON bodies that name a path (sessions, contents copy and rename, terminals) are small.
JSON_PATH_BODY_LIMIT = 64 * 1024
JSON_PATH_KEYS = frozenset({"path", "copy_from", "cwd"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

log = logging.getLogger("jupyter_service.http")


def find_nul_path(body: bytes) -> str | None:
    """The key of a path field holding a NUL in a JSON object body, at its top level or one
    level down (a session's `kernel` and `notebook`), or None. Pure."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    fields: list[tuple[str, object, str]] = [(key, value, key) for key, value in document.items()]
    for key, value in document.items():
        if isinstance(value, dict):
            fields += [(inner, v, f"{key}.{inner}") for inner, v in value.items()]
    for key, value, where in fields:
        if key in JSON_PATH_KEYS and isinstance(value, str) and "\x00" in value:
            return where
    return None


Trusted = Callable[[httputil.RequestStartLine, httputil.HTTPHeaders], bool]


class _BodyGuard(httputil.HTTPMessageDelegate):
    def __init__(
        self,
        delegate: httputil.HTTPMessageDelegate,
        connection: httputil.HTTPConnection,
        trusted: Trusted,
    ) -> None:
        self.delegate = delegate
        self.connection = connection
        self.trusted = trusted
        self.refused = False
        self.start_line: httputil.RequestStartLine | None = None
        # A copy of a small API body, to look for a NUL in its paths (None: not looked at).
        self.body: bytearray | None = None

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        if isinstance(start_line, httputil.RequestStartLine) and "%00" in start_line.path:
            # A NUL in a path reaches os.path in jupyter_server's file handlers as a 500
            # with a traceback; no path of ours holds one.
            log.warning("400 %s %s: NUL in the path", start_line.method, start_line.path)
            self.refused = True
            return None
        if isinstance(start_line, httputil.RequestStartLine):
            self.start_line = start_line
            if start_line.method in _BODY_METHODS and "/api/" in start_line.path:
                self.body = bytearray()
        if isinstance(start_line, httputil.RequestStartLine) and not self.trusted(
            start_line, headers
        ):
            set_max = getattr(self.connection, "set_max_body_size", None)
            set_timeout = getattr(self.connection, "set_body_timeout", None)
            if set_max is not None and set_timeout is not None:
                set_max(UNAUTHENTICATED_BODY_LIMIT)
                set_timeout(UNAUTHENTICATED_BODY_TIMEOUT)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.refused:
            return None
        if self.body is not None:
            self.body += chunk
            if len(self.body) > JSON_PATH_BODY_LIMIT:
                self.body = None
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        where = find_nul_path(bytes(self.body)) if self.body else None
        if where is not None and self.start_line is not None:
            log.warning(
                "400 %s %s: NUL in the body's %s",
                self.start_line.method,
                self.start_line.path,
                where,
            )
            self.refused = True
        if self.refused:
            self.connection.write_headers(
                httputil.ResponseStartLine("HTTP/1.1", 400, "Bad Request"),
                httputil.HTTPHeaders({"Content-Length": "0", "Connection": "close"}),
            )
            self.connection.finish()
            return
        self.delegate.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.delegate.on_connection_close()


class GuardedHTTPServer(HTTPServer):
    """tornado's HTTPServer whose requests pass `_BodyGuard` first."""

    def initialize(self, request_callback: Any, trusted: Trusted, **kwargs: Any) -> None:  # type: ignore[override]
        self.trusted = trusted
        kwargs.setdefault("idle_connection_timeout", HEADER_TIMEOUT)
        kwargs.setdefault("body_timeout", BODY_TIMEOUT)
        super().initialize(request_callback, **kwargs)

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        return _BodyGuard(delegate, request_conn, self.trusted)
