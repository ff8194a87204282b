"""Starting, closing and Ctrl-C: ports are released, clients told, nothing left running."""

from __future__ import annotations

import asyncio
import os
import signal
import socket as pysocket
import subprocess
import sys
import time
from typing import Any

import pytest

import roomcast
from conftest import os_thread_count, port_is_free, within


async def test_close_disconnects_everyone_and_frees_the_port(harness: Any, transport: str) -> None:
    io = harness.server()
    reasons: list[str] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("disconnect", reasons.append)

    url = await harness.start(io)
    port = int(url.rsplit(":", 1)[1])
    gone = asyncio.Event()
    c = await harness.client(url, transport, handlers={"disconnect": lambda *a: gone.set()})
    assert c.connected
    await io.aclose()
    await within(gone.wait())
    assert reasons == ["server shutting down"]
    assert port_is_free(port)
    assert io.closed
    with pytest.raises(roomcast.ServerClosed):
        await io.start("127.0.0.1", 0)


async def test_close_from_a_handler(harness: Any) -> None:
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("shutdown", lambda: io.close())

    url = await harness.start(io)
    port = int(url.rsplit(":", 1)[1])
    gone = asyncio.Event()
    c = await harness.client(url, handlers={"disconnect": lambda *a: gone.set()})
    await c.emit("shutdown")
    await within(gone.wait())
    assert port_is_free(port)


async def test_repeated_servers_do_not_grow_threads(harness: Any) -> None:
    before = os_thread_count()
    for _ in range(5):
        io = roomcast.Server()
        url = await harness.start(io)
        await harness.client(url)
        await harness.close()
        harness.servers.clear()
        harness.clients.clear()
    deadline = time.monotonic() + 5
    while os_thread_count() > before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert os_thread_count() <= before


def free_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listen_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    script = (
        "import roomcast\n"
        "io = roomcast.Server()\n"
        f"io.listen({port}, '127.0.0.1')\n"
        "print('stopped', io.closed, flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while port_is_free(port):
            assert time.monotonic() < deadline, "the server did not start listening"
            assert proc.poll() is None, "the server exited early"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.strip() == "stopped True"
    assert port_is_free(port)
