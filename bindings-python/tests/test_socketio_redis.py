"""roomcast.socketio's Redis managers with a real redis-server: two AsyncServers sharing rooms
through AsyncRedisManager, and write_only managers (asyncio and plain threads) reaching the
clients of both, on roomcast's Node-compatible Redis wire."""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import pytest

import roomcast.socketio as socketio
from conftest import Client, collector, port_is_free, within
from test_emitter import REDIS_SERVER, redis_url  # noqa: F401 - the redis-server fixture

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")


class Node:
    def __init__(self, url: str) -> None:
        self.sio = socketio.AsyncServer(client_manager=socketio.AsyncRedisManager(url))
        self.port = 0
        sio = self.sio

        @sio.on("join")
        async def join(sid: str, room: str) -> bool:
            await sio.enter_room(sid, room)
            return True

        @sio.on("tell")
        async def tell(sid: str, room: str, text: str) -> None:
            await sio.emit("news", text, room=room, skip_sid=sid)

        @sio.on("adopt")
        async def adopt(sid: str, other: str, room: str) -> bool:
            # ``other`` is a client of the other node: the join travels through Redis.
            await sio.enter_room(other, room)
            return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[Node, Node, list[Client]]]:  # noqa: F811
    a, b = Node(redis_url), Node(redis_url)
    clients: list[Client] = []
    try:
        for node in (a, b):
            node.port = await node.sio.start("127.0.0.1", 0)
        yield a, b, clients
    finally:
        for c in clients:
            await c.disconnect()
        for node in (a, b):
            await node.sio.shutdown()
            assert port_is_free(node.port)


async def connect(clients: list[Client], url: str, **handlers: Any) -> Client:
    c = Client(reconnection=False)
    for event, fn in handlers.items():
        c.on(event, fn)
    clients.append(c)
    await c.connect(url, transports=["websocket"], wait_timeout=5)
    return c


async def subscribed(manager: Any, *clients: Client) -> None:
    """Waits until a write_only manager's broadcast reaches every client (both nodes listen)."""
    events = [asyncio.Event() for _ in clients]
    for c, e in zip(clients, events):
        c.on("probe", lambda *args, e=e: e.set())
    deadline = time.monotonic() + 10
    while not all(e.is_set() for e in events):
        assert time.monotonic() < deadline, "the nodes did not subscribe to Redis in time"
        await manager.emit("probe", None)
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 0.25)
        except asyncio.TimeoutError:
            pass


async def test_rooms_span_nodes_and_write_only_managers_reach_them(
    nodes: tuple[Node, Node, list[Client]], redis_url: str  # noqa: F811
) -> None:
    a, b, clients = nodes
    got_1, wait_1, on_1 = collector()
    got_2, wait_2, on_2 = collector()
    c1 = await connect(clients, a.url, news=on_1)
    c2 = await connect(clients, b.url, news=on_2)
    writer = socketio.AsyncRedisManager(redis_url, write_only=True)
    await subscribed(writer, c1, c2)

    assert await c1.call("join", "lobby", timeout=5) is True
    assert await c2.call("join", "lobby", timeout=5) is True
    await c1.emit("tell", ("lobby", "hi from node a"))
    assert await wait_2(1) == ["hi from node a"]

    # enter_room for a client of the other node: the join travels through Redis on its own
    # channel, so broadcast to the room until it is in.
    got_adopted = asyncio.Event()
    c2.on("adopted", lambda *args: got_adopted.set())
    await c1.call("adopt", (c2.get_sid(), "adopted"), timeout=5)
    deadline = time.monotonic() + 10
    while not got_adopted.is_set():
        assert time.monotonic() < deadline, "enter_room of another node's client had no effect"
        await writer.emit("adopted", None, room="adopted")
        try:
            await asyncio.wait_for(got_adopted.wait(), 0.25)
        except asyncio.TimeoutError:
            pass
    await writer.emit("news", ("to adopted", 1), room="adopted")
    assert await wait_2(2) == ["hi from node a", ("to adopted", 1)]

    # A write-only process: asyncio, then plain code in a thread.
    await writer.emit("news", {"all": True}, to="lobby", skip_sid=c1.get_sid())
    assert (await wait_2(3))[-1] == {"all": True}
    sync_writer = socketio.RedisManager(redis_url, write_only=True)
    await asyncio.to_thread(sync_writer.emit, "news", "from a thread", room="lobby")
    assert (await wait_2(4))[-1] == "from a thread"
    assert (await wait_1(1)) == ["from a thread"]
    with pytest.raises(RuntimeError, match="Callbacks"):
        await writer.emit("news", 1, room="lobby", callback=print)
    with pytest.raises(ValueError, match="write_only"):
        socketio.AsyncServer(client_manager=writer)

    await writer.close_room("lobby")
    await sync_writer_close(sync_writer)
    await writer.emit("news", "after close", room="lobby")
    await writer.emit("news", "marker", to=[c1.get_sid(), c2.get_sid()])
    assert (await within(wait_2(5)))[-1] == "marker"
    assert (await within(wait_1(2)))[-1] == "marker"


async def sync_writer_close(manager: socketio.RedisManager) -> None:
    await asyncio.to_thread(manager.close_room, "adopted")
