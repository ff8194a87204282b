"""Handler signatures and python-socketio's calling conventions.

python-socketio calls ``connect(sid, environ[, auth])`` and ``disconnect(sid[, reason])``
and retries with fewer arguments on ``TypeError``; here the signature is read once, at
registration, so a handler that cannot take the arguments fails there with a message
instead of on the first client.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

__all__ = ["check", "positional_range", "REASONS"]

#: roomcast's disconnect reasons (socket.io's) in python-socketio's words.
REASONS = {
    "client namespace disconnect": "client disconnect",
    "server namespace disconnect": "server disconnect",
    "server shutting down": "server disconnect",
    "forced close": "server disconnect",
    "transport close": "transport close",
    "transport error": "transport error",
    "ping timeout": "ping timeout",
    "parse error": "transport error",
    "slow consumer": "transport error",
    "host backlog full": "transport error",
}

_UNLIMITED = 1 << 30


@functools.lru_cache(maxsize=4096)
def positional_range(fn: Callable[..., Any]) -> tuple[int, int]:
    """(required, accepted) positional arguments of ``fn``; accepted is huge with ``*args``.
    Callables whose signature cannot be read count as taking anything."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return (0, _UNLIMITED)
    required = accepted = 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            accepted += 1
            if p.default is p.empty:
                required += 1
        elif p.kind is p.VAR_POSITIONAL:
            accepted = _UNLIMITED
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            required = _UNLIMITED  # can never be called positionally
    return (required, accepted)


def check(fn: Any, event: str, prefix: int) -> None:
    """Raises TypeError when ``fn`` cannot be called as python-socketio calls the handler of
    ``event``; ``prefix`` counts the leading arguments of catch-all handlers (the event
    name and/or the namespace)."""
    if not callable(fn):
        raise TypeError(f"the handler of {event!r} must be callable, not {type(fn).__name__}")
    name = getattr(fn, "__qualname__", repr(fn))
    required, accepted = positional_range(fn)
    if event == "connect":
        low, high, shape = 2, 3, "(sid, environ) or (sid, environ, auth)"
    elif event == "disconnect":
        low, high, shape = 1, 2, "(sid) or (sid, reason)"
    else:
        low, high, shape = 1, _UNLIMITED, "(sid, *args)"
    low, high = low + prefix, high + prefix
    if prefix:
        shape = "(" + ", ".join(["event", "namespace"][:prefix]) + ", " + shape[1:]
    if accepted < low or required > high:
        raise TypeError(f"handler {name} of {event!r} cannot be called as {shape}: check its parameters")


def call_with(fn: Callable[..., Any], args: tuple[Any, ...], optional: int) -> Any:
    """Calls ``fn`` with ``args``, leaving out the last ``optional`` ones it does not accept
    (``auth`` of connect, ``reason`` of disconnect)."""
    if optional:
        accepted = positional_range(fn)[1]
        if accepted < len(args):
            args = args[: max(len(args) - optional, accepted)]
    return fn(*args)
