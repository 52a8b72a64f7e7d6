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
    """The entries of a ziplist: ``bytes`` for strings, ``int`` for integers.

    As ziplistValidateIntegrity, which Redis 7.0 always runs deep on a
    ziplist it loads: the header's total bytes and tail offset, the
    terminator, each entry's prevlen and encoding, every entry inside the
    blob, the tail offset on the last entry, and the count.
    """
    size = len(blob)
    if size < HEADER_SIZE + 1 or int.from_bytes(blob[0:4], "little") != size:
        raise ZiplistError("ziplist header does not match its size", 0)
    end = size - 1
    if blob[end] != END:
        raise ZiplistError("ziplist does not end with its terminator", end)
    tail = int.from_bytes(blob[4:8], "little")
    if tail > end:
        raise ZiplistError("ziplist tail offset past its end", 4)
    out: list = []
    pos = HEADER_SIZE
    last = previous_size = 0
    while blob[pos] != END:
        entry, stop = _entry(blob, pos, end, previous_size)
        out.append(entry)
        last, previous_size, pos = pos, stop - pos, stop
    if pos != end:
        raise ZiplistError("ziplist terminator before its end", pos)
    if out and last != tail:
        raise ZiplistError("ziplist tail offset is not its last entry", 4)
    count = int.from_bytes(blob[8:10], "little")
    if count != 65535 and count != len(out):
        raise ZiplistError("ziplist holds %d entries, not %d" % (len(out), count), 8)
    return out


def _entry(blob, pos: int, end: int, previous_size: int) -> tuple:
    """zipEntrySafe: the entry at ``pos`` and where the next one starts."""
    head = pos + (5 if blob[pos] >= 0xFE else 1)
    if head > end:
        raise ZiplistError("ziplist entry header runs past its end", pos)
    prevlen = blob[pos] if head == pos + 1 else int.from_bytes(blob[pos + 1 : head], "little")
    code = blob[head]
    kind = code >> 6
    if kind == 0:
        start, length = head + 1, code & 0x3F
    elif kind == 1:
        start, length = head + 2, ((code & 0x3F) << 8) | (blob[head + 1] if head + 1 <= end else 0)
    elif kind == 2:
        start = head + 5
        length = int.from_bytes(blob[head + 1 : start], "big") if start <= end else 0
    elif 0xF1 <= code <= 0xFD:
        start, length = head + 1, 0
    elif code in _INT_WIDTHS:
        start, length = head + 1, _INT_WIDTHS[code]
    else:
        raise ZiplistError("bad ziplist entry encoding 0x%02x" % code, head)
    stop = start + length
    if start > end or stop > end:
        raise ZiplistError("ziplist entry runs past its end", pos)
    if prevlen != previous_size:
        raise ZiplistError("ziplist entry prevlen is not its previous entry's size", pos)
    if kind < 3:
        return bytes(blob[start:stop]), stop
    if length == 0:
        return (code & 0x0F) - 1, stop
    return int.from_bytes(blob[start:stop], "little", signed=True), stop


def strings(blob) -> list[bytes]:
    """The entries as byte strings (integers in decimal)."""
    return [entry if type(entry) is bytes else b"%d" % entry for entry in entries(blob)]


def zipmap_pairs(blob) -> list[bytes]:
    """A zipmap's keys and values, alternating: as zipmapValidateIntegrity (always deep), then zipmapNext."""
    size = len(blob)
    if size < 2 or blob[size - 1] != END:
        raise ZiplistError("zipmap does not end with its terminator", size - 1)
    out: list[bytes] = []
    pos = 1
    while blob[pos] != END:
        key, pos = _zipmap_string(blob, pos, False)
        value, pos = _zipmap_string(blob, pos, True)
        out += (key, value)
    if not out:
        raise ZiplistError("empty zipmap", 0)
    if blob[0] != 254 and blob[0] != len(out) // 2:
        raise ZiplistError("zipmap holds %d entries, not %d" % (len(out) // 2, blob[0]), 0)
    return out


def _zipmap_string(blob, pos: int, with_free: bool) -> tuple[bytes, int]:
    """One length-prefixed string (a value has a free-space byte after its length, and that many bytes after it)."""
    last = len(blob) - 1
    head = pos + (1 if blob[pos] < 254 else 5)
    if head > last:
        raise ZiplistError("zipmap length runs past its end", pos)
    length = blob[pos] if head == pos + 1 else int.from_bytes(blob[pos + 1 : head], "little")
    free = 0
    if with_free:
        free = blob[head]
        head += 1
    stop = head + length
    if stop + free > last:
        raise ZiplistError("zipmap entry runs past its end", pos)
    return bytes(blob[head:stop]), stop + free
