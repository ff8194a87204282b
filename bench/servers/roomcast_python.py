"""roomcast from Python, implementing the bench wire contract (bench/README.md): join,
fanout, echo, chat. Handlers are plain Python functions; fan-out happens in the Rust core.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_python.py
"""

import asyncio
import os
import signal

import roomcast

io = roomcast.Server(transports=["websocket"])


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


async def main():
    port = await io.start(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "3000")))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"listening on {port}", flush=True)
    await stop.wait()
    await io.aclose()


if __name__ == "__main__":
    asyncio.run(main())
