"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

Bitmaps are string values; bit 0 is the most significant bit of the first
byte. Offsets reach ``proto-max-bulk-len`` bytes (512 MB, 2^32 bits, by
default). Whole-range work (counting, searching, BITOP) runs in C through
``int.from_bytes``, ``int.bit_count`` and ``bytes.translate``, never a
Python loop per bit. Argument checks happen in redis-server 7.0's order,
which differs from one command to the next (BITCOUNT looks the key up before
parsing its range, BITPOS after parsing the bit).
"""

from __future__ import annotations

from functools import reduce

from kvcore import errors
from kvcore.commands.args import parse_int
from kvcore.commands.key_specs import Index, KeyFlag, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.reply import Error

REGISTRY = Registry("bitmap")
command = REGISTRY.command

BIT_VALUE = "ERR bit is not an integer or out of range"
BIT_ARGUMENT = "ERR The bit argument must be 1 or 0."
BITOP_NOT_KEYS = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
OVERFLOW_TYPE = "ERR Invalid OVERFLOW type specified"
RO_ONLY_GET = "ERR BITFIELD_RO only supports the GET subcommand"

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY

_CHUNK = 1 << 20
_NOT = bytes(255 - b for b in range(256))
_U64 = (1 << 64) - 1


def _cstr(arg: bytes) -> bytes:
    """The argument as C's string functions see it: up to the first NUL."""
    return arg.split(b"\0", 1)[0]


def _int64(value: int) -> int:
    """Two's complement wrap to a signed 64-bit integer, as C arithmetic does."""
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


def bit_offset(client, arg: bytes, bits: int = 0) -> int:
    """A bit offset (getBitOffsetFromArgument); with ``bits``, ``#n`` means n * bits."""
    by_width = bits > 0 and arg[:1] == b"#"
    offset = parse_int(arg[1:] if by_width else arg, errors.BIT_OFFSET)
    if by_width:
        offset = _int64(offset * bits)
    if offset < 0 or (offset >> 3) >= client.node.config["proto-max-bulk-len"]:
        raise Error(errors.BIT_OFFSET)
    return offset


def _read_string(client, key: bytes) -> bytes | None:
    value = client.db.lookup_read(key)
    if value is not None and type(value) is not bytes:
        raise Error(errors.WRONGTYPE)
    return value


def _notify(client, event: str, key: bytes) -> None:
    client.node.notify_keyspace_event(event, key, client.db.index)


def _with_byte(value: bytes, index: int, byte: int) -> bytes:
    """value with the byte at index replaced, zero-padded when index is past the end."""
    if index >= len(value):
        return b"".join((value, bytes(index - len(value)), bytes((byte,))))
    view = memoryview(value)
    return b"".join((view[:index], bytes((byte,)), view[index + 1 :]))


