"""The npm socket.io-client (the browser/Node client) against a server written with roomcast's
Python API. Skipped where Node or tests/node_modules is missing (run `npm ci` in tests/)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

import roomcast
from conftest import NODE_MODULES, node_available

pytestmark = pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")


async def test_socket_io_client_from_npm(harness: Any, transport: str) -> None:
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("sum", lambda a, b: a + b)
        socket.on("binary", lambda buf, info: (buf, info))

        @socket.on("join-and-broadcast")
        def join_and_broadcast(room: str) -> bool:
            socket.join(room)
            io.to(room).emit("news", "from python", b"\x09\x08")
            return True

        @socket.on("ask-me")
        async def ask_me(n: int) -> Any:
            return await socket.emit_with_ack("question", n, timeout=5)

    url = await harness.start(io)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(Path(__file__).with_name("node_client.js")),
        url,
        transport,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert proc.returncode == 0, result
    assert result["sum"] == 5
    assert result["binary"] == [[1, 2, 3], [4]]
    assert result["news"] == ["from python", [9, 8]]
    assert result["asked"] == [42, "twice"]
    assert len(result["id"]) == 20
