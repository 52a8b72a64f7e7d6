"""MULTI/EXEC/DISCARD/WATCH against the pure core."""

from __future__ import annotations

import hiredis

from tests.kvcore.harness import CoreClient, make_node


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
