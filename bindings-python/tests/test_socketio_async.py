"""roomcast.socketio.AsyncServer: python-socketio's handlers and methods, driven by
python-socketio's own client over both transports."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, AsyncIterator

import pytest
import socketio as real_socketio

import roomcast.socketio as socketio
from conftest import NODE_MODULES, Client, collector, node_available, port_is_free, within


class Served:
    """An AsyncServer on roomcast's listener, and clients connected to it."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.url = ""
        self.port = 0
        self.clients: list[Client] = []

    async def client(self, transport: str = "websocket", **kwargs: Any) -> Client:
        handlers = kwargs.pop("handlers", {})
        c = Client(reconnection=False)
        for event, fn in handlers.items():
            c.on(event, fn, namespace=kwargs.get("namespace"))
        kwargs.pop("namespace", None)
        self.clients.append(c)
        await c.connect(self.url, transports=[transport], wait_timeout=5, **kwargs)
        return c


@pytest.fixture
async def served() -> AsyncIterator[Any]:
    servers: list[Served] = []

    async def start(sio: socketio.AsyncServer) -> Served:
        s = Served(sio)
        s.port = await sio.start("127.0.0.1", 0)
        s.url = f"http://127.0.0.1:{s.port}"
        servers.append(s)
        return s

    try:
        yield start
    finally:
        for s in servers:
            for c in s.clients:
                try:
                    await c.disconnect()
                except Exception:
                    pass
            await s.sio.shutdown()
            assert port_is_free(s.port)


async def test_handlers_get_sid_environ_auth_and_answer_acks(served: Any, transport: str) -> None:
    sio = socketio.AsyncServer(async_mode="asgi")
    seen: dict[str, Any] = {}
    gone: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        seen["sid"] = sid
        seen["query"] = environ["QUERY_STRING"]
        seen["header"] = environ.get("HTTP_X_APP")
        seen["auth"] = auth
        await sio.save_session(sid, {"user": auth["user"]})
        # Emitted before the client is accepted: it arrives right after CONNECT.
        await sio.emit("welcome", {"sid": sid}, to=sid)

    @sio.on("add")
    def add(sid: str, a: int, b: int) -> int:
        return a + b

    @sio.on("pair")
    async def pair(sid: str) -> tuple[str, int]:
        session = await sio.get_session(sid)
        return session["user"], 2

    @sio.event
    def disconnect(sid: str, reason: str) -> None:
        gone.set_result((sid, reason))

    s = await served(sio)
    welcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    c = await s.client(
        transport,
        auth={"user": "ann"},
        headers={"X-App": "demo"},
        handlers={"welcome": lambda data: welcome.set_result(data)},
    )
    assert (await within(welcome))["sid"] == c.get_sid()
    assert seen["sid"] == c.get_sid()
    assert "EIO=4" in seen["query"]
    assert seen["header"] == "demo"
    assert seen["auth"] == {"user": "ann"}
    assert await c.call("add", (2, 3), timeout=5) == 5
    assert await c.call("pair", timeout=5) == ("ann", 2)
    assert sio.transport(c.get_sid()) == transport
    # roomcast's own API finds the same client by its sid.
    socket = sio.io.get_socket(c.get_sid())
    assert socket is not None and socket is sio.io.sockets.get_socket(c.get_sid())
    assert sio.io.get_socket("nobody") is None and sio.io.of("/").get_socket("nobody") is None
    sid = c.get_sid()
    await c.disconnect()
    # python-socketio's client may close the transport before its DISCONNECT is out.
    gone_sid, reason = await within(gone)
    assert gone_sid == sid and reason in ("client disconnect", "transport close")


