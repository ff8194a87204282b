"""A WSGI app on roomcast's native listener (``io.mount_wsgi``): the environ the app gets,
chunked uploads, errors before and after the response started, HEAD, a full pool, and
bad arguments."""

from __future__ import annotations

import http.client
import socket as pysocket
import threading
from typing import Any, Callable, Iterator

import pytest

import roomcast
from conftest import MountedApp

App = Callable[[dict[str, Any], Callable[..., Any]], Any]


@pytest.fixture
def mount(mounted_apps: Any) -> Callable[..., MountedApp]:
    return lambda app, **options: mounted_apps("wsgi", app, **options)


def test_the_environ_follows_pep_3333(mount: Any) -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    m = mount(app)
    status, headers, body = m.request(
        "POST", "/a%20b/c?x=1&y=%20", body=b"payload", headers={"X-One": "1", "Content-Type": "text/plain"}
    )
    assert (status, body, headers["content-length"]) == (200, b"ok", "2")
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"] == "/a b/c" and seen["SCRIPT_NAME"] == ""
    assert seen["QUERY_STRING"] == "x=1&y=%20"
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["CONTENT_LENGTH"] == "7"
    assert seen["HTTP_X_ONE"] == "1"
    assert seen["SERVER_PORT"] == str(m.port) and seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1" and seen["wsgi.url_scheme"] == "http"
    assert seen["body"] == b"payload"


def test_a_chunked_upload_is_read_line_by_line(mount: Any) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        lines = list(environ["wsgi.input"])
        start_response("200 OK", [])
        return [repr(lines).encode()]

    m = mount(app)
    status, _, body = m.request("POST", "/", body=iter([b"one\ntw", b"o\nthree"]))
    assert (status, body) == (200, repr([b"one\n", b"two\n", b"three"]).encode())


def test_app_errors_give_500_or_a_cut_response(mount: Any) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["PATH_INFO"] == "/before":
            raise RuntimeError("before the response")

        def body() -> Iterator[bytes]:
            yield b"partial"
            raise RuntimeError("in the middle")

        start_response("200 OK", [])
        return body()

    m = mount(app)
    assert m.request("GET", "/before")[0] == 500
    # Never a response that looks complete: the connection is cut (before or after the
    # head went out, depending on how far hyper had written it).
    with pytest.raises((http.client.IncompleteRead, http.client.RemoteDisconnected)):
        m.request("GET", "/middle")
    # The worker survived both.
    assert m.request("GET", "/before")[0] == 500


def test_head_gets_the_headers_only(mount: Any) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    status, headers, body = mount(app).request("HEAD", "/")
    assert (status, headers["content-length"], body) == (200, "5", b"")


def test_a_full_pool_answers_503_and_recovers(mount: Any) -> None:
    entered, release = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        if environ["PATH_INFO"] == "/hold":
            entered.set()
            release.wait(10)
        start_response("200 OK", [])
        # Chunked: the client sees the end only once the worker has finished, and the
        # place is given back before that.
        yield b"done"

    m = mount(app, threads=1, backlog=0)
    held: list[Any] = []
    thread = threading.Thread(target=lambda: held.append(m.request("GET", "/hold")))
    thread.start()
    try:
        assert entered.wait(10)
        status, headers, _ = m.request("GET", "/other")
        assert (status, headers["retry-after"]) == (503, "1")
    finally:
        release.set()
        thread.join(10)
    assert held[0][0] == 200
    assert m.request("GET", "/other")[0] == 200


def test_socketio_still_answers_its_path(mount: Any) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [])
        return [b"app"]

    m = mount(app)
    status, _, body = m.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b"0{")


def test_bad_arguments_are_clear_errors() -> None:
    io = roomcast.Server()
    try:
        with pytest.raises(TypeError, match="WSGI callable"):
            io.mount_wsgi("not an app")
        with pytest.raises(ValueError, match="threads must be at least 1"):
            io.mount_wsgi(lambda e, s: [], threads=0)
        with pytest.raises(ValueError, match="backlog must be 0 or more"):
            io.mount_wsgi(lambda e, s: [], backlog=-1)
        with pytest.raises(TypeError, match="need wsgi_app or asgi_app"):
            io.listen(0, threads=2)
        io.mount_wsgi(lambda e, s: [])
        with pytest.raises(RuntimeError, match="already mounted"):
            io.mount_wsgi(lambda e, s: [])
    finally:
        io.close()


def test_without_an_app_other_paths_are_404() -> None:
    io = roomcast.Server()
    port = io.start_background(port=0, host="127.0.0.1")
    try:
        with pysocket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 404")
    finally:
        io.close()
