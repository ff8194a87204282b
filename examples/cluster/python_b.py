"""Node B of the cluster example: a roomcast server (Python API) with the Redis adapter.

    REDIS_URL   redis://127.0.0.1:6379 by default
    PORT, HOST  3002 and 127.0.0.1 by default (PORT=0: any free port)

It serves index.html at / (and the browser client at /socket.io/socket.io.js when
socket.io-client is installed in tests/ or bindings-node/), and answers "whoami" with its
name. Broadcasts made on node A (Node) or by emitter.py reach its clients.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import roomcast

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NAME = "node B (Python)"

# ADAPTER picks the Redis adapter: pubsub (default), streams (with connection state recovery
# across nodes, and no sticky sessions needed in front), or sharded (REDIS_URL lists Redis
# Cluster nodes, comma-separated).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
ADAPTER = os.environ.get("ADAPTER", "pubsub")
if ADAPTER == "streams":
    io = roomcast.Server(
        cors_allowed_origins="*",
        adapter=roomcast.RedisStreamsAdapter(REDIS_URL),
        connection_state_recovery=True,
        route_sessions=roomcast.SessionRouting(REDIS_URL),
    )
elif ADAPTER == "sharded":
    io = roomcast.Server(cors_allowed_origins="*", adapter=roomcast.RedisShardedAdapter(REDIS_URL.split(",")))
else:
    io = roomcast.Server(cors_allowed_origins="*", adapter=roomcast.RedisAdapter(REDIS_URL))


@io.on("connection")
def on_connection(socket: roomcast.Socket) -> None:
    socket.on("whoami", lambda: NAME)
    # Every client of the cluster hears about it, whichever node it is connected to.
    io.emit("joined", f"{socket.id} joined {NAME}")


@io.on("announce")
def announce(text: str) -> None:
    """Sent by emitter.py (or any node) with server_side_emit."""
    print(f"{NAME} heard: {text}", flush=True)


def client_bundle() -> bytes | None:
    for candidate in (
        os.environ.get("SIO_CLIENT_BUNDLE"),
        REPO / "tests/node_modules/socket.io-client/dist/socket.io.min.js",
        REPO / "bindings-node/node_modules/socket.io-client/dist/socket.io.min.js",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_bytes()
    return None


async def main() -> None:
    io.serve_static("/", (HERE / "index.html").read_bytes())
    bundle = client_bundle()
    if bundle:
        io.serve_client(bundle)
    host = os.environ.get("HOST", "127.0.0.1")
    port = await io.start(host, int(os.environ.get("PORT", "3002")))
    print(f"{NAME} listening on http://{host}:{port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await io.aclose()


if __name__ == "__main__":
    asyncio.run(main())
