"""How Flask-SocketIO calls ``connect`` and ``disconnect`` handlers: with ``auth`` / the
reason when they take an argument, with nothing otherwise. The signature is read instead of
retrying on ``TypeError``, so a ``TypeError`` raised inside a handler is not swallowed."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

__all__ = ["accepts_argument"]


@functools.lru_cache(maxsize=4096)
def accepts_argument(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` can take one positional argument."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return True
    return False
