"""Flask apps emitting from their views: with the native listener in the same process
(start_background), and with roomcast mounted into the Flask app as WSGI middleware."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator

import httpx
import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

import roomcast
from conftest import port_is_free, within


def flask_app(io: roomcast.Server) -> Flask:
    app = Flask(__name__)

    @app.get("/publish")
    def publish() -> Any:
        # A Flask request thread: emitting queues the packet and returns at once.
        io.to(request.args["room"]).emit("news", request.args["text"], b"\x01")
        return jsonify(ok=True)

    @app.get("/ask/<sid>")
    def ask(sid: str) -> Any:
        socket = io.sockets.sockets.get(sid)
        if socket is None:
            return jsonify(error="no such socket"), 404
        # Blocking for an acknowledgement is fine on a request thread.
        return jsonify(answer=socket.emit_with_ack("question", 20, timeout=5).result(timeout=5))

    return app


def setup_handlers(io: roomcast.Server) -> None:
    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("join", lambda room: socket.join(room) or True)


class WerkzeugThread:
    """A threaded Werkzeug server on an ephemeral port, stopped by close()."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="werkzeug")
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def flask_native() -> Iterator[tuple[roomcast.Server, str, str]]:
    io = roomcast.Server()
    setup_handlers(io)
    port = io.start_background(port=0, host="127.0.0.1")
    web = WerkzeugThread(flask_app(io))
    try:
        yield io, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{web.port}"
    finally:
        io.close()
        web.close()
        assert port is not None and port_is_free(port)


async def test_flask_view_emits_to_a_room_native_listener(harness: Any, flask_native: Any) -> None:
    io, io_url, web_url = flask_native
    news = asyncio.get_running_loop().create_future()
    c = await harness.client(io_url, handlers={"news": lambda *a: news.set_result(a), "question": lambda n: n + 1})
    assert await c.call("join", "sports", timeout=5) is True
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{web_url}/publish", params={"room": "sports", "text": "goal"})).json() == {"ok": True}
        answer = await http.get(f"{web_url}/ask/{c.get_sid('/')}")
    assert await within(news) == ("goal", b"\x01")
    assert answer.json() == {"answer": 21}
    await c.disconnect()


async def test_flask_wsgi_mount_on_one_port(harness: Any) -> None:
    io = roomcast.Server(transports=["polling"])
    setup_handlers(io)
    app = flask_app(io)
    app.wsgi_app = roomcast.WSGIApp(io, app.wsgi_app)  # type: ignore[method-assign]
    web = WerkzeugThread(app)
    url = f"http://127.0.0.1:{web.port}"
    try:
        news = asyncio.get_running_loop().create_future()
        c = await harness.client(url, "polling", handlers={"news": lambda *a: news.set_result(a)})
        assert await c.call("join", "sports", timeout=5) is True
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{url}/publish", params={"room": "sports", "text": "goal"})
            assert r.json() == {"ok": True}
            assert (await http.get(f"{url}/elsewhere")).status_code == 404
        assert await within(news) == ("goal", b"\x01")
        await c.disconnect()
    finally:
        await asyncio.get_running_loop().run_in_executor(None, io.close)
        await asyncio.get_running_loop().run_in_executor(None, web.close)
