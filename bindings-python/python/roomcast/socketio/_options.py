"""python-socketio's server options, translated into :class:`roomcast.Server` options.

Every option python-socketio documents is either mapped, accepted as a documented no-op
(listed in ``NO_OPS`` with the reason), or refused with a ``ValueError`` naming it; an
unknown name is a ``TypeError``, as Python reports unknown keyword arguments.
"""

from __future__ import annotations

from typing import Any

__all__ = ["translate", "NO_OPS"]

#: Accepted and ignored, with the reason (shown in the migration guide).
NO_OPS = {
    "monitor_clients": "the core always watches heartbeats",
    "engineio_logger": "roomcast.enable_core_logging() prints the core's transport diagnostics",
}

#: Options of roomcast.Server passed through unchanged (roomcast extensions).
_PASS_THROUGH = {
    "path",
    "upgrade_timeout",
    "connect_timeout",
    "cors_methods",
    "cors_allowed_headers",
    "max_queued_frames",
    "max_queued_bytes",
    "max_pending_acks",
    "max_child_namespaces",
    "max_host_backlog_per_socket",
    "max_host_backlog",
    "allow_eio3",
    "connection_state_recovery",
    "per_message_deflate",
    "allow_request",
    "http_header_timeout",
    "http_body_timeout",
    "max_connections",
    "max_connections_per_ip",
    "max_sessions",
}

_ASYNC_MODES = {True: (None, "asgi"), False: (None, "threading")}


def translate(options: dict[str, Any], *, is_async: bool) -> dict[str, Any]:
    """roomcast.Server keyword arguments for python-socketio engine options."""
    options = dict(options)
    out: dict[str, Any] = {}
    mode = options.pop("async_mode", None)
    if mode not in _ASYNC_MODES[is_async]:
        hint = (
            "AsyncServer runs under any ASGI server (roomcast.socketio.ASGIApp) or roomcast's own listener"
            if is_async
            else "Server needs no eventlet or gevent: roomcast does its I/O on threads of its own"
        )
        raise ValueError(f"async_mode={mode!r} is not supported by roomcast: {hint}; leave async_mode out")
    for name in NO_OPS:
        options.pop(name, None)

    interval = options.pop("ping_interval", 25)
    grace = 0.0
    if isinstance(interval, (tuple, list)):
        interval, grace = interval
    out["ping_interval"] = float(interval)
    # python-engineio's grace period is extra time before a silent client counts as gone.
    out["ping_timeout"] = float(options.pop("ping_timeout", 20)) + float(grace)
    if "max_http_buffer_size" in options:
        out["max_http_buffer_size"] = int(options.pop("max_http_buffer_size"))

    origins = options.pop("cors_allowed_origins", None)
    # python-socketio: [] turns CORS handling off; roomcast: None sends no CORS headers.
    out["cors_allowed_origins"] = origins if origins not in ([], ()) else None
    out["cors_credentials"] = bool(options.pop("cors_credentials", True))

    if "transports" in options:
        transports = options.pop("transports")
        out["transports"] = [transports] if isinstance(transports, str) else list(transports)
    if not options.pop("allow_upgrades", True):
        raise ValueError(
            "allow_upgrades=False is not supported by roomcast: choose one transport with "
            "transports=['polling'] or transports=['websocket'] instead"
        )

    compression = options.pop("http_compression", True)
    threshold = options.pop("compression_threshold", None)
    if not compression:
        out["http_compression"] = False
    elif threshold is not None:
        out["http_compression"] = max(1, int(threshold))

    cookie = options.pop("cookie", None)
    if cookie:
        raise ValueError(
            f"cookie={cookie!r} is not supported by roomcast (no session cookie is sent): "
            "route clients to the same node by their sid query parameter or use WebSocket only"
        )
    for name in ("json", "handle_sigint"):
        if options.pop(name, None) is not None:
            raise ValueError(f"{name}= is not supported by roomcast: leave it out")

    for name in list(options):
        if name in _PASS_THROUGH:
            out[name] = options.pop(name)
    if options:
        names = ", ".join(sorted(options))
        raise TypeError(f"unknown option(s) for roomcast.socketio: {names}")
    return out
