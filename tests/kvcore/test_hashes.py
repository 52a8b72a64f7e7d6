"""The hash family against the pure core; every expected reply is checked against redis-server too.

`CASES` run on a kvcore node and on a real redis-server 7.0 (skipped when it
is missing). Random replies (HRANDFIELD) are checked by their properties;
RESP3 shapes byte for byte against Redis.
"""

from __future__ import annotations

import time

import pytest

from kvcore.types_hash import HashValue
from tests.kvcore.harness import CoreClient, make_node
from tests.kvcore.test_lists import NOT_INT, OK, SYNTAX, WRONGTYPE, RedisWorld, core_raw, encode_request, err, run_case

NIL = None
LONG = "f" * 65

CASES = [
    ("set and get", [
        ("HSET", "h", "a", "1", "b", "2", 2),
        ("HSET", "h", "a", "10", "c", "3", 1),
        ("HGET", "h", "a", b"10"),
        ("HGET", "h", "zz", NIL),
        ("HGET", "nokey", "a", NIL),
        ("HMGET", "h", "a", "zz", "c", [b"10", NIL, b"3"]),
        ("HMGET", "nokey", "a", "b", [NIL, NIL]),
        ("HLEN", "h", 3),
        ("HLEN", "nokey", 0),
        ("HSTRLEN", "h", "a", 2),
        ("HSTRLEN", "h", "zz", 0),
        ("HSTRLEN", "nokey", "a", 0),
        ("HEXISTS", "h", "b", 1),
        ("HEXISTS", "h", "zz", 0),
        ("HEXISTS", "nokey", "zz", 0),
        ("HKEYS", "h", [b"a", b"b", b"c"]),
        ("HVALS", "h", [b"10", b"2", b"3"]),
        ("HGETALL", "h", [b"a", b"10", b"b", b"2", b"c", b"3"]),
        ("HKEYS", "nokey", []),
        ("HVALS", "nokey", []),
        ("HGETALL", "nokey", []),
    ]),
    ("hmset and hsetnx", [
        ("HMSET", "h", "a", "1", "b", "2", OK),
        ("HSETNX", "h", "a", "x", 0),
        ("HSETNX", "h", "c", "x", 1),
        ("HSETNX", "new", "c", "x", 1),
        ("HGETALL", "h", [b"a", b"1", b"b", b"2", b"c", b"x"]),
        ("HSET", "h", "a", err("ERR wrong number of arguments for 'hset' command")),
        ("HSET", "h", "a", "b", "c", err("ERR wrong number of arguments for 'hset' command")),
        ("HMSET", "h", "a", "b", "c", err("ERR wrong number of arguments for 'hmset' command")),
    ]),
    ("hdel", [
        ("HSET", "h", "a", "1", "b", "2", "c", "3", 3),
        ("HDEL", "h", "a", "a", "zz", 1),
        ("HDEL", "nokey", "a", 0),
        ("HDEL", "h", "b", "c", 2),
        ("EXISTS", "h", 0),
    ]),
    ("hincrby", [
        ("HINCRBY", "h", "n", 5, 5),
        ("HINCRBY", "h", "n", -7, -2),
        ("HSET", "h", "s", "abc", "sp", " 1", "max", "9223372036854775807", 3),
        ("HINCRBY", "h", "s", 1, err("ERR hash value is not an integer")),
        ("HINCRBY", "h", "sp", 1, err("ERR hash value is not an integer")),
        ("HINCRBY", "h", "max", 1, err("ERR increment or decrement would overflow")),
        ("HINCRBY", "h", "min", "-9223372036854775808", -9223372036854775808),
        ("HINCRBY", "h", "min", -1, err("ERR increment or decrement would overflow")),
        ("HINCRBY", "h", "n", "1.5", NOT_INT),
        ("HINCRBY", "h", "n", "x", NOT_INT),
        ("HGET", "h", "n", b"-2"),
    ]),
    ("hincrbyfloat", [
        ("HINCRBYFLOAT", "h", "f", "1.5", b"1.5"),
        ("HINCRBYFLOAT", "h", "f", "0.1", b"1.6"),
        ("HINCRBYFLOAT", "h", "f", "-1.6", b"0"),
        ("HINCRBYFLOAT", "h", "g", "5.0e3", b"5000"),
        ("HINCRBYFLOAT", "h", "g", "inf", err("ERR value is NaN or Infinity")),
        ("HINCRBYFLOAT", "h", "g", "x", err("ERR value is not a valid float")),
        ("HSET", "h", "s", "abc", "i", "inf", 2),
        ("HINCRBYFLOAT", "h", "s", 1, err("ERR hash value is not a float")),
        ("HINCRBYFLOAT", "h", "i", 1, err("ERR increment would produce NaN or Infinity")),
        ("HINCRBYFLOAT", "h", "n", "10.50", b"10.5"),
        ("HINCRBYFLOAT", "h", "n", "3", b"13.5"),
        ("HGET", "h", "n", b"13.5"),
    ]),
    ("hrandfield arguments", [
        ("HSET", "h", "a", "1", 1),
        ("HRANDFIELD", "nokey", NIL),
        ("HRANDFIELD", "nokey", 5, []),
        ("HRANDFIELD", "nokey", -5, "WITHVALUES", []),
        ("HRANDFIELD", "nokey", "x", NOT_INT),
        ("HRANDFIELD", "h", 0, []),
        ("HRANDFIELD", "h", 0, "WITHVALUES", []),
        ("HRANDFIELD", "h", 1, "withvalues", [b"a", b"1"]),
        ("HRANDFIELD", "h", -2, [b"a", b"a"]),
        ("HRANDFIELD", "h", "x", NOT_INT),
        ("HRANDFIELD", "h", 5, "WITHVALUES", "x", SYNTAX),
        ("HRANDFIELD", "h", 5, "FOO", SYNTAX),
        ("HRANDFIELD", "h", "-9223372036854775808", err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES", err("ERR value is out of range")),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES", err("ERR value is out of range")),
        ("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES", [b"a", b"1"]),
    ]),
    ("hscan", [
        ("HSET", "h", "a1", "1", "b1", "2", "a2", "3", 3),
        ("HSCAN", "h", 0, [b"0", [b"a1", b"1", b"b1", b"2", b"a2", b"3"]]),
        ("HSCAN", "h", 0, "MATCH", "a*", [b"0", [b"a1", b"1", b"a2", b"3"]]),
        ("HSCAN", "h", 0, "match", "a*", "COUNT", 1, "MATCH", "b*", [b"0", [b"b1", b"2"]]),
        ("HSCAN", "h", "-1", "MATCH", "*", [b"0", [b"a1", b"1", b"b1", b"2", b"a2", b"3"]]),
        ("HSCAN", "h", "", "MATCH", "zz", [b"0", []]),
        ("HSCAN", "h", "+5", "COUNT", 100, [b"0", [b"a1", b"1", b"b1", b"2", b"a2", b"3"]]),
        ("HSCAN", "h", "18446744073709551615", "MATCH", "?2", [b"0", [b"a2", b"3"]]),
        ("HSCAN", "h", "18446744073709551616", err("ERR invalid cursor")),
        ("HSCAN", "h", " 1", err("ERR invalid cursor")),
        ("HSCAN", "h", "0x1", err("ERR invalid cursor")),
        ("HSCAN", "nokey", "x", err("ERR invalid cursor")),
        ("HSCAN", "nokey", 0, "COUNT", 0, [b"0", []]),
        ("HSCAN", "h", 0, "COUNT", 0, SYNTAX),
        ("HSCAN", "h", 0, "COUNT", -1, SYNTAX),
        ("HSCAN", "h", 0, "COUNT", "x", NOT_INT),
        ("HSCAN", "h", 0, "MATCH", SYNTAX),
        ("HSCAN", "h", 0, "TYPE", "string", SYNTAX),
        ("HSCAN", "h", 0, "NOVALUES", SYNTAX),
    ]),
    ("wrong type", [
        ("SET", "s", "x", OK),
        ("HSET", "s", "a", "b", WRONGTYPE),
        ("HMSET", "s", "a", "b", WRONGTYPE),
        ("HSETNX", "s", "a", "b", WRONGTYPE),
        ("HGET", "s", "a", WRONGTYPE),
        ("HMGET", "s", "a", WRONGTYPE),
        ("HDEL", "s", "a", WRONGTYPE),
        ("HLEN", "s", WRONGTYPE),
        ("HSTRLEN", "s", "a", WRONGTYPE),
        ("HEXISTS", "s", "a", WRONGTYPE),
        ("HKEYS", "s", WRONGTYPE),
        ("HVALS", "s", WRONGTYPE),
        ("HGETALL", "s", WRONGTYPE),
        ("HINCRBY", "s", "a", 1, WRONGTYPE),
        ("HINCRBY", "s", "a", "x", NOT_INT),
        ("HINCRBYFLOAT", "s", "a", 1, WRONGTYPE),
        ("HINCRBYFLOAT", "s", "a", "x", err("ERR value is not a valid float")),
        ("HRANDFIELD", "s", WRONGTYPE),
        ("HRANDFIELD", "s", 0, WRONGTYPE),
        ("HRANDFIELD", "s", "x", NOT_INT),
        ("HSCAN", "s", 0, WRONGTYPE),
        ("HSCAN", "s", 0, "COUNT", 0, WRONGTYPE),
        ("HSCAN", "s", "x", err("ERR invalid cursor")),
    ]),
]


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_core(steps):
    run_case(CoreClient(make_node()).call, steps)


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_redis(steps, redis_conn):
    """The same expectations hold on redis-server: they are Redis's."""
    redis_conn.call([b"FLUSHALL"])
    run_case(lambda *argv: redis_conn.call([a if isinstance(a, bytes) else str(a).encode() for a in argv]), steps)


