"""Intsets: the sorted array of integers Redis keeps small all-integer sets in, as RDB stores it.

Layout: the integer width in bytes (u32 LE: 2, 4 or 8), the count (u32 LE),
then the integers in increasing order, little-endian, all of that width.
"""

from __future__ import annotations

import struct

HEADER_SIZE = 8
_FORMATS = {2: "h", 4: "i", 8: "q"}


class IntsetError(ValueError):
    """A blob that is not a well-formed intset."""


def decode(blob, deep: bool = True) -> list[int]:
    """The integers of an intset, in increasing order.

    As intsetValidateIntegrity: a known width, a size that matches the count,
    and not empty; ``deep`` (sanitize-dump-payload) also requires them
    strictly increasing. Without it, integers out of order come back sorted
    (kvsim keeps intsets sorted), and a repeated one is refused all the same
    (a set cannot hold it twice).
    """
    if len(blob) < HEADER_SIZE:
        raise IntsetError("intset shorter than its header")
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    code = _FORMATS.get(width)
    if code is None:
        raise IntsetError("bad intset encoding %d" % width)
    if len(blob) != HEADER_SIZE + width * count:
        raise IntsetError("intset size does not match its count")
    if not count:
        raise IntsetError("empty intset")
    values = list(struct.unpack_from("<%d%s" % (count, code), blob, HEADER_SIZE))
    if any(a >= b for a, b in zip(values, values[1:])):
        if deep or len(set(values)) != count:
            raise IntsetError("intset is not strictly increasing")
        values.sort()
    return values


def width_of(values) -> int:
    """The narrowest width (2, 4 or 8 bytes) that holds every one of ``values``."""
    low = min(values, default=0)
    high = max(values, default=0)
    return next(w for w in (2, 4, 8) if -(1 << (8 * w - 1)) <= low and high < (1 << (8 * w - 1)))


def encode(values: list[int], width: int = 2) -> bytes:
    """An intset of ``values`` (increasing), at least ``width`` wide (an intset never narrows: it
    keeps the width of the widest integer it ever held)."""
    width = max(width, width_of(values))
    header = width.to_bytes(4, "little") + len(values).to_bytes(4, "little")
    return header + struct.pack("<%d%s" % (len(values), _FORMATS[width]), *values)
