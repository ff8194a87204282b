"""`Socket`: one client's connection to one namespace, as handlers see it."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from . import _codec
from ._dispatch import ACK_REQUESTED, logger, resolve_ack
from ._pending import Pending
from ._rooms import Rooms, room_list
from .errors import Disconnected
from .operator import BroadcastOperator

if TYPE_CHECKING:
    from . import _native
    from .namespace import Namespace
    from .server import Server

__all__ = ["Socket", "SocketData"]

F = TypeVar("F", bound=Callable[..., Any])

#: Names of socket lifecycle events: handlers for them are listeners, not client events.
LIFECYCLE = ("disconnect", "disconnecting", "error")


class SocketData(dict):  # type: ignore[type-arg]
    """``socket.data``: a dict whose every top-level change is written through to the core as
    JSON, so ``fetch_sockets()`` sees it.

    Changes inside nested values (``socket.data["list"].append(x)``) are not seen; assign
    the key again (``socket.data["list"] = lst``) or call :meth:`sync`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._native = native

    def sync(self) -> None:
        """Writes the current contents to the core."""
        self._native.set_data(_codec.dumps(dict(self)))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.sync()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.sync()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Updates and writes through."""
        super().update(*args, **kwargs)
        self.sync()

    def pop(self, *args: Any) -> Any:
        """Removes a key and writes through."""
        value = super().pop(*args)
        self.sync()
        return value

    def popitem(self) -> Any:
        """Removes an item and writes through."""
        item = super().popitem()
        self.sync()
        return item

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """Sets a missing key and writes through."""
        value = super().setdefault(key, default)
        self.sync()
        return value

    def clear(self) -> None:
        """Empties and writes through."""
        super().clear()
        self.sync()

    def __ior__(self, other: Any) -> SocketData:  # type: ignore[misc]
        super().update(other)
        self.sync()
        return self


class Socket:
    """A client's connection to one namespace.

    Handlers get one in ``@nsp.on("connection")``; register the socket's event handlers
    there. Every method is safe to call from any thread; handlers run on the server's event
    loop.
    """

    def __init__(self, server: Server, native: _native.Socket, nsp: Namespace) -> None:
        self._server = server
        self._native = native
        #: The socket id (20 characters), also the name of a room only this socket is in.
        self.id: str = native.id
        #: The namespace the socket is connected to.
        self.nsp: Namespace = nsp
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._any: list[Callable[..., Any]] = []
        self._any_outgoing: list[Callable[..., Any]] = []
        self._uses: list[Callable[..., Any]] = []
        self._error_handlers: list[Callable[..., Any]] = []
        self._disconnecting_handlers: list[Callable[..., Any]] = []
        self._disconnect_handlers: list[Callable[..., Any]] = []
        self._handshake: dict[str, Any] | None = None
        self._data: SocketData | None = None
        # Events waiting while an async packet middleware runs (keeps them in order).
        self._backlog: deque[tuple[Any, ...]] | None = None
        # Front doors with handler tables of their own (roomcast.socketio) look handlers up
        # when an event arrives: ``resolver(event)`` -> a callable taking the event's
        # arguments, or None when nothing handles it.
        self._resolver: Callable[[str], Callable[..., Any] | None] | None = None
        # Front doors that run handlers elsewhere (roomcast.socketio.Server: on threads)
        # replace ``Dispatcher.run`` for this socket's events; same arguments.
        self._run: Callable[..., None] | None = None

    # ---- state ----------------------------------------------------------------------

    @property
    def server(self) -> Server:
        """The server this socket belongs to."""
        return self._server

    @property
    def connected(self) -> bool:
        """Whether the socket is still connected to its namespace."""
        return self._native.connected

    @property
    def recovered(self) -> bool:
        """Whether this socket resumed a lost connection's session (with the
        ``connection_state_recovery`` option): same id, rooms and data, missed broadcasts
        delivered."""
        return self._native.recovered

    @property
    def transport(self) -> str:
        """The transport in use now: ``"polling"`` or ``"websocket"``."""
        return self._native.transport

    @property
    def engine_id(self) -> str:
        """The id of the underlying Engine.IO connection (shared by its namespaces)."""
        return self._native.engine_id

    @property
    def handshake(self) -> dict[str, Any]:
        """The first HTTP request of the connection, as socket.io exposes it: ``headers``
        (lower-case names), ``query``, ``auth`` (the CONNECT payload), ``address``, ``url``,
        ``secure``, ``xdomain``, ``issued`` (ms since the epoch) and ``time``."""
        if self._handshake is None:
            self._handshake = _codec.loads(self._native.handshake())
        return self._handshake

    @property
    def auth(self) -> dict[str, Any]:
        """The auth payload the client sent with CONNECT (``{}`` when none)."""
        auth = self.handshake.get("auth")
        return auth if isinstance(auth, dict) else {}

    @property
    def data(self) -> SocketData:
        """Application data attached to the socket, shared with ``fetch_sockets()`` (see
        :class:`SocketData` for what is written through)."""
        if self._data is None:
            try:
                initial = _codec.loads(self._native.data())
            except ValueError:
                initial = {}
            self._data = SocketData(self._native, initial if isinstance(initial, dict) else {})
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = SocketData(self._native, value)
        self._data.sync()

    @property
    def rooms(self) -> set[str]:
        """The rooms the socket is in, its own id among them."""
        return set(self._native.rooms())

    # ---- rooms ----------------------------------------------------------------------

    def join(self, rooms: Rooms) -> None:
        """Joins a room or several (``socket.join("a")``, ``socket.join(["a", "b"])``)."""
        self._native.join(room_list(rooms))

    def leave(self, rooms: Rooms) -> None:
        """Leaves a room or several."""
        self._native.leave(room_list(rooms))

    # ---- emitting -------------------------------------------------------------------

    def emit(self, event: str, *args: Any) -> bool:
        """Sends ``event`` with ``args`` to this client. Returns False if the socket is gone.

        ``bytes``/``bytearray``/``memoryview`` values travel as binary attachments. Never
        blocks on the network: the packet is queued and written by the core.
        """
        json_text, binaries = _codec.encode(args)
        return self._native.emit(event, json_text, binaries)

    def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Pending[Any]:
        """Sends ``event`` and waits for the client's acknowledgement.

        The result is what the client acknowledged with: ``None`` for no argument, the
        value for one, a tuple for several. Raises :class:`~roomcast.AckTimeout` after
        ``timeout`` seconds, :class:`~roomcast.Disconnected` if the socket goes away first.
        ``await`` it, or call ``.result()`` from another thread.
        """
        return self._emit_with_ack(event, args, timeout, resolve_ack)

    def _emit_with_ack(
        self, event: str, args: tuple[Any, ...], timeout: float | None, convert: Callable[..., None]
    ) -> Pending[Any]:
        """``emit_with_ack`` whose completion ``convert(fut, error, json_text, binaries)``
        resolves (front doors that need the answer's arguments as a list)."""
        dispatcher = self._server._dispatcher
        token, fut = dispatcher.expect(convert)
        json_text, binaries = _codec.encode(args)
        try:
            sent = self._native.emit_with_ack(event, json_text, binaries, timeout, token)
        except BaseException:
            dispatcher.forget(token)
            raise
        if not sent:
            dispatcher.fail(token, Disconnected("the socket is disconnected"))
        return Pending(fut, dispatcher.thread_id)

    @property
    def volatile(self) -> _FlaggedSocket:
        """``socket.volatile.emit(...)``: dropped if the transport cannot take it right now."""
        return _FlaggedSocket(self._native, volatile=True, compress=True)

    def compress(self, compress: bool = True) -> _FlaggedSocket:
        """``socket.compress(False).emit(...)``: sent without compression (permessage-deflate,
        a long-poll's gzip)."""
        return _FlaggedSocket(self._native, volatile=False, compress=bool(compress))

    # ---- broadcasting from this socket ------------------------------------------------

    @property
    def broadcast(self) -> BroadcastOperator:
        """Every socket of the namespace except this one."""
        return BroadcastOperator(self._server, self._native.broadcast())

    def to(self, rooms: Rooms) -> BroadcastOperator:
        """The sockets in ``rooms``, except this one."""
        return self.broadcast.to(rooms)

    def in_(self, rooms: Rooms) -> BroadcastOperator:
        """Same as :meth:`to`."""
        return self.broadcast.to(rooms)

    def except_(self, rooms: Rooms) -> BroadcastOperator:
        """Every socket of the namespace but those in ``rooms`` and this one."""
        return self.broadcast.except_(rooms)

    # ---- handlers -------------------------------------------------------------------

    @overload
    def on(self, event: str) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Registers the handler of a client event (decorator or call form).

        The handler gets the event's arguments; its return value answers the client's
        acknowledgement if it asked for one (``None`` -> no argument, a tuple -> several).
        ``async def`` handlers answer when they return. One handler per event: a new one
        replaces the old.

        Lifecycle listeners use the same method: ``"disconnecting"`` and ``"disconnect"``
        get the reason; ``"error"`` gets the exception a ``socket.use`` middleware raised.
        """

        def register(fn: F) -> F:
            if event == "disconnect":
                self._disconnect_handlers.append(fn)
            elif event == "disconnecting":
                self._disconnecting_handlers.append(fn)
            elif event == "error":
                self._error_handlers.append(fn)
            else:
                self._handlers[event] = fn
            return fn

        return register if handler is None else register(handler)

    def off(self, event: str, handler: Callable[..., Any] | None = None) -> None:
        """Removes the handler of ``event`` (or one lifecycle listener, or all of them)."""
        lists = {
            "disconnect": self._disconnect_handlers,
            "disconnecting": self._disconnecting_handlers,
            "error": self._error_handlers,
        }
        if event in lists:
            target = lists[event]
            if handler is None:
                target.clear()
            elif handler in target:
                target.remove(handler)
        else:
            self._handlers.pop(event, None)

    def on_any(self, handler: F) -> F:
        """Sees every incoming event as ``handler(event, *args)``, before its own handler."""
        self._any.append(handler)
        return handler

    def on_any_outgoing(self, handler: F) -> F:
        """Sees every event sent to this socket, broadcasts included, as
        ``handler(event, *args)``. Costs a call per outgoing event while registered."""
        self._any_outgoing.append(handler)
        self._native.set_notify_outgoing(True)
        return handler

    def use(self, middleware: F) -> F:
        """A packet middleware: ``middleware(event, args)`` runs for every incoming event
        (``args`` is a list it may change). Raising drops the event and passes the exception
        to the socket's ``"error"`` listeners. May be ``async``; events stay in order."""
        self._uses.append(middleware)
        return middleware

    # ---- lifecycle ------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> Socket:
        """Disconnects from the namespace; with ``close=True`` the whole connection closes
        (every namespace on it)."""
        self._native.disconnect(close)
        return self

    def __repr__(self) -> str:
        return f"<roomcast.Socket id={self.id} nsp={self.nsp.name}>"

    # ---- driven by the dispatcher --------------------------------------------------------

    def _receive(self, name: str, json_text: str, binaries: list[bytes] | None, ack: Any) -> None:
        if self._backlog is not None:
            self._backlog.append((name, json_text, binaries, ack))
            return
        if not self._uses and not self._any and name not in self._handlers and self._resolver is None:
            return  # nobody listens: as in socket.io, the event (and its ack) is dropped
        args = _codec.decode(json_text, binaries)
        self._middlewares(name, args, ack, 0)

    def _middlewares(self, name: str, args: list[Any], ack: Any, start: int) -> None:
        uses = self._uses
        for i in range(start, len(uses)):
            try:
                result = uses[i](name, args)
            except Exception as e:
                self._rejected(e)
                return
            if hasattr(result, "__await__"):
                self._backlog = deque()
                self._server._dispatcher.spawn(self._resume(result, name, args, ack, i + 1))
                return
        self._deliver(name, args, ack)

    async def _resume(self, awaitable: Any, name: str, args: list[Any], ack: Any, next_index: int) -> None:
        try:
            await awaitable
            failed: Exception | None = None
        except Exception as e:
            failed = e
        backlog, self._backlog = self._backlog, None
        if failed is not None:
            self._rejected(failed)
        else:
            self._middlewares(name, args, ack, next_index)
        while backlog:
            if self._backlog is not None:  # another async middleware started: it keeps the rest
                self._backlog.extend(backlog)
                return
            self._receive(*backlog.popleft())

    def _rejected(self, error: Exception) -> None:
        if not self._error_handlers:
            logger.debug("roomcast: a packet middleware refused an event: %r", error)
            return
        dispatcher = self._server._dispatcher
        for fn in list(self._error_handlers):
            dispatcher.run(fn, (error,), None, "error listener")

    def _deliver(self, name: str, args: list[Any], ack: Any) -> None:
        dispatcher = self._server._dispatcher
        for fn in list(self._any):
            dispatcher.run(fn, (name, *args), None, "catch-all listener")
        handler = self._handlers.get(name)
        if handler is None:
            resolver = self._resolver
            handler = None if resolver is None else resolver(name)
            if handler is None:
                return
        then = None if ack is None else _ack_sender(ack)
        token = ACK_REQUESTED.set(ack is not None)
        try:
            (self._run or dispatcher.run)(handler, args, then, f"handler of {name!r}:")
        finally:
            ACK_REQUESTED.reset(token)


def _ack_sender(ack: Any) -> Callable[[Any], None]:
    def send(result: Any) -> None:
        json_text, binaries = _codec.encode(_codec.pack(result))
        ack.send(json_text, binaries)

    return send


class _FlaggedSocket:
    """A socket with per-packet flags for the next ``emit`` (``volatile``, ``compress``)."""

    __slots__ = ("_native", "_volatile", "_compress")

    def __init__(self, native: _native.Socket, *, volatile: bool, compress: bool) -> None:
        self._native = native
        self._volatile = volatile
        self._compress = compress

    @property
    def volatile(self) -> _FlaggedSocket:
        return _FlaggedSocket(self._native, volatile=True, compress=self._compress)

    def compress(self, compress: bool = True) -> _FlaggedSocket:
        return _FlaggedSocket(self._native, volatile=self._volatile, compress=bool(compress))

    def emit(self, event: str, *args: Any) -> bool:
        """Sends ``event``; False when the socket is disconnected (a volatile packet that is
        dropped is not an error)."""
        json_text, binaries = _codec.encode(args)
        return self._native.emit(event, json_text, binaries, self._volatile, self._compress)


