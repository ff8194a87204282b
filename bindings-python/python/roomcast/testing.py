"""Testing Socket.IO apps with real clients: a server on a free port of 127.0.0.1 and
python-socketio ``AsyncClient``\\ s connected to it.

::

    from roomcast.testing import serve

    async def test_chat():
        async with serve(sio, clients=2) as t:      # a roomcast.socketio.AsyncServer,
            a, b = t.clients                         # a roomcast.Server, or an ASGI app
            await a.emit("join", "lobby")
            assert await b.call("echo", 1) == 1

As a pytest fixture (needs pytest-asyncio), after ``pytest_plugins = ["roomcast.testing"]``
in a ``conftest.py``::

    async def test_chat(socketio_serve):
        t = await socketio_serve(sio, clients=2)

Needs python-socketio's asyncio client (``pip install "roomcast[testing]"``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from .server import Server as RoomcastServer

if TYPE_CHECKING:
    import socketio as _socketio  # type: ignore[import-untyped]

__all__ = ["TestServer", "serve", "socketio_serve"]

# Seconds for a server to start, a client to connect, a client to flush before it leaves.
_START_TIMEOUT = 10.0
_CONNECT_TIMEOUT = 5.0
_FLUSH_TIMEOUT = 5.0


def _client_class() -> Any:
    try:
        import socketio
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "roomcast.testing needs python-socketio's asyncio client: pip install 'roomcast[testing]'"
        ) from e

    class Client(socketio.AsyncClient):  # type: ignore[misc]
        """python-socketio's AsyncClient that lets its queued packets out before it
        disconnects (over long-polling its disconnect can otherwise drop them)."""

        async def disconnect(self) -> None:
            queue = getattr(self.eio, "queue", None)
            if queue is not None and self.eio.state == "connected":
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(queue.join(), _FLUSH_TIMEOUT)
            await super().disconnect()

    return Client


class TestServer:
    """A served app: its ``url``, ``port``, the connected ``clients``, and :meth:`client`
    for more."""

    __test__ = False  # not a test class, whatever pytest collects

    def __init__(self, url: str, port: int, defaults: dict[str, Any]) -> None:
        #: ``http://127.0.0.1:<port>``.
        self.url = url
        #: The bound port.
        self.port = port
        #: The clients connected so far, in order.
        self.clients: list[_socketio.AsyncClient] = []
        self._defaults = defaults

    async def client(
        self,
        *,
        transport: str | None = None,
        namespaces: list[str] | None = None,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        handlers: dict[str, Callable[..., Any]] | None = None,
        **client_options: Any,
    ) -> _socketio.AsyncClient:
        """Connects one more python-socketio ``AsyncClient`` (``reconnection=False``).
        ``handlers`` are registered before connecting, so the first events are not missed.
        Raises python-socketio's ``ConnectionError`` when the server refuses it."""
        d = self._defaults
        client_options.setdefault("reconnection", False)
        c = _client_class()(**client_options)
        for event, fn in (handlers or {}).items():
            c.on(event, fn)
        self.clients.append(c)
        await c.connect(
            self.url,
            transports=[transport or d["transport"]],
            namespaces=namespaces if namespaces is not None else d["namespaces"],
            auth=auth if auth is not None else d["auth"],
            headers=headers if headers is not None else d["headers"] or {},
            wait_timeout=_CONNECT_TIMEOUT,
        )
        return c

    async def _disconnect_all(self) -> None:
        for c in self.clients:
            with contextlib.suppress(Exception):
                await c.disconnect()


def _roomcast_server(app: Any) -> RoomcastServer | None:
    """The roomcast.Server behind ``app`` when it is served by roomcast's own listener."""
    if isinstance(app, RoomcastServer):
        return app
    io = getattr(app, "io", None)  # roomcast.socketio.AsyncServer / Server
    if isinstance(io, RoomcastServer) and not callable(app):
        return io
    return None


@contextlib.asynccontextmanager
async def _serve_asgi(app: Any, host: str) -> AsyncIterator[int]:
    try:
        import uvicorn
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("serving an ASGI app needs uvicorn: pip install uvicorn") from e
    # No lifespan: its shutdown would close a module-level server that later tests reuse.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            if loop.time() > deadline:
                raise TimeoutError("uvicorn did not start in time")
            await asyncio.sleep(0.01)
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        # Long-polls still open would hold uvicorn's shutdown; the clients are gone by now.
        server.force_exit = True
        await asyncio.wait_for(task, _START_TIMEOUT)


@contextlib.asynccontextmanager
async def serve(
    app: Any,
    *,
    clients: int = 0,
    transport: str = "websocket",
    namespaces: list[str] | None = None,
    auth: Any = None,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[TestServer]:
    """Serves ``app`` on a free port and connects ``clients`` python-socketio clients (with
    ``transport``, ``namespaces``, ``auth``, ``headers``; :meth:`TestServer.client` makes
    more). On exit the clients disconnect and the server stops.

    ``app`` is a ``roomcast.socketio.AsyncServer`` or a ``roomcast.Server`` (served by
    roomcast's own listener, then closed: create one per test), or an ASGI app such as
    ``roomcast.socketio.ASGIApp(sio, fastapi_app)`` (served by uvicorn without lifespan
    events; the Socket.IO server is not closed, so a module-level app serves test after
    test).
    """
    defaults = {"transport": transport, "namespaces": namespaces, "auth": auth, "headers": headers}
    io = _roomcast_server(app)
    if io is not None:
        port = await io.start(host, 0)
        served = TestServer(f"http://{host}:{port}", port, defaults)
        try:
            for _ in range(clients):
                await served.client()
            yield served
        finally:
            await served._disconnect_all()
            await io.aclose()
        return
    if not callable(app):
        raise TypeError(f"serve() takes a roomcast.socketio.AsyncServer, a roomcast.Server or an ASGI app, not {app!r}")
    async with _serve_asgi(app, host) as port:
        served = TestServer(f"http://{host}:{port}", port, defaults)
        try:
            for _ in range(clients):
                await served.client()
            yield served
        finally:
            await served._disconnect_all()


def _fixture(fn: Callable[..., Any], name: str) -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # plain pytest: the fixture still registers, async tests need a plugin
        import pytest

        return pytest.fixture(fn, name=name)
    return pytest_asyncio.fixture(fn, name=name)


async def _socketio_serve() -> AsyncIterator[Callable[..., Awaitable[TestServer]]]:
    """``await socketio_serve(app, clients=..., ...)`` (the arguments of :func:`serve`):
    a :class:`TestServer`, stopped when the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(app: Any, **options: Any) -> TestServer:
            served: TestServer = await stack.enter_async_context(serve(app, **options))
            return served

        yield start


socketio_serve = _fixture(_socketio_serve, "socketio_serve")
