"""A Flask app served by its own WSGI server (Werkzeug's, in the main thread), with roomcast's
Socket.IO server beside it: ``io.start_background(port)`` runs the handlers on an event loop
thread of their own and the native listener on a second port. The bench measures that
Socket.IO port.

Implements the bench wire contract (bench/README.md) with roomcast_python.py's server and
handlers, imported: join, fanout, echo, chat.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/roomcast_flask_background.py
"""

import os
import signal
import threading

from flask import Flask
from werkzeug.serving import make_server

import roomcast_python

app = Flask(__name__)
# The server and handlers of roomcast_python.py (this file's folder is on sys.path).
io = roomcast_python.io


@app.route("/")
def index():
    return "a Flask app"


def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = io.start_background(int(os.environ.get("PORT", "3000")), host)
    web = make_server(host, 0, app, threaded=True)
    # shutdown() waits for serve_forever() to return: call it from another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=web.shutdown).start())
    print(f"listening on {port}", flush=True)
    try:
        web.serve_forever()
    finally:
        io.close()


if __name__ == "__main__":
    main()
