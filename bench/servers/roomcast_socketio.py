"""roomcast.socketio (python-socketio's API on roomcast): the python-socketio bench server
(python_socketio.py) with its ``import socketio`` line changed to
``import roomcast.socketio as socketio`` and nothing else, loaded from that file so the
handler code stays the same. Served by uvicorn as python_socketio.py is, or with
ROOMCAST_LISTENER=native by roomcast's own listener.

Usage: PORT=3000 [ROOMCAST_LISTENER=native] bench/.venv/bin/python bench/servers/roomcast_socketio.py
"""

import asyncio
import os
import signal
import sys
import types
from pathlib import Path

IMPORT = "import socketio\n"


def load() -> types.ModuleType:
    path = Path(__file__).with_name("python_socketio.py")
    source = path.read_text()
    if source.count(IMPORT) != 1:
        sys.exit(f"{path.name}: expected exactly one line {IMPORT!r}")
    module = types.ModuleType("python_socketio_on_roomcast")
    module.__file__ = str(path)
    exec(compile(source.replace(IMPORT, "import roomcast.socketio as socketio\n"), str(path), "exec"), module.__dict__)
    return module


async def native(sio) -> None:
    port = await sio.start(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "3000")))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"listening on {port}", flush=True)
    await stop.wait()
    await sio.shutdown()


def main() -> None:
    app = load()
    if os.environ.get("ROOMCAST_LISTENER") == "native":
        asyncio.run(native(app.sio))
    else:
        app.main()


if __name__ == "__main__":
    main()
