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


async def _refused(harness: Any, url: str, nsp: str) -> list[Any]:
    """The connect_error payloads of one client refused at ``nsp``."""
    errors: list[Any] = []
    c = Client(reconnection=False)
    harness.clients.append(c)
    c.on("connect_error", lambda data: errors.append(data), namespace=nsp)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect(url, transports=["websocket"], namespaces=[nsp], wait_timeout=5)
    await c.disconnect()
    return errors


async def _probe(harness: Any, url: str) -> None:
    """A CONNECT no dynamic parent accepts: Python answers the match after every event the
    core queued before it (removal notices)."""
    assert (await _refused(harness, url, "/probe-matches-no-parent"))[0]["message"] == "Invalid namespace"


def _members_server(harness: Any, **options: Any) -> Any:
    io = harness.server(**options)
    dynamic = io.of(re.compile(r"/dyn-.*"))

    @dynamic.use
    async def only_members(socket: roomcast.Socket) -> None:
        await asyncio.sleep(0)
        if socket.nsp.name.startswith("/dyn-no-"):
            raise roomcast.ConnectionRefused("not a member")

    return io


def _children(io: Any) -> list[str]:
    return sorted(name for name in io._namespaces if name.startswith("/dyn-"))


async def test_a_refused_dynamic_child_stays_as_in_socketio(harness: Any) -> None:
    io = _members_server(harness)
    url = await harness.start(io)
    before = io.stats()["namespaces"]
    for i in range(3):
        assert await _refused(harness, url, f"/dyn-no-{i}") == [{"message": "not a member"}]
    await _probe(harness, url)
    assert io.stats()["namespaces"] == before + 3
    assert _children(io) == ["/dyn-no-0", "/dyn-no-1", "/dyn-no-2"]
    for i in range(3):
        child = io.get_namespace(f"/dyn-no-{i}")
        assert child is not None and not child.sockets

    # A name the Redis adapter's patterns would misread is refused before any matcher.
    errors = await _refused(harness, url, "/dyn-*")
    assert errors and errors[0]["message"] == "Invalid namespace"
    assert io.stats()["namespaces"] == before + 3


async def test_a_refused_dynamic_child_goes_with_cleanup(harness: Any) -> None:
    io = _members_server(harness, cleanup_empty_child_namespaces=True)
    url = await harness.start(io)
    before = io.stats()["namespaces"]
    for i in range(3):
        assert await _refused(harness, url, f"/dyn-no-{i}") == [{"message": "not a member"}]
    await _probe(harness, url)
    assert io.stats()["namespaces"] == before
    assert _children(io) == []


async def test_refused_children_beyond_the_cap_evict_the_oldest_unjoined(harness: Any) -> None:
    io = _members_server(harness, max_child_namespaces=5)
    url = await harness.start(io)
    before = io.stats()["namespaces"]
    member = Client(reconnection=False)
    harness.clients.append(member)
    await member.connect(url, transports=["websocket"], namespaces=["/dyn-member"], wait_timeout=5)
    await member.disconnect()
    for i in range(20):
        assert await _refused(harness, url, f"/dyn-no-{i}") == [{"message": "not a member"}], i
    await _probe(harness, url)
    assert io.stats()["namespaces"] == before + 5
    assert _children(io) == ["/dyn-member", "/dyn-no-16", "/dyn-no-17", "/dyn-no-18", "/dyn-no-19"]

    # A legitimate client still gets a new child; the oldest refused one made room.
    newcomer = Client(reconnection=False)
    harness.clients.append(newcomer)
    await newcomer.connect(url, transports=["websocket"], namespaces=["/dyn-new"], wait_timeout=5)
    await _probe(harness, url)
    assert io.stats()["namespaces"] == before + 5
    assert _children(io) == ["/dyn-member", "/dyn-new", "/dyn-no-17", "/dyn-no-18", "/dyn-no-19"]
