"""A Flask-SocketIO-style app with only its imports changed to roomcast.flask: connect with
auth, query args and headers, send/emit/broadcast, rooms, namespaces (decorated and
class-based), acknowledgements, error handlers, the session, background tasks and Flask
routes. test_flask_socketio.py drives it through ``socketio.test_client`` and, run as a
script (``python flask_socketio_app.py PORT [THREADS BACKLOG]``), under ``socketio.run``."""

from __future__ import annotations

import sys
import time
from typing import Any

from flask import Flask, Response, request, session

from roomcast.flask import (
    ConnectionRefusedError,
    Namespace,
    SocketIO,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)


def create_app(**options: Any) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "not-a-secret"
    socketio = SocketIO(app, **options)
    app.extensions["disconnects"] = []

    # ---- Flask routes --------------------------------------------------------------

    @app.get("/")
    def index() -> str:
        return "home"

    @app.post("/echo")
    def echo() -> Response:
        data = request.get_data()
        return Response(b"echo:" + data, mimetype="application/octet-stream")

    @app.get("/stream")
    def stream() -> Response:
        pause = float(request.args.get("pause", "0"))

        def parts() -> Any:
            yield b"first;"
            # A response still in flight (Ctrl-C lets it finish; a busy pool answers 503).
            time.sleep(pause)
            yield b"second;"
            yield b"last"

        return Response(parts(), mimetype="text/plain")

    @app.get("/publish")
    def publish() -> dict[str, bool]:
        socketio.emit("news", request.args["text"], to=request.args.get("room"))
        return {"ok": True}

    @app.get("/login")
    def login() -> str:
        session["user"] = request.args["user"]
        return "logged in"

    # ---- Socket.IO handlers on "/" ------------------------------------------------

    @socketio.on("connect")
    def connect(auth: Any) -> Any:
        if auth and auth.get("token") == "refuse":
            return False
        if auth and auth.get("token") == "raise":
            raise ConnectionRefusedError("bad token")
        if auth and "user" in auth:
            session["user"] = auth["user"]
        emit(
            "welcome",
            {
                "user": session.get("user"),
                "room": request.args.get("room"),
                "agent": request.headers.get("X-Agent"),
                "sid": request.sid,  # type: ignore[attr-defined]
            },
        )
        return None

    @socketio.on("disconnect")
    def on_disconnect(reason: str) -> None:
        app.extensions["disconnects"].append((request.sid, reason))  # type: ignore[attr-defined]

    @socketio.on("message")
    def message(msg: Any) -> None:
        send("echo: " + str(msg))

    @socketio.on("json")
    def json_message(data: Any) -> None:
        send(data, json=True)

    @socketio.on("my event")
    def my_event(data: Any) -> None:
        emit("my response", data)

    @socketio.event
    def broadcast(data: Any) -> None:
        emit("news", data, broadcast=True, include_self=False)

    @socketio.event
    def join(room: str) -> list[str]:
        join_room(room)
        return rooms()

    @socketio.event
    def leave(room: str) -> list[str]:
        leave_room(room)
        return rooms()

    @socketio.on("to room")
    def to_room(room: str, text: str) -> None:
        emit("room message", text, to=room)

    @socketio.on("close room")
    def on_close_room(room: str) -> None:
        close_room(room)

    @socketio.event
    def sum(a: int, b: int) -> int:  # noqa: A001 - the event's name
        return a + b

    @socketio.event
    def binary(buf: bytes, info: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        return buf, info

    @socketio.event
    def whoami() -> Any:
        return session.get("user")

    @socketio.on("set")
    def set_value(value: Any) -> None:
        session["value"] = value

    @socketio.on("get")
    def get_value() -> Any:
        return session.get("value")

    @socketio.event
    def kick() -> None:
        disconnect()

    @socketio.event
    def fail(text: str) -> None:
        raise ValueError(text)

    @socketio.event
    def background() -> None:
        sid = request.sid  # type: ignore[attr-defined]

        def task() -> None:
            socketio.sleep(0.01)
            socketio.emit("from background", "done", to=sid)

        socketio.start_background_task(task)

    @socketio.on_error_default
    def default_error(e: Exception) -> str:
        return f"default handler: {e}"

    # ---- a decorated namespace with its own error handler --------------------------

    @socketio.on("fail", namespace="/chat")
    def chat_fail(text: str) -> None:
        raise RuntimeError(text)

    @socketio.on("hello", namespace="/chat")
    def chat_hello(name: str) -> str:
        emit("greeting", f"hello {name} in {request.namespace}")  # type: ignore[attr-defined]
        return "ok"

    @socketio.on_error("/chat")
    def chat_error(e: Exception) -> str:
        return f"chat handler: {e}"

    # ---- a class-based namespace ---------------------------------------------------

    class Game(Namespace):
        def on_connect(self) -> None:
            emit("ready", request.sid)  # type: ignore[attr-defined]

        def on_move(self, data: Any) -> Any:
            self.emit("moved", data, room=request.sid)  # type: ignore[attr-defined]
            return {"accepted": data}

        def on_boom(self) -> None:
            raise KeyError("boom")

        def error(self, e: Exception) -> str:
            return f"game error: {e!r}"

    socketio.on_namespace(Game("/game"))
    return app, socketio


if __name__ == "__main__":
    port = int(sys.argv[1])
    threads, backlog = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (16, 64)
    app, socketio = create_app()
    print("serving", flush=True)
    socketio.run(app, host="127.0.0.1", port=port, threads=threads, backlog=backlog, shutdown_grace=10)
    print("stopped", flush=True)
