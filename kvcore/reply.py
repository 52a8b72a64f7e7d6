"""Reply values: what a command answers, before any bytes exist.

Plain Python values stand for the common RESP types so handlers stay cheap:
``bytes`` is a bulk string, ``int`` an integer, ``None`` a null bulk string and
``list`` an array. Everything else is a small class here. Only `kvcore.resp`
turns these into bytes, for RESP2 or RESP3.
"""

from __future__ import annotations


class Simple:
    """A simple string (``+OK``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return type(other) is Simple and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Simple({self.text!r})"


class Error(Exception):
    """An error reply; ``text`` starts with its code (``ERR``, ``WRONGTYPE``...).

    It is an exception too, so argument parsers deep in a handler can raise it
    and the dispatcher turns it into the reply. ``counted``: already in the error
    stats (a command's error that a script passed on was counted where it happened).
    """

    counted = False

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __eq__(self, other: object) -> bool:
        return type(other) is Error and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Error({self.text!r})"


class NullArray:
    """The null array (``*-1`` in RESP2, ``_`` in RESP3)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = NullArray()


class Map:
    """An ordered map: a list of (key, value) pairs. RESP2 flattens it."""

    __slots__ = ("pairs",)

    def __init__(self, pairs) -> None:
        self.pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)

    def __eq__(self, other: object) -> bool:
        return type(other) is Map and other.pairs == self.pairs

    def __repr__(self) -> str:
        return f"Map({self.pairs!r})"


class SetReply:
    """A set of replies (``~`` in RESP3, an array in RESP2)."""

    __slots__ = ("items",)

    def __init__(self, items) -> None:
        self.items = list(items)

    def __eq__(self, other: object) -> bool:
        return type(other) is SetReply and other.items == self.items

    def __repr__(self) -> str:
        return f"SetReply({self.items!r})"


class Double:
    """A double (``,`` in RESP3, a bulk string in RESP2); ``text`` when Redis prints it otherwise
    than ``%.17g`` (GEOPOS's long double text)."""

    __slots__ = ("value", "text")

    def __init__(self, value: float, text: bytes | None = None) -> None:
        self.value = value
        self.text = text

    def __eq__(self, other: object) -> bool:
        return type(other) is Double and other.value == self.value and other.text == self.text

    def __repr__(self) -> str:
        return f"Double({self.value!r})"


class Bool:
    """A boolean (``#t`` in RESP3, integer 1/0 in RESP2)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Bool and other.value == self.value


class Verbatim:
    """A verbatim string with a three-letter format (``=`` in RESP3)."""

    __slots__ = ("fmt", "text")

    def __init__(self, text: bytes, fmt: str = "txt") -> None:
        self.text = text
        self.fmt = fmt


class BigNumber:
    """A big number (``(`` in RESP3, a bulk string in RESP2): an int, or the digits a script gave."""

    __slots__ = ("value",)

    def __init__(self, value: int | bytes) -> None:
        self.value = value

    def digits(self) -> bytes:
        return self.value if type(self.value) is bytes else b"%d" % self.value


class Push:
    """An out-of-band push (``>`` in RESP3, an array in RESP2)."""

    __slots__ = ("items",)

    def __init__(self, items) -> None:
        self.items = list(items)


class Attribute:
    """A reply preceded by RESP3 attributes (``|``: a map of extra data); RESP2 sends the reply alone."""

    __slots__ = ("pairs", "reply")

    def __init__(self, pairs, reply) -> None:
        self.pairs = list(pairs)
        self.reply = reply


class Raw:
    """Bytes already encoded identically for RESP2 and RESP3."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


OK = Simple("OK")
QUEUED = Simple("QUEUED")
PONG = Simple("PONG")
