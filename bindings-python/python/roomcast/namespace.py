"""Namespaces: `Namespace` (``io.of("/chat")``) and `DynamicNamespace` (``io.of(regex)`` /
``io.of(callable)``), whose children are created on their first connection."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union, overload

from . import _codec
from ._dispatch import _resolve
from ._pending import Pending
from ._rooms import Rooms
from .operator import BroadcastOperator, RemoteSocket

if TYPE_CHECKING:
    from . import _native
    from .server import Server
    from .socket import Socket

__all__ = ["Namespace", "DynamicNamespace", "Matcher"]

F = TypeVar("F", bound=Callable[..., Any])

#: What ``io.of`` accepts for a dynamic namespace: a compiled pattern (the whole name must
#: match) or ``predicate(name, auth) -> bool`` (sync or async).
Matcher = Union["re.Pattern[str]", Callable[[str, dict[str, Any]], Any]]


class _Handlers:
    """Middlewares and connection handlers of a namespace (shared by dynamic children)."""

    _native: Any

    def __init__(self) -> None:
        self._middlewares: list[Callable[..., Any]] = []
        self._connection_handlers: list[Callable[..., Any]] = []
        self._server_side_handlers: dict[str, Callable[..., Any]] = {}

    @overload
    def on(self, event: str) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Registers a ``"connection"`` (alias ``"connect"``) handler, decorator or call form.

        The handler gets the new :class:`Socket`; the socket's events wait until it has
        returned (an ``async def`` handler: until it has finished), so handlers registered
        in it miss nothing.

        Any other name registers the handler of an event that other servers of the cluster
        send with ``server_side_emit`` (client events are registered on the socket); its
        return value answers ``server_side_emit_with_ack``.
        """

        def register(fn: F) -> F:
            if event in ("connection", "connect"):
                self._connection_handlers.append(fn)
            else:
                self._server_side_handlers[event] = fn
            return fn

        return register if handler is None else register(handler)

    def use(self, middleware: F) -> F:
        """Adds a connection middleware (decorator or call form): ``middleware(socket)``,
        sync or async, runs before the connection is accepted, in registration order.
        Raise :class:`~roomcast.ConnectionRefused` to refuse: the client gets
        ``connect_error`` with its message and data. Any other exception refuses with
        ``"server error"`` and is logged."""
        self._middlewares.append(middleware)
        self._native.set_has_middlewares(True)
        return middleware


