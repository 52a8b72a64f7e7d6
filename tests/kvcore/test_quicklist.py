"""A list's quicklist nodes (kvcore.types_list) are Redis 7.0's after any history of pushes at
either end, pops, LINSERT's splits and merges, LSET, LREM, LTRIM and LMOVE, under byte and count
fills and a lowered packed threshold (plain nodes): DUMP bytes, DEBUG OBJECT's ql_* fields and
MEMORY USAGE all equal redis-server's."""

from __future__ import annotations

import random
import re

import pytest

from kvcore.listpack import assemble, encode_entry
from kvcore.types_list import COUNT, PLAIN, SIZE, ListValue
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, make_node

KEYS = ("k1", "k2")
SETTINGS = [(-2, "0"), (-1, "100b"), (5, "0"), (16, "500b"), (128, "1b"), (3, "100b")]


def _element(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.3:
        return str(rng.randint(-100_000, 100_000))
    if draw < 0.8:
        return rng.choice("abcdef") * rng.randint(1, 80)
    return "z" * rng.randint(100, 1500)


def _step(rng: random.Random, core: CoreClient, key: str) -> list[str]:
    size = core.call("LLEN", key)
    draw = rng.random()
    if draw < 0.25 or (draw < 0.75 and not size):
        return ["RPUSH", key, *[_element(rng) for _ in range(rng.randint(1, 40))]]
    if draw < 0.5:
        return ["LPUSH", key, *[_element(rng) for _ in range(rng.randint(1, 40))]]
    if draw < 0.6:
        return [rng.choice(["LPOP", "RPOP"]), key, str(rng.randint(1, 10))]
    if draw < 0.75:
        pivot = core.call("LINDEX", key, rng.randrange(size)).decode()
        return ["LINSERT", key, rng.choice(["BEFORE", "AFTER"]), pivot, _element(rng)]
    if draw < 0.82 and size:
        return ["LSET", key, str(rng.randrange(-size, size)), _element(rng)]
    if draw < 0.88 and size:
        return ["LREM", key, str(rng.randint(-3, 3)), core.call("LINDEX", key, rng.randrange(size)).decode()]
    if draw < 0.94:
        return ["LTRIM", key, str(rng.randint(0, 5)), str(rng.randint(-5, size + 2))]
    return ["LMOVE", key, "k2", rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])]


def _shown(debug_object: bytes) -> bytes:
    """DEBUG OBJECT without what differs by design (the address, the LRU clock)."""
    return re.sub(rb"Value at:\S+ |lru:\d+ |lru_seconds_idle:\d+", b"", debug_object)


@pytest.mark.parametrize("seed", range(len(SETTINGS)))
def test_nodes_match_redis_after_any_history(seed, redis_port):
    fill, threshold = SETTINGS[seed]
    rng = random.Random(seed)
    redis, core = RedisConnection(redis_port), CoreClient(make_node(enable_debug_command="yes"))

    def both(*argv: str):
        theirs = redis.call([arg.encode() for arg in argv])
        assert core.call(*argv) == theirs, argv
        return theirs

    try:
        both("FLUSHALL")
        both("CONFIG", "SET", "list-max-listpack-size", str(fill))
        both("DEBUG", "QUICKLIST-PACKED-THRESHOLD", threshold)
        for _ in range(150):
            argv = _step(rng, core, rng.choice(KEYS))
            both(*argv)
            for key in KEYS:
                assert core.call("DUMP", key) == redis.call([b"DUMP", key.encode()]), argv
        for key in KEYS:
            if core.call("EXISTS", key):
                assert _shown(core.call("DEBUG", "OBJECT", key)) == _shown(redis.call([b"DEBUG", b"OBJECT", key.encode()]))
                assert core.call("MEMORY", "USAGE", key, "SAMPLES", "0") == \
                    redis.call([b"MEMORY", b"USAGE", key.encode(), b"SAMPLES", b"0"])
    finally:
        redis.call([b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"0"])
        redis.call([b"CONFIG", b"SET", b"list-max-listpack-size", b"-2"])
        redis.call([b"FLUSHALL"])
        redis.close()


def test_every_node_holds_the_listpack_its_elements_make():
    """The model's own bookkeeping: counts add up to the list, and each packed node's size is the
    listpack of its elements, whatever the operations (a check that needs no reference server)."""
    rng = random.Random(7)
    core = CoreClient(make_node(enable_debug_command="yes", list_max_listpack_size="-1"))
    core.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "300b")
    db = core.node.dbs[0]
    for _ in range(400):
        core.call(*_step(rng, core, rng.choice(KEYS)))
        for key in KEYS:
            value = db.data.get(key.encode())
            if value is None:
                continue
            assert type(value) is ListValue
            assert sum(node[COUNT] for node in value.nodes) == len(value)
            for node, elements in zip(value.nodes, value.node_elements()):
                expected = len(elements[0]) if node[PLAIN] else len(assemble([encode_entry(e) for e in elements]))
                assert node[SIZE] == expected and node[COUNT] > 0


def test_a_list_stored_by_sort_is_laid_out_as_pushed_at_its_tail(redis_port):
    redis, core = RedisConnection(redis_port), CoreClient(make_node())
    argv = [["RPUSH", "src", *[str(n) * (n % 90 + 1) for n in range(400)]], ["SORT", "src", "ALPHA", "STORE", "dst"]]
    try:
        redis.call([b"FLUSHALL"])
        redis.call([b"CONFIG", b"SET", b"list-max-listpack-size", b"-2"])
        for command in argv:
            assert core.call(*command) == redis.call([arg.encode() for arg in command])
        assert core.call("DUMP", "dst") == redis.call([b"DUMP", b"dst"])
    finally:
        redis.call([b"FLUSHALL"])
        redis.close()
