"""oom-score-adj on a real kvserver process: /proc/<pid>/oom_score_adj follows its class, as
redis-server's (Linux only); the option's errors compared with redis-server's."""

from __future__ import annotations

import os
import sys

import pytest
import redis

from tests.net.util import wait_until
from tests.servers import kvserver, redis_server_or_skip

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/oom_score_adj is Linux's")


def score(pid: int) -> int:
    with open(f"/proc/{pid}/oom_score_adj") as f:
        return int(f.read())


def test_the_score_follows_the_class_and_goes_back_when_disabled():
    base = score(os.getpid())  # a child starts with its parent's
    with kvserver(["--save", "", "--oom-score-adj-values", "10 20 30", "--oom-score-adj", "yes"]) as (port, proc):
        conn = redis.Redis(port=port, socket_timeout=10)
        assert wait_until(lambda: score(proc.pid) == base + 10)  # set at start, just after the port opens
        conn.config_set("oom-score-adj-values", "15 20 30")
        assert score(proc.pid) == base + 15
        conn.replicaof("localhost", 1)
        assert score(proc.pid) == base + 20
        conn.replicaof("no", "one")
        assert score(proc.pid) == base + 15
        conn.set("k", "v")
        conn.config_set("rdb-key-save-delay", 1_000_000)
        conn.bgsave()
        children = f"/proc/{proc.pid}/task/{proc.pid}/children"
        assert wait_until(lambda: open(children).read().split())
        assert wait_until(lambda: score(int(open(children).read().split()[0])) == base + 30)
        conn.config_set("oom-score-adj", "absolute")
        assert score(proc.pid) == 15
        conn.config_set("oom-score-adj", "no")
        assert score(proc.pid) == base


def test_disabled_it_leaves_the_score_alone():
    with kvserver(["--save", ""]) as (port, proc):
        conn = redis.Redis(port=port, socket_timeout=10)
        with open(f"/proc/{proc.pid}/oom_score_adj", "w") as f:
            f.write("22\n")
        conn.config_set("oom-score-adj-values", "1 1 1")
        assert score(proc.pid) == 22
        conn.config_set("oom-score-adj", "relative")
        assert score(proc.pid) == 23
        conn.config_set("oom-score-adj", "no")
        assert score(proc.pid) == 22


def errors(port: int) -> list:
    conn = redis.Redis(port=port, socket_timeout=10)
    found = []
    for value in ("-2001 0 0", "1 2", "1 2 3 4", "a b c", "2000 -2000 0"):
        try:
            found.append(conn.config_set("oom-score-adj-values", value))
        except redis.ResponseError as exc:
            found.append(str(exc))
    found.append(conn.config_get("oom-score-adj-values"))
    return found


def test_bad_values_are_refused_as_redis_server():
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        assert errors(kv_port) == errors(redis_port)
