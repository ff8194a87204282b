"""Runs an ASGI app under uvicorn as every ASGI row of the bench does (uvloop, uvicorn's default
WebSocket protocol `websockets-sansio`, no pings or compression), printing `listening on <port>`
once it listens.

python_socketio.py keeps its own copy: it is also run with only its import changed
(roomcast_socketio.py), so it stays a python-socketio app as its users write it.
"""

import os

import uvicorn


class _Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"listening on {self.config.port}", flush=True)


def serve(app, *, lifespan: str = "off") -> None:
    config = uvicorn.Config(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        loop="uvloop",
        ws="websockets-sansio",
        http="h11",
        log_level="warning",
        access_log=False,
        backlog=4096,
        lifespan=lifespan,
        ws_ping_interval=None,
        ws_per_message_deflate=False,
    )
    _Server(config).run()
