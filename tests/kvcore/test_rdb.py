"""kvcore.rdb: whole files written and read back, old encodings, opcodes, errors.

Files are built here by hand from the RDB format (rdb.h/rdb.c of Redis 7.0)
where a record must hold what the writer never writes (ziplists, zipmaps,
text scores, module AUX data...). tests/net/test_rdb_interop.py exchanges
files with a real redis-server; `describe` is shared with it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import intset, listpack, rdb
from kvcore.commands.json import JsonValue
from kvcore.crc64 import crc64
from kvcore.types_hash import HashValue
from kvcore.types_list import ListValue
from kvcore.types_set import SetValue
from kvcore.types_zset import ZSetValue
from tests.kvcore.harness import CoreClient, make_node

NOW = 1_700_000_000_000


# -- describing a dataset through commands (also used against redis-server) ----------------


def describe(call, databases=range(16), json=True) -> dict:
    """Every key of the given databases as (type, value, encoding, pttl), read with commands.

    ``call(*args)`` runs a command (a CoreClient's or a raw redis-server
    connection's) and returns hiredis-decoded replies.
    """
    out = {}
    for index in databases:
        call("SELECT", index)
        for key in sorted(call("KEYS", "*")):
            kind = call("TYPE", key)
            out[(index, key)] = (kind, _read(call, kind, key, json), call("OBJECT", "ENCODING", key), call("PTTL", key))
    call("SELECT", 0)
    return out


def _read(call, kind: bytes, key: bytes, json: bool):
    if kind == b"string":
        return call("GET", key)
    if kind == b"list":
        return call("LRANGE", key, 0, -1)
    if kind == b"hash":
        flat = call("HGETALL", key)
        return sorted(zip(flat[0::2], flat[1::2]))
    if kind == b"set":
        return sorted(call("SMEMBERS", key))
    if kind == b"zset":
        return call("ZRANGE", key, 0, -1, "WITHSCORES")
    return call("JSON.GET", key) if json else None


def populate(c: CoreClient) -> None:
    """Every type, in both of its encodings, in three databases, some keys with a TTL."""
    c.call("SET", "str", "hello")
    c.call("SET", "int", "12345")
    c.call("SET", "neg", "-70000")
    c.call("SET", "big", "9223372036854775807")
    c.call("SET", "long", "abc" * 100)
    c.call("SET", "empty", "")
    c.call("SET", "ttl", "v", "PX", "50000")
    c.call("RPUSH", "list", "a", "1", "-5", "x" * 70)
    c.call("RPUSH", "biglist", *[b"element-%d" % i * 5 for i in range(3000)])
    c.call("HSET", "hash", "f", "v", "n", "12")
    c.call("HSET", "bighash", *[part for i in range(600) for part in (b"f%d" % i, b"v%d" % i)])
    c.call("HSET", "widehash", "f", "v" * 100)
    c.call("SADD", "intset", 5, -3, 1000000, 70000)
    c.call("SADD", "set", "a", "b", "c")
    c.call("SADD", "bigintset", *range(600))
    c.call("ZADD", "zset", 1, "a", 2.5, "b", "-inf", "c", 0, "d")
    c.call("ZADD", "bigzset", *[part for i in range(200) for part in (i / 7, b"m%d" % i)])
    c.call("JSON.SET", "doc", "$", '{"a":[1,2.5,"x",null,true],"b":{"c":-3}}')
    c.call("SELECT", 3)
    c.call("SET", "in3", "three", "PX", "90000")
    c.call("LPUSH", "list3", "z")
    c.call("SELECT", 15)
    c.call("HSET", "in15", "k", "v")
    c.call("SELECT", 0)


@pytest.fixture
def populated():
    node = make_node(now=NOW)
    populate(CoreClient(node))
    return node


def reloaded(data: bytes, now: int = NOW, **options):
    node = make_node(now=now, **options)
    result = rdb.load(node, data)
    return node, result


# -- round trips -------------------------------------------------------------------


def test_round_trip_keeps_every_key_value_encoding_and_ttl(populated):
    data = rdb.write(populated)
    node, result = reloaded(data)
    assert describe(CoreClient(node).call) == describe(CoreClient(populated).call)
    assert result.keys_loaded == sum(len(db.data) for db in populated.dbs)
    assert result.keys_expired == 0


def test_rewriting_a_loaded_file_gives_the_same_bytes(populated):
    data = rdb.write(populated)
    node, _ = reloaded(data)
    assert rdb.write(node) == data


def test_header_aux_fields_and_trailer(populated):
    used = populated.evictor.used()
    data = rdb.write(populated, extra_aux=[(b"repl-id", b"x" * 40)], aof_base=True)
    assert data[:9] == b"REDIS0010"
    parsed = rdb.parse(data, populated.config)
    assert parsed.version == 10
    assert list(parsed.aux.items()) == [
        (b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"%d" % (NOW // 1000)),
        (b"used-mem", b"%d" % used), (b"repl-id", b"x" * 40), (b"aof-base", b"1"),
    ]
    assert data[-9] == rdb.OP_EOF
    assert int.from_bytes(data[-8:], "little") == crc64(0, data[:-8])


def test_databases_are_selected_with_their_sizes(populated):
    parsed = rdb.parse(rdb.write(populated), populated.config)
    assert sorted(parsed.databases) == [0, 3, 15]
    entries = parsed.entries()
    assert (3, b"in3", b"three", NOW + 90000) in entries
    assert [e[1] for e in entries if e[0] == 15] == [b"in15"]


def test_empty_node_writes_a_valid_file():
    node = make_node(now=NOW)
    data = rdb.write(node)
    assert rdb.parse(data, node.config).databases == {}
    assert reloaded(data)[1].keys_loaded == 0


def test_without_checksum_the_trailer_is_zero_and_loads():
    node = make_node(now=NOW, rdbchecksum="no")
    CoreClient(node).call("SET", "a", "b")
    data = rdb.write(node)
    assert data[-8:] == bytes(8)
    assert describe(CoreClient(reloaded(data)[0]).call)[(0, b"a")][1] == b"b"


# -- strings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (b"12", b"\xc0\x0c"),  # 8-bit integer
        (b"0", b"\xc0\x00"),
        (b"-129", b"\xc1\x7f\xff"),  # 16-bit integer, little-endian
        (b"70000", b"\xc2\x70\x11\x01\x00"),  # 32-bit integer
        (b"2147483648", b"\x0a2147483648"),  # past 32 bits: text
        (b"012", b"\x03012"),  # not canonical: text
        (b"-0", b"\x02-0"),
        (b"", b"\x00"),
        (b"x" * 64, b"\x40\x40" + b"x" * 64),  # 14-bit length (too short a window for LZF to pay)
    ],
)
def test_string_encodings(value, encoded):
    config = make_node(rdbcompression="no").config
    assert rdb.encode_value(value, config) == (rdb.TYPE_STRING, encoded)
    assert rdb.Cursor(encoded).string() == value


def test_long_strings_are_lzf_compressed_when_that_saves_four_bytes():
    config = make_node().config
    kind, encoded = rdb.encode_value(b"a" * 100, config)
    assert encoded[0] == 0xC3 and len(encoded) < 20
    assert rdb.Cursor(encoded).string() == b"a" * 100
    assert rdb.encode_value(b"a" * 100, make_node(rdbcompression="no").config)[1] == b"\x40\x64" + b"a" * 100


def test_32_bit_lengths():
    value = bytes(range(256)) * 80  # 20480 bytes, not compressible
    kind, encoded = rdb.encode_value(value, make_node(rdbcompression="no").config)
    assert encoded[:5] == b"\x80" + (20480).to_bytes(4, "big")
    assert rdb.Cursor(encoded).string() == value


# -- collections: what the writer chooses and what the reader gives back --------------------


def test_listpack_and_hashtable_types_follow_the_encoding():
    config = make_node().config
    small = HashValue({b"f": b"v"})
    large = HashValue({b"f": b"v"})
    large.hashtable = True
    assert rdb.encode_value(small, config)[0] == rdb.TYPE_HASH_LISTPACK
    assert rdb.encode_value(large, config)[0] == rdb.TYPE_HASH
    ints = SetValue([b"1", b"2"])
    assert rdb.encode_value(ints, config)[0] == rdb.TYPE_SET_INTSET
    ints.intset = False
    assert rdb.encode_value(ints, config)[0] == rdb.TYPE_SET
    zset = ZSetValue({b"a": 1.0})
    assert rdb.encode_value(zset, config)[0] == rdb.TYPE_ZSET_LISTPACK
    zset.listpack = False
    assert rdb.encode_value(zset, config)[0] == rdb.TYPE_ZSET_2
    assert rdb.encode_value(ListValue([b"a"]), config)[0] == rdb.TYPE_LIST_QUICKLIST_2
    assert rdb.encode_value(JsonValue({"a": 1}, False), config)[0] == rdb.TYPE_MODULE_2


def test_intset_payload_is_the_sorted_integers():
    config = make_node(rdbcompression="no").config
    kind, encoded = rdb.encode_value(SetValue([b"5", b"-3", b"70000"]), config)
    blob = rdb.Cursor(encoded).string()
    assert blob == (4).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"".join(
        n.to_bytes(4, "little", signed=True) for n in (-3, 5, 70000))


def test_skiplist_sorted_sets_are_written_greatest_first_with_binary_scores():
    zset = ZSetValue({b"a": 1.0, b"b": 2.0})
    zset.listpack = False
    kind, encoded = rdb.encode_value(zset, make_node().config)
    assert encoded == b"\x02\x01b" + struct_double(2.0) + b"\x01a" + struct_double(1.0)


def struct_double(value: float) -> bytes:
    import struct

    return struct.pack("<d", value)


def test_list_nodes_split_at_the_listpack_size_limit():
    node = make_node(now=NOW)
    c = CoreClient(node)
    c.call("RPUSH", "l", *[b"%04d-" % i + b"y" * 95 for i in range(200)])  # 100-byte elements
    kind, encoded = rdb.encode_value(node.dbs[0].data[b"l"], node.config)
    cursor = rdb.Cursor(encoded)
    nodes = cursor.length()
    assert nodes > 1
    sizes = []
    for _ in range(nodes):
        assert cursor.length() == rdb.QUICKLIST_PACKED
        sizes.append(len(cursor.string()))
    assert max(sizes) <= 8192  # list-max-listpack-size -2: 8 KB nodes
    c.call("CONFIG", "SET", "list-max-listpack-size", "5")
    assert rdb.Cursor(rdb.encode_value(node.dbs[0].data[b"l"], node.config)[1]).length() == nodes  # nodes stay
    c.call("RPUSH", "counted", *[b"%d" % i for i in range(200)])
    cursor = rdb.Cursor(rdb.encode_value(node.dbs[0].data[b"counted"], node.config)[1])
    assert cursor.length() == 40  # 5 elements a node


def test_json_is_written_as_a_rejson_module_string():
    config = make_node(rdbcompression="no").config
    kind, encoded = rdb.encode_value(JsonValue({"a": [1, 2.5]}, True), config)
    cursor = rdb.Cursor(encoded)
    ident = cursor.length()
    assert rdb.module_name(ident) == "ReJSON-RL" and ident & 1023 == 3
    assert cursor.length() == rdb.MODULE_OP_STRING
    assert cursor.string() == b'{"a":[1,2.5]}'
    assert cursor.length() == rdb.MODULE_OP_EOF and cursor.pos == len(encoded)


# -- files built by hand: every encoding Redis 7.0 loads ---------------------------------


def length(n: int) -> bytes:
    return bytes((n,)) if n < 64 else bytes((0x40 | (n >> 8), n & 0xFF))


def text(data: bytes) -> bytes:
    return length(len(data)) + data


def record(kind: int, key: bytes, payload: bytes) -> bytes:
    return bytes((kind,)) + text(key) + payload


def rdb_file(*records: bytes, version: int = 10, checksum: bool = True) -> bytes:
    body = b"REDIS%04d" % version + b"".join(records) + b"\xff"
    return body + (crc64(0, body) if checksum else 0).to_bytes(8, "little")


def ziplist(items) -> bytes:
    """A ziplist as ziplist.c lays it out (entries of bytes or int)."""
    entries = []
    previous = 0
    for item in items:
        prevlen = bytes((previous,)) if previous < 254 else b"\xfe" + previous.to_bytes(4, "little")
        entry = prevlen + _ziplist_encoding(item)
        entries.append(entry)
        previous = len(entry)
    body = b"".join(entries)
    tail = 10 + len(body) - previous if entries else 10
    head = (10 + len(body) + 1).to_bytes(4, "little") + tail.to_bytes(4, "little")
    return head + len(entries).to_bytes(2, "little") + body + b"\xff"


def _ziplist_encoding(item) -> bytes:
    if isinstance(item, bytes):
        if len(item) < 64:
            return bytes((len(item),)) + item
        return bytes((0x40 | (len(item) >> 8), len(item) & 0xFF)) + item
    if 0 <= item <= 12:
        return bytes((0xF1 + item,))
    for code, width in ((0xFE, 1), (0xC0, 2), (0xF0, 3), (0xD0, 4), (0xE0, 8)):
        if -(1 << (8 * width - 1)) <= item < (1 << (8 * width - 1)):
            return bytes((code,)) + item.to_bytes(width, "little", signed=True)
    raise ValueError(item)


def zipmap(pairs) -> bytes:
    body = b"".join(bytes((len(k),)) + k + bytes((len(v), 1)) + v + b"\x00" for k, v in pairs)
    return bytes((len(pairs),)) + body + b"\xff"


def load_value(payload_record: bytes, **options):
    node, _ = reloaded(rdb_file(payload_record), **options)
    return node.dbs[0].data[b"k"]


def test_plain_list_type():
    value = load_value(record(rdb.TYPE_LIST, b"k", length(3) + text(b"a") + b"\xc0\x05" + text(b"c")))
    assert type(value) is ListValue and list(value) == [b"a", b"5", b"c"]


def test_list_ziplist_and_quicklist_of_ziplists():
    value = load_value(record(rdb.TYPE_LIST_ZIPLIST, b"k", text(ziplist([b"a", 7, -200, 100000, 2**40, b"z" * 70]))))
    assert list(value) == [b"a", b"7", b"-200", b"100000", b"%d" % 2**40, b"z" * 70]
    nodes = length(2) + text(ziplist([b"a", b"b"])) + text(ziplist([3]))
    assert list(load_value(record(rdb.TYPE_LIST_QUICKLIST, b"k", nodes))) == [b"a", b"b", b"3"]


def test_quicklist_2_with_a_plain_node():
    nodes = length(2) + length(rdb.QUICKLIST_PACKED) + text(listpack.encode([b"a", 1])) + length(
        rdb.QUICKLIST_PLAIN) + text(b"big element")
    assert list(load_value(record(rdb.TYPE_LIST_QUICKLIST_2, b"k", nodes))) == [b"a", b"1", b"big element"]


def test_hash_ziplist_and_zipmap():
    value = load_value(record(rdb.TYPE_HASH_ZIPLIST, b"k", text(ziplist([b"f", b"v", b"n", 12]))))
    assert type(value) is HashValue and value == {b"f": b"v", b"n": b"12"} and not value.hashtable
    value = load_value(record(rdb.TYPE_HASH_ZIPMAP, b"k", text(zipmap([(b"a", b"1"), (b"b", b"xy")]))))
    assert value == {b"a": b"1", b"b": b"xy"}


def test_zset_ziplist_and_text_scores():
    value = load_value(record(rdb.TYPE_ZSET_ZIPLIST, b"k", text(ziplist([b"a", 1, b"b", b"2.5"]))))
    assert type(value) is ZSetValue and value.scores == {b"a": 1.0, b"b": 2.5} and value.listpack
    scores = b"\x031.5" + bytes((254,)) + bytes((255,))
    value = load_value(record(rdb.TYPE_ZSET, b"k", length(3) + text(b"a") + scores[:4] + text(b"b") + scores[4:5]
                              + text(b"c") + scores[5:]))
    assert value.scores == {b"a": 1.5, b"b": math.inf, b"c": -math.inf}


def test_set_listpack_of_redis_7_2():
    value = load_value(record(rdb.TYPE_SET_LISTPACK, b"k", text(listpack.encode([b"a", 5]))))
    assert type(value) is SetValue and sorted(value) == [b"5", b"a"] and not value.intset


def test_load_encodings_follow_redis_load_rules():
    # RDB_TYPE_HASH: a listpack unless too many fields or one too long; a listpack
    # blob converts only for its length (as rdbLoadObject does)
    hash_record = record(rdb.TYPE_HASH, b"k", length(1) + text(b"f") + text(b"v"))
    assert not load_value(hash_record).hashtable
    long_value = record(rdb.TYPE_HASH, b"k", length(1) + text(b"f") + text(b"v" * 65))
    assert load_value(long_value).hashtable
    packed = record(rdb.TYPE_HASH_LISTPACK, b"k", text(listpack.encode([b"f", b"v" * 65])))
    assert not load_value(packed).hashtable
    assert load_value(record(rdb.TYPE_HASH_LISTPACK, b"k", text(listpack.encode([b"f", b"v", b"g", b"w"]))),
                      hash_max_listpack_entries="1").hashtable
    # RDB_TYPE_SET: an intset when every member is an integer and there are few enough
    assert load_value(record(rdb.TYPE_SET, b"k", length(2) + text(b"1") + text(b"2"))).intset
    assert not load_value(record(rdb.TYPE_SET, b"k", length(2) + text(b"1") + text(b"x"))).intset
    blob = text(intset.encode([1, 2, 3]))
    assert not load_value(record(rdb.TYPE_SET_INTSET, b"k", blob), set_max_intset_entries="2").intset
    # ZSET_2: a listpack after loading when small enough
    pair = text(b"m") + struct_double(-0.0)
    value = load_value(record(rdb.TYPE_ZSET_2, b"k", length(1) + pair))
    assert value.listpack and math.copysign(1, value.scores[b"m"]) == 1  # a listpack keeps no -0
    value = load_value(record(rdb.TYPE_ZSET_2, b"k", length(1) + text(b"m" * 65) + struct_double(1.0)))
    assert not value.listpack


def test_opcodes_without_keys_are_skipped():
    module_aux = bytes((rdb.OP_MODULE_AUX,)) + b"\x81" + (12345 << 10).to_bytes(8, "big") + length(
        rdb.MODULE_OP_UINT) + length(2) + length(rdb.MODULE_OP_STRING) + text(b"aux") + length(
        rdb.MODULE_OP_DOUBLE) + struct_double(1.0) + length(rdb.MODULE_OP_EOF)
    data = rdb_file(
        bytes((rdb.OP_AUX,)) + text(b"lua") + text(b"script"),
        bytes((rdb.OP_FUNCTION2,)) + text(b"#!lua name=lib\nredis.register_function('f', function() end)"),
        module_aux,
        bytes((rdb.OP_SELECTDB,)) + length(2),
        bytes((rdb.OP_RESIZEDB,)) + length(1) + length(1),
        bytes((rdb.OP_EXPIRETIME,)) + (NOW // 1000 + 100).to_bytes(4, "little"),
        bytes((rdb.OP_IDLE,)) + length(10),
        bytes((rdb.OP_FREQ,)) + b"\x05",
        record(rdb.TYPE_STRING, b"k", text(b"v")),
    )
    node, result = reloaded(data)
    assert node.dbs[2].data == {b"k": b"v"} and node.dbs[2].expires == {b"k": NOW + 100_000}
    assert result.aux == {b"lua": b"script"}


def test_rdb_versions_before_5_have_no_checksum():
    node, result = reloaded(b"REDIS0004" + record(rdb.TYPE_STRING, b"k", text(b"v")) + b"\xff")
    assert node.dbs[0].data == {b"k": b"v"}


def test_empty_collections_are_skipped():
    data = rdb_file(record(rdb.TYPE_LIST, b"k", length(0)), record(rdb.TYPE_STRING, b"s", text(b"v")))
    node, result = reloaded(data)
    assert node.dbs[0].data == {b"s": b"v"} and result.keys_loaded == 1


def test_expired_keys_are_dropped_except_on_a_replica():
    expiry = bytes((rdb.OP_EXPIRETIME_MS,)) + (NOW - 1).to_bytes(8, "little")
    data = rdb_file(expiry, record(rdb.TYPE_STRING, b"old", text(b"v")), record(rdb.TYPE_STRING, b"new", text(b"v")))
    node, result = reloaded(data)
    assert list(node.dbs[0].data) == [b"new"] and (result.keys_loaded, result.keys_expired) == (1, 1)
    replica = make_node(now=NOW)
    replica.is_replica = True
    assert rdb.load(replica, data).keys_expired == 0 and replica.dbs[0].expires == {b"old": NOW - 1}
    preamble = make_node(now=NOW)  # an AOF's RDB part: the log after it decides
    assert rdb.load(preamble, data, drop_expired=False).keys_loaded == 2


def test_loading_replaces_what_was_there():
    node = make_node(now=NOW)
    c = CoreClient(node)
    c.call("SET", "gone", "1")
    c.call("SELECT", 4)
    c.call("SET", "gone4", "1")
    rdb.load(node, rdb_file(record(rdb.TYPE_STRING, b"k", text(b"v"))))
    assert describe(c.call).keys() == {(0, b"k")}


# -- errors --------------------------------------------------------------------------


def test_every_truncation_is_an_error_with_an_offset(populated):
    data = rdb.write(populated, extra_aux=[])
    small = rdb.write(reloaded(rdb_file(
        record(rdb.TYPE_STRING, b"k", text(b"v")),
        record(rdb.TYPE_HASH_LISTPACK, b"h", text(listpack.encode([b"f", b"v"]))),
        record(rdb.TYPE_ZSET_2, b"z", length(1) + text(b"m") + struct_double(1.0)),
    ))[0])
    for blob in (small, data[:2000]):
        for cut in range(len(blob)):
            with pytest.raises(rdb.RdbError) as info:
                rdb.parse(blob[:cut], populated.config)
            assert 0 <= info.value.offset <= cut


def test_checksum_mismatch_names_its_offset():
    node = make_node(now=NOW)
    CoreClient(node).call("SET", "a", "hello world")
    good = rdb.write(node)
    at = good.index(b"hello world")
    flipped = good[:at] + b"j" + good[at + 1 :]  # still a well-formed file, with other data
    for bad in (flipped, good[:-8] + (int.from_bytes(good[-8:], "little") ^ 1).to_bytes(8, "little")):
        with pytest.raises(rdb.RdbError, match="CRC") as info:
            rdb.parse(bad, node.config)
        assert info.value.offset == len(good) - 8
    assert rdb.parse(flipped, node.config, verify_checksum=False).entries() == [(0, b"a", b"jello world", None)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"RADIS0010\xff", "Wrong signature"),
        (b"REDIS0012\xff", "Can't handle RDB format version 12"),
        (rdb_file(bytes((rdb.OP_SELECTDB,)) + length(16)), "more than 16 databases"),
        (rdb_file(record(rdb.TYPE_STRING, b"k", text(b"1")), record(rdb.TYPE_STRING, b"k", text(b"2"))),
         "Duplicated key"),
        (rdb_file(record(rdb.TYPE_STREAM_LISTPACKS_2, b"k", length(1) + text(b"short") + text(b"x"))),
         "Stream node key entry is not the size of a stream ID"),
        (rdb_file(record(rdb.TYPE_MODULE_2, b"k", b"\x81" + rdb.module_id("graphdata", 1).to_bytes(8, "big"))),
         "no matching module type 'graphdata'"),
        (rdb_file(record(8, b"k", b"")), "Unknown RDB encoding type 8"),
        (rdb_file(record(rdb.TYPE_SET, b"k", length(2) + text(b"a") + text(b"a"))), "Duplicate set members"),
        (rdb_file(record(rdb.TYPE_HASH, b"k", length(2) + text(b"a") + text(b"1") + text(b"a") + text(b"2"))),
         "Duplicate hash fields"),
        (rdb_file(record(rdb.TYPE_ZSET_2, b"k", length(1) + text(b"a") + struct_double(math.nan))), "NAN score"),
        (rdb_file(record(rdb.TYPE_HASH_LISTPACK, b"k", text(b"not a listpack"))), "listpack"),
        (rdb_file(record(rdb.TYPE_STRING, b"k", b"\xc3\x05\x0a\x01ab")), "LZF"),
        (rdb_file(record(rdb.TYPE_STRING, b"k", b"\xc7")), "string encoding"),
    ],
)
def test_corrupt_files(data, message):
    with pytest.raises(rdb.RdbError, match=message):
        rdb.parse(data, make_node().config)


def test_a_failed_load_leaves_the_node_alone():
    node = make_node(now=NOW)
    CoreClient(node).call("SET", "kept", "1")
    with pytest.raises(rdb.RdbError):
        rdb.load(node, rdb_file(record(rdb.TYPE_STRING, b"k", text(b"1")), record(rdb.TYPE_STRING, b"k", text(b"2"))))
    assert node.dbs[0].data == {b"kept": b"1"}


# -- the property: any state survives a write and a load ----------------------------------

members = st.one_of(
    st.binary(max_size=12),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: b"%d" % n),
    st.binary(min_size=60, max_size=90),
)
scores = st.one_of(st.floats(allow_nan=False), st.integers(-(2**53), 2**53).map(float))


@st.composite
def values(draw):
    kind = draw(st.sampled_from(["string", "list", "hash", "set", "zset", "json"]))
    if kind == "string":
        return draw(st.one_of(members, st.binary(max_size=300)))
    if kind == "list":
        return ListValue(draw(st.lists(members, min_size=1, max_size=30)))
    if kind == "hash":
        value = HashValue(draw(st.dictionaries(members, members, min_size=1, max_size=20)))
        value.hashtable = draw(st.booleans())
        return value
    if kind == "set":
        return SetValue.built(draw(st.lists(members, min_size=1, max_size=30, unique=True)), make_node().config)
    if kind == "zset":
        return ZSetValue.built(draw(st.dictionaries(members, scores, min_size=1, max_size=20)), make_node().config)
    json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=8),
                            st.floats(allow_nan=False, allow_infinity=False))
    document = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=5), inner, max_size=4), max_leaves=10)
    return JsonValue(draw(document), True)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from([0, 1, 9]), members), st.tuples(
    values(), st.one_of(st.none(), st.integers(NOW, NOW + 10**9))), max_size=12), st.booleans())
def test_any_state_survives_write_and_load(keys, compression):
    node = make_node(now=NOW, rdbcompression="yes" if compression else "no")
    for (index, key), (value, expire) in keys.items():
        node.dbs[index].set(key, value)
        if expire is not None:
            node.dbs[index].set_expire(key, expire)
    loaded, _ = reloaded(rdb.write(node))
    assert state(loaded) == state(node)


def state(node) -> dict:
    out = {}
    for db in node.dbs:
        for key, value in db.data.items():
            out[(db.index, key)] = (_plain(value), db.expires.get(key))
    return out


def _plain(value):
    if type(value) is bytes:
        return value
    if isinstance(value, ListValue):
        return ("list", list(value))
    if isinstance(value, HashValue):
        return ("hash", dict(value))
    if isinstance(value, SetValue):
        return ("set", sorted(value))
    if isinstance(value, ZSetValue):
        return ("zset", [(member, score) for score, member in value.order])
    return ("json", repr(value.root))
