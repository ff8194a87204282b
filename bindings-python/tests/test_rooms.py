"""Rooms, broadcast operators and server-side socket operations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import roomcast
from conftest import collector, within


async def rooms_server(harness: Any) -> tuple[roomcast.Server, str, dict[str, roomcast.Socket]]:
    io = harness.server()
    sockets: dict[str, roomcast.Socket] = {}

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        sockets[socket.id] = socket
        socket.on("join", lambda rooms: socket.join(rooms) or sorted(socket.rooms))
        socket.on("leave", lambda rooms: socket.leave(rooms) or sorted(socket.rooms))

        @socket.on("say to someone")
        def say(id: str, msg: Any) -> None:
            socket.broadcast.to(id).emit("my message", msg)

        socket.on("to-others", lambda room, msg: socket.to(room).emit("news", msg))
        socket.on("all-but", lambda room, msg: socket.except_(room).emit("news", msg))

    return io, await harness.start(io), sockets


async def test_join_leave_and_rooms(harness: Any, transport: str) -> None:
    io, url, _ = await rooms_server(harness)
    c = await harness.client(url, transport)
    sid = c.get_sid("/")
    assert await c.call("join", ["b", "a"], timeout=5) == sorted([sid, "a", "b"])
    assert await c.call("join", "c", timeout=5) == sorted([sid, "a", "b", "c"])
    assert await c.call("leave", ["a", "c"], timeout=5) == sorted([sid, "b"])
    assert io.sockets.rooms == {sid, "b"}


async def test_broadcasts_reach_each_member_once(harness: Any) -> None:
    io, url, _ = await rooms_server(harness)
    news = [collector() for _ in range(3)]
    clients = [await harness.client(url, handlers={"news": n[2]}) for n in news]
    a, b, c = clients
    await a.call("join", ["r1", "r2"], timeout=5)
    await b.call("join", "r2", timeout=5)
    io.to(["r1", "r2"]).emit("news", 1)
    io.in_("r2").except_("r1").emit("news", 2)
    io.except_("r2").emit("news", 3)
    io.to("r1").compress(False).local.emit("news", 4)
    io.emit("news", 5)
    assert await news[0][1](3) == [1, 4, 5]
    assert await news[1][1](3) == [1, 2, 5]
    assert await news[2][1](2) == [3, 5]
    for client in clients:
        await client.call("join", "x", timeout=5)  # a round trip: nothing else is on its way
    assert news[0][0] == [1, 4, 5] and news[1][0] == [1, 2, 5] and news[2][0] == [3, 5]
    # volatile: dropped when a transport is busy, so only "no error" is certain.
    io.volatile.emit("news", "maybe")


async def test_socket_broadcast_excludes_the_sender(harness: Any) -> None:
    io, url, _ = await rooms_server(harness)
    news = [collector() for _ in range(3)]
    a, b, c = [await harness.client(url, handlers={"news": n[2], "my message": n[2]}) for n in news]
    for client in (a, b):
        await client.call("join", "room", timeout=5)
    await a.emit("to-others", ("room", "hello"))
    assert await news[1][1](1) == ["hello"]
    await a.emit("all-but", ("room", "not you"))
    assert await news[2][1](1) == ["not you"]
    await b.emit("say to someone", (a.get_sid("/"), "psst"))
    assert await news[0][1](1) == ["psst"]
    for client in (a, b, c):
        await client.call("join", "x", timeout=5)
    assert news[0][0] == ["psst"] and news[1][0] == ["hello"] and news[2][0] == ["not you"]


async def test_fetch_sockets_data_and_remote_operations(harness: Any) -> None:
    io, url, sockets = await rooms_server(harness)
    a = await harness.client(url)
    b = await harness.client(url)
    await a.call("join", "team", timeout=5)
    sa = sockets[a.get_sid("/")]
    sa.data["name"] = "alice"
    sa.data.update(role="admin")
    fetched = await within(io.in_("team").fetch_sockets())
    assert [(s.id, s.rooms, s.data) for s in fetched] == [(sa.id, {sa.id, "team"}, {"name": "alice", "role": "admin"})]
    assert fetched[0].handshake["headers"]["host"].startswith("127.0.0.1")
    everyone = await within(io.fetch_sockets())
    assert {s.id for s in everyone} == {a.get_sid("/"), b.get_sid("/")}

    io.sockets_join("all")
    assert "all" in sa.rooms
    io.in_("team").sockets_leave("all")
    assert "all" not in sa.rooms
    fetched[0].join("remote-joined")
    assert "remote-joined" in sa.rooms

    gone = asyncio.Event()
    b_socket = sockets[b.get_sid("/")]
    b_socket.on("disconnect", lambda reason: gone.set())
    io.except_("team").disconnect_sockets()
    await within(gone.wait())
    assert set(io.sockets.sockets) == {sa.id}


def test_room_arguments_are_checked() -> None:
    io = roomcast.Server()
    try:
        with pytest.raises(TypeError):
            io.to([1])  # type: ignore[list-item]
        assert io.to("a").to(["b", "c"]).except_("d") is not None
    finally:
        io.close()
