"""The cache workload: a small maxmemory, a policy from the seed, and the cache checker's verdict."""

from collections import Counter

import pytest

from jepsen_like.history import pair
from sim.workloads import CACHE_POLICIES, cache_key_volatile, cache_options
from sim.world import RunConfig, run


def cache_run(policy: str):
    return run(RunConfig(seed=3, workload="cache", clients=3, duration_ms=8000,
                         config=(("maxmemory-policy", policy),)))


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl", "noeviction"])
def test_each_policy_keeps_its_promises_under_the_workload(policy):
    result = cache_run(policy)
    assert result.valid is True, result.failed_checkers
    ops = pair(result.history)
    writes = Counter(op.type for op in ops if op.f == "write")
    assert {op.result[2] for op in ops if op.f == "write" and op.ok} == {policy}
    gone = [op.key for op in ops if op.f == "read" and op.ok and op.result is None  # after a write of the key
            and any(w.key == op.key and w.ok and w.complete.time < op.invoke.time for w in ops if w.f == "write")]
    if policy == "allkeys-lru":  # keys went to make room, and no write was refused
        assert gone and writes["fail"] == 0
    elif policy == "volatile-ttl":  # only keys with a TTL went; writes were refused once the rest filled it
        assert gone and all(cache_key_volatile(key.encode()) for key in gone) and writes["fail"] > 0
    else:  # nothing went; writes were refused once it was full
        assert not gone and writes["fail"] > 0


def test_the_seed_draws_the_policy():
    drawn = {cache_options(seed)["maxmemory-policy"] for seed in range(40)}
    assert drawn == set(CACHE_POLICIES)
    assert cache_options(7) == cache_options(7)