# -- RESP3 shapes, byte for byte (single-field hashes keep random replies fixed) ------------
RESP3_REQUESTS = [
    ["HSET", "h", "a", "1"],
    ["HGETALL", "h"],
    ["HGETALL", "nokey"],
    ["HRANDFIELD", "h", "-2", "WITHVALUES"],
    ["HRANDFIELD", "h", "1", "WITHVALUES"],
    ["HRANDFIELD", "h", "-2"],
    ["HRANDFIELD", "nokey"],
    ["HMGET", "h", "a", "b"],
    ["HSCAN", "h", "0"],
    ["HINCRBYFLOAT", "h", "f", "2.5"],
]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_protocol_shapes_match_redis(redis_port, resp3):
    world = RedisWorld(redis_port)
    try:
        conn = world.client()
        expected = []
        for argv in ([["HELLO", "3"]] if resp3 else []) + RESP3_REQUESTS:
            conn.sendall(encode_request(*argv))
            expected.append(world.raw(conn))
    finally:
        world.close()
    assert core_raw(RESP3_REQUESTS, resp3) == (expected[1:] if resp3 else expected)


def test_hrandfield_resp3_pairs_without_redis():
    """HELLO 3: WITHVALUES gives [field, value] pairs, HGETALL a map (checked above against Redis)."""
    out = core_raw([["HSET", "h", "a", "1"], ["HRANDFIELD", "h", "-2", "WITHVALUES"], ["HGETALL", "h"]], True)
    assert out[1] == b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert out[2] == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"


