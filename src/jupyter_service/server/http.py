"""The HTTP server in front of the Jupyter app: nothing heavy before authentication.

tornado reads a request's whole body before any handler (or auth check) runs, up to
jupyter_server's 512 MiB, and waits for headers forever. Here each request's headers are
looked at first: one that is not from a logged-in client (no valid login cookie or token,
no proxy identity) may send a small body only, quickly (`set_max_body_size` makes tornado
answer 400 and close instead of reading on). Half-sent headers and idle connections are
closed after a timeout.
"""

from __future__ import annotations

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

log = logging.getLogger("jupyter_service.http")

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
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
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
