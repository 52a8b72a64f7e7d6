"""LZF, as Redis's lzf_c.c / lzf_d.c (liblzf 3.6, VERY_FAST, HLOG 16) write and read it.

The compressed stream is a sequence of runs:

- ``000LLLLL`` then ``L + 1`` literal bytes;
- ``LLLooooo oooooooo``: copy ``L + 2`` bytes from ``o + 1`` bytes back (L 1..6);
- ``111ooooo LLLLLLLL oooooooo``: the same with length ``L + 9``.

`compress` follows liblzf step by step (the same hash, the same table updates
after a match, the same output-space checks) with the hash table starting
empty, so for the same input it produces Redis's bytes and gives up (returns
None) exactly when Redis's lzf_compress would return 0. (Redis never clears
its table, so a stale entry from an earlier call could, rarely, give it a
match this does not find: both streams decode to the same bytes.)
"""

from __future__ import annotations

HLOG = 16
HSIZE = 1 << HLOG
MAX_LIT = 1 << 5
MAX_OFF = 1 << 13
MAX_REF = (1 << 8) + (1 << 3)


class LzfError(ValueError):
    """A compressed stream that does not decode to the announced length."""


def _slots(data: bytes, start: int, stop: int) -> memoryview:
    """IDX(hval) for the three bytes at each position from ``start`` to ``stop``: ((h >> 8) - h * 5) & (HSIZE - 1).

    With ``h = a << 16 | b << 8 | c`` that is ``256a - 1279b - 5c`` mod 2**16,
    computed for all the positions at once on 32-bit lanes of big integers
    (offset to stay positive: ``+1279 * 255 + 5 * 255 + 260`` is 0 mod 2**16).
    """
    count = stop - start
    lanes = bytearray(4 * count)
    lanes[0::4] = data[start:stop]
    firsts = int.from_bytes(lanes, "little")
    lanes[0::4] = data[start + 1 : stop + 1].translate(_COMPLEMENT)
    seconds = int.from_bytes(lanes, "little")
    lanes[0::4] = data[start + 2 : stop + 2].translate(_COMPLEMENT)
    thirds = int.from_bytes(lanes, "little")
    offsets = int.from_bytes(_LANE_260 * count, "little")
    total = 256 * firsts + 1279 * seconds + 5 * thirds + offsets
    return memoryview(total.to_bytes(4 * count, "little")).cast("H")[::2]


def _slot(data: bytes, pos: int) -> int:
    """`_slots` for one position."""
    h = data[pos] << 16 | data[pos + 1] << 8 | data[pos + 2]
    return ((h >> 8) - h * 5) & (HSIZE - 1)


_COMPLEMENT = bytes(255 - b for b in range(256))
# The hash table, kept between calls: a call stores base + position, and an
# entry below its own base (left by an earlier call) reads as empty, so no
# call pays for clearing 65536 slots.
_TABLE = [0] * HSIZE
_TABLE_BASE = [1]
_LANE_260 = (260).to_bytes(4, "little")
# Slots are computed this many positions at a time, as the scan reaches them:
# a long match skips the positions it covers (a run of 100 KB of one byte
# needs three slots a match, not 100,000).
SLOTS_AT_ONCE = 4096


def compress(data: bytes, out_limit: int) -> bytes | None:
    """``data`` compressed into at most ``out_limit`` bytes, or None when it does not fit.

    ``op`` follows liblzf's output pointer (the bytes written, counting the
    length byte reserved for the literal run in progress), so that every
    "does it still fit" test gives liblzf's answer. Literal runs are copied
    from the input in slices, when a match or the end closes them.
    """
    size = len(data)
    if not size or not out_limit:
        return None
    out = bytearray()
    end = size - 2
    known_from = known_to = 0  # the positions whose slots are in `known`
    known = memoryview(b"")
    table = _TABLE
    base = _TABLE_BASE[0]  # positions of this call are stored as base + position
    _TABLE_BASE[0] = base + size + 1
    first_literal = 0  # where the literals since the last match begin
    op_at_literals = 1  # op when they began
    pos = 0
    while pos < end:
        if pos < known_to:
            slot = known[pos - known_from]
        elif pos == first_literal:  # just after a match (or at the start): maybe another match
            slot = _slot(data, pos)
        else:
            known_from, known_to = pos, min(pos + SLOTS_AT_ONCE, end)
            known = _slots(data, known_from, known_to)
            slot = known[0]
        ref = table[slot] - base
        table[slot] = base + pos
        if (
            ref <= 0
            or pos - ref > MAX_OFF
            or data[ref] != data[pos]
            or data[ref + 1] != data[pos + 1]
            or data[ref + 2] != data[pos + 2]
        ):
            pos += 1
            continue
        op = _after_literals(op_at_literals, pos - first_literal, out_limit)
        if op is None or op - (not (pos - first_literal) % MAX_LIT) + 4 >= out_limit:
            return None
        _copy_literals(out, data, first_literal, pos)
        length = _match_length(data, ref, pos, min(size - pos - 2, MAX_REF))
        _emit_match(out, pos - ref - 1, length - 2)
        pos += length
        first_literal = pos
        op_at_literals = len(out) + 1
        if pos >= end:
            break
        for back in (pos - 2, pos - 1):
            table[known[back - known_from] if back < known_to else _slot(data, back)] = base + back
    op = _after_literals(op_at_literals, pos - first_literal, out_limit)
    if op is None or op + 3 > out_limit:
        return None
    _copy_literals(out, data, first_literal, size)
    return bytes(out)


