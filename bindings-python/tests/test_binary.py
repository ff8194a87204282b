"""Binary values as attachments, both ways, nested, in events, acks and broadcasts."""

from __future__ import annotations

import asyncio
from typing import Any

import roomcast
from conftest import within


async def test_binary_round_trips(harness: Any, transport: str) -> None:
    io = harness.server()
    received: list[Any] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("upload")
        def upload(blob: Any, meta: Any) -> Any:
            received.append((blob, meta))
            return {"size": len(blob), "echo": blob, "nested": [meta["parts"][1]]}

        socket.emit(
            "download",
            b"\x00\x01",
            bytearray(b"\x02"),
            memoryview(b"\x03\x04"),
            {"deep": [b"\x05"], "text": "t"},
        )

    url = await harness.start(io)
    download = asyncio.get_running_loop().create_future()
    c = await harness.client(url, transport, handlers={"download": lambda *a: download.set_result(a)})
    assert await within(download) == (b"\x00\x01", b"\x02", b"\x03\x04", {"deep": [b"\x05"], "text": "t"})
    answer = await c.call("upload", (b"\xff" * 1000, {"parts": [b"a", b"bc"]}), timeout=5)
    assert answer == {"size": 1000, "echo": b"\xff" * 1000, "nested": [b"bc"]}
    assert received == [(b"\xff" * 1000, {"parts": [b"a", b"bc"]})]
    assert isinstance(received[0][0], bytes)


async def test_binary_broadcast_and_server_ack(harness: Any) -> None:
    io = harness.server()
    joined: list[str] = []
    both_joined = asyncio.Event()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.join("bin")
        joined.append(socket.id)
        if len(joined) == 2:
            both_joined.set()

    url = await harness.start(io)
    got: list[Any] = []
    done = asyncio.Event()

    def on_blob(blob: bytes) -> bytes:
        got.append(blob)
        if len(got) == 2:
            done.set()
        return blob[::-1]

    await harness.client(url, handlers={"blob": on_blob})
    await harness.client(url, "polling", handlers={"blob": on_blob})
    # A client hears CONNECT before the connection handler has run on this loop.
    await within(both_joined.wait())
    answers = await within(io.to("bin").emit_with_ack("blob", b"\x01\x02\x03", timeout=5))
    await within(done.wait())
    assert got == [b"\x01\x02\x03", b"\x01\x02\x03"]
    assert answers == [b"\x03\x02\x01", b"\x03\x02\x01"]
