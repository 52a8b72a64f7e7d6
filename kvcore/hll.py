"""Redis's HyperLogLog, byte for byte: the string layout, its edits and the estimator.

A HyperLogLog is an ordinary string value. Its 16-byte header is the magic
``HYLL``, an encoding byte (0 dense, 1 sparse), three unused bytes and the
cached cardinality (8 bytes, little-endian; the top bit of the last byte set
means "stale"). After it come 16384 six-bit registers, either packed (dense,
12288 bytes, least significant bits first) or run-length coded (sparse:
ZERO ``00xxxxxx``, XZERO ``01xxxxxx yyyyyyyy`` and VAL ``1vvvvvxx`` opcodes).

Every edit follows redis-server 7.0's hyperloglog.c step by step (the sparse
opcode split, the merge of neighbouring VAL opcodes, promotion to dense past
``hll-sparse-max-bytes`` or for a register above 32), so the strings this
module produces are the ones Redis stores, and the counts are Redis's: the
Ertl estimator over the register histogram, in the same floating-point order.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from itertools import accumulate

from kvcore.murmur import murmurhash64a

REGISTERS = 16384
P_MASK = REGISTERS - 1
Q = 50
HEADER_SIZE = 16
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HEADER_SIZE + DENSE_BYTES
DENSE = 0
SPARSE = 1
SEED = 0xADC83B19
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
ALPHA_INF = 0.721347520444481703680
LLONG_OVERFLOW = 1 << 63

EMPTY = b"HYLL\x01" + b"\x00" * 11 + b"\x7f\xff"
"""A new HLL (createHLLObject): sparse, cache valid at 0, one XZERO over every register."""

UPDATED = 1
UNCHANGED = 0
INVALID = -1
_PROMOTE = 2

_XZERO_FIRST = re.compile(rb"[\x40-\x7f]")
# Registers covered by a one-byte opcode (ZERO or VAL); XZERO is read apart.
_SPAN = bytes((b & 3) + 1 if b & 0x80 else (b + 1 if b < 0x40 else 0) for b in range(256))
# Byte tables that unpack / pack four 6-bit registers from / into three bytes.
_LOW6 = bytes(b & 63 for b in range(256))
_SHR6 = bytes(b >> 6 for b in range(256))
_SHR4 = bytes(b >> 4 for b in range(256))
_SHR2 = bytes(b >> 2 for b in range(256))
_LOW4_SHL2 = bytes((b & 15) << 2 for b in range(256))
_LOW2_SHL4 = bytes((b & 3) << 4 for b in range(256))
_LOW2_SHL6 = bytes((b & 3) << 6 for b in range(256))
_LOW4_SHL4 = bytes((b & 15) << 4 for b in range(256))
_SHL2 = bytes((b << 2) & 0xFF for b in range(256))


def is_hll(value: bytes) -> bool:
    """The checks of Redis's isHLLObjectOrReply (the type check is the caller's)."""
    return (
        len(value) >= HEADER_SIZE
        and value[:4] == b"HYLL"
        and value[4] <= SPARSE
        and (value[4] != DENSE or len(value) == DENSE_SIZE)
    )


def pattern(element: bytes) -> tuple[int, int]:
    """The register an element lands in and the length of its 0...01 run."""
    h = murmurhash64a(element, SEED)
    rest = (h >> 14) | (1 << Q)
    return h & P_MASK, (rest & -rest).bit_length()


# -- dense registers ---------------------------------------------------------
def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equally long strings whose set bits never overlap."""
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def unpack(dense: bytes | bytearray) -> bytearray:
    """The 16384 registers of a dense payload, one byte each."""
    b0, b1, b2 = dense[0::3], dense[1::3], dense[2::3]
    raw = bytearray(REGISTERS)
    raw[0::4] = b0.translate(_LOW6)
    raw[1::4] = _or(b0.translate(_SHR6), b1.translate(_LOW4_SHL2))
    raw[2::4] = _or(b1.translate(_SHR4), b2.translate(_LOW2_SHL4))
    raw[3::4] = b2.translate(_SHR2)
    return raw


