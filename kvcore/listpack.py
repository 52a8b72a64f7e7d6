"""Listpacks, the blob Redis 7 keeps small lists, hashes and sorted sets in, as RDB stores them.

Layout: total bytes (u32 LE), element count (u16 LE, 65535 when it does not
fit), the entries, then the terminator 0xFF. An entry is its encoding and data
followed by its "backlen", the length of encoding + data in 1 to 5 bytes.

Encodings, by the first byte:

- ``0xxxxxxx`` a 7-bit unsigned integer;
- ``10xxxxxx`` a string of up to 63 bytes;
- ``110xxxxx yyyyyyyy`` a 13-bit signed integer;
- ``1110xxxx yyyyyyyy`` a string of up to 4095 bytes (length big-endian in 12 bits);
- ``0xF0`` + u32 LE: a longer string;
- ``0xF1`` / ``0xF2`` / ``0xF3`` / ``0xF4``: a 16 / 24 / 32 / 64-bit signed integer (LE).

`encode` chooses encodings as lpAppend does (a string that reads as a 64-bit
integer in canonical form is stored as that integer), so its blobs are byte
for byte Redis's.
"""

from __future__ import annotations

from kvcore.types_set import is_int64_text

HEADER_SIZE = 6
EOF = 0xFF
COUNT_UNKNOWN = 65535


class ListpackError(ValueError):
    """A blob that is not a well-formed listpack; ``offset`` is where within it (the entry's start
    for a bad entry, ``decoded`` holding those before it). ``in_content``: the header and
    terminator are right, so Redis's shallow check (lpValidateIntegrity without deep) lets the
    blob through."""

    def __init__(self, message: str, offset: int, in_content: bool = True) -> None:
        super().__init__(message)
        self.offset = offset
        self.in_content = in_content
        self.decoded: list = []  # the entries before the bad one


def entries(blob, deep: bool = True) -> list:
    """The entries of a listpack: ``bytes`` for strings, ``int`` for integers.

    As lpValidateIntegrity with lpValidateNext: the header's total bytes match
    the blob, it ends with the terminator, every entry's encoding is known and
    its data lies inside the blob, and the header's count is right (Redis
    checks it only deeply, but trusts it when it does not: kvsim cannot).
    ``deep`` (sanitize-dump-payload) adds the check decoding forward does not
    need: each entry's backlen.
    """
    size = len(blob)
    if size < HEADER_SIZE + 1 or int.from_bytes(blob[0:4], "little") != size:
        raise ListpackError("listpack header does not match its size", 0, False)
    end = size - 1
    if blob[end] != EOF:
        raise ListpackError("listpack does not end with its terminator", end, False)
    out: list = []
    try:
        _decode_into(out, blob, end, deep)
    except ListpackError as exc:
        exc.decoded = out
        raise
    count = blob[4] | (blob[5] << 8)
    if count != COUNT_UNKNOWN and count != len(out):
        raise ListpackError("listpack holds %d entries, not %d" % (len(out), count), 4)
    return out


def _decode_into(out: list, blob, end: int, deep: bool) -> None:
    """Append the entries to ``out``: on a bad one, those before it are there."""
    append = out.append
    pos = HEADER_SIZE
    while True:
        first = blob[pos]
        if first < 0xC0:  # the common small entries first: a 7-bit integer or a short string, 1-byte backlen
            stop = pos + 1 if first < 0x80 else pos + 1 + (first & 0x3F)
            if stop >= end:
                raise ListpackError("listpack entry runs past its end", pos)
            if deep and blob[stop] != stop - pos and _decode_backlen(blob, stop) != stop - pos:
                raise ListpackError("listpack entry backlen does not match its size", pos)
            append(first if first < 0x80 else bytes(blob[pos + 1 : stop]))
            pos = stop + 1
            continue
        if first == EOF:
            break
        if first < 0xE0:
            start = stop = pos + 2
            value = ((first & 0x1F) << 8) | blob[pos + 1] if stop <= end else 0
            value = value - 8192 if value >= 4096 else value
        elif first < 0xF0:
            start = pos + 2
            stop = start + (((first & 0x0F) << 8) | blob[pos + 1] if start <= end else 0)
            value = None
        elif first == 0xF0:
            start = pos + 5
            stop = start + (int.from_bytes(blob[pos + 1 : start], "little") if start <= end else 0)
            value = None
        elif first <= 0xF4:
            start, stop = pos + 1, pos + 1 + _INT_WIDTHS[first]
            value = int.from_bytes(blob[start:stop], "little", signed=True)
        else:
            raise ListpackError("bad listpack entry encoding 0x%02x" % first, pos)
        backlen = _backlen_size(stop - pos)
        following = stop + backlen
        if start > end or following > end:
            raise ListpackError("listpack entry runs past its end", pos)
        if deep and _decode_backlen(blob, following - 1) != stop - pos:
            raise ListpackError("listpack entry backlen does not match its size", pos)
        append(bytes(blob[start:stop]) if value is None else value)
        pos = following
    if pos != end:
        raise ListpackError("listpack terminator before its end", pos)


def _decode_backlen(blob, pos: int) -> int:
    """lpDecodeBacklen: read backwards from ``pos``, 7 bits a byte, while bit 7 is set (5 bytes at most)."""
    value = shift = 0
    for _ in range(5):
        byte = blob[pos]
        value |= (byte & 127) << shift
        if not byte & 128:
            break
        shift += 7
        pos -= 1
    return value


_INT_WIDTHS = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}


def _backlen_size(entry_size: int) -> int:
    if entry_size <= 127:
        return 1
    if entry_size < 16383:
        return 2
    if entry_size < 2097151:
        return 3
    if entry_size < 268435455:
        return 4
    return 5


def strings(blob, deep: bool = True) -> list[bytes]:
    """The entries as byte strings (integers in decimal), as a list or hash reads them."""
    return [entry if type(entry) is bytes else b"%d" % entry for entry in entries(blob, deep)]


def encode(items) -> bytes:
    """A listpack of ``items`` (``bytes`` or ``int``), encoded as Redis's lpAppend would."""
    return assemble([encode_entry(item) for item in items])


def assemble(encoded: list[bytes]) -> bytes:
    """A listpack of entries already encoded by `encode_entry`."""
    body = b"".join(encoded)
    total = HEADER_SIZE + len(body) + 1
    count = min(len(encoded), COUNT_UNKNOWN)
    return b"".join([total.to_bytes(4, "little"), count.to_bytes(2, "little"), body, b"\xff"])


def entry_size(item: bytes) -> int:
    """The bytes `encode_entry` would take for ``item``, without encoding it."""
    size = len(item)
    if size < 64:
        if size <= 20 and item[:1] in _NUMBER_STARTS and is_int64_text(item):
            return len(_int_entry(int(item)))
        return size + 2  # a one-byte head and a one-byte backlen
    head = 2 if size < 4096 else 5
    return head + size + _backlen_size(head + size)


def encode_entry(item) -> bytes:
    """One entry, backlen included: ``item`` is ``bytes`` or ``int``."""
    if type(item) is not int:
        if len(item) > 20 or item[:1] not in _NUMBER_STARTS or not is_int64_text(item):
            return _string_entry(item)
        item = int(item)
    return _int_entry(item)


_NUMBER_STARTS = frozenset(bytes((byte,)) for byte in b"-0123456789")
_SHORT_STRING_HEADS = [bytes((0x80 | size,)) for size in range(64)]
_SHORT_BACKLENS = [bytes((size,)) for size in range(65)]  # a short string entry's size, head included


def _string_entry(item: bytes) -> bytes:
    size = len(item)
    if size < 64:  # a one-byte head, and the entry's size (up to 64) in a one-byte backlen
        return _SHORT_STRING_HEADS[size] + item + _SHORT_BACKLENS[size + 1]
    if size < 4096:
        head = bytes((0xE0 | (size >> 8), size & 0xFF))
    else:
        head = b"\xf0" + size.to_bytes(4, "little")
    return head + item + _backlen(len(head) + size)


def _int_entry(value: int) -> bytes:
    if 0 <= value <= 127:
        return bytes((value, 1))
    if -4096 <= value <= 4095:
        value &= 0x1FFF
        return bytes((0xC0 | (value >> 8), value & 0xFF, 2))
    for code, width in _INT_WIDTHS.items():
        if -(1 << (8 * width - 1)) <= value < (1 << (8 * width - 1)):
            return bytes((code,)) + value.to_bytes(width, "little", signed=True) + bytes((1 + width,))
    raise OverflowError("listpack integers are 64-bit")


def _backlen(size: int) -> bytes:
    """lpEncodeBacklen: the entry size in 7-bit groups, most significant first, all but it with bit 7 set."""
    count = _backlen_size(size)
    return bytes([size >> (7 * (count - 1))] + [((size >> (7 * i)) & 127) | 128 for i in range(count - 2, -1, -1)])
