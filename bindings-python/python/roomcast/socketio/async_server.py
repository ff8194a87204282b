"""`AsyncServer`: python-socketio's asyncio server (``socketio.AsyncServer``) on roomcast."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from ._base import BaseServer, Handler, Target, _answer
from . import exceptions

__all__ = ["AsyncServer"]


class AsyncServer(BaseServer):
    """python-socketio's ``socketio.AsyncServer``: same constructor options, handlers and
    coroutine methods. Serve it with :class:`ASGIApp` under any ASGI server, or on
    roomcast's own listener with :meth:`serve` / :meth:`start`. Handlers (``def`` or
    ``async def``) run on that event loop; with ``async_handlers=True`` (the default) each
    event's handler runs as a task of its own, as in python-socketio, and with ``False`` a
    client's next event waits until its running handler has finished."""

    _is_async = True

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: Target = None,
        room: Target = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
        callback: Handler | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """Sends ``event`` to a client (``to=sid``), a room, several rooms (a list) or every
        client of the namespace; a ``data`` tuple is several arguments. ``callback`` gets
        the client's acknowledgement arguments (``to`` must name a client)."""
        self._emit(event, data, to, room, skip_sid, namespace, callback)

    async def send(
        self,
        data: Any,
        to: Target = None,
        room: Target = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
        callback: Handler | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """``emit("message", data, ...)``."""
        self._emit("message", data, to, room, skip_sid, namespace, callback)

    async def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        """Emits to one client and returns its acknowledgement (None, the value, or a tuple
        for several); raises ``exceptions.TimeoutError`` after ``timeout`` seconds."""
        target = to or sid
        if target is None:
            raise ValueError("Cannot use call() to broadcast.")
        answer: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

        def callback(*args: Any) -> None:
            if not answer.done():
                answer.set_result(args)

        self._emit(event, data, target, None, None, namespace, callback)
        try:
            args = await asyncio.wait_for(answer, timeout)
        except asyncio.TimeoutError:
            raise exceptions.TimeoutError() from None
        return _answer(list(args))

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Adds client ``sid`` to ``room``."""
        self._enter_room(sid, room, namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Removes client ``sid`` from ``room``."""
        self._leave_room(sid, room, namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client from ``room``."""
        self._close_room(room, namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The client's user session (a dict kept in this process while it is connected)."""
        return self._session(sid, namespace)

    async def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """Replaces the client's user session."""
        self._save_session(sid, session, namespace)

    @asynccontextmanager
    async def session(self, sid: str, namespace: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """``async with sio.session(sid) as session:`` -- changes are saved on exit."""
        session = self._session(sid, namespace)
        yield session
        self._save_session(sid, session, namespace)

    async def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        """Disconnects client ``sid`` from the namespace (its disconnect handler runs with
        ``"server disconnect"``); an unknown sid is a no-op."""
        self._disconnect(sid, namespace)

    async def shutdown(self) -> None:
        """Closes the server: every client is disconnected, the port released."""
        await self.io.aclose()

    async def handle_request(self, scope: Any, receive: Any, send: Any) -> None:
        """Answers an ASGI request of the Socket.IO path (as ``ASGIApp`` does)."""
        from ..asgi import ASGIApp

        await ASGIApp(self.io)(scope, receive, send)

    def start_background_task(self, target: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        """Runs the coroutine function ``target(*args, **kwargs)`` as a task; returns it."""
        task = asyncio.ensure_future(target(*args, **kwargs))
        # The loop keeps only weak references to tasks.
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)
        return task

    async def sleep(self, seconds: float = 0) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    # ---- roomcast's own listener (no ASGI server) -------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serves on roomcast's own listener (WebSocket and polling) from the running loop;
        returns the bound port at once (``port=0`` picks a free one)."""
        return await self.io.start(host, port)

    async def serve(self, host: str = "0.0.0.0", port: int = 5000) -> None:
        """Serves on roomcast's own listener until cancelled or shut down."""
        await self.io.serve(host, port)
