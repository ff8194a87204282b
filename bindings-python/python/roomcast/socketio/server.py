"""`Server`: python-socketio's synchronous server (``socketio.Server``) on roomcast."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ._base import BaseServer, Handler, Target, _answer
from ._pool import DEFAULT_HANDLER_THREADS, HandlerPool
from . import exceptions

__all__ = ["Server"]


class Server(BaseServer):
    """python-socketio's ``socketio.Server``: same constructor options, handlers and methods.

    With ``async_handlers=True`` (the default), as in python-socketio, every event's handler
    runs on a thread of its own, so one that blocks holds up no other event: the threads
    come from a pool of ``handler_threads`` (64), taken in the order the events arrived;
    connect and disconnect handlers run there too. With ``async_handlers=False`` handlers
    run one after another on roomcast's event loop thread, each client's events in order.
    The loop is started by :class:`WSGIApp` on the first request, or with
    ``sio.io.start_background(port)`` for roomcast's own listener with WebSocket. Methods
    are safe from any thread.
    """

    _is_async = False

    def __init__(self, *args: Any, handler_threads: int = DEFAULT_HANDLER_THREADS, **kwargs: Any) -> None:
        pool = HandlerPool(handler_threads)
        super().__init__(*args, **kwargs)
        self._pool = pool
        self.io._close_callbacks.append(pool.close)

    def emit(
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

    def send(
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

    def call(
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
        for several); raises ``exceptions.TimeoutError`` after ``timeout`` seconds.

        From a handler only with ``async_handlers=True``: with ``False`` handlers run on the
        thread that delivers the answer (python-socketio refuses it then too)."""
        target = to or sid
        if target is None:
            raise ValueError("Cannot use call() to broadcast.")
        if self.io._dispatcher.on_loop_thread():
            raise RuntimeError(
                "Server.call() cannot wait on roomcast's event loop thread, which delivers the "
                "answer: with async_handlers=False handlers run there. Leave async_handlers on, "
                "or call it from sio.start_background_task(...)"
            )
        done = threading.Event()
        answer: list[tuple[Any, ...]] = []

        def callback(*args: Any) -> None:
            answer.append(args)
            done.set()

        self._emit(event, data, target, None, None, namespace, callback)
        if not done.wait(timeout):
            raise exceptions.TimeoutError()
        return _answer(list(answer[0]))

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Adds client ``sid`` to ``room``."""
        self._enter_room(sid, room, namespace)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Removes client ``sid`` from ``room``."""
        self._leave_room(sid, room, namespace)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Removes every client from ``room``."""
        self._close_room(room, namespace)

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The client's user session (a dict kept in this process while it is connected)."""
        return self._session(sid, namespace)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """Replaces the client's user session."""
        self._save_session(sid, session, namespace)

    @contextmanager
    def session(self, sid: str, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """``with sio.session(sid) as session:`` -- changes are saved on exit."""
        session = self._session(sid, namespace)
        yield session
        self._save_session(sid, session, namespace)

    def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        """Disconnects client ``sid`` from the namespace (its disconnect handler runs with
        ``"server disconnect"``); an unknown sid is a no-op."""
        self._disconnect(sid, namespace)

    def shutdown(self) -> None:
        """Closes the server: every client is disconnected, the port released."""
        self.io.close()

    def handle_request(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answers a WSGI request of the Socket.IO path (as ``WSGIApp`` does)."""
        from ..wsgi import WSGIApp

        return WSGIApp(self.io)(environ, start_response)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
        """Runs ``target(*args, **kwargs)`` on a daemon thread; returns the started thread."""
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    def sleep(self, seconds: float = 0) -> None:
        """``time.sleep`` (no eventlet or gevent here)."""
        time.sleep(seconds)
