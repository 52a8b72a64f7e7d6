"""MULTI/EXEC/DISCARD/WATCH against the pure core."""

from __future__ import annotations

import time

import hiredis
import pytest

from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node


def test_exec_runs_the_queue_and_returns_every_reply(c):
    assert c.call("MULTI") == b"OK"
    assert c.call("SET", "a", "1") == b"QUEUED"
    assert c.call("INCR", "a") == b"QUEUED"
    assert c.call("LPUSH", "a", "x") == b"QUEUED"
    replies = c.call("EXEC")
    assert replies[:2] == [b"OK", 2]
    assert isinstance(replies[2], hiredis.ReplyError) and str(replies[2]).startswith("WRONGTYPE")


def test_a_queueing_error_aborts_the_transaction(c):
    c.call("MULTI")
    assert str(c.call("NOSUCH")).startswith("ERR unknown command")
    assert str(c.call("GET")) == "ERR wrong number of arguments for 'get' command"
    c.call("SET", "a", "1")
    assert str(c.call("EXEC")) == "EXECABORT Transaction discarded because of previous errors."
    assert c.call("GET", "a") is None


def test_watch_aborts_exec_when_another_client_writes():
    node = make_node()
    a, b = CoreClient(node), CoreClient(node)
    a.call("WATCH", "k")
    b.call("SET", "k", "other")
    a.call("MULTI")
    a.call("SET", "k", "mine")
    assert a.call("EXEC") is None
    assert a.call("GET", "k") == b"other"


def test_watch_allows_exec_when_nothing_changed():
    node = make_node()
    a, b = CoreClient(node), CoreClient(node)
    a.call("WATCH", "k")
    b.call("SET", "unrelated", "x")
    a.call("MULTI")
    a.call("SET", "k", "mine")
    assert a.call("EXEC") == [b"OK"]


def test_watch_sees_expiry_between_watch_and_exec():
    node = make_node(now=0)
    a = CoreClient(node)
    a.call("SET", "k", "v", "PX", "50")
    a.call("WATCH", "k")
    node.now = 100
    a.call("MULTI")
    a.call("PING")
    assert a.call("EXEC") is None


def test_flushall_touches_watched_keys():
    node = make_node()
    a, b = CoreClient(node), CoreClient(node)
    a.call("SET", "k", "v")
    a.call("WATCH", "k")
    b.call("FLUSHALL")
    a.call("MULTI")
    assert a.call("EXEC") is None


def test_errors_of_transaction_control(c):
    assert str(c.call("EXEC")) == "ERR EXEC without MULTI"
    assert str(c.call("DISCARD")) == "ERR DISCARD without MULTI"
    c.call("MULTI")
    assert str(c.call("MULTI")) == "ERR MULTI calls can not be nested"
    assert str(c.call("WATCH", "x")) == "ERR WATCH inside MULTI is not allowed"
    assert c.call("DISCARD") == b"OK"
    assert c.call("PING") == b"PONG"


def test_exec_wraps_propagated_writes_in_multi_exec():
    node = make_node(appendonly="yes")
    c = CoreClient(node)
    node.receive(c.conn, b"MULTI\r\nSET a 1\r\nGET a\r\nINCR n\r\nEXEC\r\n", 1)
    log = node.take_effects()[0]
    assert log.data.index(b"MULTI") < log.data.index(b"SET") < log.data.index(b"INCR") < log.data.index(b"EXEC")


# -- WATCH and expiry, replayed on the core and on redis-server ----------------------------
# A step is (client, command line, expected reply) or ("sleep", ms). Clients "a" and "b" share
# the server. Active expiry is off on both sides, so keys only go by lazy expiry (Redis 7.0
# multi.c: watchedKey.expired, touchWatchedKey, touchAllWatchedKeysInDb).

STALE_X = [("a", "SET x foo PX 1", b"OK"), ("sleep", 10)]  # x: expired, still stored
EXEC_PING = [("a", "MULTI", b"OK"), ("a", "PING", b"QUEUED")]
PONG = [b"PONG"]

