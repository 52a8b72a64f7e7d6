"""MurmurHash64A, the 64-bit hash Redis's HyperLogLog feeds its elements through.

Redis's copy is endian-neutral: the body is read as little-endian 64-bit words
and the tail bytes are folded in little-endian order, so one Python version
gives the same numbers as redis-server on any machine.
"""

from __future__ import annotations

from struct import Struct

M = 0xC6A4A7935BD1E995
MASK64 = (1 << 64) - 1
_WORDS: dict[int, Struct] = {}  # word count -> a little-endian reader, for short inputs


def _words(count: int) -> Struct:
    reader = _WORDS.get(count)
    if reader is None:
        reader = Struct(f"<{count}Q")
        if count <= 64:
            _WORDS[count] = reader
    return reader


def murmurhash64a(data: bytes, seed: int) -> int:
    """MurmurHash64A of ``data`` with a 32-bit ``seed``, as an unsigned 64-bit int."""
    length = len(data)
    h = (seed ^ (length * M)) & MASK64
    nwords = length >> 3
    if nwords:
        for k in _words(nwords).unpack_from(data):
            k = (k * M) & MASK64
            k = ((k ^ (k >> 47)) * M) & MASK64
            h = ((h ^ k) * M) & MASK64
    if length & 7:
        h = ((h ^ int.from_bytes(data[nwords << 3 :], "little")) * M) & MASK64
    h = ((h ^ (h >> 47)) * M) & MASK64
    return h ^ (h >> 47)
