"""lazyfreed_objects (kvcore.lazyfree): what Redis frees in the background, counted as redis-server counts it."""

from __future__ import annotations

import time

import pytest

from tests.kvcore.harness import CoreClient, make_node

SETUP = [
    ["CONFIG", "SET", "stream-node-max-entries", "5"],
    *[["XADD", "stream", f"{j + 1}-0", "foo", str(j)] for j in range(400)],
    ["XGROUP", "CREATE", "stream", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "stream", ">"],
    ["XADD", "small-stream", "1-0", "a", "b"],
    ["XGROUP", "CREATE", "small-stream", "bla", "$"],
    ["SADD", "names", *[f"m{i}" for i in range(100)]],
    ["SADD", "ints", *[str(i) for i in range(100)]],
    ["RPUSH", "list", *[str(i) for i in range(20000)]],
    ["RPUSH", "fat-list", *["x" * 4000 for _ in range(100)]],
    ["ZADD", "zset", *[part for i in range(200) for part in (str(i), f"m{i}")]],
    ["HSET", "hash", *[part for i in range(600) for part in (f"f{i}", str(i))]],
    ["SET", "string", "v"],
]
STEPS = [
    ["UNLINK", "stream"], ["UNLINK", "small-stream"], ["UNLINK", "names", "ints"], ["UNLINK", "list"],
    ["UNLINK", "fat-list"], ["UNLINK", "zset", "hash", "string", "missing"],
]


class Core:
    def __init__(self) -> None:
        self.client = CoreClient(make_node())

    def call(self, *argv):
        return self.client.call(*argv)

    def lazyfreed(self) -> int:
        return _field(self.client.call("INFO", "memory"), "lazyfreed_objects")


class Redis:
    def __init__(self, conn) -> None:
        self.conn = conn

    def call(self, *argv):
        return self.conn.call([arg.encode() for arg in argv])

    def lazyfreed(self) -> int:
        deadline = time.monotonic() + 10  # Redis frees in its lazy-free thread: wait for it
        while _field(self.call("INFO", "memory"), "lazyfree_pending_objects") and time.monotonic() < deadline:
            time.sleep(0.01)
        return _field(self.call("INFO", "memory"), "lazyfreed_objects")


def _field(info: bytes, name: str) -> int:
    return int(info.split(name.encode() + b":")[1].split(b"\r\n")[0])


def counts(server) -> list[int]:
    server.call("FLUSHALL")
    server.call("CONFIG", "RESETSTAT")
    for argv in SETUP:
        server.call(*argv)
    server.call("XGROUP", "DESTROY", "small-stream", "bla")
    seen = []
    for argv in STEPS:
        server.call(*argv)
        seen.append(server.lazyfreed())
    server.call("MSET", "a", "1", "b", "2")
    server.call("SELECT", "1")
    server.call("SET", "c", "3")
    server.call("FLUSHDB", "ASYNC")
    seen.append(server.lazyfreed())
    server.call("SET", "c", "3")
    server.call("CONFIG", "SET", "lazyfree-lazy-user-flush", "yes")
    server.call("FLUSHALL")
    seen.append(server.lazyfreed())
    server.call("FLUSHALL", "SYNC")
    server.call("CONFIG", "SET", "lazyfree-lazy-user-flush", "no")
    server.call("SELECT", "0")
    server.call("SADD", "names", *[f"m{i}" for i in range(100)])
    server.call("DEL", "names")
    seen.append(server.lazyfreed())
    server.call("SADD", "names", *[f"m{i}" for i in range(100)])
    server.call("CONFIG", "SET", "lazyfree-lazy-user-del", "yes")
    server.call("DEL", "names")
    seen.append(server.lazyfreed())
    server.call("CONFIG", "SET", "lazyfree-lazy-user-del", "no")
    server.call("CONFIG", "SET", "stream-node-max-entries", "100")
    return seen


def test_lazyfreed_objects_count_as_redis_counts_them(redis_conn):
    ours, theirs = counts(Core()), counts(Redis(redis_conn))
    assert ours == theirs
    assert ours[0] == 1 and ours[-1] > ours[-2]  # the comparison saw the counter move


@pytest.mark.parametrize("argv", [["FLUSHALL", "ASYNC"], ["FLUSHDB", "ASYNC"]])
def test_an_asynchronous_flush_counts_every_key(argv):
    core = Core()
    core.call("MSET", "a", "1", "b", "2", "c", "3")
    core.call(*argv)
    assert core.lazyfreed() == 3
