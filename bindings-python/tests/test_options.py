"""Server options beyond the basics: the allow_request hook, server-side events on one
server, recovery bookkeeping, option validation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import roomcast
from conftest import Client, within


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_allow_request_vets_handshakes(harness: Any, asynchronous: bool) -> None:
    seen: list[dict[str, Any]] = []

    def check(request: dict[str, Any]) -> bool:
        seen.append(request)
        return request["query"].get("token") == "ok"

    async def check_async(request: dict[str, Any]) -> bool:
        await asyncio.sleep(0.005)
        return check(request)

    io = harness.server(allow_request=check_async if asynchronous else check)
    url = await harness.start(io)
    async with httpx.AsyncClient() as http:
        refused = await http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert refused.status_code == 403
        allowed = await http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling", "token": "ok"})
        assert allowed.status_code == 200 and allowed.text.startswith("0{")
    c = Client(reconnection=False)
    harness.clients.append(c)
    await c.connect(f"{url}?token=ok", transports=["websocket"], wait_timeout=5)
    assert c.connected
    assert seen[0]["url"].startswith("/socket.io/") and "headers" in seen[0] and seen[0]["address"]


async def test_allow_request_exception_refuses(harness: Any) -> None:
    def broken(request: dict[str, Any]) -> bool:
        raise RuntimeError("hook bug")

    io = harness.server(allow_request=broken)
    url = await harness.start(io)
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert r.status_code == 403


async def test_single_server_cluster_operations(harness: Any) -> None:
    io = harness.server()
    io.on("hello", lambda *args: "never called on a single server")

    @io.on("connection")
    def connect(socket: roomcast.Socket) -> None:
        socket.join("r")
        socket.on("recovered", lambda: socket.recovered)

    url = await harness.start(io)
    c = await harness.client(url)
    io.server_side_emit("hello", 1)
    assert await within(io.server_side_emit_with_ack("hello", 1)) == []
    assert await within(io.sockets.all_rooms()) == {"r", c.get_sid("/")}
    assert await c.call("recovered", timeout=5) is False


async def test_recovery_and_parser_options_start(harness: Any) -> None:
    io = harness.server(connection_state_recovery=True, allow_eio3=True, parser="msgpack", http_compression=False)
    url = await harness.start(io)
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{url}/socket.io/", params={"EIO": "3", "transport": "polling"})
    assert r.status_code == 200


def test_invalid_options_are_reported() -> None:
    with pytest.raises(ValueError, match="transport"):
        roomcast.Server(transports=["carrier-pigeon"])
    with pytest.raises(ValueError, match="parser"):
        roomcast.Server(parser="xml")
    with pytest.raises(ValueError, match="adapter"):
        roomcast.Server(adapter="postgres")
    with pytest.raises(ValueError, match="path"):
        roomcast.Server(path="socket.io")
    with pytest.raises(ValueError, match="timeout"):
        roomcast.Server(ping_timeout=-1)
    with pytest.raises(ValueError, match="level"):
        roomcast.Server(per_message_deflate={"threshold": 10, "level": 12})
    with pytest.raises(ValueError, match="per_message_deflate"):
        roomcast.Server(per_message_deflate={"window": 9})
    with pytest.raises(TypeError):
        roomcast.Server(allow_request="yes")  # type: ignore[arg-type]


def test_sharded_adapter_options_are_checked() -> None:
    one = roomcast.RedisShardedAdapter("redis://127.0.0.1:7000")
    assert one.nodes == ("redis://127.0.0.1:7000",)
    assert one.subscription_mode == "dynamic"
    many = roomcast.RedisShardedAdapter(["redis://a:7000", "redis://b:7000"], subscription_mode="static")
    roomcast.Server(adapter=many)
    with pytest.raises(ValueError, match="subscription_mode"):
        roomcast.RedisShardedAdapter("redis://a:7000", subscription_mode="sometimes")
    with pytest.raises(ValueError, match="nodes"):
        roomcast.RedisShardedAdapter([])
    with pytest.raises(ValueError, match="URL"):
        roomcast.Server(adapter=roomcast.RedisShardedAdapter("http://a:7000"))


async def test_cors_preflight_answers_configured_methods_and_headers(harness: Any) -> None:
    preflight = {
        "origin": "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-token,content-type",
    }
    query = {"EIO": "4", "transport": "polling"}
    configured = harness.server(cors_allowed_origins="*", cors_methods=["GET", "POST"], cors_allowed_headers=["x-token"])
    defaults = harness.server(cors_allowed_origins="*")
    async with httpx.AsyncClient() as http:
        r = await http.options(f"{await harness.start(configured)}/socket.io/", params=query, headers=preflight)
        assert r.status_code == 204
        assert r.headers["access-control-allow-methods"] == "GET,POST"
        assert r.headers["access-control-allow-headers"] == "x-token"
        assert "access-control-request-headers" not in r.headers.get("vary", "").lower()
        # What socket.io's cors package answers when nothing is configured.
        r = await http.options(f"{await harness.start(defaults)}/socket.io/", params=query, headers=preflight)
        assert r.headers["access-control-allow-methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"
        assert r.headers["access-control-allow-headers"] == "x-token,content-type"


async def test_serve_client_tags_and_compresses_the_bundle(harness: Any) -> None:
    bundle = b"console.log('the client bundle');\n" * 200
    io = harness.server()
    io.serve_client(bundle)
    base = await harness.start(io)
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{base}/socket.io/socket.io.min.js", headers={"accept-encoding": "identity"})
        assert r.status_code == 200
        assert r.content == bundle
        assert r.headers["content-type"] == "application/javascript; charset=utf-8"
        assert r.headers["cache-control"] == "public, max-age=0"
        etag = r.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        # httpx decodes gzip: the body is the bundle again.
        r = await http.get(f"{base}/socket.io/socket.io.js", headers={"accept-encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip"
        assert r.content == bundle
        for tag in (etag, f"W/{etag}"):
            r = await http.get(f"{base}/socket.io/socket.io.js", headers={"if-none-match": tag})
            assert r.status_code == 304
            assert r.content == b""
        # A bundle given as bytes is served under its two names only.
        r = await http.get(f"{base}/socket.io/socket.io.js.map")
        assert r.status_code == 400
