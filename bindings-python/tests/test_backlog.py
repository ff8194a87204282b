"""Client events waiting for Python are bounded.

A sync handler blocks the asyncio loop while clients flood: the events waiting for Python are
bounded per socket (``max_host_backlog_per_socket``) and per server (``max_host_backlog``). A
client that pushes past either bound has its connection closed, with the reason
``"host backlog full"`` for its disconnect handler and a warning in the core's log; memory
stays bounded and another client is served once the loop is free again.

The flooders run in a Node process of their own (socket.io-client from tests/node_modules):
clients in this process would be blocked with the server.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from typing import Any

import pytest

import roomcast
from conftest import NODE_MODULES, node_available, within

SIZE = 64 * 1024

# Connects `clients` sockets; once all are connected the first one emits "block", and when
# the server answers "blocking" (sent by the core while Python is held up) every client
# emits `events` events of SIZE bytes. Prints "connected", then "disconnect <i> <reason>".
FLOODER = """
const { io } = require("socket.io-client");
const [url, clients, events, size] = process.argv.slice(1);
const sockets = [];
let connected = 0;
for (let i = 0; i < Number(clients); i++) {
  const c = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(c);
  c.on("connect", () => {
    if (++connected === sockets.length) {
      process.stdout.write("connected\\n");
      sockets[0].emit("block");
    }
  });
  c.on("disconnect", (reason) => process.stdout.write(`disconnect ${i} ${reason}\\n`));
}
sockets[0].on("blocking", () => {
  const filler = "x".repeat(Number(size));
  for (let n = 0; n < Number(events); n++) for (const c of sockets) c.emit("flood", n, filler);
});
"""


class Flooder:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str, clients: int, events: int) -> "Flooder":
        proc = await asyncio.create_subprocess_exec(
            "node",
            "-e",
            FLOODER,
            url,
            str(clients),
            str(events),
            str(SIZE),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        )
        return cls(proc)

    async def line(self, prefix: str) -> str:
        while True:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            assert self.proc.stdout is not None
            raw = await self.proc.stdout.readline()
            assert raw, f"the flooder exited; it printed {self.lines}"
            self.lines.append(raw.decode().strip())

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / (1 << 20)


def blocking_server(harness: Any, until_sessions_below: int, **bounds: Any) -> tuple[roomcast.Server, dict[str, Any]]:
    """A server whose "block" handler holds the loop until the core has closed flooders
    (fewer than `until_sessions_below` sessions), at most 10 s."""
    io = harness.server(**bounds)
    seen: dict[str, Any] = {"handled": 0, "reasons": {}}

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("block")
        def block() -> None:
            socket.emit("blocking")  # sent by the core right away
            end = time.monotonic() + 10
            while time.monotonic() < end and io.stats()["sessions"] >= until_sessions_below:
                pass  # a handler doing CPU work, holding the GIL

        @socket.on("flood")
        def flood(n: int, filler: str) -> None:
            seen["handled"] += 1

        @socket.on("echo")
        def echo(value: Any) -> Any:
            return value

        @socket.on("disconnect")
        def gone(reason: str) -> None:
            seen["reasons"][socket.id] = reason

    return io, seen


async def reasons_for(seen: dict[str, Any], n: int) -> dict[str, str]:
    while len(seen["reasons"]) < n:
        await asyncio.sleep(0.01)
    return seen["reasons"]


async def served_afterwards(harness: Any, url: str) -> None:
    other = await harness.client(url)
    assert await within(other.call("echo", "after", timeout=5)) == "after"


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
async def test_a_flood_past_the_per_socket_bound_closes_that_connection(harness: Any, capfd: Any) -> None:
    roomcast.enable_core_logging("roomcast=warn")
    events = 400  # 25 MiB against a bound of 2 MiB
    io, seen = blocking_server(harness, until_sessions_below=1, max_host_backlog_per_socket=2 << 20)
    url = await harness.start(io)
    rss_before = rss_mib()
    flooder = await Flooder.start(url, clients=1, events=events)
    try:
        await within(flooder.line("connected"), 10)
        closed = await within(flooder.line("disconnect 0"), 20)
        assert closed == "disconnect 0 transport close"
        assert list((await within(reasons_for(seen, 1))).values()) == ["host backlog full"]
        assert seen["handled"] < events, f"{seen['handled']} of {events} flood events reached Python"
        grown = rss_mib() - rss_before
        assert grown < 64, f"RSS grew by {grown:.1f} MiB"
        await served_afterwards(harness, url)
    finally:
        await flooder.stop()
    assert "host backlog full" in capfd.readouterr().err


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
async def test_two_floods_under_the_per_socket_bound_pass_the_per_server_bound(harness: Any) -> None:
    # Each socket sends 28 x 64 KiB = 1.75 MiB, under its own bound of 2 MiB; together they
    # send 3.5 MiB, past the server's 3 MiB.
    events = 28
    io, seen = blocking_server(
        harness,
        until_sessions_below=2,
        max_host_backlog_per_socket=2 << 20,
        max_host_backlog=3 << 20,
    )
    url = await harness.start(io)
    flooder = await Flooder.start(url, clients=2, events=events)
    try:
        await within(flooder.line("connected"), 10)
        closed = await within(flooder.line("disconnect"), 20)
        assert closed.endswith(" transport close"), closed
        reasons = await within(reasons_for(seen, 1))
        assert "host backlog full" in reasons.values(), reasons
        assert seen["handled"] < 2 * events
        await served_afterwards(harness, url)
    finally:
        await flooder.stop()
