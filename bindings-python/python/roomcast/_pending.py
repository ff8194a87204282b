"""`Pending`: the result of an operation that completes later (an acknowledgement, a
``fetch_sockets``), usable from a coroutine (``await``) or a plain thread (``result()``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Generator, Generic, TypeVar, Union, cast

T = TypeVar("T")

AnyFuture = Union["asyncio.Future[Any]", "concurrent.futures.Future[Any]"]

__all__ = ["Pending"]


class Pending(Generic[T]):
    """An operation already started whose result comes later.

    ``await pending`` in any coroutine, or ``pending.result(timeout)`` in a thread that is not
    the server's event-loop thread (Flask views, worker threads).
    """

    __slots__ = ("_future", "_loop_thread")

    def __init__(self, future: AnyFuture, loop_thread: int | None) -> None:
        self._future = future
        self._loop_thread = loop_thread

    def __await__(self) -> Generator[Any, None, T]:
        fut = self._future
        if isinstance(fut, asyncio.Future):
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is fut.get_loop():
                return cast(T, (yield from fut.__await__()))
            raise RuntimeError("this result belongs to the server's event loop; await it there")
        return cast(T, (yield from asyncio.wrap_future(fut).__await__()))

    def result(self, timeout: float | None = None) -> T:
        """Blocks until the result is there (raises what the operation raised).

        Not on the server's event-loop thread: that thread delivers the result, so it would
        wait forever; ``await`` the pending result there instead.
        """
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("result() would block the server's event loop; use `await` here")
        fut = self._future
        if isinstance(fut, asyncio.Future):
            if fut.done():
                return cast(T, fut.result())
            raise RuntimeError("this result belongs to the server's event loop; await it there")
        return cast(T, fut.result(timeout))

    def done(self) -> bool:
        """Whether the result (or an error) is there."""
        return self._future.done()

    def __repr__(self) -> str:
        return f"<Pending done={self.done()}>"
