"""``async_handlers``: where roomcast.socketio's and roomcast.flask's handlers run.

python-socketio's ``Server`` (and so Flask-SocketIO) runs each event's handler on a thread of
its own by default, so a handler that blocks -- on a query, on ``time.sleep``, on another
client's event, on ``sio.call`` -- holds up nobody else; ``AsyncServer`` runs each event as a
task. With ``async_handlers=False`` a client's events are handled one after another. Real
servers on roomcast's listener, real python-socketio clients."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator

import flask
import pytest
from flask import Flask, request

import roomcast
import roomcast.socketio as socketio
from conftest import Client, collector, within
from roomcast.flask import SocketIO, call, emit, join_room, rooms

# How long a blocked handler waits for its release: long enough never to run out when the
# handlers run concurrently, short enough that a test of a server that serialises them fails
# instead of hanging.
HOLD = 5.0
# Bound on every client-side wait.
WAIT = 10.0


async def started(event: threading.Event) -> None:
    """Waits (off the test's loop) until a handler has set ``event``."""
    assert await asyncio.to_thread(event.wait, WAIT), "the handler did not start"


@pytest.fixture
async def clients() -> AsyncIterator[Any]:
    made: list[Client] = []

    async def connect(url: str, **kwargs: Any) -> Client:
        c = Client(reconnection=False)
        for event, fn in kwargs.pop("handlers", {}).items():
            c.on(event, fn)
        made.append(c)
        await c.connect(url, transports=["websocket"], wait_timeout=5, **kwargs)
        return c

    try:
        yield connect
    finally:
        for c in made:
            await c.disconnect()


def serve(sio: socketio.Server) -> str:
    port = sio.io.start_background(port=0, host="127.0.0.1")
    return f"http://127.0.0.1:{port}"


def blocking_server(**options: Any) -> tuple[socketio.Server, threading.Event, threading.Event]:
    """A server whose ``wait`` handler blocks until a ``release`` event comes."""
    sio = socketio.Server(**options)
    waiting, released = threading.Event(), threading.Event()

    @sio.event
    def wait(sid: str) -> bool:
        waiting.set()
        return released.wait(HOLD)

    @sio.event
    def release(sid: str) -> str:
        released.set()
        return "released"

    return sio, waiting, released


# ---- roomcast.socketio.Server -------------------------------------------------------------


@pytest.mark.parametrize("releaser", ["another client", "the same client"])
async def test_a_handler_blocked_on_another_event_is_released_by_it(clients: Any, releaser: str) -> None:
    sio, waiting, _ = blocking_server()
    url = serve(sio)
    try:
        a = await clients(url)
        b = await clients(url) if releaser == "another client" else a
        held = asyncio.ensure_future(a.call("wait", timeout=WAIT))
        await started(waiting)
        assert await b.call("release", timeout=WAIT) == "released"
        assert await within(held, WAIT) is True
    finally:
        sio.shutdown()


async def test_handlers_answer_acks_from_their_thread_with_the_context(clients: Any) -> None:
    sio = socketio.Server()

    @sio.event
    def where(sid: str, x: int) -> Any:
        return x + 1, threading.current_thread().name, roomcast.ack_requested()

    @sio.event
    def nothing(sid: str) -> None:
        return None

    url = serve(sio)
    try:
        c = await clients(url)
        value, thread, asked = await c.call("where", 41, timeout=WAIT)
        assert (value, asked) == (42, True)
        assert thread.startswith("roomcast-handler-")
        assert await c.call("nothing", timeout=WAIT) is None
    finally:
        sio.shutdown()


async def test_call_waits_for_the_client_inside_a_handler(clients: Any) -> None:
    sio = socketio.Server()

    @sio.event
    def ask(sid: str, question: str) -> Any:
        return sio.call("question", question, to=sid, timeout=HOLD)

    url = serve(sio)
    try:
        c = await clients(url, handlers={"question": lambda q: q + "!"})
        assert await c.call("ask", "why", timeout=WAIT) == "why!"
    finally:
        sio.shutdown()


async def test_a_blocked_connect_handler_holds_up_only_its_client(clients: Any) -> None:
    sio, _, released = blocking_server()
    connecting = threading.Event()

    @sio.event
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
        if auth and auth.get("hold"):
            connecting.set()
            return released.wait(HOLD)  # False refuses the client
        return True

    url = serve(sio)
    try:
        b = await clients(url)
        a = asyncio.ensure_future(clients(url, auth={"hold": True}))
        await started(connecting)
        assert await b.call("release", timeout=WAIT) == "released"
        assert (await within(a, WAIT)).connected
    finally:
        sio.shutdown()


async def test_a_blocked_disconnect_handler_holds_up_nobody(clients: Any) -> None:
    sio, _, released = blocking_server()
    leaving, left = threading.Event(), threading.Event()
    outcome: list[bool] = []

    @sio.event
    def disconnect(sid: str, reason: str) -> None:
        if sio.get_session(sid).get("hold"):
            leaving.set()
            outcome.append(released.wait(HOLD))
            left.set()

    @sio.event
    def hold_on_leaving(sid: str) -> None:
        sio.save_session(sid, {"hold": True})

    url = serve(sio)
    try:
        a, b = await clients(url), await clients(url)
        await a.call("hold_on_leaving", timeout=WAIT)
        await a.disconnect()
        await started(leaving)
        assert await b.call("release", timeout=WAIT) == "released"
        await started(left)
        assert outcome == [True]
    finally:
        sio.shutdown()


async def test_at_most_handler_threads_run_at_once_the_rest_wait_in_order(clients: Any) -> None:
    sio = socketio.Server(handler_threads=2)
    released = threading.Event()
    lock = threading.Lock()
    running: list[int] = []
    peak: list[int] = [0]
    began: list[int] = []

    @sio.event
    def hold(sid: str, i: int) -> int:
        with lock:
            began.append(i)
            running.append(i)
            peak[0] = max(peak[0], len(running))
        released.wait(HOLD)
        with lock:
            running.remove(i)
        return i

    url = serve(sio)
    try:
        c = await clients(url)
        calls = [asyncio.ensure_future(c.call("hold", i, timeout=WAIT)) for i in range(5)]
        pool = sio._pool
        assert pool is not None

        def saturated() -> bool:
            return pool.busy == 2 and len(pool._jobs) == 3

        for _ in range(int(WAIT / 0.01)):  # bounded: until two run and three wait
            if saturated():
                break
            await asyncio.sleep(0.01)
        assert saturated()
        released.set()
        assert await within(asyncio.gather(*calls), WAIT) == [0, 1, 2, 3, 4]
        assert peak[0] == 2
        assert began[2:] == [2, 3, 4]  # queued events start in the order they came
    finally:
        sio.shutdown()
    with pytest.raises(ValueError, match="handler_threads"):
        socketio.Server(handler_threads=0)


async def test_async_handlers_false_runs_a_clients_events_in_order_on_the_loop(clients: Any) -> None:
    sio = socketio.Server(async_handlers=False)
    order: list[int] = []
    threads: set[str] = set()

    @sio.event
    def n(sid: str, i: int) -> None:
        order.append(i)
        threads.add(threading.current_thread().name)

    @sio.event
    def seen(sid: str) -> list[int]:
        return list(order)

    @sio.event
    def ask(sid: str) -> str:
        try:
            sio.call("question", to=sid, timeout=1)
        except RuntimeError as e:
            return str(e)
        return "answered"

    url = serve(sio)
    try:
        c = await clients(url, handlers={"question": lambda: "a"})
        for i in range(200):
            await c.emit("n", i)
        assert await c.call("seen", timeout=WAIT) == list(range(200))
        assert threads == {"roomcast-loop"}
        assert "async_handlers=False" in await c.call("ask", timeout=WAIT)
    finally:
        sio.shutdown()


# ---- roomcast.flask -----------------------------------------------------------------------


def flask_app(**options: Any) -> tuple[Flask, SocketIO, threading.Event, threading.Event]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    sock = SocketIO(app, **options)
    waiting, released = threading.Event(), threading.Event()

    @sock.on("connect")
    def on_connect(auth: Any) -> None:
        join_room(request.args["room"])
        flask.session["user"] = auth["user"]

    @sock.on("whoami")
    def whoami() -> Any:
        emit("you", {"sid": request.sid, "thread": threading.current_thread().name})  # type: ignore[attr-defined]
        return request.sid, flask.session["user"], rooms()  # type: ignore[attr-defined]

    @sock.on("shout")
    def shout(text: str) -> None:
        emit("shouted", text, to=request.args["room"], include_self=False)

    @sock.on("ask")
    def ask(question: str) -> Any:
        return call("question", question, timeout=HOLD)

    @sock.on("wait")
    def wait() -> bool:
        waiting.set()
        return released.wait(HOLD)

    @sock.on("release")
    def release() -> str:
        released.set()
        return "released"

    return app, sock, waiting, released


async def test_flask_handlers_on_threads_keep_request_sid_emit_rooms_and_session(clients: Any) -> None:
    app, sock, waiting, _ = flask_app()
    assert sock.server is not None
    url = serve(sock.server)
    try:
        got, wait_for, on_you = collector()
        shouted, wait_shouted, on_shouted = collector()
        a = await clients(url + "?room=lobby", auth={"user": "ann"}, handlers={"you": on_you, "question": lambda q: q * 2})
        b = await clients(url + "?room=lobby", auth={"user": "bob"}, handlers={"shouted": on_shouted})
        sid, user, its_rooms = await a.call("whoami", timeout=WAIT)
        assert (sid, user, its_rooms) == (a.get_sid(), "ann", [a.get_sid(), "lobby"])
        you = (await wait_for(1))[0]
        assert you["sid"] == a.get_sid() and you["thread"].startswith("roomcast-handler-")
        await a.call("shout", "hey", timeout=WAIT)
        assert await wait_shouted(1) == ["hey"]
        assert await a.call("ask", "ab", timeout=WAIT) == "abab"
        held = asyncio.ensure_future(a.call("wait", timeout=WAIT))
        await started(waiting)
        assert await b.call("release", timeout=WAIT) == "released"
        assert await within(held, WAIT) is True
    finally:
        sock.stop()


def test_flask_test_client_runs_handlers_inline_as_flask_socketio() -> None:
    app, sock, _, _ = flask_app()
    try:
        client = sock.test_client(app, query_string="room=lobby", auth={"user": "ann"})
        assert sock.server is not None and sock.server.async_handlers is False
        sid, user, _ = client.emit("whoami", callback=True)
        assert (sid, user) == (client.sid, "ann")
        received = client.get_received()
        assert [r["name"] for r in received] == ["you"]
        assert received[0]["args"][0]["thread"] == "roomcast-loop"
    finally:
        sock.stop()


def test_flask_socketio_takes_async_handlers_and_handler_threads() -> None:
    threaded = SocketIO(Flask(__name__), handler_threads=3)
    inline = SocketIO(Flask(__name__), async_handlers=False)
    try:
        assert threaded.server is not None and inline.server is not None
        assert threaded.server.async_handlers is True and threaded.server._pool is not None
        assert threaded.server._pool.size == 3
        assert inline.server.async_handlers is False
    finally:
        threaded.stop()
        inline.stop()
    with pytest.raises(ValueError, match="handler_threads"):
        SocketIO(Flask(__name__), handler_threads="many")


# ---- roomcast.socketio.AsyncServer ---------------------------------------------------------


async def test_async_server_runs_each_event_as_a_task(clients: Any) -> None:
    sio = socketio.AsyncServer()
    released = asyncio.Event()
    waiting = asyncio.Event()

    @sio.event
    async def wait(sid: str) -> bool:
        waiting.set()
        await asyncio.wait_for(released.wait(), HOLD)
        return True

    @sio.event
    async def release(sid: str) -> str:
        released.set()
        return "released"

    @sio.event
    async def ask(sid: str, question: str) -> Any:
        return await sio.call("question", question, to=sid, timeout=HOLD)

    port = await sio.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        a = await clients(url, handlers={"question": lambda q: q + "?"})
        b = await clients(url)
        held = asyncio.ensure_future(a.call("wait", timeout=WAIT))
        await within(waiting.wait(), WAIT)
        # The same client's next event is not held up either.
        assert await a.call("ask", "who", timeout=WAIT) == "who?"
        assert await b.call("release", timeout=WAIT) == "released"
        assert await within(held, WAIT) is True
    finally:
        await sio.shutdown()


async def test_async_server_without_async_handlers_finishes_a_clients_handler_first(clients: Any) -> None:
    sio = socketio.AsyncServer(async_handlers=False)
    released = asyncio.Event()
    waiting = asyncio.Event()
    order: list[str] = []

    @sio.event
    async def wait(sid: str) -> bool:
        waiting.set()
        await asyncio.wait_for(released.wait(), HOLD)
        order.append("wait")
        return True

    @sio.event
    def after(sid: str) -> list[str]:
        order.append("after")
        return list(order)

    @sio.event
    async def release(sid: str) -> str:
        released.set()
        return "released"

    port = await sio.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        a, b = await clients(url), await clients(url)
        held = asyncio.ensure_future(a.call("wait", timeout=WAIT))
        await within(waiting.wait(), WAIT)
        after = asyncio.ensure_future(a.call("after", timeout=WAIT))
        # Another client is not held up by a's handler.
        assert await b.call("release", timeout=WAIT) == "released"
        assert await within(held, WAIT) is True
        assert await within(after, WAIT) == ["wait", "after"]
        # Many events that end at once, then one that awaits: still in order.
        for i in range(100):
            await a.emit("after")
        assert len(await a.call("after", timeout=WAIT)) == 103
    finally:
        await sio.shutdown()
