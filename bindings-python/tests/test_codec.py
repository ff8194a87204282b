"""Argument encoding: JSON text plus binary attachments, and back."""

from __future__ import annotations

import pytest

from roomcast import _codec


def test_plain_values_have_no_attachments() -> None:
    text, bins = _codec.encode(("a", 1, [True, None], {"k": 1.5}))
    assert bins is None
    assert _codec.loads(text) == ["a", 1, [True, None], {"k": 1.5}]


def test_binary_values_become_placeholders_in_order() -> None:
    text, bins = _codec.encode((b"x", {"deep": [bytearray(b"y"), memoryview(b"z")]}))
    assert bins == [b"x", b"y", b"z"]
    assert _codec.loads(text) == [
        {"_placeholder": True, "num": 0},
        {"deep": [{"_placeholder": True, "num": 1}, {"_placeholder": True, "num": 2}]},
    ]
    assert _codec.decode(text if isinstance(text, str) else text.decode(), bins) == [b"x", {"deep": [b"y", b"z"]}]


def test_invalid_placeholders_are_left_alone() -> None:
    text = '[{"_placeholder":true,"num":5},{"_placeholder":true,"num":"0"}]'
    assert _codec.decode(text, [b"a"]) == [{"_placeholder": True, "num": 5}, {"_placeholder": True, "num": "0"}]


def test_ack_values() -> None:
    assert _codec.pack(None) == ()
    assert _codec.pack((1, 2)) == (1, 2)
    assert _codec.pack([1, 2]) == ([1, 2],)
    assert _codec.unpack([]) is None
    assert _codec.unpack([1]) == 1
    assert _codec.unpack([1, 2]) == (1, 2)


def test_unserialisable_values_raise() -> None:
    with pytest.raises(TypeError):
        _codec.encode((object(),))