WATCH_EXPIRY = {
    "expiry_after_watch_aborts": [
        ("a", "SET x 1 PX 100", b"OK"), ("a", "WATCH x", b"OK"), ("sleep", 150),
        ("a", "MULTI", b"OK"), ("a", "INCR x", b"QUEUED"), ("a", "EXEC", None)],
    "lazy_deletion_after_watch_aborts": [
        ("a", "SET x 1 PX 100", b"OK"), ("a", "WATCH x", b"OK"), ("sleep", 150),
        ("b", "EXISTS x", 0), *EXEC_PING, ("a", "EXEC", None)],
    "watch_stale_key": [*STALE_X, ("a", "WATCH x", b"OK"), *EXEC_PING, ("a", "EXEC", PONG)],
    "lazy_deletion_of_stale_key": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "EXISTS x", 0), *EXEC_PING, ("a", "EXEC", PONG)],
    "del_of_stale_key": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "DEL x", 0), *EXEC_PING, ("a", "EXEC", PONG)],
    "set_on_stale_key_aborts": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "SET x bar", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "mset_on_stale_key_aborts": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "MSET x bar", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "set_after_deletion_of_stale_key_aborts": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "EXISTS x", 0), ("b", "SET x bar", b"OK"),
        *EXEC_PING, ("a", "EXEC", None)],
    "two_clients_watch_a_stale_key": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "WATCH x", b"OK"), ("a", "GET x", None),
        ("b", "MULTI", b"OK"), ("b", "PING", b"QUEUED"), ("b", "EXEC", PONG),
        *EXEC_PING, ("a", "EXEC", PONG)],
    "flushdb_with_stale_key": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "FLUSHDB", b"OK"), *EXEC_PING, ("a", "EXEC", PONG)],
    "flushall_with_stale_key": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "FLUSHALL", b"OK"), *EXEC_PING, ("a", "EXEC", PONG)],
    "flushall_then_set_on_stale_key_aborts": [
        *STALE_X, ("a", "WATCH x", b"OK"), ("b", "FLUSHALL", b"OK"), ("b", "SET x y", b"OK"),
        *EXEC_PING, ("a", "EXEC", None)],
    "flushall_with_missing_key": [
        ("a", "WATCH x", b"OK"), ("b", "FLUSHALL", b"OK"), *EXEC_PING, ("a", "EXEC", PONG)],
    "flushdb_with_missing_key": [
        ("a", "SET y 1", b"OK"), ("a", "WATCH x", b"OK"), ("b", "FLUSHDB", b"OK"),
        *EXEC_PING, ("a", "EXEC", PONG)],
    "flushdb_with_live_key_aborts": [
        ("a", "SET x 1", b"OK"), ("a", "WATCH x", b"OK"), ("b", "FLUSHDB", b"OK"),
        *EXEC_PING, ("a", "EXEC", None)],
    "flushdb_with_key_expired_after_watch_aborts": [
        ("a", "SET x 1 PX 100", b"OK"), ("a", "WATCH x", b"OK"), ("sleep", 150),
        ("b", "FLUSHDB", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "swapdb_stale_key_with_nothing": [
        ("a", "SELECT 1", b"OK"), *STALE_X, ("a", "WATCH x", b"OK"), ("b", "SWAPDB 0 1", b"OK"),
        *EXEC_PING, ("a", "EXEC", PONG)],
    "swapdb_nothing_with_stale_key": [
        *STALE_X, ("a", "SELECT 1", b"OK"), ("a", "WATCH x", b"OK"), ("b", "SWAPDB 0 1", b"OK"),
        *EXEC_PING, ("a", "EXEC", PONG)],
    "swapdb_nothing_with_stale_key_then_set_aborts": [
        *STALE_X, ("a", "SELECT 1", b"OK"), ("a", "WATCH x", b"OK"), ("b", "SWAPDB 0 1", b"OK"),
        ("b", "SELECT 1", b"OK"), ("b", "SET x new", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "swapdb_nothing_with_stale_key_then_deleted": [
        *STALE_X, ("a", "SELECT 1", b"OK"), ("a", "WATCH x", b"OK"), ("b", "SWAPDB 0 1", b"OK"),
        ("b", "SELECT 1", b"OK"), ("b", "EXISTS x", 0), *EXEC_PING, ("a", "EXEC", PONG)],
    "swapdb_stale_key_with_stale_key": [
        ("a", "SELECT 1", b"OK"), ("a", "SET x foo PX 1", b"OK"), ("a", "SELECT 0", b"OK"),
        ("a", "SET x bar PX 1", b"OK"), ("sleep", 10), ("a", "SELECT 1", b"OK"), ("a", "WATCH x", b"OK"),
        ("b", "SWAPDB 0 1", b"OK"), *EXEC_PING, ("a", "EXEC", PONG)],
    "swapdb_stale_key_with_live_key_aborts": [
        ("b", "SET x live", b"OK"), ("a", "SELECT 1", b"OK"), *STALE_X, ("a", "WATCH x", b"OK"),
        ("b", "SWAPDB 0 1", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "swapdb_live_key_with_nothing_aborts": [
        ("a", "SET x 30", b"OK"), ("a", "WATCH x", b"OK"), ("b", "SWAPDB 0 1", b"OK"),
        *EXEC_PING, ("a", "EXEC", None)],
    "swapdb_nothing_with_live_key_aborts": [
        ("b", "SELECT 1", b"OK"), ("b", "SET x 30", b"OK"), ("a", "WATCH x", b"OK"),
        ("b", "SWAPDB 0 1", b"OK"), *EXEC_PING, ("a", "EXEC", None)],
    "watch_remembers_the_db": [
        ("a", "SELECT 5", b"OK"), ("a", "SET x 30", b"OK"), ("a", "WATCH x", b"OK"),
        ("a", "SELECT 1", b"OK"), ("a", "SET x 10", b"OK"), ("a", "SELECT 5", b"OK"),
        *EXEC_PING, ("a", "EXEC", PONG)],
    "dirty_client_stops_watching": [
        ("a", "WATCH x y", b"OK"), ("b", "SET x 1", b"OK"), ("b", "SET y 1", b"OK"),
        *EXEC_PING, ("a", "EXEC", None), ("a", "MULTI", b"OK"), ("a", "PING", b"QUEUED"),
        ("a", "EXEC", PONG)],
}


def replay(steps, call, sleep) -> None:
    for step in steps:
        if step[0] == "sleep":
            sleep(step[1])
            continue
        who, line, expected = step
        assert call(who, line.encode().split()) == expected, (who, line)


@pytest.mark.parametrize("name", sorted(WATCH_EXPIRY))
def test_watch_and_expiry(name):
    node = make_node()
    clients = {"a": CoreClient(node), "b": CoreClient(node)}
    clients["a"].call("DEBUG", "SET-ACTIVE-EXPIRE", "0")

    def advance(ms):
        node.now += ms

    replay(WATCH_EXPIRY[name], lambda who, argv: clients[who].call(*argv), advance)


@pytest.mark.parametrize("name", sorted(WATCH_EXPIRY))
def test_watch_and_expiry_is_redis(name, redis_port):
    clients = {"a": RedisConnection(redis_port), "b": RedisConnection(redis_port)}
    a = clients["a"]
    try:
        a.call([b"FLUSHALL"])
        a.call([b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"])
        replay(WATCH_EXPIRY[name], lambda who, argv: clients[who].call(argv), lambda ms: time.sleep(ms / 1000))
    finally:
        a.call([b"DEBUG", b"SET-ACTIVE-EXPIRE", b"1"])
        a.call([b"FLUSHALL"])
        for conn in clients.values():
            conn.close()


def test_an_error_inside_exec_counts_in_errorstats_as_redis():
    """Redis's info.tcl "errorstats: failed call within MULTI/EXEC"."""
    node = make_node()
    client = CoreClient(node, 1)
    client.call("CONFIG", "RESETSTAT")
    client.send_raw(encode_request("MULTI") + encode_request("SET", "a", "b") + encode_request("AUTH", "a"))
    ok, error = client.call("EXEC")
    assert ok == b"OK" and str(error).startswith("ERR AUTH")
    assert str(client.call("EXEC")) == "ERR EXEC without MULTI"
    text = client.call("INFO", "all").decode()
    assert "errorstat_ERR:count=2\r\n" in text and "total_error_replies:2\r\n" in text
    assert "cmdstat_auth:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n" in text
    assert "cmdstat_exec:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n" in text


def test_subscribing_in_a_transaction_puts_the_confirmations_in_the_exec_array():
    """As Redis: EXEC's header counts the commands, each command's own output follows (SUBSCRIBE
    of two channels: two confirmations). The connection used to be dropped (found by a
    differential hunt)."""
    c = CoreClient(make_node())
    replies = c.send_raw(b"".join(encode_request(*argv) for argv in (
        ("MULTI",), ("SUBSCRIBE", "c", "d"), ("PUBLISH", "c", "m"), ("EXEC",), ("PING",))))
    assert replies[:4] == [b"OK", b"QUEUED", b"QUEUED",
                           [[b"subscribe", b"c", 1], [b"subscribe", b"d", 2]]]
    assert replies[4:] == [[b"message", b"c", b"m"], 1, [b"pong", b""]]  # past the header's count of 2


EDGES = {  # found by a differential hunt; each sequence's replies are redis-server's
    "exec_with_arguments_aborts": [("MULTI",), ("SET", "a", "1"), ("EXEC", "x"), ("EXEC",), ("GET", "a")],
    # EXECABORT even with no MULTI; the WATCH goes with it
    "exec_with_arguments_outside_multi": [("WATCH", "a"), ("EXEC", "x"), ("SET", "a", "1"), ("MULTI",), ("EXEC",)],
    "unwatch_is_queued": [("WATCH", "a"), ("MULTI",), ("UNWATCH",), ("SET", "b", "2"), ("EXEC",)],
    "monitor_refused_in_exec": [("MULTI",), ("MONITOR",), ("EXEC",), ("PING",)],
    "subscribe_in_exec": [("MULTI",), ("SUBSCRIBE", "c"), ("EXEC",), ("PING",)],
}


def _plain(reply):
    """Errors as comparable values, nested ones too (ReplyError instances never compare equal)."""
    if isinstance(reply, Exception):
        return ("error", str(reply))
    return [_plain(item) for item in reply] if isinstance(reply, list) else reply


def _edge_replies(call, steps) -> list:
    return [_plain(call([arg.encode() for arg in argv])) for argv in steps]


@pytest.mark.parametrize("name", sorted(EDGES))
def test_transaction_edges_reply_as_redis(name, redis_port):
    redis = RedisConnection(redis_port)
    try:
        redis.call([b"FLUSHALL"])
        expected = _edge_replies(redis.call, EDGES[name])
    finally:
        redis.close()
    core = CoreClient(make_node())
    assert _edge_replies(lambda argv: core.call(*argv), EDGES[name]) == expected
