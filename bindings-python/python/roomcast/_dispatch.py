"""The dispatcher: drains the core's events on one asyncio loop and runs the handlers.

The core never takes the GIL. It queues events and writes a byte to a socket pair; the
loop watches the other end (``add_reader``) and drains everything queued in one call per
wake-up. Handlers run on the loop thread, in the order the core delivered the events; an
``async def`` handler is started in that order and runs as a task.

Ordering follows socket.io's: when handling an event starts a task or resolves a future
(an acknowledgement arrived), the rest of the batch waits one loop turn, so that task's
first step -- or the coroutine waiting for that acknowledgement -- runs before the next
event is handled, as a JavaScript callback would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dis
import functools
import inspect
import itertools
import json
import logging
import threading
import types
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import _codec, _native
from .errors import AckTimeout, ConnectionRefused, Disconnected, ServerClosed

if TYPE_CHECKING:
    from .namespace import Namespace
    from .server import Server
    from .socket import Socket

logger = logging.getLogger("roomcast")

__all__ = ["Dispatcher", "logger", "ACK_REQUESTED"]

#: Whether the client asked for an acknowledgement of the event being handled (read with
#: ``roomcast.ack_requested()``; async handlers inherit it when their task starts).
ACK_REQUESTED: contextvars.ContextVar[bool] = contextvars.ContextVar("roomcast_ack_requested", default=False)

# Seconds an authorized socket waits for its connection event before it is forgotten.
_AUTHORIZED_TTL = 60.0


def _resolve(fut: Any, value: Any = None, error: BaseException | None = None) -> None:
    if fut.done():
        return
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
    except (asyncio.InvalidStateError, concurrent.futures.InvalidStateError):
        pass  # cancelled meanwhile by its waiter


class Dispatcher:
    """Runs a server's handlers on one asyncio loop (see the module docstring)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._native = server._native
        self._fd = self._native.wake_fd()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id: int | None = None
        self._tokens = itertools.count(1)
        self._pending: dict[int, tuple[Any, Callable[..., None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue: deque[tuple[Any, ...]] = deque()
        self._resume_scheduled = False
        self._yield = False
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._context = contextvars.copy_context()
        n = _native
        table: dict[int, Callable[[tuple[Any, ...]], None]] = {
            n.EV_AUTHORIZE: self._authorize,
            n.EV_CONNECTION: self._connection,
            n.EV_EVENT: self._event,
            n.EV_DISCONNECTING: self._disconnecting,
            n.EV_DISCONNECT: self._disconnect,
            n.EV_MATCH: self._match,
            n.EV_OUTGOING: self._outgoing,
            n.EV_NEW_NAMESPACE: self._new_namespace,
            n.EV_NAMESPACE_REMOVED: self._namespace_removed,
            n.EV_ALLOW_REQUEST: self._allow_request,
            n.EV_SERVER_SIDE: self._server_side,
            n.EV_ADMIN_AUTH: self._admin_auth,
        }
        completions = (
            n.EV_ACK,
            n.EV_BROADCAST_ACK,
            n.EV_SOCKETS,
            n.EV_HTTP,
            n.EV_WEBSOCKET,
            n.EV_DONE,
            n.EV_SERVER_SIDE_ACKS,
            n.EV_ROOMS,
        )
        for kind in completions:
            table[kind] = self._completed
        self._table = [table.get(i, self._unknown) for i in range(max(table) + 1)]

    # ---- the loop ---------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        return self.loop is not None

    def attach(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Starts draining on ``loop`` (the running loop by default); call on its thread."""
        loop = loop or asyncio.get_running_loop()
        if self.loop is loop:
            return
        if self.loop is not None and not self.loop.is_closed():
            raise RuntimeError(
                "this roomcast.Server already runs on another event loop; "
                "close it first or use one loop for the server"
            )
        self.loop = loop
        self.thread_id = threading.get_ident()
        self._context = contextvars.copy_context()
        loop.add_reader(self._fd, self.drain)
        # Events queued before the loop was attached have already rung the bell.
        loop.call_soon(self.drain)

    def detach(self) -> None:
        """Stops draining (after the server is closed)."""
        loop, self.loop = self.loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._fd)

    def on_loop_thread(self) -> bool:
        return self.thread_id == threading.get_ident() and self.loop is not None

    def drain(self) -> None:
        """Handles every queued event (called by the loop when the wake-up fd is readable)."""
        try:
            events = self._native.drain()
        except Exception:  # pragma: no cover - conversion failures are bugs
            logger.exception("roomcast: cannot read events from the core")
            return
        self._queue.extend(events)
        if not self._resume_scheduled:
            self._process()

    def drain_here(self) -> None:
        """Handles, now, what a call on the loop thread has just queued (an ASGI WebSocket's
        message, decoded during its push), as the wake-up would on the next loop turn."""
        self._context.run(self.drain)

    def flush(self) -> None:
        """Handles everything queued now, without yielding to the loop (at shutdown)."""
        try:
            self._queue.extend(self._native.drain())
        except Exception:  # pragma: no cover - conversion failures are bugs
            logger.exception("roomcast: cannot read events from the core")
        loop, self.loop = self.loop, None  # no yielding: nothing else will run these
        try:
            self._process()
        finally:
            self.loop = loop

    def _process(self) -> None:
        self._resume_scheduled = False
        queue, table = self._queue, self._table
        while queue:
            ev = queue.popleft()
            self._yield = False
            try:
                table[ev[0]](ev)
            except Exception:
                logger.exception("roomcast: error while handling %s", _describe(ev))
            if self._yield and queue and self.loop is not None:
                # Let the task just started (or the waiter just resolved) run first.
                self._resume_scheduled = True
                self.loop.call_soon(self._process)
                return

    def _unknown(self, ev: tuple[Any, ...]) -> None:
        logger.debug("roomcast: ignoring event kind %s", ev[0])

    # ---- running handlers -------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        """Runs an awaitable as a task of the loop, keeping a reference until it ends."""
        loop = self.loop
        if loop is None:  # pragma: no cover - only if detached mid-batch
            loop = asyncio.get_event_loop()
        task = loop.create_task(_as_coroutine(coro))
        self._yield = True
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def run(
        self,
        fn: Callable[..., Any],
        args: Iterable[Any],
        then: Callable[[Any], None] | None,
        what: str,
        failed: Callable[[], None] | None = None,
    ) -> None:
        """Calls a handler, sync or async; an exception is logged and isolated (``failed``
        runs then). ``then`` gets the return value when it succeeded."""
        try:
            result = fn(*args)
        except Exception:
            logger.exception("roomcast: %s %s raised", what, _name(fn))
            if failed is not None:
                failed()
            return
        if type(result) is types.CoroutineType and _completes_at_once(result.cr_code):
            # An ``async def`` that never awaits finishes in its first step: run that step
            # now, as a task's would run first, without the cost of a task.
            try:
                result = contextvars.copy_context().run(_first_step, result)
            except Exception:
                logger.exception("roomcast: %s %s raised", what, _name(fn))
                if failed is not None:
                    failed()
                return
            if then is not None:
                then(result)
        elif inspect.isawaitable(result):
            self.spawn(self._finish(result, then, what, fn, failed))
        elif then is not None:
            then(result)

    async def _finish(
        self,
        awaitable: Any,
        then: Callable[[Any], None] | None,
        what: str,
        fn: Any,
        failed: Callable[[], None] | None,
    ) -> None:
        try:
            result = await awaitable
        except Exception:
            logger.exception("roomcast: %s %s raised", what, _name(fn))
            if failed is not None:
                failed()
            return
        if then is not None:
            then(result)

    def run_all(self, handlers: list[Callable[..., Any]], args: tuple[Any, ...], done: Callable[[], None] | None, what: str) -> None:
        """Calls every handler; ``done`` runs once all have finished (async ones included)."""
        waiting = []
        for fn in handlers:
            try:
                result = fn(*args)
            except Exception:
                logger.exception("roomcast: %s %s raised", what, _name(fn))
                continue
            if inspect.isawaitable(result):
                waiting.append((fn, result))
        if not waiting:
            if done is not None:
                done()
            return
        self.spawn(self._finish_all(waiting, done, what))

    async def _finish_all(self, waiting: list[tuple[Any, Any]], done: Callable[[], None] | None, what: str) -> None:
        try:
            for fn, awaitable in waiting:
                try:
                    await awaitable
                except Exception:
                    logger.exception("roomcast: %s %s raised", what, _name(fn))
        finally:
            if done is not None:
                done()

    # ---- completions (acks, fetch_sockets, HTTP answers) ------------------------------

    def expect(self, convert: Callable[..., None]) -> tuple[int, Any]:
        """A token for an operation and the future its completion resolves. ``convert(fut,
        *payload)`` resolves the future from the completion tuple."""
        token = next(self._tokens)
        fut: Any
        if self.on_loop_thread():
            assert self.loop is not None
            fut = self.loop.create_future()
        else:
            fut = concurrent.futures.Future()
        self._pending[token] = (fut, convert)
        return token, fut

    def fail(self, token: int, error: BaseException) -> None:
        entry = self._pending.pop(token, None)
        if entry is not None:
            _resolve(entry[0], error=error)

    def forget(self, token: int) -> None:
        self._pending.pop(token, None)

    def fail_all(self, error_factory: Callable[[], BaseException]) -> None:
        pending, self._pending = self._pending, {}
        for fut, _ in pending.values():
            _resolve(fut, error=error_factory())

    def _completed(self, ev: tuple[Any, ...]) -> None:
        entry = self._pending.pop(ev[1], None)
        if entry is None:
            return
        fut, convert = entry
        if fut.done():
            return
        self._yield = True
        try:
            convert(fut, *ev[2:])
        except Exception as e:  # a conversion error reaches the waiter, not the loop
            _resolve(fut, error=e)

    # ---- lifecycle events -------------------------------------------------------------

    def _authorize(self, ev: tuple[Any, ...]) -> None:
        _, handler_id, native_socket, reply = ev
        server = self._server
        owner = server._handlers.get(handler_id)
        if owner is None:
            reply.done()
            return
        socket = server._new_socket(native_socket)
        # Kept for the connection handler (middlewares may set attributes on the socket).
        server._authorizing[socket.id] = socket
        chain = list(owner._middlewares)
        self._run_chain(socket, chain, 0, reply)

    def _run_chain(self, socket: Socket, chain: list[Callable[..., Any]], start: int, reply: Any) -> None:
        for i in range(start, len(chain)):
            try:
                result = chain[i](socket)
            except Exception as e:
                self._refuse(socket, reply, e, chain[i])
                return
            if inspect.isawaitable(result):
                self.spawn(self._chain_async(socket, chain, i, result, reply))
                return
        reply.done()
        if self.loop is not None:
            # Normally the connection event takes it within milliseconds; if the client left
            # meanwhile, no event comes and this timer drops it.
            self._expiry[socket.id] = self.loop.call_later(_AUTHORIZED_TTL, self._expire, socket.id)

    def _expire(self, sid: str) -> None:
        self._expiry.pop(sid, None)
        self._server._authorizing.pop(sid, None)

    async def _chain_async(self, socket: Socket, chain: list[Any], i: int, awaitable: Any, reply: Any) -> None:
        try:
            await awaitable
        except Exception as e:
            self._refuse(socket, reply, e, chain[i])
            return
        self._run_chain(socket, chain, i + 1, reply)

    def _refuse(self, socket: Socket, reply: Any, error: Exception, fn: Any) -> None:
        self._server._authorizing.pop(socket.id, None)
        if isinstance(error, ConnectionRefused):
            data = None if error.data is None else _codec.dumps(error.data)
            reply.refuse(str(error.message), data)
            return
        logger.error("roomcast: middleware %s raised", _name(fn), exc_info=error)
        # Unexpected errors are not shown to clients; the log has them.
        reply.refuse("server error", None)

    def _namespace_removed(self, ev: tuple[Any, ...]) -> None:
        """The core removed or evicted a dynamic child (``cleanup_empty_child_namespaces``, or
        ``max_child_namespaces`` reached): its wrapper goes too, unless it already wraps a
        fresh child of the same name (children hold no handlers of their own)."""
        _, name, removed = ev
        server = self._server
        with server._lock:
            nsp = server._namespaces.get(name)
            if nsp is not None and nsp.parent is not None and nsp._native.key == removed.key:
                del server._namespaces[name]

    def _connection(self, ev: tuple[Any, ...]) -> None:
        _, handler_id, native_socket, reply = ev
        server = self._server
        owner = server._handlers.get(handler_id)
        timer = self._expiry.pop(native_socket.id, None)
        if timer is not None:
            timer.cancel()
        socket = server._authorizing.pop(native_socket.id, None) or server._new_socket(native_socket)
        server._sockets[socket.id] = socket
        socket.nsp._sockets[socket.id] = socket
        handlers = list(owner._connection_handlers) if owner is not None else []
        # CONNECT goes out now, with the handlers run before this loop does anything else.
        native_socket.announce()
        self.run_all(handlers, (socket,), reply.done, "connection handler")

    def _event(self, ev: tuple[Any, ...]) -> None:
        socket = self._server._sockets.get(ev[1])
        if socket is not None:
            socket._receive(ev[2], ev[3], ev[4], ev[5])

    def _disconnecting(self, ev: tuple[Any, ...]) -> None:
        _, sid, reason, reply = ev
        socket = self._server._sockets.get(sid)
        if socket is None or not socket._disconnecting_handlers:
            reply.done()
            return
        self.run_all(list(socket._disconnecting_handlers), (reason,), reply.done, "disconnecting handler")

    def _disconnect(self, ev: tuple[Any, ...]) -> None:
        _, sid, reason = ev
        server = self._server
        socket = server._sockets.pop(sid, None)
        if socket is None:
            return
        socket.nsp._sockets.pop(sid, None)
        socket._backlog = None
        if socket._disconnect_handlers:
            self.run_all(list(socket._disconnect_handlers), (reason,), None, "disconnect handler")
        if not server._sockets:
            server._all_gone()

    def _match(self, ev: tuple[Any, ...]) -> None:
        _, matcher_id, name, auth_json, reply = ev
        parent = self._server._matchers.get(matcher_id)
        if parent is None:
            reply.refuse("", None)
            return
        try:
            auth = _codec.loads(auth_json) if auth_json else {}
        except ValueError:
            auth = {}

        def answer(ok: Any) -> None:
            if ok:
                reply.done()
            else:
                reply.refuse("", None)

        self.run(parent._matches, (name, auth), answer, "namespace matcher", failed=lambda: reply.refuse("", None))

    def _outgoing(self, ev: tuple[Any, ...]) -> None:
        socket = self._server._sockets.get(ev[1])
        if socket is None or not socket._any_outgoing:
            return
        args = _codec.decode(ev[3], ev[4])
        for fn in list(socket._any_outgoing):
            self.run(fn, (ev[2], *args), None, "outgoing listener")

    def _allow_request(self, ev: tuple[Any, ...]) -> None:
        _, request, reply = ev
        hook = self._server._allow_request
        if hook is None:
            reply.done()
            return

        self._verdict(hook, request, reply, "allow_request hook")

    def _verdict(self, fn: Callable[..., Any], arg: Any, reply: Any, what: str) -> None:
        """Runs a yes/no hook (sync or async); its truthiness answers ``reply``, a raise
        refuses."""

        def answer(ok: Any) -> None:
            if ok:
                reply.done()
            else:
                reply.refuse("", None)

        self.run(fn, (arg,), answer, what, failed=lambda: reply.refuse("", None))

    def _admin_auth(self, ev: tuple[Any, ...]) -> None:
        _, auth_json, reply = ev
        check = self._server._admin_auth
        try:
            auth = json.loads(auth_json)
        except ValueError:
            auth = None
        if check is None:
            reply.refuse("", None)
            return
        self._verdict(check, auth, reply, "admin UI auth")

    def _server_side(self, ev: tuple[Any, ...]) -> None:
        _, handler_id, _nsp, name, json_text, binaries, ack = ev
        owner = self._server._handlers.get(handler_id)
        fn = owner._server_side_handlers.get(name) if owner is not None else None
        if fn is None:
            return
        args = _codec.decode(json_text, binaries)

        def answer(result: Any) -> None:
            if ack is not None:
                encoded, attachments = _codec.encode(_codec.pack(result))
                ack.send(encoded, attachments)

        self.run(fn, args, answer, f"server-side handler of {name!r}:")

    def _new_namespace(self, ev: tuple[Any, ...]) -> None:
        server = self._server
        if not server._new_namespace_handlers:
            return
        live = self._native.find_namespace(ev[1])
        if live is None:
            # A child removed or evicted before this event was handled: asking for it by name
            # would create a static namespace of that name.
            return
        nsp = server._namespace_for(ev[1], live.key)
        for fn in list(server._new_namespace_handlers):
            self.run(fn, (nsp,), None, "new_namespace handler")


# Opcodes through which a coroutine can suspend (await, async for, async with).
_SUSPENDING = frozenset(
    op
    for op in ("YIELD_VALUE", "SEND", "GET_AWAITABLE", "BEFORE_ASYNC_WITH", "GET_AITER", "GET_ANEXT",
               "END_ASYNC_FOR", "ASYNC_GEN_WRAP")
    if op in dis.opmap
)


@functools.lru_cache(maxsize=1024)
def _completes_at_once(code: types.CodeType) -> bool:
    """Whether a coroutine of ``code`` can never suspend: no await, async for or async with."""
    return not any(i.opname in _SUSPENDING for i in dis.get_instructions(code))


def _first_step(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError(f"coroutine {coro.__qualname__} suspended although it has no await")


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _describe(ev: tuple[Any, ...]) -> str:
    names = {
        _native.EV_AUTHORIZE: "a middleware call",
        _native.EV_CONNECTION: "a connection",
        _native.EV_EVENT: "an event",
        _native.EV_DISCONNECTING: "a disconnecting socket",
        _native.EV_DISCONNECT: "a disconnect",
        _native.EV_MATCH: "a namespace match",
        _native.EV_OUTGOING: "an outgoing event",
        _native.EV_NEW_NAMESPACE: "a new namespace",
        _native.EV_NAMESPACE_REMOVED: "a removed namespace",
    }
    return names.get(ev[0], "a completion")


def resolve_ack(fut: Any, error: str | None, json_text: str | None, binaries: list[bytes] | None) -> None:
    """Completion of ``socket.emit_with_ack``."""
    if error == "timeout":
        _resolve(fut, error=AckTimeout())
    elif error is not None:
        _resolve(fut, error=Disconnected("the socket disconnected before it acknowledged"))
    else:
        _resolve(fut, _codec.unpack(_codec.decode(json_text or "[]", binaries)))


def resolve_broadcast_ack(fut: Any, timed_out: bool, responses: list[tuple[str, list[bytes] | None]]) -> None:
    """Completion of a broadcast ``emit_with_ack``."""
    values = [_codec.unpack(_codec.decode(j, b)) for j, b in responses]
    if timed_out:
        _resolve(fut, error=AckTimeout(responses=values))
    else:
        _resolve(fut, values)


def resolve_value(fut: Any, value: Any = None) -> None:
    """Completion that carries its value as is (HTTP answers, WebSocket batches, close)."""
    _resolve(fut, value)


def closed_error() -> BaseException:
    return ServerClosed("the server was closed before the operation finished")
