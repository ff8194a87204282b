"""``socketio.run(app)``: the Flask app and Socket.IO with WebSocket on one port of
roomcast's listener, in a real process (flask_socketio_app.py run as a script) stopped by a
real SIGINT. Clients: python-socketio's and npm's socket.io-client (both upgrading from
long-polling to WebSocket), plain HTTP for the Flask routes."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket as pysocket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import socketio

from conftest import NODE_MODULES, node_available, port_is_free, within

HERE = Path(__file__).parent


def _free_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    """flask_socketio_app.py under socketio.run in a child process."""

    def __init__(self, threads: int, backlog: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "flask_socketio_app.py"), str(self.port), str(threads), str(backlog)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 20
        while True:  # bounded: until the listener answers, or the deadline
            try:
                with pysocket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the app did not start: {self.output}")
                time.sleep(0.05)
        self.output = ""

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.stop()

    def stop(self) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        assert self.proc.stdout is not None
        self.output = self.proc.stdout.read()
        return self.proc.returncode


@pytest.fixture
def served() -> Iterator[Served]:
    app = Served(threads=4, backlog=8)
    try:
        yield app
    finally:
        if app.proc.poll() is None:
            code = app.interrupt()
            assert code == 0, app.output
            assert "stopped" in app.output


async def test_python_socketio_client_upgrades_while_flask_answers_on_the_same_port(served: Served) -> None:
    client = socketio.AsyncClient(reconnection=False)
    loop = asyncio.get_running_loop()
    welcome, news = loop.create_future(), loop.create_future()
    client.on("welcome", lambda data: welcome.set_result(data))
    client.on("news", lambda text: news.set_result(text))
    await client.connect(served.url + "?room=lobby", headers={"X-Agent": "python"}, auth={"user": "py"}, wait_timeout=5)
    try:
        greeting = await within(welcome)
        assert (greeting["user"], greeting["room"], greeting["agent"]) == ("py", "lobby", "python")
        # python-socketio's client upgrades during connect().
        assert client.transport() == "websocket"
        assert await client.call("sum", (2, 3), timeout=5) == 5
        await client.call("join", "py-room", timeout=5)
        await loop.run_in_executor(None, _plain_http, served)
        assert await within(news) == "goal"
        assert client.transport() == "websocket"
    finally:
        await client.disconnect()


def _plain_http(served: Served) -> None:
    """Flask routes on the Socket.IO port: a page, a request body, a streamed response and
    a view that emits, all on one kept-alive connection."""
    conn = served.connection()
    conn.request("GET", "/")
    page = conn.getresponse()
    assert (page.status, page.read()) == (200, b"home")
    first_socket = conn.sock
    body = os.urandom(200_000)
    conn.request("POST", "/echo", body=body, headers={"Content-Type": "application/octet-stream"})
    echoed = conn.getresponse()
    assert (echoed.status, echoed.read()) == (200, b"echo:" + body)
    # A generator's response goes out chunked.
    conn.request("GET", "/stream")
    streamed = conn.getresponse()
    assert streamed.getheader("Transfer-Encoding") == "chunked"
    assert streamed.read() == b"first;second;last"
    conn.request("GET", "/publish?room=py-room&text=goal")
    assert json.loads(conn.getresponse().read()) == {"ok": True}
    assert conn.sock is first_socket, "the connection was not kept alive"
    conn.close()


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
def test_npm_socket_io_client_upgrades_while_flask_answers_on_the_same_port(served: Served) -> None:
    proc = subprocess.run(
        ["node", str(HERE / "node_flask_client.js"), served.url],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=20,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, result
    assert result["welcome"]["user"] == "node"
    assert result["welcome"]["room"] == "lobby" and result["welcome"]["agent"] == "node"
    assert result["transport"] == "websocket" and result["stillWebsocket"] == "websocket"
    assert result["sum"] == 42
    assert result["rooms"][1] == "js-room"
    assert result["news"] == "hello room"
    assert result["page"] == "home"
    assert result["posted"] == "echo:from node"


def test_a_full_pool_answers_503_and_ctrl_c_lets_the_request_in_flight_finish() -> None:
    app = Served(threads=1, backlog=0)
    try:
        slow = app.connection()
        slow.request("GET", "/stream?pause=1.5")
        in_flight = slow.getresponse()
        # The only worker is inside the app now.
        assert in_flight.read(6) == b"first;"

        busy = app.connection()
        busy.request("GET", "/")
        refused = busy.getresponse()
        assert refused.status == 503
        assert refused.getheader("Retry-After") == "1"
        refused.read()
        busy.close()

        # Ctrl-C while the response is still being written: it completes, then the
        # process exits cleanly and the port is released.
        app.proc.send_signal(signal.SIGINT)
        assert in_flight.read() == b"second;last"
        slow.close()
        assert app.stop() == 0, app.output
        assert "stopped" in app.output
        assert port_is_free(app.port)
    finally:
        if app.proc.poll() is None:
            app.proc.kill()
            app.proc.wait(5)
