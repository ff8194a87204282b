"""`WSGIApp`: roomcast's long-polling transport inside a WSGI server, next to a WSGI app
(Flask, Django) on the same port.

WSGI has no WebSocket, so clients stay on HTTP long-polling here; each waiting poll holds
one WSGI worker thread (it waits without the GIL). For WebSocket, run the native listener
on a second port with :meth:`Server.start_background` instead.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import quote

if TYPE_CHECKING:
    from .server import Server

__all__ = ["WSGIApp"]

Environ = dict[str, Any]
WSGI = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]

# Headers a WSGI application must not send (PEP 3333).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


class WSGIApp:
    """A WSGI application serving ``io`` at its path (long-polling) and everything else with
    ``wsgi_app``::

        app = Flask(__name__)
        io = roomcast.Server(transports=["polling"])
        app.wsgi_app = roomcast.WSGIApp(io, app.wsgi_app)

    Handlers run on an event loop in a background thread, started on the first Socket.IO
    request unless the server already runs (:meth:`Server.start_background`).
    """

    def __init__(self, io: Server, wsgi_app: WSGI | None = None) -> None:
        self.io = io
        self.wsgi_app = wsgi_app

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        native = self.io._native
        if native.handles_path(path):
            if not self.io._dispatcher.attached:
                try:
                    self.io.start_background()
                except RuntimeError:
                    pass  # another request thread started it first
            response = native.handle_http_blocking(
                environ.get("REQUEST_METHOD", "GET"),
                _target(path, environ),
                _headers(environ),
                _body(environ, self.io._max_http_buffer_size),
                _client(environ),
                environ.get("wsgi.url_scheme") == "https",
            )
            if response is not None:
                status, headers, body = response
                start_response(_status_line(status), _response_headers(headers))
                return [body]
        if self.wsgi_app is not None:
            return self.wsgi_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found"]


def _target(path: str, environ: Environ) -> str:
    # PATH_INFO arrives decoded (as latin-1 text); the core parses a request target.
    raw = quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    return f"{raw}?{query}" if query else raw


def _headers(environ: Environ) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
    if environ.get("CONTENT_TYPE"):
        headers.append(("content-type", environ["CONTENT_TYPE"]))
    if environ.get("CONTENT_LENGTH"):
        headers.append(("content-length", environ["CONTENT_LENGTH"]))
    return headers


def _body(environ: Environ, limit: int) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    # Past the limit the core answers 413 from the declared length; read no more than that.
    data: bytes = environ["wsgi.input"].read(min(length, limit + 1))
    return data


def _client(environ: Environ) -> tuple[str, int] | None:
    addr = environ.get("REMOTE_ADDR")
    if not addr:
        return None
    try:
        port = int(environ.get("REMOTE_PORT") or 0)
    except ValueError:
        port = 0
    return (addr, port)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    out = []
    for name, value in headers:
        k = name.decode("latin-1")
        if k.lower() not in _HOP_BY_HOP:
            out.append((k, value.decode("latin-1")))
    return out
