"""roomcast's own listener serving TLS (``ssl_certfile`` / ``ssl_keyfile``): python-socketio
clients over ``https`` polling and ``wss``, ``handshake["secure"]``, a web app mounted on
the same port that sees the ``https`` scheme, and refusals of certificates that cannot serve."""

from __future__ import annotations

import http.client
import ssl
import threading
from pathlib import Path
from typing import Any

import flask
import pytest
import socketio
from fastapi import FastAPI, Request

import roomcast

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tls"
CERT = FIXTURES / "localhost-cert.pem"
KEY = FIXTURES / "localhost-key.pem"
WAIT = 10


def tls_server() -> roomcast.Server:
    return roomcast.Server(ssl_certfile=CERT, ssl_keyfile=KEY)


def trusting_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(CERT))


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_clients_connect_over_tls(transport: str) -> None:
    io = tls_server()
    seen: list[dict[str, Any]] = []

    @io.on("connection")
    def on_connection(sock: Any) -> None:
        seen.append(sock.handshake)
        sock.on("double", lambda n: n * 2)

    port = io.start_background(port=0, host="127.0.0.1")
    client = socketio.AsyncClient(ssl_verify=False)
    try:
        await client.connect(f"https://localhost:{port}", transports=[transport], wait_timeout=WAIT)
        assert await client.call("double", 21, timeout=WAIT) == 42
        assert seen and seen[0]["secure"] is True
    finally:
        await client.disconnect()
        io.close()


def test_plain_http_to_the_tls_listener_gets_no_answer_and_harms_nobody() -> None:
    io = tls_server()
    port = io.start_background(port=0, host="127.0.0.1")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", "/socket.io/?EIO=4&transport=polling")
            conn.getresponse().read()
        conn.close()
        tls = http.client.HTTPSConnection("localhost", port, timeout=WAIT, context=trusting_context())
        tls.request("GET", "/socket.io/?EIO=4&transport=polling")
        r = tls.getresponse()
        assert r.status == 200 and r.read().startswith(b"0{")
        tls.close()
    finally:
        io.close()


def test_a_mounted_asgi_app_sees_https() -> None:
    api = FastAPI()

    @api.get("/scheme")
    async def scheme(request: Request) -> dict[str, Any]:
        return {"scheme": request.url.scheme}

    io = tls_server()
    io.mount_asgi(api)
    port = io.start_background(port=0, host="127.0.0.1")
    try:
        conn = http.client.HTTPSConnection("localhost", port, timeout=WAIT, context=trusting_context())
        conn.request("GET", "/scheme")
        r = conn.getresponse()
        assert r.status == 200
        assert r.read() == b'{"scheme":"https"}'
        conn.close()
    finally:
        io.close()


def test_a_mounted_wsgi_app_sees_https() -> None:
    app = flask.Flask(__name__)

    @app.get("/scheme")
    def scheme() -> str:
        return f"{flask.request.scheme} {flask.request.is_secure}"

    io = tls_server()
    io.mount_wsgi(app)
    port = io.start_background(port=0, host="127.0.0.1")
    try:
        conn = http.client.HTTPSConnection("localhost", port, timeout=WAIT, context=trusting_context())
        conn.request("GET", "/scheme")
        r = conn.getresponse()
        assert (r.status, r.read()) == (200, b"https True")
        conn.close()
    finally:
        io.close()


def test_certificates_that_cannot_serve_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no PEM `CERTIFICATE`"):
        roomcast.Server(ssl_certfile=KEY, ssl_keyfile=KEY)
    with pytest.raises(ValueError, match="private key"):
        roomcast.Server(ssl_certfile=CERT, ssl_keyfile=CERT)
    with pytest.raises(TypeError, match="both"):
        roomcast.Server(ssl_certfile=CERT)
    with pytest.raises(FileNotFoundError):
        roomcast.Server(ssl_certfile=tmp_path / "missing.pem", ssl_keyfile=KEY)


def test_an_emit_from_another_thread_reaches_a_tls_client() -> None:
    io = tls_server()
    port = io.start_background(port=0, host="127.0.0.1")
    got = threading.Event()
    client = socketio.Client(ssl_verify=False)
    client.on("news", lambda text: got.set() if text == "hello" else None)
    try:
        client.connect(f"https://localhost:{port}", transports=["websocket"], wait_timeout=WAIT)
        io.emit("news", "hello")
        assert got.wait(WAIT)
    finally:
        client.disconnect()
        io.close()
