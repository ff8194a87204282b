"""A python-socketio WSGI (Flask) app in the shape of python-socketio's
examples/server/wsgi/app.py, written for these tests. It imports python-socketio; the tests
load it a second time with ``import roomcast.socketio as socketio`` as the only change."""

import os

import socketio
from flask import Flask

TICK = float(os.environ.get("APP_TICK", "10"))

sio = socketio.Server(async_mode="threading")
app = Flask(__name__)
app.wsgi_app = socketio.WSGIApp(sio, app.wsgi_app)
app.config["SECRET_KEY"] = "secret!"
thread = None


def background_thread():
    """Server-generated events, every TICK seconds."""
    n = 0
    while True:
        sio.sleep(TICK)
        n += 1
        sio.emit("my_response", {"data": "Server generated event", "n": n})


@app.route("/")
def index():
    global thread
    if thread is None:
        thread = sio.start_background_task(background_thread)
    return "<html><body>index</body></html>"


@sio.event
def my_event(sid, message):
    sio.emit("my_response", {"data": message["data"]}, room=sid)


@sio.event
def my_broadcast_event(sid, message):
    sio.emit("my_response", {"data": message["data"]})


@sio.event
def join(sid, message):
    sio.enter_room(sid, message["room"])
    sio.emit("my_response", {"data": "Entered room: " + message["room"]}, room=sid)


@sio.event
def leave(sid, message):
    sio.leave_room(sid, message["room"])
    sio.emit("my_response", {"data": "Left room: " + message["room"]}, room=sid)


@sio.event
def close_room(sid, message):
    sio.emit("my_response", {"data": "Room " + message["room"] + " is closing."}, room=message["room"])
    sio.close_room(message["room"])


@sio.event
def my_room_event(sid, message):
    sio.emit("my_response", {"data": message["data"]}, room=message["room"])


@sio.event
def disconnect_request(sid):
    sio.disconnect(sid)


@sio.event
def connect(sid, environ):
    sio.emit("my_response", {"data": "Connected", "count": 0}, room=sid)


@sio.event
def disconnect(sid, reason):
    print("Client disconnected, reason:", reason)


if __name__ == "__main__":
    app.run(threaded=True)
