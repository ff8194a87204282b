"""Handlers that take seconds.

Handlers run on one asyncio loop, so a sync handler that blocks for seconds holds up every
other handler until it returns. The connections themselves do not depend on Python: the core
answers handshakes and keeps the heartbeats going, so no client is disconnected, and every
event that arrived meanwhile is handled afterwards, in order. A namespace CONNECT is answered
when its connection handler starts (as python-socketio and socket.io do), so a client that
connects during the block hears CONNECT after it. An
``async def`` handler that awaits (a timer, or blocking work moved to a thread) holds up
nobody.

The clients of the blocking test run in a Node process of their own (socket.io-client from
tests/node_modules): clients in this process would be blocked with the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest

import roomcast
from conftest import NODE_MODULES, REPO, node_available, within

# Heartbeats much shorter than the blocks: a client that missed one ping exchange would be
# disconnected (pingTimeout) long before the handler returns.
SHORT_HEARTBEAT = {"ping_interval": 0.3, "ping_timeout": 0.2}
BLOCK_SECONDS = 3.0
EVENTS = 5


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
@pytest.mark.parametrize(
    ("how", "transport"),
    [("sleep", "websocket"), ("sleep", "polling"), ("busy loop holding the GIL", "websocket")],
)
async def test_a_blocking_sync_handler_holds_up_handlers_not_connections(harness: Any, how: str, transport: str) -> None:
    io = harness.server(**SHORT_HEARTBEAT)
    connected: list[str] = []
    handled: list[tuple[str, int]] = []
    reasons: dict[str, str] = {}
    blocked: list[float] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        connected.append(socket.id)
        socket.emit("welcome")

        @socket.on("block")
        def block(ms: int) -> str:
            socket.emit("blocking")  # sent by the core right away
            start = time.monotonic()
            if how == "sleep":
                time.sleep(ms / 1000)
            else:
                while time.monotonic() < start + ms / 1000:
                    pass
            blocked.append(time.monotonic() - start)
            return "done"

        @socket.on("seq")
        def seq(name: str, i: int) -> int:
            handled.append((name, i))
            return i

        @socket.on("disconnect")
        def gone(reason: str) -> None:
            reasons[socket.id] = reason

    url = await harness.start(io)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(REPO / "tests" / "harness" / "blocking-client.js"),
        url,
        transport,
        str(int(BLOCK_SECONDS * 1000)),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    out, _ = await within(proc.communicate(), BLOCK_SECONDS + 20)
    lines = out.decode().strip().splitlines()
    assert lines, "the client process printed nothing"
    result = json.loads(lines[-1])
    assert proc.returncode == 0, result

    assert result["block"] == "done"
    assert blocked and blocked[0] >= BLOCK_SECONDS - 0.05
    # Heartbeats went on while Python was blocked: about one ping every 0.3 s for every client.
    assert result["pingsDuringBlock"]["a"] >= 4, result
    assert result["pingsDuringBlock"]["b"] >= 4, result
    # No client was disconnected; c's handshake was answered during the block; its CONNECT came
    # with its connection handler, after the block (the client's clock starts once the blocking
    # handler has begun, so "after" is at least the block less that message's trip).
    assert result["disconnects"] == {"a": [], "b": [], "c": []}, result
    assert result["connected"] == {"a": True, "b": True, "c": True}
    assert result["cOpenedDuringBlock"] is True, result
    assert result["cConnectedAfterMs"] >= BLOCK_SECONDS * 1000 / 2, result
    assert result["cWelcomed"] is True
    assert len(connected) == 4
    # Every event sent during the block was handled afterwards, in order per socket.
    assert result["answers"] == {"a": list(range(EVENTS)), "b": list(range(EVENTS))}
    assert [i for name, i in handled if name == "a"] == list(range(EVENTS))
    assert [i for name, i in handled if name == "b"] == list(range(EVENTS))
    # d left during the block: its disconnect handler ran afterwards, with the client's reason.
    left = result["left"]
    assert left in connected

    async def disconnect_handled() -> None:
        while left not in reasons:
            await asyncio.sleep(0.01)

    await within(disconnect_handled())
    assert reasons[left] == "client namespace disconnect"
    assert "ping timeout" not in reasons.values()


@pytest.mark.parametrize("how", ["asyncio.sleep", "asyncio.to_thread"])
async def test_an_awaiting_async_handler_holds_up_nobody(harness: Any, how: str) -> None:
    io = harness.server(**SHORT_HEARTBEAT)
    started = asyncio.Event()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("slow")
        async def slow() -> str:
            started.set()
            if how == "asyncio.sleep":
                await asyncio.sleep(BLOCK_SECONDS)
            else:  # blocking work moved off the loop
                await asyncio.to_thread(time.sleep, BLOCK_SECONDS)
            return "slow done"

        socket.on("echo", lambda value: value)

    url = await harness.start(io)
    a = await harness.client(url)
    b = await harness.client(url)
    slow = asyncio.ensure_future(a.call("slow", timeout=BLOCK_SECONDS + 5))
    await within(started.wait())
    # Another socket, and the waiting socket itself, are answered while the handler waits.
    assert await b.call("echo", "from b", timeout=1) == "from b"
    assert await a.call("echo", "from a", timeout=1) == "from a"
    assert not slow.done()
    assert await within(slow, BLOCK_SECONDS + 5) == "slow done"
    assert a.connected and b.connected
