"""What `Server` and `AsyncServer` share: python-socketio's handler tables and calling
conventions mapped onto a :class:`roomcast.Server`.

Rooms, broadcasts, acknowledgements and sessions' sockets live in roomcast; this layer only
keeps python-socketio's views of them: handlers registered per namespace and looked up when
an event arrives, the WSGI-style ``environ`` built from the handshake, and user sessions.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextvars
import inspect
import logging
from functools import partial
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Union
from urllib.parse import unquote

from .. import _codec
from .._dispatch import _name, _resolve
from .._dispatch import logger as handler_logger
from ..errors import ConnectionRefused
from ..namespace import DynamicNamespace
from ..namespace import Namespace as RoomcastNamespace
from ..server import Server as RoomcastServer
from . import exceptions
from ._handlers import REASONS, call_with, check
from ._options import translate
from ._ordered import InOrder

if TYPE_CHECKING:
    from ..socket import Socket
    from ._pool import HandlerPool
    from .managers import _RedisManager
    from .namespace import _BaseNamespace

__all__ = ["BaseServer"]

Handler = Callable[..., Any]
Target = Union[str, Iterable[str], None]

default_logger = logging.getLogger("socketio.server")

# Connections between two sweeps of the state of clients that never finished connecting.
_SWEEP_EVERY = 1024

#: Events a catch-all handler never gets (python-socketio's ``reserved_events``).
RESERVED = ("connect", "disconnect")


def _args(data: Any) -> tuple[Any, ...]:
    """python-socketio's ``data``: a tuple is several arguments, None none, else one."""
    if isinstance(data, tuple):
        return data
    if data is None:
        return ()
    return (data,)