async def test_rooms_skip_sid_lists_and_close_room(served: Any) -> None:
    sio = socketio.AsyncServer()

    @sio.on("join")
    async def join(sid: str, room: str) -> list[str]:
        await sio.enter_room(sid, room)
        return sio.rooms(sid)

    @sio.on("shout")
    async def shout(sid: str, rooms: list[str]) -> None:
        await sio.emit("news", ("from", sid), to=rooms, skip_sid=sid)

    @sio.on("close")
    async def close(sid: str, room: str) -> None:
        await sio.close_room(room)

    s = await served(sio)
    got_a, wait_a, on_a = collector()
    got_b, wait_b, on_b = collector()
    got_c, wait_c, on_c = collector()
    a = await s.client(handlers={"news": on_a})
    b = await s.client(handlers={"news": on_b})
    c = await s.client(handlers={"news": on_c})
    assert await a.call("join", "red", timeout=5) == [a.get_sid(), "red"]
    await b.call("join", "red", timeout=5)
    await c.call("join", "blue", timeout=5)
    await a.call("shout", ["red", "blue"], timeout=5)
    assert await wait_b(1) == [("from", a.get_sid())]
    assert await wait_c(1) == [("from", a.get_sid())]
    await c.call("close", "blue", timeout=5)
    assert sio.rooms(c.get_sid()) == [c.get_sid()]
    # A marker to b proves the broadcast to "blue" below reached nobody.
    await sio.emit("news", "blue only", room="blue")
    await sio.emit("news", "marker", to=b.get_sid())
    assert await wait_b(2) == [("from", a.get_sid()), "marker"]
    assert got_a == [] and got_c == [("from", a.get_sid())]


async def test_catch_all_call_callback_and_refusals(served: Any) -> None:
    sio = socketio.AsyncServer()
    caught: list[Any] = []

    @sio.on("*")
    def any_event(event: str, sid: str, *args: Any) -> str:
        caught.append((event, args))
        return "caught"

    @sio.event
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> Any:
        if auth == {"deny": "false"}:
            return False
        if auth == {"deny": "raise"}:
            raise socketio.ConnectionRefusedError("nope", {"code": 7})
        return None

    s = await served(sio)
    slow_answer = asyncio.Event()

    async def slow(*args: Any) -> None:
        await slow_answer.wait()

    c = await s.client(handlers={"question": lambda n: n * 2, "slow": slow})
    assert await c.call("whatever", 1, timeout=5) == "caught"
    assert caught == [("whatever", (1,))]
    assert await sio.call("question", 21, to=c.get_sid(), timeout=5) == 42
    answered: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
    await sio.emit("question", 5, to=c.get_sid(), callback=lambda *args: answered.set_result(args))
    assert await within(answered) == (10,)

    with pytest.raises(socketio.exceptions.TimeoutError):
        await sio.call("slow", to=c.get_sid(), timeout=0.2)
    slow_answer.set()

    for auth, message in (({"deny": "false"}, "Connection rejected by server"), ({"deny": "raise"}, "nope")):
        refused = Client(reconnection=False)
        errors: list[Any] = []
        refused.on("connect_error", lambda data: errors.append(data))
        with pytest.raises(real_socketio.exceptions.ConnectionError):
            await refused.connect(s.url, transports=["websocket"], auth=auth, wait_timeout=5)
        await refused.disconnect()
        assert errors and errors[0]["message"] == message
    assert errors[0].get("data") == {"code": 7}


async def test_class_based_namespace_and_session_context(served: Any) -> None:
    sio = socketio.AsyncServer()
    log: list[Any] = []

    class Chat(socketio.AsyncNamespace):
        async def on_connect(self, sid: str, environ: dict[str, Any]) -> None:
            async with self.session(sid) as session:
                session["n"] = 0
            await self.enter_room(sid, "chat-room")

        async def on_bump(self, sid: str) -> int:
            async with self.session(sid) as session:
                session["n"] += 1
                return int(session["n"])

        def on_disconnect(self, sid: str, reason: str) -> None:
            log.append(reason)

    sio.register_namespace(Chat("/chat"))
    s = await served(sio)
    c = await s.client(namespaces=["/chat"])
    assert await c.call("bump", namespace="/chat", timeout=5) == 1
    assert await c.call("bump", namespace="/chat", timeout=5) == 2
    sid = c.get_sid("/chat")
    assert sio.rooms(sid, namespace="/chat") == [sid, "chat-room"]
    await sio.disconnect(sid, namespace="/chat")
    for _ in range(100):
        if log:
            break
        await asyncio.sleep(0.02)
    assert log == ["server disconnect"]


