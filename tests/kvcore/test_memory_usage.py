"""MEMORY USAGE gives redis-server 7.0's figure for every encoding whose layout kvcore knows."""

from __future__ import annotations

import pytest

from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, make_node

DEFAULT_ENCODINGS = {  # other tests leave the shared reference server with encoding limits of their own
    "hash-max-listpack-entries": "512", "hash-max-listpack-value": "64", "set-max-intset-entries": "512",
    "zset-max-listpack-entries": "128", "zset-max-listpack-value": "64", "list-max-listpack-size": "-2",
}


def reset_encodings(redis: RedisConnection) -> None:
    for name, value in DEFAULT_ENCODINGS.items():
        redis.call([b"CONFIG", b"SET", name.encode(), value.encode()])


def numbers(first: int, last: int) -> list[str]:
    return [str(number) for number in range(first, last + 1)]


BUILDS = {
    "embstr": [["SET", "k", "hello"]],
    "int": [["SET", "k", "12345"]],
    "raw": [["SET", "k", "x" * 1000]],
    "small_list": [["RPUSH", "k", "a", "b", "c"]],
    "list_of_several_nodes": [["RPUSH", "k", *numbers(1, 2000)]],
    "list_with_a_count_fill": [["CONFIG", "SET", "list-max-listpack-size", "7"], ["RPUSH", "k", *numbers(1, 100)]],
    "listpack_hash": [["HSET", "k", "f", "v", "field", "1234"]],
    "hashtable_hash_by_size": [["HSET", "k", *numbers(1, 1200)]],
    "hashtable_hash_by_value": [["HSET", "k", "f", "a" * 100]],
    "intset_of_each_width": [["SADD", "k", "1", "100000", "10000000000"]],
    "hashtable_set": [["SADD", "k", "a", "b", "c"]],
    "set_past_its_intset": [["SADD", "k", *numbers(1, 600)]],
    "listpack_zset": [["ZADD", "k", "1", "a", "1.5", "b", "2.25", "c", "-7", "d"]],
}


@pytest.mark.parametrize("name", sorted(BUILDS))
@pytest.mark.parametrize("samples", [None, "0", "1"])
def test_memory_usage_matches_redis(name, samples, redis_port):
    redis, core = RedisConnection(redis_port), CoreClient(make_node())
    usage = ["MEMORY", "USAGE", "k"] + (["SAMPLES", samples] if samples else [])
    try:
        reset_encodings(redis)
        redis.call([b"FLUSHALL"])
        for argv in BUILDS[name]:
            core.call(*argv)
            redis.call([arg.encode() for arg in argv])
        assert core.call(*usage) == redis.call([arg.encode() for arg in usage])
    finally:
        reset_encodings(redis)
        redis.call([b"FLUSHALL"])
        redis.close()


def test_a_skiplist_comes_near_redis(redis_port):
    """Redis draws a skiplist node's level at random, which kvcore counts as 1: near, not equal."""
    redis, core = RedisConnection(redis_port), CoreClient(make_node())
    zadd = ["ZADD", "k", *[part for number in numbers(1, 400) for part in (number, "m" + number)]]
    try:
        reset_encodings(redis)
        redis.call([b"FLUSHALL"])
        redis.call([arg.encode() for arg in zadd])
        core.call(*zadd)
        assert core.call("OBJECT", "ENCODING", "k") == b"skiplist"
        expected = redis.call([b"MEMORY", b"USAGE", b"k", b"SAMPLES", b"0"])
        assert abs(core.call("MEMORY", "USAGE", "k", "SAMPLES", "0") - expected) < expected / 10
    finally:
        redis.call([b"FLUSHALL"])
        redis.close()
