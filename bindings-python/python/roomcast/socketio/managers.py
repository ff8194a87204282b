"""python-socketio's Redis client managers on roomcast's Redis adapter and emitter.

The wire is ``@socket.io/redis-adapter``'s (roomcast's), not python-socketio's: roomcast
nodes (Python, Node, Rust), Node socket.io nodes and ``@socket.io/redis-emitter`` share a
cluster; python-socketio processes do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._rooms import Rooms, room_list
from ..adapters import RedisAdapter
from ..emitter import Emitter
from ._base import _args

if TYPE_CHECKING:
    from ._base import BaseServer

__all__ = ["RedisManager", "AsyncRedisManager", "UNSUPPORTED_MANAGERS"]

#: python-socketio's other message queues: roomcast's cluster speaks Redis only.
UNSUPPORTED_MANAGERS = ("KombuManager", "KafkaManager", "ZmqManager", "AsyncAioPikaManager")

# How long a write-only RedisManager.emit waits for Redis to take the message.
_PUBLISH_TIMEOUT = 10.0


class _RedisManager:
    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        channel: str | None = None,
        write_only: bool = False,
        logger: Any = None,
        json: Any = None,
        redis_options: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://")):
            raise ValueError(f"roomcast's Redis manager needs a redis:// or rediss:// URL, got {url!r}")
        if json is not None:
            raise ValueError("json= is not supported by roomcast's Redis manager: leave it out")
        if redis_options:
            raise ValueError(
                "redis_options= is not supported by roomcast's Redis manager: put the options in the URL "
                "(redis://user:password@host:port/db, rediss:// for TLS)"
            )
        self.redis_url = url
        #: The Redis channel prefix; roomcast's (and Node's) default is "socket.io".
        self.channel = channel or "socket.io"
        self.write_only = bool(write_only)
        self.logger = logger
        self.server: BaseServer | None = None
        self._emitter: Emitter | None = None

    def _adapter(self) -> RedisAdapter:
        return RedisAdapter(self.redis_url, key=self.channel)

    def _set_server(self, server: BaseServer) -> None:
        self.server = server

    def _selection(self, namespace: str | None, to: Any, skip_sid: Any) -> Emitter:
        if self._emitter is None:
            self._emitter = Emitter(self.redis_url, key=self.channel)
        emitter = self._emitter.of(namespace or "/")
        if to is not None:
            emitter = emitter.to(room_list(to))
        if skip_sid is not None:
            emitter = emitter.except_(room_list(skip_sid))
        return emitter

    def _publish_emit(self, event: str, data: Any, namespace: str | None, room: Any, skip_sid: Any, callback: Any, to: Any) -> Any:
        if callback is not None:
            raise RuntimeError("Callbacks can only be issued from the context of a server.")
        return self._selection(namespace, to or room, skip_sid).emit(event, *_args(data))


class RedisManager(_RedisManager):
    """``socketio.RedisManager(url, channel=..., write_only=False)``: pass it as
    ``client_manager`` to share rooms and broadcasts between servers, or create it with
    ``write_only=True`` in a process that serves no clients and call :meth:`emit`."""

    def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Rooms | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Rooms | None = None,
        **kwargs: Any,
    ) -> None:
        """Sends ``event`` to the clients of every node (blocks until Redis has it)."""
        if self.server is not None:
            self.server._emit(event, data, to, room, skip_sid, namespace, callback)
            return
        self._publish_emit(event, data, namespace, room, skip_sid, callback, to).result(_PUBLISH_TIMEOUT)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client of every node from ``room``."""
        self._selection(namespace, room, None).sockets_leave(room).result(_PUBLISH_TIMEOUT)

    def enter_room(self, sid: str, namespace: str | None, room: str, eio_sid: Any = None) -> None:
        """Adds client ``sid`` (on any node) to ``room``."""
        self._selection(namespace, sid, None).sockets_join(room).result(_PUBLISH_TIMEOUT)

    def leave_room(self, sid: str, namespace: str | None, room: str) -> None:
        """Removes client ``sid`` (on any node) from ``room``."""
        self._selection(namespace, sid, None).sockets_leave(room).result(_PUBLISH_TIMEOUT)

    def disconnect(self, sid: str, namespace: str | None = None, **kwargs: Any) -> None:
        """Disconnects client ``sid`` on whichever node has it."""
        self._selection(namespace, sid, None).disconnect_sockets().result(_PUBLISH_TIMEOUT)


class AsyncRedisManager(_RedisManager):
    """``socketio.AsyncRedisManager``: :class:`RedisManager` with coroutine methods."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Rooms | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Rooms | None = None,
        **kwargs: Any,
    ) -> None:
        """Sends ``event`` to the clients of every node (returns once Redis has it)."""
        if self.server is not None:
            self.server._emit(event, data, to, room, skip_sid, namespace, callback)
            return
        await self._publish_emit(event, data, namespace, room, skip_sid, callback, to)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client of every node from ``room``."""
        await self._selection(namespace, room, None).sockets_leave(room)

    async def enter_room(self, sid: str, namespace: str | None, room: str, eio_sid: Any = None) -> None:
        """Adds client ``sid`` (on any node) to ``room``."""
        await self._selection(namespace, sid, None).sockets_join(room)

    async def leave_room(self, sid: str, namespace: str | None, room: str) -> None:
        """Removes client ``sid`` (on any node) from ``room``."""
        await self._selection(namespace, sid, None).sockets_leave(room)

    async def disconnect(self, sid: str, namespace: str | None = None, **kwargs: Any) -> None:
        """Disconnects client ``sid`` on whichever node has it."""
        await self._selection(namespace, sid, None).disconnect_sockets()


def _unsupported(name: str) -> type:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"{name} is not supported by roomcast: its cluster runs on Redis "
            "(RedisManager / AsyncRedisManager, compatible with @socket.io/redis-adapter)"
        )

    return type(name, (), {"__init__": refuse, "__doc__": f"{name}: not supported by roomcast (Redis only); raises."})
