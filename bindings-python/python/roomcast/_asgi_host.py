"""An ASGI app on the native listener: the core parses HTTP and queues every request outside
the Socket.IO path (bounded: when full it answers 503 itself); each request runs as a task on
the server's event loop, the loop the Socket.IO handlers run on, so a route can ``emit``
directly. Socket.IO keeps the native listener's speed, since its frames never cross ASGI.

Request bodies are read and responses written by the core; the waits for a slow client run
on the loop's default executor, never on the loop itself."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Awaitable, Callable
from urllib.parse import unquote_to_bytes

__all__ = ["ASGIHost"]

logger = logging.getLogger("roomcast.asgi")

Scope = dict[str, Any]
Message = dict[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

# How often the thread that takes requests from the core looks up (a close wakes it at once).
_IDLE_WAIT = 1.0
_ASGI = {"version": "3.0", "spec_version": "2.3"}


class _Lifespan:
    """The app's lifespan protocol: startup before the first request, shutdown at close. An
    app that does not speak it (it raises on the scope) is served without it, as uvicorn's
    ``lifespan="auto"`` does."""

    def __init__(self, app: ASGI, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.supported = True
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._startup: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._shutdown: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._startup

    async def shutdown(self) -> None:
        if not self.supported or self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._shutdown

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._send)
        except BaseException as e:
            if not self._startup.done():
                self.supported = False
                logger.debug("roomcast: the ASGI app does not handle lifespan (%r); serving without it", e)
                self._startup.set_result(None)
            else:
                logger.exception("roomcast: the ASGI app's lifespan failed")
        finally:
            for fut in (self._startup, self._shutdown):
                if not fut.done():
                    fut.set_result(None)

    async def _send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._startup.set_result(None)
        elif kind == "lifespan.startup.failed":
            self._startup.set_exception(RuntimeError(f"the ASGI app failed to start: {message.get('message', '')}"))
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind == "lifespan.shutdown.failed":
                logger.error("roomcast: the ASGI app failed to shut down: %s", message.get("message", ""))
            if not self._shutdown.done():
                self._shutdown.set_result(None)


class _Exchange:
    """One request: the ASGI ``receive`` and ``send`` over the core's exchange."""

    def __init__(self, exchange: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.exchange = exchange
        self.loop = loop
        self.body_done = False
        self.started = False
        self.finished = loop.create_future()

    async def receive(self) -> Message:
        if self.body_done:
            # After the request body, the next message is the end of the exchange.
            await asyncio.shield(self.finished)
            return {"type": "http.disconnect"}
        try:
            chunk = await self.loop.run_in_executor(None, self.exchange.read_chunk)
        except ConnectionError:
            self.body_done = True
            return {"type": "http.disconnect"}
        if not chunk:
            self.body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: Message) -> None:
        kind = message.get("type")
        if self.finished.done():
            raise ConnectionError("the response is already complete")
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            headers = [(_text(k), _text(v)) for k, v in message.get("headers", [])]
            self.exchange.start(int(message["status"]), headers)
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            body = message.get("body", b"")
            if body:
                await self.loop.run_in_executor(None, self.exchange.write, bytes(body))
            if not message.get("more_body", False):
                self.finish(False)
        else:
            raise ValueError(f"unexpected ASGI message {kind!r} on an HTTP request")

    def finish(self, broken: bool) -> None:
        if not self.finished.done():
            self.exchange.finish(broken)
            self.finished.set_result(None)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _scope(exchange: Any, state: dict[str, Any], scheme: str) -> Scope:
    method, path, query, protocol, headers, remote, local = exchange.take_head()
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": protocol.split("/", 1)[1],
        "method": method,
        "scheme": scheme,
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": bytes(path),
        "query_string": bytes(query),
        "root_path": "",
        "headers": [(bytes(k).lower(), bytes(v)) for k, v in headers],
        "client": tuple(remote) if remote else None,
        "server": tuple(local) if local else None,
        "state": dict(state),
    }


class ASGIHost:
    """Serves ``app`` for the native listener's requests outside the Socket.IO path; at most
    ``concurrency`` requests run at once and ``backlog`` more may wait."""

    def __init__(self, native_server: Any, app: ASGI, concurrency: int, backlog: int, shutdown_grace: float) -> None:
        if not callable(app):
            raise TypeError(f"asgi_app must be an ASGI app, app(scope, receive, send), not {app!r}")
        if int(concurrency) < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency!r}")
        if int(backlog) < 0:
            raise ValueError(f"backlog must be 0 or more, not {backlog!r}")
        self.app = app
        self.native_server = native_server
        self.concurrency = int(concurrency)
        self.backlog = int(backlog)
        self.shutdown_grace = float(shutdown_grace)
        # "https" when the native listener serves TLS.
        self.scheme = "http"
        self._queue: Any = None
        self._taker: threading.Thread | None = None
        self._lifespan: _Lifespan | None = None
        self._state: dict[str, Any] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Runs the app's lifespan startup, then takes requests (call on the server's loop)."""
        if self._queue is not None:
            return
        loop = asyncio.get_running_loop()
        self._lifespan = _Lifespan(self.app, self._state)
        await self._lifespan.startup()
        self._queue = self.native_server.serve_http(self.concurrency, self.backlog, self.shutdown_grace)
        self._taker = threading.Thread(target=self._take, args=(loop,), name="roomcast-asgi", daemon=True)
        self._taker.start()

    async def stop(self) -> None:
        """Takes no more requests, lets those in flight finish (the core has bounded them by
        the shutdown grace already), then runs the app's lifespan shutdown."""
        if self._queue is None:
            return
        self._queue.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.shutdown_grace)
        if self._taker is not None and self._taker is not threading.current_thread():
            await asyncio.get_running_loop().run_in_executor(None, self._taker.join, _IDLE_WAIT * 2)
        if self._lifespan is not None:
            try:
                await asyncio.wait_for(self._lifespan.shutdown(), self.shutdown_grace)
            except asyncio.TimeoutError:
                logger.warning("roomcast: the ASGI app's lifespan shutdown took longer than %ss", self.shutdown_grace)

    def close(self) -> None:
        """Stops taking requests (without the lifespan shutdown when :meth:`stop` did not
        run: the loop is gone). The thread taking requests is joined: one still inside the
        native wait when the interpreter finalizes would crash the process at exit."""
        if self._queue is None:
            return
        self._queue.close()
        taker = self._taker
        if taker is not None and taker is not threading.current_thread():
            taker.join(_IDLE_WAIT * 2)

    def _take(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            exchange = self._queue.next(_IDLE_WAIT)
            if exchange is None:
                continue
            if exchange is False:
                return
            try:
                loop.call_soon_threadsafe(self._spawn, exchange)
            except RuntimeError:  # the loop closed: the core answers what is left
                exchange.finish(False)
                return

    def _spawn(self, exchange: Any) -> None:
        task = asyncio.ensure_future(self._serve(exchange))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, raw: Any) -> None:
        exchange = _Exchange(raw, asyncio.get_running_loop())
        try:
            scope = _scope(raw, self._state, self.scheme)
            await self.app(scope, exchange.receive, exchange.send)
        except ConnectionError:
            exchange.finish(True)  # the client left; nothing more to send
        except Exception:
            logger.exception("roomcast: the ASGI app raised")
            exchange.finish(exchange.started)  # unstarted: answered 500
        finally:
            exchange.finish(exchange.started and not exchange.finished.done())
