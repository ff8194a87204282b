"""`ASGIApp`: roomcast inside an ASGI server (uvicorn, hypercorn), next to another ASGI app
(FastAPI, Starlette) on the same port.

The ASGI server parses HTTP and WebSocket framing; the core decides and answers exactly as
its own listener does (``Server::handle_http`` / ``Server::open_websocket``). Handlers run on
the ASGI server's event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping, cast

from ._dispatch import logger, resolve_value
from ._pending import Pending

if TYPE_CHECKING:
    from .server import Server

__all__ = ["ASGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

# How long a closing WebSocket waits for the core to finish its side.
_WS_CLOSE_WAIT = 5.0


class ASGIApp:
    """An ASGI application serving ``io`` at its path and everything else with
    ``other_asgi_app`` (404 when there is none)::

        app = FastAPI()
        io = roomcast.Server()
        asgi = roomcast.ASGIApp(io, other_asgi_app=app)   # uvicorn module:asgi

    Lifespan messages are passed to ``other_asgi_app``; at startup the server starts
    handling events on the ASGI loop, at shutdown it is closed.

    Under uvicorn a WebSocket of the Socket.IO path is taken over once uvicorn has parsed its
    upgrade request: the core duplicates the socket's descriptor, answers the upgrade and
    runs the connection as its own listener does, so frames never cross the ASGI interface.
    ``take_over_websockets=False`` keeps every frame on ASGI messages (as with other ASGI
    servers, and over TLS, where the session's keys live in the ASGI server).
    """

    def __init__(self, io: Server, other_asgi_app: ASGI | None = None, take_over_websockets: bool = True) -> None:
        self.io = io
        self.other_asgi_app = other_asgi_app
        self.take_over_websockets = take_over_websockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind in ("http", "websocket") and self.io._native.handles_path(scope["path"]):
            self._attach()
            if kind == "http":
                if await self._http(scope, receive, send):
                    return
            else:
                await self._websocket(scope, receive, send)
                return
        if self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        else:
            await _not_found(scope, send)

    def _take_over(self, scope: Scope, receive: Receive) -> bool:
        """Hands the WebSocket's socket to the core, which answers the upgrade and runs it
        as its own listener does; True when it did. Only uvicorn's WebSocket protocols
        qualify (their ``receive`` is a method of the protocol holding the transport), on a
        plain TCP or Unix socket; anything else stays on the ASGI messages."""
        transport = _uvicorn_transport(receive)
        if transport is None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            self.io._native.take_over_websocket(sock.fileno(), _target(scope), scope["headers"], _client(scope))
        except OSError as exc:
            logger.debug("roomcast: WebSocket stays with the ASGI server: %s", exc)
            return False
        # Before the loop runs again, so the ASGI server never reads from the socket now
        # (the client answers the 101 at once); its descriptor is closed without a write or
        # a shutdown, and the core's duplicate keeps the connection open.
        transport.abort()
        return True

    def _attach(self) -> None:
        dispatcher = self.io._dispatcher
        if not dispatcher.attached:
            dispatcher.attach()

    # ---- lifespan ---------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def observed() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._attach()
            elif message["type"] == "lifespan.shutdown" and not self.io.closed:
                await self.io.aclose()
            return message

        if self.other_asgi_app is not None:
            await self.other_asgi_app(scope, observed, send)
            return
        while True:
            message = await observed()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- HTTP (long-polling, handshake, CORS preflight) -------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answers a request of the Socket.IO path; False if the core says it is not one."""
        limit = self.io._max_http_buffer_size
        body = bytearray()
        gone_early = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # A GET that arrived counts even if its client is already gone: an aborted
                # long-poll ends its session. A POST cut short is dropped unread.
                if scope["method"] != "GET":
                    return True
                gone_early = True
                break
            body += message.get("body", b"")
            # Past the limit the core answers 413 from what it has; stop buffering.
            if len(body) > limit or not message.get("more_body", False):
                break
        dispatcher = self.io._dispatcher
        token, fut = dispatcher.expect(resolve_value)
        native = self.io._native
        native.handle_http(
            token, scope["method"], _target(scope), scope["headers"], bytes(body), _client(scope), _secure(scope)
        )
        if gone_early:
            native.cancel_http(token)
            dispatcher.forget(token)
            return True
        answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes] | None] = asyncio.ensure_future(
            Pending(fut, dispatcher.thread_id)
        )
        # A long-poll may wait a ping interval: a client that goes away meanwhile ends it (and
        # its session) at once, as engine.io does, instead of leaving it to meet the client's
        # next poll as an overlap.
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((answer, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not answer.done():
            native.cancel_http(token)
            dispatcher.forget(token)
            answer.cancel()
            return True
        response = answer.result()
        if response is None:
            return False
        status, headers, payload = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return True

    # ---- WebSocket --------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if self.take_over_websockets and self._take_over(scope, receive):
            # The ASGI server sees its transport closed and ends the exchange with a
            # disconnect; the connection itself lives on in the core.
            while (await receive())["type"] != "websocket.disconnect":
                pass
            return
        ws = self.io._native.open_websocket(_target(scope), scope["headers"], _client(scope), _secure(scope))
        if isinstance(ws, int):
            # ASGI can only refuse a handshake with 403; the core's status goes to the log.
            logger.debug("roomcast: WebSocket refused with HTTP %s", ws)
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        out = _Outbox(ws, send)
        dispatcher = self.io._dispatcher
        writer = asyncio.ensure_future(out.pump(dispatcher))
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    # The core decodes the message during the feed; on the loop that runs the
                    # handlers they run in it too, and what they queued for this client comes
                    # back before the core's writer is woken: no other thread is involved.
                    text = message.get("text")
                    out.add(
                        ws.feed(
                            text if text is not None else (message.get("bytes") or b""),
                            dispatcher.drain_here if dispatcher.on_loop_thread() else None,
                        )
                    )
                    await out.flush()
                elif kind == "websocket.disconnect":
                    break
        finally:
            ws.client_closed()
            try:
                await asyncio.wait_for(writer, _WS_CLOSE_WAIT)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                writer.cancel()


class _Outbox:
    """What goes to one ASGI WebSocket, in the order the core gave it, whoever took it: the
    receive loop (answers made while it ran the handlers) or the pump (everything else)."""

    def __init__(self, ws: Any, send: Send) -> None:
        self.ws = ws
        self.send = send
        self.queue: deque[str | bytes | None] = deque()
        self.sending = False
        self.broken = False

    def take(self) -> bool:
        """Queues what the core has for the client; False once it has closed the WebSocket."""
        return self.add(self.ws.take())

    def add(self, batch: list[str | bytes] | None) -> bool:
        """Queues a batch the core gave; ``None``: it has closed the WebSocket."""
        if batch is None:
            self.queue.append(None)
            return False
        self.queue.extend(batch)
        return True

    async def flush(self) -> None:
        """Sends what is queued, unless another flush is already doing it."""
        if self.sending or self.broken:
            return
        self.sending = True
        queue, send = self.queue, self.send
        try:
            while queue:
                item = queue.popleft()
                if item is None:
                    await send({"type": "websocket.close", "code": 1000})
                    self.broken = True
                    return
                if isinstance(item, str):
                    await send({"type": "websocket.send", "text": item})
                else:
                    await send({"type": "websocket.send", "bytes": item})
        except Exception as e:  # the client is gone; the reader side ends the session
            self.broken = True
            logger.debug("roomcast: WebSocket writer stopped: %r", e)
        finally:
            self.sending = False

    async def pump(self, dispatcher: Any) -> None:
        """Sends what the core queues outside the receive loop (broadcasts, pings, answers
        of async handlers) until the WebSocket closes."""
        try:
            while not self.broken:
                if not self.take():
                    await self.flush()
                    return
                if self.queue and not self.sending:
                    await self.flush()
                    continue
                # Nothing to send, or the receive loop is sending it: wait for more.
                token, fut = dispatcher.expect(resolve_value)
                self.ws.wait(token)
                await Pending(fut, dispatcher.thread_id)
        except Exception as e:
            logger.debug("roomcast: WebSocket writer stopped: %r", e)


# uvicorn's WebSocket protocols that give the app their own bound ``receive``, whose protocol
# holds the connection's transport, and that end the exchange quietly when it is closed.
_TAKE_OVER_PROTOCOLS = frozenset(
    {
        "uvicorn.protocols.websockets.websockets_sansio_impl",
        "uvicorn.protocols.websockets.wsproto_impl",
    }
)


def _uvicorn_transport(receive: Receive) -> asyncio.Transport | None:
    """The plain (not TLS) transport of a uvicorn WebSocket whose ``receive`` reached the app
    unwrapped, or None."""
    protocol = getattr(receive, "__self__", None)
    if protocol is None or type(protocol).__module__ not in _TAKE_OVER_PROTOCOLS:
        return None
    # uvloop's transports are not asyncio.Transport subclasses, hence no isinstance check.
    transport = cast("asyncio.Transport | None", getattr(protocol, "transport", None))
    if transport is None or transport.is_closing() or transport.get_extra_info("sslcontext"):
        return None
    return transport


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query = scope.get("query_string") or b""
    return f"{path}?{query.decode('latin-1')}" if query else path


def _client(scope: Scope) -> tuple[str, int] | None:
    client = scope.get("client")
    if not client:
        return None
    return (str(client[0]), int(client[1]))


def _secure(scope: Scope) -> bool:
    """Whether the ASGI server received the request over TLS."""
    return scope.get("scheme") in ("https", "wss")


async def _not_found(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain; charset=utf-8")]}
    )
    await send({"type": "http.response.body", "body": b"Not Found"})


async def _disconnected(receive: Receive) -> None:
    """Returns once the ASGI server reports the client gone (``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass
