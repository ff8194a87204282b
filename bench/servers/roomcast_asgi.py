"""roomcast from Python inside uvicorn through `roomcast.ASGIApp`, implementing the bench
wire contract (bench/README.md): join, fanout, echo, chat. The handlers are
roomcast_python.py's; uvicorn is configured as for python_socketio.py, so the two ASGI rows
differ only in the Socket.IO server.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_asgi.py
"""

import os
import warnings

import roomcast
import uvicorn

# The same server and handlers as the native-listener row (this folder is on sys.path when
# the file runs as a script), so the two rows differ only in who owns the sockets.
from roomcast_python import io

app = roomcast.ASGIApp(io)


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
