"""The seed scenarios of roomcast, in Python.

- the default namespace ``/``: every socket joins "some room" and is greeted by
  ``io.to("some room").emit("some event")``;
- "say to someone": ``socket.broadcast.to(id).emit("my message", msg)``, through the room
  every socket has under its own id;
- the namespace ``/my-namespace``, whose connection handler greets everyone with
  ``nsp.emit("hi", "Hello everyone!")`` -- what the seed page at ``/`` prints;
- leaving every room on disconnect, which needs no code.

Run: ``python examples/python/seed.py`` and open http://127.0.0.1:3000/
(``PORT`` and ``HOST`` choose the address; Ctrl-C stops it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import roomcast

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

io = roomcast.Server(cors_allowed_origins="*")


@io.on("connection")
async def on_connection(socket: roomcast.Socket) -> None:
    print(f"someone connected to / as {socket.id}")
    socket.join("some room")
    io.to("some room").emit("some event")

    @socket.on("say to someone")
    def say(id: str, msg: object) -> None:
        socket.broadcast.to(id).emit("my message", msg)

    @socket.on("disconnect")
    def left(reason: str) -> None:
        # Rooms are already left: nothing to tear down.
        print(f"{socket.id} left ({reason})")


nsp = io.of("/my-namespace")


@nsp.on("connection")
def hi(socket: roomcast.Socket) -> None:
    print("someone connected to /my-namespace")
    nsp.emit("hi", "Hello everyone!")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    io.serve_static("/", (REPO / "examples" / "seed.html").read_bytes())
    bundle = Path(os.environ.get("SIO_CLIENT_BUNDLE", REPO / "tests/node_modules/socket.io-client/dist/socket.io.min.js"))
    if bundle.is_file():
        io.serve_client(bundle.read_bytes())
    else:
        print("socket.io-client is not installed: /socket.io/socket.io.js will be missing (npm ci in tests/)")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    print(f"roomcast seed listening on http://{host}:{port}/ (Ctrl-C to stop)")
    io.listen(port, host)


if __name__ == "__main__":
    main()
