"""roomcast behind Flask-SocketIO's API: a Flask app whose Socket.IO handlers are written as
for Flask-SocketIO, with ``from roomcast.flask import SocketIO, join_room`` as the only
roomcast line. ``socketio.run(app)`` serves the Flask app and Socket.IO (WebSocket included)
on one port with roomcast's listener; handlers run on threads, as Flask-SocketIO's do.

Implements the bench wire contract (bench/README.md): join, fanout, echo, chat.
``flask_socketio_app.py`` runs this file with its roomcast import line changed to
Flask-SocketIO's. ``ROOMCAST_FLASK_ASYNC_HANDLERS=0`` passes ``async_handlers=False``: each
handler then runs on the event loop thread instead of a thread of its own.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_flask.py
"""

import os

from flask import Flask

from roomcast.flask import SocketIO, join_room

app = Flask(__name__)
socketio = SocketIO(
    app,
    transports=["websocket"],
    async_handlers=os.environ.get("ROOMCAST_FLASK_ASYNC_HANDLERS", "1") != "0",
)


@app.route("/")
def index():
    return "a Flask app"


@socketio.on("join")
def join(room):
    if not isinstance(room, str):
        return None
    join_room(room)
    return room


@socketio.on("fanout")
def fanout(req):
    if not isinstance(req, dict) or not isinstance(req.get("room"), str):
        return
    event = req.get("event") if isinstance(req.get("event"), str) else "tick"
    for i in range(int(req.get("count") or 0)):
        socketio.emit(event, {"i": i}, to=req["room"])


@socketio.on("echo")
def echo(data):
    return data


@socketio.on("chat")
def chat(msg):
    if not isinstance(msg, dict) or not isinstance(msg.get("room"), str):
        return
    socketio.emit("chat", msg, to=msg["room"])


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    # The harness also waits until the port accepts connections.
    print(f"listening on {port}", flush=True)
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, allow_unsafe_werkzeug=True)
