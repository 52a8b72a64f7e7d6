"""What scripts see of replies and what they return, in both protocols, compared with redis-server:
redis.setresp(3)'s RESP3 shapes, Lua values made RESP3 replies, booleans, read-only globals,
redis.set_repl's checks, SORT's order inside a script, and time standing still in a script."""

from __future__ import annotations

import re

import hiredis
import pytest

from tests.net.util import connect, encode
from tests.servers import kvserver, redis_server_or_skip

TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "verbatim", "true",
         "false"]
SCRIPTS = [
    *(f"redis.setresp({resp}); return redis.call('debug', 'protocol', '{kind}')" for resp in (2, 3) for kind in TYPES),
    "return {big_number='123'}",
    "return {double=3.5}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return {verbatim_string={format='txt', string='hi'}}",
    "return true",
    "return false",
    "redis.setresp(3); return true",
    *(f"return redis.error_reply('{text}')" for text in ("", "-", "-x", "MY x", "-MY x", "x y", "\\r\\nlines\\r\\n")),
    "return redis.error_reply()", "return redis.error_reply(1)", "return redis.status_reply('')",
    "return redis.status_reply()",
    "redis.setresp(3); return {false, true}",
    "redis.setresp(3); return redis.call('hgetall', 'h')",
    "redis.setresp(4)",
    "redis.setresp()",
    "redis.set_repl(12345)",
    "redis.set_repl(redis.REPL_AOF); return redis.call('set', 'k', 'v')",
    "redis = 1",
    "_G.x = 1",
    "x = 1",
    "redis.call = 1",
    "redis.call('sadd', 's', 'b', 'c', 'a', 'aa'); return redis.call('sort', 's', 'by', 'nosort')",
    "redis.call('set', 'ttl', 'v', 'px', 1); redis.call('debug', 'sleep', '0.01'); return redis.call('exists', 'ttl')",
    "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}",
]
NOT_YET = object()


def collect(port: int, requests) -> list:
    """Each request's reply, one after the other on one connection (errors as their text)."""
    sock = connect(port)
    reader = hiredis.Reader(notEnoughData=NOT_YET)  # RESP3's false is no "not yet"
    out = []
    for request in requests:
        sock.sendall(encode(*request))
        while (reply := reader.gets()) is NOT_YET:
            reader.feed(sock.recv(65536))
        out.append(str(reply) if isinstance(reply, hiredis.ReplyError) else reply)
    sock.close()
    return out


def replies(port: int, protocol: int) -> list:
    requests = [("HELLO", protocol), ("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"), ("HSET", "h", "f", "v"),
                *(("EVAL", script, "0") for script in SCRIPTS)]
    return collect(port, requests)[1:]  # HELLO's reply differs by server, as it should


@pytest.mark.parametrize("protocol", [2, 3])
def test_script_replies_as_redis_server(protocol):
    extra = ["--enable-debug-command", "yes"]
    with redis_server_or_skip(extra) as redis_port, kvserver(["--save", "", *extra]) as (kv_port, _):
        expected, got = replies(redis_port, protocol), replies(kv_port, protocol)
    for script, want, have in zip(["DEBUG", "HSET", *SCRIPTS], expected, got):
        assert have == want, script


LIBRARIES = [
    "redis.register_function{function_name='v', callback=function() return redis.REDIS_VERSION end, description=5}",
    "local n = redis.REDIS_VERSION_NUM redis.register_function('n', function() return n end)",
    "redis.register_function{function_name=function() end, callback=function() return 1 end}",
    "redis.register_function{function_name='f', callback='bad'}",
    "redis.register_function{function_name='f', callback=function() return 1 end, description=function() end}",
]


