"""FastAPI and roomcast on one port under uvicorn, through roomcast.ASGIApp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI

import roomcast
from conftest import Client, port_is_free, within


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any, **options: Any) -> AsyncIterator[str]:
    async with uvicorn_server(app, **options) as (url, _):
        yield url


@contextlib.asynccontextmanager
async def uvicorn_server(app: Any, **options: Any) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """uvicorn on the test's loop, or with ``loop="uvloop"`` on a uvloop loop of its own
    thread (as ``uvicorn`` runs when uvloop is installed)."""
    options.setdefault("log_level", "warning")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **options)
    server = uvicorn.Server(config)
    if options.get("loop") == "uvloop":
        ran: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        test_loop = asyncio.get_running_loop()

        def run() -> None:
            try:
                server.run()
            finally:
                test_loop.call_soon_threadsafe(lambda: ran.done() or ran.set_result(None))

        thread = threading.Thread(target=run, name="uvicorn")
        thread.start()
        task: asyncio.Future[Any] = ran
    else:
        thread = None
        task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        if thread is not None:
            thread.join(5)


def make_app() -> tuple[roomcast.Server, FastAPI, list[str]]:
    io = roomcast.Server()
    lifespan_log: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifespan_log.append("startup")
        yield
        lifespan_log.append("shutdown")

    api = FastAPI(lifespan=lifespan)

    @api.get("/rooms/{room}/notify")
    async def notify(room: str, text: str) -> dict[str, Any]:
        io.to(room).emit("notice", text)
        return {"sent": text, "room": room}

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("join", lambda room: socket.join(room) or True)
        socket.on("echo", lambda *args: args)

    return io, api, lifespan_log


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_fastapi_and_socketio_share_a_port(harness: Any, transport: str) -> None:
    io, api, lifespan_log = make_app()
    asgi = roomcast.ASGIApp(io, other_asgi_app=api)
    async with uvicorn_serving(asgi) as url:
        notice = asyncio.get_running_loop().create_future()
        c = await harness.client(url, transport, handlers={"notice": lambda t: notice.set_result(t)})
        assert await c.call("join", "lobby", timeout=5) is True
        assert await c.call("echo", (1, b"\x00"), timeout=5) == (1, b"\x00")
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{url}/rooms/lobby/notify", params={"text": "hi"})
            assert r.json() == {"sent": "hi", "room": "lobby"}
            missing = await http.get(f"{url}/nowhere")
            assert missing.status_code == 404
        assert await within(notice) == "hi"
        if transport == "polling":
            # The ASGI bridge serves the handshake like the native listener.
            async with httpx.AsyncClient() as http:
                r = await http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"})
                assert r.status_code == 200 and r.text.startswith("0{")
        await c.disconnect()
        port = int(url.rsplit(":", 1)[1])
    assert lifespan_log == ["startup", "shutdown"]
    assert io.closed, "the lifespan shutdown closes the server"
    assert port_is_free(port)


async def test_asgi_app_alone_answers_404_and_lifespan() -> None:
    io = roomcast.Server()
    asgi = roomcast.ASGIApp(io)
    async with uvicorn_serving(asgi) as url:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/other")).status_code == 404
    assert io.closed


async def test_a_long_poll_whose_client_goes_away_ends_its_session() -> None:
    # As engine.io ("poll connection closed prematurely"): the next poll finds the session
    # gone, not the dead poll still waiting (which would answer an overlap).
    io = roomcast.Server()
    async with uvicorn_serving(roomcast.ASGIApp(io)) as url:
        host, port = url.removeprefix("http://").split(":")
        async with httpx.AsyncClient() as http:
            for _ in range(10):
                r = await http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"})
                sid = json.loads(r.text[1:])["sid"]
                path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
                # The poll and the client's close in one go, then wait for the server's close.
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                writer.write_eof()
                await within(reader.read())
                writer.close()
                after = await http.get(f"{url}{path}", timeout=5)
                assert after.status_code == 400, after.text
                assert "Session ID unknown" in after.text


async def test_a_websocket_event_is_answered_during_its_receive(harness: Any) -> None:
    """Under an ASGI server a sync handler's ack is written while the loop handles the frame
    that asked for it: the core's threads never wake the loop for it (before, every echo
    woke it twice: once for the event, once for the frame to send)."""
    io, _, _ = make_app()
    # The WebSocket stays on ASGI messages (a taken-over one never involves the loop's receive).
    async with uvicorn_serving(roomcast.ASGIApp(io, take_over_websockets=False)) as url:
        c = await harness.client(url, "websocket")
        assert await c.call("echo", 0, timeout=5) == 0
        dispatcher = io._dispatcher
        loop = asyncio.get_running_loop()
        wakes = 0

        def counted() -> None:
            nonlocal wakes
            wakes += 1
            dispatcher.drain()

        loop.remove_reader(dispatcher._fd)
        loop.add_reader(dispatcher._fd, counted)
        try:
            for i in range(40):
                assert await c.call("echo", {"n": i}, timeout=5) == {"n": i}
        finally:
            loop.remove_reader(dispatcher._fd)
            loop.add_reader(dispatcher._fd, dispatcher.drain)
        assert wakes < 10, f"the loop was woken {wakes} times for 40 echoes"


@pytest.mark.parametrize("take_over", [True, False], ids=["taken-over", "asgi-messages"])
async def test_websocket_frames_keep_their_order_whoever_sends_them(harness: Any, take_over: bool) -> None:
    """Emits and acks made while the receive loop runs the handlers, by async handlers and
    from an HTTP route reach the client in the order they were made."""
    io = roomcast.Server()
    api = FastAPI()

    @api.get("/burst")
    async def burst(n: int) -> dict[str, Any]:
        for i in range(n):
            io.emit("seq", {"from": "route", "i": i})
        return {}

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        def sync(i: int) -> int:
            socket.emit("seq", {"from": "sync", "i": i})
            return i

        async def later(i: int) -> int:
            await asyncio.sleep(0)
            socket.emit("seq", {"from": "async", "i": i})
            return i

        socket.on("sync", sync)
        socket.on("later", later)

    seen: list[tuple[str, int]] = []
    async with uvicorn_serving(roomcast.ASGIApp(io, other_asgi_app=api, take_over_websockets=take_over)) as url:
        c = await harness.client(url, "websocket", handlers={"seq": lambda d: seen.append((d["from"], d["i"]))})
        async with httpx.AsyncClient() as http:
            for round_ in range(20):
                calls = [c.call("sync", round_, timeout=5), c.call("later", round_, timeout=5)]
                route = http.get(f"{url}/burst", params={"n": 5})
                results = await within(asyncio.gather(*calls, route), 10)
                assert results[:2] == [round_, round_]
                # Each handler emitted before it acknowledged: the emit came first.
                assert ("sync", round_) in seen and ("async", round_) in seen
        # Every emit of one kind arrives in order, and a handler's emit before its ack.
        for kind in ("sync", "async"):
            assert [i for k, i in seen if k == kind] == list(range(20))
        route_seen = [i for k, i in seen if k == "route"]
        assert route_seen == list(range(5)) * 20


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def uvicorn_log() -> Iterator[_Records]:
    handler = _Records()
    loggers = [logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("ws", ["websockets-sansio", "wsproto"])
async def test_uvicorn_hands_its_websockets_to_the_core(harness: Any, ws: str, loop: str) -> None:
    """A WebSocket of the Socket.IO path leaves uvicorn once its upgrade is parsed: uvicorn
    tracks no connection for it, logs nothing about it, and the client is served as on the
    native listener, both ways, until either side disconnects."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    io, api, _ = make_app()
    disconnects: asyncio.Queue[str] = asyncio.Queue()
    test_loop = asyncio.get_running_loop()

    @io.on("connection")
    def watch(socket: roomcast.Socket) -> None:
        # Handlers run on uvicorn's loop, which is another thread's with uvloop.
        socket.on("disconnect", lambda reason: test_loop.call_soon_threadsafe(disconnects.put_nowait, reason))
        socket.on("leave_me", lambda: socket.disconnect())

    with uvicorn_log() as log:
        app = roomcast.ASGIApp(io, other_asgi_app=api)
        async with uvicorn_server(app, ws=ws, loop=loop, log_level="info") as (url, server):
            notice = asyncio.get_running_loop().create_future()
            c = await harness.client(url, "websocket", handlers={"notice": lambda t: notice.set_result(t)})
            assert await c.call("join", "lobby", timeout=5) is True
            assert await c.call("echo", (1, b"\x00"), timeout=5) == (1, b"\x00")
            assert server.server_state.connections == set(), "uvicorn still holds the WebSocket"
            async with httpx.AsyncClient() as http:
                r = await http.get(f"{url}/rooms/lobby/notify", params={"text": "hi"})
                assert r.json() == {"sent": "hi", "room": "lobby"}
            assert await within(notice) == "hi"
            await c.disconnect()
            # python-socketio's client may close the WebSocket before its DISCONNECT is written.
            assert await within(disconnects.get()) in ("client namespace disconnect", "transport close")

            gone = asyncio.get_running_loop().create_future()
            c2 = await harness.client(url, "websocket")
            c2.on("disconnect", lambda *a: gone.done() or gone.set_result(True))
            await c2.emit("leave_me")
            assert await within(gone) is True
            assert await within(disconnects.get()) == "server namespace disconnect"
    problems = [r.getMessage() for r in log.records if r.levelno >= logging.WARNING]
    assert problems == []
    # uvicorn never answered these upgrades: no access line claims a status for them.
    assert not [r for r in log.records if "WebSocket /socket.io/" in r.getMessage()]


