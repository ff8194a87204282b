"""roomcast.Emitter against a real, throwaway redis-server: two roomcast servers with the
Redis adapter form a cluster in this process, and an emitter reaches real python-socketio
clients of both (rooms, namespaces, binary, sockets_join, disconnect_sockets,
server_side_emit), from asyncio and from plain threads."""

from __future__ import annotations

import asyncio
import shutil
import socket as pysocket
import subprocess
import threading
import time
from typing import Any, AsyncIterator, Iterator

import pytest

import roomcast
from conftest import Client, Harness, collector, within

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")

START_TIMEOUT = 10.0


def free_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of its own on a free loopback port, as tests/harness/redis.js starts it:
    no persistence, killed at the end."""
    assert REDIS_SERVER is not None
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--protected-mode", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if "Ready to accept connections" in line:
                ready.set()

    reader = threading.Thread(target=read, name="redis-output", daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError(f"redis-server did not start on {port}: {''.join(output)}")
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(START_TIMEOUT)
        reader.join(START_TIMEOUT)


class Cluster:
    def __init__(self, harness: Harness, redis_url: str) -> None:
        self.harness = harness
        self.redis_url = redis_url
        self.emitter = roomcast.Emitter(redis_url)
        self.servers: list[roomcast.Server] = []
        self.urls: list[str] = []
        self.sockets: dict[str, roomcast.Socket] = {}
        self.heard: list[tuple[int, tuple[Any, ...]]] = []
        self.heard_event = asyncio.Event()

    async def start_node(self) -> None:
        index = len(self.servers)
        io = self.harness.server(adapter=roomcast.RedisAdapter(self.redis_url, requests_timeout=2))
        sockets = self.sockets

        @io.on("connection")
        def connect(socket: roomcast.Socket) -> None:
            sockets[socket.id] = socket
            socket.on("join", lambda rooms: socket.join(rooms))

        io.of("/chat")

        @io.on("reload")
        def reload(*args: Any) -> None:
            self.heard.append((index, args))
            self.heard_event.set()

        self.servers.append(io)
        self.urls.append(await self.harness.start(io))
        # Subscribed: an emitter broadcast reaches a client of this node.
        probe = await self.harness.client(self.urls[-1])
        got = asyncio.Event()
        probe.on("probe", lambda *args: got.set())
        deadline = time.monotonic() + 10
        while not got.is_set():
            assert time.monotonic() < deadline, "the node did not subscribe to Redis in time"
            await self.emitter.emit("probe")
            try:
                await asyncio.wait_for(got.wait(), 0.25)
            except asyncio.TimeoutError:
                pass
        await probe.disconnect()

    async def client(self, node: int, namespaces: list[str] | None = None, **handlers: Any) -> Client:
        return await self.harness.client(self.urls[node], namespaces=namespaces, handlers=handlers)

    async def join(self, client: Client, rooms: list[str]) -> None:
        await client.call("join", rooms, timeout=5)


@pytest.fixture
async def cluster(harness: Harness, redis_url: str) -> AsyncIterator[Cluster]:
    c = Cluster(harness, redis_url)
    await c.start_node()
    await c.start_node()
    yield c


async def marker_after(emitter: roomcast.Emitter, *clients: Client) -> None:
    """Waits until a marker broadcast after the checked emit reached every client: anything
    the checked emit sent them arrived before it."""
    events = [asyncio.Event() for _ in clients]
    for c, e in zip(clients, events):
        c.on("marker", lambda *args, e=e: e.set())
    await emitter.emit("marker")
    await within(asyncio.gather(*(e.wait() for e in events)))


async def test_rooms_and_except_reach_clients_of_both_nodes(cluster: Cluster) -> None:
    got_a, wait_a, on_a = collector()
    got_b, wait_b, on_b = collector()
    got_vip, _, on_vip = collector()
    a = await cluster.client(0, news=on_a)
    b = await cluster.client(1, news=on_b)
    vip = await cluster.client(1, news=on_vip)
    await cluster.join(a, ["r1"])
    await cluster.join(b, ["r1"])
    await cluster.join(vip, ["r1", "vip"])
    await cluster.emitter.to("r1").except_("vip").emit("news", {"n": 1}, "x")
    assert await wait_a(1) == [({"n": 1}, "x")]
    assert await wait_b(1) == [({"n": 1}, "x")]
    await marker_after(cluster.emitter, vip, a)
    assert got_vip == []
    assert got_a == [({"n": 1}, "x")]


async def test_namespace_binary_volatile_and_compress(cluster: Cluster) -> None:
    got_chat, wait_chat, on_chat = collector()
    got_root, _, on_root = collector()
    chat = Client(reconnection=False)
    chat.on("bin", on_chat, namespace="/chat")
    cluster.harness.clients.append(chat)
    await chat.connect(cluster.urls[1], transports=["websocket"], namespaces=["/", "/chat"], wait_timeout=5)
    chat.on("bin", on_root)
    await cluster.emitter.of("chat").volatile.compress(True).emit("bin", b"\x01\x02\x03", {"nested": b"\x04", "t": "t"})
    (first, second), = await wait_chat(1)
    assert first == b"\x01\x02\x03"
    assert second == {"nested": b"\x04", "t": "t"}
    await marker_after(cluster.emitter, chat)
    assert got_root == []


async def test_sockets_join_then_broadcast_and_sockets_leave(cluster: Cluster) -> None:
    got_a, wait_a, on_a = collector()
    got_b, wait_b, on_b = collector()
    got_other, _, on_other = collector()
    a = await cluster.client(0, joined=on_a)
    b = await cluster.client(1, joined=on_b)
    other = await cluster.client(1, joined=on_other)
    await cluster.join(a, ["target"])
    await cluster.join(b, ["target"])
    await cluster.emitter.in_("target").sockets_join("extra")
    await cluster.emitter.to("extra").emit("joined", 1)
    assert await wait_a(1) == [1]
    assert await wait_b(1) == [1]
    assert "extra" in cluster.sockets[b.get_sid("/")].rooms
    assert "extra" in await cluster.servers[0].sockets.all_rooms()

    await cluster.emitter.in_("extra").sockets_leave(["extra"])
    await cluster.emitter.to("extra").emit("joined", 2)
    await marker_after(cluster.emitter, a, b, other)
    assert got_a == [1] and got_b == [1] and got_other == []
    assert "extra" not in cluster.sockets[a.get_sid("/")].rooms


async def test_disconnect_sockets_on_every_node(cluster: Cluster) -> None:
    a = await cluster.client(0)
    b = await cluster.client(1)
    stays = await cluster.client(1)
    await cluster.join(a, ["bye"])
    await cluster.join(b, ["bye"])
    gone = [asyncio.Event(), asyncio.Event()]
    a.on("disconnect", lambda *args: gone[0].set())
    b.on("disconnect", lambda *args: gone[1].set())
    await cluster.emitter.to("bye").disconnect_sockets()
    await within(asyncio.gather(*(g.wait() for g in gone)))
    assert stays.connected


async def test_server_side_emit_reaches_every_node(cluster: Cluster) -> None:
    await cluster.emitter.server_side_emit("reload", {"version": 2}, "now")
    while len(cluster.heard) < 2:
        cluster.heard_event.clear()
        await within(cluster.heard_event.wait())
    assert sorted(cluster.heard) == [(0, ({"version": 2}, "now")), (1, ({"version": 2}, "now"))]


async def test_from_a_plain_thread_result_waits_for_the_publish(cluster: Cluster) -> None:
    got, wait, on_time = collector()
    await cluster.client(0, time=on_time)
    outcome: list[Any] = []

    def worker() -> None:
        emitter = roomcast.Emitter(cluster.redis_url)
        outcome.append(emitter.emit("time", "12:00").result(5))

    thread = threading.Thread(target=worker)
    thread.start()
    await within(asyncio.to_thread(thread.join, 5))
    assert outcome == [None]
    assert await wait(1) == ["12:00"]


async def test_errors(cluster: Cluster) -> None:
    with pytest.raises(roomcast.EmitError, match="reserved"):
        await cluster.emitter.emit("connect")
    with pytest.raises(ValueError, match="redis://"):
        roomcast.Emitter("localhost:6379")
    unreachable = roomcast.Emitter(f"redis://127.0.0.1:{free_port()}")
    with pytest.raises(roomcast.RoomcastError, match="Redis"):
        await within(unreachable.emit("x"), 10)
    with pytest.raises(TypeError):
        cluster.emitter.to(42)  # type: ignore[arg-type]