@command("setbit", 4, W, (1, 1, 1), since="2.2.0", key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def setbit(client, argv):
    """SETBIT key offset value"""
    offset = bit_offset(client, argv[2])
    on = parse_int(argv[3], BIT_VALUE)
    if on not in (0, 1):
        raise Error(BIT_VALUE)
    db, key = client.db, argv[1]
    value = db.get_string(key)
    index, mask = offset >> 3, 0x80 >> (offset & 7)
    if value is None:
        db.set(key, _with_byte(b"", index, mask if on else 0))
        db.mark_raw(key)
        _notify(client, "setbit", key)
        return 0
    db.mark_raw(key)  # Redis unshares the string before it looks at the bit
    current = value[index] if index < len(value) else 0
    old = 1 if current & mask else 0
    if old == on and index < len(value):
        return old
    db.replace(key, _with_byte(value, index, current | mask if on else current & ~mask))
    _notify(client, "setbit", key)
    return old


@command("getbit", 3, R | Flag.FAST, (1, 1, 1), since="2.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def getbit(client, argv):
    """GETBIT key offset"""
    offset = bit_offset(client, argv[2])
    value = _read_string(client, argv[1])
    index = offset >> 3
    if value is None or index >= len(value):
        return 0
    return 1 if value[index] & (0x80 >> (offset & 7)) else 0


def popcount(value: bytes, start: int, stop: int) -> int:
    """Set bits in value[start:stop], counted a megabyte at a time."""
    view = memoryview(value)
    return sum(
        int.from_bytes(view[i : min(i + _CHUNK, stop)], "big").bit_count() for i in range(start, stop, _CHUNK)
    )


def _is_bit_unit(arg: bytes) -> bool:
    unit = _cstr(arg).lower()
    if unit not in (b"bit", b"byte"):
        raise Error(errors.SYNTAX)
    return unit == b"bit"


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Redis's start/end normalisation for BITCOUNT and BITPOS (may leave start > end)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    return max(start, 0), min(max(end, 0), total - 1)


@command("bitcount", -2, R, (1, 1, 1), since="2.6.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def bitcount(client, argv):
    """BITCOUNT key [start end [BYTE | BIT]]"""
    value = _read_string(client, argv[1])
    if value is None:
        return 0
    if len(argv) == 2:
        return popcount(value, 0, len(value))
    if len(argv) > 5 or len(argv) == 3:
        raise Error(errors.SYNTAX)
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = len(argv) == 5 and _is_bit_unit(argv[4])
    start, end = _clamp(start, end, len(value) * 8 if in_bits else len(value))
    if start > end:
        return 0
    if not in_bits:
        return popcount(value, start, end + 1)
    first, last = start >> 3, end >> 3
    before = value[first] >> (8 - (start & 7)) if start & 7 else 0
    after = value[last] & ((1 << (7 - (end & 7))) - 1)
    return popcount(value, first, last + 1) - before.bit_count() - after.bit_count()


@command("bitpos", -3, R, (1, 1, 1), since="2.8.7", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def bitpos(client, argv):
    """BITPOS key bit [start [end [BYTE | BIT]]]"""
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise Error(BIT_ARGUMENT)
    value = _read_string(client, argv[1])
    if value is None:
        return -1 if bit else 0
    if len(argv) > 6:
        raise Error(errors.SYNTAX)
    end_given = len(argv) >= 5
    in_bits = False
    start, end = 0, len(value) - 1
    if len(argv) > 3:
        start = parse_int(argv[3])
        in_bits = len(argv) == 6 and _is_bit_unit(argv[5])
        if end_given:
            end = parse_int(argv[4])
        start, end = _clamp(start, end, len(value) * 8 if in_bits else len(value))
    if start > end:
        return -1
    if in_bits:
        return find_bit(value, bit, start, end)
    found = find_bit(value, bit, start * 8, end * 8 + 7)
    if found == -1 and bit == 0 and not end_given:
        return (end + 1) * 8  # past the string everything is zero
    return found


def find_bit(value: bytes, bit: int, first: int, last: int) -> int:
    """The first position in bits first..last holding ``bit``, or -1."""
    low, high = first >> 3, last >> 3
    flip = 0 if bit else 0xFF
    tail_mask = (0xFF << (7 - (last & 7))) & 0xFF
    head = (value[low] ^ flip) & (0xFF >> (first & 7))
    if low == high:
        head &= tail_mask
    if head or low == high:
        return _first_one(head, low) if head else -1
    found = _scan(value, bit, low + 1, high)
    if found != -1:
        return found
    tail = (value[high] ^ flip) & tail_mask
    return _first_one(tail, high) if tail else -1


def _scan(value: bytes, bit: int, start: int, stop: int) -> int:
    """The first bit equal to ``bit`` in whole bytes start..stop-1, or -1.

    Reads the bytes as big-endian integers in growing chunks, so an early
    hit costs little and a long run of skipped bytes stays in C.
    """
    view = memoryview(value)
    size = 64
    while start < stop:
        end = min(start + size, stop)
        number = int.from_bytes(view[start:end], "big")
        if not bit:
            number ^= (1 << (8 * (end - start))) - 1
        if number:
            return 8 * end - number.bit_length()
        start, size = end, min(size * 4, _CHUNK)
    return -1


def _first_one(byte: int, index: int) -> int:
    return index * 8 + 8 - byte.bit_length()


@command(
    "bitop", -4, W, (2, -1, 1), since="2.6.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(2)),
        KeySpec("RO ACCESS", Index(3), Range(-1)),
    ),
)
def bitop(client, argv):
    """BITOP AND | OR | XOR | NOT destkey key [key ...]"""
    operation = _cstr(argv[1]).lower()
    if operation not in (b"and", b"or", b"xor", b"not"):
        raise Error(errors.SYNTAX)
    if operation == b"not" and len(argv) != 4:
        raise Error(BITOP_NOT_KEYS)
    sources = [_read_string(client, key) or b"" for key in argv[3:]]
    length = max(map(len, sources))
    db, dest = client.db, argv[2]
    if not length:
        if db.delete(dest):
            _notify(client, "del", dest)
        return 0
    db.set(dest, _combine(operation, sources, length))
    db.mark_raw(dest)
    _notify(client, "set", dest)
    return length


def _combine(operation: bytes, sources: list[bytes], length: int) -> bytes:
    """The bitwise operation over the sources, each zero-padded to length bytes."""
    if operation == b"not":
        return sources[0].translate(_NOT)
    numbers = [_padded_int(source, length) for source in sources]
    if operation == b"and":
        result = reduce(int.__and__, numbers)
    elif operation == b"or":
        result = reduce(int.__or__, numbers)
    else:
        result = reduce(int.__xor__, numbers)
    return result.to_bytes(length, "big")


def _padded_int(source: bytes, length: int) -> int:
    """The source zero-padded on the right to length bytes, as one big-endian integer."""
    number = int.from_bytes(source, "big")
    return number << (8 * (length - len(source))) if len(source) < length else number


# -- BITFIELD ----------------------------------------------------------------
GET, SET, INCRBY = "get", "set", "incrby"
WRAP, SAT, FAIL = b"wrap", b"sat", b"fail"
_ARGS_AFTER = {b"get": 2, b"set": 3, b"incrby": 3}


class FieldOp:
    """One BITFIELD subcommand, parsed."""

    __slots__ = ("kind", "signed", "bits", "offset", "value", "overflow")

    def __init__(self, kind: str, signed: bool, bits: int, offset: int, value: int, overflow: bytes) -> None:
        self.kind = kind
        self.signed = signed
        self.bits = bits
        self.offset = offset
        self.value = value
        self.overflow = overflow


def _field_type(arg: bytes) -> tuple[bool, int]:
    """``i<bits>`` (1..64) or ``u<bits>`` (1..63)."""
    sign = arg[:1]
    if sign not in (b"i", b"u"):
        raise Error(BITFIELD_TYPE)
    bits = parse_int(_cstr(arg[1:]), BITFIELD_TYPE)
    signed = sign == b"i"
    if bits < 1 or bits > (64 if signed else 63):
        raise Error(BITFIELD_TYPE)
    return signed, bits


def parse_bitfield(client, argv: list[bytes]) -> list[FieldOp]:
    """The subcommands of a BITFIELD, with Redis's errors in argument order."""
    ops: list[FieldOp] = []
    overflow = WRAP
    j = 2
    while j < len(argv):
        name = _cstr(argv[j]).lower()
        remaining = len(argv) - j - 1
        if name == b"overflow" and remaining >= 1:
            overflow = _cstr(argv[j + 1]).lower()
            if overflow not in (WRAP, SAT, FAIL):
                raise Error(OVERFLOW_TYPE)
            j += 2
            continue
        needed = _ARGS_AFTER.get(name)
        if needed is None or remaining < needed:
            raise Error(errors.SYNTAX)
        signed, bits = _field_type(argv[j + 1])
        offset = bit_offset(client, argv[j + 2], bits)
        value = 0 if name == b"get" else parse_int(argv[j + 3])
        ops.append(FieldOp(name.decode(), signed, bits, offset, value, overflow))
        j += 1 + needed
    return ops


def read_field(data: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The integer at a bit offset; bits past the end of data read as zero."""
    start, stop = offset >> 3, ((offset + bits - 1) >> 3) + 1
    chunk = data[start:stop]
    word = int.from_bytes(chunk, "big") << (8 * (stop - start - len(chunk)))
    value = (word >> ((stop - start) * 8 - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def write_field(data: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low ``bits`` bits of value (two's complement) at a bit offset."""
    start, stop = offset >> 3, ((offset + bits - 1) >> 3) + 1
    shift = (stop - start) * 8 - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    word = int.from_bytes(data[start:stop], "big")
    word = (word & ~mask) | ((value << shift) & mask)
    data[start:stop] = word.to_bytes(stop - start, "big")


def _unsigned_overflow(value: int, incr: int, bits: int, mode: bytes) -> tuple[int, int]:
    """checkUnsignedBitfieldOverflow: (0 | 1 | -1, the value to store instead)."""
    top = (1 << bits) - 1
    if value > top or (incr > 0 and incr > _int64(top - value)):
        direction, limit = 1, top
    elif incr < 0 and incr < _int64(-value):
        direction, limit = -1, 0
    else:
        return 0, 0
    if mode == WRAP:
        limit = (value + incr) & top
    return direction, limit


def _signed_overflow(value: int, incr: int, bits: int, mode: bytes) -> tuple[int, int]:
    """checkSignedBitfieldOverflow, including its 64-bit wrap-arounds."""
    top = (1 << (bits - 1)) - 1
    bottom = -top - 1
    max_incr, min_incr = _int64(top - value), _int64(bottom - value)
    if value > top or (bits != 64 and incr > max_incr) or (value >= 0 and incr > 0 and incr > max_incr):
        direction, limit = 1, top
    elif value < bottom or (bits != 64 and incr < min_incr) or (value < 0 and incr < 0 and incr < min_incr):
        direction, limit = -1, bottom
    else:
        return 0, 0
    if mode == WRAP:
        total = (value + incr) & _U64
        if bits < 64:
            low_bits = (1 << bits) - 1
            total = (total | (_U64 ^ low_bits)) if (total >> (bits - 1)) & 1 else (total & low_bits)
        limit = _int64(total)
    return direction, limit


def _apply(data: bytearray, op: FieldOp) -> tuple[int | None, bool]:
    """Run a SET or INCRBY: (its reply, whether the stored bits changed)."""
    old = read_field(data, op.offset, op.bits, op.signed)
    check = _signed_overflow if op.signed else _unsigned_overflow
    if op.kind == INCRBY:
        overflow, limit = check(old, op.value, op.bits, op.overflow)
        new = limit if overflow else old + op.value
        reply = new
    else:
        new = op.value if op.signed else op.value & _U64
        overflow, limit = check(new, 0, op.bits, op.overflow)
        if overflow:
            new = limit
        reply = old
    if overflow and op.overflow == FAIL:
        return None, False
    write_field(data, op.offset, op.bits, new)
    return reply, old != new


def _bitfield(client, argv, read_only: bool):
    """BITFIELD and BITFIELD_RO: only GETs read the key; any write grows it first."""
    ops = parse_bitfield(client, argv)
    writes = [op for op in ops if op.kind != GET]
    if not writes:
        data = _read_string(client, argv[1]) or b""
        return [read_field(data, op.offset, op.bits, op.signed) for op in ops]
    if read_only:
        raise Error(RO_ONLY_GET)
    db, key = client.db, argv[1]
    value = db.get_string(key)
    data = bytearray(value or b"")
    size = (max(op.offset + op.bits - 1 for op in writes) >> 3) + 1
    grown = value is None or len(data) < size
    if len(data) < size:
        data.extend(bytes(size - len(data)))
    replies, changes = [], 0
    for op in ops:
        if op.kind == GET:
            replies.append(read_field(data, op.offset, op.bits, op.signed))
            continue
        reply, changed = _apply(data, op)
        replies.append(reply)
        if reply is not None and (grown or changed):
            changes += 1
    if value is None:
        db.set(key, bytes(data))
    elif grown or changes:
        db.replace(key, bytes(data))
    if value is not None or db.get(key) is not None:
        db.mark_raw(key)  # a writing BITFIELD unshares the string first, as SETBIT
    if changes:
        _notify(client, "setbit", key)
    if changes > 1:
        db.written(key, changes - 1)
    return replies


def bitfield_key_flags(argv: list[bytes]) -> list[tuple[int, KeyFlag]]:
    """BITFIELD's key flags: read-only when every subcommand is a complete GET
    or OVERFLOW (Redis's bitfieldGetKeys; a syntax error counts as a write)."""
    i, read_only = 2, True
    while i < len(argv):
        op, remaining = argv[i].lower(), len(argv) - i - 1
        if op == b"get" and remaining >= 2:
            i += 3
        elif op == b"overflow" and remaining >= 1:
            i += 2
        else:
            read_only = False
            break
    return [(1, KeyFlag.RO | KeyFlag.ACCESS if read_only else KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.UPDATE)]


@command(
    "bitfield", -2, W, (1, 1, 1), since="3.2.0",
    flagged_keys_fn=bitfield_key_flags,
    key_specs=(
        KeySpec("RW ACCESS UPDATE VARIABLE_FLAGS", Index(1), notes="This command allows both access and modification of the key"),
    ),
)
def bitfield(client, argv):
    """BITFIELD key [GET type offset | [OVERFLOW WRAP | SAT | FAIL] SET type offset value | INCRBY type offset increment ...]"""
    return _bitfield(client, argv, read_only=False)


@command("bitfield_ro", -2, R | Flag.FAST, (1, 1, 1), since="6.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def bitfield_ro(client, argv):
    """BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]"""
    return _bitfield(client, argv, read_only=True)
