"""Requests that arrive together: what one command changes applies to the next in the same read.

The dispatcher runs a pipelined batch in one loop with a fast path for the
common case (kvcore.dispatch.run_requests), so each case here sends all its
commands in one buffer, to kvcore in one `receive` and to redis-server in one
write, and compares every reply.
"""

from __future__ import annotations

import socket

import hiredis
import pytest

from tests.kvcore.harness import CoreClient, encode_request, make_node

SILENCE_S = 0.3  # redis-server has answered everything once it stays quiet this long


def _slowlog_commands(reply):
    """A SLOWLOG GET reply without its times, durations, addresses and ids, and without the
    SLOWLOG RESET that a loaded redis-server may log as slow (its own durations are real)."""
    return [entry[3] for entry in reply if entry[3][:2] != [b"SLOWLOG", b"RESET"]]


# (commands sent together, {reply index: view of that reply to compare instead of the reply})
CASES = {
    "multi-queues-the-rest": ([("SET", "k", "1"), ("MULTI",), ("INCR", "k"), ("GET", "k"), ("EXEC",), ("GET", "k")], {}),
    "multi-discard": ([("MULTI",), ("SET", "k", "1"), ("DISCARD",), ("GET", "k"), ("EXEC",)], {}),
    "reply-skip": ([("PING",), ("CLIENT", "REPLY", "SKIP"), ("PING", "a"), ("PING", "b")], {}),
    "reply-off-on": ([("CLIENT", "REPLY", "OFF"), ("PING",), ("SET", "k", "v"), ("CLIENT", "REPLY", "ON"), ("GET", "k")], {}),
    "subscribed-resp2": ([("SUBSCRIBE", "ch"), ("PING",), ("GET", "k"), ("PING", "x"), ("UNSUBSCRIBE",), ("GET", "k")], {}),
    "resp3-switch": ([("GET", "nokey"), ("HELLO", "3"), ("GET", "nokey"), ("PING",), ("HELLO", "2"), ("GET", "nokey")],
                     {1: type, 4: type}),
    "names-any-case": ([("SET", "a", "1"), ("ping",), ("PiNg", "hi"), ("FOO",), ("foo", "x"), ("get", "a"), ("GET", "a")], {}),
    "wrong-arity-between": ([("GET", "a"), ("GET",), ("GET", "a", "b"), ("GET", "a"), ("PING", "a", "b")], {}),
    "counters-at-table-edges": ([("SET", "n", "9998"), ("INCR", "n"), ("INCR", "n"), ("GET", "n"), ("DECRBY", "n", "10001"),
                                 ("GET", "n"), ("INCRBY", "n", "-5"), ("SET", "z", "007"), ("INCR", "z"), ("INCR", "-1")], {}),
    "incr-wrongtype": ([("RPUSH", "l", "x"), ("INCR", "l"), ("DEL", "l"), ("INCR", "l")], {}),
    "mset-pairs": ([("MSET", "a", "1", "b", "2", "a", "3"), ("MGET", "a", "b"), ("MSET", "a"), ("MSET", "a", "1", "b"),
                    ("SET", "t", "v", "EX", "100"), ("MSET", "t", "w"), ("TTL", "t")], {}),
    "empty-requests": ([("PING",), (), ("PING", "x")], {}),
    "slowlog-turned-on-by-config-set": ([("SLOWLOG", "RESET"), ("CONFIG", "SET", "slowlog-log-slower-than", "0"), ("PING",),
                                         ("SLOWLOG", "GET"), ("CONFIG", "SET", "slowlog-log-slower-than", "10000"),
                                         ("SLOWLOG", "RESET")], {3: _slowlog_commands}),
    "reset-logs-out": ([("CONFIG", "SET", "requirepass", "pw"), ("RESET",), ("GET", "k"), ("AUTH", "pw"), ("GET", "k"),
                        ("CONFIG", "SET", "requirepass", "")], {}),
}
RAW_CASES = {
    "simple-string-argument": b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n+hello\r\n*1\r\n$4\r\nPING\r\n",
    "error-after-good-requests": b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n*1\r\n",
    "inline-between": b"*1\r\n$4\r\nPING\r\nPING x\r\n*2\r\n$4\r\nECHO\r\n$1\r\ny\r\n",
}


def _encode(commands) -> bytes:
    return b"".join(encode_request(*command) if command else b"*0\r\n" for command in commands)


def _redis_replies(port: int, data: bytes) -> list:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n" + data)
        sock.settimeout(SILENCE_S)
        reader, replies = hiredis.Reader(), []
        try:
            while chunk := sock.recv(1 << 16):
                reader.feed(chunk)
                while (reply := reader.gets()) is not False:
                    replies.append(reply)
        except TimeoutError:
            pass
    return replies[1:]  # FLUSHALL's OK


def _normalize(replies: list, views: dict) -> list:
    out = []
    for index, reply in enumerate(replies):
        if isinstance(reply, hiredis.ReplyError):
            reply = ("error", str(reply))
        elif index in views:
            reply = views[index](reply)
        out.append(reply)
    return out


def _check(data: bytes, views: dict, redis_port: int) -> None:
    ours = CoreClient(make_node()).send_raw(data)
    theirs = _redis_replies(redis_port, data)
    assert _normalize(ours, views) == _normalize(theirs, views)


@pytest.mark.parametrize("name", CASES)
def test_batch_matches_redis(name, redis_port):
    commands, views = CASES[name]
    _check(_encode(commands), views, redis_port)


@pytest.mark.parametrize("name", RAW_CASES)
def test_raw_batch_matches_redis(name, redis_port):
    _check(RAW_CASES[name], {}, redis_port)


def test_commands_counted_once_each_in_a_batch(c):
    c.send_raw(_encode([("PING",)] * 5 + [("SET", "a", "1"), ("GET", "a"), ("GET", "b"), ("NOSUCH",)]))
    info = c.call("INFO", "commandstats").decode()
    assert "cmdstat_ping:calls=5," in info
    assert "cmdstat_get:calls=2," in info
    stats = c.call("INFO", "stats").decode()
    # 5 PING, SET, 2 GET and the first INFO (as redis-server counts them: not NOSUCH, not this INFO)
    assert "total_commands_processed:9\r\n" in stats
    assert "keyspace_hits:1\r\n" in stats and "keyspace_misses:1\r\n" in stats
