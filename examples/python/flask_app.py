"""A Flask app that pushes to Socket.IO clients from its views.

Two ways to run roomcast next to Flask, chosen with ``MODE``:

- ``MODE=native`` (default): roomcast's own listener on port 5001 (WebSocket and
  long-polling), its handlers on a background thread; Flask on port 5000. Views emit
  directly -- emitting from a request thread only queues the packet.
- ``MODE=wsgi``: roomcast mounted into the Flask app (``app.wsgi_app = WSGIApp(...)``), one
  port, long-polling only (WSGI has no WebSocket), each waiting poll holds a worker thread.

    pip install roomcast flask
    python examples/python/flask_app.py
    # then: curl 'http://127.0.0.1:5000/publish/sports?text=goal'
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request

import roomcast

MODE = os.environ.get("MODE", "native")
io = roomcast.Server(cors_allowed_origins="*", transports=["polling"] if MODE == "wsgi" else ["polling", "websocket"])
app = Flask(__name__)


@io.on("connection")
def on_connection(socket: roomcast.Socket) -> None:
    @socket.on("subscribe")
    def subscribe(topic: str) -> bool:
        socket.join(topic)
        return True


@app.get("/publish/<topic>")
def publish(topic: str) -> Any:
    io.to(topic).emit("news", {"topic": topic, "text": request.args.get("text", "")})
    return jsonify(sent=True)


@app.get("/ask/<sid>")
def ask(sid: str) -> Any:
    """Asks one client a question and waits (on this request thread) for its answer."""
    socket = io.sockets.sockets.get(sid)
    if socket is None:
        return jsonify(error="no such client"), 404
    try:
        answer = socket.emit_with_ack("question", request.args.get("q", "?"), timeout=5).result(timeout=6)
    except roomcast.AckError as e:
        return jsonify(error=str(e)), 504
    return jsonify(answer=answer)


if __name__ == "__main__":
    if MODE == "wsgi":
        app.wsgi_app = roomcast.WSGIApp(io, app.wsgi_app)  # type: ignore[method-assign]
        print("Flask and Socket.IO (long-polling) on http://127.0.0.1:5000")
    else:
        port = io.start_background(port=5001, host="127.0.0.1")
        print(f"Socket.IO on http://127.0.0.1:{port}, Flask on http://127.0.0.1:5000")
    try:
        app.run(port=5000, threaded=True)
    finally:
        io.close()