async def test_bad_input_is_refused_clearly(served: Any) -> None:
    with pytest.raises(TypeError, match="unknown option.*pingInterval"):
        socketio.AsyncServer(pingInterval=5)
    with pytest.raises(ValueError, match="async_mode='aiohttp'"):
        socketio.AsyncServer(async_mode="aiohttp")
    with pytest.raises(ValueError, match="cookie"):
        socketio.AsyncServer(cookie="io")
    with pytest.raises(ValueError, match="allow_upgrades"):
        socketio.Server(allow_upgrades=False)
    sio = socketio.AsyncServer()
    with pytest.raises(TypeError, match=r"connect.*\(sid, environ\)"):

        @sio.on("connect")
        def connect(sid: str) -> None: ...

    with pytest.raises(TypeError, match=r"\(sid, \*args\)"):
        sio.on("my_event", lambda: None)
    with pytest.raises(ValueError, match="Not a valid namespace class"):
        sio.register_namespace(socketio.Namespace("/x"))
    with pytest.raises(ValueError, match="auth must be specified"):
        sio.instrument()
    with pytest.raises(NotImplementedError, match="ASGIApp"):
        sio.attach(object())
    # Unknown sids: documented no-ops, or a KeyError for what cannot answer.
    s = await served(sio)
    await sio.emit("x", 1, to="no-such-sid")
    await sio.enter_room("no-such-sid", "r")
    await sio.disconnect("no-such-sid")
    assert sio.rooms("no-such-sid") == []
    assert sio.get_environ("no-such-sid") is None
    with pytest.raises(KeyError):
        await sio.get_session("no-such-sid")
    with pytest.raises(socketio.exceptions.TimeoutError):
        await sio.call("x", to="no-such-sid", timeout=0.2)
    await sio.emit("x", 1, namespace="/never-registered")
    assert sio.io.get_namespace("/never-registered") is None
    c = await s.client()
    assert c.connected


async def test_catch_all_namespace_and_always_connect(served: Any) -> None:
    sio = socketio.AsyncServer(always_connect=True, serializer="default")
    log: list[Any] = []

    @sio.on("connect", namespace="*")
    async def any_connect(namespace: str, sid: str, environ: dict[str, Any]) -> Any:
        log.append(("connect", namespace))
        # always_connect: the client is in already, so this emit needs no waiting.
        await sio.emit("hi", namespace, to=sid, namespace=namespace)
        return namespace != "/banned"

    @sio.on("*", namespace="*")
    def any_event(event: str, namespace: str, sid: str, *args: Any) -> Any:
        return [event, namespace, *args]

    s = await served(sio)
    got, wait, on_hi = collector()
    c = Client(reconnection=False)
    s.clients.append(c)
    for ns in ("/rooms-7", "/banned"):
        c.on("hi", on_hi, namespace=ns)
    await c.connect(s.url, transports=["websocket"], namespaces=["/rooms-7"], wait_timeout=5)
    assert await c.call("anything", 5, namespace="/rooms-7", timeout=5) == ["anything", "/rooms-7", 5]
    assert await wait(1) == ["/rooms-7"]
    banned = Client(reconnection=False)
    s.clients.append(banned)
    gone = asyncio.Event()
    banned.on("disconnect", lambda *args: gone.set(), namespace="/banned")
    banned.on("hi", on_hi, namespace="/banned")
    await banned.connect(s.url, transports=["websocket"], namespaces=["/banned"], wait_timeout=5)
    # Accepted first (always_connect), then disconnected when the handler says no.
    await within(gone.wait())
    assert ("connect", "/banned") in log


