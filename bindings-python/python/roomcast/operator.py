"""`BroadcastOperator`: who a broadcast goes to and how, then what to do with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _codec
from ._dispatch import _resolve, resolve_broadcast_ack
from ._pending import Pending
from ._rooms import Rooms, room_list

if TYPE_CHECKING:
    from . import _native
    from .server import Server

__all__ = ["BroadcastOperator", "RemoteSocket"]


class BroadcastOperator:
    """Selects recipients (``to`` / ``in_`` / ``except_``) and flags (``volatile``,
    ``local``, ``compress``, ``timeout``), then acts on them. Each method returns a new
    operator, so one can be kept and reused. Fan-out happens in the core, without the GIL.
    """

    __slots__ = ("_server", "_native")

    def __init__(self, server: Server, native: _native.Operator) -> None:
        self._server = server
        self._native = native

    # ---- selection --------------------------------------------------------------------

    def to(self, rooms: Rooms) -> BroadcastOperator:
        """Adds rooms to the targets (a socket id is a room too). Several rooms: each socket
        once."""
        return BroadcastOperator(self._server, self._native.to(room_list(rooms)))

    def in_(self, rooms: Rooms) -> BroadcastOperator:
        """Same as :meth:`to`."""
        return self.to(rooms)

    def except_(self, rooms: Rooms) -> BroadcastOperator:
        """Skips the sockets in these rooms."""
        return BroadcastOperator(self._server, self._native.except_(room_list(rooms)))

    @property
    def volatile(self) -> BroadcastOperator:
        """Drops the packet for recipients whose transport cannot take it right now."""
        return BroadcastOperator(self._server, self._native.volatile())

    @property
    def local(self) -> BroadcastOperator:
        """Only this server's sockets (matters with a cluster adapter)."""
        return BroadcastOperator(self._server, self._native.local())

    def compress(self, compress: bool = True) -> BroadcastOperator:
        """Asks for compression where the transport supports it."""
        return BroadcastOperator(self._server, self._native.compress(bool(compress)))

    def timeout(self, seconds: float) -> BroadcastOperator:
        """The time :meth:`emit_with_ack` waits for acknowledgements."""
        return BroadcastOperator(self._server, self._native.timeout(float(seconds)))

    # ---- actions ----------------------------------------------------------------------

    def emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` to every selected socket. Encoded once; never blocks on the
        network."""
        json_text, binaries = _codec.encode(args)
        self._native.emit(event, json_text, binaries)

    def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Pending[list[Any]]:
        """Sends ``event`` to every selected socket and collects their acknowledgements: a
        list with one entry per socket (``None``, a value, or a tuple, as for
        :meth:`Socket.emit_with_ack`). On timeout raises :class:`~roomcast.AckTimeout` whose
        ``responses`` holds the answers that came. No recipient: ``[]`` at once."""
        native = self._native if timeout is None else self._native.timeout(float(timeout))
        dispatcher = self._server._dispatcher
        token, fut = dispatcher.expect(resolve_broadcast_ack)
        json_text, binaries = _codec.encode(args)
        try:
            native.emit_with_ack(event, json_text, binaries, token)
        except BaseException:
            dispatcher.forget(token)
            raise
        return Pending(fut, dispatcher.thread_id)

    def fetch_sockets(self) -> Pending[list[RemoteSocket]]:
        """The selected sockets, as :class:`RemoteSocket` (cluster-wide with a cluster
        adapter)."""
        server = self._server
        dispatcher = server._dispatcher

        def convert(fut: Any, error: str | None, rows: list[tuple[Any, ...]]) -> None:
            if error is not None:
                _resolve(fut, error=RuntimeError(f"fetch_sockets failed: {error}"))
                return
            _resolve(fut, [RemoteSocket(server, *row) for row in rows])

        token, fut = dispatcher.expect(convert)
        self._native.fetch_sockets(token)
        return Pending(fut, dispatcher.thread_id)

    def sockets_join(self, rooms: Rooms) -> None:
        """Makes the selected sockets join rooms."""
        self._native.sockets_join(room_list(rooms))

    def sockets_leave(self, rooms: Rooms) -> None:
        """Makes the selected sockets leave rooms."""
        self._native.sockets_leave(room_list(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnects the selected sockets; ``close=True`` closes their connections."""
        self._native.disconnect_sockets(bool(close))

    def __repr__(self) -> str:
        n = self._native
        return f"<roomcast.BroadcastOperator nsp={n.ns} rooms={n.rooms} except={n.except_rooms}>"


class RemoteSocket:
    """A socket as ``fetch_sockets()`` returns it (possibly served by another node)."""

    __slots__ = ("_server", "id", "nsp", "handshake", "rooms", "data")

    def __init__(self, server: Server, sid: str, nsp: str, handshake: str, rooms: list[str], data: str) -> None:
        self._server = server
        #: The socket id.
        self.id: str = sid
        #: The namespace name.
        self.nsp: str = nsp
        #: The handshake, as :attr:`Socket.handshake`.
        self.handshake: dict[str, Any] = _codec.loads(handshake)
        #: Its rooms when fetched.
        self.rooms: set[str] = set(rooms)
        #: ``socket.data`` when fetched (a copy: changing it changes nothing remotely).
        self.data: Any = _codec.loads(data)

    def _op(self) -> BroadcastOperator:
        return self._server.of(self.nsp).to(self.id)

    def emit(self, event: str, *args: Any) -> None:
        """Sends an event to this socket."""
        self._op().emit(event, *args)

    def join(self, rooms: Rooms) -> None:
        """Makes the socket join rooms."""
        self._op().sockets_join(rooms)

    def leave(self, rooms: Rooms) -> None:
        """Makes the socket leave rooms."""
        self._op().sockets_leave(rooms)

    def disconnect(self, close: bool = False) -> None:
        """Disconnects the socket."""
        self._op().disconnect_sockets(close)

    def __repr__(self) -> str:
        return f"<roomcast.RemoteSocket id={self.id} nsp={self.nsp}>"
