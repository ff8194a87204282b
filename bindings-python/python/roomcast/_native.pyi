"""Type stubs of the extension module `roomcast._native` (the Rust side of the binding).

Applications use the `roomcast` package; this module holds handles on the core and is
driven by it. Arguments cross as JSON text (``str`` or UTF-8 ``bytes``) plus a list of
binary attachments referenced by ``{"_placeholder": true, "num": i}``.
"""

from typing import Any, Callable, Literal, Optional, Sequence, Union

__version__: str

EV_AUTHORIZE: int
EV_CONNECTION: int
EV_EVENT: int
EV_DISCONNECTING: int
EV_DISCONNECT: int
EV_MATCH: int
EV_OUTGOING: int
EV_NEW_NAMESPACE: int
EV_ACK: int
EV_BROADCAST_ACK: int
EV_SOCKETS: int
EV_HTTP: int
EV_WEBSOCKET: int
EV_DONE: int
EV_ALLOW_REQUEST: int
EV_SERVER_SIDE: int
EV_SERVER_SIDE_ACKS: int
EV_ROOMS: int
EV_ADMIN_AUTH: int
EV_NAMESPACE_REMOVED: int

Json = Union[str, bytes]
Binaries = Optional[Sequence[bytes]]
Headers = Sequence[tuple[Union[bytes, str], Union[bytes, str]]]
Client = Optional[tuple[str, int]]

def enable_core_logging(filter: str = "warn") -> bool:
    """Sends the core's log lines to stderr; False if a logger was already installed."""

