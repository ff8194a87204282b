"""Sending messages from the outside world: a process that runs no Socket.IO server emits
``time`` to every client of the cluster every few seconds, through Redis.

    REDIS_URL   redis://127.0.0.1:6379 by default
    INTERVAL    seconds between two emits, 5 by default

It also tells the servers themselves (``server_side_emit("announce", ...)``) once at start.
Plain synchronous code: ``.result()`` waits until Redis has taken each message.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import roomcast


def main() -> None:
    emitter = roomcast.Emitter(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    interval = float(os.environ.get("INTERVAL", "5"))
    emitter.server_side_emit("announce", "emitter.py started").result(10)
    print(f"emitting time every {interval:g} s (Ctrl-C to stop)", flush=True)
    try:
        while True:
            now = datetime.now(timezone.utc).strftime("%H:%M:%S")
            emitter.emit("time", now).result(10)
            print(f"sent time {now}", flush=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
