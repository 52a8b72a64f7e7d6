"""MIGRATE: its arguments, errors and key positions as Redis checks them (compared with redis-server),
and keys moved between nodes joined in memory (tests/kvcore/replication_wire.py)."""

from __future__ import annotations

import hiredis
import pytest

from kvcore.effects import Connect, Send
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.replication_wire import Wire

CASES = [
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "COPY", "REPLACE"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH2", "user"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH", "pw", "AUTH2", "u", "pw"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "bogus"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "x", "100"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "x"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "-5"],
    ["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "a", "b"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "100", "COPY", "KEYS"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0"],
    ["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"],
    ["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5", "COPY"],
    ["COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"],
    ["COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", "k", "0", "5"],
]


def plain(reply):
    return ("err", str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(argv) for argv in CASES])
def test_migrate_answers_as_redis(argv, redis_conn):
    redis_conn.call([b"FLUSHALL"])
    ours = CoreClient(make_node()).call(*argv)
    assert plain(ours) == plain(redis_conn.call([arg.encode() for arg in argv]))


@pytest.fixture
def wire():
    wire = Wire()
    wire.add(7001)
    wire.add(7002)
    return wire


def test_a_key_moves_with_its_ttl_and_the_source_logs_a_del(wire):
    source, target = wire.nodes["127.0.0.1:7001"], wire.nodes["127.0.0.1:7002"]
    client = wire.client(source)
    client.call("RPUSH", "list", "a", "b")
    client.call("SET", "k", "v", "PX", "5000")
    logged = []
    source.propagate = lambda db_index, argv: logged.append(argv)
    changes = source.stats.dirty
    assert client.call("MIGRATE", "127.0.0.1", "7002", "", "3", "1000", "KEYS", "list", "k", "nokey") == b"OK"
    assert client.call("EXISTS", "list", "k") == 0
    assert logged == [[b"DEL", b"list", b"k"]]
    assert source.stats.dirty - changes == 2  # one change a key moved, as Redis counts them
    there = wire.client(target)
    there.call("SELECT", "3")
    assert there.call("LRANGE", "list", "0", "-1") == [b"a", b"b"]
    assert 4000 < there.call("PTTL", "k") <= 5000
    assert _info(client, "migrate_cached_sockets") == "1"


def test_copy_keeps_the_key_and_an_existing_one_there_is_an_error_unless_replace(wire):
    source, target = wire.nodes["127.0.0.1:7001"], wire.nodes["127.0.0.1:7002"]
    client = wire.client(source)
    client.call("SET", "k", "mine")
    wire.call(target, "SET", "k", "theirs")
    reply = client.call("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000", "COPY")
    assert str(reply) == "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    assert client.call("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000", "COPY", "REPLACE") == b"OK"
    assert client.call("GET", "k") == b"mine" and wire.call(target, "GET", "k") == b"mine"


def test_a_refused_auth_moves_nothing(wire):
    source, target = wire.nodes["127.0.0.1:7001"], wire.nodes["127.0.0.1:7002"]
    wire.call(target, "CONFIG", "SET", "requirepass", "secret")
    client = wire.client(source)
    client.call("SET", "k", "v")
    reply = client.call("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000", "AUTH", "wrong")
    assert str(reply).startswith("ERR Target instance replied with error: WRONGPASS")
    assert client.call("GET", "k") == b"v"
    assert client.call("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000", "AUTH", "secret") == b"OK"


def test_an_unreachable_target_is_an_ioerr_and_idle_connections_close_after_ten_seconds(wire):
    source = wire.nodes["127.0.0.1:7001"]
    client = wire.client(source)
    client.call("SET", "k", "v")
    assert str(client.call("MIGRATE", "127.0.0.1", "7999", "k", "0", "1000")) == \
        "IOERR error or timeout connecting to the client"
    assert client.call("GET", "k") == b"v" and _info(client, "migrate_cached_sockets") == "0"
    assert client.call("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000", "COPY") == b"OK"
    wire.tick(1000, times=9)
    assert _info(client, "migrate_cached_sockets") == "1"
    wire.tick(1000, times=2)
    assert _info(client, "migrate_cached_sockets") == "0"


def test_the_timeout_counts_from_the_first_tick_and_again_from_the_connection():
    """As Redis's timeout bounds each socket operation, not the serializing before them: a MIGRATE
    whose payload took long to make (the node's clock jumps past the timeout before its next tick)
    still gets its connection, and the clock starts again once connected."""
    node = make_node()
    client = CoreClient(node)
    client.call("SET", "k", "v")
    node.receive(client.conn, encode_request("MIGRATE", "127.0.0.1", "7999", "k", "0", "1000"), node.now)
    (connect,) = [effect for effect in node.take_effects() if type(effect) is Connect]
    node.now += 5000  # the payload took five seconds
    node.tick(node.now)
    node.now += 900
    node.tick(node.now)
    node.connected(connect.conn, node.now)
    node.now += 900
    node.tick(node.now)
    sent = [effect for effect in node.take_effects() if type(effect) is Send]
    assert [effect.conn for effect in sent] == [connect.conn]  # the RESTORE went; the client still waits
    node.now += 200
    node.tick(node.now)
    (reply,) = [effect.data for effect in node.take_effects() if type(effect) is Send and effect.conn == client.conn]
    assert reply == b"-IOERR error or timeout reading to target instance\r\n"


def _info(client, field: str) -> str:
    return client.call("INFO", "stats").decode().split(field + ":")[1].split("\r\n")[0]


def test_monitor_hides_migrate_passwords():
    node = make_node()
    watcher, other = CoreClient(node), CoreClient(node)
    watcher.call("MONITOR")
    other.call("MIGRATE", "h", "1", "k", "0", "5", "COPY", "AUTH", "pw", "AUTH2", "user", "pw2")
    [line] = watcher.send_raw(b"")
    assert line.endswith(b'"COPY" "AUTH" "(redacted)" "AUTH2" "(redacted)" "(redacted)"')


def test_other_clients_wait_while_a_transfer_is_in_flight():
    """Redis's MIGRATE blocks the server until the target answers: a DEL sent meanwhile runs after
    the key has left (0), not before the RESTORE lands there (which would bring the key back)."""
    node = make_node()
    migrating, other = CoreClient(node), CoreClient(node)
    other.call("SET", "k", "v")
    node.receive(migrating.conn, encode_request("MIGRATE", "127.0.0.1", "7002", "k", "0", "1000"), node.now)
    (connect,) = [effect for effect in node.take_effects() if type(effect) is Connect]
    node.connected(connect.conn, node.now)
    node.take_effects()
    assert other.send_raw(encode_request("DEL", "k")) == []  # held
    node.receive(connect.conn, b"+OK\r\n+OK\r\n", node.now)  # its SELECT, and the RESTORE: done
    replies = {effect.conn: effect.data for effect in node.take_effects() if type(effect) is Send}
    assert replies[migrating.conn] == b"+OK\r\n" and replies[other.conn] == b":0\r\n"
    assert other.call("EXISTS", "k") == 0
