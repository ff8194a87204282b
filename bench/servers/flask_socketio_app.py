"""Comparison server: Flask-SocketIO. Runs roomcast_flask.py with its one roomcast line,
``from roomcast.flask import SocketIO, join_room``, changed to
``from flask_socketio import SocketIO, join_room`` and nothing else, so both serve the same
Flask app and handlers (Flask-SocketIO on Werkzeug's server, threading mode, WebSockets through
simple-websocket).

Usage: PORT=3000 bench/.venv/bin/python bench/servers/flask_socketio_app.py
"""

import sys
from pathlib import Path

IMPORT = "from roomcast.flask import SocketIO, join_room\n"


def main() -> None:
    path = Path(__file__).with_name("roomcast_flask.py")
    source = path.read_text()
    if source.count(IMPORT) != 1:
        sys.exit(f"{path.name}: expected exactly one line {IMPORT!r}")
    source = source.replace(IMPORT, "from flask_socketio import SocketIO, join_room\n")
    exec(compile(source, str(path), "exec"), {"__name__": "__main__", "__file__": str(path)})


if __name__ == "__main__":
    main()