class Namespace(_Handlers):
    """A namespace: its connected sockets, its rooms, its handlers and broadcasts to it."""

    def __init__(self, server: Server, native: _native.Namespace, parent: DynamicNamespace | None = None) -> None:
        super().__init__()
        self._server = server
        self._native = native
        #: The namespace name, e.g. ``"/chat"``.
        self.name: str = native.name
        #: The dynamic namespace this one was created from, if any.
        self.parent = parent
        self._sockets: dict[str, Socket] = {}

    @property
    def server(self) -> Server:
        """The server of this namespace."""
        return self._server

    @property
    def sockets(self) -> dict[str, Socket]:
        """The connected sockets of this namespace on this server, by id (a copy)."""
        return dict(self._sockets)

    def get_socket(self, sid: str) -> Socket | None:
        """The connected socket ``sid`` of this namespace on this server, or None."""
        return self._sockets.get(sid)

    @property
    def rooms(self) -> set[str]:
        """The names of this server's rooms that have members (socket-id rooms included)."""
        return set(self._native.rooms())

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:  # noqa: D102
        if self.parent is not None:
            raise TypeError(
                f"{self.name} was created by a dynamic namespace: register its handlers on "
                "the dynamic namespace (the object io.of(pattern) returned)"
            )
        return super().on(event) if handler is None else super().on(event, handler)

    on.__doc__ = _Handlers.on.__doc__

    def use(self, middleware: F) -> F:  # noqa: D102
        if self.parent is not None:
            raise TypeError(
                f"{self.name} was created by a dynamic namespace: add middlewares to the "
                "dynamic namespace (the object io.of(pattern) returned)"
            )
        return super().use(middleware)

    use.__doc__ = _Handlers.use.__doc__

    # ---- broadcasting -----------------------------------------------------------------

    @property
    def broadcast(self) -> BroadcastOperator:
        """An operator over every socket of the namespace."""
        return BroadcastOperator(self._server, self._native.operator())

    def to(self, rooms: Rooms) -> BroadcastOperator:
        """The sockets in ``rooms`` (several rooms: each socket once)."""
        return self.broadcast.to(rooms)

    def in_(self, rooms: Rooms) -> BroadcastOperator:
        """Same as :meth:`to`."""
        return self.broadcast.to(rooms)

    def except_(self, rooms: Rooms) -> BroadcastOperator:
        """Every socket but those in ``rooms``."""
        return self.broadcast.except_(rooms)

    @property
    def volatile(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.volatile`."""
        return self.broadcast.volatile

    @property
    def local(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.local`."""
        return self.broadcast.local

    def compress(self, compress: bool = True) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.compress`."""
        return self.broadcast.compress(compress)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.timeout`."""
        return self.broadcast.timeout(seconds)

    def emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` to every socket of the namespace."""
        self.broadcast.emit(event, *args)

    def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Pending[list[Any]]:
        """See :meth:`BroadcastOperator.emit_with_ack`."""
        return self.broadcast.emit_with_ack(event, *args, timeout=timeout)

    def fetch_sockets(self) -> Pending[list[RemoteSocket]]:
        """Every socket of the namespace, as :class:`RemoteSocket`."""
        return self.broadcast.fetch_sockets()

    def sockets_join(self, rooms: Rooms) -> None:
        """Makes every socket join rooms."""
        self.broadcast.sockets_join(rooms)

    def sockets_leave(self, rooms: Rooms) -> None:
        """Makes every socket leave rooms."""
        self.broadcast.sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnects every socket of the namespace."""
        self.broadcast.disconnect_sockets(close)

    # ---- the cluster ------------------------------------------------------------------

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Sends an event to this namespace on the other servers of the cluster (their
        ``nsp.on(event)`` handlers); nothing happens on a single server."""
        json_text, binaries = _codec.encode(args)
        self._native.server_side_emit(event, json_text, binaries)

    def server_side_emit_with_ack(self, event: str, *args: Any) -> Pending[list[Any]]:
        """Like :meth:`server_side_emit`; the result is the list of the other servers'
        answers (one each; ``[]`` on a single server)."""
        dispatcher = self._server._dispatcher

        def convert(fut: Any, error: str | None, answers: list[tuple[str, Any]]) -> None:
            if error is not None:
                _resolve(fut, error=RuntimeError(f"server_side_emit_with_ack failed: {error}"))
            else:
                _resolve(fut, [_codec.unpack(_codec.decode(j, b)) for j, b in answers])

        token, fut = dispatcher.expect(convert)
        json_text, binaries = _codec.encode(args)
        try:
            self._native.server_side_emit_with_ack(event, json_text, binaries, token)
        except BaseException:
            dispatcher.forget(token)
            raise
        return Pending(fut, dispatcher.thread_id)

    def all_rooms(self) -> Pending[set[str]]:
        """Every room of the namespace on every server of the cluster."""
        dispatcher = self._server._dispatcher

        def convert(fut: Any, error: str | None, rooms: list[str]) -> None:
            if error is not None:
                _resolve(fut, error=RuntimeError(f"all_rooms failed: {error}"))
            else:
                _resolve(fut, set(rooms))

        token, fut = dispatcher.expect(convert)
        self._native.all_rooms(token)
        return Pending(fut, dispatcher.thread_id)

    def __repr__(self) -> str:
        return f"<roomcast.Namespace {self.name}>"


class DynamicNamespace(_Handlers):
    """Namespaces created on demand: a client connecting to a name the matcher accepts
    creates a child :class:`Namespace` that uses these handlers and middlewares."""

    def __init__(self, server: Server, native: _native.DynamicNamespace, matcher: Matcher) -> None:
        super().__init__()
        if not (isinstance(matcher, re.Pattern) or callable(matcher)):
            raise TypeError("io.of() takes a name, a compiled regular expression or a callable")
        self._server = server
        self._native = native
        #: The pattern or predicate.
        self.matcher = matcher

    def _matches(self, name: str, auth: dict[str, Any]) -> Any:
        matcher = self.matcher
        if isinstance(matcher, re.Pattern):
            return matcher.fullmatch(name) is not None
        return matcher(name, auth)

    @property
    def children(self) -> list[Namespace]:
        """The child namespaces created so far."""
        return [self._server._namespace_for(n.name) for n in self._native.children()]

    def emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` to every socket of every child."""
        for child in self.children:
            child.emit(event, *args)

    def __repr__(self) -> str:
        return f"<roomcast.DynamicNamespace {self.matcher!r}>"