async def test_the_core_refuses_an_upgrade_it_would_refuse_on_its_own_listener() -> None:
    """A taken-over upgrade for a session that does not exist gets the core's HTTP 400, as on
    the native listener (ASGI messages could only say 403)."""
    io = roomcast.Server()
    async with uvicorn_serving(roomcast.ASGIApp(io)) as url:
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket&sid=nope"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url, open_timeout=5):
                pass
        assert refused.value.response.status_code == 400
        assert b"Session ID unknown" in refused.value.response.body


async def test_a_polling_client_upgrades_onto_a_taken_over_websocket(harness: Any) -> None:
    """The handshake and polls go through ASGI, the upgrade is taken over: the session moves
    onto the core's WebSocket and keeps its rooms."""
    io, api, _ = make_app()
    async with uvicorn_server(roomcast.ASGIApp(io, other_asgi_app=api)) as (url, server):
        c = Client(reconnection=False)
        harness.clients.append(c)
        notice = asyncio.get_running_loop().create_future()
        c.on("notice", lambda t: notice.set_result(t))
        await c.connect(url, transports=["polling", "websocket"], wait_timeout=5)
        assert await c.call("join", "lobby", timeout=5) is True
        for _ in range(500):
            if c.transport() == "websocket":
                break
            await asyncio.sleep(0.01)
        assert c.transport() == "websocket"
        assert await c.call("echo", "after", timeout=5) == "after"
        io.to("lobby").emit("notice", "moved")
        assert await within(notice) == "moved"
        assert server.server_state.connections == set()


