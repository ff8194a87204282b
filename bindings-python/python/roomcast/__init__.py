"""roomcast: a Socket.IO server for Python whose engine runs in Rust.

Transports, framing, rooms and broadcast fan-out run in the Rust core without the GIL;
handlers are plain or ``async`` Python functions::

    import roomcast

    io = roomcast.Server(cors_allowed_origins="*")

    @io.on("connection")
    async def on_connection(socket):
        socket.join("some room")
        io.to("some room").emit("some event")

        @socket.on("say to someone")
        def say(id, msg):
            socket.broadcast.to(id).emit("my message", msg)

    io.listen(3000)
"""

from __future__ import annotations

from . import _native
from ._codec import SERIALIZER
from ._dispatch import ACK_REQUESTED
from ._pending import Pending
from .adapters import RedisAdapter, RedisShardedAdapter, RedisStreamsAdapter, SessionRouting
from .asgi import ASGIApp
from .emitter import Emitter
from .errors import (
    AckError,
    AckTimeout,
    ConnectionRefused,
    Disconnected,
    EmitError,
    RoomcastError,
    ServerClosed,
)
from .namespace import DynamicNamespace, Namespace
from .operator import BroadcastOperator, RemoteSocket
from .server import Server
from .socket import Socket, SocketData
from .wsgi import WSGIApp

__version__: str = _native.__version__


def ack_requested() -> bool:
    """Inside an event handler: whether the client asked for an acknowledgement (the
    handler's return value answers it). False anywhere else."""
    return ACK_REQUESTED.get()


def enable_core_logging(filter: str = "warn") -> bool:
    """Prints the Rust core's own log lines to stderr, filtered like ``RUST_LOG``
    (``"warn"``, ``"roomcast=debug"``, ...). Handler errors always go to the ``roomcast``
    logger of :mod:`logging`; this is for transport-level diagnostics. Returns False when
    core logging was already enabled."""
    return _native.enable_core_logging(filter)


__all__ = [
    "ASGIApp",
    "AckError",
    "AckTimeout",
    "BroadcastOperator",
    "ConnectionRefused",
    "Disconnected",
    "DynamicNamespace",
    "EmitError",
    "Emitter",
    "Namespace",
    "Pending",
    "RedisAdapter",
    "RedisShardedAdapter",
    "RedisStreamsAdapter",
    "SessionRouting",
    "RemoteSocket",
    "RoomcastError",
    "SERIALIZER",
    "Server",
    "ServerClosed",
    "Socket",
    "SocketData",
    "WSGIApp",
    "enable_core_logging",
    "ack_requested",
    "__version__",
]
