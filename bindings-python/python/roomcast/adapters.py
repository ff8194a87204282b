"""Adapters: where rooms live and how broadcasts reach other servers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RedisAdapter", "RedisShardedAdapter", "RedisStreamsAdapter"]

_SUBSCRIPTION_MODES = ("static", "dynamic", "dynamic-private")


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


@dataclass(frozen=True)
class RedisStreamsAdapter:
    """Rooms and broadcasts shared through a Redis stream, wire-compatible with Node's
    ``@socket.io/redis-streams-adapter`` 0.3::

        io = roomcast.Server(adapter=roomcast.RedisStreamsAdapter("redis://localhost:6379"))

    Broadcasts and room changes are appended to the stream ``stream_name`` (trimmed to about
    ``max_len`` entries), which every server reads from where it left off: a server whose
    connection to Redis drops gets what it missed when it reconnects. Requests
    (``fetch_sockets``, ``server_side_emit``, broadcasts with acks) go through pub/sub channels
    prefixed ``channel_prefix``; ``requests_timeout`` (seconds) bounds them. With
    ``connection_state_recovery``, disconnected sessions are kept in Redis (keys prefixed
    ``session_key_prefix``) and broadcasts carry the stream's ids as offsets: a client recovers
    on any server, as with the npm adapter.
    """

    url: str
    stream_name: str = "socket.io"
    channel_prefix: str = "socket.io"
    max_len: int = 10_000
    requests_timeout: float = 5.0
    session_key_prefix: str = "sio:session:"

    def _config(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "streams": True,
            "key": self.channel_prefix,
            "stream_name": self.stream_name,
            "max_len": int(self.max_len),
            "requests_timeout": float(self.requests_timeout),
            "session_key_prefix": self.session_key_prefix,
        }


@dataclass(frozen=True)
class RedisShardedAdapter:
    """Rooms and broadcasts shared through Redis 7 sharded pub/sub on a Redis Cluster,
    wire-compatible with ``createShardedAdapter`` of Node's ``@socket.io/redis-adapter``::

        io = roomcast.Server(adapter=roomcast.RedisShardedAdapter(
            ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]))

    ``nodes`` is one cluster node URL or a list of them (one reachable node is enough; the
    others are discovered). Each message goes only to the cluster node owning its channel.
    ``subscription_mode``: ``"static"`` (two channels per namespace), ``"dynamic"`` (the
    default: plus one per room that is not a socket id, so a broadcast to one room reaches only
    the servers that have sockets in it) or ``"dynamic-private"`` (socket ids' rooms too).
    ``channel_prefix`` prefixes the channels; ``requests_timeout`` (seconds) bounds
    ``fetch_sockets`` and ``server_side_emit_with_ack``. ``all_rooms`` stays local, as in the
    npm adapter.
    """

    nodes: str | Sequence[str]
    subscription_mode: str = "dynamic"
    channel_prefix: str = "socket.io"
    requests_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.subscription_mode not in _SUBSCRIPTION_MODES:
            raise ValueError(
                f"subscription_mode must be one of {', '.join(_SUBSCRIPTION_MODES)}, "
                f"got {self.subscription_mode!r}"
            )
        nodes = [self.nodes] if isinstance(self.nodes, str) else list(self.nodes)
        if not nodes or not all(isinstance(n, str) for n in nodes):
            raise ValueError("nodes must be a Redis Cluster node URL or a non-empty list of them")
        object.__setattr__(self, "nodes", tuple(nodes))

    def _config(self) -> dict[str, Any]:
        return {
            "sharded": True,
            "nodes": list(self.nodes),
            "key": self.channel_prefix,
            "subscription_mode": self.subscription_mode,
            "requests_timeout": float(self.requests_timeout),
        }


@dataclass(frozen=True)
class SessionRouting:
    """No sticky sessions in front of a cluster: ``roomcast.Server(route_sessions=
    roomcast.SessionRouting("redis://localhost:6379"))``. Each server writes its long-polling
    sessions to a directory in Redis; a request for a session another server holds is handed
    to it (one hop inside the cluster), so a round-robin load balancer works with polling
    clients. ``address`` is where the other servers reach this one's listener (``host:port``);
    by default the address the listener is bound to, which must then name one interface."""

    url: str
    address: str | None = None
    key_prefix: str = "roomcast:owner:"
    ttl: float = 3600.0
