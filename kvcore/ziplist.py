"""Ziplists and zipmaps: the blobs older Redis versions (< 7.0, < 2.6) saved small values in.

Redis 7.0 still loads RDB files that hold them (LIST_ZIPLIST, LIST_QUICKLIST
nodes, HASH_ZIPLIST, ZSET_ZIPLIST, HASH_ZIPMAP); kvsim only ever reads them.

Ziplist: total bytes (u32 LE), offset of the last entry (u32 LE), entry count
(u16 LE, 65535 when it does not fit), the entries, then 0xFF. An entry is the
previous entry's size (1 byte, or 0xFE and a u32 LE), an encoding and data:

- ``00pppppp`` / ``01pppppp qqqqqqqq`` / ``10000000`` + u32 BE: a string of that length;
- ``0xC0`` int16, ``0xD0`` int32, ``0xE0`` int64, ``0xF0`` int24, ``0xFE`` int8 (LE);
- ``0xF1`` .. ``0xFD``: the integers 0 .. 12 in the encoding byte itself.

Zipmap: a count byte, then (length, key, length, free byte, value, free
bytes) repeated, then 0xFF; a length is one byte, or 254 and a u32 LE.
"""

from __future__ import annotations

HEADER_SIZE = 10
END = 0xFF
_INT_WIDTHS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


class ZiplistError(ValueError):
    """A blob that is not a well-formed ziplist or zipmap; ``offset`` is where, within it."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def entries(blob) -> list:
    """The entries of a ziplist: ``bytes`` for strings, ``int`` for integers."""
    size = len(blob)
    if size < HEADER_SIZE + 1 or int.from_bytes(blob[0:4], "little") != size:
        raise ZiplistError("ziplist header does not match its size", 0)
    if blob[size - 1] != END:
        raise ZiplistError("ziplist does not end with its terminator", size - 1)
    count = int.from_bytes(blob[8:10], "little")
    out: list = []
    pos = HEADER_SIZE
    end = size - 1
    try:
        while pos < end:
            pos += 5 if blob[pos] == 0xFE else 1
            entry, pos = _entry(blob, pos)
            out.append(entry)
    except IndexError:
        raise ZiplistError("ziplist entry runs past its end", pos) from None
    if pos != end:
        raise ZiplistError("ziplist entry runs past its end", pos)
    if count != 65535 and count != len(out):
        raise ZiplistError("ziplist holds %d entries, not %d" % (len(out), count), 8)
    return out


def _entry(blob, pos: int) -> tuple:
    code = blob[pos]
    kind = code >> 6
    if kind == 0:
        start, length = pos + 1, code & 0x3F
    elif kind == 1:
        start, length = pos + 2, ((code & 0x3F) << 8) | blob[pos + 1]
    elif code == 0x80:
        start, length = pos + 5, int.from_bytes(blob[pos + 1 : pos + 5], "big")
    elif 0xF1 <= code <= 0xFD:
        return (code & 0x0F) - 1, pos + 1
    elif code in _INT_WIDTHS:
        width = _INT_WIDTHS[code]
        if pos + 1 + width > len(blob):
            raise IndexError
        return int.from_bytes(blob[pos + 1 : pos + 1 + width], "little", signed=True), pos + 1 + width
    else:
        raise ZiplistError("bad ziplist entry encoding 0x%02x" % code, pos)
    if start + length > len(blob):
        raise IndexError
    return bytes(blob[start : start + length]), start + length


def strings(blob) -> list[bytes]:
    """The entries as byte strings (integers in decimal)."""
    return [entry if type(entry) is bytes else b"%d" % entry for entry in entries(blob)]


def zipmap_pairs(blob) -> list[bytes]:
    """A zipmap's keys and values, alternating."""
    out: list[bytes] = []
    pos = 1
    try:
        while blob[pos] != END:
            key, pos = _zipmap_string(blob, pos, False)
            value, pos = _zipmap_string(blob, pos, True)
            out += (key, value)
    except IndexError:
        raise ZiplistError("zipmap entry runs past its end", pos) from None
    if pos != len(blob) - 1:
        raise ZiplistError("zipmap has bytes past its end", pos)
    return out


def _zipmap_string(blob, pos: int, with_free: bool) -> tuple[bytes, int]:
    length = blob[pos]
    pos += 1
    if length == 254:
        length = int.from_bytes(blob[pos : pos + 4], "little")
        pos += 4
    elif length > 254:
        raise ZiplistError("bad zipmap length", pos - 1)
    free = 0
    if with_free:
        free = blob[pos]
        pos += 1
    if pos + length + free > len(blob):
        raise IndexError
    return bytes(blob[pos : pos + length]), pos + length + free
