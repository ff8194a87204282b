"""Flask-SocketIO's class-based ``Namespace``: ``on_<event>`` methods called like
decorated handlers (no sid; ``flask.request.sid`` holds it), inside a Flask request
context; an ``error`` method, when defined, handles their exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..socketio.namespace import Namespace as _SioNamespace

if TYPE_CHECKING:
    from . import SocketIO

__all__ = ["Namespace"]


class Namespace(_SioNamespace):
    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.socketio: SocketIO | None = None

    def _set_socketio(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def _check_handlers(self) -> None:
        # on_<event> methods take Flask-SocketIO's arguments (no sid), not python-socketio's.
        pass

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls ``on_<event>`` (``args``: the sid, then the event's arguments); override
        it to route events another way."""
        handler = getattr(self, "on_" + (event or ""), None)
        if handler is None:
            return None
        socketio = self.socketio
        if socketio is None:
            raise RuntimeError("register the namespace with socketio.on_namespace(...)")
        try:
            return socketio._handle_event(handler, event, self.namespace, *args)
        except Exception as exc:
            error = getattr(self, "error", None)
            if error is not None:
                return error(exc)
            raise

    def emit(  # type: ignore[override]
        self,
        event: str,
        data: Any = None,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Any = None,
    ) -> None:
        """Sends ``event`` to a room, a client or (no ``room``) every client."""
        assert self.socketio is not None
        self.socketio.emit(event, data, room=room, include_self=include_self, namespace=namespace or self.namespace, callback=callback)

    def send(  # type: ignore[override]
        self,
        data: Any,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Any = None,
    ) -> None:
        """Sends a ``"message"`` event."""
        assert self.socketio is not None
        self.socketio.send(data, to=room, include_self=include_self, namespace=namespace or self.namespace, callback=callback)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client from ``room``."""
        assert self.socketio is not None
        self.socketio.close_room(room, namespace=namespace or self.namespace)
