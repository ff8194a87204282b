"""roomcast from Python serving an ASGI app and Socket.IO on one port of its own listener
(`io.mount_asgi(app)`, what `io.listen(port, asgi_app=app)` does), implementing the bench
wire contract (bench/README.md): join, fanout, echo, chat. The handlers are
roomcast_python.py's; the ASGI app answers every other path (a plain ASGI callable, so the
bench needs no web framework).

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_asgi_listener.py
"""

import asyncio
import os
import signal

# The same server and handlers as the native-listener row (this folder is on sys.path when
# the file runs as a script), so the two rows differ only by the mounted app.
from roomcast_python import io


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def main():
    io.mount_asgi(app)
    port = await io.start(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "3000")))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"listening on {port}", flush=True)
    await stop.wait()
    await io.aclose()


if __name__ == "__main__":
    asyncio.run(main())
