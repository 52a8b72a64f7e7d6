"""Bit commands in the sequential reference (`jepsen_like.redis_model`): a string seen as bits.

Strings are the history's text (one character per byte, latin-1). Bit 0 is the
most significant bit of the first byte, for SETBIT, GETBIT, BITPOS and BITFIELD
alike; a string reads as zeros past its end, and a write past its end pads it
with zero bytes. Written from Redis 7.0's documented behaviour and checked against
redis-server by tests/jepsen_like/test_redis_model.py, including its corners: BITPOS
for a clear bit answers the first position past the string when no end was given
(the string is zero-padded) and -1 when one was; a BITFIELD write grows the
string to its farthest field before any operation runs, even one OVERFLOW FAIL
refuses; a SET under OVERFLOW reads an unsigned field's negative value as the
64-bit two's complement, so SAT makes it the type's maximum.
"""

from __future__ import annotations

from typing import Any

BITS_PER_BYTE = 8


def _bytes_of(text: str | None) -> bytearray:
    return bytearray(text.encode("latin-1")) if text is not None else bytearray()


def _text(data: bytearray) -> str:
    return data.decode("latin-1")


def _bit(data: bytearray, position: int) -> int:
    byte = position // BITS_PER_BYTE
    if byte >= len(data):
        return 0
    return (data[byte] >> (7 - position % BITS_PER_BYTE)) & 1


def _set_bit(data: bytearray, position: int, value: int) -> None:
    byte, mask = position // BITS_PER_BYTE, 1 << (7 - position % BITS_PER_BYTE)
    if byte >= len(data):
        data.extend(bytes(byte + 1 - len(data)))
    data[byte] = data[byte] | mask if value else data[byte] & ~mask


def _bit_range(length: int, start: int, end: int, unit_bits: int) -> range:
    """The bit positions BITCOUNT and BITPOS mean by start and end, in bytes (`unit_bits` 8) or bits (1),
    of a string of `length` bytes: negative indexes count from the end, both clamp to the string."""
    total = length * BITS_PER_BYTE // unit_bits
    start = max(start + total if start < 0 else start, 0)
    end = min(max(end + total if end < 0 else end, 0), total - 1)
    if start > end:
        return range(0)
    return range(start * unit_bits, (end + 1) * unit_bits)


