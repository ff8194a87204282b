"""python-socketio apps run on roomcast with one changed import.

python-socketio's sdist on PyPI does not ship its examples/ directory, so tests/apps holds
apps written for these tests in the shape of its examples/server/asgi and
examples/server/wsgi (same events, rooms, background task, static files). Each app imports
python-socketio; tests/apps/run_app.py serves it either as is or with
``import roomcast.socketio as socketio``. The same client steps run against both, with
python-socketio's client and with the npm socket.io-client, and must see the same events.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from conftest import NODE_MODULES, Client, node_available

APPS = Path(__file__).with_name("apps")
TICK = "0.3"


class Recorder:
    """A python-socketio client that records the non-tick events it receives."""

    def __init__(self) -> None:
        self.client = Client(reconnection=False)
        self.seen: list[list[Any]] = []
        self.ticks = 0
        self._changed = asyncio.Event()
        c = self.client

        @c.on("my_response")
        def on_response(msg: dict[str, Any]) -> None:
            if msg.get("data") == "Server generated event":
                self.ticks += 1
                self._changed.set()
            else:
                self._record(["my_response", msg])

        c.on("hello", lambda *args: self._record(["hello", *args]))
        c.on("pong_from_server", lambda *args: self._record(["pong_from_server"]))
        c.on("disconnect", lambda *args: self._record(["disconnect"]))

    def _record(self, item: list[Any]) -> None:
        self.seen.append(item)
        self._changed.set()

    async def until(self, n: int, ticks: int = 0) -> None:
        async def wait() -> None:
            while len(self.seen) < n or self.ticks < ticks:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), 10)


async def python_client_steps(url: str, transport: str, asgi: bool) -> dict[str, list[Any]]:
    """What node_example_client.js does, with python-socketio's AsyncClient."""
    a, b = Recorder(), Recorder()
    counts = {"a": 0, "b": 0}

    async def step(who: Recorder, event: str, data: Any, expect_a: int, expect_b: int) -> None:
        if data is None:
            await who.client.emit(event)
        else:
            await who.client.emit(event, data)
        counts["a"] += expect_a
        counts["b"] += expect_b
        await asyncio.gather(a.until(counts["a"]), b.until(counts["b"]))

    try:
        # The WSGI app's connect handler takes no auth (python-socketio refuses it then).
        auth = {"name": "ann"} if asgi else None
        await a.client.connect(url, transports=[transport], auth=auth, wait_timeout=5)
        counts["a"] = 2 if asgi else 1
        await a.until(counts["a"])
        await step(a, "my_event", {"data": "one"}, 1, 0)
        await step(a, "join", {"room": "r"}, 1, 0)
        await b.client.connect(url, transports=[transport], wait_timeout=5)
        counts["b"] = 1
        await b.until(1)
        await step(b, "join", {"room": "r"}, 0, 1)
        await step(a, "my_room_event", {"room": "r", "data": "to room"}, 1, 1)
        await step(a, "leave", {"room": "r"}, 1, 0)
        await step(b, "my_room_event", {"room": "r", "data": "after leave"}, 0, 1)
        await step(a, "my_broadcast_event", {"data": "all"}, 1, 1)
        await step(b, "close room" if asgi else "close_room", {"room": "r"}, 0, 1)
        await step(b, "my_room_event", {"room": "r", "data": "closed"}, 0, 0)
        if asgi:
            await step(a, "ping_from_client", None, 1, 0)
        await step(a, "my_event", {"data": "marker a"}, 1, 0)
        await step(b, "my_event", {"data": "marker b"}, 0, 1)
        # The app's background task broadcasts every TICK seconds.
        await b.until(counts["b"], ticks=1)
        await step(a, "disconnect request" if asgi else "disconnect_request", None, 1, 0)
    finally:
        await b.client.disconnect()
        await a.client.disconnect()
    return {"a": a.seen, "b": b.seen}


def expected(asgi: bool, disconnect: list[Any], own_disconnect: list[Any]) -> dict[str, list[Any]]:
    """Client a is disconnected by the server, b disconnects itself."""
    def r(data: str, **extra: Any) -> list[Any]:
        return ["my_response", {"data": data, **extra}]

    a = [r("Connected", count=0)]
    if asgi:
        a.append(["hello", 1, 2, {"hello": "ann"}])
    a += [r("one"), r("Entered room: r"), r("to room"), r("Left room: r"), r("all")]
    if asgi:
        a.append(["pong_from_server"])
    a.append(r("marker a"))
    b = [
        r("Connected", count=0),
        r("Entered room: r"),
        r("to room"),
        r("after leave"),
        r("all"),
        r("Room r is closing."),
        r("marker b"),
    ]
    return {"a": a + [disconnect], "b": b + [own_disconnect]}


@pytest.fixture
async def serve_app() -> AsyncIterator[Any]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(app: str, flavour: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(APPS / "run_app.py"),
            app,
            flavour,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "APP_TICK": TICK},
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        match = re.match(rb"listening on (\d+)", line)
        assert match, f"{app} ({flavour}) did not start: {line!r}"
        return f"http://127.0.0.1:{int(match.group(1))}"

    try:
        yield start
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
            try:
                # uvicorn holds a stop until open long-polls end; the apps keep no state.
                await asyncio.wait_for(proc.wait(), 2)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()


CASES = [("asgi_app", "websocket"), ("asgi_app", "polling"), ("wsgi_app", "polling")]


def flavours(app: str, transport: str) -> tuple[str, ...]:
    """Servers to run: roomcast, and python-socketio as the reference except for ASGI with
    long-polling, where python-socketio's client and server take half a minute for the steps."""
    if (app, transport) == ("asgi_app", "polling"):
        return ("roomcast",)
    return ("python-socketio", "roomcast")


@pytest.mark.parametrize(("app", "transport"), CASES)
async def test_example_app_with_python_socketio_client(serve_app: Any, app: str, transport: str) -> None:
    asgi = app == "asgi_app"
    transcripts = {}
    for flavour in flavours(app, transport):
        url = await serve_app(app, flavour)
        async with httpx.AsyncClient() as http:
            page = await http.get(url + "/")  # the WSGI app starts its background thread here
            assert page.status_code == 200
            if asgi:
                assert page.text == (APPS / "app.html").read_text()
                css = await http.get(url + "/static/style.css")
                assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        transcripts[flavour] = await python_client_steps(url, transport, asgi)
    assert transcripts["roomcast"] == transcripts.get("python-socketio", transcripts["roomcast"])
    assert transcripts["roomcast"] == expected(asgi, ["disconnect"], ["disconnect"])


@pytest.mark.skipif(not node_available(), reason="needs node and tests/node_modules")
@pytest.mark.parametrize(("app", "transport"), CASES)
async def test_example_app_with_npm_socket_io_client(serve_app: Any, app: str, transport: str) -> None:
    asgi = app == "asgi_app"
    transcripts = {}
    for flavour in flavours(app, transport):
        url = await serve_app(app, flavour)
        if not asgi:
            async with httpx.AsyncClient() as http:
                assert (await http.get(url + "/")).status_code == 200  # starts the background thread
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(Path(__file__).with_name("node_example_client.js")),
            url,
            transport,
            "close room" if asgi else "close_room",
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert proc.returncode == 0, (flavour, result)
        transcripts[flavour] = result
    assert transcripts["roomcast"] == transcripts.get("python-socketio", transcripts["roomcast"])
    assert transcripts["roomcast"] == expected(asgi, ["disconnect", "io server disconnect"], ["disconnect", "io client disconnect"])
