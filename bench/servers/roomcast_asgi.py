"""roomcast from Python inside uvicorn through `roomcast.ASGIApp`, implementing the bench
wire contract (bench/README.md): join, fanout, echo, chat. The same handlers as
roomcast_python.py; uvicorn is configured as for python_socketio.py, so the two ASGI rows
differ only in the Socket.IO server.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_asgi.py
"""

import os
import warnings

import roomcast
import uvicorn

io = roomcast.Server(transports=["websocket"])
app = roomcast.ASGIApp(io)


@io.on("connection")
def on_connection(socket):
    @socket.on("join")
    def join(room):
        socket.join(room)
        return room

    @socket.on("fanout")
    def fanout(req):
        op = io.to(req["room"])
        event = req.get("event") or "tick"
        for i in range(int(req.get("count") or 0)):
            op.emit(event, {"i": i})

    @socket.on("echo")
    def echo(data):
        return data

    @socket.on("chat")
    def chat(msg):
        io.to(msg["room"]).emit("chat", msg)


class _Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"listening on {self.config.port}", flush=True)


def main():
    warnings.filterwarnings("ignore", message=".*websockets.*deprecated.*")
    config = uvicorn.Config(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        loop="uvloop",
        ws="websockets",
        http="h11",
        log_level="warning",
        access_log=False,
        backlog=4096,
        lifespan="on",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
    )
    _Server(config).run()


if __name__ == "__main__":
    main()
