"""`Server`: options, namespaces, running (native listener, asyncio, a background thread)
and closing."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any, Callable, Iterable, TypeVar, overload

from . import _native
from ._dispatch import Dispatcher, closed_error, logger, resolve_value
from ._pending import Pending
from ._rooms import Rooms
from .adapters import RedisAdapter, RedisShardedAdapter, RedisStreamsAdapter, SessionRouting
from .namespace import DynamicNamespace, Matcher, Namespace
from .operator import BroadcastOperator, RemoteSocket
from .socket import Socket

__all__ = ["Server"]

F = TypeVar("F", bound=Callable[..., Any])

# How long closing waits for the disconnect handlers of the last sockets.
_CLOSE_GRACE = 2.0


def _strings(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Server:
    """A Socket.IO server whose engine (transports, rooms, fan-out) runs in Rust.

    Options use socket.io's names, durations in seconds:

    - ``cors_allowed_origins``: ``None`` (default: no CORS headers), ``"*"``, an origin or a
      list of origins; ``cors_credentials``: send ``Access-Control-Allow-Credentials``;
      ``cors_methods`` / ``cors_allowed_headers``: a string or list answered to preflights
      as configured (default: ``GET,HEAD,PUT,PATCH,POST,DELETE`` / the requested headers).
    - ``path``: the URL path (default ``"/socket.io/"``).
    - ``ping_interval`` (25), ``ping_timeout`` (20), ``upgrade_timeout`` (10),
      ``connect_timeout`` (45): seconds.
    - ``max_http_buffer_size``: largest message or polling body, in bytes (1e6).
    - ``transports``: ``("polling", "websocket")`` or a subset.
    - ``adapter``: ``None`` (rooms kept in this process), a :class:`~roomcast.RedisAdapter`
      (or its URL, ``"redis://..."``), a :class:`~roomcast.RedisStreamsAdapter` or a
      :class:`~roomcast.RedisShardedAdapter` (Redis Cluster) to share rooms and broadcasts
      across servers.
    - ``cleanup_empty_child_namespaces``: drop a dynamic child when its last socket leaves.
    - ``max_child_namespaces``: dynamic children that may exist at once (10,000); a
      CONNECT that would create one more evicts the oldest child nobody ever joined (one a
      middleware refused), or gets ``connect_error`` "Too many namespaces" when there is none.
    - ``max_pending_acks``: acknowledgements one socket may be awaited for at once
      (10,000); past it an emit with a callback (or ``emit_with_ack``) raises and sends
      nothing.
    - ``max_queued_frames`` (65,536), ``max_queued_bytes`` (64 MiB): outbound frames and
      bytes queued per connection before it is treated as a slow consumer and disconnected.
    - ``max_host_backlog_per_socket`` (16 MiB), ``max_host_backlog`` (256 MiB): bytes of
      client events waiting for Python (handlers that fall behind), per socket and per
      server; past either the client's connection is closed ("host backlog full").
    - ``allow_eio3``: also accept socket.io v2 clients (Engine.IO v3).
    - ``http_header_timeout`` (10), ``http_body_timeout`` (30): seconds for a request's
      headers (also the longest a keep-alive connection may sit idle) and for a polling body
      to arrive on the built-in listener; ``None`` turns one off.
    - ``max_connections`` (default: nine tenths of the open-file limit),
      ``max_connections_per_ip`` (default: no cap): open TCP connections on the built-in
      listener; connections past a cap are closed at once. ``max_sessions`` (default: no
      cap): past it handshakes get HTTP 503. :meth:`stats` counts the refusals.
    - ``parser``: ``"default"`` or ``"msgpack"`` (``socket.io-msgpack-parser`` clients).
    - ``connection_state_recovery``: ``True`` or ``{"max_disconnection_duration": 120,
      "skip_middlewares": True}``: a client that lost its connection gets its id, rooms,
      ``data`` and the broadcasts it missed back (:attr:`Socket.recovered`).
    - ``http_compression``: compress long-polling responses of at least this many bytes
      (``True`` = 1024, ``False`` = off).
    - ``per_message_deflate``: permessage-deflate for WebSocket messages of at least this many
      bytes (``False``, the default, as socket.io; ``True`` = 1024; or ``{"threshold": 1024,
      "level": 1}``). A broadcast is compressed once for all its recipients. Under ASGI the
      ASGI server (uvicorn) does the WebSocket framing and decides compression itself.
    - ``allow_request``: ``fn(request) -> bool``, sync or async, vets each handshake
      (``request`` holds ``headers``, ``query``, ``url``, ``address``, ``secure``,
      ``xdomain``); a refused one gets HTTP 403 (400 for a WebSocket).
    - ``ssl_certfile``, ``ssl_keyfile``: PEM files of a certificate chain and its
      (unencrypted) key: the built-in listener then serves HTTPS and ``wss://`` only, and a
      web app mounted on it sees the ``https`` scheme. A certificate and key that cannot
      serve raise ``ValueError`` here.

    Handlers run on one asyncio event loop: the one :meth:`serve` / :meth:`start` run on,
    the uvicorn loop under :class:`~roomcast.ASGIApp`, or a thread of its own with
    :meth:`start_background`. Emitting is safe from any thread.
    """

    def __init__(
        self,
        *,
        cors_allowed_origins: str | Iterable[str] | None = None,
        cors_credentials: bool = False,
        cors_methods: str | Iterable[str] | None = None,
        cors_allowed_headers: str | Iterable[str] | None = None,
        path: str = "/socket.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        upgrade_timeout: float = 10.0,
        connect_timeout: float = 45.0,
        max_http_buffer_size: int = 1_000_000,
        transports: Iterable[str] = ("polling", "websocket"),
        adapter: RedisAdapter | RedisStreamsAdapter | RedisShardedAdapter | str | None = None,
        cleanup_empty_child_namespaces: bool = False,
        max_child_namespaces: int = 10_000,
        max_pending_acks: int = 10_000,
        max_queued_frames: int = 65_536,
        max_queued_bytes: int = 64 << 20,
        max_host_backlog_per_socket: int = 16 << 20,
        max_host_backlog: int = 256 << 20,
        allow_eio3: bool = False,
        parser: str = "default",
        connection_state_recovery: bool | dict[str, Any] | None = None,
        http_compression: bool | int = True,
        per_message_deflate: bool | int | dict[str, int] = False,
        allow_request: Callable[[dict[str, Any]], Any] | None = None,
        http_header_timeout: float | None = 10.0,
        http_body_timeout: float | None = 30.0,
        max_connections: int | None = None,
        max_connections_per_ip: int | None = None,
        max_sessions: int | None = None,
        route_sessions: SessionRouting | None = None,
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(adapter, str) and adapter.startswith(("redis://", "rediss://")):
            adapter = RedisAdapter(adapter)
        redis_kinds = (RedisAdapter, RedisStreamsAdapter, RedisShardedAdapter)
        if adapter not in (None, "memory") and not isinstance(adapter, redis_kinds):
            raise ValueError(
                f"unknown adapter {adapter!r}: use None, 'memory', roomcast.RedisAdapter(url), "
                "roomcast.RedisStreamsAdapter(url) or roomcast.RedisShardedAdapter(nodes)"
            )
        if allow_request is not None and not callable(allow_request):
            raise TypeError("allow_request must be a callable: fn(request) -> bool")
        recovery: dict[str, Any] | None
        if connection_state_recovery is True:
            recovery = {}
        elif not connection_state_recovery:
            recovery = None
        else:
            recovery = dict(connection_state_recovery)
        if http_compression is True:
            threshold = None  # the core's default
        elif http_compression is False:
            threshold = 0
        else:
            threshold = int(http_compression)
        deflate: dict[str, int] | None
        if per_message_deflate is True:
            deflate = {}
        elif per_message_deflate is False or per_message_deflate is None:
            deflate = None
        elif isinstance(per_message_deflate, dict):
            deflate = {k: int(v) for k, v in per_message_deflate.items()}
        else:
            deflate = {"threshold": int(per_message_deflate)}
        transports = [transports] if isinstance(transports, str) else list(transports)
        config = {
            "path": path,
            "ping_interval": float(ping_interval),
            "ping_timeout": float(ping_timeout),
            "upgrade_timeout": float(upgrade_timeout),
            "connect_timeout": float(connect_timeout),
            "max_http_buffer_size": int(max_http_buffer_size),
            "transports": transports,
            "cors_origins": _strings(cors_allowed_origins),
            "cors_credentials": bool(cors_credentials),
            "cors_methods": _strings(cors_methods),
            "cors_allowed_headers": _strings(cors_allowed_headers),
            "cleanup_empty_child_namespaces": bool(cleanup_empty_child_namespaces),
            "max_child_namespaces": int(max_child_namespaces),
            "max_pending_acks": int(max_pending_acks),
            "max_queued_frames": int(max_queued_frames),
            "max_queued_bytes": int(max_queued_bytes),
            "max_host_backlog_per_socket": int(max_host_backlog_per_socket),
            "max_host_backlog": int(max_host_backlog),
            "allow_eio3": bool(allow_eio3),
            "parser": parser,
            "connection_state_recovery": recovery,
            "http_compression_threshold": threshold,
            "per_message_deflate": deflate,
            "redis": adapter._config() if isinstance(adapter, redis_kinds) else None,
            # 0: off (None would keep the core's default).
            "http_header_timeout": 0.0 if http_header_timeout is None else float(http_header_timeout),
            "http_body_timeout": 0.0 if http_body_timeout is None else float(http_body_timeout),
            "max_connections": None if max_connections is None else int(max_connections),
            "max_connections_per_ip": None if max_connections_per_ip is None else int(max_connections_per_ip),
            "max_sessions": None if max_sessions is None else int(max_sessions),
        }
        self._native = _native.Server(config)
        self._max_http_buffer_size = int(max_http_buffer_size)
        self._dispatcher = Dispatcher(self)
        self._handlers: dict[int, Namespace | DynamicNamespace] = {}
        self._matchers: dict[int, DynamicNamespace] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._dynamic: list[DynamicNamespace] = []
        self._sockets: dict[str, Socket] = {}
        self._authorizing: dict[str, Socket] = {}
        self._new_namespace_handlers: list[Callable[..., Any]] = []
        self._allow_request = allow_request
        self._admin_auth: Callable[[Any], Any] | None = None
        if route_sessions is not None:
            if not isinstance(route_sessions, SessionRouting):
                raise TypeError("route_sessions must be a roomcast.SessionRouting(url, address=...)")
            self._native.route_sessions(
                route_sessions.url, route_sessions.address, route_sessions.key_prefix, float(route_sessions.ttl)
            )
        if allow_request is not None:
            self._native.enable_allow_request()
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise TypeError("give both ssl_certfile and ssl_keyfile, or neither")
        self._scheme = "http"
        if ssl_certfile is not None and ssl_keyfile is not None:
            with open(ssl_certfile, "rb") as cert, open(ssl_keyfile, "rb") as key:
                self._native.set_tls(cert.read(), key.read())
            self._scheme = "https"
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._all_gone_waiters: list[asyncio.Future[None]] = []
        self._thread: threading.Thread | None = None
        self._closing: asyncio.Future[None] | None = None
        self._close_waiters: list[asyncio.Future[None]] = []
        self._wsgi: Any = None
        self._asgi: Any = None
        # Called once the server is closed (front doors release what they hold: threads).
        self._close_callbacks: list[Callable[[], None]] = []
        self._root = self._namespace_for("/")

    # ---- namespaces -------------------------------------------------------------------

    @property
    def sockets(self) -> Namespace:
        """The default namespace ``/``."""
        return self._root

    @overload
    def of(self, name: str) -> Namespace: ...
    @overload
    def of(self, name: Matcher) -> DynamicNamespace: ...

    def of(self, name: Any) -> Any:
        """The namespace ``name`` (created on first use), or a dynamic namespace for a
        compiled regular expression (the whole name must match) or a predicate
        ``fn(name, auth) -> bool`` (sync or async)."""
        if isinstance(name, str):
            return self._namespace_for(name)
        with self._lock:
            native = self._native.dynamic()
            parent = DynamicNamespace(self, native, name)
            self._dynamic.append(parent)
            self._handlers[native.handler_id] = parent
            self._matchers[native.matcher_id] = parent
        return parent

    def get_namespace(self, name: str) -> Namespace | None:
        """The namespace ``name`` if it exists (a static one, or a dynamic child already
        created); never creates one."""
        name = name if name.startswith("/") else "/" + name
        live = self._native.find_namespace(name)
        if live is None:
            return None
        return self._namespace_for(name, live.key)

    def get_socket(self, sid: str) -> Socket | None:
        """The connected socket ``sid`` of this server, whatever its namespace, or None
        (socket ids are unique across namespaces)."""
        return self._sockets.get(sid)

    def _namespace_for(self, name: str, key: int | None = None) -> Namespace:
        """The wrapper of namespace ``name``; ``key`` names the live core namespace, so a
        dynamic child that was removed and created again gets a fresh wrapper."""
        name = name if name.startswith("/") else "/" + name
        with self._lock:
            existing = self._namespaces.get(name)
            if existing is not None and (key is None or existing._native.key == key):
                return existing
            native = self._native.namespace(name)
            parent = None
            if native.is_child:
                parent = next((d for d in self._dynamic if d._native.key == native.parent_key), None)
            nsp = Namespace(self, native, parent)
            self._namespaces[native.name] = nsp
            if native.handler_id is not None:
                self._handlers[native.handler_id] = nsp
            return nsp

    def _new_socket(self, native: _native.Socket) -> Socket:
        return Socket(self, native, self._namespace_for(native.ns, native.namespace_key))

    # ---- handlers on the default namespace and the server -------------------------------

    @overload
    def on(self, event: str) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """``"connection"`` handlers of ``/`` (see :meth:`Namespace.on`); ``"new_namespace"``
        handlers, called with each :class:`Namespace` created from now on (dynamic children
        included); any other name: a handler of events other servers of the cluster send
        with :meth:`server_side_emit`."""
        if event != "new_namespace":
            return self._root.on(event, handler)

        def register(fn: F) -> F:
            self._new_namespace_handlers.append(fn)
            self._native.announce_namespaces()
            return fn

        return register if handler is None else register(handler)

    def use(self, middleware: F) -> F:
        """A connection middleware of ``/`` (see :meth:`Namespace.use`)."""
        return self._root.use(middleware)

    # ---- broadcasting on "/" ----------------------------------------------------------

    def emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` to every socket of ``/``."""
        self._root.emit(event, *args)

    def to(self, rooms: Rooms) -> BroadcastOperator:
        """The sockets of ``/`` in ``rooms``."""
        return self._root.to(rooms)

    def in_(self, rooms: Rooms) -> BroadcastOperator:
        """Same as :meth:`to`."""
        return self._root.to(rooms)

    def except_(self, rooms: Rooms) -> BroadcastOperator:
        """Every socket of ``/`` but those in ``rooms``."""
        return self._root.except_(rooms)

    @property
    def volatile(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.volatile`."""
        return self._root.volatile

    @property
    def local(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.local`."""
        return self._root.local

    def compress(self, compress: bool = True) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.compress`."""
        return self._root.compress(compress)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.timeout`."""
        return self._root.timeout(seconds)

    def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Pending[list[Any]]:
        """See :meth:`BroadcastOperator.emit_with_ack`."""
        return self._root.emit_with_ack(event, *args, timeout=timeout)

    def fetch_sockets(self) -> Pending[list[RemoteSocket]]:
        """Every socket of ``/`` (see :meth:`BroadcastOperator.fetch_sockets`)."""
        return self._root.fetch_sockets()

    def sockets_join(self, rooms: Rooms) -> None:
        """Makes every socket of ``/`` join rooms."""
        self._root.sockets_join(rooms)

    def sockets_leave(self, rooms: Rooms) -> None:
        """Makes every socket of ``/`` leave rooms."""
        self._root.sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnects every socket of ``/``."""
        self._root.disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Sends an event to the other servers of the cluster (see
        :meth:`Namespace.server_side_emit`)."""
        self._root.server_side_emit(event, *args)

    def server_side_emit_with_ack(self, event: str, *args: Any) -> Pending[list[Any]]:
        """See :meth:`Namespace.server_side_emit_with_ack`."""
        return self._root.server_side_emit_with_ack(event, *args)

    # ---- extra HTTP content of the native listener ------------------------------------

    def serve_client(self, bundle: bytes) -> None:
        """Serves a socket.io browser client bundle at ``<path>socket.io.js``."""
        self._native.serve_client(bytes(bundle))

    def serve_static(self, url_path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8") -> None:
        """Serves fixed content at ``url_path`` (GET/HEAD) on the native listener, e.g. the
        page of a small app. Under ASGI/WSGI, serve pages with your framework instead."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        self._native.add_static(url_path, content_type, data)

    def mount_wsgi(
        self,
        app: Any,
        *,
        threads: int = 16,
        backlog: int = 64,
        shutdown_grace: float = 10.0,
    ) -> None:
        """Serves the WSGI app ``app`` (Flask, Django...) on the native listener, for every
        request outside the Socket.IO path, so one port carries the web app and Socket.IO
        with WebSocket. ``threads`` worker threads run the app; ``backlog`` more requests may
        wait for one, past that a request is answered 503 at once. Request bodies are read
        as the app asks for them, responses stream (chunked without a ``Content-Length``),
        connections are kept alive. Closing (Ctrl-C under :meth:`listen`) stops accepting
        and lets in-flight requests finish for up to ``shutdown_grace`` seconds."""
        from ._wsgi_host import WSGIHost

        with self._lock:
            self._check_mountable()
            self._wsgi = WSGIHost(self._native, app, threads, backlog, shutdown_grace)
            self._wsgi.url_scheme = self._scheme

    def mount_asgi(
        self,
        app: Any,
        *,
        concurrency: int = 256,
        backlog: int = 256,
        shutdown_grace: float = 10.0,
    ) -> None:
        """Serves the ASGI app ``app`` (FastAPI, Starlette...) on the native listener, for
        every HTTP request outside the Socket.IO path, so one port carries the web app and
        Socket.IO at the native listener's speed (its frames never cross ASGI). Requests run
        as tasks on the server's event loop (the handlers' loop); at most ``concurrency`` at
        once, ``backlog`` more may wait, past that a request is answered 503 at once. The
        app's lifespan startup runs before the port opens, its shutdown at close; closing
        lets requests in flight finish for up to ``shutdown_grace`` seconds. WebSocket
        routes of the app are not served this way (run it under uvicorn with
        :class:`~roomcast.ASGIApp` for those)."""
        from ._asgi_host import ASGIHost

        with self._lock:
            self._check_mountable()
            self._asgi = ASGIHost(self._native, app, concurrency, backlog, shutdown_grace)
            self._asgi.scheme = self._scheme

    def _check_mountable(self) -> None:
        if self._wsgi is not None or self._asgi is not None:
            raise RuntimeError("a web app is already mounted on this server")
        if self.closed:
            raise RuntimeError("the server is closed")

    # ---- running ----------------------------------------------------------------------

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> int:
        """Binds the native listener and starts handling events on the running loop;
        returns the bound port (useful with ``port=0``). Returns at once."""
        self._dispatcher.attach()
        if self._asgi is not None:
            await self._asgi.start()
        return self._native.listen(host, int(port))

    async def serve(self, host: str = "0.0.0.0", port: int = 3000) -> None:
        """Serves until :meth:`close` / :meth:`aclose` is called or the task is cancelled;
        then the server is closed (sockets disconnected, port released)."""
        await self.start(host, port)
        waiter = asyncio.get_running_loop().create_future()
        self._on_closed(waiter)
        try:
            await waiter
        finally:
            await self.aclose()

    def listen(
        self,
        port: int = 3000,
        host: str = "0.0.0.0",
        *,
        wsgi_app: Any = None,
        asgi_app: Any = None,
        **app_options: Any,
    ) -> None:
        """Serves on ``host:port`` until Ctrl-C (or :meth:`close` from another thread);
        blocks, then closes the server cleanly. With ``wsgi_app`` or ``asgi_app``, the same
        port serves that app too (see :meth:`mount_wsgi` and :meth:`mount_asgi`, which take
        ``app_options``)."""
        if wsgi_app is not None and asgi_app is not None:
            raise TypeError("give wsgi_app or asgi_app, not both")
        if wsgi_app is not None:
            self.mount_wsgi(wsgi_app, **app_options)
        elif asgi_app is not None:
            self.mount_asgi(asgi_app, **app_options)
        elif app_options:
            raise TypeError(f"{', '.join(app_options)}: these options need wsgi_app or asgi_app")
        try:
            asyncio.run(self.serve(host, port))
        except KeyboardInterrupt:
            pass
        finally:
            if not self._native.closed:
                self._native.close()

    def start_background(self, port: int | None = None, host: str = "0.0.0.0") -> int | None:
        """Runs the handlers on an event loop in a thread of their own (for Flask and other
        synchronous apps) and, with ``port``, the native listener; returns the bound port.
        :meth:`close` stops the thread."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the server already runs in the background")
            started = threading.Event()
            box: dict[str, Any] = {}

            def run() -> None:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
                try:
                    self._dispatcher.attach(loop)
                    if self._asgi is not None:
                        loop.run_until_complete(self._asgi.start())
                    if port is not None:
                        box["port"] = self._native.listen(host, int(port))
                except BaseException as e:  # reported to the caller below
                    box["error"] = e
                    started.set()
                    self._dispatcher.detach()
                    loop.close()
                    return
                started.set()
                try:
                    loop.run_forever()
                finally:
                    self._dispatcher.detach()
                    loop.close()
                    with self._lock:
                        if self._thread is threading.current_thread():
                            self._thread = None

            thread = threading.Thread(target=run, name="roomcast-loop", daemon=True)
            self._thread = thread
            thread.start()
        started.wait()
        if "error" in box:
            self._thread = None
            raise box["error"]
        return box.get("port")

    def attach(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Handles events on ``loop`` (the running loop by default) without binding a port,
        as :class:`~roomcast.ASGIApp` does. Call from the loop's thread."""
        self._dispatcher.attach(loop)

    # ---- closing ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` / :meth:`aclose` has been called."""
        return self._native.closed

    def close(self) -> None:
        """Closes the server: every socket is disconnected ("server shutting down"), every
        connection closed, the ports released; disconnect handlers still run. Safe from any
        thread; returns when the port is free. A closed server cannot be started again."""
        dispatcher = self._dispatcher
        loop = dispatcher.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            self._native.close()
            self._finish_close()
        elif dispatcher.on_loop_thread():
            # Cannot wait for our own loop: close the core now, finish on the loop (and stop
            # it when it is the background thread's).
            self._native.close()
            dispatcher.spawn(self._close_on_loop(stop=self._thread is threading.current_thread()))
        else:
            future = asyncio.run_coroutine_threadsafe(self.aclose(), loop)
            try:
                # Closing lets a mounted app's requests in flight finish first.
                host = self._wsgi or self._asgi
                drain = 2 * host.shutdown_grace if host is not None else 0.0
                future.result(timeout=_CLOSE_GRACE + 5 + drain)
            except Exception:
                logger.exception("roomcast: closing on the event loop failed")
                self._native.close()
        self._stop_thread()

    async def _close_on_loop(self, stop: bool) -> None:
        await self.aclose()
        if stop:
            asyncio.get_running_loop().stop()

    async def aclose(self) -> None:
        """Closes the server like :meth:`close`, without blocking the event loop."""
        dispatcher = self._dispatcher
        loop = asyncio.get_running_loop()
        if dispatcher.loop is not None and dispatcher.loop is not loop and dispatcher.loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.aclose(), dispatcher.loop))
            self._stop_thread()
            return
        if self._closing is None:
            self._closing = loop.create_future()
            try:
                await self._shutdown()
            finally:
                self._closing.set_result(None)
        else:
            await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        dispatcher = self._dispatcher
        dispatcher.attach()
        token, fut = dispatcher.expect(resolve_value)
        self._native.close_in_background(token)
        await fut
        # Let the last disconnect handlers run (their events follow the close).
        if self._sockets:
            waiter = asyncio.get_running_loop().create_future()
            self._all_gone_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, _CLOSE_GRACE)
            except asyncio.TimeoutError:
                logger.warning("roomcast: %d socket(s) still closing after %ss", len(self._sockets), _CLOSE_GRACE)
        dispatcher.flush()
        if self._asgi is not None:
            await self._asgi.stop()
        self._finish_close()

    def _finish_close(self) -> None:
        if self._wsgi is not None:
            # The core has let in-flight requests finish; idle workers stop now. They are
            # joined: a worker still inside the native wait when the interpreter finalizes
            # would be killed mid-call on waking, which crashes the process at exit.
            self._wsgi.close(join=True)
        if self._asgi is not None:
            self._asgi.close()
        self._dispatcher.fail_all(closed_error)
        if self._dispatcher.loop is not None and self._thread is None:
            self._dispatcher.detach()
        self._closed.set()
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            callback()
        for w in self._closed_waiters():
            if not w.done():
                w.get_loop().call_soon_threadsafe(_set_done, w)

    def _stop_thread(self) -> None:
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        loop = self._dispatcher.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = None

    def _on_closed(self, waiter: asyncio.Future[None]) -> None:
        with self._lock:
            if self._closed.is_set():
                waiter.set_result(None)
            else:
                self._close_waiters.append(waiter)

    def _closed_waiters(self) -> list[asyncio.Future[None]]:
        with self._lock:
            waiters, self._close_waiters = self._close_waiters, []
            return waiters

    def _all_gone(self) -> None:
        waiters, self._all_gone_waiters = self._all_gone_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    # ---- monitoring -------------------------------------------------------------------

    def instrument(
        self,
        auth: Any = None,
        mode: str = "development",
        read_only: bool = False,
        server_id: str | None = None,
        namespace: str = "/admin",
        server_stats_interval: float = 2,
    ) -> None:
        """Serves the official Socket.IO admin UI (https://admin.socket.io) on ``namespace``,
        as python-socketio's ``Server.instrument()``; the counts come from the core.

        ``auth``: ``False`` (no login: private networks only), a dict the UI's CONNECT payload
        must equal (``{"username": ..., "password": ...}``), a list of such dicts, a callable
        ``fn(auth) -> bool`` (sync or async), or ``{"type": "basic", "username": ...,
        "password": <bcrypt hash>}`` as ``@socket.io/admin-ui`` takes it. ``mode``:
        ``"development"`` (every socket, room and event) or ``"production"`` (aggregated
        counts only). ``read_only`` refuses the UI's emit/join/leave/disconnect. Runs once per
        server."""
        if auth is None:
            raise ValueError("auth must be specified: credentials, a callable, or False to disable it")
        auth_json: str | None = None
        if auth is False:
            kind = "disabled"
        elif isinstance(auth, dict) and auth.get("type") == "basic":
            kind = "basic"
            auth_json = json.dumps({"username": auth.get("username", ""), "password": auth.get("password", "")})
        elif isinstance(auth, dict):
            kind, auth_json = "exact", json.dumps([auth])
        elif isinstance(auth, list) and all(isinstance(a, dict) for a in auth):
            kind, auth_json = "exact", json.dumps(auth)
        elif callable(auth):
            kind = "check"
            self._admin_auth = auth
        else:
            raise TypeError("auth must be False, a dict, a list of dicts or a callable fn(auth) -> bool")
        if mode not in ("development", "production"):
            raise ValueError(f"mode must be 'development' or 'production', not {mode!r}")
        self._native.instrument(namespace, read_only, mode, server_id, float(server_stats_interval), kind, auth_json)

    # ---- introspection ----------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Live counts in the core: ``sessions``, ``namespaces``, ``sockets``, ``rooms``; and
        since the start, ``refused_connections`` (``max_connections``,
        ``max_connections_per_ip``), ``refused_sessions`` (``max_sessions``) and
        ``timed_out_requests`` (``http_header_timeout``, ``http_body_timeout``)."""
        sessions, namespaces, sockets, rooms, refused, refused_sessions, timed_out = self._native.stats()
        return {
            "sessions": sessions,
            "namespaces": namespaces,
            "sockets": sockets,
            "rooms": rooms,
            "refused_connections": refused,
            "refused_sessions": refused_sessions,
            "timed_out_requests": timed_out,
        }

    def __repr__(self) -> str:
        return f"<roomcast.Server {self.stats()}>"


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