# -- random fields ---------------------------------------------------------------------------
def test_hrandfield_properties():
    client = CoreClient(make_node(seed=7))
    fields = [b"f%d" % i for i in range(10)]
    client.call("HSET", "h", *[x for f in fields for x in (f, b"v" + f)])
    assert client.call("HRANDFIELD", "h") in fields
    distinct = client.call("HRANDFIELD", "h", 4)
    assert len(distinct) == 4 and len(set(distinct)) == 4 and set(distinct) <= set(fields)
    assert client.call("HRANDFIELD", "h", 20) == fields
    repeats = client.call("HRANDFIELD", "h", -50)
    assert len(repeats) == 50 and set(repeats) <= set(fields) and len(set(repeats)) > 1
    pairs = client.call("HRANDFIELD", "h", -6, "WITHVALUES")
    assert len(pairs) == 12 and all(pairs[i + 1] == b"v" + pairs[i] for i in range(0, 12, 2))


def test_hrandfield_is_deterministic_per_seed():
    def draw(seed):
        client = CoreClient(make_node(seed=seed))
        client.call("HSET", "h", *[b"%d" % i for i in range(40)])
        return [client.call("HRANDFIELD", "h", -5) for _ in range(3)]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


# -- encoding ------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps,encoding", [
    ([("HSET", "h", "a", "1")], "listpack"),
    ([("HSET", "h", LONG, "1")], "hashtable"),
    ([("HSET", "h", "a", LONG)], "hashtable"),
    ([("HSETNX", "h", LONG, "1")], "hashtable"),
    ([("HINCRBY", "h", LONG, "1")], "hashtable"),
    ([("HINCRBYFLOAT", "h", LONG, "1")], "hashtable"),
    ([("HSET", "h", *[str(i) for i in range(256)])], "listpack"),
    ([("HSET", "h", *[str(i) for i in range(258)])], "hashtable"),
    ([("HSET", "h", *[str(i) for i in range(258)]), ("HDEL", "h", "0", "2")], "hashtable"),
    ([("CONFIG", "SET", "hash-max-listpack-entries", "0"), ("HSET", "h", "a", "1")], "hashtable"),
    ([("CONFIG", "SET", "hash-max-listpack-value", "0"), ("HSET", "h", "a", "")], "hashtable"),
])
def test_encoding_matches_redis(steps, encoding, redis_conn):
    """OBJECT ENCODING as Redis 7.0 reports it after the same writes."""
    redis_conn.call([b"FLUSHALL"])
    redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"])
    redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-value", b"64"])
    node = make_node(hash_max_listpack_entries="128", hash_max_listpack_value="64")
    client = CoreClient(node)
    for argv in steps:
        redis_conn.call([a.encode() for a in argv])
        if argv[0] == "CONFIG":
            node.config.values[argv[2]] = int(argv[3])
        else:
            client.call(*argv)
    assert redis_conn.call([b"OBJECT", b"ENCODING", b"h"]) == encoding.encode()
    value = node.dbs[0].data[b"h"]
    assert type(value) is HashValue and value.TYPE == "hash"
    assert value.encoding(node.config) == encoding
    redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"])
    redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-value", b"64"])


