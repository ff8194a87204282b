"""The scenario server of tests/SCENARIOS.md, written with roomcast's Python API."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import roomcast

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ACK_TIMEOUT_MS = 5000


def env_ms(name: str, default: float) -> float:
    """A duration variable in milliseconds, as seconds."""
    try:
        return float(os.environ[name]) / 1000
    except (KeyError, ValueError):
        return default / 1000


def env_int(name: str, default: int) -> int:
    try:
        return int(float(os.environ[name]))
    except (KeyError, ValueError):
        return default


def env_cap(name: str) -> int | None:
    """A cap from the environment, or None for the server's default."""
    return env_int(name, 0) or None


NODE_NAME = os.environ.get("NODE_NAME", "python")


async def allow_origin(request: dict[str, Any]) -> bool:
    """Lets a handshake through only with the configured Origin (answered asynchronously, as
    a hook that checks a token store would be)."""
    await asyncio.sleep(0)
    return request["headers"].get("origin") == os.environ["ALLOW_ORIGIN"]


def make_server() -> roomcast.Server:
    origin = os.environ.get("CORS_ORIGIN", "")
    adapter = None
    if os.environ.get("REDIS_URL"):
        timeout = env_ms("REQUESTS_TIMEOUT", 5000)
        if os.environ.get("REDIS_ADAPTER") == "sharded":
            # REDIS_URL: the cluster's nodes, comma-separated.
            adapter = roomcast.RedisShardedAdapter(
                [u.strip() for u in os.environ["REDIS_URL"].split(",")],
                subscription_mode=os.environ.get("SUBSCRIPTION_MODE", "dynamic"),
                requests_timeout=timeout,
            )
        else:
            kind = roomcast.RedisStreamsAdapter if os.environ.get("REDIS_ADAPTER") == "streams" else roomcast.RedisAdapter
            adapter = kind(os.environ["REDIS_URL"], requests_timeout=timeout)
    recovery = None
    if os.environ.get("RECOVERY") == "1":
        recovery = {"max_disconnection_duration": env_ms("RECOVERY_MS", 120000), "skip_middlewares": True}
    origins: Any = None if not origin else ("*" if origin == "*" else [o.strip() for o in origin.split(",")])
    transports = [t.strip() for t in os.environ.get("TRANSPORTS", "polling,websocket").split(",") if t.strip()]
    return roomcast.Server(
        cors_allowed_origins=origins,
        cors_credentials=os.environ.get("CORS_CREDENTIALS") == "1",
        path=os.environ.get("SIO_PATH", "/socket.io/"),
        ping_interval=env_ms("PING_INTERVAL", 25000),
        ping_timeout=env_ms("PING_TIMEOUT", 20000),
        upgrade_timeout=env_ms("UPGRADE_TIMEOUT", 10000),
        connect_timeout=env_ms("CONNECT_TIMEOUT", 45000),
        max_http_buffer_size=env_int("MAX_HTTP_BUFFER_SIZE", 1_000_000),
        transports=transports,
        max_queued_frames=env_int("MAX_QUEUED_FRAMES", 65_536),
        max_queued_bytes=env_int("MAX_QUEUED_BYTES", 64 << 20),
        allow_eio3=os.environ.get("ALLOW_EIO3") == "1",
        per_message_deflate=os.environ.get("PER_MESSAGE_DEFLATE") == "1",
        cleanup_empty_child_namespaces=os.environ.get("CLEANUP_EMPTY_CHILDREN") == "1",
        parser="msgpack" if os.environ.get("PARSER") == "msgpack" else "default",
        connection_state_recovery=recovery,
        adapter=adapter,
        # no sticky sessions (ROUTE_SESSIONS=1 with REDIS_URL)
        route_sessions=(
            roomcast.SessionRouting(os.environ["REDIS_URL"])
            if os.environ.get("ROUTE_SESSIONS") == "1" and os.environ.get("REDIS_URL")
            else None
        ),
        allow_request=allow_origin if os.environ.get("ALLOW_ORIGIN") else None,
        http_header_timeout=env_ms("HTTP_HEADER_TIMEOUT", 10000),
        http_body_timeout=env_ms("HTTP_BODY_TIMEOUT", 30000),
        max_connections=env_cap("MAX_CONNECTIONS"),
        max_connections_per_ip=env_cap("MAX_CONNECTIONS_PER_IP"),
        max_sessions=env_cap("MAX_SESSIONS"),
    )


io = make_server()