async def test_uvicorns_legacy_websockets_protocol_keeps_asgi_messages(harness: Any) -> None:
    """uvicorn's legacy ``websockets`` protocol would log an error for a connection it did not
    answer: its WebSockets stay on ASGI messages, and work."""
    io, api, _ = make_app()
    with uvicorn_log() as log:
        async with uvicorn_server(roomcast.ASGIApp(io, other_asgi_app=api), ws="websockets") as (url, server):
            c = await harness.client(url, "websocket")
            assert await c.call("echo", "legacy", timeout=5) == "legacy"
            assert len(server.server_state.connections) == 1
            await c.disconnect()
    assert [r.getMessage() for r in log.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_handshake_says_secure_under_uvicorn_with_tls(transport: str) -> None:
    """uvicorn terminating TLS: the request's ``https`` / ``wss`` scheme reaches the
    handshake (``socket.handshake["secure"]``), as socket.io reports an encrypted request."""
    import pathlib

    import socketio

    fixtures = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tls"
    io = roomcast.Server()
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        if not seen.done():
            seen.set_result(socket.handshake)

    options = {
        "ssl_keyfile": str(fixtures / "localhost-key.pem"),
        "ssl_certfile": str(fixtures / "localhost-cert.pem"),
    }
    async with uvicorn_serving(roomcast.ASGIApp(io), **options) as url:
        client = socketio.AsyncClient(ssl_verify=False)
        await client.connect(url.replace("http://", "https://"), transports=[transport], wait_timeout=5)
        try:
            handshake = await within(seen)
            assert handshake["secure"] is True
        finally:
            await client.disconnect()
    io.close()
