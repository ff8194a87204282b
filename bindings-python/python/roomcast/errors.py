"""Exceptions raised by roomcast (and the one handlers raise to refuse a connection)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "RoomcastError",
    "ConnectionRefused",
    "EmitError",
    "AckError",
    "AckTimeout",
    "Disconnected",
    "ServerClosed",
]


class RoomcastError(Exception):
    """Base class of every roomcast exception."""


class ConnectionRefused(RoomcastError):
    """Raise in a namespace middleware (``@nsp.use``) to refuse a connection.

    The client receives ``connect_error`` with ``err.message == message`` and
    ``err.data == data`` (any JSON-compatible value).
    """

    def __init__(self, message: str = "not authorized", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class EmitError(RoomcastError, ValueError):
    """An event cannot be emitted: a reserved name (``connect``, ``disconnect``,
    ``disconnecting``, ``newListener``, ``removeListener``, ...) or too many binary
    attachments."""


class AckError(RoomcastError):
    """An acknowledgement did not arrive."""


class AckTimeout(AckError, TimeoutError):
    """The acknowledgement did not arrive in time.

    For a broadcast, ``responses`` holds the answers that did arrive.
    """

    def __init__(self, message: str = "operation has timed out", responses: list[Any] | None = None) -> None:
        super().__init__(message)
        self.responses: list[Any] = responses if responses is not None else []


class Disconnected(AckError):
    """The socket disconnected before it acknowledged."""


class ServerClosed(RoomcastError, RuntimeError):
    """The server was closed; create a new ``roomcast.Server``."""
