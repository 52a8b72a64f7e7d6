"""RDB files exchanged with a real redis-server 7.0, in both directions.

redis-server SAVEs a dataset of every type in its small and large encodings
(and a function library) into its dir; kvcore.rdb loads those bytes into a
Node, and every key, type, value, encoding and TTL must match. Then a file
written by kvcore.rdb is put in a fresh redis-server's dir: it loads it and
must hold what the Node holds. JSON documents are written as RedisJSON
writes them, so a redis-server without that module refuses such a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import hiredis
import pytest

from kvcore import rdb
from tests.kvcore.harness import CoreClient, make_node
from tests.kvcore.test_dump_restore import RawClient
from tests.kvcore.test_rdb import describe, populate
from tests.servers import free_port, redis_server_in_dir

DATABASES = [0, 1, 7, 15]
TTL_SLACK_MS = 5000

if shutil.which("redis-server") is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is required in CI (make test installs it)", pytrace=False)
    pytest.skip("redis-server not installed", allow_module_level=True)


def now_ms() -> int:
    return int(time.time() * 1000)


def connect(port: int) -> RawClient:
    """A connection to a redis-server that has finished loading its dataset."""
    client = RawClient(port)
    deadline = time.monotonic() + 30
    while isinstance(reply := client.call("PING"), hiredis.ReplyError):
        assert str(reply).startswith("LOADING") and time.monotonic() < deadline, reply
        time.sleep(0.05)
    return client


def build_in_redis(call) -> None:
    """Every type, small and large encodings, in four databases, TTLs, and a function library."""
    call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)")
    for index in DATABASES:
        call("SELECT", index)
        call("SET", "str", "hello %d" % index)
        call("SET", "int", 12345 + index)
        call("SET", "long", "abcdefgh" * 40)
        call("SET", "ttl", "v", "PX", 100_000 + index)
        call("RPUSH", "list", "a", "1", "-5", "x" * 70)
        call("RPUSH", "biglist", *[b"element-%d" % i * 6 for i in range(2500)])
        call("HSET", "hash", "f", "v", "n", "12")
        call("HSET", "bighash", *[p for i in range(700) for p in (b"f%d" % i, b"v%d" % i)])
        call("HSET", "widehash", "f", "v" * 100)
        call("SADD", "intset", 5, -3, 1000000, 70000)
        call("SADD", "set", "a", "b", "c")
        call("SADD", "bigintset", *range(600))
        call("ZADD", "zset", 1, "a", 2.5, "b", "-inf", "c", 0, "d", 1e17, "e")
        call("ZADD", "bigzset", *[p for i in range(200) for p in (i / 7, b"m%d" % i)])
        call("ZADD", "widezset", 1, "m" * 80)
        call("EXPIRE", "bigzset", 1000 + index)
    call("SELECT", 0)


def same_dataset(ours: dict, theirs: dict) -> None:
    """Equal keys, types, values and encodings; TTLs equal within the time the test took."""
    assert ours.keys() == theirs.keys()
    for key, (kind, value, encoding, pttl) in theirs.items():
        got_kind, got_value, got_encoding, got_pttl = ours[key]
        assert (got_kind, got_value, got_encoding) == (kind, value, encoding), key
        assert (got_pttl < 0) == (pttl < 0) and abs(got_pttl - pttl) <= TTL_SLACK_MS, key


def written_and_checked(node, tmp_path) -> bytes:
    """The node's RDB image, written as tmp_path/dump.rdb, which redis-check-rdb (where installed) passes."""
    data = rdb.write(node)
    (tmp_path / "dump.rdb").write_bytes(data)
    check = shutil.which("redis-check-rdb")
    if check:
        report = subprocess.run([check, str(tmp_path / "dump.rdb")], capture_output=True, text=True, timeout=60)
        assert "RDB looks OK" in report.stdout, report.stdout
    return data


def test_redis_snapshot_loads_into_a_node(tmp_path):
    with redis_server_in_dir(str(tmp_path)) as port:
        redis = connect(port)
        build_in_redis(redis.call)
        assert redis.call("SAVE") == b"OK"
        data = (tmp_path / "dump.rdb").read_bytes()
        assert bytes((rdb.OP_FUNCTION2,)) + b"\x40" in data and b"register_function" in data  # skipped on load
        node = make_node(now=now_ms())
        result = rdb.load(node, data)
        assert result.keys_loaded == 15 * len(DATABASES) and result.keys_expired == 0
        assert result.aux[b"redis-ver"] == b"7.0.15"
        same_dataset(describe(CoreClient(node).call, DATABASES, json=False), describe(redis.call, DATABASES))
        redis.close()


def test_node_snapshot_loads_into_redis(tmp_path):
    node = make_node(now=now_ms())
    c = CoreClient(node)
    populate(c)
    c.call("DEL", "doc")  # a JSON document: redis-server loads it only with RedisJSON (see below)
    data = written_and_checked(node, tmp_path)
    reloaded = make_node(now=node.now)
    rdb.load(reloaded, data)
    ours = describe(CoreClient(reloaded).call, json=False)
    assert ours == describe(c.call, json=False)  # nothing lost on our side either
    with redis_server_in_dir(str(tmp_path)) as port:
        redis = connect(port)
        same_dataset(ours, describe(redis.call))
        redis.close()


def test_json_documents_need_redisjson_in_redis(tmp_path):
    node = make_node(now=now_ms())
    CoreClient(node).call("JSON.SET", "doc", "$", '{"a":1}')
    (tmp_path / "dump.rdb").write_bytes(rdb.write(node))
    args = [shutil.which("redis-server"), "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp_path)]
    # It refuses the file and exits, after its checker (which skips module values) found it well formed.
    output = subprocess.run(args, capture_output=True, text=True, timeout=60).stdout
    assert "no matching module type 'ReJSON-RL'" in output and "RDB looks OK" in output
