"""One client's events under ``AsyncServer(async_handlers=False)``.

python-socketio then awaits each handler in the client's receive loop: a client's next event
starts only once its handler has finished, awaits included, while other clients go on.
roomcast's dispatcher starts every ``async def`` handler as a task, so this queue holds a
client's later events until the one running has answered.
"""

from __future__ import annotations

import contextvars
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from .._dispatch import Dispatcher

__all__ = ["InOrder"]


class InOrder:
    """``Socket._run`` for one socket: runs its handlers one at a time, in arrival order."""

    __slots__ = ("_dispatcher", "_waiting", "_busy", "_draining")

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._waiting: deque[tuple[contextvars.Context, Any, Iterable[Any], Any, str]] = deque()
        self._busy = False
        self._draining = False

    def __call__(self, fn: Callable[..., Any], args: Iterable[Any], then: Callable[[Any], None] | None, what: str) -> None:
        # The context holds what the event set (roomcast.ack_requested()) for when it runs.
        self._waiting.append((contextvars.copy_context(), fn, args, then, what))
        self._next()

    def _next(self) -> None:
        if self._draining:
            return  # the loop below takes it: no recursion per handler that ends at once
        self._draining = True
        try:
            while self._waiting and not self._busy:
                context, fn, args, then, what = self._waiting.popleft()
                self._busy = True
                context.run(self._dispatcher.run, fn, args, _Answer(self, then), what, self._done)
        finally:
            self._draining = False

    def _done(self) -> None:
        self._busy = False
        self._next()


class _Answer:
    """The handler's ``then``: answers the acknowledgement, then lets the next event in."""

    __slots__ = ("_queue", "_then")

    def __init__(self, queue: InOrder, then: Callable[[Any], None] | None) -> None:
        self._queue = queue
        self._then = then

    def __call__(self, result: Any) -> None:
        try:
            if self._then is not None:
                self._then(result)
        finally:
            self._queue._done()
