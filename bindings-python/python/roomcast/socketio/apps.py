"""python-socketio's ``ASGIApp`` and ``WSGIApp`` on roomcast's: the same arguments
(``other_asgi_app`` / ``wsgi_app``, ``static_files``, ``socketio_path``)."""

from __future__ import annotations

import inspect
import mimetypes
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .. import asgi as roomcast_asgi
from .. import wsgi as roomcast_wsgi

if TYPE_CHECKING:
    from .async_server import AsyncServer
    from .server import Server

__all__ = ["ASGIApp", "WSGIApp", "static_file_for"]

StaticFiles = Mapping[str, Any]


def static_file_for(path: str, static_files: StaticFiles) -> tuple[str, str] | None:
    """(filename, content type) that ``static_files`` maps URL ``path`` to, or None.

    Keys are URL paths. A value is a file name, or ``{"filename": ..., "content_type":
    ...}``; a key that is a prefix of the path maps the rest of the path below its value (a
    directory). A path that ends at a directory gets the ``""`` entry's file, else
    ``index.html``.
    """
    entry = static_files.get(path)
    rest = ""
    if entry is None:
        head = path
        while head:
            head, _, last = head.rpartition("/")
            rest = "/" + last + rest
            entry = static_files.get(head) or static_files.get(head + "/")
            if entry is not None:
                break
    if entry is None or "../" in rest:
        return None
    spec = {"filename": entry} if isinstance(entry, str) else dict(entry)
    filename = str(spec["filename"])
    if filename.endswith("/"):
        rest = rest.lstrip("/")
    filename += rest
    if filename.endswith("/"):
        default = static_files.get("")
        if default is None:
            filename += "index.html"
        elif isinstance(default, str):
            filename += default
        else:
            filename += default["filename"]
            spec.setdefault("content_type", default.get("content_type"))
    content_type = spec.get("content_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return filename, str(content_type)


def _prefix(socketio_path: str | None) -> str:
    return "/" + (socketio_path or "socket.io").strip("/") + "/"


def _rewrite(path: str, prefix: str, core_path: str) -> str | None:
    """The request path as the core serves it, or None when it is not under ``prefix``."""
    if path == prefix.rstrip("/") or path.startswith(prefix):
        return core_path + path[len(prefix):]
    return None


class ASGIApp:
    """``socketio.ASGIApp(sio, other_asgi_app=None, static_files=None,
    socketio_path="socket.io", on_startup=None, on_shutdown=None)``: Socket.IO (polling and
    WebSocket) at ``socketio_path``, the ``static_files``, and everything else for
    ``other_asgi_app``."""

    def __init__(
        self,
        socketio_server: AsyncServer,
        other_asgi_app: Any = None,
        static_files: StaticFiles | None = None,
        socketio_path: str = "socket.io",
        on_startup: Callable[[], Any] | None = None,
        on_shutdown: Callable[[], Any] | None = None,
    ) -> None:
        self.sio = socketio_server
        self.other_asgi_app = other_asgi_app
        self.static_files = dict(static_files or {})
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self._prefix = _prefix(socketio_path)
        self._core_path = socketio_server._path
        self._app = roomcast_asgi.ASGIApp(socketio_server.io, self._after_socketio)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._app(scope, self._lifespan_hooks(receive), send)
            return
        if kind in ("http", "websocket") and self._prefix != self._core_path:
            path = _rewrite(scope["path"], self._prefix, self._core_path)
            if path is None:  # not Socket.IO here, even under the core's own path
                await self._after_socketio(scope, receive, send)
                return
            scope = dict(scope, path=path, raw_path=path.encode("latin-1"))
        await self._app(scope, receive, send)

    def _lifespan_hooks(self, receive: Any) -> Any:
        async def observed() -> Any:
            message = await receive()
            hook = {"lifespan.startup": self.on_startup, "lifespan.shutdown": self.on_shutdown}.get(message["type"])
            if hook is not None:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            return message

        return observed

    async def _after_socketio(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.static_files:
            found = static_file_for(scope["path"], self.static_files)
            if found is not None and os.path.isfile(found[0]):
                with open(found[0], "rb") as f:
                    body = f.read()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", found[1].encode("latin-1"))]})
                await send({"type": "http.response.body", "body": body})
                return
        if self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": message["type"] + ".complete"})
                if kind == "shutdown":
                    return
        else:
            await roomcast_asgi._not_found(scope, send)


class WSGIApp:
    """``socketio.WSGIApp(sio, wsgi_app=None, static_files=None, socketio_path="socket.io")``:
    Socket.IO (long-polling: WSGI has no WebSocket) at ``socketio_path``, the
    ``static_files``, and everything else for ``wsgi_app``."""

    def __init__(
        self,
        socketio_app: Server,
        wsgi_app: Any = None,
        static_files: StaticFiles | None = None,
        socketio_path: str = "socket.io",
    ) -> None:
        self.sio = socketio_app
        self.wsgi_app = wsgi_app
        self.static_files = dict(static_files or {})
        self._prefix = _prefix(socketio_path)
        self._core_path = socketio_app._path
        self._app = roomcast_wsgi.WSGIApp(socketio_app.io, self._after_socketio)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._prefix != self._core_path:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            core = _rewrite(path, self._prefix, self._core_path)
            if core is None:  # not Socket.IO here, even under the core's own path
                return self._after_socketio(environ, start_response)
            environ = dict(environ, SCRIPT_NAME="", PATH_INFO=core)
        return self._app(environ, start_response)

    def _after_socketio(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.static_files and environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            found = static_file_for(environ.get("PATH_INFO", ""), self.static_files)
            if found is not None and os.path.isfile(found[0]):
                with open(found[0], "rb") as f:
                    body = f.read()
                start_response("200 OK", [("Content-Type", found[1])])
                return [body]
        if self.wsgi_app is not None:
            result: Iterable[bytes] = self.wsgi_app(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
