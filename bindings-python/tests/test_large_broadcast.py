"""Broadcasts to thousands of sockets.

The core runs a broadcast to that many sockets on a runtime worker while Python goes on
(from 2048 recipients by default; these tests lower the threshold to 16).
What a handler does after it — emit to one socket, leave or join a room, answer an ack,
disconnect — must still reach the clients after it, as when the broadcast ran inline.

The crowd of recipients runs in a Node process of its own (tests/harness/crowd.js, with
socket.io-client from tests/node_modules); the observer is a python-socketio client.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

import roomcast
from conftest import NODE_MODULES, REPO, node_available, within

CROWD = 39  # with the observer, 40 recipients
ROUNDS = 10


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
async def test_what_a_handler_does_after_a_large_broadcast_comes_after_it(
    harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOMCAST_HAND_OFF_MIN_RECIPIENTS", "16")
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.join("big")

        @socket.on("go")
        def go(rnd: int) -> int:
            io.to("big").emit("seq", rnd, 1)
            socket.emit("seq", rnd, 2)
            io.to("big").emit("seq", rnd, 3)
            socket.leave("big")
            io.to("big").emit("seq", rnd, 4)  # not for the observer: it has left
            socket.join("big")
            io.to("big").emit("seq", rnd, 5)
            return rnd

        @socket.on("bye")
        def bye() -> None:
            io.to("big").emit("last")
            socket.disconnect()

    url = await harness.start(io)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(REPO / "tests" / "harness" / "crowd.js"),
        url,
        str(CROWD),
        str(ROUNDS * 4),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(await within(proc.stdout.readline(), 30))
        assert ready == {"ready": True}

        order: list[str] = []
        seen: list[str] = []
        gone = asyncio.Event()

        def on_disconnect(*_: Any) -> None:
            seen.append("disconnect")
            gone.set()

        observer = await harness.client(
            url,
            handlers={
                "seq": lambda rnd, step: order.append(f"{rnd}.{step}"),
                "last": lambda: seen.append("last"),
                "disconnect": on_disconnect,
            },
        )
        for rnd in range(ROUNDS):
            assert await observer.call("go", rnd, timeout=5) == rnd
            # The answer was sent last: everything before it has arrived, in order.
            assert order == [f"{rnd}.1", f"{rnd}.2", f"{rnd}.3", f"{rnd}.5"]
            order.clear()

        # Every crowd client got the four broadcasts of every round (1, 3, 4, 5), once each.
        io.emit("marker")
        result = json.loads(await within(proc.stdout.readline(), 30))
        assert result["counts"] == [ROUNDS * 4] * CROWD, result.get("error")

        await observer.emit("bye")
        await within(gone.wait())
        assert seen == ["last", "disconnect"]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
