"""A python-socketio ASGI app in the shape of python-socketio's examples/server/asgi
(app.py, fiddle.py and latency.py in one), written for these tests. It imports python-socketio;
the tests load it a second time with ``import roomcast.socketio as socketio`` as the only
change and check that clients see the same thing."""

import os

import socketio
import uvicorn

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = float(os.environ.get("APP_TICK", "10"))

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=["http://localhost:5000"])
app = socketio.ASGIApp(sio, static_files={"/": os.path.join(HERE, "app.html"), "/static": os.path.join(HERE, "static")})
ticker_started = False


async def ticker():
    """Server-generated events, every TICK seconds."""
    n = 0
    while True:
        await sio.sleep(TICK)
        n += 1
        await sio.emit("my_response", {"data": "Server generated event", "n": n})


@sio.on("my_event")
async def my_event(sid, message):
    await sio.emit("my_response", {"data": message["data"]}, room=sid)


@sio.on("my_broadcast_event")
async def my_broadcast_event(sid, message):
    await sio.emit("my_response", {"data": message["data"]})


@sio.on("join")
async def join(sid, message):
    await sio.enter_room(sid, message["room"])
    await sio.emit("my_response", {"data": "Entered room: " + message["room"]}, room=sid)


@sio.on("leave")
async def leave(sid, message):
    await sio.leave_room(sid, message["room"])
    await sio.emit("my_response", {"data": "Left room: " + message["room"]}, room=sid)


@sio.on("close room")
async def close(sid, message):
    await sio.emit("my_response", {"data": "Room " + message["room"] + " is closing."}, room=message["room"])
    await sio.close_room(message["room"])


@sio.on("my_room_event")
async def my_room_event(sid, message):
    await sio.emit("my_response", {"data": message["data"]}, room=message["room"])


@sio.on("disconnect request")
async def disconnect_request(sid):
    await sio.disconnect(sid)


@sio.on("ping_from_client")
async def ping_from_client(sid):
    await sio.emit("pong_from_server", room=sid)


@sio.on("connect")
async def connect(sid, environ, auth):
    global ticker_started
    if not ticker_started:
        sio.start_background_task(ticker)
        ticker_started = True
    await sio.emit("my_response", {"data": "Connected", "count": 0}, room=sid)
    if auth:
        await sio.emit("hello", (1, 2, {"hello": auth.get("name", "you")}), to=sid)


@sio.on("disconnect")
def disconnect(sid, reason):
    print("Client disconnected, reason:", reason)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=5000)