def _after_literals(op: int, count: int, out_limit: int) -> int | None:
    """liblzf's op after ``count`` literals from ``op``; None if one of them failed its space test.

    Before each literal liblzf checks ``op < out_limit``; op grows by one per
    literal and by one more each time a run reaches MAX_LIT.
    """
    if count and op + (count - 1) + (count - 1) // MAX_LIT >= out_limit:
        return None
    return op + count + count // MAX_LIT


def _copy_literals(out: bytearray, data: bytes, start: int, end: int) -> None:
    for chunk in range(start, end, MAX_LIT):
        piece = data[chunk : min(chunk + MAX_LIT, end)]
        out.append(len(piece) - 1)
        out += piece


def _match_length(data: bytes, ref: int, pos: int, maxlen: int) -> int:
    """How many bytes liblzf copies for a match of 3 found at ``ref`` and ``pos``.

    As its loop does: past ``maxlen`` 16 it first compares up to 16 bytes
    without the bound (so a match may run to 2 bytes past ``maxlen``, still
    inside the input), then goes on byte by byte while under ``maxlen``.
    The byte comparisons are made a slice at a time (`_same_bytes`).
    """
    if maxlen > 16:
        same = _same_bytes(data, ref + 3, pos + 3, 16)
        if same < 16:
            return 3 + same
        return 19 + _same_bytes(data, ref + 19, pos + 19, maxlen - 19)
    return 3 + _same_bytes(data, ref + 3, pos + 3, maxlen - 3)


def _same_bytes(data: bytes, first: int, second: int, most: int) -> int:
    """How many bytes from ``first`` and from ``second`` are equal, up to ``most``."""
    if most <= 0:
        return 0
    a, b = data[first : first + most], data[second : second + most]
    if a == b:
        return most
    differ = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return most - 1 - (differ.bit_length() - 1) // 8


def _emit_match(out: bytearray, off: int, length: int) -> None:
    """A back reference: ``length`` is the match length minus 2 (1 or more)."""
    if length < 7:
        out.append((off >> 8) + (length << 5))
    else:
        out.append((off >> 8) + (7 << 5))
        out.append(length - 7)
    out.append(off & 0xFF)


def decompress(data, size: int) -> bytes:
    """The ``size`` bytes that ``data`` decompresses to; LzfError if it does not."""
    out = bytearray()
    pos = 0
    end = len(data)
    while pos < end:
        ctrl = data[pos]
        pos += 1
        if ctrl < MAX_LIT:
            ctrl += 1
            if pos + ctrl > end or len(out) + ctrl > size:
                raise LzfError("literal run past the end")
            out += data[pos : pos + ctrl]
            pos += ctrl
            continue
        length = ctrl >> 5
        if length == 7:
            if pos >= end:
                raise LzfError("truncated back reference")
            length += data[pos]
            pos += 1
        if pos >= end:
            raise LzfError("truncated back reference")
        back = ((ctrl & 0x1F) << 8) + data[pos] + 1
        pos += 1
        length += 2
        start = len(out) - back
        if start < 0 or len(out) + length > size:
            raise LzfError("back reference out of range")
        if back >= length:
            out += out[start : start + length]
        else:
            pattern = out[start:]
            out += (pattern * (length // back + 1))[:length]
    if len(out) != size:
        raise LzfError("decompressed to %d bytes, not %d" % (len(out), size))
    return bytes(out)