def test_hincrbyfloat_is_logged_as_hset():
    from tests.kvcore.test_lists import logged

    node = make_node(appendonly="yes")
    client = CoreClient(node, conn=1)
    for argv in (["HINCRBYFLOAT", "h", "f", "1.10"], ["HINCRBYFLOAT", "h", "f", "x"], ["HDEL", "h", "zz"]):
        node.receive(client.conn, encode_request(*argv), node.now)
    assert logged(node) == [[b"HSET", b"h", b"f", b"1.1"]]


def test_million_field_hash_is_linear():
    """A 1M-field hash builds and answers through the core in a few seconds."""
    client = CoreClient(make_node())
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, 1_000_000, batch):
        args = [x for i in range(start, start + batch) for x in (b"f%d" % i, b"%d" % i)]
        assert client.call("HSET", "big", *args) == batch
    assert client.call("HLEN", "big") == 1_000_000
    assert client.call("HGET", "big", "f765432") == b"765432"
    assert client.call("HMGET", "big", "f0", "f999999", "nope") == [b"0", b"999999", None]
    assert client.call("HINCRBY", "big", "f10", 5) == 15
    assert client.call("HDEL", "big", "f1", "f2") == 2
    assert client.call("HEXISTS", "big", "f1") == 0
    assert client.call("HSTRLEN", "big", "f999999") == 6
    assert len(client.call("HRANDFIELD", "big", 5)) == 5
    assert client.call("HLEN", "big") == 999_998
    assert time.perf_counter() - started < 15


def _hscan_pages(call, key: str, count: int, between=None) -> tuple[list[bytes], int]:
    """A whole HSCAN ``count`` at a time: every field it returned, and how many calls it took;
    ``between(page)`` runs after each call but the last."""
    cursor, fields, calls = b"0", [], 0
    while True:
        cursor, found = call("HSCAN", key, cursor.decode(), "COUNT", count)
        fields += found[0::2]
        calls += 1
        if cursor == b"0":
            return fields, calls
        if between is not None:
            between(calls)


def test_hscan_pages_a_hashtable_as_redis_and_returns_a_listpack_whole(redis_conn):
    """Redis walks a hashtable hash COUNT buckets a call and answers a listpack one whole; so do we,
    COUNT fields a call, in the order of the hash's scan positions."""
    redis_conn.call([b"FLUSHALL"])
    redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-entries", b"2"])
    node = make_node(hash_max_listpack_entries="2")
    client = CoreClient(node)
    try:
        for call in (client.call, lambda *argv: redis_conn.call([str(arg).encode() for arg in argv])):
            call("HSET", "big", *[part for i in range(6) for part in (f"f{i}", str(i))])
            call("HSET", "small", "x", "1")
            fields, calls = _hscan_pages(call, "big", 1)
            assert sorted(set(fields)) == [b"f%d" % i for i in range(6)] and calls > 1
            assert call("HSCAN", "small", 0, "COUNT", 1) == [b"0", [b"x", b"1"]]
    finally:
        redis_conn.call([b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"])


def test_hscan_returns_every_field_present_for_the_whole_scan():
    """Fields added and deleted between calls (enough deletions to compact the scan positions) never
    hide one that stayed throughout; each page is COUNT fields (or the rest)."""
    client = CoreClient(make_node(hash_max_listpack_entries="2"))
    client.call("HSET", "h", *[part for i in range(3000) for part in (f"f{i}", "v")])

    def churn(page: int) -> None:
        client.call("HDEL", "h", *[f"f{i}" for i in range(page * 50, page * 50 + 50) if i % 3])  # 2 in 3 go
        client.call("HSET", "h", f"new{page}", "v")

    fields, calls = _hscan_pages(client.call, "h", 40, churn)
    stayed = {b"f%d" % i for i in range(3000) if i % 3 == 0 or i >= 50 * calls}
    assert stayed <= set(fields)
    assert calls > 3000 // 40 // 2
