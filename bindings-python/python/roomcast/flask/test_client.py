"""Flask-SocketIO's test client on roomcast: an in-process Engine.IO session (a WebSocket
whose framing this client does, the transport ASGI servers use) on the real server, so
handlers, rooms, broadcasts and acknowledgements run through the core as for a remote
client — no port, no mock.

Flask-SocketIO runs handlers synchronously inside ``emit``; roomcast runs them on its event
loop thread. So that ``get_received()`` right after ``emit()`` sees what the handler sent,
each call ends with a barrier: an internal event acknowledged by the server after the
client's earlier events were handled (one client's events are handled in order, and its
packets reach it in order). For that order, a test client turns the server's
``async_handlers`` off, as Flask-SocketIO's does: handlers no longer run on threads of
their own.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

from flask.testing import EnvironBuilder

if TYPE_CHECKING:
    import flask

    from . import SocketIO

__all__ = ["SocketIOTestClient"]

#: The internal event of the barrier; never reaches application handlers.
SYNC_EVENT = "roomcast:test-client-sync"

# Bound on every wait: a server that does not answer fails the test instead of hanging it.
_WAIT = 10.0

_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR, _BINARY_EVENT, _BINARY_ACK = range(7)


def _deconstruct(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        buffers.append(bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, (list, tuple)):
        return [_deconstruct(d, buffers) for d in data]
    if isinstance(data, dict):
        return {k: _deconstruct(v, buffers) for k, v in data.items()}
    return data


def _reconstruct(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, list):
        return [_reconstruct(d, buffers) for d in data]
    if isinstance(data, dict):
        if data.get("_placeholder") is True and isinstance(data.get("num"), int):
            return buffers[data["num"]]
        return {k: _reconstruct(v, buffers) for k, v in data.items()}
    return data


def _encode(kind: int, namespace: str, data: Any = None, ack: int | None = None) -> list[str | bytes]:
    """A Socket.IO v5 packet as Engine.IO messages (text, then binary attachments)."""
    buffers: list[bytes] = []
    payload = None if data is None else _deconstruct(data, buffers)
    if buffers:
        kind = _BINARY_EVENT if kind == _EVENT else _BINARY_ACK
    text = "4" + str(kind)
    if buffers:
        text += f"{len(buffers)}-"
    if namespace != "/":
        text += namespace + ","
    if ack is not None:
        text += str(ack)
    if payload is not None:
        text += json.dumps(payload, separators=(",", ":"))
    return [text, *buffers]


class _Packet:
    def __init__(self, text: str) -> None:
        self.kind = int(text[0])
        i = 1
        self.attachments = 0
        if self.kind in (_BINARY_EVENT, _BINARY_ACK):
            dash = text.index("-", i)
            self.attachments = int(text[i:dash])
            i = dash + 1
        self.namespace = "/"
        if i < len(text) and text[i] == "/":
            comma = text.find(",", i)
            end = len(text) if comma < 0 else comma
            self.namespace = text[i:end]
            i = end + 1
        start = i
        while i < len(text) and text[i].isdigit():
            i += 1
        self.id = int(text[start:i]) if i > start else None
        self.data = json.loads(text[i:]) if i < len(text) else None
        self.buffers: list[bytes] = []

    def complete(self) -> Any:
        return _reconstruct(self.data, self.buffers)


class SocketIOTestClient:
    """``socketio.test_client(app, namespace=None, query_string=None, headers=None,
    auth=None, flask_test_client=None)``: Flask-SocketIO's test client. With
    ``flask_test_client``, its cookies (the Flask session) go with the connection."""

    def __init__(
        self,
        app: flask.Flask,
        socketio: SocketIO,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> None:
        server = socketio.server
        if server is None:
            raise RuntimeError("the test client needs a SocketIO bound to an app (socketio.init_app(app))")
        if server.manager is not None:
            raise RuntimeError(
                "Test client cannot be used with a message queue. Disable the queue on your test configuration."
            )
        self.app = app
        self.socketio = socketio
        self.flask_test_client = flask_test_client
        self.eio_sid: str | None = None
        self.connected: dict[str, bool] = {}
        self.queue: list[dict[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self._sids: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._ws: Any = None
        self._pending: _Packet | None = None
        self._connect_answers: dict[str, _Packet] = {}
        # As Flask-SocketIO's test client: events are handled one by one, in order.
        server.async_handlers = False
        if not server.io._dispatcher.attached:
            try:
                server.io.start_background()
            except RuntimeError:
                pass  # already running
        self.connect(namespace=namespace, query_string=query_string, headers=headers, auth=auth)

    # ---- Flask-SocketIO's methods -------------------------------------------------------

    @property
    def sid(self) -> str | None:
        """The client's id in the default namespace (``request.sid`` of its events)."""
        return self._sids.get("/")

    def is_connected(self, namespace: str | None = None) -> bool:
        return self.connected.get(namespace or "/", False)

    def connect(
        self,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
    ) -> None:
        """Connects ``namespace`` (the Engine.IO session opens on the first call, with the
        query string, headers and Flask cookies)."""
        namespace = namespace or "/"
        if self._ws is None:
            self._open(query_string, headers)
        self._send(_encode(_CONNECT, namespace, auth))
        answer = self._wait_for(lambda: self._connect_answers.pop(namespace, None))
        if answer.kind == _CONNECT:
            self.connected[namespace] = True
            self._sids[namespace] = str((answer.data or {}).get("sid"))
            self._install_barrier(namespace)
            self._barrier()
        else:
            self.connected[namespace] = False

    def disconnect(self, namespace: str | None = None) -> None:
        """Leaves ``namespace``; its disconnect handler has run on return."""
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        namespace = namespace or "/"
        sid = self._sids.pop(namespace, None)
        self._send(_encode(_DISCONNECT, namespace))
        del self.connected[namespace]
        server = self.socketio.server
        assert server is not None
        # The handler has run once python-socketio's layer forgot the client.
        deadline = time.monotonic() + _WAIT
        while sid is not None and (sid in server._environ or sid in server.io._sockets):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the disconnect handler of {namespace!r} did not finish within {_WAIT}s")
            self._pump(0.002)
        self._barrier()

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Sends ``event``; with ``callback=True`` returns the server's acknowledgement (the
        value, or a list of several). Returns once the server has handled it."""
        namespace = kwargs.pop("namespace", None) or "/"
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        callback = kwargs.pop("callback", False)
        if kwargs:
            raise TypeError(f"unknown argument(s) for emit: {', '.join(sorted(kwargs))}")
        ack = next(self._ids) if callback else None
        self._send(_encode(_EVENT, namespace, [event, *args], ack))
        self._barrier(namespace)
        if ack is None or ack not in self.acks:
            return None
        answer = self.acks.pop(ack)
        return answer[0] if len(answer) == 1 else answer

    def send(self, data: Any, json: bool = False, callback: bool = False, namespace: str | None = None) -> Any:
        """Sends a ``"message"`` (``json=True``: ``"json"``) event."""
        return self.emit("json" if json else "message", data, callback=callback, namespace=namespace)

    def get_received(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The events received for ``namespace`` since the last call, as
        ``{"name", "args", "namespace"}`` dicts."""
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        namespace = namespace or "/"
        self._barrier(namespace)
        received = [p for p in self.queue if p["namespace"] == namespace]
        self.queue = [p for p in self.queue if p["namespace"] != namespace]
        return received

    # ---- the in-process connection ------------------------------------------------------

    def _open(self, query_string: str | None, headers: dict[str, str] | None) -> None:
        server = self.socketio.server
        assert server is not None
        url = server._path.rstrip("/") + "/"
        query = (query_string or "").lstrip("?")
        if self.flask_test_client is not None:
            request = self.flask_test_client._request_from_builder_args(
                args=(), kwargs={"path": url, "query_string": query, "headers": headers}
            )
            environ = request.environ
            if hasattr(self.flask_test_client, "_add_cookies_to_wsgi"):
                self.flask_test_client._add_cookies_to_wsgi(environ)
        else:
            builder = EnvironBuilder(self.app, path=url, query_string=query, headers=headers)
            try:
                environ = builder.get_environ()
            finally:
                builder.close()
        header_list = [
            (k[5:].replace("_", "-").lower(), str(v)) for k, v in environ.items() if k.startswith("HTTP_")
        ]
        # What a browser's WebSocket handshake carries; the core checks it as for a real one.
        header_list += [
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        target = url + "?EIO=4&transport=websocket" + ("&" + query if query else "")
        ws = server.io._native.open_websocket(target, header_list, ("127.0.0.1", 0))
        if isinstance(ws, int):
            raise ConnectionError(f"the server refused the test client's connection with HTTP {ws}")
        self._ws = ws
        opened = self._ws.receive(_WAIT)
        if not opened or not isinstance(opened[0], str) or not opened[0].startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet from the server: {opened!r}")
        self.eio_sid = json.loads(opened[0][1:])["sid"]
        for message in opened[1:]:
            self._on_message(message)

    def _install_barrier(self, namespace: str) -> None:
        server = self.socketio.server
        assert server is not None
        if SYNC_EVENT not in server.handlers.get(namespace, {}):
            server.on(SYNC_EVENT, _acknowledge, namespace=namespace)

    def _barrier(self, namespace: str | None = None) -> None:
        """Returns once the server has handled every event this client sent before."""
        if namespace is None or not self.connected.get(namespace):
            namespace = next((n for n, up in self.connected.items() if up), None)
            if namespace is None:
                return
        ack = next(self._ids)
        self._send(_encode(_EVENT, namespace, [SYNC_EVENT], ack))
        gone = namespace

        def answered() -> Any:
            if ack in self.acks:
                return self.acks.pop(ack)
            # A handler disconnected the client: nothing more comes for the namespace.
            return None if self.connected.get(gone) else False

        # The barrier may reach the server after a handler disconnected its namespace; the
        # server then closes the connection, as socket.io does for a packet of a namespace
        # the client is not in. The client is disconnected either way, as Flask-SocketIO's
        # would be after such a handler.
        self._wait_for(answered, closed_is_an_answer=True)

    def _send(self, messages: list[str | bytes]) -> None:
        for m in messages:
            if isinstance(m, str):
                self._ws.push_text(m)
            else:
                self._ws.push_bytes(m)

    def _wait_for(self, found: Any, closed_is_an_answer: bool = False) -> Any:
        deadline = time.monotonic() + _WAIT
        while True:
            value = found()
            if value is not None:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the server did not answer the test client within {_WAIT}s")
            if not self._pump(remaining):
                if closed_is_an_answer:
                    return None
                raise ConnectionError("the server closed the test client's connection")

    def _pump(self, timeout: float) -> bool:
        """Reads what the server sent within ``timeout``; False once the connection closed."""
        batch = self._ws.receive(timeout)
        if batch is None:
            for namespace in list(self.connected):
                self.connected[namespace] = False
            return False
        for message in batch:
            self._on_message(message)
        return True

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            if self._pending is not None:
                self._pending.buffers.append(message)
                if len(self._pending.buffers) == self._pending.attachments:
                    packet, self._pending = self._pending, None
                    self._on_packet(packet)
            return
        if message == "2":
            self._ws.push_text("3")
            return
        if not message.startswith("4"):
            return
        packet = _Packet(message[1:])
        if packet.attachments:
            self._pending = packet
        else:
            self._on_packet(packet)

    def _on_packet(self, packet: _Packet) -> None:
        if packet.kind in (_CONNECT, _CONNECT_ERROR):
            self._connect_answers[packet.namespace] = packet
            if packet.kind == _CONNECT_ERROR:
                self.connected[packet.namespace] = False
        elif packet.kind == _DISCONNECT:
            self.connected[packet.namespace] = False
        elif packet.kind in (_EVENT, _BINARY_EVENT):
            data = packet.complete() or []
            name, args = data[0], data[1:]
            if name in ("message", "json"):
                self.queue.append({"name": name, "args": args[0] if args else None, "namespace": packet.namespace})
            else:
                self.queue.append({"name": name, "args": args, "namespace": packet.namespace})
        elif packet.kind in (_ACK, _BINARY_ACK) and packet.id is not None:
            self.acks[packet.id] = packet.complete() or []


def _acknowledge(sid: str) -> bool:
    return True
