"""DEBUG DIGEST and DIGEST-VALUE: equal for equal datasets whatever their history, different otherwise."""

from __future__ import annotations

import pytest

from kvcore import rdb
from tests.kvcore.harness import CoreClient, make_node

EMPTY = b"0" * 40


def client(**options) -> CoreClient:
    return CoreClient(make_node(enable_debug_command="yes", **options))


def test_an_empty_dataset_digests_to_zeros_as_in_redis():
    c = client()
    assert c.call("DEBUG", "DIGEST") == EMPTY
    c.call("SET", "k", "v")
    c.call("DEL", "k")
    assert c.call("DEBUG", "DIGEST") == EMPTY
    assert c.call("DEBUG", "DIGEST-VALUE", "missing") == [EMPTY]


def test_insertion_order_and_encoding_do_not_change_the_digest():
    a, b = client(), client(hash_max_listpack_entries="1", set_max_intset_entries="1")
    for c, order in ((a, ["x", "y", "z"]), (b, ["z", "y", "x"])):
        for member in order:
            c.call("SADD", "s", member)
            c.call("HSET", "h", member, member.upper())
            c.call("ZADD", "z", 1, member)
            c.call("RPUSH", "l", "same")
    assert a.call("DEBUG", "OBJECT", "h") != b.call("DEBUG", "OBJECT", "h")  # listpack vs hashtable
    assert a.call("DEBUG", "DIGEST") == b.call("DEBUG", "DIGEST")
    assert a.call("DEBUG", "DIGEST-VALUE", "s", "h") == b.call("DEBUG", "DIGEST-VALUE", "s", "h")


@pytest.mark.parametrize(
    "change",
    [["SET", "k", "w"], ["EXPIRE", "k", "100"], ["MOVE", "k", "1"], ["RPUSH", "l", "b", "a"], ["ZADD", "z", "2", "m"]],
)
def test_any_change_changes_the_digest(change):
    c = client()
    c.call("SET", "k", "v")
    c.call("RPUSH", "l", "a", "b")
    c.call("ZADD", "z", "1", "m")
    before = c.call("DEBUG", "DIGEST")
    c.call(*change)
    assert c.call("DEBUG", "DIGEST") != before


def test_a_reload_keeps_the_digest():
    c = client()
    c.call("SET", "k", "v", "PX", "100000")
    c.call("HSET", "h", "f", "v", "g", "w")
    c.call("SADD", "s", "1", "2", "3")
    fresh = client()
    rdb.load(fresh.node, rdb.write(c.node))
    assert fresh.call("DEBUG", "DIGEST") == c.call("DEBUG", "DIGEST")


# Digests read from redis-server 7.0.15 for the same commands (DEBUG DIGEST-VALUE / DEBUG DIGEST).
def test_digest_value_is_the_value_only_and_equal_to_redis():
    c = client()
    c.call("RPUSH", "l", "a", "b", "c", "d")
    c.call("COPY", "l", "l2")
    assert c.call("DEBUG", "DIGEST-VALUE", "l", "l2", "missing") == [
        b"c2574bbed47da8ccbe8f972d9956f15e68ebd40e", b"c2574bbed47da8ccbe8f972d9956f15e68ebd40e", EMPTY]
    assert c.call("DEBUG", "DIGEST") == b"a62f8fe064bd7495e2cc353f846dc87adc3b64f2"


def test_a_ttl_adds_a_marker_not_the_time():
    c = client()
    c.call("SET", "k", "v", "PX", "100000")
    assert c.call("DEBUG", "DIGEST-VALUE", "k") == [b"311b17018163335616e089f6b951c82c477335ac"]
    c.call("PEXPIRE", "k", "5000")
    assert c.call("DEBUG", "DIGEST-VALUE", "k") == [b"311b17018163335616e089f6b951c82c477335ac"]
    c.call("PERSIST", "k")
    assert c.call("DEBUG", "DIGEST-VALUE", "k") == [b"d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f"]


def test_each_type_digests_as_in_redis():
    c = client()
    c.call("ZADD", "z", "1.5", "a", "2", "b")
    c.call("HSET", "h", "f", "v", "g", "1")
    c.call("SADD", "s", "1", "2", "3")
    c.call("SADD", "s2", "x", "y")
    assert c.call("DEBUG", "DIGEST-VALUE", "z", "h", "s", "s2") == [
        b"445b877af3c3ec83af30529ddbbdda3185172254", b"6679ee22f89ed8001eeb5309d0900265ea56c03a",
        b"2a462a3f51a1db89738ebbeef0c47ce1bbc85246", b"36846f8a92fb6b6b824c73bf468c5bbcf5075ede"]


def test_the_dataset_digest_mixes_in_database_numbers_as_redis():
    c = client()
    c.call("RPUSH", "l", "a", "b", "c", "d")
    c.call("COPY", "l", "l2")
    c.call("SET", "k", "v")
    for command in (["ZADD", "z", "1.5", "a", "2", "b"], ["HSET", "h", "f", "v", "g", "1"],
                    ["SADD", "s", "1", "2", "3"], ["SADD", "s2", "x", "y"], ["SELECT", "5"], ["SET", "k", "v"]):
        c.call(*command)
    assert c.call("DEBUG", "DIGEST") == b"8f29f1301371a6e01af1334c39223893dfde5a31"


COMPARED = [
    ["SET", "n", "12345"], ["SET", "e", ""], ["RPUSH", "l", "a", "1", "-2", "x" * 100],
    ["SADD", "si", "5", "-3", "100000000000"], ["SADD", "sh", "a", "b", "1"],
    ["ZADD", "zl", "0.1", "a", "-inf", "b", "inf", "c", "3", "d"],
    ["ZADD", "zs", *[arg for i in range(200) for arg in (str(i / 7), "m%d" % i)]],
    ["HSET", "hl", "f", "1", "g", "-2"], ["HSET", "hh", *[arg for i in range(600) for arg in ("f%d" % i, "v%d" % i)]],
    ["SET", "t", "v", "EX", "1000"], ["SELECT", "9"], ["RPUSH", "l", "z"], ["SELECT", "0"],
]


def test_digests_equal_redis_for_every_encoding(redis_port):
    import redis

    theirs = redis.Redis(port=redis_port, single_connection_client=True)
    theirs.flushall()
    ours = client()
    for command in COMPARED:
        theirs.execute_command(*command)
        ours.call(*command)
    keys = ["n", "e", "l", "si", "sh", "zl", "zs", "hl", "hh", "t"]
    assert ours.call("DEBUG", "DIGEST-VALUE", *keys) == theirs.execute_command("DEBUG", "DIGEST-VALUE", *keys)
    assert ours.call("DEBUG", "DIGEST") == theirs.execute_command("DEBUG", "DIGEST")
    theirs.flushall()
    theirs.close()
