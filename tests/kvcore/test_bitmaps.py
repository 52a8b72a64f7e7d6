"""Bitmap commands against the pure core.

Every expected reply in SCENARIOS was taken from redis-server 7.0.15, and
`test_scenarios_are_redis_replies` replays them against a real server to keep
it that way. The helpers are also checked against naive per-bit versions.
"""

from __future__ import annotations

import random

import hiredis
import pytest

from kvcore.commands import bitmaps
from kvcore.reply import Error as Err
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, make_node


class FakeList:
    """A non-string value, so WRONGTYPE paths need no list family."""

    TYPE = "list"


def normalize(reply):
    return Err(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


def run_core(client: CoreClient, steps) -> None:
    for argv, expected in steps:
        if argv[0] == b"LPUSH":
            client.node.dbs[0].set(argv[1], FakeList())
            continue
        assert normalize(client.call(*argv)) == expected, argv


def run_redis(port: int, steps, config: dict[str, str] | None = None) -> None:
    """Replay steps on redis-server (config applied for the run, then restored)."""
    redis = RedisConnection(port)
    saved = {}
    try:
        redis.call([b"FLUSHALL"])
        for name, value in (config or {}).items():
            saved[name] = redis.call([b"CONFIG", b"GET", name.encode()])[1]
            redis.call([b"CONFIG", b"SET", name.encode(), value.encode()])
        for argv, expected in steps:
            assert normalize(redis.call(list(argv))) == expected, argv
    finally:
        for name, value in saved.items():
            redis.call([b"CONFIG", b"SET", name.encode(), value])
        redis.close()


SCENARIOS = {
    'setbit_getbit': [
        ((b'SETBIT', b'k', b'7', b'1'), 0),
        ((b'SETBIT', b'k', b'7', b'1'), 1),
        ((b'SETBIT', b'k', b'7', b'0'), 1),
        ((b'GET', b'k'), b'\x00'),
        ((b'SETBIT', b'k', b'20', b'1'), 0),
        ((b'GET', b'k'), b'\x00\x00\x08'),
        ((b'GETBIT', b'k', b'20'), 1),
        ((b'GETBIT', b'k', b'21'), 0),
        ((b'GETBIT', b'k', b'1000'), 0),
        ((b'GETBIT', b'nokey', b'0'), 0),
        ((b'SETBIT', b'k', b'-1', b'1'), Err('ERR bit offset is not an integer or out of range')),
        ((b'SETBIT', b'k', b'4294967296', b'1'), Err('ERR bit offset is not an integer or out of range')),
        ((b'SETBIT', b'k', b'x', b'1'), Err('ERR bit offset is not an integer or out of range')),
        ((b'SETBIT', b'k', b'0', b'2'), Err('ERR bit is not an integer or out of range')),
        ((b'SETBIT', b'k', b'0', b'-1'), Err('ERR bit is not an integer or out of range')),
        ((b'SETBIT', b'k', b'0', b'01'), Err('ERR bit is not an integer or out of range')),
        ((b'GETBIT', b'k', b'4294967296'), Err('ERR bit offset is not an integer or out of range')),
        ((b'LPUSH', b'l', b'a'), 1),
        ((b'SETBIT', b'l', b'0', b'1'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'SETBIT', b'l', b'x', b'1'), Err('ERR bit offset is not an integer or out of range')),
        ((b'SETBIT', b'l', b'0', b'x'), Err('ERR bit is not an integer or out of range')),
        ((b'GETBIT', b'l', b'0'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'GETBIT', b'l', b'x'), Err('ERR bit offset is not an integer or out of range')),
        ((b'SET', b'n', b'123'), b'OK'),
        ((b'GETBIT', b'n', b'2'), 1),
        ((b'GETBIT', b'n', b'1'), 0),
    ],
    'bitcount': [
        ((b'SET', b's', b'foobar'), b'OK'),
        ((b'BITCOUNT', b's'), 26),
        ((b'BITCOUNT', b's', b'1', b'1'), 6),
        ((b'BITCOUNT', b's', b'-2', b'-1'), 7),
        ((b'BITCOUNT', b's', b'5', b'30', b'BIT'), 17),
        ((b'BITCOUNT', b's', b'0', b'-1', b'bit'), 26),
        ((b'BITCOUNT', b's', b'1', b'1', b'BYTE'), 6),
        ((b'BITCOUNT', b's', b'-1', b'-2'), 0),
        ((b'BITCOUNT', b's', b'-1', b'-2', b'nope'), 0),
        ((b'BITCOUNT', b's', b'0', b'1', b'nope'), Err('ERR syntax error')),
        ((b'BITCOUNT', b's', b'0'), Err('ERR syntax error')),
        ((b'BITCOUNT', b's', b'a', b'b'), Err('ERR value is not an integer or out of range')),
        ((b'BITCOUNT', b's', b'0', b'1', b'bit', b'x'), Err('ERR syntax error')),
        ((b'BITCOUNT', b's', b'100', b'200'), 0),
        ((b'BITCOUNT', b's', b'-100', b'-50', b'bit'), 0),
        ((b'BITCOUNT', b's', b'3', b'3', b'bit'), 0),
        ((b'BITCOUNT', b'nokey', b'a', b'b'), 0),
        ((b'BITCOUNT', b'nokey', b'0'), 0),
        ((b'LPUSH', b'l', b'a'), 1),
        ((b'BITCOUNT', b'l'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'BITCOUNT', b'l', b'x', b'y'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'SET', b'e', b''), b'OK'),
        ((b'BITCOUNT', b'e'), 0),
        ((b'BITCOUNT', b'e', b'0', b'-1', b'bit'), 0),
    ],
    'bitpos': [
        ((b'SET', b's', b'\xff\xf0\x00'), b'OK'),
        ((b'BITPOS', b's', b'0'), 12),
        ((b'BITPOS', b's', b'1'), 0),
        ((b'BITPOS', b's', b'1', b'2'), -1),
        ((b'BITPOS', b's', b'0', b'0', b'0'), -1),
        ((b'BITPOS', b's', b'0', b'1'), 12),
        ((b'BITPOS', b's', b'1', b'2', b'-1'), -1),
        ((b'BITPOS', b's', b'0', b'3', b'-1', b'bit'), 12),
        ((b'BITPOS', b's', b'1', b'13', b'20', b'BIT'), -1),
        ((b'BITPOS', b's', b'0', b'0', b'11', b'bit'), -1),
        ((b'BITPOS', b's', b'1', b'7', b'6', b'bit'), -1),
        ((b'SET', b'f', b'\xff\xff\xff'), b'OK'),
        ((b'BITPOS', b'f', b'0'), 24),
        ((b'BITPOS', b'f', b'0', b'1'), 24),
        ((b'BITPOS', b'f', b'0', b'0', b'-1'), -1),
        ((b'BITPOS', b'f', b'0', b'0', b'-1', b'bit'), -1),
        ((b'BITPOS', b'f', b'0', b'1', b'bit'), Err('ERR value is not an integer or out of range')),
        ((b'BITPOS', b'f', b'0', b'100'), -1),
        ((b'BITPOS', b'nokey', b'1'), -1),
        ((b'BITPOS', b'nokey', b'0'), 0),
        ((b'BITPOS', b'nokey', b'0', b'x'), 0),
        ((b'BITPOS', b'nokey', b'2'), Err('ERR The bit argument must be 1 or 0.')),
        ((b'BITPOS', b'nokey', b'x'), Err('ERR value is not an integer or out of range')),
        ((b'BITPOS', b's', b'1', b'0', b'1', b'nope'), Err('ERR syntax error')),
        ((b'BITPOS', b's', b'1', b'0', b'1', b'bit', b'x'), Err('ERR syntax error')),
        ((b'BITPOS', b's', b'1', b'x'), Err('ERR value is not an integer or out of range')),
        ((b'LPUSH', b'l', b'a'), 1),
        ((b'BITPOS', b'l', b'1'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'BITPOS', b'l', b'3'), Err('ERR The bit argument must be 1 or 0.')),
        ((b'SET', b'e', b''), b'OK'),
        ((b'BITPOS', b'e', b'0'), -1),
        ((b'BITPOS', b'e', b'1'), -1),
    ],
    'bitop': [
        ((b'SET', b'a', b'\x0f\xf0abc'), b'OK'),
        ((b'SET', b'b', b'\xff'), b'OK'),
        ((b'BITOP', b'AND', b'd', b'a', b'b'), 5),
        ((b'GET', b'd'), b'\x0f\x00\x00\x00\x00'),
        ((b'BITOP', b'or', b'd', b'a', b'b'), 5),
        ((b'GET', b'd'), b'\xff\xf0abc'),
        ((b'BITOP', b'XOR', b'd', b'a', b'b', b'nokey'), 5),
        ((b'GET', b'd'), b'\xf0\xf0abc'),
        ((b'BITOP', b'NOT', b'd', b'a'), 5),
        ((b'GET', b'd'), b'\xf0\x0f\x9e\x9d\x9c'),
        ((b'BITOP', b'NOT', b'd', b'a', b'b'), Err('ERR BITOP NOT must be called with a single source key.')),
        ((b'BITOP', b'NAND', b'd', b'a'), Err('ERR syntax error')),
        ((b'BITOP', b'AND', b'd', b'nokey'), 0),
        ((b'GET', b'd'), None),
        ((b'LPUSH', b'l', b'x'), 1),
        ((b'BITOP', b'AND', b'd', b'a', b'l'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'BITOP', b'AND', b'l', b'a'), 5),
        ((b'GET', b'l'), b'\x0f\xf0abc'),
    ],
    'bitfield': [
        ((b'BITFIELD', b'k'), []),
        ((b'BITFIELD', b'k', b'GET'), Err('ERR syntax error')),
        ((b'BITFIELD', b'k', b'get', b'u64', b'0'), Err('ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.')),
        ((b'BITFIELD', b'k', b'get', b'i0', b'0'), Err('ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.')),
        ((b'BITFIELD', b'k', b'get', b'I8', b'0'), Err('ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.')),
        ((b'BITFIELD', b'k', b'get', b'u8', b'#-1'), Err('ERR bit offset is not an integer or out of range')),
        ((b'BITFIELD', b'k', b'get', b'u8', b'4294967296'), Err('ERR bit offset is not an integer or out of range')),
        ((b'BITFIELD', b'k', b'get', b'i64', b'#144115188075855873'), Err('ERR bit offset is not an integer or out of range')),
        ((b'BITFIELD', b'k', b'overflow', b'foo'), Err('ERR Invalid OVERFLOW type specified')),
        ((b'BITFIELD', b'k', b'overflow'), Err('ERR syntax error')),
        ((b'BITFIELD', b'k', b'set', b'u8', b'0', b'1.5'), Err('ERR value is not an integer or out of range')),
        ((b'GET', b'k'), None),
        ((b'BITFIELD', b'k', b'set', b'i8', b'0', b'200', b'get', b'i8', b'0', b'get', b'u8', b'0'), [0, -56, 200]),
        ((b'BITFIELD', b'k', b'incrby', b'i8', b'0', b'1', b'incrby', b'i8', b'0', b'200', b'overflow', b'sat', b'incrby', b'i8', b'0', b'200', b'overflow', b'fail', b'incrby', b'i8', b'0', b'-300'), [-55, -111, 89, None]),
        ((b'BITFIELD', b'k', b'set', b'u4', b'#3', b'15', b'get', b'u16', b'0', b'get', b'u4', b'#3'), [0, 22799, 15]),
        ((b'GET', b'k'), b'Y\x0f'),
        ((b'BITFIELD', b'k', b'overflow', b'sat', b'set', b'i8', b'0', b'-9223372036854775808', b'get', b'i8', b'0'), [89, 127]),
        ((b'BITFIELD', b'k', b'overflow', b'wrap', b'incrby', b'u63', b'0', b'9223372036854775807', b'incrby', b'u63', b'0', b'1'), [4577768283733753855, 4577768283733753856]),
        ((b'BITFIELD', b'k', b'set', b'i64', b'0', b'-9223372036854775808', b'incrby', b'i64', b'0', b'-1', b'overflow', b'sat', b'incrby', b'i64', b'0', b'-1'), [9155536567467507712, 9223372036854775807, 9223372036854775806]),
        ((b'BITFIELD', b'k', b'overflow', b'fail', b'set', b'u2', b'100', b'4'), [None]),
        ((b'GET', b'k'), b'\x7f\xff\xff\xff\xff\xff\xff\xfe\x00\x00\x00\x00\x00'),
        ((b'STRLEN', b'k'), 13),
        ((b'BITFIELD_RO', b'k', b'get', b'u8', b'0', b'set', b'u8', b'0', b'1'), Err('ERR BITFIELD_RO only supports the GET subcommand')),
        ((b'BITFIELD_RO', b'k', b'overflow', b'fail', b'get', b'i8', b'0'), [127]),
        ((b'BITFIELD_RO', b'nokey', b'get', b'u8', b'0'), [0]),
        ((b'GET', b'nokey'), None),
        ((b'BITFIELD', b'nokey', b'overflow', b'fail', b'set', b'u8', b'0', b'300'), [None]),
        ((b'GET', b'nokey'), b'\x00'),
        ((b'LPUSH', b'l', b'a'), 1),
        ((b'BITFIELD', b'l', b'get', b'u8', b'0'), Err('WRONGTYPE Operation against a key holding the wrong kind of value')),
        ((b'BITFIELD', b'l', b'get', b'u8', b'x'), Err('ERR bit offset is not an integer or out of range')),
        ((b'BITFIELD_RO', b'l', b'set', b'u8', b'0', b'1'), Err('ERR BITFIELD_RO only supports the GET subcommand')),
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name):
    run_core(CoreClient(make_node()), SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_are_redis_replies(name, redis_port):
    run_redis(redis_port, SCENARIOS[name])


# -- the helpers against naive per-bit versions --------------------------------
def naive_bits(value: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in value for i in range(8)]


def test_find_bit_matches_a_naive_scan():
    rng = random.Random(5)
    for _ in range(400):
        value = bytes(rng.choice([0, 0xFF, rng.randrange(256)]) for _ in range(rng.randint(1, 300)))
        bits = naive_bits(value)
        first = rng.randrange(len(bits))
        last = rng.randrange(first, len(bits))
        for bit in (0, 1):
            expected = next((i for i in range(first, last + 1) if bits[i] == bit), -1)
            assert bitmaps.find_bit(value, bit, first, last) == expected


def test_popcount_counts_across_chunks(monkeypatch):
    monkeypatch.setattr(bitmaps, "_CHUNK", 7)
    value = bytes(range(256)) * 3
    assert bitmaps.popcount(value, 5, 700) == sum(naive_bits(value[5:700]))


def test_fields_read_and_write_like_single_bits():
    rng = random.Random(9)
    for _ in range(300):
        data = bytearray(rng.randbytes(12))
        bits = rng.randint(1, 64)
        offset = rng.randint(0, 96 - bits)
        value = rng.getrandbits(bits)
        bitmaps.write_field(data, offset, bits, value)
        assert naive_bits(data)[offset : offset + bits] == [int(c) for c in format(value, f"0{bits}b")]
        assert bitmaps.read_field(data, offset, bits, False) == value
        signed = value - (1 << bits) if value >> (bits - 1) else value
        assert bitmaps.read_field(data, offset, bits, True) == signed
    assert bitmaps.read_field(b"\xff", 4, 16, False) == 0xF000


def test_offsets_stop_at_proto_max_bulk_len():
    client = CoreClient(make_node(proto_max_bulk_len="1mb"))
    assert client.call("SETBIT", "k", 8 * 1024 * 1024 - 1, 1) == 0
    assert client.call("STRLEN", "k") == 1024 * 1024
    for argv in (("SETBIT", "k", 8 * 1024 * 1024, 1), ("GETBIT", "k", 8 * 1024 * 1024),
                 ("BITFIELD", "k", "GET", "u8", "#1048576")):
        assert normalize(client.call(*argv)) == Err("ERR bit offset is not an integer or out of range")


def test_unchanged_bits_do_not_count_as_writes():
    node = make_node()
    client = CoreClient(node)
    client.call("SETBIT", "k", 3, 1)
    dirty = node.stats.dirty
    client.call("SETBIT", "k", 3, 1)
    client.call("BITFIELD", "k", "SET", "u8", 0, 16)
    assert node.stats.dirty == dirty
    client.call("BITFIELD", "k", "SET", "u8", 0, 17, "INCRBY", "u8", 8, 1)
    assert node.stats.dirty == dirty + 2


def test_keyspace_events():
    # Seen on redis-server 7.0.15 with notify-keyspace-events KEA (keyevent channel).
    node = make_node(notify_keyspace_events="KEA")
    listener = CoreClient(node)
    listener.call("PSUBSCRIBE", "__keyevent@0__:*")
    client = CoreClient(node)
    for argv in (("SETBIT", "k", 1, 1), ("SETBIT", "k", 1, 1), ("BITFIELD", "k", "SET", "u8", 0, 64),
                 ("BITOP", "AND", "d", "k"), ("BITOP", "AND", "d", "nokey"), ("BITOP", "AND", "d", "nokey"),
                 ("PFADD", "h", "a"), ("PFADD", "h", "a"), ("PFCOUNT", "h"), ("PFMERGE", "h2", "h"),
                 ("PFDEBUG", "TODENSE", "h")):
        client.call(*argv)
    events = [(channel.split(b":", 1)[1].decode(), key) for _, _, channel, key in listener.send_raw(b"")]
    assert events == [("setbit", b"k"), ("set", b"d"), ("del", b"d"), ("pfadd", b"h"), ("pfadd", b"h2")]