def _answer(args: list[Any]) -> Any:
    """What ``call()`` returns for the client's acknowledgement arguments."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def _given(value: Any) -> Any:
    return value


async def _settled(awaitable: Awaitable[Any]) -> Any:
    """The result of ``awaitable``, awaiting it once more when a sync function returned a
    coroutine (an ``async def`` method behind a class-based namespace's trigger_event)."""
    result = await awaitable
    if inspect.isawaitable(result):
        result = await result
    return result


def environ_from_handshake(handshake: dict[str, Any]) -> dict[str, Any]:
    """A WSGI-style environ of the connection's first request, as python-socketio hands to
    ``connect`` handlers (the handshake itself is under ``"roomcast.handshake"``)."""
    url = str(handshake.get("url") or "/")
    path, _, query = url.partition("?")
    address = handshake.get("address") or ""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path),
        "QUERY_STRING": query,
        "RAW_URI": url,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": address,
        "REMOTE_PORT": "0",
        "wsgi.url_scheme": "https" if handshake.get("secure") else "http",
        "roomcast.handshake": handshake,
    }
    for name, value in (handshake.get("headers") or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


class BaseServer:
    """python-socketio's server surface over a :class:`roomcast.Server` (``self.io``)."""

    reserved_events = list(RESERVED)
    _is_async = False
    #: The threads of sync handlers (:class:`Server`); None runs them on the loop.
    _pool: HandlerPool | None = None

    def __init__(
        self,
        client_manager: _RedisManager | None = None,
        logger: bool | logging.Logger = False,
        serializer: str = "default",
        json: Any = None,
        async_handlers: bool = True,
        always_connect: bool = False,
        namespaces: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if json is not None:
            raise ValueError("json= is not supported by roomcast: it encodes with orjson when installed, else json")
        if serializer not in ("default", "msgpack"):
            raise ValueError(
                f"serializer={serializer!r} is not supported by roomcast: use 'default' or 'msgpack' "
                "(socket.io-msgpack-parser clients)"
            )
        options = translate(kwargs, is_async=self._is_async)
        options["parser"] = serializer
        adapter = None
        if client_manager is not None:
            from .managers import _RedisManager

            if not isinstance(client_manager, _RedisManager):
                raise TypeError(
                    "client_manager must be roomcast.socketio.RedisManager / AsyncRedisManager "
                    f"(roomcast's Redis adapter), not {type(client_manager).__name__}"
                )
            if client_manager.write_only:
                raise ValueError("a write_only manager serves no clients: emit with it directly, without a server")
            adapter = client_manager._adapter()
            client_manager._set_server(self)
        #: The roomcast server underneath (its own API: ``io.of``, ``io.fetch_sockets``...).
        self.io = RoomcastServer(adapter=adapter, **options)
        self._path = str(options.get("path", "/socket.io/"))
        self.manager = client_manager
        if isinstance(logger, logging.Logger):
            self.logger = logger
        else:
            self.logger = default_logger
            if self.logger.level == logging.NOTSET:
                self.logger.setLevel(logging.INFO if logger else logging.ERROR)
        self.async_mode = "asgi" if self._is_async else "threading"
        self.async_handlers = async_handlers
        self.always_connect = bool(always_connect)
        #: handlers[namespace][event], ``"*"`` as either key for catch-alls.
        self.handlers: dict[str, dict[str, Handler]] = {}
        self.namespace_handlers: dict[str, _BaseNamespace] = {}
        self.namespaces = namespaces or ["/"]
        self._served: dict[str, RoomcastNamespace | DynamicNamespace] = {}
        self._authorizing_namespaces = False
        self._environ: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        # Sockets whose connect handler runs: what is emitted to them waits for CONNECT.
        self._connecting: dict[str, list[tuple[str, tuple[Any, ...], Handler | None]]] = {}
        self._connects = 0
        self._background_tasks: set[Any] = set()
        for name in [namespaces] if isinstance(namespaces, str) else self.namespaces:
            self._serve(name)

    def is_asyncio_based(self) -> bool:
        """True for :class:`AsyncServer`."""
        return self._is_async

    # ---- registering handlers -----------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None, namespace: str | None = None) -> Any:
        """Registers the handler of ``event`` in ``namespace`` (``"/"``; ``"*"`` for every
        namespace), as a decorator or with ``handler``. ``"*"`` as the event catches the
        events that have no handler of their own. The handler is checked against the
        arguments python-socketio passes (a ``TypeError`` names the expected ones)."""
        namespace = namespace or "/"

        def register(fn: Handler) -> Handler:
            prefix = (1 if event == "*" else 0) + (1 if namespace == "*" else 0)
            check(fn, "connect" if event == "connect" else "disconnect" if event == "disconnect" else "event", prefix)
            self.handlers.setdefault(namespace, {})[event] = fn
            self._serve(namespace)
            if event == "connect":
                self._need_authorize()
            return fn

        if handler is None:
            return register
        register(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """``@sio.event`` / ``@sio.event(namespace="/chat")``: the function's name is the
        event's."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            fn = args[0]
            self.on(fn.__name__, fn)
            return fn

        def register(fn: Handler) -> Handler:
            self.on(fn.__name__, fn, *args, **kwargs)
            return fn

        return register

    def register_namespace(self, namespace_handler: _BaseNamespace) -> None:
        """Registers a class-based namespace (:class:`Namespace` / :class:`AsyncNamespace`)."""
        from .namespace import _BaseNamespace

        if not isinstance(namespace_handler, _BaseNamespace):
            raise ValueError("Not a namespace instance")
        if namespace_handler.is_asyncio_based() != self._is_async:
            raise ValueError("Not a valid namespace class for this server")
        namespace_handler._check_handlers()
        namespace_handler._set_server(self)
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler
        self._serve(namespace_handler.namespace)
        self._need_authorize()

    # ---- wiring to roomcast -----------------------------------------------------------

    def _serve(self, name: str) -> None:
        """Makes roomcast accept clients on namespace ``name`` (``"*"``: any name)."""
        if name in self._served:
            return
        target: RoomcastNamespace | DynamicNamespace
        target = self.io.of(lambda _name, _auth: True) if name == "*" else self.io.of(name)
        self._served[name] = target
        target.on("connection", self._connected)
        if self._authorizing_namespaces:
            target.use(self._authorize)

    def _need_authorize(self) -> None:
        """Connect handlers run before the client is accepted (unless ``always_connect``), so
        they become middlewares; until one exists a CONNECT does not wait for Python."""
        if self._authorizing_namespaces or self.always_connect:
            return
        self._authorizing_namespaces = True
        for target in self._served.values():
            target.use(self._authorize)

    def _namespace(self, name: str | None) -> RoomcastNamespace | None:
        """An existing roomcast namespace; emitting to an unknown one is a no-op, as in
        python-socketio (and must not create it)."""
        name = name or "/"
        served = self._served.get(name)
        if isinstance(served, RoomcastNamespace):
            return served
        return self.io.get_namespace(name)

    def _socket(self, sid: str, namespace: str | None = None) -> Socket | None:
        """The local socket ``sid`` (connected, or running its connect handler)."""
        io = self.io
        # A client still in its connect handler is not connected yet: roomcast keeps it aside.
        socket = io.get_socket(sid) or io._authorizing.get(sid)
        if socket is None or socket.nsp.name != (namespace or "/"):
            return None
        return socket

    # ---- finding the handler of an event ----------------------------------------------

    def _lookup(self, event: str, namespace: str, sid: str) -> Handler | None:
        """python-socketio's resolution order: the namespace's handler of the event, its
        ``"*"`` handler, the ``"*"`` namespace's handler of the event, its ``"*"`` handler,
        then a class-based namespace."""
        table = self.handlers.get(namespace)
        if table is not None:
            fn = table.get(event)
            if fn is not None:
                return partial(fn, sid)
            if event not in RESERVED and "*" in table:
                return partial(table["*"], event, sid)
        table = self.handlers.get("*")
        if table is not None:
            fn = table.get(event)
            if fn is not None:
                return partial(fn, namespace, sid)
            if event not in RESERVED and "*" in table:
                return partial(table["*"], event, namespace, sid)
        owner = self.namespace_handlers.get(namespace)
        if owner is not None:
            return partial(owner.trigger_event, event, sid)
        owner = self.namespace_handlers.get("*")
        if owner is not None:
            return partial(owner.trigger_event, event, namespace, sid)
        return None

    def _resolver(self, sid: str, namespace: str) -> Callable[[str], Handler | None]:
        lookup = self._lookup

        def resolve(event: str) -> Handler | None:
            if event in RESERVED:
                return None
            return lookup(event, namespace, sid)

        return resolve

    # ---- where handlers run -------------------------------------------------------------

    def _threaded(self, handler: Handler) -> bool:
        """Whether ``handler`` runs on a pool thread: a sync handler of :class:`Server` with
        ``async_handlers`` (read at each event: the Flask test client turns it off)."""
        return self._pool is not None and self.async_handlers and not inspect.iscoroutinefunction(handler)

    def _run_event(self, fn: Handler, args: Iterable[Any], then: Callable[[Any], None] | None, what: str) -> None:
        """Runs an event handler as python-socketio does in threading mode, each event on a
        thread of its own, started in arrival order; the return value answers the ack from
        that thread. The context (``roomcast.ack_requested()``) goes with it."""
        dispatcher = self.io._dispatcher
        pool = self._pool
        if pool is None or not self._threaded(fn):
            dispatcher.run(fn, args, then, what)
            return
        context = contextvars.copy_context()

        def job() -> None:
            try:
                result = context.run(fn, *args)
            except Exception:
                handler_logger.exception("roomcast: %s %s raised", what, _name(fn))
                return
            if inspect.isawaitable(result):
                # An ``async def on_<event>`` behind a sync trigger_event: the loop awaits it.
                loop = dispatcher.loop
                if loop is not None:
                    loop.call_soon_threadsafe(dispatcher.run, partial(_given, result), (), then, what)
                return
            if then is not None:
                try:
                    then(result)
                except Exception:
                    handler_logger.exception("roomcast: the answer of %s %s failed", what, _name(fn))

        pool.submit(job)

    def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        """``fn(*args)`` on a pool thread, awaited on the loop (its exception included)."""
        assert self._pool is not None
        context = contextvars.copy_context()
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def job() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(context.run(fn, *args))
            except BaseException as e:
                done.set_exception(e)

        self._pool.submit(job)
        return _settled(asyncio.wrap_future(done, loop=self.io._dispatcher.loop))

    # ---- connection lifecycle ---------------------------------------------------------

    def _environ_of(self, socket: Socket) -> dict[str, Any]:
        environ = self._environ.get(socket.id)
        if environ is None:
            environ = self._environ[socket.id] = environ_from_handshake(socket.handshake)
        return environ

    def _run_connect(self, socket: Socket) -> Any:
        """Calls the connect handler; its result (or awaitable) says whether to accept. On a
        pool thread when the server runs handlers there: python-socketio runs it on the
        client's own thread, so a slow one holds up that client only."""
        handler = self._lookup("connect", socket.nsp.name, socket.id)
        if handler is None:
            return True
        if self._threaded(handler):
            return self._in_thread(self._call_connect, handler, socket)
        return self._call_connect(handler, socket)

    def _call_connect(self, handler: Handler, socket: Socket) -> Any:
        auth = socket.handshake.get("auth") or None
        return call_with(handler, (self._environ_of(socket), auth), optional=1)

    def _authorize(self, socket: Socket) -> Any:
        """The roomcast middleware that runs python-socketio's connect handler."""
        sid = socket.id
        self._connects += 1
        if self._connects % _SWEEP_EVERY == 0:
            self._sweep()
        self._connecting[sid] = []
        try:
            result = self._run_connect(socket)
        except builtins.ConnectionRefusedError as e:
            self._refused(sid)
            raise ConnectionRefused("Connection refused by server") from e
        except BaseException:
            self._refused(sid)
            raise
        if hasattr(result, "__await__"):
            return self._authorize_async(sid, result)
        if result is False:
            self._refused(sid)
            raise exceptions.ConnectionRefusedError()
        return None

    async def _authorize_async(self, sid: str, awaitable: Any) -> None:
        try:
            result = await awaitable
        except builtins.ConnectionRefusedError as e:
            self._refused(sid)
            raise ConnectionRefused("Connection refused by server") from e
        except BaseException:
            self._refused(sid)
            raise
        if result is False:
            self._refused(sid)
            raise exceptions.ConnectionRefusedError()

    def _sweep(self) -> None:
        """Forgets the state of clients that left between their connect handler and their
        connection (no disconnect event comes for them)."""
        io = self.io
        for table in (self._connecting, self._environ, self._sessions):
            # A snapshot: handler threads add sessions meanwhile.
            for sid in [s for s in list(table) if s not in io._sockets and s not in io._authorizing]:
                table.pop(sid, None)

    def _refused(self, sid: str) -> None:
        self._connecting.pop(sid, None)
        self._environ.pop(sid, None)
        self._sessions.pop(sid, None)

    def _connected(self, socket: Socket) -> Any:
        """roomcast's connection handler: events now reach python-socketio's handlers."""
        sid = socket.id
        socket._resolver = self._resolver(sid, socket.nsp.name)
        if self._pool is not None:
            socket._run = self._run_event
        elif not self.async_handlers:
            socket._run = InOrder(self.io._dispatcher)
        socket.on("disconnect", partial(self._disconnected, socket))
        if self.always_connect:
            return self._connect_after(socket)
        self._flush(socket)
        return None

    def _connect_after(self, socket: Socket) -> Any:
        """``always_connect``: the client is in; a refusing connect handler disconnects it."""
        try:
            result = self._run_connect(socket)
        except (exceptions.ConnectionRefusedError, builtins.ConnectionRefusedError):
            socket.disconnect()
            return None
        if hasattr(result, "__await__"):
            return self._connect_after_async(socket, result)
        if result is False:
            socket.disconnect()
        return None

    async def _connect_after_async(self, socket: Socket, awaitable: Any) -> None:
        try:
            result = await awaitable
        except (exceptions.ConnectionRefusedError, builtins.ConnectionRefusedError):
            result = False
        if result is False:
            socket.disconnect()

    def _flush(self, socket: Socket) -> None:
        """Sends what the connect handler emitted to the client, now that CONNECT is out."""
        for event, args, callback in self._connecting.pop(socket.id, None) or ():
            self._to_socket(socket, event, args, callback)

    def _disconnected(self, socket: Socket, reason: str) -> Any:
        sid = socket.id
        handler = self._lookup("disconnect", socket.nsp.name, sid)
        reason = REASONS.get(reason, reason)
        # The socket is gone from roomcast already; python-socketio's handler still has the
        # client's session (empty if none was saved) until it returns.
        self._sessions.setdefault(sid, {})
        if handler is not None and self._threaded(handler):
            return self._disconnected_async(sid, self._in_thread(call_with, handler, (reason,), 1))
        try:
            result = None if handler is None else call_with(handler, (reason,), optional=1)
        except BaseException:
            self._forget(sid)
            raise
        if hasattr(result, "__await__"):
            return self._disconnected_async(sid, result)
        self._forget(sid)
        return None

    async def _disconnected_async(self, sid: str, awaitable: Any) -> None:
        try:
            await awaitable
        finally:
            self._forget(sid)

    def _forget(self, sid: str) -> None:
        self._environ.pop(sid, None)
        self._sessions.pop(sid, None)
        self._connecting.pop(sid, None)

    # ---- emitting -----------------------------------------------------------------------

    def _emit(
        self,
        event: str,
        data: Any,
        to: Target,
        room: Target,
        skip_sid: str | list[str] | None,
        namespace: str | None,
        callback: Handler | None,
    ) -> None:
        target = to or room
        args = _args(data)
        if isinstance(target, str) and skip_sid is None:
            pending = self._connecting.get(target)
            if pending is not None:
                pending.append((event, args, callback))
                return
            socket = self.io.get_socket(target)
            if socket is not None and socket.nsp.name == (namespace or "/"):
                self._to_socket(socket, event, args, callback)
                return
        nsp = self._namespace(namespace)
        if nsp is None:
            return
        op = nsp.broadcast if target is None else nsp.to(target)
        if skip_sid is not None:
            op = op.except_(skip_sid)
        if callback is None:
            op.emit(event, *args)
            return
        if target is None:
            raise ValueError("emit(callback=...) needs to=<sid>: acknowledgements come from one client each")
        dispatcher = self.io._dispatcher

        def answered(fut: Any, timed_out: bool, responses: list[tuple[str, list[bytes] | None]]) -> None:
            _resolve(fut, None)
            for json_text, binaries in responses:
                dispatcher.run(callback, _codec.decode(json_text, binaries), None, "acknowledgement callback")

        token, _ = dispatcher.expect(answered)
        json_text, binaries = _codec.encode(args)
        try:
            op._native.emit_with_ack(event, json_text, binaries, token)
        except BaseException:
            dispatcher.forget(token)
            raise

    def _to_socket(self, socket: Socket, event: str, args: tuple[Any, ...], callback: Handler | None) -> None:
        if callback is None:
            socket.emit(event, *args)
            return
        dispatcher = self.io._dispatcher

        def answered(fut: Any, error: str | None, json_text: str | None, binaries: list[bytes] | None) -> None:
            _resolve(fut, None)
            if error is None:
                dispatcher.run(callback, _codec.decode(json_text or "[]", binaries), None, "acknowledgement callback")

        socket._emit_with_ack(event, args, None, answered)

    # ---- rooms, sessions, clients -------------------------------------------------------

    def _enter_room(self, sid: str, room: str, namespace: str | None) -> None:
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.join(room)
            return
        nsp = self._namespace(namespace)
        if nsp is not None:  # another node's client (Redis), or nobody: a no-op
            nsp.in_(sid).sockets_join(room)

    def _leave_room(self, sid: str, room: str, namespace: str | None) -> None:
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.leave(room)
            return
        nsp = self._namespace(namespace)
        if nsp is not None:
            nsp.in_(sid).sockets_leave(room)

    def _close_room(self, room: str, namespace: str | None) -> None:
        nsp = self._namespace(namespace)
        if nsp is not None:
            nsp.in_(room).sockets_leave(room)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms client ``sid`` is in, its own sid first; ``[]`` for a client this
        server does not have."""
        socket = self._socket(sid, namespace)
        if socket is None:
            return []
        others = sorted(r for r in socket.rooms if r != sid)
        return [sid, *others]

    def transport(self, sid: str, namespace: str | None = None) -> str:
        """``"polling"`` or ``"websocket"``; KeyError for an unknown sid."""
        socket = self._socket(sid, namespace)
        if socket is None:
            raise KeyError(f"no client {sid!r} in namespace {namespace or '/'!r} on this server")
        return socket.transport

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The WSGI-style environ of the client's connection request (see the migration
        guide for its keys), or None for an unknown sid."""
        environ = self._environ.get(sid)
        if environ is not None:
            return environ
        socket = self._socket(sid, namespace)
        return None if socket is None else self._environ_of(socket)

    def _session(self, sid: str, namespace: str | None) -> dict[str, Any]:
        session = self._sessions.get(sid)
        if session is None:
            if self._socket(sid, namespace) is None:
                raise KeyError(f"no session for {sid!r}: no such client on this server")
            session = self._sessions[sid] = {}
        return session

    def _save_session(self, sid: str, session: dict[str, Any], namespace: str | None) -> None:
        if sid not in self._sessions and self._socket(sid, namespace) is None:
            raise KeyError(f"no session for {sid!r}: no such client on this server")
        self._sessions[sid] = session

    def _disconnect(self, sid: str, namespace: str | None) -> None:
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.disconnect()
            return
        nsp = self._namespace(namespace)
        if nsp is not None:
            nsp.in_(sid).disconnect_sockets()

    def attach(self, app: Any, socketio_path: str = "socket.io") -> None:
        """python-socketio attaches to aiohttp, Sanic and Tornado apps; roomcast serves ASGI
        and WSGI apps and its own listener."""
        raise NotImplementedError(
            f"attach({type(app).__name__}) is not supported by roomcast: mount the server with "
            "ASGIApp / WSGIApp, or serve it on roomcast's listener (AsyncServer.serve)"
        )

    def instrument(
        self,
        auth: Any = None,
        mode: str = "development",
        read_only: bool = False,
        server_id: str | None = None,
        namespace: str = "/admin",
        server_stats_interval: float = 2,
    ) -> None:
        """Serves the Socket.IO admin UI, as python-socketio's ``instrument()``: see
        :meth:`roomcast.Server.instrument`."""
        self.io.instrument(
            auth=auth,
            mode=mode,
            read_only=read_only,
            server_id=server_id,
            namespace=namespace,
            server_stats_interval=server_stats_interval,
        )
