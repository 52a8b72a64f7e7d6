"""CLIENT PAUSE (kvcore.pause): what a pause holds, what it lets through, and what runs at its end."""

from __future__ import annotations

import hiredis
import pytest

from kvcore import pause
from tests.kvcore.harness import CoreClient, encode_request, make_node


@pytest.fixture
def node():
    return make_node()


def clients(node, count: int) -> list[CoreClient]:
    return [CoreClient(node) for _ in range(count)]


def info_field(client: CoreClient, name: str) -> str:
    text = client.call("INFO", "clients").decode()
    return next(line.split(":", 1)[1] for line in text.split("\r\n") if line.startswith(name + ":"))


def test_a_write_pause_holds_writes_and_lets_reads_through(node):
    admin, writer, reader = clients(node, 3)
    admin.call("SET", "k", "old")
    assert admin.call("CLIENT", "PAUSE", "60000", "WRITE") == b"OK"
    assert writer.send_raw(encode_request("SET", "k", "new")) == []
    assert reader.call("GET", "k") == b"old"
    assert info_field(admin, "blocked_clients") == "1"
    assert " flags=b " in admin.call("CLIENT", "LIST").decode().splitlines()[1]
    assert admin.call("CLIENT", "UNPAUSE") == b"OK"
    assert writer.send_raw(b"") == [b"OK"]
    assert reader.call("GET", "k") == b"new"
    assert info_field(admin, "blocked_clients") == "0"


def test_held_requests_run_in_order_with_what_came_after_them(node):
    admin, first, second = clients(node, 3)
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    assert first.send_raw(encode_request("RPUSH", "l", "a") + encode_request("LRANGE", "l", "0", "-1")) == []
    assert second.send_raw(encode_request("RPUSH", "l", "b")) == []
    admin.call("CLIENT", "UNPAUSE")
    assert first.send_raw(b"") == [1, [b"a"]]
    assert second.send_raw(b"") == [2]


def test_an_all_pause_holds_every_command(node):
    admin, other = clients(node, 2)
    admin.call("CLIENT", "PAUSE", "60000", "ALL")
    assert other.send_raw(encode_request("PING")) == []
    assert other.send_raw(encode_request("GET", "k")) == []
    assert admin.send_raw(encode_request("CLIENT", "UNPAUSE")) == []  # held too, as Redis 7.0 holds it


def test_a_pause_ends_when_its_time_has_passed(node):
    admin, writer = clients(node, 2)
    admin.call("CLIENT", "PAUSE", "100", "WRITE")
    assert writer.send_raw(encode_request("INCR", "n")) == []
    node.tick(node.now + 99)
    assert writer.send_raw(b"") == []
    node.tick(node.now + 1)
    assert writer.send_raw(b"") == [1]


def test_a_new_pause_keeps_the_later_end_and_the_stricter_mode(node):
    admin, other = clients(node, 2)
    start = node.now
    admin.call("CLIENT", "PAUSE", "1000", "ALL")
    admin_after = CoreClient(node)  # unpaused only by time now
    node.pause.start(start + 10, True)  # a shorter WRITE pause changes neither
    assert node.pause.purposes[pause.CLIENT_COMMAND] == (start + 1000, False) and not node.pause.writes_only
    assert other.send_raw(encode_request("GET", "k")) == []
    node.tick(start + 10)
    assert other.send_raw(b"") == []  # still held: the shorter end is not the pause's
    node.tick(start + 1000)
    assert other.send_raw(b"") == [None]
    assert admin_after.call("PING") == b"PONG"


def test_errors_found_before_the_pause_check_are_answered_at_once(node):
    admin, other = clients(node, 2)
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    reply = other.call("SET", "k")
    assert isinstance(reply, hiredis.ReplyError)
    assert str(reply) == "ERR wrong number of arguments for 'set' command"


def test_may_replicate_commands_are_held_by_a_write_pause(node):
    admin, counter, publisher = clients(node, 3)
    admin.call("PFADD", "h", "x")
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    assert counter.send_raw(encode_request("PFCOUNT", "h")) == []
    assert publisher.send_raw(encode_request("PUBLISH", "ch", "m")) == []
    admin.call("CLIENT", "UNPAUSE")
    assert counter.send_raw(b"") == [1]
    assert publisher.send_raw(b"") == [0]


