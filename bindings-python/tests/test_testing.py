"""roomcast.testing: servers on free ports with connected python-socketio clients, as an
async context manager and as a pytest fixture; for roomcast.socketio, roomcast's own API and
an ASGI app (FastAPI next to Socket.IO) under uvicorn."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import socketio as real_socketio
from fastapi import FastAPI

import roomcast
import roomcast.socketio as socketio
from conftest import port_is_free, within
from roomcast.testing import TestServer, serve, socketio_serve  # noqa: F401 - the fixture


def chat_app() -> socketio.AsyncServer:
    sio = socketio.AsyncServer()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> Any:
        if auth != {"token": "ok"}:
            raise socketio.ConnectionRefusedError("bad token")
        return None

    @sio.event
    async def join(sid: str, room: str) -> str:
        await sio.enter_room(sid, room)
        return room

    @sio.event
    async def say(sid: str, room: str, text: str) -> None:
        await sio.emit("said", text, room=room, skip_sid=sid)

    return sio


async def test_context_manager_yields_connected_clients(transport: str) -> None:
    sio = chat_app()
    heard: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    async with serve(sio, clients=2, transport=transport, auth={"token": "ok"}) as t:
        a, b = t.clients
        b.on("said", lambda text: heard.set_result(text))
        assert a.transport() == transport
        assert await a.call("join", "lobby", timeout=5) == "lobby"
        assert await b.call("join", "lobby", timeout=5) == "lobby"
        await a.emit("say", ("lobby", "hello"))
        assert await within(heard) == "hello"
        with pytest.raises(real_socketio.exceptions.ConnectionError):
            await t.client(auth={"token": "wrong"})
        port = t.port
    assert not a.connected and not b.connected
    assert sio.io.closed and port_is_free(port)


async def test_fixture_with_roomcast_own_api(socketio_serve: Any) -> None:
    io = roomcast.Server()

    @io.on("connection")
    def on_connection(socket: roomcast.Socket) -> None:
        socket.on("ping", lambda n: n + 1)

    t: TestServer = await socketio_serve(io, clients=1)
    assert await t.clients[0].call("ping", 41, timeout=5) == 42


async def test_fixture_with_an_asgi_app_reused_across_tests(socketio_serve: Any) -> None:
    sio = chat_app()
    api = FastAPI()

    @api.get("/rooms/{room}")
    async def post(room: str, text: str) -> dict[str, bool]:
        await sio.emit("said", text, room=room)
        return {"ok": True}

    app = socketio.ASGIApp(sio, api)
    for _ in range(2):  # a module-level app serves test after test: not closed in between
        heard: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        async with serve(app, auth={"token": "ok"}) as t:
            c = await t.client(handlers={"said": lambda text, heard=heard: heard.set_result(text)})
            await c.call("join", "news", timeout=5)
            async with httpx.AsyncClient() as http:
                r = await http.get(f"{t.url}/rooms/news", params={"text": "extra"})
            assert r.json() == {"ok": True}
            assert await within(heard) == "extra"
        assert not sio.io.closed
    t2: TestServer = await socketio_serve(app, clients=1, auth={"token": "ok"})
    assert t2.clients[0].connected
