"""Event arguments <-> the core's wire form: the JSON text of an argument array plus binary
attachments, each referenced from the JSON by ``{"_placeholder": true, "num": i}``.

orjson is used when it is installed, the standard library's json otherwise (or when the
environment variable ``ROOMCAST_JSON`` is ``json``).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

_orjson: Any
try:  # pragma: no cover - depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None
# ROOMCAST_JSON=json forces the standard library (to test that path, or to match its output).
if os.environ.get("ROOMCAST_JSON") == "json":  # pragma: no cover
    _orjson = None

__all__ = ["encode", "decode", "dumps", "loads", "unpack", "pack", "SERIALIZER"]

_BINARY = (bytes, bytearray, memoryview)

#: Which serializer is in use ("orjson" or "json").
SERIALIZER = "orjson" if _orjson is not None else "json"


def _hook(binaries: list[bytes]) -> Callable[[Any], Any]:
    def default(obj: Any) -> Any:
        if isinstance(obj, _BINARY):
            binaries.append(bytes(obj))
            return {"_placeholder": True, "num": len(binaries) - 1}
        if isinstance(obj, (set, frozenset)):
            return list(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return default


if _orjson is not None:
    _OPTIONS = _orjson.OPT_NON_STR_KEYS

    def _dumps_with(value: Any, default: Callable[[Any], Any]) -> str | bytes:
        out: bytes = _orjson.dumps(value, default=default, option=_OPTIONS)
        return out

    def loads(text: str | bytes) -> Any:
        """Parses JSON text."""
        return _orjson.loads(text)

else:

    def _dumps_with(value: Any, default: Callable[[Any], Any]) -> str | bytes:
        # allow_nan=False: NaN is not JSON, and a client would fail to parse the packet.
        return json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def loads(text: str | bytes) -> Any:
        """Parses JSON text."""
        return json.loads(text)


def dumps(value: Any) -> str:
    """Serializes one JSON-compatible value (no binary support) to text."""
    out = _dumps_with(value, _hook([]))
    return out.decode() if isinstance(out, bytes) else out


def encode(args: tuple[Any, ...] | list[Any]) -> tuple[str | bytes, list[bytes] | None]:
    """Encodes event arguments: ``(json_text, attachments or None)``.

    ``bytes``, ``bytearray`` and ``memoryview`` values anywhere in the arguments become
    attachments; tuples and sets become JSON arrays.
    """
    binaries: list[bytes] = []
    text = _dumps_with(args, _hook(binaries))
    return text, (binaries or None)


def _fill(value: Any, binaries: list[bytes]) -> Any:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, (list, dict)):
                value[i] = _fill(item, binaries)
        return value
    if isinstance(value, dict):
        if value.get("_placeholder") is True:
            num = value.get("num")
            if type(num) is int and 0 <= num < len(binaries):
                return binaries[num]
            return value
        for key, item in value.items():
            if isinstance(item, (list, dict)):
                value[key] = _fill(item, binaries)
        return value
    return value


def decode(text: str, binaries: list[bytes] | None) -> list[Any]:
    """Decodes event arguments into a list, placeholders replaced by ``bytes``."""
    args = loads(text)
    if not isinstance(args, list):
        args = [args]
    if binaries:
        _fill(args, binaries)
    return args


def unpack(args: list[Any]) -> Any:
    """Acknowledgement arguments as Python returns them: nothing -> None, one -> the value,
    several -> a tuple."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def pack(result: Any) -> tuple[Any, ...]:
    """A handler's return value as acknowledgement arguments: None -> none, a tuple -> one
    argument per item, anything else -> one argument."""
    if result is None:
        return ()
    if isinstance(result, tuple):
        return result
    return (result,)
