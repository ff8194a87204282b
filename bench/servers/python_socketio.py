"""Comparison server: python-socketio (AsyncServer, ASGI) under uvicorn.

Implements the bench wire contract (see bench/README.md): join, fanout, echo,
chat. Websocket transport only.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/python_socketio.py
"""

import os

import socketio
import uvicorn

sio = socketio.AsyncServer(
    async_mode="asgi",
    transports=["websocket"],
    cors_allowed_origins=[],
    logger=False,
    engineio_logger=False,
)
app = socketio.ASGIApp(sio)


@sio.on("join")
async def join(sid, room):
    if not isinstance(room, str):
        return None
    await sio.enter_room(sid, room)
    return room


@sio.on("fanout")
async def fanout(sid, req):
    if not isinstance(req, dict) or not isinstance(req.get("room"), str):
        return
    room = req["room"]
    event = req.get("event") if isinstance(req.get("event"), str) else "tick"
    count = int(req.get("count") or 0)
    for i in range(count):
        await sio.emit(event, {"i": i}, to=room)


@sio.on("echo")
async def echo(sid, data):
    return data


@sio.on("chat")
async def chat(sid, msg):
    if not isinstance(msg, dict) or not isinstance(msg.get("room"), str):
        return
    await sio.emit("chat", msg, to=msg["room"])


class _Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"listening on {self.config.port}", flush=True)


def main():
    port = int(os.environ.get("PORT", "3000"))
    host = os.environ.get("HOST", "127.0.0.1")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        ws="websockets-sansio",
        http="h11",
        log_level="warning",
        access_log=False,
        backlog=4096,
        lifespan="off",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
    )
    _Server(config).run()


if __name__ == "__main__":
    main()
