"""Adapters: where rooms live and how broadcasts reach other servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RedisAdapter"]


@dataclass(frozen=True)
class RedisAdapter:
    """Rooms and broadcasts shared through Redis pub/sub, wire-compatible with Node's
    ``@socket.io/redis-adapter`` (so roomcast and socket.io servers can share a cluster and
    ``@socket.io/redis-emitter`` reaches roomcast's rooms)::

        io = roomcast.Server(adapter=roomcast.RedisAdapter("redis://localhost:6379"))

    ``key`` is the channel prefix; ``requests_timeout`` (seconds) bounds cluster-wide
    requests (``fetch_sockets``, ``all_rooms``, ``server_side_emit_with_ack``). Connections are
    made in the background and retried while Redis is unreachable.
    """

    url: str
    key: str = "socket.io"
    requests_timeout: float = 5.0

    def _config(self) -> dict[str, Any]:
        return {"url": self.url, "key": self.key, "requests_timeout": float(self.requests_timeout)}
