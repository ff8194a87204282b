"""Room arguments: one name or an iterable of names."""

from __future__ import annotations

from typing import Iterable, Union

Rooms = Union[str, Iterable[str]]

__all__ = ["Rooms", "room_list"]


def room_list(rooms: Rooms) -> list[str]:
    """``"a"`` -> ``["a"]``; an iterable of names -> a list; anything else is a TypeError."""
    if isinstance(rooms, str):
        return [rooms]
    out = list(rooms)
    for r in out:
        if not isinstance(r, str):
            raise TypeError(f"room names are str, not {type(r).__name__}: {r!r}")
    return out