class Server:
    """The core server. ``config`` holds the options `roomcast.Server` normalises."""

    def __init__(self, config: dict[str, Any]) -> None: ...
    def wake_fd(self) -> int:
        """The descriptor that becomes readable when events are queued."""
    def drain(self) -> list[tuple[Any, ...]]:
        """Every queued event as a tuple whose first item is an ``EV_*`` kind."""
    def namespace(self, name: str) -> Namespace:
        """The namespace ``name``, created on first use."""
    def find_namespace(self, name: str) -> Optional[Namespace]:
        """The namespace ``name`` if it exists."""
    def dynamic(self) -> DynamicNamespace:
        """A new dynamic namespace whose matcher Python answers."""
    def enable_allow_request(self) -> None:
        """Queue an ``EV_ALLOW_REQUEST`` event for every handshake; its reply decides."""
    def instrument(
        self,
        namespace: str,
        read_only: bool,
        mode: str,
        server_id: Optional[str],
        stats_interval: float,
        auth_kind: str,
        auth_json: Optional[str] = None,
    ) -> None:
        """Serves the admin UI's namespace; ``auth_kind``: disabled, exact, basic or check."""
    def route_sessions(
        self, url: str, address: Optional[str] = None, key_prefix: str = "roomcast:owner:", ttl: float = 3600.0
    ) -> None:
        """Hands requests for other nodes' sessions to them (applied when the listener binds)."""
    def announce_namespaces(self) -> None:
        """Queue an ``EV_NEW_NAMESPACE`` event for every namespace created from now on."""
    def set_tls(self, cert: bytes, key: bytes) -> None:
        """The native listener serves TLS with this PEM certificate chain and key."""
    def listen(self, host: str, port: int) -> int:
        """Binds the native listener; returns the bound port."""
    def close(self) -> None:
        """Closes the server; blocks (without the GIL) until done."""
    def close_in_background(self, token: int) -> None:
        """Closes the server; an ``EV_DONE`` completion with ``token`` follows."""
    @property
    def closed(self) -> bool: ...
    def serve_client(self, bundle: bytes) -> None: ...
    def add_static(self, path: str, content_type: str, body: bytes) -> None: ...
    def handles_path(self, path: str) -> bool: ...
    def serve_http(self, workers: int, backlog: int, grace: float) -> HttpQueue:
        """Queues the native listener's requests outside the Socket.IO path for WSGI workers."""
    def handle_http(
        self,
        token: int,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        client: Client = None,
        secure: bool = False,
    ) -> None:
        """Answers an HTTP request in the background (``EV_HTTP`` completion)."""
    def cancel_http(self, token: int) -> None:
        """The client of request ``token`` went away: a pending long-poll ends its session."""
    def handle_http_blocking(
        self, method: str, target: str, headers: Headers, body: bytes, client: Client = None, secure: bool = False
    ) -> Optional[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        """Answers an HTTP request on the calling thread, without the GIL while waiting."""
    def open_websocket(
        self, target: str, headers: Headers, client: Client = None, secure: bool = False
    ) -> Union[WebSocket, int]:
        """A host-framed WebSocket, or the HTTP status refusing it."""
    def take_over_websocket(self, fd: int, target: str, headers: Headers, client: Client = None) -> None:
        """Runs the ASGI server's WebSocket on descriptor ``fd`` in the core (OSError: it stays)."""
    def stats(self) -> tuple[int, int, int, int, int, int, int]:
        """(sessions, namespaces, sockets, rooms)."""

class Namespace:
    @property
    def name(self) -> str: ...
    @property
    def key(self) -> int: ...
    @property
    def handler_id(self) -> Optional[int]: ...
    @property
    def is_child(self) -> bool: ...
    @property
    def parent_key(self) -> Optional[int]: ...
    def set_has_middlewares(self, yes: bool) -> None: ...
    def operator(self) -> Operator: ...
    def socket_count(self) -> int: ...
    def rooms(self) -> list[str]: ...
    def get_socket(self, sid: str) -> Optional[Socket]: ...
    def server_side_emit(self, event: str, json: Json, binaries: Binaries = None) -> None: ...
    def server_side_emit_with_ack(self, event: str, json: Json, binaries: Binaries, token: int) -> None: ...
    def all_rooms(self, token: int) -> None: ...

class DynamicNamespace:
    @property
    def handler_id(self) -> int: ...
    @property
    def key(self) -> int: ...
    @property
    def matcher_id(self) -> int: ...
    def set_has_middlewares(self, yes: bool) -> None: ...
    def children(self) -> list[Namespace]: ...

class Socket:
    @property
    def id(self) -> str: ...
    @property
    def ns(self) -> str: ...
    @property
    def namespace_key(self) -> int: ...
    @property
    def engine_id(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def connected(self) -> bool: ...
    def announce(self) -> None: ...
    @property
    def recovered(self) -> bool: ...
    def handshake(self) -> str: ...
    def data(self) -> str: ...
    def set_data(self, json: str) -> None: ...
    def join(self, rooms: list[str]) -> None: ...
    def leave(self, rooms: list[str]) -> None: ...
    def rooms(self) -> list[str]: ...
    def emit(
        self, event: str, json: Json, binaries: Binaries = None, volatile: bool = False, compress: bool = True
    ) -> bool: ...
    def emit_with_ack(
        self, event: str, json: Json, binaries: Binaries, timeout: Optional[float], token: int
    ) -> bool: ...
    def broadcast(self) -> Operator: ...
    def disconnect(self, close: bool) -> None: ...
    def set_notify_outgoing(self, on: bool) -> None: ...

class Operator:
    def to(self, rooms: list[str]) -> Operator: ...
    def except_(self, rooms: list[str]) -> Operator: ...
    def local(self) -> Operator: ...
    def volatile(self) -> Operator: ...
    def compress(self, on: bool) -> Operator: ...
    def timeout(self, seconds: float) -> Operator: ...
    @property
    def ns(self) -> str: ...
    @property
    def rooms(self) -> list[str]: ...
    @property
    def except_rooms(self) -> list[str]: ...
    @property
    def timeout_seconds(self) -> Optional[float]: ...
    def emit(self, event: str, json: Json, binaries: Binaries = None) -> None: ...
    def emit_with_ack(self, event: str, json: Json, binaries: Binaries, token: int) -> None: ...
    def fetch_sockets(self, token: int) -> None: ...
    def sockets_join(self, rooms: list[str]) -> None: ...
    def sockets_leave(self, rooms: list[str]) -> None: ...
    def disconnect_sockets(self, close: bool) -> None: ...

class Reply:
    """A question from the core, answered once (dropping it gives the default answer)."""

    def done(self) -> None: ...
    def refuse(self, message: str, data: Optional[str] = None) -> None: ...
    @property
    def answered(self) -> bool: ...

class Ack:
    """A client's acknowledgement request, answered once."""

    def send(self, json: Json, binaries: Binaries = None) -> bool: ...
    @property
    def sent(self) -> bool: ...

class ServerSideAck:
    """Another server waiting for this server's answer to a server-side event."""

    def send(self, json: Json, binaries: Binaries = None) -> bool: ...

class HttpQueue:
    """Requests waiting for a WSGI worker thread."""

    def next(self, timeout: float) -> HttpExchange | None | Literal[False]:
        """The next request; ``None``: none came in time; ``False``: closed and empty."""
    def close(self) -> None: ...

class HttpExchange:
    """One request of the native listener and its streamed response."""

    def take_head(
        self,
    ) -> tuple[str, bytes, bytes, str, list[tuple[bytes, bytes]], tuple[str, int] | None, tuple[str, int] | None]: ...
    def read_chunk(self) -> bytes: ...
    def start(self, status: int, headers: list[tuple[str, str]]) -> None: ...
    def write(self, data: bytes) -> None: ...
    def finish(self, broken: bool = False) -> None: ...

class WebSocket:
    """A WebSocket whose framing the host (ASGI) does."""

    def push_text(self, text: str) -> None: ...
    def push_bytes(self, data: bytes) -> None: ...
    def client_closed(self) -> None: ...
    def take(self) -> list[str | bytes] | None:
        """What there is to send now, without waiting; None once closed and all taken."""
    def feed(self, message: str | bytes, drain: Callable[[], None] | None = None) -> list[str | bytes] | None:
        """Pushes a message, runs ``drain``, returns what there is to send (as ``take``)."""
    def wait(self, token: int) -> None:
        """Completes ``token`` once ``take`` has something to give."""
    def receive(self, timeout: float) -> list[str | bytes] | None:
        """The next messages, waiting up to ``timeout`` without the GIL; None once closed."""

class Emitter:
    """The core's Redis emitter; `done(kind, message)` is called once published (both None)
    or on failure (`kind` "emit" or "redis"), on a thread of its own."""

    def __init__(self, url: str, key: str = "socket.io") -> None: ...
    def emit(
        self,
        nsp: str,
        rooms: list[str],
        except_: list[str],
        volatile: bool,
        compress: Optional[bool],
        event: str,
        json: Json,
        binaries: Binaries,
        done: Callable[[Optional[str], Optional[str]], None],
    ) -> None: ...
    def sockets_join(
        self, nsp: str, rooms: list[str], except_: list[str], join: list[str],
        done: Callable[[Optional[str], Optional[str]], None],
    ) -> None: ...
    def sockets_leave(
        self, nsp: str, rooms: list[str], except_: list[str], leave: list[str],
        done: Callable[[Optional[str], Optional[str]], None],
    ) -> None: ...
    def disconnect_sockets(
        self, nsp: str, rooms: list[str], except_: list[str], close: bool,
        done: Callable[[Optional[str], Optional[str]], None],
    ) -> None: ...
    def server_side_emit(
        self, nsp: str, event: str, json: Json, binaries: Binaries,
        done: Callable[[Optional[str], Optional[str]], None],
    ) -> None: ...
