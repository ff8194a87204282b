"""Emitting from threads that are not the server's loop, and the background-thread mode."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import roomcast
from conftest import collector, within


async def test_emit_from_foreign_threads(harness: Any, transport: str) -> None:
    io = harness.server()
    sockets: list[roomcast.Socket] = []
    joined = asyncio.Event()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.join("workers")
        sockets.append(socket)
        joined.set()

    url = await harness.start(io)
    items, wait, handler = collector()
    answers: list[Any] = []
    await harness.client(url, transport, handlers={"tick": handler, "question": lambda n: n * 10})
    # A client hears CONNECT before the connection handler has run on this loop.
    await within(joined.wait())

    def worker(n: int) -> None:
        for i in range(50):
            io.to("workers").emit("tick", (n, i))
        # A blocking wait for an acknowledgement is fine off the loop thread.
        answers.append(sockets[0].emit_with_ack("question", n, timeout=5).result(timeout=5))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    await asyncio.get_running_loop().run_in_executor(None, lambda: [t.join() for t in threads])
    got = await wait(200)
    assert sorted(answers) == [0, 10, 20, 30]
    for n in range(4):  # each thread's emits arrive in the order it made them
        assert [i for m, i in got if m == n] == list(range(50))


async def test_result_on_the_loop_thread_is_refused(harness: Any) -> None:
    io = harness.server()
    errors: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        pending = socket.emit_with_ack("q")
        try:
            pending.result(timeout=1)
        except RuntimeError as e:
            errors.set_result(str(e))

    url = await harness.start(io)
    await harness.client(url, handlers={"q": lambda: 1})
    assert "await" in await within(errors)


def test_start_background_serves_and_stops() -> None:
    io = roomcast.Server()
    port = io.start_background(port=0, host="127.0.0.1")
    assert isinstance(port, int) and port > 0
    with pytest.raises(RuntimeError):
        io.start_background()
    io.close()
    assert io.closed


async def test_close_from_a_handler_stops_the_background_thread(harness: Any) -> None:
    io = roomcast.Server()
    io.on("connection", lambda socket: socket.on("stop", lambda: io.close()))
    port = io.start_background(port=0, host="127.0.0.1")
    gone = asyncio.Event()
    c = await harness.client(f"http://127.0.0.1:{port}", handlers={"disconnect": lambda *a: gone.set()})
    await c.emit("stop")
    await within(gone.wait())
    deadline = asyncio.get_running_loop().time() + 5
    while any(t.name == "roomcast-loop" for t in threading.enumerate()):
        assert asyncio.get_running_loop().time() < deadline, "the background loop thread is still running"
        await asyncio.sleep(0.02)
    assert io.closed
