"""python-socketio's server API on roomcast: ``import roomcast.socketio as socketio`` is
the only change an app needs.

``AsyncServer`` / ``Server`` take python-socketio's options and call handlers as it does
(``connect(sid, environ[, auth])``, ``disconnect(sid[, reason])``, ``event(sid, *args)``
whose return value answers the acknowledgement); ``ASGIApp`` / ``WSGIApp`` mount them.
Rooms, broadcasts and acknowledgements are roomcast's, in the Rust core; ``sio.io`` is the
:class:`roomcast.Server` underneath. The Python README's migration guide lists what differs.
"""

from __future__ import annotations

from . import exceptions
from .apps import ASGIApp, WSGIApp
from .async_server import AsyncServer
from .exceptions import ConnectionRefusedError
from .managers import UNSUPPORTED_MANAGERS, AsyncRedisManager, RedisManager, _unsupported
from .namespace import AsyncNamespace, Namespace
from .server import Server

KombuManager, KafkaManager, ZmqManager, AsyncAioPikaManager = (_unsupported(n) for n in UNSUPPORTED_MANAGERS)

__all__ = [
    "ASGIApp",
    "AsyncNamespace",
    "AsyncRedisManager",
    "AsyncServer",
    "AsyncAioPikaManager",
    "ConnectionRefusedError",
    "KafkaManager",
    "KombuManager",
    "ZmqManager",
    "Namespace",
    "RedisManager",
    "Server",
    "WSGIApp",
    "exceptions",
]
