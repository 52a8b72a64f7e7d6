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
