"""Argument parsing shared by the command families, with Redis's error texts."""

from __future__ import annotations

import math

from kvcore import errors
from kvcore.reply import Error

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1


def parse_int(arg: bytes, error: str = errors.NOT_INTEGER) -> int:
    """A signed 64-bit integer spelt as Redis's string2ll accepts it."""
    digits = arg[1:] if arg[:1] == b"-" else arg
    if (
        not digits.isdigit()
        or len(arg) > 20
        or (digits[0] == 0x30 and (len(digits) > 1 or digits is not arg))
    ):
        raise Error(error)
    value = int(arg)
    if value < LLONG_MIN or value > LLONG_MAX:
        raise Error(error)
    return value


def parse_float(arg: bytes, error: str = errors.NOT_FLOAT) -> float:
    """A double as Redis's strtod-based parser accepts it: no NaN, no overflow."""
    if not arg or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise Error(error)
    text = arg.lower().lstrip(b"+-")
    try:
        if text.startswith(b"0x"):
            value = float.fromhex(arg.decode("ascii"))
        else:
            value = float(arg)
    except (ValueError, UnicodeDecodeError):
        raise Error(error) from None
    if math.isnan(value):
        raise Error(error)
    if math.isinf(value) and not text.startswith(b"inf"):
        raise Error(error)  # overflow (ERANGE)
    if value == 0.0 and any(ch in b"123456789" for ch in text.split(b"e")[0]):
        raise Error(error)  # underflow (ERANGE)
    return value


class Cursor:
    """Reads a command's arguments left to right (like mini-redis's Parse)."""

    __slots__ = ("argv", "pos")

    def __init__(self, argv: list[bytes], pos: int = 1) -> None:
        self.argv = argv
        self.pos = pos

    def more(self) -> bool:
        return self.pos < len(self.argv)

    def remaining(self) -> int:
        return len(self.argv) - self.pos

    def next(self) -> bytes:
        if self.pos >= len(self.argv):
            raise Error(errors.SYNTAX)
        arg = self.argv[self.pos]
        self.pos += 1
        return arg

    def next_upper(self) -> bytes:
        return self.next().upper()

    def next_int(self, error: str = errors.NOT_INTEGER) -> int:
        return parse_int(self.next(), error)

    def next_float(self, error: str = errors.NOT_FLOAT) -> float:
        return parse_float(self.next(), error)

    def peek_upper(self) -> bytes | None:
        return self.argv[self.pos].upper() if self.pos < len(self.argv) else None


def index_range(start: int, end: int, size: int) -> tuple[int, int] | None:
    """LRANGE's (and ZRANGE's, LTRIM's) inclusive range with negative indexes; None when empty.

    Unlike GETRANGE's (`strings.clamp_range`), a range wholly before the start is empty.
    """
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)
