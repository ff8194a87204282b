"""A namespace refused by a synchronous middleware on a connection that already serves "/"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

import roomcast

from conftest import Client

ITERATIONS = 20


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]])
async def test_sync_refusal_on_a_multiplexed_connection_answers(harness: Any, transports: list[str]) -> None:
    io = harness.server()
    refused = io.of("/refused")

    @refused.use
    def refuse(socket: roomcast.Socket) -> None:
        raise roomcast.ConnectionRefused("refused", data={"reason": "sync"})

    @io.on("connection")
    def on_connection(socket: roomcast.Socket) -> None:
        socket.on("echo", lambda value: value)

    url = await harness.start(io)
    for i in range(ITERATIONS):
        errors: asyncio.Queue[Any] = asyncio.Queue()
        c = Client(reconnection=False)
        harness.clients.append(c)
        c.on("connect_error", lambda data: errors.put_nowait(data), namespace="/refused")
        await c.connect(url, transports=transports, namespaces=["/"], wait_timeout=5)
        # python-socketio connects namespaces only in connect(): send the second CONNECT as
        # socket.io-client's Manager does for a namespace opened later.
        await c._send_packet(c.packet_class(socketio.packet.CONNECT, namespace="/refused"))
        got = await asyncio.wait_for(errors.get(), 5)
        assert got == {"message": "refused", "data": {"reason": "sync"}}, f"iteration {i + 1}"
        assert await c.call("echo", i, timeout=5) == i
        await c.disconnect()
