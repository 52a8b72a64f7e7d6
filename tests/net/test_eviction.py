"""maxmemory end to end: the procedure of Redis's own maxmemory tests, run on kvserver and on redis-server.

Each server gets a limit 100 KB above what it uses, keys are added until
used_memory is within 4 KB of it, then as many again: an allkeys policy stays
under the limit by evicting, a volatile one refuses writes when no key has a
TTL, and a cache filled past the limit under allkeys-lru keeps answering.
"""

from __future__ import annotations

import pytest
import redis

OOM = "command not allowed when used memory > 'maxmemory'."  # redis-py strips the OOM code


@pytest.fixture
def r(either_server):
    client = redis.Redis(port=either_server, protocol=2, socket_timeout=30)
    client.flushall()
    client.config_resetstat()
    yield client
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.close()


def limit_above_use(r: redis.Redis, policy: str) -> int:
    limit = r.info("memory")["used_memory"] + 100 * 1024
    r.config_set("maxmemory", limit)
    r.config_set("maxmemory-policy", policy)
    return limit


def fill(r: redis.Redis, limit: int, write) -> int:
    count = 0
    while r.info("memory")["used_memory"] + 4096 <= limit:
        write(count)
        count += 1
    return count


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "volatile-ttl", "volatile-random"])
def test_the_limit_is_honoured(r, policy):
    limit = limit_above_use(r, policy)
    added = fill(r, limit, lambda i: r.set(f"key:{i}", "x", ex=10000))
    assert added > 10
    for i in range(added):
        r.set(f"more:{i}", "x", ex=10000)
    assert r.info("memory")["used_memory"] < limit + 4096
    assert r.info("stats")["evicted_keys"] > 0


@pytest.mark.parametrize("policy", ["volatile-lru", "noeviction"])
def test_without_keys_it_may_evict_writes_are_refused(r, policy):
    limit = limit_above_use(r, policy)
    added = fill(r, limit, lambda i: r.set(f"key:{i}", "x"))
    refused = 0
    for i in range(added):
        try:
            r.set(f"more:{i}", "x")
        except redis.ResponseError as error:
            assert str(error) == OOM
            refused += 1
    assert refused > 0
    assert r.get("key:0") == b"x"  # reads still served
    assert r.info("stats")["evicted_keys"] == 0


def test_a_cache_past_its_limit_keeps_serving(r):
    r.config_set("maxmemory", "4mb")
    r.config_set("maxmemory-policy", "allkeys-lru")
    value = b"v" * 1000
    with r.pipeline(transaction=False) as pipe:
        for i in range(20_000):  # 20 MB of values into a 4 MB cache
            pipe.set(f"key:{i}", value)
        assert all(pipe.execute())
    info = r.info()
    assert info["used_memory"] <= 4 * 1024 * 1024 + 4096
    assert info["evicted_keys"] > 10_000
    assert r.get("key:19999") == value