def test_transactions_are_held_at_exec_when_they_write_and_at_queueing_for_writes(node):
    admin, reads, writes = clients(node, 3)
    admin.call("SET", "k", "v")
    writes.call("MULTI")
    assert writes.call("SET", "k", "w") == b"QUEUED"
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    assert reads.call("MULTI") == b"OK"
    assert reads.call("GET", "k") == b"QUEUED"
    assert reads.call("EXEC") == [b"v"]
    assert writes.send_raw(encode_request("EXEC")) == []
    assert reads.call("MULTI") == b"OK"
    assert reads.send_raw(encode_request("DEL", "k")) == []  # a write is held as it is queued
    admin.call("CLIENT", "UNPAUSE")
    assert writes.send_raw(b"") == [[b"OK"]]
    assert reads.send_raw(b"") == [b"QUEUED"]


def test_a_pause_set_inside_a_transaction_starts_after_it(node):
    admin, other = clients(node, 2)
    admin.call("MULTI")
    admin.call("SET", "a", "1")
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    admin.call("SET", "b", "2")
    assert admin.call("EXEC") == [b"OK", b"OK", b"OK"]
    assert other.send_raw(encode_request("SET", "c", "3")) == []
    assert admin.call("MGET", "a", "b", "c") == [b"1", b"2", None]


def test_scripts_are_judged_by_their_declared_flags(node):
    admin, plain, shebang, no_writes, read_only, function = clients(node, 6)
    admin.call("FUNCTION", "LOAD", "#!lua name=lib\n"
               "redis.register_function{function_name='ro', callback=function() return 'ro' end, "
               "flags={'no-writes'}}\n"
               "redis.register_function('rw', function() return 'rw' end)")
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    assert plain.send_raw(encode_request("EVAL", "return 1", "0")) == []
    assert shebang.send_raw(encode_request("EVAL", "#!lua\nreturn 2", "0")) == []
    assert no_writes.call("EVAL", "#!lua flags=no-writes\nreturn 3", "0") == 3
    assert read_only.call("EVAL_RO", "return 4", "0") == 4
    assert function.call("FCALL", "ro", "0") == b"ro"
    assert function.send_raw(encode_request("FCALL", "rw", "0")) == []
    admin.call("CLIENT", "UNPAUSE")
    assert plain.send_raw(b"") == [1]
    assert shebang.send_raw(b"") == [2]
    assert function.send_raw(b"") == [b"rw"]


def test_read_only_scripts_refuse_may_replicate_commands(node):
    (client,) = clients(node, 1)
    reply = client.call("EVAL_RO", "return redis.call('publish', 'ch', 'm')", "0")
    assert isinstance(reply, hiredis.ReplyError)
    assert str(reply).startswith("ERR Write commands are not allowed from read-only scripts. script:")
    assert client.call("EVAL", "return redis.call('publish', 'ch', 'm')", "0") == 0


def test_keys_do_not_expire_while_paused(node):
    admin, reader = clients(node, 2)
    admin.call("SET", "k", "v", "PX", "10")
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    node.tick(node.now + 50)  # no active expiry either
    assert reader.call("GET", "k") is None  # logically expired...
    assert reader.call("DBSIZE") == 1  # ...but still there
    assert node.stats.expired_keys == 0
    admin.call("CLIENT", "UNPAUSE")
    assert reader.call("GET", "k") is None
    assert (reader.call("DBSIZE"), node.stats.expired_keys) == (0, 1)


def test_client_unblock_leaves_a_paused_client_held(node):
    admin, writer = clients(node, 2)
    admin.call("CLIENT", "PAUSE", "60000", "WRITE")
    writer.send_raw(encode_request("SET", "k", "v"))
    writer_id = node.clients[writer.conn].id
    assert admin.call("CLIENT", "UNBLOCK", str(writer_id)) == 0
    assert writer.send_raw(b"") == []
    admin.call("CLIENT", "UNPAUSE")
    assert writer.send_raw(b"") == [b"OK"]


def test_each_purpose_ends_its_own_pause_and_a_loosened_pause_lets_reads_go(node):
    """As Redis's pause purposes: CLIENT UNPAUSE leaves a failover's (or shutdown's) pause on;
    an ALL pause ending under a WRITE one releases the reads it held, not the writes."""
    admin, writer, reader = clients(node, 3)
    node.pause.start(node.now + 60_000, writes_only=True, purpose=pause.FAILOVER)
    admin.call("CLIENT", "PAUSE", "60000", "ALL")
    assert writer.send_raw(encode_request("SET", "k", "v")) == []
    assert reader.send_raw(encode_request("GET", "k")) == []
    node.pause.end(pause.CLIENT_COMMAND)
    assert reader.send_raw(b"") == [None]
    assert writer.send_raw(b"") == []
    node.pause.end(pause.FAILOVER)
    assert writer.send_raw(b"") == [b"OK"]