class _Field:
    """A BITFIELD type (``u8``, ``i4``...) at a bit offset (``#n`` counts in the type's widths)."""

    def __init__(self, kind: str, offset: str) -> None:
        self.signed = kind[0] in "iI"
        self.width = int(kind[1:])
        self.offset = int(offset[1:]) * self.width if offset[0] == "#" else int(offset)
        self.low = -(1 << (self.width - 1)) if self.signed else 0
        self.high = (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def read(self, data: bytearray) -> int:
        value = 0
        for position in range(self.offset, self.offset + self.width):
            value = value << 1 | _bit(data, position)
        if self.signed and value > self.high:
            value -= 1 << self.width
        return value

    def write(self, data: bytearray, value: int) -> None:
        raw = value % (1 << self.width)
        for i in range(self.width):
            _set_bit(data, self.offset + i, raw >> (self.width - 1 - i) & 1)

    def fit(self, value: int, overflow: str) -> int | None:
        """`value` as the field can hold it under `overflow` (WRAP, SAT or FAIL): None if it fails."""
        if self.low <= value <= self.high:
            return value
        if overflow == "FAIL":
            return None
        if overflow == "SAT":
            return self.high if value > self.high else self.low
        return (value - self.low) % (1 << self.width) + self.low

    @property
    def last_bit(self) -> int:
        return self.offset + self.width - 1


class BitCommands:
    """SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO on a model's string keys."""

    data: dict[str, Any]  # RedisModel's, as is `_delete`

    def setbit(self, args):
        data = _bytes_of(self.data.get(args[0]))
        position = int(args[1])
        old = _bit(data, position)
        _set_bit(data, position, int(args[2]))
        self.data[args[0]] = _text(data)
        return old

    def getbit(self, args):
        return _bit(_bytes_of(self.data.get(args[0])), int(args[1]))

    def bitcount(self, args):
        """BITCOUNT key [start end [BYTE|BIT]]."""
        data = _bytes_of(self.data.get(args[0]))
        positions = range(len(data) * BITS_PER_BYTE)
        if len(args) > 1:
            start, end = int(args[1]), int(args[2])
            if start < 0 and end < 0 and start > end:  # empty before clamping (BITPOS has no such rule)
                return 0
            unit_bits = 1 if len(args) > 3 and args[3].upper() == "BIT" else BITS_PER_BYTE
            positions = _bit_range(len(data), start, end, unit_bits)
        return sum(_bit(data, position) for position in positions)

    def bitpos(self, args):
        """BITPOS key bit [start [end [BYTE|BIT]]]: past a string's end lie zeros, unless an end was given."""
        value, wanted = self.data.get(args[0]), int(args[1])
        if value is None:
            return -1 if wanted else 0
        data = _bytes_of(value)
        end_given = len(args) > 3
        unit_bits = 1 if len(args) > 4 and args[4].upper() == "BIT" else BITS_PER_BYTE
        start = int(args[2]) if len(args) > 2 else 0
        end = int(args[3]) if end_given else -1
        positions = _bit_range(len(data), start, end, unit_bits)
        if not positions:
            return -1
        for position in positions:
            if _bit(data, position) == wanted:
                return position
        return -1 if wanted or end_given else positions.stop

    def bitop(self, args):
        """BITOP AND|OR|XOR|NOT destination source...: the result replaces the destination
        (without its deadline); an empty one deletes it. Shorter sources read as zero-padded."""
        operation, target, sources = args[0].upper(), args[1], [_bytes_of(self.data.get(key)) for key in args[2:]]
        length = max(len(source) for source in sources)
        padded = [source + bytes(length - len(source)) for source in sources]
        if operation == "NOT":
            result = bytearray(~byte & 0xFF for byte in padded[0])
        else:
            result = padded[0]
            for source in padded[1:]:
                result = bytearray(
                    a & b if operation == "AND" else a | b if operation == "OR" else a ^ b
                    for a, b in zip(result, source))
        self._delete(target)
        if result:
            self.data[target] = _text(result)
        return len(result)

    def bitfield(self, args):
        """BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
        [OVERFLOW WRAP|SAT|FAIL]...: one reply per GET, SET (the old value) and INCRBY (the new one),
        nil for a write OVERFLOW FAIL refuses."""
        key, operations = args[0], _operations(args[1:])
        writes = [field for name, field, _, _ in operations if name != "GET"]
        data = _bytes_of(self.data.get(key))
        if writes:
            farthest_byte = max(field.last_bit for field in writes) // BITS_PER_BYTE
            data.extend(bytes(max(farthest_byte + 1 - len(data), 0)))
        replies = []
        for name, field, number, overflow in operations:
            old = field.read(data)
            if name == "GET":
                replies.append(old)
                continue
            if name == "SET" and not field.signed:
                number %= 1 << 64  # the value is read as a 64-bit unsigned integer
            new = field.fit(old + number if name == "INCRBY" else number, overflow)
            if new is None:
                replies.append(None)
                continue
            field.write(data, new)
            replies.append(new if name == "INCRBY" else old)
        if writes:
            self.data[key] = _text(data)
        return replies

    def bitfield_ro(self, args):
        return self.bitfield(args)


def _operations(args: list[str]) -> list[tuple[str, _Field, int, str]]:
    """BITFIELD's operations in order: (GET|SET|INCRBY, field, value or increment, overflow then in force)."""
    operations, overflow, i = [], "WRAP", 0
    while i < len(args):
        name = args[i].upper()
        if name == "OVERFLOW":
            overflow, i = args[i + 1].upper(), i + 2
            continue
        field = _Field(args[i + 1], args[i + 2])
        number = int(args[i + 3]) if name != "GET" else 0
        operations.append((name, field, number, overflow))
        i += 3 if name == "GET" else 4
    return operations
