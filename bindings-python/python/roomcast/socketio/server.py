"""`Server`: python-socketio's synchronous server (``socketio.Server``) on roomcast."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ._base import BaseServer, Handler, Target, _answer
from . import exceptions

__all__ = ["Server"]


class Server(BaseServer):
    """python-socketio's ``socketio.Server``: same constructor options, handlers and methods.

    Handlers run on roomcast's event loop thread (started by :class:`WSGIApp` on the first
    request, or with ``sio.io.start_background(port)`` for roomcast's own listener with
    WebSocket); each socket's events are handled in order. Methods are safe from any thread.
    """

    _is_async = False

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

        Not from a handler: handlers run on the loop that delivers the answer (use a
        background task, or :class:`AsyncServer`)."""
        target = to or sid
        if target is None:
            raise ValueError("Cannot use call() to broadcast.")
        if self.io._dispatcher.on_loop_thread():
            raise RuntimeError(
                "Server.call() cannot wait inside a handler: the handler's thread delivers the "
                "answer. Call it from sio.start_background_task(...) or use AsyncServer"
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
