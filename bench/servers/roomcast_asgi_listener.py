"""roomcast from Python serving an ASGI app and Socket.IO on one port of its own listener
(`io.mount_asgi(app)`, what `io.listen(port, asgi_app=app)` does), implementing the bench
wire contract (bench/README.md): join, fanout, echo, chat. The server, its handlers and its
start and stop are roomcast_python.py's; the ASGI app answers every other path (a plain ASGI
callable, so the bench needs no web framework).

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_asgi_listener.py
"""

import asyncio

# This folder is on sys.path when the file runs as a script, so the two rows differ only by
# the mounted app.
from roomcast_python import io, main


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


if __name__ == "__main__":
    io.mount_asgi(app)
    asyncio.run(main())
