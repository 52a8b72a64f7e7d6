"""MIGRATE between real processes: kvserver to redis-server and back, over real sockets."""

from __future__ import annotations

from tests.net.util import resp2
from tests.servers import kvserver, redis_server_or_skip


def test_keys_migrate_from_kvserver_to_redis_server_and_back():
    with kvserver(["--save", ""]) as (kv_port, _), redis_server_or_skip() as redis_port:
        kv, redis = resp2(kv_port), resp2(redis_port)
        kv.rpush("list", "a", "b")
        kv.set("k", "v", px=50_000)
        assert kv.execute_command("MIGRATE", "127.0.0.1", redis_port, "", 0, 5000, "KEYS", "list", "k") == b"OK"
        assert kv.exists("list", "k") == 0
        assert redis.lrange("list", 0, -1) == [b"a", b"b"] and 40_000 < redis.pttl("k") <= 50_000
        assert redis.execute_command("MIGRATE", "127.0.0.1", kv_port, "list", 0, 5000) == b"OK"
        assert kv.lrange("list", 0, -1) == [b"a", b"b"] and redis.exists("list") == 0
        assert kv.execute_command("MIGRATE", "127.0.0.1", redis_port, "missing", 0, 5000) == b"NOKEY"
        assert kv.info("stats")["migrate_cached_sockets"] == 1
