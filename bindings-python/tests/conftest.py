"""Shared fixtures: servers on ephemeral ports, real python-socketio clients, and checks that
no test leaks a thread, a port or a socket."""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import socket as pysocket
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import engineio.payload
import pytest
import socketio

import roomcast

# python-engineio's client refuses a long-polling response of more than 16 packets (a limit
# of its own; servers, python-socketio's included, batch whatever is queued). Bursts over
# polling need more.
engineio.payload.Payload.max_decode_packets = 100_000


class Client(socketio.AsyncClient):
    """python-socketio's client, made to flush before it disconnects.

    Over long-polling, python-engineio's client drops whatever is still queued when
    ``disconnect()`` runs while one of its POSTs is in flight (its write loop checks the state
    after the POST and exits): the DISCONNECT and CLOSE packets never leave, and the server only
    notices at the next ping. A POST is in flight right after ``connect()`` returns, because the
    CONNECT reply arrives on the GET before the POST that carried the CONNECT is answered.
    Waiting for the send queue to drain first makes a disconnect in a test always reach the
    server, as it does with the JavaScript client.
    """

    async def disconnect(self) -> None:
        queue = getattr(self.eio, "queue", None)
        if queue is not None and self.eio.state == "connected":
            try:
                await asyncio.wait_for(queue.join(), 5)
            except asyncio.TimeoutError:
                pass  # disconnect anyway; the test's own bound reports what is missing
        await super().disconnect()

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "node_modules"


def os_thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: Python threads only
        return threading.active_count()


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port any more."""
    with pysocket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _warm_up_runtime() -> None:
    # The core's runtime (its worker threads) is created once per process; create it before
    # the first thread count so it is not taken for a leak.
    io = roomcast.Server()
    io.close()


_warm_up_runtime()


def _warm_up_uvloop() -> None:
    # libuv starts its thread pool (4 threads, kept for the process's life) at the first name
    # lookup, e.g. when uvicorn binds on uvloop: start it before the first thread count too.
    try:
        import uvloop
    except ImportError:
        return

    async def bind() -> None:
        srv = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        srv.close()
        await srv.wait_closed()

    uvloop.run(bind())


_warm_up_uvloop()


@pytest.fixture(autouse=True)
def no_leaks() -> Any:
    """Fails a test that leaves threads behind."""
    py_before = {t.ident for t in threading.enumerate()}
    os_before = os_thread_count()
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t.ident not in py_before and t.is_alive()]
        if not extra and os_thread_count() <= os_before:
            return
        time.sleep(0.05)
    extra = [t.name for t in threading.enumerate() if t.ident not in py_before and t.is_alive()]
    pytest.fail(f"threads leaked: python {extra}, OS {os_thread_count()} > {os_before}")


class Harness:
    """Starts servers and clients for one test and stops them all afterwards."""

    def __init__(self) -> None:
        self.servers: list[roomcast.Server] = []
        self.ports: dict[int, int] = {}
        self.clients: list[Client] = []

    def server(self, **options: Any) -> roomcast.Server:
        io = roomcast.Server(**options)
        self.servers.append(io)
        return io

    async def start(self, io: roomcast.Server) -> str:
        """Serves ``io`` on an ephemeral port of 127.0.0.1; returns its URL."""
        if io not in self.servers:
            self.servers.append(io)
        port = await io.start("127.0.0.1", 0)
        self.ports[id(io)] = port
        return f"http://127.0.0.1:{port}"

    async def client(
        self,
        url: str,
        transport: str = "websocket",
        namespaces: list[str] | None = None,
        auth: Any = None,
        handlers: dict[str, Callable[..., Any]] | None = None,
    ) -> Client:
        c = Client(reconnection=False)
        for event, fn in (handlers or {}).items():
            c.on(event, fn)
        self.clients.append(c)
        await c.connect(url, transports=[transport], namespaces=namespaces, auth=auth, wait_timeout=5)
        return c

    async def close(self) -> None:
        for c in self.clients:
            try:
                await c.disconnect()
            except Exception:
                pass
        for io in self.servers:
            await io.aclose()
            port = self.ports.get(id(io))
            if port:
                assert port_is_free(port), f"port {port} still accepts connections after close"


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture(params=["websocket", "polling"])
def transport(request: Any) -> str:
    """Runs a test once per transport."""
    return request.param


async def within(awaitable: Awaitable[Any], seconds: float = 5) -> Any:
    """Awaits with a bound, so a missing event fails the test instead of hanging it."""
    return await asyncio.wait_for(awaitable, seconds)


def collector() -> tuple[list[Any], Callable[[int], Awaitable[list[Any]]], Callable[..., None]]:
    """A list, a coroutine waiting until it holds n items, and a handler appending to it."""
    items: list[Any] = []
    changed = asyncio.Event()

    def handler(*args: Any) -> None:
        items.append(args[0] if len(args) == 1 else args)
        changed.set()

    async def wait(n: int) -> list[Any]:
        while len(items) < n:
            changed.clear()
            await asyncio.wait_for(changed.wait(), 5)
        return items

    return items, wait, handler


def node_available() -> bool:
    return shutil.which("node") is not None and (NODE_MODULES / "socket.io-client").is_dir()


class MountedApp:
    """A server on a free port of roomcast's listener serving a web app beside Socket.IO
    (``kind`` "wsgi" or "asgi": ``io.mount_wsgi`` / ``io.mount_asgi``)."""

    def __init__(self, kind: str, app: Any, **options: Any) -> None:
        self.io = roomcast.Server()
        getattr(self.io, f"mount_{kind}")(app, **options)
        self.port = self.io.start_background(port=0, host="127.0.0.1")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()


@pytest.fixture
def mounted_apps() -> Iterator[Callable[..., MountedApp]]:
    """``make(kind, app, **options)``; every server made is closed after the test."""
    made: list[MountedApp] = []

    def make(kind: str, app: Any, **options: Any) -> MountedApp:
        m = MountedApp(kind, app, **options)
        made.append(m)
        return m

    yield make
    for m in made:
        m.io.close()
