"""instrument(): the Socket.IO admin UI's namespace from Python, with python-socketio's forms of
``auth`` (a dict, a list of dicts, a callable, ``False``) and its errors, driven by
python-socketio's client as the UI would log in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio as real_socketio

import roomcast
import roomcast.socketio as socketio
from conftest import Client, Harness, within


async def admin_client(h: Harness, url: str, auth: Any) -> tuple[Client, asyncio.Queue[tuple[str, Any]]]:
    """Logs in to /admin; every event the server sends lands in the queue."""
    c = Client(reconnection=False)
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def any_event(event: str, *args: Any) -> None:
        await events.put((event, args))

    c.on("*", any_event, namespace="/admin")
    h.clients.append(c)
    await c.connect(url, namespaces=["/admin"], auth=auth, transports=["websocket"], wait_timeout=5)
    return c, events


async def next_event(events: asyncio.Queue[tuple[str, Any]], name: str) -> Any:
    async def find() -> Any:
        while True:
            event, args = await events.get()
            if event == name:
                return args

    return await within(find(), 8)


async def refused(h: Harness, url: str, auth: Any) -> None:
    with pytest.raises(real_socketio.exceptions.ConnectionError):
        await admin_client(h, url, auth)


async def test_dict_and_list_credentials_compare_the_whole_payload(harness: Harness) -> None:
    io = harness.server()
    io.instrument(auth=[{"username": "a", "password": "1"}, {"username": "b", "password": "2"}])
    url = await harness.start(io)
    _, events = await admin_client(harness, url, {"username": "b", "password": "2"})
    (config,) = await next_event(events, "config")
    assert "ALL_EVENTS" in config["supportedFeatures"]
    await refused(harness, url, {"username": "b", "password": "1"})
    await refused(harness, url, {"username": "a", "password": "1", "extra": True})


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_callable_decides_with_the_login_payload(harness: Harness, kind: str) -> None:
    seen: list[Any] = []

    def check(auth: Any) -> bool:
        seen.append(auth)
        return isinstance(auth, dict) and auth.get("token") == "ok"

    async def acheck(auth: Any) -> bool:
        await asyncio.sleep(0)
        return check(auth)

    io = harness.server()
    io.instrument(auth=check if kind == "sync" else acheck, mode="production")
    url = await harness.start(io)
    _, events = await admin_client(harness, url, {"token": "ok"})
    (config,) = await next_event(events, "config")
    assert config["supportedFeatures"][-1] == "AGGREGATED_EVENTS", "production mode"
    await refused(harness, url, {"token": "nope"})
    assert seen == [{"token": "ok"}, {"token": "nope"}]


async def test_a_raising_callable_refuses_and_the_server_goes_on(harness: Harness, caplog: Any) -> None:
    def broken(auth: Any) -> bool:
        raise RuntimeError("auth backend down")

    io = harness.server()
    io.instrument(auth=broken)
    url = await harness.start(io)
    await refused(harness, url, {})
    assert "auth backend down" in caplog.text
    await harness.client(url)  # other namespaces are unaffected


async def test_stats_come_at_the_interval_asked_for(harness: Harness) -> None:
    io = harness.server()
    io.instrument(auth=False, server_id="py-node", server_stats_interval=0.2)
    url = await harness.start(io)
    user = await harness.client(url, transport="polling")
    _, events = await admin_client(harness, url, {})
    (sockets,) = await next_event(events, "all_sockets")
    assert any(s["id"] == user.get_sid("/") and s["transport"] == "polling" for s in sockets)
    (stats,) = await next_event(events, "server_stats")
    assert stats["serverId"] == "py-node"
    assert stats["clientsCount"] >= 2 and stats["pollingClientsCount"] >= 1


def test_bad_options_are_refused_with_their_name() -> None:
    io = roomcast.Server()
    try:
        with pytest.raises(ValueError, match="auth must be specified"):
            io.instrument()
        with pytest.raises(TypeError, match="auth must be"):
            io.instrument(auth="secret")
        with pytest.raises(ValueError, match="mode"):
            io.instrument(auth=False, mode="dev")
        with pytest.raises(ValueError, match="bcrypt"):
            io.instrument(auth={"type": "basic", "username": "admin", "password": "plain text"})
        with pytest.raises(ValueError, match="server_stats_interval"):
            io.instrument(auth=False, server_stats_interval=0)
        io.instrument(auth=False)
        with pytest.raises(ValueError, match="already instrumented"):
            io.instrument(auth=False)
    finally:
        io.close()


async def test_python_socketio_front_door_instruments_too(harness: Harness) -> None:
    sio = socketio.AsyncServer(async_mode="asgi")
    sio.instrument(auth={"username": "admin", "password": "pw"}, read_only=True, server_stats_interval=0.2)
    port = await sio.start("127.0.0.1", 0)
    try:
        _, events = await admin_client(harness, f"http://127.0.0.1:{port}", {"username": "admin", "password": "pw"})
        (config,) = await next_event(events, "config")
        assert config["supportedFeatures"] == ["AGGREGATED_EVENTS", "ALL_EVENTS"]
        await next_event(events, "server_stats")
    finally:
        for c in harness.clients:
            await c.disconnect()
        harness.clients.clear()
        await sio.shutdown()
