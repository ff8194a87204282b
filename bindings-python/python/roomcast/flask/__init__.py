"""Flask-SocketIO's API on roomcast: ``from roomcast.flask import SocketIO, emit, ...`` is
the only change a Flask-SocketIO app needs.

:class:`SocketIO` sits on :class:`roomcast.socketio.Server` (python-socketio's surface),
whose rooms, broadcasts and acknowledgements are roomcast's. Handlers run inside a Flask
request context built from the connection's handshake, so ``flask.request`` (its args and
headers), ``request.sid``, ``request.namespace`` and ``flask.session`` work as with
Flask-SocketIO. :meth:`SocketIO.run` serves the Flask app and Socket.IO with WebSocket on one
port, on roomcast's own listener (no eventlet, gevent or Werkzeug server).
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable

import flask
from flask.sessions import SessionMixin

from ..socketio import RedisManager
from ..socketio import Server as _SioServer
from ..socketio.exceptions import ConnectionRefusedError
from ._handlers import accepts_argument
from .namespace import Namespace
from .test_client import SocketIOTestClient

__all__ = [
    "SocketIO",
    "Namespace",
    "SocketIOTestClient",
    "ConnectionRefusedError",
    "emit",
    "send",
    "call",
    "join_room",
    "leave_room",
    "close_room",
    "rooms",
    "disconnect",
]

logger = logging.getLogger("roomcast.flask")

Handler = Callable[..., Any]

#: Flask-SocketIO options roomcast accepts and ignores, with the reason.
IGNORED = {
    "monitor_clients": "the core always watches heartbeats",
    "engineio_logger": "roomcast.enable_core_logging() prints the core's transport diagnostics",
}

#: Options of SocketIO.run that have no meaning here, with the reason.
_RUN_NO_OPS = {
    "log_output": "roomcast does not log each request",
    "allow_unsafe_werkzeug": "the Werkzeug development server is not used",
}

#: SocketIO.run options for roomcast's listener (see roomcast.Server.mount_wsgi).
_RUN_OPTIONS = {"threads", "backlog", "shutdown_grace"}


class _ManagedSession(dict, SessionMixin):  # type: ignore[type-arg]
    """The user session of one client's Socket.IO events: a copy of the Flask session at
    connection time, kept in this process (``manage_session=True``)."""


class _Reason:
    """Disconnect reasons as handlers receive them (``SocketIO.reason``)."""

    CLIENT_DISCONNECT = "client disconnect"
    SERVER_DISCONNECT = "server disconnect"
    PING_TIMEOUT = "ping timeout"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"


class SocketIO:
    """Flask-SocketIO's ``SocketIO(app=None, **options)``.

    Options: ``manage_session`` (True), ``message_queue`` (``"redis://..."``: several
    processes share rooms and broadcasts; without an app the instance only emits),
    ``channel``, ``path`` / ``resource`` (``"socket.io"``), and python-socketio's server
    options (see :class:`roomcast.socketio.Server`): with ``async_handlers=True`` (the
    default) each event's handler runs on a thread of its own, from a pool of
    ``handler_threads`` (64). An option roomcast does not know is a
    ``TypeError``; one it cannot honour is a ``ValueError`` that names it.
    """

    reason = _Reason

    def __init__(self, app: flask.Flask | None = None, **kwargs: Any) -> None:
        self.server: _SioServer | None = None
        self.server_options: dict[str, Any] = {}
        self.handlers: list[tuple[str, Handler, str]] = []
        self.namespace_handlers: list[Namespace] = []
        self.exception_handlers: dict[str, Handler] = {}
        self.default_exception_handler: Handler | None = None
        self.manage_session = True
        self.async_mode = "threading"
        self._app: flask.Flask | None = None
        self._queue: RedisManager | None = None
        if app is not None or "message_queue" in kwargs:
            self.init_app(app, **kwargs)
        else:
            self.server_options.update(kwargs)

    def init_app(self, app: flask.Flask | None, **kwargs: Any) -> None:
        """Binds the extension to ``app`` (the app factory pattern)."""
        options = dict(self.server_options)
        options.update(kwargs)
        self.server_options = dict(options)
        self.manage_session = bool(options.pop("manage_session", self.manage_session))
        url = options.pop("message_queue", None)
        channel = options.pop("channel", "flask-socketio")
        resource = options.pop("path", None) or options.pop("resource", None) or "socket.io"
        for name in IGNORED:
            options.pop(name, None)
        if "client_manager" not in options and url:
            if not str(url).startswith(("redis://", "rediss://")):
                raise ValueError(
                    f"message_queue={url!r} is not supported by roomcast: use a redis:// or rediss:// URL "
                    "(Kafka, ZeroMQ and Kombu queues are not available)"
                )
            self._queue = RedisManager(url, channel=channel, write_only=app is None)
            if app is not None:
                options["client_manager"] = self._queue
        if app is None and self._queue is not None:
            # An auxiliary process: emits go through Redis, nothing is served.
            self.server = None
            return
        self.server = _SioServer(path="/" + resource.strip("/") + "/", **options)
        for event, handler, namespace in self.handlers:
            self.server.on(event, handler, namespace=namespace)
        for namespace_handler in self.namespace_handlers:
            self.server.register_namespace(namespace_handler)
        if app is not None:
            self._app = app
            if not hasattr(app, "extensions"):
                app.extensions = {}
            app.extensions["socketio"] = self
            # Under a WSGI server (gunicorn, Werkzeug) the Socket.IO path is answered too,
            # with long-polling only: WSGI has no WebSocket.
            from ..socketio import WSGIApp

            app.wsgi_app = WSGIApp(self.server, app.wsgi_app, socketio_path=resource)  # type: ignore[method-assign]

    # ---- handlers -----------------------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[Handler], Handler]:
        """``@socketio.on("event", namespace="/chat")``: ``"connect"`` handlers take
        ``auth`` (or nothing) and may return False or raise ``ConnectionRefusedError``;
        ``"disconnect"`` handlers take the reason (or nothing); an event handler's return
        value answers the client's acknowledgement."""
        namespace = namespace or "/"

        def decorator(handler: Handler) -> Handler:
            if not callable(handler):
                raise TypeError(f"the handler of {message!r} must be callable, not {type(handler).__name__}")

            @wraps(handler)
            def _handler(sid: str, *args: Any) -> Any:
                real_ns = namespace
                if namespace == "*":
                    real_ns, sid, args = sid, args[0], args[1:]
                if message == "*":
                    # (event, sid, *data) -> the handler gets (event, *data)
                    sid, args = args[0], (sid, *args[1:])
                return self._handle_event(handler, message, real_ns, sid, *args)

            # The wrapper takes python-socketio's arguments; its signature must not be read
            # through to the Flask-style handler.
            del _handler.__wrapped__
            if self.server is not None:
                self.server.on(message, _handler, namespace=namespace)
            else:
                self.handlers.append((message, _handler, namespace))
            return handler

        return decorator

    def on_event(self, message: str, handler: Handler, namespace: str | None = None) -> None:
        """The non-decorator form of :meth:`on`."""
        self.on(message, namespace=namespace)(handler)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """``@socketio.event`` / ``@socketio.event(namespace=...)``: the function's name is
        the event's."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def set_handler(handler: Handler) -> Handler:
            return self.on(handler.__name__, *args, **kwargs)(handler)

        return set_handler

    def on_error(self, namespace: str | None = None) -> Callable[[Handler], Handler]:
        """``@socketio.on_error("/chat")``: called with the exception when a handler of the
        namespace raises; its return value answers the acknowledgement."""
        namespace = namespace or "/"

        def decorator(exception_handler: Handler) -> Handler:
            if not callable(exception_handler):
                raise ValueError("exception_handler must be callable")
            self.exception_handlers[namespace] = exception_handler
            return exception_handler

        return decorator

    def on_error_default(self, exception_handler: Handler) -> Handler:
        """``@socketio.on_error_default``: the error handler of namespaces without one."""
        if not callable(exception_handler):
            raise ValueError("exception_handler must be callable")
        self.default_exception_handler = exception_handler
        return exception_handler

    def on_namespace(self, namespace_handler: Namespace) -> None:
        """Registers a class-based :class:`Namespace`."""
        if not isinstance(namespace_handler, Namespace):
            raise ValueError("Not a namespace instance.")
        namespace_handler._set_socketio(self)
        if self.server is not None:
            self.server.register_namespace(namespace_handler)
        else:
            self.namespace_handlers.append(namespace_handler)

    # ---- emitting from anywhere ---------------------------------------------------------

    def _server(self) -> _SioServer:
        if self.server is None:
            raise RuntimeError(
                "this SocketIO has no app: call init_app(app) first (an instance created with only "
                "message_queue= can emit, nothing else)"
            )
        return self.server

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Sends ``event`` from a view, a thread or a handler: ``to`` / ``room`` (a sid or a
        room), ``namespace`` (``"/"``), ``include_self``, ``skip_sid``, ``callback``."""
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        include_self = kwargs.pop("include_self", True)
        skip_sid = kwargs.pop("skip_sid", None)
        callback = kwargs.pop("callback", None)
        kwargs.pop("ignore_queue", None)
        if kwargs:
            raise TypeError(f"unknown argument(s) for emit: {', '.join(sorted(kwargs))}")
        if not include_self and not skip_sid:
            skip_sid = flask.request.sid  # type: ignore[attr-defined]
        if callback is not None and flask.has_request_context():
            sid = getattr(flask.request, "sid", None)
            origin = getattr(flask.request, "namespace", None) or namespace
            if sid is not None:
                original = callback

                def callback(*answer: Any) -> Any:
                    return self._handle_event(original, None, origin, sid, *answer)

        data: Any = args[0] if len(args) == 1 else (tuple(args) if args else None)
        if self.server is None:
            if self._queue is None:
                raise RuntimeError("this SocketIO has no app: call init_app(app) first")
            self._queue.emit(event, data, namespace=namespace, to=to, skip_sid=skip_sid, callback=callback)
            return
        self.server.emit(event, data, to=to, skip_sid=skip_sid, namespace=namespace, callback=callback)

    def call(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Emits to one client and waits for its acknowledgement (``timeout``, 60 s): from
        a handler (with ``async_handlers=True``, the default), a background task or a view."""
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        timeout = kwargs.pop("timeout", 60)
        kwargs.pop("ignore_queue", None)
        data: Any = args[0] if len(args) == 1 else (tuple(args) if args else None)
        return self._server().call(event, data, to=to, namespace=namespace, timeout=timeout)

    def send(
        self,
        data: Any,
        json: bool = False,
        namespace: str | None = None,
        to: Any = None,
        callback: Handler | None = None,
        include_self: bool = True,
        skip_sid: Any = None,
        **kwargs: Any,
    ) -> None:
        """Sends a ``"message"`` (or, with ``json=True``, a ``"json"``) event."""
        skip_sid = flask.request.sid if not include_self else skip_sid  # type: ignore[attr-defined]
        to = to or kwargs.pop("room", None)
        kwargs.pop("ignore_queue", None)
        self.emit("json" if json else "message", data, namespace=namespace, to=to, skip_sid=skip_sid, callback=callback, **kwargs)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client from ``room``."""
        self._server().close_room(room, namespace)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs ``target`` on a daemon thread; returns the thread (``join()`` waits)."""
        return _SioServer.start_background_task(self.server, target, *args, **kwargs)  # type: ignore[arg-type]

    def sleep(self, seconds: float = 0) -> None:
        """``time.sleep``: there is no eventlet or gevent here."""
        _SioServer.sleep(self.server, seconds)  # type: ignore[arg-type]

    # ---- serving ------------------------------------------------------------------------

    def run(self, app: flask.Flask, host: str | None = None, port: int | None = None, **kwargs: Any) -> None:
        """Serves ``app`` and Socket.IO (WebSocket included) on ``host:port`` with
        roomcast's listener until Ctrl-C; then in-flight requests get ``shutdown_grace``
        seconds (10) to finish. ``debug`` turns on Flask's debug mode and Werkzeug's
        debugger page, ``use_reloader`` (default: ``debug``) restarts on code changes.
        ``threads`` (16) worker threads run the Flask app, ``backlog`` (64) more requests
        may wait for one (then 503). TLS options are not taken here: put a proxy in front,
        or serve with ``roomcast.Server(ssl_certfile=..., ssl_keyfile=...)``."""
        server = self._server()
        if host is None:
            host = "127.0.0.1"
        if port is None:
            server_name = app.config.get("SERVER_NAME")
            port = int(server_name.rsplit(":", 1)[1]) if server_name and ":" in server_name else 5000
        debug = bool(kwargs.pop("debug", app.debug))
        use_reloader = bool(kwargs.pop("use_reloader", debug))
        reloader_options = dict(kwargs.pop("reloader_options", {}) or {})
        extra_files = kwargs.pop("extra_files", None)
        if extra_files:
            reloader_options["extra_files"] = extra_files
        for name in _RUN_NO_OPS:
            kwargs.pop(name, None)
        tls = sorted(k for k in kwargs if k in ("certfile", "keyfile", "ssl_context", "ssl_version", "ca_certs"))
        if tls:
            raise ValueError(
                f"{', '.join(tls)}: SocketIO.run takes no TLS options; terminate TLS in a proxy (nginx, caddy) "
                "or serve with roomcast.Server(ssl_certfile=..., ssl_keyfile=...)"
            )
        unknown = sorted(k for k in kwargs if k not in _RUN_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s) for SocketIO.run: {', '.join(unknown)}")
        app.debug = debug
        wsgi_app: Any = app
        if debug:
            from werkzeug.debug import DebuggedApplication

            wsgi_app = DebuggedApplication(app, evalex=True)

        def serve() -> None:
            logger.info("roomcast: serving Flask and Socket.IO on http://%s:%s", host, port)
            server.io.listen(int(port), host, wsgi_app=wsgi_app, **kwargs)

        if use_reloader:
            from werkzeug._reloader import run_with_reloader

            run_with_reloader(serve, **reloader_options)
        else:
            serve()

    def stop(self) -> None:
        """Stops :meth:`run` (closes the server)."""
        self._server().io.close()

    def test_client(
        self,
        app: flask.Flask,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> SocketIOTestClient:
        """An in-process client of this server (no port), as Flask-SocketIO's."""
        return SocketIOTestClient(
            app,
            self,
            namespace=namespace,
            query_string=query_string,
            headers=headers,
            auth=auth,
            flask_test_client=flask_test_client,
        )

    # ---- running a handler in a Flask request context ----------------------------------

    def _environ(self, sid: str, namespace: str) -> dict[str, Any] | None:
        environ = self._server().get_environ(sid, namespace=namespace)
        if environ is None:
            return None
        if "flask.app" not in environ:
            _complete(environ)
            environ["flask.app"] = self._app
        return environ

    def _handle_event(self, handler: Handler, message: str | None, namespace: str, sid: str, *args: Any) -> Any:
        environ = self._environ(sid, namespace)
        if environ is None:
            return None  # the client is gone
        app: flask.Flask = environ["flask.app"]
        with app.request_context(environ):
            if self.manage_session:
                if "saved_session" not in environ:
                    environ["saved_session"] = _ManagedSession(flask.session)
                session_obj = environ["saved_session"]
                _install_session(session_obj)
            else:
                session_obj = flask.session._get_current_object()  # type: ignore[attr-defined]
            request = flask.request
            request.sid = sid  # type: ignore[attr-defined]
            request.namespace = namespace  # type: ignore[attr-defined]
            request.event = {"message": message, "args": args}  # type: ignore[attr-defined]
            try:
                if message == "connect":
                    auth = args[1] if len(args) > 1 else None
                    ret = handler(auth) if accepts_argument(handler) else handler()
                elif message == "disconnect":
                    reason = args[0] if args else None
                    ret = handler(reason) if accepts_argument(handler) else handler()
                else:
                    ret = handler(*args)
            except ConnectionRefusedError:
                raise
            except Exception as e:
                err_handler = self.exception_handlers.get(namespace, self.default_exception_handler)
                if err_handler is None:
                    raise
                return err_handler(e)
            if not self.manage_session and getattr(session_obj, "modified", True):
                response = app.response_class()
                app.session_interface.save_session(app, session_obj, response)
            return ret


def _complete(environ: dict[str, Any]) -> None:
    """Adds what Werkzeug needs of a WSGI environ to the handshake's environ."""
    import io
    import sys

    host = environ.get("HTTP_HOST", "localhost")
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    environ.setdefault("SERVER_NAME", name or host)
    environ.setdefault("SERVER_PORT", port or ("443" if environ.get("wsgi.url_scheme") == "https" else "80"))
    environ.setdefault("wsgi.input", io.BytesIO())
    environ.setdefault("wsgi.errors", sys.stderr)
    environ.setdefault("wsgi.version", (1, 0))
    environ.setdefault("wsgi.multithread", True)
    environ.setdefault("wsgi.multiprocess", False)
    environ.setdefault("wsgi.run_once", False)


def _install_session(session_obj: Any) -> None:
    """Makes ``flask.session`` the client's managed session in the current context."""
    globals_ = flask.globals
    app_ctx = getattr(globals_, "app_ctx", None)
    if app_ctx is not None and hasattr(app_ctx, "session"):
        ctx = app_ctx._get_current_object()  # Flask >= 3.2: one context
    else:
        ctx = globals_.request_ctx._get_current_object()  # type: ignore[attr-defined]
    if hasattr(ctx, "_session"):
        ctx._session = session_obj
    else:
        ctx.session = session_obj


# ---- context functions (inside handlers) ---------------------------------------------------


def _socketio() -> SocketIO:
    socketio: SocketIO = flask.current_app.extensions["socketio"]
    return socketio


def emit(event: str, *args: Any, **kwargs: Any) -> None:
    """Sends ``event`` to the client of the current event (``broadcast=True``: to every
    client of the namespace; ``to``: a sid or a room), as Flask-SocketIO's ``emit``."""
    namespace = kwargs["namespace"] if "namespace" in kwargs else flask.request.namespace  # type: ignore[attr-defined]
    to = kwargs.pop("to", None) or kwargs.pop("room", None)
    if to is None and not kwargs.get("broadcast"):
        to = flask.request.sid  # type: ignore[attr-defined]
    _socketio().emit(
        event,
        *args,
        namespace=namespace,
        to=to,
        include_self=kwargs.get("include_self", True),
        skip_sid=kwargs.get("skip_sid"),
        callback=kwargs.get("callback"),
    )


def call(event: str, *args: Any, **kwargs: Any) -> Any:
    """Emits to the current client (or ``to``) and waits for its acknowledgement."""
    namespace = kwargs["namespace"] if "namespace" in kwargs else flask.request.namespace  # type: ignore[attr-defined]
    to = kwargs.pop("to", None) or kwargs.pop("room", None) or flask.request.sid  # type: ignore[attr-defined]
    return _socketio().call(event, *args, namespace=namespace, to=to, timeout=kwargs.get("timeout", 60))


def send(message: Any, **kwargs: Any) -> None:
    """Sends a ``"message"`` (``json=True``: ``"json"``) event, as :func:`emit` does."""
    namespace = kwargs["namespace"] if "namespace" in kwargs else flask.request.namespace  # type: ignore[attr-defined]
    to = kwargs.pop("to", None) or kwargs.pop("room", None)
    if to is None and not kwargs.get("broadcast"):
        to = flask.request.sid  # type: ignore[attr-defined]
    _socketio().send(
        message,
        json=kwargs.get("json", False),
        namespace=namespace,
        to=to,
        include_self=kwargs.get("include_self", True),
        skip_sid=kwargs.get("skip_sid"),
        callback=kwargs.get("callback"),
    )


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Puts the current client (or ``sid``) in ``room``."""
    sid = sid or flask.request.sid  # type: ignore[attr-defined]
    namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
    _socketio()._server().enter_room(sid, room, namespace=namespace)


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Takes the current client (or ``sid``) out of ``room``."""
    sid = sid or flask.request.sid  # type: ignore[attr-defined]
    namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
    _socketio()._server().leave_room(sid, room, namespace=namespace)


def close_room(room: str, namespace: str | None = None) -> None:
    """Removes every client from ``room``."""
    namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
    _socketio()._server().close_room(room, namespace=namespace)


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms of the current client (or ``sid``), its own sid first."""
    sid = sid or flask.request.sid  # type: ignore[attr-defined]
    namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
    return _socketio()._server().rooms(sid, namespace=namespace)


def disconnect(sid: str | None = None, namespace: str | None = None, silent: bool = False) -> None:
    """Disconnects the current client (or ``sid``) from the namespace."""
    sid = sid or flask.request.sid  # type: ignore[attr-defined]
    namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
    _socketio()._server().disconnect(sid, namespace=namespace)
