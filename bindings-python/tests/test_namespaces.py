"""Namespaces: static, middlewares, dynamic (regex, predicate, async predicate)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import socketio

import roomcast
from conftest import Client, within


async def test_namespaces_and_seed_greeting(harness: Any, transport: str) -> None:
    io = harness.server()
    nsp = io.of("/my-namespace")

    @nsp.on("connection")
    def hi(socket: roomcast.Socket) -> None:
        nsp.emit("hi", "Hello everyone!")

    assert io.of("my-namespace") is nsp
    assert io.sockets is io.of("/")
    url = await harness.start(io)
    hello = asyncio.get_running_loop().create_future()
    c = Client(reconnection=False)
    harness.clients.append(c)
    c.on("hi", lambda msg: hello.set_result(msg), namespace="/my-namespace")
    await c.connect(url, transports=[transport], namespaces=["/my-namespace"], wait_timeout=5)
    assert await within(hello) == "Hello everyone!"
    assert len(nsp.sockets) == 1 and not io.sockets.sockets


async def test_middlewares_accept_and_refuse(harness: Any) -> None:
    io = harness.server()
    private = io.of("/private")
    calls: list[str] = []

    @private.use
    def first(socket: roomcast.Socket) -> None:
        calls.append("first")

    @private.use
    async def check(socket: roomcast.Socket) -> None:
        await asyncio.sleep(0.005)
        calls.append("check")
        if socket.auth.get("token") == "boom":
            raise KeyError("internal detail")
        if socket.auth.get("token") != "secret":
            raise roomcast.ConnectionRefused("unauthorized", data={"reason": "bad token"})

    @private.on("connection")
    def welcome(socket: roomcast.Socket) -> None:
        socket.emit("welcome", socket.handshake["auth"])

    url = await harness.start(io)

    errors: list[Any] = []
    bad = Client(reconnection=False)
    harness.clients.append(bad)
    bad.on("connect_error", lambda data: errors.append(data), namespace="/private")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bad.connect(url, transports=["websocket"], namespaces=["/private"], auth={"token": "nope"}, wait_timeout=5)
    assert errors and errors[0] == {"message": "unauthorized", "data": {"reason": "bad token"}}

    errors.clear()
    boom = Client(reconnection=False)
    harness.clients.append(boom)
    boom.on("connect_error", lambda data: errors.append(data), namespace="/private")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await boom.connect(url, transports=["websocket"], namespaces=["/private"], auth={"token": "boom"}, wait_timeout=5)
    assert errors and errors[0] == {"message": "server error"}

    welcome_msg = asyncio.get_running_loop().create_future()
    good = Client(reconnection=False)
    harness.clients.append(good)
    good.on("welcome", lambda auth: welcome_msg.set_result(auth), namespace="/private")
    await good.connect(url, transports=["websocket"], namespaces=["/private"], auth={"token": "secret"}, wait_timeout=5)
    assert await within(welcome_msg) == {"token": "secret"}
    assert calls == ["first", "check"] * 3


async def test_dynamic_namespaces(harness: Any) -> None:
    io = harness.server()
    by_regex = io.of(re.compile(r"/dyn-\d+"))
    by_predicate = io.of(lambda name, auth: name.startswith("/team-") and auth.get("ok") is True)

    async def slow_predicate(name: str, auth: dict[str, Any]) -> bool:
        await asyncio.sleep(0.005)
        return name.startswith("/later-")

    by_async = io.of(slow_predicate)
    created: list[str] = []
    io.on("new_namespace", lambda nsp: created.append(nsp.name))

    for parent, event in ((by_regex, "dyn"), (by_predicate, "team"), (by_async, "later")):

        def register(parent: roomcast.DynamicNamespace = parent, event: str = event) -> None:
            @parent.on("connection")
            def connected(socket: roomcast.Socket) -> None:
                socket.emit(event, socket.nsp.name)
                assert socket.nsp.parent is parent

        register()

    url = await harness.start(io)

    async def connect(name: str, auth: Any = None) -> Any:
        got = asyncio.get_running_loop().create_future()
        c = Client(reconnection=False)
        harness.clients.append(c)
        for ev in ("dyn", "team", "later"):
            c.on(ev, lambda n: got.set_result(n), namespace=name)
        await c.connect(url, transports=["websocket"], namespaces=[name], auth=auth, wait_timeout=5)
        return await within(got)

    assert await connect("/dyn-42") == "/dyn-42"
    assert await connect("/team-a", {"ok": True}) == "/team-a"
    assert await connect("/later-x") == "/later-x"
    for name, auth in (("/dyn-x", None), ("/team-b", {"ok": False}), ("/nope", None)):
        c = Client(reconnection=False)
        harness.clients.append(c)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect(url, transports=["websocket"], namespaces=[name], auth=auth, wait_timeout=5)
    await asyncio.sleep(0.05)
    assert sorted(created) == ["/dyn-42", "/later-x", "/team-a"]
    assert [n.name for n in by_regex.children] == ["/dyn-42"]
    assert io.get_namespace("/dyn-42") is io.of("/dyn-42")
    assert io.get_namespace("/dyn-7") is None
    with pytest.raises(TypeError):
        io.of("/dyn-42").on("connection", lambda s: None)


async def test_removed_dynamic_children_come_back(harness: Any) -> None:
    io = harness.server(cleanup_empty_child_namespaces=True)
    parent = io.of(re.compile(r"/room-\d+"))
    namespaces: list[roomcast.Namespace] = []

    @parent.on("connection")
    def connected(socket: roomcast.Socket) -> None:
        namespaces.append(socket.nsp)
        socket.on("shout", lambda text: socket.nsp.emit("heard", text) or True)

    url = await harness.start(io)
    for round_ in range(2):
        heard = asyncio.get_running_loop().create_future()
        c = Client(reconnection=False)
        harness.clients.append(c)
        c.on("heard", lambda t: heard.set_result(t), namespace="/room-1")
        await c.connect(url, transports=["websocket"], namespaces=["/room-1"], wait_timeout=5)
        assert await c.call("shout", f"round {round_}", namespace="/room-1", timeout=5) is True
        assert await within(heard) == f"round {round_}"
        await c.disconnect()
        deadline = asyncio.get_running_loop().time() + 5
        while io.get_namespace("/room-1") is not None:
            assert asyncio.get_running_loop().time() < deadline, "the empty child was not removed"
            await asyncio.sleep(0.02)
    assert namespaces[0] is not namespaces[1]


async def test_refused_dynamic_connects_leave_no_namespace(harness: Any) -> None:
    io = harness.server(max_child_namespaces=50)
    dynamic = io.of(re.compile(r"/dyn-.*"))

    @dynamic.use
    async def only_members(socket: roomcast.Socket) -> None:
        await asyncio.sleep(0)
        if socket.nsp.name.startswith("/dyn-no-"):
            raise roomcast.ConnectionRefused("not a member")

    url = await harness.start(io)
    before = io.stats()["namespaces"]
    for i in range(60):  # more than max_child_namespaces: refused children do not count
        errors: list[Any] = []
        c = Client(reconnection=False)
        harness.clients.append(c)
        c.on("connect_error", lambda data: errors.append(data), namespace=f"/dyn-no-{i}")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect(url, transports=["websocket"], namespaces=[f"/dyn-no-{i}"], wait_timeout=5)
        assert errors == [{"message": "not a member"}]
        await c.disconnect()
    assert io.stats()["namespaces"] == before
    assert not [name for name in io._namespaces if name.startswith("/dyn-no-")]

    # A name the Redis adapter's patterns would misread is refused before any matcher.
    errors = []
    c = Client(reconnection=False)
    harness.clients.append(c)
    c.on("connect_error", lambda data: errors.append(data), namespace="/dyn-*")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect(url, transports=["websocket"], namespaces=["/dyn-*"], wait_timeout=5)
    assert errors and errors[0]["message"] == "Invalid namespace"
    assert io.stats()["namespaces"] == before