# The admin UI (ADMIN=basic: login admin / changeit, python-socketio's dict form; ADMIN=none:
# no login).
if os.environ.get("ADMIN"):
    io.instrument(
        auth={"username": "admin", "password": "changeit"} if os.environ["ADMIN"] == "basic" else False,
        mode=os.environ.get("ADMIN_MODE", "development"),
        read_only=os.environ.get("ADMIN_READONLY") == "1",
        server_id=os.environ.get("ADMIN_SERVER_ID") or None,
    )


def rooms_of(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [r for r in value if isinstance(r, str)]
    if isinstance(value, str):
        return [value]
    return [json.dumps(value)]


def spec_of(args: tuple[Any, ...]) -> dict[str, Any]:
    return args[0] if args and isinstance(args[0], dict) else {}


def timeout_of(spec: dict[str, Any]) -> float:
    t = spec.get("timeout")
    return (t if isinstance(t, (int, float)) and not isinstance(t, bool) else DEFAULT_ACK_TIMEOUT_MS) / 1000


def with_rooms(op: Any, spec: dict[str, Any]) -> Any:
    if spec.get("rooms") is not None:
        op = op.to(rooms_of(spec["rooms"]))
    if spec.get("except") is not None:
        op = op.except_(rooms_of(spec["except"]))
    return op


def as_list(result: Any) -> list[Any]:
    """An acknowledgement's value back to its argument list."""
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


def json_key(value: Any) -> str:
    def bytes_safe(o: Any) -> Any:
        return list(o) if isinstance(o, (bytes, bytearray)) else str(o)

    return json.dumps(value, separators=(",", ":"), default=bytes_safe)


def later(fn: Any, *args: Any) -> None:
    """Runs after the current handler's acknowledgement has been sent."""
    asyncio.get_running_loop().call_soon(fn, *args)


def observe(socket: roomcast.Socket) -> None:
    observers = io.to("observers")

    @socket.on("disconnecting")
    def disconnecting(reason: str) -> None:
        observers.emit(
            "observed-disconnecting",
            {"id": socket.id, "nsp": socket.nsp.name, "reason": reason, "rooms": sorted(socket.rooms)},
        )

    @socket.on("disconnect")
    def disconnect(reason: str) -> None:
        observers.emit(
            "observed-disconnect",
            {"id": socket.id, "nsp": socket.nsp.name, "reason": reason, "rooms": sorted(socket.rooms)},
        )


def register_echo(socket: roomcast.Socket) -> None:
    @socket.on("echo")
    def echo(*args: Any) -> Any:
        if roomcast.ack_requested():
            return args
        socket.emit("echo", *args)
        return None

    # The arguments back twice with compress(False): to the socket, and through a broadcast.
    @socket.on("echo-uncompressed")
    def echo_uncompressed(*args: Any) -> None:
        socket.compress(False).emit("echo", *args)
        socket.nsp.to(socket.id).compress(False).emit("echo-room", *args)


# ---- namespace "/" ------------------------------------------------------------------------


@io.on("connection")
def on_connection(socket: roomcast.Socket) -> None:
    rooms_at_connect = sorted(socket.rooms)
    observe(socket)

    @socket.use
    def forbid(event: str, args: list[Any]) -> None:
        if event == "forbidden":
            raise PermissionError("forbidden event")

    @socket.on("error")
    def on_error(err: Exception) -> None:
        socket.emit("use-error", str(err))

    @socket.on_any
    def any_probe(event: str, *args: Any) -> None:
        if event == "any-probe":
            socket.emit("any-seen", event, *args)

    outgoing = {"echo": 0}

    @socket.on_any_outgoing
    def count_outgoing(event: str, *args: Any) -> None:
        if event == "echo":
            outgoing["echo"] += 1

    socket.on("outgoing-count", lambda *args: outgoing["echo"])
    register_echo(socket)
    socket.on("rooms-at-connect", lambda *args: rooms_at_connect)

    @socket.on("join")
    def join(rooms: Any = None, *rest: Any) -> list[str]:
        socket.join(rooms_of(rooms))
        return sorted(socket.rooms)

    @socket.on("leave")
    def leave(rooms: Any = None, *rest: Any) -> list[str]:
        socket.leave(rooms_of(rooms))
        return sorted(socket.rooms)

    socket.on("rooms", lambda *args: sorted(socket.rooms))
    socket.on("all-rooms", lambda *args: sorted(io.sockets.rooms))

    @socket.on("emit-to")
    def emit_to(*args: Any) -> bool:
        spec = spec_of(args)
        nsp = io.get_namespace(spec.get("nsp") or "/")
        if nsp is None or nsp.name != (spec.get("nsp") or "/"):
            return False
        op = with_rooms(nsp.broadcast, spec)
        if spec.get("volatile"):
            op = op.volatile
        if spec.get("local"):
            op = op.local
        if spec.get("compress") is not None:
            op = op.compress(bool(spec["compress"]))
        op.emit(spec.get("event"), *(spec.get("args") or []))
        return True

    @socket.on("broadcast-to")
    def broadcast_to(*args: Any) -> bool:
        spec = spec_of(args)
        with_rooms(socket.broadcast, spec).emit(spec.get("event"), *(spec.get("args") or []))
        return True

    @socket.on("say to someone")
    def say(id: str, msg: Any) -> None:
        socket.broadcast.to(id).emit("my message", msg)

    @socket.on("ask")
    async def ask(*args: Any) -> dict[str, Any]:
        spec = spec_of(args)
        try:
            result = await socket.emit_with_ack(spec.get("event"), *(spec.get("args") or []), timeout=timeout_of(spec))
        except roomcast.AckError as e:
            return {"err": str(e), "res": []}
        return {"err": None, "res": as_list(result)}

    @socket.on("ask-all")
    async def ask_all(*args: Any) -> dict[str, Any]:
        spec = spec_of(args)
        op = with_rooms(io.sockets.broadcast, spec).timeout(timeout_of(spec))
        try:
            responses = await op.emit_with_ack(spec.get("event"), *(spec.get("args") or []))
            err = None
        except roomcast.AckTimeout as e:
            responses, err = e.responses, str(e)
        firsts = [as_list(r)[0] if as_list(r) else None for r in responses]
        return {"err": err, "res": sorted(firsts, key=json_key)}

    @socket.on("fetch")
    async def fetch(*args: Any) -> list[dict[str, Any]]:
        spec = spec_of(args)
        sockets = await io.in_(rooms_of(spec.get("rooms"))).fetch_sockets()
        return sorted(
            ({"id": s.id, "rooms": sorted(s.rooms), "data": s.data} for s in sockets),
            key=lambda s: s["id"],
        )

    @socket.on("sockets-join")
    def sockets_join(*args: Any) -> bool:
        spec = spec_of(args)
        io.in_(rooms_of(spec.get("rooms"))).sockets_join(rooms_of(spec.get("join")))
        return True

    @socket.on("sockets-leave")
    def sockets_leave(*args: Any) -> bool:
        spec = spec_of(args)
        io.in_(rooms_of(spec.get("rooms"))).sockets_leave(rooms_of(spec.get("leave")))
        return True

    @socket.on("disconnect-sockets")
    def disconnect_sockets(*args: Any) -> bool:
        spec = spec_of(args)
        io.in_(rooms_of(spec.get("rooms"))).disconnect_sockets(bool(spec.get("close")))
        return True

    @socket.on("set-data")
    def set_data(value: Any = None, *rest: Any) -> bool:
        socket.data["value"] = value
        return True

    @socket.on("disconnect-me")
    def disconnect_me(close: Any = False, *rest: Any) -> None:
        socket.disconnect(bool(close))

    @socket.on("handshake")
    def handshake(*args: Any) -> dict[str, Any]:
        h = socket.handshake
        return {
            "query": h["query"],
            "auth": h["auth"],
            "address": h["address"],
            "url": h["url"],
            "secure": h["secure"],
            "xdomain": h["xdomain"],
            "issued": "number" if isinstance(h.get("issued"), (int, float)) else "undefined",
            "time": "string" if isinstance(h.get("time"), str) else "undefined",
            "headers": {
                "host": h["headers"].get("host"),
                "user-agent": isinstance(h["headers"].get("user-agent"), str),
            },
        }

    @socket.on("binary")
    def binary(*args: Any) -> tuple[Any, ...]:
        later(socket.emit, "binary-back", *args)
        return args

    # The return value is the only answer, so a second one cannot be sent.
    socket.on("double-ack", lambda *args: "first")

    @socket.on("burst")
    def burst(*args: Any) -> int:
        spec = spec_of(args)
        count = spec.get("count")
        count = int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else 0
        event = spec.get("event") or "burst-item"
        for i in range(count):
            socket.emit(event, i)
        return count

    @socket.on("flood")
    def flood(*args: Any) -> int:
        spec = spec_of(args)
        size = spec.get("size")
        filler = "x" * (int(size) if isinstance(size, (int, float)) and not isinstance(size, bool) else 0)
        count = spec.get("count")
        count = int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else 0
        op = io.to(rooms_of(spec.get("rooms")))
        event = spec.get("event") or "flood"
        for i in range(count):
            op.emit(event, i, filler)
        return count

    socket.on("count", lambda *args: len(io.sockets.sockets))
    socket.on("node-name", lambda *args: NODE_NAME)
    socket.on("recovered", lambda *args: socket.recovered)
    def stats(*args: Any) -> dict[str, int]:
        s = io.stats()
        return {
            "sessions": s["sessions"],
            "sockets": s["sockets"],
            "rooms": s["rooms"],
            "namespaces": s["namespaces"],
            "refusedConnections": s["refused_connections"],
            "refusedSessions": s["refused_sessions"],
            "timedOutRequests": s["timed_out_requests"],
        }

    socket.on("stats", stats)

    @socket.on("server-side-emit")
    def server_side_emit(*args: Any) -> bool:
        spec = spec_of(args)
        io.server_side_emit(spec.get("event"), *(spec.get("args") or []))
        return True

    @socket.on("server-side-emit-ack")
    async def server_side_emit_ack(*args: Any) -> dict[str, Any]:
        spec = spec_of(args)
        try:
            answers = await io.server_side_emit_with_ack(spec.get("event"), *(spec.get("args") or []))
        except Exception as e:
            return {"err": str(e), "res": []}
        firsts = [as_list(a)[0] if as_list(a) else None for a in answers]
        return {"err": None, "res": sorted(firsts, key=json_key)}

    @socket.on("all-rooms-cluster")
    async def all_rooms_cluster(*args: Any) -> list[str]:
        return sorted(await io.sockets.all_rooms())


@io.on("hello")
def hello(*args: Any) -> str:
    """A server-side event from another node of the cluster."""
    io.local.to("observers").emit("observed-server-side", {"node": NODE_NAME, "args": list(args)})
    return f"hi from {NODE_NAME}"


# ---- other namespaces -----------------------------------------------------------------------

my_namespace = io.of("/my-namespace")


@my_namespace.on("connection")
def hi(socket: roomcast.Socket) -> None:
    observe(socket)
    my_namespace.emit("hi", "Hello everyone!")


auth = io.of("/auth")


@auth.use
async def check_token(socket: roomcast.Socket) -> None:
    await asyncio.sleep(0.005)
    if socket.auth.get("token") != "secret":
        raise roomcast.ConnectionRefused("unauthorized", data={"reason": "bad token"})


refused = io.of("/refused")


@refused.use
def refuse_at_once(socket: roomcast.Socket) -> None:
    raise roomcast.ConnectionRefused("refused", data={"reason": "sync"})


@auth.on("connection")
def welcome(socket: roomcast.Socket) -> None:
    observe(socket)
    socket.emit("welcome", socket.handshake["auth"])


@io.of("/async").on("connection")
async def slow_connection(socket: roomcast.Socket) -> None:
    observe(socket)
    await asyncio.sleep(0.05)
    register_echo(socket)


dynamic = io.of(re.compile(r"/dyn-\d+"))


@dynamic.on("connection")
def dyn(socket: roomcast.Socket) -> None:
    observe(socket)
    register_echo(socket)
    socket.emit("dyn", socket.nsp.name)


async def starts_with_pred(name: str, auth: dict[str, Any]) -> bool:
    await asyncio.sleep(0.005)
    return name.startswith("/pred-")


predicate = io.of(starts_with_pred)


@predicate.on("connection")
def pred(socket: roomcast.Socket) -> None:
    observe(socket)
    socket.emit("pred", socket.nsp.name)


@io.on("new_namespace")
def announce(nsp: roomcast.Namespace) -> None:
    io.to("observers").emit("observed-namespace", nsp.name)


# ---- process ----------------------------------------------------------------------------------


def serve_extras() -> None:
    seed = ROOT / "examples" / "seed.html"
    page = seed.read_bytes()
    io.serve_static("/", page, "text/html; charset=utf-8")
    io.serve_static("/index.html", page, "text/html; charset=utf-8")
    bundle = Path(os.environ.get("SIO_CLIENT_BUNDLE", ROOT / "tests" / "node_modules" / "socket.io-client" / "dist" / "socket.io.js"))
    if bundle.is_file():
        io.serve_client(bundle.read_bytes())


async def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("LOG_LEVEL", "WARNING"))
    if os.environ.get("RUST_LOG"):
        roomcast.enable_core_logging(os.environ["RUST_LOG"])
    serve_extras()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed before announcing the port, so a SIGTERM right after it is handled.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await io.start(os.environ.get("HOST", "127.0.0.1"), env_int("PORT", 0))
    # One write, so the line never reaches the harness in pieces.
    sys.stdout.write(f"listening on {port}\n")
    sys.stdout.flush()
    await stop.wait()
    await io.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