def pack(raw: bytes | bytearray) -> bytearray:
    """A dense payload from 16384 one-byte registers (each below 64)."""
    r0, r1, r2, r3 = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    dense = bytearray(DENSE_BYTES)
    dense[0::3] = _or(r0, r1.translate(_LOW2_SHL6))
    dense[1::3] = _or(r1.translate(_SHR2), r2.translate(_LOW4_SHL4))
    dense[2::3] = _or(r2.translate(_SHR4), r3.translate(_SHL2))
    return dense


def dense_set(dense: bytearray, index: int, count: int) -> int:
    """hllDenseSet: raise register ``index`` to ``count``; UPDATED if it grew."""
    byte = index * 6 >> 3
    shift = index * 6 & 7
    two = byte + 1 < DENSE_BYTES
    word = dense[byte] | (dense[byte + 1] << 8 if two else 0)
    if count <= (word >> shift) & 63:
        return UNCHANGED
    word = (word & ~(63 << shift)) | (count << shift)
    dense[byte] = word & 0xFF
    if two:
        dense[byte + 1] = word >> 8
    return UPDATED


def raw_max(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Register-wise maximum of two one-byte-per-register arrays."""
    return bytearray(map(max, a, b))


# -- sparse registers --------------------------------------------------------
def _val(value: int, length: int) -> int:
    return 0x80 | ((value - 1) << 2) | (length - 1)


def _zero_run(seq: bytearray, starts: list[int], first: int, length: int) -> None:
    """Append the opcode Redis writes for ``length`` zero registers from ``first``."""
    if length > ZERO_MAX_LEN:
        seq += bytes((0x40 | ((length - 1) >> 8), (length - 1) & 0xFF))
        starts += (first, first)
    else:
        seq.append(length - 1)
        starts.append(first)


class Sparse:
    """A sparse payload as Redis's bytes, plus the first register of every byte.

    ``ops`` is the payload itself; ``starts[i]`` is the first register covered
    by the opcode at byte ``i`` (both bytes of an XZERO share it), so finding
    the opcode of a register is a bisection instead of Redis's linear walk.
    """

    __slots__ = ("ops", "starts", "past_end")

    def __init__(self, payload: bytes) -> None:
        self.ops = bytearray(payload)
        self.past_end = 0  # the byte Redis keeps just past the string: its NUL, until an edit overwrites it
        self.starts = _index(payload, 0)

    def _byte(self, i: int) -> int:
        """The byte at i; Redis reads ``past_end`` for an XZERO cut short at the end."""
        if i < len(self.ops):
            return self.ops[i]
        return self.past_end if i == len(self.ops) else 0

    def _span(self, p: int) -> int:
        """Registers covered by the opcode at byte p."""
        op = self.ops[p]
        if op & 0x80:
            return (op & 3) + 1
        if op & 0x40:
            return (((op & 0x3F) << 8) | self._byte(p + 1)) + 1
        return op + 1

    def total(self) -> int:
        """How many registers the opcodes cover (16384 unless corrupt)."""
        if not self.ops:
            return 0
        last = len(self.ops) - 1
        if last and self.starts[last - 1] == self.starts[last]:
            last -= 1
        return self.starts[last] + self._span(last)

    def _op_at(self, index: int) -> int:
        p = bisect_right(self.starts, index) - 1
        if p > 0 and self.starts[p - 1] == self.starts[p]:
            p -= 1
        return p

    def _prev(self, p: int) -> int:
        """The byte of the opcode before the one at p (0 when p is the first)."""
        if p >= 2 and self.starts[p - 2] == self.starts[p - 1]:
            return p - 2
        return max(p - 1, 0)

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """hllSparseSet up to its promotion: UPDATED, UNCHANGED, INVALID or _PROMOTE."""
        if count > VAL_MAX_VALUE:
            return _PROMOTE
        if index >= self.total():
            return INVALID
        ops = self.ops
        p = self._op_at(index)
        first, op, runlen = self.starts[p], ops[p], self._span(p)
        if op & 0x80 and ((op >> 2) & 0x1F) + 1 >= count:
            return UNCHANGED
        if runlen == 1 and not op & 0x40:  # a lone VAL or ZERO: overwrite it in place
            ops[p] = _val(count, 1)
            return self._merge_from(self._prev(p))
        seq, seq_starts = _split(op, first, first + runlen - 1, index, count)
        oldlen = 2 if op & 0xC0 == 0x40 else 1
        delta = len(seq) - oldlen
        if delta > 0 and HEADER_SIZE + len(ops) + delta > max_bytes:
            return _PROMOTE
        prev = self._prev(p)
        cut_short = p + oldlen > len(ops)
        ops[p : p + oldlen] = seq
        if cut_short:
            # An XZERO missing its second byte: Redis's length arithmetic leaves the
            # last byte of the new opcodes just past the end of the string.
            self.past_end = ops.pop()
            self.starts = _index(bytes(ops), self.past_end)
        else:
            self.starts[p : p + oldlen] = seq_starts
            if delta:
                self.past_end = 0
        return self._merge_from(prev)

    def _merge_from(self, p: int) -> int:
        """Step 4 of hllSparseSet: merge equal VAL neighbours, five opcodes from p."""
        ops, starts = self.ops, self.starts
        scan = 5
        while p < len(ops) and scan:
            scan -= 1
            op = ops[p]
            if not op & 0x80:
                p += 2 if op & 0x40 else 1
                continue
            if p + 1 < len(ops) and ops[p + 1] & 0x80:
                following = ops[p + 1]
                length = (op & 3) + (following & 3) + 2
                if ((op >> 2) & 0x1F) == ((following >> 2) & 0x1F) and length <= VAL_MAX_LEN:
                    ops[p + 1] = _val(((op >> 2) & 0x1F) + 1, length)
                    del ops[p]
                    del starts[p + 1]
                    self.past_end = 0
                    continue
            p += 1
        return UPDATED

    def registers(self) -> bytearray | None:
        """The registers one byte each, or None unless the runs cover exactly 16384.

        Redis's readers of a sparse payload (hllSparseToDense, hllMerge,
        hllSparseRegHisto, with the CVE-2025-32023 overflow checks the
        reference server carries) all reject any other total.
        """
        if self.total() != REGISTERS:
            return None
        raw = bytearray(REGISTERS)
        ops, idx, p = self.ops, 0, 0
        while p < len(ops):
            op, runlen = ops[p], self._span(p)
            if op & 0x80:
                raw[idx : idx + runlen] = bytes((((op >> 2) & 0x1F) + 1,)) * runlen
            idx += runlen
            p += 2 if op & 0xC0 == 0x40 else 1
        return raw

    def decode(self) -> bytes:
        """PFDEBUG DECODE's text: ``z:len``, ``Z:len`` and ``v:value,len`` opcodes."""
        out, ops, p = [], self.ops, 0
        while p < len(ops):
            op = ops[p]
            if op & 0x80:
                out.append(f"v:{((op >> 2) & 0x1F) + 1},{(op & 3) + 1}")
                p += 1
            elif op & 0x40:
                out.append(f"Z:{(((op & 0x3F) << 8) | self._byte(p + 1)) + 1}")
                p += 2
            else:
                out.append(f"z:{op + 1}")
                p += 1
        return " ".join(out).encode()


