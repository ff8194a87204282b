"""A chat room with FastAPI and roomcast on one port, two ways.

    pip install roomcast fastapi uvicorn[standard]
    uvicorn fastapi_chat:app --app-dir examples/python --port 8000   # under uvicorn (ASGIApp)
    python examples/python/fastapi_chat.py                           # on roomcast's listener

On roomcast's own listener (``io.listen(port, asgi_app=api)``) FastAPI gets every request
outside ``/socket.io/`` while Socket.IO keeps the native listener's speed: its WebSocket frames
never cross ASGI. Under uvicorn the WebSockets are taken over from uvicorn once it has parsed
their upgrade and run in roomcast's core too; uvicorn still accepts every connection and serves
long-polling (fewer connections per second, but uvicorn's other features apply).

Open http://127.0.0.1:8000/ in two tabs. ``POST /announce`` (a plain FastAPI route) speaks
to every chat room at once::

    curl -X POST 'http://127.0.0.1:8000/announce?text=maintenance+at+noon'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

import roomcast

io = roomcast.Server()
api = FastAPI(title="roomcast chat")

# The browser client, served at /socket.io/socket.io.js (from the socket.io-client npm package).
_BUNDLE = Path(os.environ.get("SIO_CLIENT_BUNDLE", Path(__file__).resolve().parents[2] / "tests/node_modules/socket.io-client/dist/socket.io.min.js"))
if _BUNDLE.is_file():
    io.serve_client(_BUNDLE.read_bytes())


@io.on("connection")
def on_connection(socket: roomcast.Socket) -> None:
    socket.data["name"] = socket.auth.get("name") or f"guest-{socket.id[:4]}"

    @socket.on("join")
    def join(room: str) -> list[str]:
        for old in socket.rooms - {socket.id}:
            socket.leave(old)
            socket.to(old).emit("system", f"{socket.data['name']} left")
        socket.join(room)
        socket.to(room).emit("system", f"{socket.data['name']} joined")
        return sorted(socket.rooms - {socket.id})

    @socket.on("say")
    def say(text: str) -> bool:
        for room in socket.rooms - {socket.id}:
            io.to(room).emit("message", {"from": socket.data["name"], "text": text})
        return True

    @socket.on("who")
    async def who(room: str) -> list[str]:
        # fetch_sockets sees socket.data, here the names.
        return sorted(s.data["name"] for s in await io.in_(room).fetch_sockets())

    @socket.on("disconnecting")
    def disconnecting(reason: str) -> None:
        for room in socket.rooms - {socket.id}:
            socket.to(room).emit("system", f"{socket.data['name']} left ({reason})")


@api.post("/announce")
async def announce(text: str) -> dict[str, Any]:
    io.emit("system", f"announcement: {text}")
    return {"sent": text}


@api.get("/", response_class=HTMLResponse)
async def page() -> str:
    return PAGE


# uvicorn serves this: Socket.IO at /socket.io/, everything else by FastAPI.
app = roomcast.ASGIApp(io, other_asgi_app=api)

PAGE = """<!doctype html>
<meta charset="utf-8"><title>roomcast chat</title>
<script src="/socket.io/socket.io.js"></script>
<input id="room" value="lobby"> <button onclick="join()">join</button>
<ul id="log"></ul>
<input id="text"> <button onclick="say()">say</button>
<script>
  const socket = io({ auth: { name: prompt("your name") || "" } });
  const log = (t) => { const li = document.createElement("li"); li.textContent = t; document.getElementById("log").append(li); };
  socket.on("message", (m) => log(`${m.from}: ${m.text}`));
  socket.on("system", (t) => log(`* ${t}`));
  function join() { socket.emit("join", document.getElementById("room").value, (rooms) => log(`* in ${rooms}`)); }
  function say() { socket.emit("say", document.getElementById("text").value); }
  socket.on("connect", join);
</script>
"""

if __name__ == "__main__":
    # roomcast's listener serves Socket.IO itself and hands every other request to FastAPI.
    io.listen(int(os.environ.get("PORT", "8000")), asgi_app=api)