def library_replies(port: int) -> list:
    requests = [("FUNCTION", "LOAD", "REPLACE", f"#!lua name=lib{index}\n{code}") for index, code in enumerate(LIBRARIES)]
    body = "\nredis.register_function('h', function() return 1 end)"
    requests += [("FUNCTION", "LOAD", "REPLACE", header + body) for header in (
        "#!lua name=foo name=bar", '#!lua name="quoted"', "#!lua NAME=upper", '#!lua name="open', "#!lua name=x y")]
    requests += [("FCALL", "v", "0"), ("FCALL", "n", "0"), ("FUNCTION", "LIST", "LIBRARYNAME", "lib0"),
                 ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b")]
    return collect(port, requests)


def test_library_registration_and_listing_as_redis_server():
    """The load run's redis table (REDIS_VERSION too), register_function's named arguments checked
    one by one, the metadata line split as sdssplitargs, FUNCTION LIST's options given twice."""
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        assert library_replies(kv_port) == library_replies(redis_port)


def test_a_malformed_big_number_is_sent_as_redis_server_sends_it():
    """Its CR and LF become spaces (hiredis refuses to parse the result: compared as bytes)."""
    request = encode("HELLO", 3) + encode("EVAL", "return {big_number='123\\r\\n123'}", "0")
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        results = []
        for port in (redis_port, kv_port):
            sock = connect(port)
            sock.sendall(request)
            data = b""
            while not data.endswith(b"(123  123\r\n"):
                chunk = sock.recv(65536)
                assert chunk, data
                data += chunk
            sock.close()
            results.append(data.rsplit(b"\r\n(", 1)[1])
    assert results[0] == results[1] == b"123  123\r\n"


STATS_SCRIPTS = [
    ("return redis.call('incr', KEYS[1])", 1), ("local t = redis.pcall('incr', KEYS[1]) return 1", 1),
    ("return redis.pcall('incr', KEYS[1])", 1), ("return redis.call('nosuch')", 0),
    ("return redis.error_reply('MY err')", 0),
]
OOM_SCRIPTS = [("return redis.call('set', KEYS[1], 'y')", 1), ("local t = redis.pcall('set', KEYS[1], 'y') return 1", 1)]


def error_stats(port: int) -> list[str]:
    """Errors inside scripts counted once, where they happen; commands the script layer rejects as rejected."""
    sock = connect(port)
    reader = hiredis.Reader(notEnoughData=NOT_YET)

    def call(*args):
        sock.sendall(encode(*args))
        while (reply := reader.gets()) is NOT_YET:
            reader.feed(sock.recv(65536))
        return reply

    call("SET", "x", "a")
    call("CONFIG", "RESETSTAT")
    for script, keys in STATS_SCRIPTS:
        call("EVAL", script, keys, "x")
    call("CONFIG", "SET", "maxmemory", "1")
    for script, keys in OOM_SCRIPTS:
        call("EVAL", script, keys, "x")
    call("CONFIG", "SET", "maxmemory", "0")
    lines = b"".join(call("INFO", section) for section in ("errorstats", "stats", "commandstats")).decode()
    sock.close()
    return [re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line) for line in lines.splitlines()
            if line.startswith(("errorstat_", "total_error_replies", "cmdstat_set:", "cmdstat_incr:", "cmdstat_eval:"))]


def test_errors_inside_scripts_are_counted_as_redis_server_counts_them():
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        assert sorted(error_stats(kv_port)) == sorted(error_stats(redis_port))  # commandstats: hash order in Redis


STALE_SCRIPTS = [
    ("return 1", 0), ("#!lua flags=no-writes\nreturn 1", 0), ("#!lua flags=allow-stale,no-writes\nreturn 1", 0),
    ("#!lua flags=allow-stale,no-writes\nreturn redis.call('get', KEYS[1])", 1),
    ("#!lua flags=allow-stale,no-writes\nreturn redis.call('ping')", 0),
]


def stale_replies(port: int) -> list:
    """On a replica whose master is unreachable, with replica-serve-stale-data no."""
    return collect(port, [("CONFIG", "SET", "replica-serve-stale-data", "no"), ("REPLICAOF", "127.0.0.1", "1"),
                          *(("EVAL", script, keys, "x") for script, keys in STALE_SCRIPTS)])


def test_scripts_on_a_stale_replica_as_redis_server():
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        expected, got = stale_replies(redis_port), stale_replies(kv_port)
    assert got == expected
    assert got[2].startswith("MASTERDOWN") and got[4] == 1
