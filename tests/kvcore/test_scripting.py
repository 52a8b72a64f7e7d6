"""EVAL and SCRIPT: every scenario gives redis-server 7.0's replies, byte for byte, and the core
propagates a script's writes as the commands it ran."""

from __future__ import annotations

import pytest
from hiredis import ReplyError

from kvcore.effects import AppendLog
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node


def script(body: str, *args: str) -> list[bytes]:
    return [b"EVAL", body.encode(), *[arg.encode() for arg in args]]


SCENARIOS = {
    "replies_to_lua_and_back": [
        script("return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"),
        script("return redis.call('get', KEYS[1])", "1", "k"),
        script("return redis.call('get', 'missing')", "0"),
        script("return type(redis.call('get', 'missing'))", "0"),
        script("return redis.call('incrby', 'n', 5)", "0"),
        script("return {1, 2, 3, 'ciao', {1, 2}, nil, 5}", "0"),
        script("return {redis.call('get', 'missing'), 5}", "0"),
        script("return 3.99", "0"),
        script("return -3.99", "0"),
        script("return true", "0"),
        script("return false", "0"),
        script("return nil", "0"),
        script("return redis.status_reply('FINE')", "0"),
        script("return redis.error_reply('My Error')", "0"),
        script("return {err = 'bad thing'}", "0"),
        script("return redis.call('ping')", "0"),
        script("return redis.call('hgetall', 'missing')", "0"),
        script("redis.call('hset', 'h', 'a', '1', 'b', '2'); return redis.call('hgetall', 'h')", "0"),
        script("redis.call('zadd', 'z', 1.5, 'a'); return redis.call('zscore', 'z', 'a')", "0"),
        script("return redis.call('zrange', 'z', 0, -1, 'WITHSCORES')", "0"),
        script("return redis.call('set', 'f', 1.5)", "0"),
        script("return redis.call('get', 'f')", "0"),
        script("return #ARGV .. ':' .. ARGV[2] .. ':' .. #KEYS", "1", "k", "a", "b"),
        script("return redis.sha1hex('')", "0"),
        script("return redis.pcall('incr', 'k')", "0"),
        script("local r = redis.pcall('incr', 'k'); return type(r) .. ':' .. r.err", "0"),
        script("return redis.call('type', 'h')", "0"),
        script("return redis.call('type', 'h').ok", "0"),
    ],
    "errors_say_where": [
        script("return redis.call('incr', KEYS[1])", "1", "k"),
        script("local a = 1\nreturn redis.call('incr', 'k')", "0"),
        script("return redis.call('nosuch')", "0"),
        script("return redis.call('set', 'x')", "0"),
        script("return redis.call('get', {})", "0"),
        script("return redis.call()", "0"),
        script("return redis.call('multi')", "0"),
        script("return redis.call('blpop', 'list', 0)", "0"),
        script("error('boom')", "0"),
        script("\n\nerror('boom')", "0"),
        script("x = 5", "0"),
        script("return y", "0"),
        script("retur", "0"),
        [b"EVAL_RO", b"return redis.call('set', 'k', 'v')", b"0"],
        [b"EVAL_RO", b"return redis.call('get', 'k')", b"0"],
        script("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", "0"),
        script("#!lua\nerror('x')", "0"),
        script("#!lua flags=no-writes,allow-oom\nreturn 1", "0"),
        script("#!lua flags=bad\nreturn 1", "0"),
        script("#!python\nreturn 1", "0"),
        script("#!lua name=x\nreturn 1", "0"),
    ],
    "numkeys_and_the_cache": [
        script("return 1", "-1"),
        script("return 1", "3", "a"),
        script("return 1", "x"),
        [b"EVALSHA", b"ffffffffffffffffffffffffffffffffffffffff", b"0"],
        [b"EVALSHA", b"fff", b"0"],
        [b"SCRIPT", b"LOAD", b"return 'loaded'"],
        [b"SCRIPT", b"EXISTS", b"6f2f2b4d3a1ae4b6ba3a8f5d1ec12bd3ce1baa3a", b"ffff"],
        [b"EVALSHA", b"6F2F2B4D3A1AE4B6BA3A8F5D1EC12BD3CE1BAA3A", b"0"],
        [b"SCRIPT", b"LOAD", b"retur"],
        [b"SCRIPT", b"FLUSH"],
        [b"SCRIPT", b"EXISTS", b"6f2f2b4d3a1ae4b6ba3a8f5d1ec12bd3ce1baa3a"],
        [b"SCRIPT", b"FLUSH", b"ASYNC"],
        [b"SCRIPT", b"FLUSH", b"NOW"],
        [b"SCRIPT", b"KILL"],
    ],
}


