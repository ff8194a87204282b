"""roomcast from Python inside uvicorn through `roomcast.ASGIApp`, implementing the bench
wire contract (bench/README.md): join, fanout, echo, chat. The handlers are
roomcast_python.py's; uvicorn is configured as for python_socketio.py, so the two ASGI rows
differ only in the Socket.IO server.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_asgi.py
"""

import os

import roomcast

# The same server and handlers as the native-listener row (this folder is on sys.path when
# the file runs as a script), so the two rows differ only in who owns the sockets.
from roomcast_python import io
from uvicorn_serve import serve

# ROOMCAST_ASGI_TAKE_OVER=0 (bench key roomcast-python-asgi-messages) keeps every WebSocket
# frame on ASGI messages, as under an ASGI server whose sockets cannot be taken over.
app = roomcast.ASGIApp(io, take_over_websockets=os.environ.get("ROOMCAST_ASGI_TAKE_OVER", "1") != "0")


if __name__ == "__main__":
    serve(app, lifespan="on")
