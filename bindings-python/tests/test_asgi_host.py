"""An ASGI app on roomcast's native listener (``io.mount_asgi`` / ``io.listen(asgi_app=...)``):
a FastAPI app and Socket.IO on one port, the scope and streamed bodies, lifespan, errors,
emitting from a route, a full queue, and closing with requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import socket as pysocket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import socketio
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

import roomcast
from conftest import MountedApp

WAIT = 10


@pytest.fixture
def mount(mounted_apps: Any) -> Callable[..., MountedApp]:
    return lambda app, **options: mounted_apps("asgi", app, **options)


def test_a_fastapi_app_and_socketio_share_the_port(mount: Any) -> None:
    api = FastAPI()
    holder: dict[str, Any] = {}

    @api.post("/announce/{room}")
    async def announce(room: str, request: Request) -> dict[str, Any]:
        body = await request.json()
        # On the handlers' loop: the route emits directly.
        holder["io"].to(room).emit("announcement", body["text"])
        return {"ok": True, "room": room, "client": request.client.host}

    m = mount(api)
    holder["io"] = m.io

    @m.io.on("connection")
    def on_connection(sock: Any) -> None:
        sock.join("news")

    got = threading.Event()
    heard: list[str] = []
    client = socketio.Client()

    @client.on("announcement")
    def on_announcement(text: str) -> None:
        heard.append(text)
        got.set()

    joined = threading.Event()
    m.io.on("connection")(lambda sock: joined.set())
    client.connect(f"http://127.0.0.1:{m.port}", transports=["websocket"], wait_timeout=WAIT)
    try:
        assert joined.wait(WAIT)
        status, headers, body = m.request(
            "POST", "/announce/news", body=b'{"text": "hello"}', headers={"Content-Type": "application/json"}
        )
        assert status == 200 and headers["content-type"] == "application/json"
        assert body == b'{"ok":true,"room":"news","client":"127.0.0.1"}'
        assert got.wait(WAIT) and heard == ["hello"]
        assert client.transport() == "websocket"
    finally:
        client.disconnect()


def test_the_scope_and_a_chunked_upload(mount: Any) -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")  # served without it, as uvicorn's "auto"
        seen.update(scope)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message["body"])
            if not message["more_body"]:
                break
        seen["body"] = b"".join(chunks)
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-echo", b"1")]})
        await send({"type": "http.response.body", "body": b"part1,", "more_body": True})
        await send({"type": "http.response.body", "body": b"part2"})

    m = mount(app)
    status, headers, body = m.request("POST", "/a%20b/c?x=1", body=iter([b"one\n", b"two"]), headers={"X-One": "1"})
    assert (status, body, headers["x-echo"]) == (201, b"part1,part2", "1")
    assert seen["method"] == "POST" and seen["path"] == "/a b/c" and seen["raw_path"] == b"/a%20b/c"
    assert seen["query_string"] == b"x=1" and seen["http_version"] == "1.1" and seen["scheme"] == "http"
    assert (b"x-one", b"1") in seen["headers"]
    assert seen["client"][0] == "127.0.0.1" and seen["server"][1] == m.port
    assert seen["body"] == b"one\ntwo"


def test_lifespan_runs_before_the_port_opens_and_at_close() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        events.append("startup")
        yield
        events.append("shutdown")

    api = FastAPI(lifespan=lifespan)

    @api.get("/events")
    async def get_events() -> list[str]:
        return events

    io = roomcast.Server()
    io.mount_asgi(api)
    port = io.start_background(port=0, host="127.0.0.1")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("GET", "/events")
        assert conn.getresponse().read() == b'["startup"]'
        conn.close()
    finally:
        io.close()
    assert events == ["startup", "shutdown"]


def test_app_errors_give_500_or_a_cut_response(mount: Any) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/before":
            raise ValueError("boom before")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise ValueError("boom after")

    m = mount(app)
    status, _, _ = m.request("GET", "/before")
    assert status == 500
    # Cut: the client sees the body end early, or the connection reset under it.
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        m.request("GET", "/after")
    # The server keeps serving.
    status, _, _ = m.request("GET", "/before")
    assert status == 500


def test_a_streamed_response_and_a_disconnect_after_the_body(mount: Any) -> None:
    api = FastAPI()

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def gen() -> Any:
            for i in range(3):
                yield f"line {i}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(gen(), media_type="text/plain")

    m = mount(api)
    status, headers, body = m.request("GET", "/stream")
    assert status == 200 and body == b"line 0\nline 1\nline 2\n"
    assert headers.get("transfer-encoding") == "chunked"


def test_a_full_queue_answers_503_and_recovers(mount: Any) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        entered.release()
        await asyncio.get_running_loop().run_in_executor(None, release.wait, WAIT)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    m = mount(app, concurrency=1, backlog=0)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(m.request("GET", "/slow")[0]))
    first.start()
    assert entered.acquire(timeout=WAIT)
    status, _, _ = m.request("GET", "/another")
    assert status == 503
    release.set()
    first.join(WAIT)
    assert results == [200]
    status, _, body = m.request("GET", "/again")
    assert (status, body) == (200, b"done")


def test_closing_lets_a_request_in_flight_finish() -> None:
    entered = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        entered.set()
        # Still running when the close begins: the close waits for it (shutdown grace).
        for _ in range(20):
            await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})

    io = roomcast.Server()
    io.mount_asgi(app, shutdown_grace=5)
    port = io.start_background(port=0, host="127.0.0.1")
    result: dict[str, Any] = {}

    def get() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("GET", "/slow")
        r = conn.getresponse()
        result["answer"] = (r.status, r.read())

    t = threading.Thread(target=get)
    t.start()
    assert entered.wait(WAIT)
    io.close()
    t.join(WAIT)
    assert result["answer"] == (200, b"finished")


def test_socketio_polling_still_answers_its_path(mount: Any) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise AssertionError("the app must not see the Socket.IO path")

    m = mount(app)
    status, _, body = m.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b"0{")


def test_bad_arguments_are_clear_errors() -> None:
    io = roomcast.Server()
    try:
        with pytest.raises(TypeError, match="must be an ASGI app"):
            io.mount_asgi("not an app")
        with pytest.raises(ValueError, match="concurrency must be at least 1"):
            io.mount_asgi(FastAPI(), concurrency=0)
        with pytest.raises(TypeError, match="not both"):
            io.listen(0, wsgi_app=lambda e, s: [], asgi_app=FastAPI())
        io.mount_asgi(FastAPI())
        with pytest.raises(RuntimeError, match="already mounted"):
            io.mount_wsgi(lambda e, s: [])
    finally:
        io.close()


def test_the_fastapi_example_runs_on_the_native_listener_and_stops_on_ctrl_c() -> None:
    """examples/python/fastapi_chat.py run as a script: ``io.listen(port, asgi_app=api)``."""
    example = Path(__file__).resolve().parents[2] / "examples/python/fastapi_chat.py"
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(example)],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # bounded: until the listener answers, or the deadline
            try:
                with pysocket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() >= deadline:
                    proc.kill()
                    output = proc.communicate()[0]
                    raise AssertionError(f"the example did not start; it printed:\n{output}")
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("GET", "/")
        page = conn.getresponse()
        assert page.status == 200 and b"roomcast chat" in page.read()
        conn.close()

        heard = threading.Event()
        texts: list[str] = []
        client = socketio.Client(reconnection=False)

        @client.on("system")
        def on_system(text: str) -> None:
            texts.append(text)
            heard.set()

        joined = threading.Event()
        client.connect(f"http://127.0.0.1:{port}", auth={"name": "py"}, transports=["websocket"], wait_timeout=WAIT)
        try:
            client.emit("join", "lobby", callback=lambda rooms: joined.set())
            assert joined.wait(WAIT)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
            conn.request("POST", "/announce?text=noon")
            assert conn.getresponse().status == 200
            conn.close()
            assert heard.wait(WAIT) and texts == ["announcement: noon"]
        finally:
            client.disconnect()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(5)
        output = proc.stdout.read() if proc.stdout else ""
    assert code == 0, output


def test_a_python_socketio_app_moves_to_one_port_with_its_fastapi_app() -> None:
    import roomcast.socketio as rsio

    sio = rsio.AsyncServer()
    api = FastAPI()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any]) -> None:
        await sio.enter_room(sid, "news")
        await sio.emit("joined", to=sid)

    @api.post("/news")
    async def news() -> dict[str, bool]:
        await sio.emit("news", "fresh", room="news")
        return {"ok": True}

    sio.io.mount_asgi(api)
    port = sio.io.start_background(port=0, host="127.0.0.1")
    joined, heard = threading.Event(), threading.Event()
    texts: list[str] = []
    client = socketio.Client(reconnection=False)
    client.on("joined", lambda: joined.set())

    @client.on("news")
    def on_news(text: str) -> None:
        texts.append(text)
        heard.set()

    try:
        client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=WAIT)
        assert joined.wait(WAIT)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("POST", "/news")
        assert conn.getresponse().status == 200
        conn.close()
        assert heard.wait(WAIT) and texts == ["fresh"]
    finally:
        client.disconnect()
        sio.io.close()
