"""The threads that run a synchronous server's handlers (``async_handlers=True``).

python-socketio's threading mode starts a thread per event, so a handler that blocks (a
query, ``time.sleep``, waiting for another client) holds up nobody else. Here a bounded pool
does the same without a thread per event: jobs start in the order they were submitted, at
most ``size`` run at once, and workers are daemon threads (as python-socketio's) that go
away after a while idle and when the server closes.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any, Callable

__all__ = ["HandlerPool", "DEFAULT_HANDLER_THREADS"]

logger = logging.getLogger("roomcast")

#: Default number of handler threads: enough for handlers that wait on I/O or on each
#: other, few enough that a flood of events cannot start thousands of threads.
DEFAULT_HANDLER_THREADS = 64

# Seconds a worker waits for a job before it exits (a burst's threads do not linger).
_IDLE_EXIT = 30.0


class HandlerPool:
    """Runs ``job()`` callables on at most ``size`` daemon threads, in submission order."""

    def __init__(self, size: int, name: str = "roomcast-handler") -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"handler_threads must be a whole number of threads, at least 1, not {size!r}")
        self.size = size
        self._name = name
        self._jobs: deque[Callable[[], Any]] = deque()
        self._cv = threading.Condition(threading.Lock())
        self._threads = 0
        self._idle = 0
        self._closed = False
        self._serial = 0

    def submit(self, job: Callable[[], Any]) -> None:
        """Queues ``job``; it starts once a thread is free (a new one, up to ``size``)."""
        with self._cv:
            self._jobs.append(job)
            if self._idle < len(self._jobs) and self._threads < self.size:
                self._threads += 1
                self._serial += 1
                thread = threading.Thread(target=self._work, name=f"{self._name}-{self._serial}", daemon=True)
                thread.start()
            else:
                self._cv.notify()

    def close(self) -> None:
        """Lets the workers exit once the queued jobs have run (does not wait for them: a
        handler may be the one closing the server)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    @property
    def busy(self) -> int:
        """Threads running a job now."""
        with self._cv:
            return self._threads - self._idle

    def _work(self) -> None:
        cv, jobs = self._cv, self._jobs
        while True:
            with cv:
                while not jobs:
                    if self._closed:
                        self._threads -= 1
                        return
                    self._idle += 1
                    woken = cv.wait(_IDLE_EXIT)
                    self._idle -= 1
                    if not woken and not jobs:
                        self._threads -= 1
                        return
                job = jobs.popleft()
            try:
                job()
            except BaseException:  # jobs log their own errors; this is a last resort
                logger.exception("roomcast: a handler thread's job raised")
