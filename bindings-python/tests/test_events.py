"""Handlers (sync and async), acknowledgements both ways, catch-alls, packet middlewares and
exception isolation, with python-socketio's AsyncClient."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import roomcast
from conftest import collector, within


async def test_sync_and_async_handlers_answer_acks(harness: Any, transport: str) -> None:
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("add")
        def add(a: int, b: int) -> int:
            return a + b

        @socket.on("slow-add")
        async def slow_add(a: int, b: int) -> int:
            await asyncio.sleep(0.01)
            return a + b

    url = await harness.start(io)
    c = await harness.client(url, transport)
    assert await c.call("add", (2, 3), timeout=5) == 5
    assert await c.call("slow-add", (4, 5), timeout=5) == 9


async def test_async_connection_handler_misses_no_event(harness: Any, transport: str) -> None:
    io = harness.server()
    seen: list[int] = []

    @io.on("connection")
    async def connect(socket: roomcast.Socket) -> None:
        await asyncio.sleep(0.05)
        socket.on("n", lambda i: seen.append(i) or i)

    url = await harness.start(io)
    c = await harness.client(url, transport)
    for i in range(5):
        await c.emit("n", i)
    assert await c.call("n", 5, timeout=5) == 5
    assert seen == [0, 1, 2, 3, 4, 5]


async def test_return_values_map_to_ack_arguments(harness: Any) -> None:
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("none", lambda: None)
        socket.on("one", lambda: [1, 2])
        socket.on("many", lambda: ("a", 1, {"b": None}))
        socket.on("wants", lambda *a: roomcast.ack_requested())

        @socket.on("wants-async")
        async def wants_async() -> bool:
            await asyncio.sleep(0)
            return roomcast.ack_requested()

    url = await harness.start(io)
    c = await harness.client(url)
    assert await c.call("none", timeout=5) is None
    assert await c.call("one", timeout=5) == [1, 2]
    assert await c.call("many", timeout=5) == ("a", 1, {"b": None})
    assert await c.call("wants", timeout=5) is True
    assert await c.call("wants-async", timeout=5) is True


async def test_tuples_are_several_arguments(harness: Any) -> None:
    io = harness.server()
    got: list[Any] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on("args", lambda *args: got.append(args) or len(args))
        socket.emit("three", 1, "two", [3])

    url = await harness.start(io)
    three = asyncio.get_running_loop().create_future()
    c = await harness.client(url, handlers={"three": lambda *a: three.set_result(a)})
    assert await within(three) == (1, "two", [3])
    assert await c.call("args", (1, 2, 3), timeout=5) == 3
    assert got == [(1, 2, 3)]


async def test_server_to_client_acks(harness: Any, transport: str) -> None:
    io = harness.server()
    results: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        async def ask() -> None:
            one = await socket.emit_with_ack("double", 21, timeout=5)
            many = await socket.emit_with_ack("pair", timeout=5)
            try:
                await socket.emit_with_ack("silent", timeout=0.1)
            except roomcast.AckTimeout as e:
                timed_out = str(e)
            results.set_result((one, many, timed_out))

        socket.on("go", lambda: asyncio.ensure_future(ask()) and None)

    async def late() -> str:
        # python-socketio always answers; answering after the timeout must change nothing.
        await asyncio.sleep(0.3)
        return "too late"

    url = await harness.start(io)
    c = await harness.client(
        url, transport, handlers={"double": lambda x: x * 2, "pair": lambda: ("x", "y"), "silent": late}
    )
    await c.emit("go")
    one, many, timed_out = await within(results)
    assert one == 42
    assert many == ("x", "y")
    assert timed_out == "operation has timed out"


async def test_ack_fails_when_the_socket_disconnects(harness: Any) -> None:
    io = harness.server()
    outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        async def ask() -> None:
            try:
                await socket.emit_with_ack("never")
            except roomcast.Disconnected as e:
                outcome.set_result(type(e))

        asyncio.ensure_future(ask())

    url = await harness.start(io)
    received = asyncio.Event()

    async def never() -> None:  # python-socketio answers when the handler returns: never
        received.set()
        await asyncio.sleep(3600)

    c = await harness.client(url, handlers={"never": never})
    await within(received.wait())
    await c.disconnect()
    assert await within(outcome) is roomcast.Disconnected


async def test_on_any_and_packet_middlewares(harness: Any) -> None:
    io = harness.server()
    seen: list[Any] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.on_any(lambda event, *args: seen.append((event, args)))

        @socket.use
        async def slow_check(event: str, args: list[Any]) -> None:
            await asyncio.sleep(0.01)
            if event == "forbidden":
                raise PermissionError("no way")
            args.append("checked")

        socket.on("error", lambda err: socket.emit("refused", str(err)))
        socket.on("echo", lambda *args: args)

    url = await harness.start(io)
    refused = asyncio.get_running_loop().create_future()
    c = await harness.client(url, handlers={"refused": lambda m: refused.set_result(m)})
    await c.emit("forbidden", 1)
    # Order holds across the async middleware: each answer comes back in turn.
    answers = await asyncio.gather(*(c.call("echo", i, timeout=5) for i in range(3)))
    assert answers == [(0, "checked"), (1, "checked"), (2, "checked")]
    assert await within(refused) == "no way"
    assert seen == [("echo", (i, "checked")) for i in range(3)]


async def test_exceptions_are_logged_and_isolated(harness: Any, caplog: pytest.LogCaptureFixture) -> None:
    io = harness.server()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("boom")
        def boom() -> None:
            raise ValueError("sync boom")

        @socket.on("aboom")
        async def aboom() -> None:
            await asyncio.sleep(0)
            raise ValueError("async boom")

        socket.on("ping", lambda: "pong")
        raise RuntimeError("connection handler boom")

    url = await harness.start(io)
    with caplog.at_level(logging.ERROR, logger="roomcast"):
        a = await harness.client(url)
        b = await harness.client(url)
        await a.emit("boom")
        await a.emit("aboom")
        assert await a.call("ping", timeout=5) == "pong"
        assert await b.call("ping", timeout=5) == "pong"
        await asyncio.sleep(0.05)
    messages = [r.getMessage() + str(r.exc_info[1] if r.exc_info else "") for r in caplog.records if r.name == "roomcast"]
    assert any("sync boom" in m for m in messages)
    assert any("async boom" in m for m in messages)
    assert any("connection handler boom" in m for m in messages)
    assert a.connected and b.connected


async def test_reserved_event_names_are_refused(harness: Any) -> None:
    io = harness.server()
    errors: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        try:
            socket.emit("disconnect")
        except roomcast.EmitError as e:
            errors.set_result(str(e))

    url = await harness.start(io)
    await harness.client(url)
    assert "reserved" in await within(errors)
    with pytest.raises(roomcast.EmitError):
        io.emit("connect")


async def test_unserialisable_values_raise_type_error(harness: Any) -> None:
    io = harness.server()
    with pytest.raises(TypeError):
        io.emit("x", object())


async def test_disconnect_and_reasons(harness: Any, transport: str) -> None:
    io = harness.server()
    reasons: list[tuple[str, str, list[str]]] = []
    gone = asyncio.Event()

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.join("room")

        @socket.on("disconnecting")
        async def disconnecting(reason: str) -> None:
            await asyncio.sleep(0.01)
            reasons.append(("disconnecting", reason, sorted(socket.rooms)))

        @socket.on("disconnect")
        def disconnect(reason: str) -> None:
            reasons.append(("disconnect", reason, sorted(socket.rooms)))
            gone.set()

        socket.on("kick", lambda close: socket.disconnect(close) and None)

    url = await harness.start(io)
    c = await harness.client(url, transport)
    sid = c.get_sid("/")
    await c.emit("kick", False)
    await within(gone.wait())
    assert reasons == [
        ("disconnecting", "server namespace disconnect", sorted([sid, "room"])),
        ("disconnect", "server namespace disconnect", []),
    ]
    reasons.clear()
    gone.clear()
    c2 = await harness.client(url, transport)
    await c2.disconnect()
    await within(gone.wait())
    # python-socketio may close its transport before the DISCONNECT packet is written.
    reason = reasons[0][1]
    assert reason in ("client namespace disconnect", "transport close")
    assert [r[:2] for r in reasons] == [("disconnecting", reason), ("disconnect", reason)]


async def test_async_handlers_that_never_await_keep_task_semantics(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An ``async def`` without await runs its only step at once (no task); what a task
    would isolate stays isolated."""
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("test_var", default="unset")
    io = harness.server()
    seen: list[Any] = []

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        @socket.on("set")
        async def set_var(value: str) -> list[Any]:
            var.set(value)
            return [roomcast.ack_requested(), var.get()]

        @socket.on("get")
        def get_var() -> str:
            return var.get()

        @socket.on("fail")
        async def fail() -> None:
            raise ValueError("no await, still logged")

        @socket.on("note")
        async def note(n: int) -> None:
            seen.append(n)

    url = await harness.start(io)
    c = await harness.client(url)
    assert await c.call("set", "x", timeout=5) == [True, "x"]
    assert await c.call("get", timeout=5) == "unset"  # the handler's context did not leak
    with caplog.at_level(logging.ERROR, logger="roomcast"):
        with pytest.raises(Exception):
            await c.call("fail", timeout=0.5)
    assert "no await, still logged" in caplog.text
    for n in range(5):
        await c.emit("note", n)
    assert await c.call("get", timeout=5) == "unset"
    assert seen == [0, 1, 2, 3, 4]
