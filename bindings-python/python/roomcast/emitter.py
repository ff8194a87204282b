"""`Emitter`: sends to the clients of a cluster from a process that runs no Socket.IO server
(a worker, a cron job), wire-compatible with Node's ``@socket.io/redis-emitter``."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from . import _codec, _native
from ._pending import Pending
from ._rooms import Rooms, room_list
from .errors import EmitError, RoomcastError

__all__ = ["Emitter"]


def _settled() -> tuple[concurrent.futures.Future[None], Any]:
    """A future and the callback the extension calls once Redis has taken the message."""
    fut: concurrent.futures.Future[None] = concurrent.futures.Future()

    def done(kind: str | None, message: str | None) -> None:
        try:
            if kind is None:
                fut.set_result(None)
            elif kind == "emit":
                fut.set_exception(EmitError(message))
            else:
                fut.set_exception(RoomcastError(f"cannot publish to Redis: {message}"))
        except concurrent.futures.InvalidStateError:  # cancelled meanwhile
            pass

    return fut, done


class Emitter:
    """Publishes to Redis what ``@socket.io/redis-emitter`` publishes, so every roomcast or
    socket.io node of the cluster (Redis adapter, same ``key``) delivers it::

        emitter = roomcast.Emitter("redis://localhost:6379")
        emitter.to("room").emit("time", "12:00").result()        # plain code: wait
        await emitter.of("/chat").emit("news", {"n": 1})        # asyncio

    Selection methods (``of``, ``to``, ``in_``, ``except_``, ``volatile``, ``compress``)
    return a new emitter, so one can be kept and reused. Actions start publishing at once
    and return a :class:`~roomcast.Pending`: ``await`` it in a coroutine, call
    ``.result(timeout)`` in plain code (it blocks the calling thread only), or drop it to fire
    and forget (a process that exits right away may then lose the message). Publishing runs
    on roomcast's I/O threads without the GIL. The connection is made on first use and
    re-established when Redis comes back; there is nothing to close.
    """

    __slots__ = ("_native", "_nsp", "_rooms", "_except", "_volatile", "_compress")

    def __init__(self, url: str, *, key: str = "socket.io") -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://")):
            raise ValueError(f"Emitter needs a redis:// or rediss:// URL, got {url!r}")
        self._native = _native.Emitter(url, key)
        self._nsp = "/"
        self._rooms: tuple[str, ...] = ()
        self._except: tuple[str, ...] = ()
        self._volatile = False
        self._compress: bool | None = None

    def _derive(self, **changes: Any) -> Emitter:
        other = object.__new__(Emitter)
        other._native = self._native
        other._nsp = changes.get("nsp", self._nsp)
        other._rooms = changes.get("rooms", self._rooms)
        other._except = changes.get("except_", self._except)
        other._volatile = changes.get("volatile", self._volatile)
        other._compress = changes.get("compress", self._compress)
        return other

    # ---- selection --------------------------------------------------------------------

    def of(self, namespace: str) -> Emitter:
        """The same emitter for another namespace (recipients and flags are reset)."""
        if not isinstance(namespace, str):
            raise TypeError(f"namespace names are str, not {type(namespace).__name__}")
        name = namespace if namespace.startswith("/") else f"/{namespace}"
        return self._derive(nsp=name, rooms=(), except_=(), volatile=False, compress=None)

    def to(self, rooms: Rooms) -> Emitter:
        """Only the sockets in these rooms (several rooms: each socket once)."""
        return self._derive(rooms=self._rooms + tuple(room_list(rooms)))

    def in_(self, rooms: Rooms) -> Emitter:
        """Same as :meth:`to`."""
        return self.to(rooms)

    def except_(self, rooms: Rooms) -> Emitter:
        """Skips the sockets in these rooms."""
        return self._derive(except_=self._except + tuple(room_list(rooms)))

    @property
    def volatile(self) -> Emitter:
        """The packet may be dropped for clients that cannot take it right now."""
        return self._derive(volatile=True)

    def compress(self, compress: bool = True) -> Emitter:
        """Asks for compression where the transport supports it."""
        return self._derive(compress=bool(compress))

    # ---- actions ----------------------------------------------------------------------

    def emit(self, event: str, *args: Any) -> Pending[None]:
        """Broadcasts ``event`` to the selected sockets of every node. ``bytes`` values
        (anywhere in the arguments) arrive as binary. No acknowledgements, as with the Node
        emitter. A reserved event name raises :class:`~roomcast.EmitError` (on ``await`` /
        ``result()``)."""
        if not isinstance(event, str):
            raise TypeError(f"event names are str, not {type(event).__name__}")
        json_text, binaries = _codec.encode(args)
        fut, done = _settled()
        self._native.emit(
            self._nsp, list(self._rooms), list(self._except), self._volatile, self._compress,
            event, json_text, binaries, done,
        )
        return Pending(fut, None)

    def sockets_join(self, rooms: Rooms) -> Pending[None]:
        """Makes the selected sockets join ``rooms``, on every node."""
        fut, done = _settled()
        self._native.sockets_join(self._nsp, list(self._rooms), list(self._except), room_list(rooms), done)
        return Pending(fut, None)

    def sockets_leave(self, rooms: Rooms) -> Pending[None]:
        """Makes the selected sockets leave ``rooms``, on every node."""
        fut, done = _settled()
        self._native.sockets_leave(self._nsp, list(self._rooms), list(self._except), room_list(rooms), done)
        return Pending(fut, None)

    def disconnect_sockets(self, close: bool = False) -> Pending[None]:
        """Disconnects the selected sockets, on every node (``close``: also close their
        connection)."""
        fut, done = _settled()
        self._native.disconnect_sockets(self._nsp, list(self._rooms), list(self._except), bool(close), done)
        return Pending(fut, None)

    def server_side_emit(self, event: str, *args: Any) -> Pending[None]:
        """Sends an event to the servers of the cluster: their ``@io.on(event)`` handlers of
        this namespace run. No acknowledgement."""
        if not isinstance(event, str):
            raise TypeError(f"event names are str, not {type(event).__name__}")
        json_text, binaries = _codec.encode(args)
        fut, done = _settled()
        self._native.server_side_emit(self._nsp, event, json_text, binaries, done)
        return Pending(fut, None)

    def __repr__(self) -> str:
        return f"<Emitter nsp={self._nsp!r} rooms={list(self._rooms)!r} except={list(self._except)!r}>"
