"""Serves one of the example-shaped apps on a free port of 127.0.0.1, with python-socketio
or with roomcast.socketio: ``run_app.py asgi_app|wsgi_app python-socketio|roomcast``.

For roomcast the app's source is loaded with its ``import socketio`` line replaced by
``import roomcast.socketio as socketio``, the one change an app makes. Prints
``listening on <port>`` once it accepts connections; runs until killed.
"""

import sys
import types
from pathlib import Path

IMPORT = "import socketio\n"


def load(name: str, flavour: str) -> types.ModuleType:
    path = Path(__file__).with_name(name + ".py")
    source = path.read_text()
    if flavour == "roomcast":
        if source.count(IMPORT) != 1:
            sys.exit(f"{path.name}: expected exactly one line {IMPORT!r}")
        source = source.replace(IMPORT, "import roomcast.socketio as socketio\n")
    elif flavour != "python-socketio":
        sys.exit(f"unknown flavour {flavour!r}")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def serve_asgi(app: object) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):  # type: ignore[no-untyped-def]
            await super().startup(sockets=sockets)
            port = self.servers[0].sockets[0].getsockname()[1]
            print(f"listening on {port}", flush=True)

    Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")).run()


def serve_wsgi(app: object) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


def main() -> None:
    name, flavour = sys.argv[1], sys.argv[2]
    module = load(name, flavour)
    if name.startswith("asgi"):
        serve_asgi(module.app)
    else:
        serve_wsgi(module.app)


if __name__ == "__main__":
    main()
