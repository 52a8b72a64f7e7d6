"""Streams in RDB files exchanged with a real redis-server 7.0, in both directions.

redis-server SAVEs streams of several nodes, with deleted entries, consumer
groups, pending entries and consumers; kvcore.rdb loads the file and XINFO
STREAM FULL (every entry, group, PEL entry with its times, consumer) must
answer the same on the Node, and DUMP give the same bytes. Then a file kvcore.rdb writes is loaded by a
fresh redis-server, which must answer as the Node does; redis-check-rdb must
find it well formed.
"""

from __future__ import annotations

from kvcore import rdb
from tests.kvcore.harness import CoreClient, make_node
from tests.net.test_rdb_interop import connect, now_ms, written_and_checked
from tests.servers import redis_server_in_dir

KEYS = [b"big", b"small", b"empty", b"wide", b"numbers"]


def build_streams(call) -> None:
    for seq in range(1, 251):
        fields = ["f", seq, "g", "x" * (seq % 7)] if seq % 5 else ["other", seq]
        call("XADD", "big", f"{1000 + seq // 3}-{seq}", *fields)
    call("XDEL", "big", *[f"{1000 + seq // 3}-{seq}" for seq in range(101, 201)])  # a whole node goes
    call("XDEL", "big", "1001-3", "1083-250")
    call("XGROUP", "CREATE", "big", "g1", "0")
    call("XGROUP", "CREATE", "big", "g2", "$", "ENTRIESREAD", "7")
    call("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 30, "STREAMS", "big", ">")
    call("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 5, "STREAMS", "big", ">")
    call("XCLAIM", "big", "g1", "carol", 0, "1001-4", "1001-5", "RETRYCOUNT", 7, "JUSTID")
    call("XGROUP", "CREATECONSUMER", "big", "g1", "dave")
    call("XADD", "small", "1-1", "a", "1")
    call("XADD", "small", "MAXLEN", "0", "2-1", "a", "1")
    call("XADD", "small", "3-1", "b", "2")
    call("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
    call("XSETID", "empty", "5-5", "ENTRIESADDED", "9", "MAXDELETEDID", "5-1")
    call("XADD", "wide", "1-1", "field", "v" * 5000)
    call("XADD", "wide", "2-1", "field", "w" * 3000, "another", "y" * 300)
    call("XADD", "numbers", "18446744073709551615-1", "123", "-5", "9223372036854775807", "18446744073709551616")


def describe(call) -> dict:
    return {key: call("XINFO", "STREAM", key, "FULL", "COUNT", 0) for key in KEYS}


def test_redis_streams_load_into_a_node(tmp_path):
    with redis_server_in_dir(str(tmp_path)) as port:
        redis = connect(port)
        build_streams(redis.call)
        assert redis.call("SAVE") == b"OK"
        data = (tmp_path / "dump.rdb").read_bytes()
        node = make_node(now=now_ms())
        result = rdb.load(node, data)
        assert result.keys_loaded == len(KEYS)
        assert describe(CoreClient(node).call) == describe(redis.call)
        for key in KEYS:  # node layout, tombstones, groups: the same bytes
            assert CoreClient(node).call("DUMP", key) == redis.call("DUMP", key), key
        redis.close()


def test_node_streams_load_into_redis(tmp_path):
    node = make_node(now=now_ms())
    ours = CoreClient(node)
    build_streams(ours.call)
    data = written_and_checked(node, tmp_path)
    reloaded = make_node(now=node.now)
    rdb.load(reloaded, data)
    expected = describe(CoreClient(reloaded).call)
    assert expected == describe(ours.call)  # nothing lost on our side either
    with redis_server_in_dir(str(tmp_path)) as port:
        redis = connect(port)
        assert describe(redis.call) == expected
        redis.close()
