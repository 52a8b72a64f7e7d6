"""The node's contract with its runtime: batching, the durability barrier, closing."""

from __future__ import annotations

from kvcore.effects import AppendLog, Close, Send
from tests.kvcore.harness import CoreClient, encode_request, make_node


def sends(effects, conn=None):
    return [e for e in effects if isinstance(e, Send) and (conn is None or e.conn == conn)]


def test_replies_to_a_pipeline_leave_in_one_send():
    node = make_node()
    node.open(1, 0)
    node.receive(1, b"PING\r\n" * 5 + encode_request(b"SET", b"a", b"1") + encode_request(b"GET", b"a"), 1)
    effects = node.take_effects()
    assert effects == [Send(1, b"+PONG\r\n" * 5 + b"+OK\r\n$1\r\n1\r\n")]


def test_replies_wait_for_the_log_write_of_their_writes():
    node = make_node(appendonly="yes", appendfsync="always")
    node.open(1, 0)
    node.open(2, 0)
    node.receive(1, encode_request(b"SET", b"a", b"1"), 1)
    node.receive(2, encode_request(b"GET", b"a"), 1)
    effects = node.take_effects()
    assert len(effects) == 1 and isinstance(effects[0], AppendLog)
    log = effects[0]
    assert log.fsync is True
    assert b"SET" in log.data and b"SELECT" in log.data
    node.job_done(log.job, True, 2)
    released = node.take_effects()
    assert sends(released) == [Send(1, b"+OK\r\n"), Send(2, b"$1\r\n1\r\n")]


def test_group_commit_shares_one_log_job():
    node = make_node(appendonly="yes", appendfsync="always")
    for conn in (1, 2, 3):
        node.open(conn, 0)
        node.receive(conn, encode_request(b"INCR", b"n"), 1)
    effects = node.take_effects()
    assert [type(e) for e in effects] == [AppendLog]
    assert effects[0].data.count(b"INCR") == 3


def test_later_replies_queue_behind_an_unfinished_log_job():
    node = make_node(appendonly="yes", appendfsync="everysec")
    node.open(1, 0)
    node.receive(1, encode_request(b"SET", b"a", b"1"), 1)
    first = node.take_effects()
    assert first[0].fsync is False
    node.receive(1, encode_request(b"GET", b"a"), 2)
    assert node.take_effects() == []
    node.job_done(first[0].job, True, 3)
    assert sends(node.take_effects()) == [Send(1, b"+OK\r\n$1\r\n1\r\n")]


def test_reads_alone_are_not_logged():
    node = make_node(appendonly="yes")
    node.open(1, 0)
    node.receive(1, encode_request(b"GET", b"a"), 1)
    assert node.take_effects() == [Send(1, b"$-1\r\n")]


def test_protocol_error_replies_then_closes_only_that_connection():
    node = make_node()
    node.open(1, 0)
    node.open(2, 0)
    node.receive(1, b"PING\r\n*1\r\nx\r\n", 1)
    node.receive(2, b"PING\r\n", 1)
    effects = node.take_effects()
    assert Send(1, b"+PONG\r\n-ERR Protocol error: expected '$', got 'x'\r\n") in effects
    assert Close(1) in effects and Close(2) not in effects
    assert Send(2, b"+PONG\r\n") in effects
    node.receive(1, b"PING\r\n", 2)
    assert node.take_effects() == []


def test_quit_replies_ok_and_closes_without_running_the_rest():
    c = CoreClient(make_node())
    assert c.send_raw(b"QUIT\r\nPING\r\n") == [b"OK"]
    assert c.closed


def test_maxclients_refuses_with_redis_error():
    node = make_node(maxclients="1")
    node.open(1, 0)
    node.open(2, 0)
    assert node.take_effects() == [Send(2, b"-ERR max number of clients reached\r\n"), Close(2)]


def test_client_query_buffer_limit_closes_the_connection():
    node = make_node(client_query_buffer_limit="1mb")
    node.open(1, 0)
    node.receive(1, b"*2\r\n$3\r\nGET\r\n$2000000\r\n" + b"x" * (1024 * 1024 + 10), 1)
    assert Close(1) in node.take_effects()


def test_lazy_expiry_uses_the_node_clock():
    node = make_node(now=1000)
    c = CoreClient(node)
    assert c.call("SET", "k", "v", "PX", "100") == b"OK"
    node.now = 1100
    assert c.call("GET", "k") == b"v"
    node.now = 1101
    assert c.call("GET", "k") is None


def test_active_expiry_on_tick_removes_keys_nobody_reads():
    node = make_node(now=0)
    c = CoreClient(node)
    for i in range(200):
        c.call("SET", f"k{i}", "v", "PX", "10")
    c.call("SET", "forever", "v")
    for t in range(20, 2000, 100):
        node.tick(t)
    assert len(node.dbs[0]) == 1
    assert node.stats.expired_keys == 200


def test_a_failed_log_write_holds_replies_refuses_writes_and_retries():
    node = make_node(appendonly="yes", appendfsync="always")
    node.open(1, 0)
    node.open(2, 0)
    node.receive(1, encode_request(b"SET", b"a", b"1"), 1)
    log = node.take_effects()[0]
    node.job_done(log.job, False, 2, "No space left on device")
    assert node.take_effects() == []
    node.receive(2, encode_request(b"SET", b"b", b"2") + encode_request(b"GET", b"zzz"), 3)
    assert node.take_effects() == []  # held: the GET may not overtake what is not durable
    node.tick(1000)
    retry = node.take_effects()
    assert [type(e) for e in retry] == [AppendLog]
    assert retry[0].data == log.data  # the refused SET was never logged
    node.job_done(retry[0].job, True, 1001)
    released = sends(node.take_effects())
    assert released[0] == Send(1, b"+OK\r\n")
    assert released[1] == Send(2, b"-MISCONF Errors writing to the AOF file: No space left on device\r\n$-1\r\n")
    node.receive(2, encode_request(b"SET", b"b", b"2"), 1002)
    assert isinstance(node.take_effects()[0], AppendLog)


def test_one_log_job_in_flight_and_the_next_groups_what_came_meanwhile():
    node = make_node(appendonly="yes", appendfsync="always")
    node.open(1, 0)
    node.receive(1, encode_request(b"INCR", b"n"), 1)
    first = node.take_effects()[0]
    for _ in range(3):
        node.receive(1, encode_request(b"INCR", b"n"), 2)
        assert node.take_effects() == []
    node.job_done(first.job, True, 3)
    effects = node.take_effects()
    assert sends(effects) == [Send(1, b":1\r\n")]
    second = [e for e in effects if isinstance(e, AppendLog)]
    assert len(second) == 1 and second[0].data.count(b"INCR") == 3
    node.job_done(second[0].job, True, 4)
    assert sends(node.take_effects()) == [Send(1, b":2\r\n:3\r\n:4\r\n")]
