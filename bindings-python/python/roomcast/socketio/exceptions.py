"""python-socketio's exceptions, as ``roomcast.socketio.exceptions``."""

from __future__ import annotations

from typing import Any

from ..errors import ConnectionRefused

__all__ = [
    "SocketIOError",
    "ConnectionError",
    "ConnectionRefusedError",
    "TimeoutError",
    "BadNamespaceError",
    "DisconnectedError",
]


class SocketIOError(Exception):
    """Base class of the exceptions of ``roomcast.socketio``."""


class ConnectionError(SocketIOError):  # noqa: A001 - python-socketio's name
    """A connection failed."""


class ConnectionRefusedError(ConnectionError, ConnectionRefused):  # noqa: A001
    """Raise in a ``connect`` handler to refuse the connection.

    ``ConnectionRefusedError()`` sends ``{"message": "Connection rejected by server"}``;
    the first argument is the message, a second one goes as ``data`` (several: a list).
    It is also a :class:`roomcast.ConnectionRefused`, so roomcast's own middlewares may
    raise it.
    """

    def __init__(self, *args: Any) -> None:
        message = str(args[0]) if args else "Connection rejected by server"
        data: Any = None
        if len(args) == 2:
            data = args[1]
        elif len(args) > 2:
            data = list(args[1:])
        ConnectionRefused.__init__(self, message, data)
        #: What the client's ``connect_error`` receives, as python-socketio names it.
        self.error_args: dict[str, Any] = {"message": message}
        if len(args) >= 2:
            self.error_args["data"] = data


class TimeoutError(SocketIOError):  # noqa: A001
    """``call()`` got no answer in time."""


class BadNamespaceError(SocketIOError):
    """A namespace that is not served."""


class DisconnectedError(SocketIOError):
    """The client is gone."""