class RedisBackend:
    def __init__(self, port: int) -> None:
        self.conn = RedisConnection(port)
        self.conn.call([b"FLUSHALL"])
        self.conn.call([b"SCRIPT", b"FLUSH"])

    def call(self, argv):
        return self.conn.call(argv)


class CoreBackend:
    def __init__(self) -> None:
        self.client = CoreClient(make_node())

    def call(self, argv):
        return self.client.call(*argv)


def _comparable(reply):
    return ("error", str(reply)) if isinstance(reply, ReplyError | Exception) else reply


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_matches_redis(name, redis_port):
    redis, core = RedisBackend(redis_port), CoreBackend()
    try:
        for argv in SCENARIOS[name]:
            assert _comparable(core.call(argv)) == _comparable(redis.call(argv)), argv
    finally:
        redis.call([b"FLUSHALL"])
        redis.conn.close()


# -- core only ---------------------------------------------------------------------------
def logged(node) -> list[list[bytes]]:
    from hiredis import Reader

    reader, out = Reader(), []
    for effect in node.take_effects():
        if isinstance(effect, AppendLog):
            reader.feed(effect.data)
            node.job_done(effect.job, True, node.now)
    while (item := reader.gets()) is not False:
        if item[0].upper() != b"SELECT":
            out.append(item)
    return out


def test_a_script_is_logged_as_the_writes_it_made_in_one_transaction():
    node = make_node(appendonly="yes")
    client = CoreClient(node)
    logged(node)
    node.receive(client.conn, encode_request(
        "EVAL", "redis.call('set', KEYS[1], 'a'); redis.call('get', KEYS[1]); "
                "redis.call('incr', 'n'); return redis.call('lpush', 'l', math.random(1, 9))", "1", "k"), node.now)
    records = logged(node)  # the log written: the reply is released
    assert client.send_raw(b"") == [1]
    assert records[0] == [b"MULTI"] and records[-1] == [b"EXEC"]
    assert [record[0] for record in records[1:-1]] == [b"set", b"incr", b"lpush"]
    assert client.call("EVAL", "return redis.call('get', 'k')", "0") == b"a"
    assert logged(node) == []  # a read-only script logs nothing


def test_math_random_follows_the_node_seed():
    def draws(seed: int) -> list:
        client = CoreClient(make_node(seed=seed))
        return [client.call("EVAL", "return tostring(math.random())", "0") for _ in range(3)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_a_script_runs_with_the_callers_database_and_does_not_change_it():
    node = make_node()
    client = CoreClient(node)
    client.call("SELECT", "3")
    client.call("EVAL", "redis.call('select', 5); return redis.call('set', 'in5', 'x')", "0")
    client.call("EVAL", "return redis.call('set', 'in3', 'x')", "0")
    assert client.call("EXISTS", "in3") == 1 and client.call("EXISTS", "in5") == 0
    client.call("SELECT", "5")
    assert client.call("EXISTS", "in5") == 1


def test_scripts_are_atomic_inside_multi():
    client = CoreClient(make_node())
    assert client.call("MULTI") == b"OK"
    assert client.call("EVAL", "return redis.call('incr', 'n')", "0") == b"QUEUED"
    assert client.call("EXEC") == [1]