def _split(op: int, first: int, last: int, index: int, count: int) -> tuple[bytearray, list[int]]:
    """The opcodes replacing ``op`` (covering first..last) once ``index`` holds ``count``."""
    seq: bytearray = bytearray()
    starts: list[int] = []
    if op & 0x80:
        current = ((op >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val(current, index - first))
            starts.append(first)
        seq.append(_val(count, 1))
        starts.append(index)
        if index != last:
            seq.append(_val(current, last - index))
            starts.append(index + 1)
        return seq, starts
    if index != first:
        _zero_run(seq, starts, first, index - first)
    seq.append(_val(count, 1))
    starts.append(index)
    if index != last:
        _zero_run(seq, starts, index + 1, last - index)
    return seq, starts


def _index(payload: bytes, past_end: int) -> list[int]:
    """The first register covered by the opcode at every payload byte.

    A final XZERO missing its second byte reads ``past_end`` instead, as Redis does.
    """
    starts: list[int] = []
    first = pos = 0
    end = len(payload)
    while pos < end:
        match = _XZERO_FIRST.search(payload, pos)
        stop = end if match is None else match.start()
        if stop > pos:
            firsts = list(accumulate(payload[pos:stop].translate(_SPAN), initial=first))
            first = firsts.pop()
            starts += firsts
        if match is None:
            break
        second = payload[stop + 1] if stop + 1 < end else past_end
        starts += (first, first) if stop + 1 < end else (first,)
        first += (((payload[stop] & 0x3F) << 8) | second) + 1
        pos = stop + 2
    return starts


# -- the whole value ---------------------------------------------------------
class HLL:
    """A HyperLogLog string being read or edited: its header and one of the payloads."""

    __slots__ = ("header", "sparse", "dense")

    def __init__(self, value: bytes) -> None:
        self.header = bytearray(value[:HEADER_SIZE])
        if value[4] == SPARSE:
            self.sparse: Sparse | None = Sparse(value[HEADER_SIZE:])
            self.dense: bytearray | None = None
        else:
            self.sparse = None
            self.dense = bytearray(value[HEADER_SIZE:])

    def to_bytes(self) -> bytes:
        payload = self.dense if self.sparse is None else self.sparse.ops
        return b"".join((self.header, payload))

    @property
    def encoding(self) -> str:
        return "sparse" if self.sparse is not None else "dense"

    # -- the cached cardinality --
    def cached(self) -> int | None:
        if self.header[15] & 0x80:
            return None
        return int.from_bytes(self.header[8:16], "little")

    def cache(self, card: int) -> None:
        self.header[8:16] = card.to_bytes(8, "little")

    def invalidate(self) -> None:
        self.header[15] |= 0x80

    # -- edits --
    def add(self, element: bytes, max_bytes: int) -> int:
        """hllAdd: UPDATED if a register grew, UNCHANGED, or INVALID (corrupt sparse)."""
        index, count = pattern(element)
        return self.set(index, count, max_bytes)

    def set(self, index: int, count: int, max_bytes: int) -> int:
        if self.sparse is None:
            return dense_set(self.dense, index, count)
        result = self.sparse.set(index, count, max_bytes)
        if result == UPDATED:
            self.invalidate()
        elif result == _PROMOTE:
            if not self.to_dense():
                return INVALID
            result = dense_set(self.dense, index, count)
        return result

    def to_dense(self) -> bool:
        """hllSparseToDense (the header, cache included, is kept); False if corrupt."""
        if self.sparse is None:
            return True
        raw = self.sparse.registers()
        if raw is None:
            return False
        self.header[4] = DENSE
        self.dense = pack(raw)
        self.sparse = None
        return True

    # -- reads --
    def registers(self) -> bytearray | None:
        """One byte per register; None for a corrupt sparse payload."""
        if self.sparse is None:
            return unpack(self.dense)
        return self.sparse.registers()


def histogram(raw: bytes | bytearray) -> list[int]:
    """How many registers hold each value 0..63."""
    top = max(raw)
    return [raw.count(value) for value in range(top + 1)] + [0] * (63 - top)


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= math.pow(1.0 - x, 2) * y
        if previous == z:
            return z / 3


def estimate(hist: list[int]) -> int:
    """hllCount's estimate from a register histogram (Ertl, arXiv:1702.01284).

    The result is the unsigned 64-bit value Redis caches: past 2^63 its
    llroundl overflows to LLONG_MIN, which reads back as 2^63 (see `signed`).
    """
    m = float(REGISTERS)
    z = m * _tau((m - hist[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    value = ALPHA_INF * m * m / z if z else math.inf
    if not value < LLONG_OVERFLOW:
        return LLONG_OVERFLOW
    whole = math.floor(value)
    return int(whole) + (1 if value - whole >= 0.5 else 0)


def signed(card: int) -> int:
    """A cardinality as PFCOUNT replies it: Redis sends the uint64 as a long long."""
    return card - (1 << 64) if card >= LLONG_OVERFLOW else card


def count(raw: bytes | bytearray) -> int:
    """The estimated cardinality of a register array."""
    return estimate(histogram(raw))
