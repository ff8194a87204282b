"""Class-based namespaces: python-socketio's ``Namespace`` and ``AsyncNamespace``.

``on_<event>`` methods handle the namespace's events (``on_connect(sid, environ[, auth])``,
``on_disconnect(sid[, reason])``, ``on_my_event(sid, *args)``); the other methods are the
server's, with this namespace as the default.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ._handlers import call_with, check

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager, AbstractContextManager

    from .async_server import AsyncServer
    from .server import Server

__all__ = ["Namespace", "AsyncNamespace"]


class _BaseNamespace:
    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.server: Any = None

    def is_asyncio_based(self) -> bool:
        return False

    def _set_server(self, server: Any) -> None:
        self.server = server

    def _check_handlers(self) -> None:
        for name, member in inspect.getmembers(self, callable):
            if name.startswith("on_") and name != "on_":
                event = name[3:]
                check(member, event if event in ("connect", "disconnect") else "event", 1 if self.namespace == "*" else 0)

    def _handler(self, event: str) -> Any:
        return getattr(self, "on_" + (event or ""), None)

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls ``on_<event>`` with ``args`` (the sid first); None when there is none.
        Override it to route events another way (a catch-all, for instance)."""
        handler = self._handler(event)
        if handler is None:
            return None
        if event in ("connect", "disconnect"):
            return call_with(handler, args, optional=1)
        return handler(*args)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms of client ``sid``."""
        rooms: list[str] = self.server.rooms(sid, namespace=namespace or self.namespace)
        return rooms

    def transport(self, sid: str, namespace: str | None = None) -> str:
        """The client's transport."""
        transport: str = self.server.transport(sid, namespace=namespace or self.namespace)
        return transport

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The client's connection environ."""
        environ: dict[str, Any] | None = self.server.get_environ(sid, namespace=namespace or self.namespace)
        return environ


class Namespace(_BaseNamespace):
    """A class-based namespace for :class:`Server`."""

    server: Server

    def emit(self, event: str, data: Any = None, to: Any = None, room: Any = None, skip_sid: Any = None,
             namespace: str | None = None, callback: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`Server.emit` in this namespace."""
        self.server.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                         namespace=namespace or self.namespace, callback=callback)

    def send(self, data: Any, to: Any = None, room: Any = None, skip_sid: Any = None,
             namespace: str | None = None, callback: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`Server.send` in this namespace."""
        self.server.send(data, to=to, room=room, skip_sid=skip_sid,
                         namespace=namespace or self.namespace, callback=callback)

    def call(self, event: str, data: Any = None, to: str | None = None, sid: str | None = None,
             namespace: str | None = None, timeout: float = 60, ignore_queue: bool = False) -> Any:
        """:meth:`Server.call` in this namespace."""
        return self.server.call(event, data, to=to, sid=sid, namespace=namespace or self.namespace, timeout=timeout)

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`Server.enter_room` in this namespace."""
        self.server.enter_room(sid, room, namespace=namespace or self.namespace)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`Server.leave_room` in this namespace."""
        self.server.leave_room(sid, room, namespace=namespace or self.namespace)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`Server.close_room` in this namespace."""
        self.server.close_room(room, namespace=namespace or self.namespace)

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """:meth:`Server.get_session` in this namespace."""
        return self.server.get_session(sid, namespace=namespace or self.namespace)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """:meth:`Server.save_session` in this namespace."""
        self.server.save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> AbstractContextManager[dict[str, Any]]:
        """:meth:`Server.session` in this namespace."""
        return self.server.session(sid, namespace=namespace or self.namespace)

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """:meth:`Server.disconnect` in this namespace."""
        self.server.disconnect(sid, namespace=namespace or self.namespace)


class AsyncNamespace(_BaseNamespace):
    """A class-based namespace for :class:`AsyncServer`; ``on_`` methods may be ``async``."""

    server: AsyncServer

    def is_asyncio_based(self) -> bool:
        return True

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls (and awaits) ``on_<event>`` with ``args``; None when there is none."""
        result = super().trigger_event(event, *args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def emit(self, event: str, data: Any = None, to: Any = None, room: Any = None, skip_sid: Any = None,
                   namespace: str | None = None, callback: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`AsyncServer.emit` in this namespace."""
        await self.server.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                               namespace=namespace or self.namespace, callback=callback)

    async def send(self, data: Any, to: Any = None, room: Any = None, skip_sid: Any = None,
                   namespace: str | None = None, callback: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`AsyncServer.send` in this namespace."""
        await self.server.send(data, to=to, room=room, skip_sid=skip_sid,
                               namespace=namespace or self.namespace, callback=callback)

    async def call(self, event: str, data: Any = None, to: str | None = None, sid: str | None = None,
                   namespace: str | None = None, timeout: float = 60, ignore_queue: bool = False) -> Any:
        """:meth:`AsyncServer.call` in this namespace."""
        return await self.server.call(event, data, to=to, sid=sid, namespace=namespace or self.namespace,
                                      timeout=timeout)

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.enter_room` in this namespace."""
        await self.server.enter_room(sid, room, namespace=namespace or self.namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.leave_room` in this namespace."""
        await self.server.leave_room(sid, room, namespace=namespace or self.namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.close_room` in this namespace."""
        await self.server.close_room(room, namespace=namespace or self.namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """:meth:`AsyncServer.get_session` in this namespace."""
        return await self.server.get_session(sid, namespace=namespace or self.namespace)

    async def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """:meth:`AsyncServer.save_session` in this namespace."""
        await self.server.save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> AbstractAsyncContextManager[dict[str, Any]]:
        """:meth:`AsyncServer.session` in this namespace."""
        return self.server.session(sid, namespace=namespace or self.namespace)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.disconnect` in this namespace."""
        await self.server.disconnect(sid, namespace=namespace or self.namespace)

