"""roomcast.flask, Flask-SocketIO's API: the app in flask_socketio_app.py tested the way
Flask-SocketIO users test theirs, through ``socketio.test_client`` (in-process, the real
server underneath)."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import pytest
from flask import Flask

from flask_socketio_app import create_app
from roomcast.flask import SocketIO


@pytest.fixture
def served() -> Iterator[tuple[Flask, SocketIO]]:
    app, socketio = create_app()
    try:
        yield app, socketio
    finally:
        assert socketio.server is not None
        socketio.server.io.close()


def test_connect_sees_auth_query_args_and_headers(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app, query_string="room=lobby", headers={"X-Agent": "pytest"}, auth={"user": "ann"})
    assert client.is_connected()
    assert len(client.sid) == 20 and client.eio_sid
    assert client.get_received() == [
        {"name": "welcome", "args": [{"user": "ann", "room": "lobby", "agent": "pytest", "sid": client.sid}], "namespace": "/"}
    ]
    assert client.get_received() == []


def test_a_refusing_connect_handler_leaves_the_client_disconnected(served: Any) -> None:
    app, socketio = served
    assert not socketio.test_client(app, auth={"token": "refuse"}).is_connected()
    assert not socketio.test_client(app, auth={"token": "raise"}).is_connected()


def test_send_and_emit_answer_the_sender(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    client.get_received()
    client.send("hi")
    client.send({"a": [1, 2]}, json=True)
    client.emit("my event", {"n": 1})
    assert client.get_received() == [
        {"name": "message", "args": "echo: hi", "namespace": "/"},
        {"name": "json", "args": {"a": [1, 2]}, "namespace": "/"},
        {"name": "my response", "args": [{"n": 1}], "namespace": "/"},
    ]


def test_acknowledgements_return_the_handler_value(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    assert client.emit("sum", 2, 3, callback=True) == 5
    assert client.emit("binary", b"\x01\x02", {"nested": b"\x03"}, callback=True) == [b"\x01\x02", {"nested": b"\x03"}]
    # Without callback=True the value is not asked for.
    assert client.emit("sum", 2, 3) is None
    # An event nobody handles is not acknowledged: None, and no hang.
    assert client.emit("nobody listens", callback=True) is None


def test_broadcast_reaches_the_others_but_not_the_sender(served: Any) -> None:
    app, socketio = served
    a, b, c = (socketio.test_client(app) for _ in range(3))
    for client in (a, b, c):
        client.get_received()
    a.emit("broadcast", "hello all")
    assert a.get_received() == []
    for other in (b, c):
        assert other.get_received() == [{"name": "news", "args": ["hello all"], "namespace": "/"}]


def test_rooms_join_leave_and_close(served: Any) -> None:
    app, socketio = served
    a, b = socketio.test_client(app), socketio.test_client(app)
    a.get_received()
    b.get_received()
    assert a.emit("join", "red", callback=True) == [a.sid, "red"]
    assert b.emit("join", "red", callback=True) == [b.sid, "red"]
    a.emit("to room", "red", "one")
    assert a.get_received() == b.get_received() == [{"name": "room message", "args": ["one"], "namespace": "/"}]

    assert b.emit("leave", "red", callback=True) == [b.sid]
    a.emit("to room", "red", "two")
    assert b.get_received() == []
    assert a.get_received() == [{"name": "room message", "args": ["two"], "namespace": "/"}]

    a.emit("close room", "red")
    a.emit("to room", "red", "three")
    assert a.get_received() == []


def test_a_view_and_a_thread_emit_to_a_room(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    client.emit("join", "sports")
    client.get_received()
    assert app.test_client().get("/publish?room=sports&text=goal").json == {"ok": True}
    thread = threading.Thread(target=lambda: socketio.emit("news", "from a thread", to="sports"))
    thread.start()
    thread.join(5)
    assert client.get_received() == [
        {"name": "news", "args": ["goal"], "namespace": "/"},
        {"name": "news", "args": ["from a thread"], "namespace": "/"},
    ]


def test_namespaces_decorated_and_class_based(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    client.connect("/chat")
    client.connect("/game")
    assert client.is_connected("/chat") and client.is_connected("/game")
    assert client.emit("hello", "bob", namespace="/chat", callback=True) == "ok"
    assert client.get_received("/chat") == [{"name": "greeting", "args": ["hello bob in /chat"], "namespace": "/chat"}]
    game = client.get_received("/game")
    assert len(game) == 1 and game[0]["name"] == "ready"
    assert client.emit("move", "e4", namespace="/game", callback=True) == {"accepted": "e4"}
    assert client.get_received("/game") == [{"name": "moved", "args": ["e4"], "namespace": "/game"}]
    client.disconnect("/game")
    assert not client.is_connected("/game")
    assert client.is_connected("/chat")


def test_error_handlers_answer_the_acknowledgement(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    client.connect("/chat")
    client.connect("/game")
    assert client.emit("fail", "oops", callback=True) == "default handler: oops"
    assert client.emit("fail", "oops", namespace="/chat", callback=True) == "chat handler: oops"
    # As in Flask-SocketIO, on_error_default comes before a class-based namespace's error().
    assert client.emit("boom", namespace="/game", callback=True) == "default handler: 'boom'"
    socketio.default_exception_handler = None
    assert client.emit("boom", namespace="/game", callback=True) == "game error: KeyError('boom')"
    # The client is still served after the errors.
    assert client.emit("sum", 1, 1, callback=True) == 2


def test_session_is_kept_per_client(served: Any) -> None:
    app, socketio = served
    ann = socketio.test_client(app, auth={"user": "ann"})
    bob = socketio.test_client(app, auth={"user": "bob"})
    assert ann.emit("whoami", callback=True) == "ann"
    assert bob.emit("whoami", callback=True) == "bob"
    ann.emit("set", 42)
    assert ann.emit("get", callback=True) == 42
    # A handler that returns None acknowledges with no arguments: [] as in Flask-SocketIO.
    assert bob.emit("get", callback=True) == []


def test_the_flask_session_of_the_flask_test_client_goes_with_the_connection(served: Any) -> None:
    app, socketio = served
    flask_client = app.test_client()
    assert flask_client.get("/login?user=carol").status_code == 200
    client = socketio.test_client(app, flask_test_client=flask_client)
    assert client.emit("whoami", callback=True) == "carol"
    # Without it the connection has no Flask cookie.
    assert socketio.test_client(app).emit("whoami", callback=True) == []


def test_server_side_disconnect_and_disconnect_handler(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    sid = client.sid
    client.emit("kick")
    assert not client.is_connected()
    other = socketio.test_client(app)
    other_sid = other.sid
    other.disconnect()
    assert not other.is_connected()
    with pytest.raises(RuntimeError, match="not connected"):
        other.emit("sum", 1, 2)
    reasons = dict(app.extensions["disconnects"])
    assert reasons[sid] == "server disconnect"
    assert reasons[other_sid] == "client disconnect"


def test_background_task_emits_later(served: Any) -> None:
    app, socketio = served
    client = socketio.test_client(app)
    client.get_received()
    client.emit("background")
    received: list[Any] = []
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:  # each round waits for the server
        received += client.get_received()
    assert received == [{"name": "from background", "args": ["done"], "namespace": "/"}]


def test_unknown_and_unsupported_options_are_clear_errors() -> None:
    app = Flask(__name__)
    with pytest.raises(TypeError, match="unknown option.*not_an_option"):
        SocketIO(app, not_an_option=1)
    with pytest.raises(ValueError, match="message_queue='kafka://"):
        SocketIO(app, message_queue="kafka://localhost:9092")
    with pytest.raises(ValueError, match="async_mode='eventlet'"):
        SocketIO(app, async_mode="eventlet")
    app2, socketio = create_app()
    try:
        with pytest.raises(TypeError, match="unknown option.*for SocketIO.run: nonsense"):
            socketio.run(app2, port=0, nonsense=True)
        with pytest.raises(ValueError, match="certfile.*TLS"):
            socketio.run(app2, port=0, certfile="cert.pem")
    finally:
        assert socketio.server is not None
        socketio.server.io.close()


def test_app_factory_and_write_only_message_queue() -> None:
    socketio = SocketIO(manage_session=False)
    app = Flask(__name__)
    socketio.init_app(app)
    assert app.extensions["socketio"] is socketio and not socketio.manage_session
    assert socketio.server is not None
    socketio.server.io.close()
    # An auxiliary process (no app) can only emit through the queue.
    emitter = SocketIO(message_queue="redis://127.0.0.1:6379/0")
    assert emitter.server is None
    with pytest.raises(RuntimeError, match="init_app"):
        emitter.close_room("r")
