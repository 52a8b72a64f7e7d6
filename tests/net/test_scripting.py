"""Lua scripts through redis-py against a real kvserver: registered scripts and the Lock built on them."""

from __future__ import annotations

import pytest
import redis


def test_a_registered_script_loads_itself_and_runs(r):
    r.script_flush()
    add = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert add(keys=["counter"], args=[5]) == 5  # EVALSHA, NOSCRIPT, then EVAL: redis-py's dance
    assert add(keys=["counter"], args=[2]) == 7
    assert r.script_exists(add.sha) == [True]


def test_redis_py_lock(r):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not r.lock("resource").acquire(blocking=False)
    assert lock.extend(5)
    assert r.pttl("resource") > 5000
    lock.release()
    assert r.exists("resource") == 0
    with pytest.raises(redis.exceptions.LockError):
        lock.release()  # released already: the Lua check refuses
