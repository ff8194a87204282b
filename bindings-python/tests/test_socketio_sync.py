"""roomcast.socketio.Server (python-socketio's synchronous server): under WSGIApp in a
threaded WSGI server (long-polling), and on roomcast's own listener (WebSocket)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

import roomcast.socketio as socketio
from conftest import Client, collector, within


@contextlib.contextmanager
def wsgi_serving(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="wsgi-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def make_server_app(**options: Any) -> socketio.Server:
    sio = socketio.Server(**options)

    @sio.event
    def connect(sid: str, environ: dict[str, Any]) -> None:
        with sio.session(sid) as session:
            session["path"] = environ["PATH_INFO"]
        sio.emit("my_response", {"data": "Connected"}, room=sid)

    @sio.event
    def join(sid: str, message: dict[str, str]) -> None:
        sio.enter_room(sid, message["room"])
        sio.emit("my_response", {"data": "Entered room: " + message["room"]}, room=sid)

    @sio.event
    def my_room_event(sid: str, message: dict[str, str]) -> None:
        sio.emit("my_response", {"data": message["data"]}, room=message["room"])

    @sio.event
    def whoami(sid: str) -> Any:
        return sio.get_session(sid)["path"], sio.transport(sid)

    @sio.event
    def ask_back(sid: str) -> None:
        # call() waits for the client, so it runs off the handlers' thread.
        def ask() -> None:
            answer = sio.call("question", "q", to=sid, timeout=5)
            sio.emit("my_response", {"data": f"answer {answer}"}, to=sid)

        sio.start_background_task(ask)

    return sio


async def test_sync_server_under_wsgi_app_with_polling() -> None:
    sio = make_server_app(transports=["polling"])
    app = socketio.WSGIApp(sio, static_files={"/": {"filename": __file__, "content_type": "text/plain"}})
    with wsgi_serving(app) as url:
        got, wait, on_response = collector()
        c = Client(reconnection=False)
        c.on("my_response", on_response)
        c.on("question", lambda q: q + "!")
        try:
            await c.connect(url, transports=["polling"], wait_timeout=5)
            assert await wait(1) == [{"data": "Connected"}]
            assert await c.call("whoami", timeout=5) == ("/socket.io/", "polling")
            # Each event's handler runs on a thread of its own: call() waits for one to finish.
            await c.call("join", {"room": "r1"}, timeout=5)
            await c.call("my_room_event", {"room": "r1", "data": "hello"}, timeout=5)
            await c.emit("ask_back")
            items = await wait(4)
            assert items[1:] == [{"data": "Entered room: r1"}, {"data": "hello"}, {"data": "answer q!"}]
            with pytest.raises(RuntimeError, match="cannot wait on roomcast's event loop thread"):
                # What a handler gets with async_handlers=False; here from the loop thread.
                await asyncio.wrap_future(_on_loop_thread(sio, lambda: sio.call("x", to=c.get_sid())))
        finally:
            await c.disconnect()
        sio.shutdown()


def _on_loop_thread(sio: socketio.Server, fn: Any) -> Any:
    import concurrent.futures

    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(fn())
        except BaseException as e:
            fut.set_exception(e)

    loop = sio.io._dispatcher.loop
    assert loop is not None
    loop.call_soon_threadsafe(run)
    return fut


async def test_sync_server_on_roomcast_listener_with_websocket() -> None:
    sio = make_server_app()
    port = sio.io.start_background(port=0, host="127.0.0.1")
    got, wait, on_response = collector()
    c = Client(reconnection=False)
    c.on("my_response", on_response)
    try:
        await c.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=5)
        assert await wait(1) == [{"data": "Connected"}]
        assert (await c.call("whoami", timeout=5))[1] == "websocket"
        sio.emit("my_response", {"data": "from a thread"})
        assert (await wait(2))[1] == {"data": "from a thread"}
    finally:
        await c.disconnect()
        sio.shutdown()
    await within(asyncio.sleep(0))


async def test_disconnect_handlers_have_the_session_saved_or_not() -> None:
    sio = socketio.Server()
    sessions: dict[str, Any] = {}
    done = threading.Event()

    @sio.event
    def keep(sid: str, value: int) -> None:
        sio.save_session(sid, {"value": value})

    @sio.event
    def disconnect(sid: str) -> None:
        with sio.session(sid) as session:
            sessions[sid] = dict(session)
        if len(sessions) == 2:
            done.set()

    port = sio.io.start_background(port=0, host="127.0.0.1")
    a, b = Client(reconnection=False), Client(reconnection=False)
    try:
        for c in (a, b):
            await c.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=5)
        await a.call("keep", 7, timeout=5)
        a_sid, b_sid = a.get_sid(), b.get_sid()
        await a.disconnect()
        await b.disconnect()
        assert await asyncio.to_thread(done.wait, 5)
        assert sessions == {a_sid: {"value": 7}, b_sid: {}}
    finally:
        sio.shutdown()


def test_sync_server_refuses_what_it_cannot_honour() -> None:
    with pytest.raises(ValueError, match="async_mode='eventlet'.*eventlet or gevent"):
        socketio.Server(async_mode="eventlet")
    with pytest.raises(ValueError, match="serializer='pickle'"):
        socketio.Server(serializer="pickle")
    with pytest.raises(ValueError, match="json="):
        socketio.Server(json=object())
    with pytest.raises(TypeError, match="client_manager"):
        socketio.Server(client_manager=object())  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="KombuManager.*Redis"):
        socketio.KombuManager("amqp://")
    with pytest.raises(ValueError, match="redis_options"):
        socketio.RedisManager("redis://localhost", redis_options={"socket_timeout": 1})
    with pytest.raises(TypeError, match=r"disconnect.*\(sid\) or \(sid, reason\)"):
        socketio.Server().on("disconnect", lambda sid, reason, extra: None)
    # Documented no-ops and mappings are accepted.
    sio = socketio.Server(
        monitor_clients=True, async_handlers=False, engineio_logger=True, logger=True,
        ping_interval=(10, 5), compression_threshold=2048, cors_allowed_origins=[],
        serializer="msgpack", namespaces=["/a", "/b"],
    )
    assert {"/a", "/b"} <= set(sio._served)
    assert sio.async_mode == "threading"
    sio.shutdown()
