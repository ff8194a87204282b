"""roomcast.flask deployed other ways than one ``socketio.run``: two servers sharing rooms
and broadcasts through ``message_queue="redis://..."`` with an app-less emitter process,
and the app under a WSGI server (what gunicorn gives: long-polling only)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from typing import Any, Iterator

import httpx
import pytest
import socketio
from werkzeug.serving import make_server

from conftest import within
from flask_socketio_app import create_app
from roomcast.flask import SocketIO
from test_emitter import redis_url  # noqa: F401 - a fixture

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


class Node:
    """The test app on roomcast's listener (Flask and Socket.IO on one port), in process."""

    def __init__(self, **options: Any) -> None:
        self.app, self.socketio = create_app(**options)
        assert self.socketio.server is not None
        self.io = self.socketio.server.io
        self.io.mount_wsgi(self.app, threads=2)
        port = self.io.start_background(port=0, host="127.0.0.1")
        self.url = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.io.close()


@needs_redis
async def test_message_queue_shares_rooms_between_servers_and_an_emitter(redis_url: str) -> None:  # noqa: F811
    a, b = Node(message_queue=redis_url), Node(message_queue=redis_url)
    client = socketio.AsyncClient(reconnection=False)
    loop = asyncio.get_running_loop()
    news: asyncio.Queue[Any] = asyncio.Queue()
    client.on("news", lambda text: loop.call_soon(news.put_nowait, text))
    try:
        await client.connect(a.url, transports=["websocket"], wait_timeout=5)
        await client.call("join", "shared", timeout=5)
        async with httpx.AsyncClient() as http:
            # A view of the other server emits to the room; until both servers have
            # subscribed to Redis an emit may reach nobody, so the first one is repeated.
            deadline = time.monotonic() + 10
            while True:
                r = await http.get(f"{b.url}/publish", params={"room": "shared", "text": "from b"})
                assert r.json() == {"ok": True}
                try:
                    assert await asyncio.wait_for(news.get(), 0.25) == "from b"
                    break
                except asyncio.TimeoutError:
                    assert time.monotonic() < deadline, "the servers did not subscribe to Redis in time"
        # A process with no app emits through the queue.
        emitter = SocketIO(message_queue=redis_url)
        await loop.run_in_executor(None, lambda: emitter.emit("news", "from the emitter", to="shared"))
        while (text := await within(news.get())) == "from b":
            pass  # a repeated probe that arrived late
        assert text == "from the emitter"
        await client.disconnect()
    finally:
        await loop.run_in_executor(None, a.close)
        await loop.run_in_executor(None, b.close)


@pytest.fixture
def under_werkzeug() -> Iterator[tuple[str, SocketIO]]:
    app, sio = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", sio
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        assert sio.server is not None
        sio.server.io.close()


async def test_under_a_wsgi_server_socketio_answers_on_the_app_port_with_polling(under_werkzeug: Any) -> None:
    url, _ = under_werkzeug
    client = socketio.AsyncClient(reconnection=False)
    loop = asyncio.get_running_loop()
    welcome = loop.create_future()
    client.on("welcome", lambda data: welcome.set_result(data))
    try:
        await client.connect(url + "?room=wsgi", transports=["polling"], auth={"user": "g"}, wait_timeout=5)
        assert (await within(welcome))["room"] == "wsgi"
        assert client.transport() == "polling"
        assert await client.call("sum", (4, 5), timeout=5) == 9
        async with httpx.AsyncClient() as http:
            assert (await http.get(url + "/")).text == "home"
    finally:
        await client.disconnect()