async def test_asgi_app_socketio_path_and_static_files_under_uvicorn(tmp_path: Any) -> None:
    from test_asgi import uvicorn_serving

    (tmp_path / "index.html").write_text("<p>home</p>")
    sio = socketio.AsyncServer(async_mode="asgi")
    sio.on("echo", lambda sid, *args: args)
    started: list[str] = []
    app = socketio.ASGIApp(
        sio,
        static_files={"/": str(tmp_path) + "/"},
        socketio_path="/realtime",
        on_startup=lambda: started.append("up"),
    )
    async with uvicorn_serving(app) as url:
        import httpx

        async with httpx.AsyncClient() as http:
            assert (await http.get(url + "/")).text == "<p>home</p>"
            assert (await http.get(url + "/index.html")).text == "<p>home</p>"
            assert (await http.get(url + "/missing.css")).status_code == 404
            assert (await http.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"})).status_code == 404
        for transport in ("websocket", "polling"):
            c = Client(reconnection=False)
            await c.connect(url, transports=[transport], socketio_path="realtime", wait_timeout=5)
            try:
                assert await c.call("echo", (1, "two"), timeout=5) == (1, "two")
            finally:
                await c.disconnect()
    assert started == ["up"]


MSGPACK_CLIENT = """
const { io } = require("socket.io-client");
const parser = require("socket.io-msgpack-parser");
const socket = io(process.argv[1], { transports: ["websocket"], parser, reconnection: false });
setTimeout(() => { console.log(JSON.stringify({ error: "timed out" })); process.exit(1); }, 8000);
socket.on("connect_error", (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
socket.on("connect", () => socket.emit("add", 2, 3, (sum, bin) => {
  console.log(JSON.stringify({ sum, bin: Array.from(bin) }));
  socket.disconnect();
  process.exit(0);
}));
"""


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
async def test_msgpack_serializer_with_the_npm_msgpack_parser(served: Any) -> None:
    sio = socketio.AsyncServer(serializer="msgpack")
    sio.on("add", lambda sid, a, b: (a + b, b"\x01\x02"))
    s = await served(sio)
    proc = await asyncio.create_subprocess_exec(
        "node", "-e", MSGPACK_CLIENT, s.url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"sum": 5, "bin": [1, 2]}


async def test_state_of_a_client_that_left_during_its_connect_handler_is_dropped(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import websockets

    import roomcast._dispatch
    import roomcast.socketio._base

    monkeypatch.setattr(roomcast._dispatch, "_AUTHORIZED_TTL", 0.05)
    monkeypatch.setattr(roomcast.socketio._base, "_SWEEP_EVERY", 1)
    sio = socketio.AsyncServer()
    entered = asyncio.Event()
    release = asyncio.Event()
    sids: list[str] = []

    @sio.event
    async def connect(sid: str, environ: dict[str, Any]) -> None:
        sids.append(sid)
        await sio.save_session(sid, {"big": "state"})
        if len(sids) == 1:
            entered.set()
            await release.wait()

    s = await served(sio)
    async with websockets.connect(f"ws://127.0.0.1:{s.port}/socket.io/?EIO=4&transport=websocket") as ws:
        assert (await within(ws.recv())).startswith("0{")
        await ws.send("40")
        await within(entered.wait())
    # The client is gone; its connect handler finishes afterwards and nothing connects.
    release.set()
    gone = sids[0]
    for _ in range(200):
        if gone not in sio.io._authorizing:
            break
        await asyncio.sleep(0.01)
    assert gone not in sio.io._authorizing
    c = await s.client()  # the next CONNECT sweeps what the first one left
    assert c.connected
    assert gone not in sio._connecting and gone not in sio._sessions and gone not in sio._environ
