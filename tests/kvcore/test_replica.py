"""Replication between Nodes joined in memory (tests/kvcore/replication_wire.py): REPLICAOF, the
handshake, full and partial resyncs, the stream run as the master client, promotion, WAIT.

Replies and error texts are redis-server 7.0's (tests/net/test_replication.py compares the
same scenarios with real processes)."""

from __future__ import annotations

import random

import hiredis
import pytest

from kvcore import aof, rdb
from kvcore.config import Config
from kvcore.effects import REPLICAS_GONE, CancelJob, Close, LogMessage, ReadFiles, Send, SendImage, WriteFiles
from kvcore.node import Node
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.replication_wire import Wire

MASTER, REPLICA, OTHER = 6379, 6380, 6381


def info(wire: Wire, node) -> dict[str, str]:
    text = wire.call(node, "INFO", "replication").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def in_sync(wire: Wire, master, replica) -> bool:
    """The Tcl suite's wait_for_ofs_sync: the same master_repl_offset on both sides."""
    return info(wire, master)["master_repl_offset"] == info(wire, replica)["master_repl_offset"]


@pytest.fixture
def wire():
    return Wire()


@pytest.fixture
def pair(wire):
    master = wire.add(MASTER, seed=1)
    replica = wire.add(REPLICA, seed=2)
    return master, replica


def follow(wire, replica, port=MASTER):
    assert wire.call(replica, "REPLICAOF", "127.0.0.1", port) == b"OK"
    wire.tick()


def test_full_sync_copies_the_dataset_then_streams_writes(wire, pair):
    master, replica = pair
    wire.call(master, "SET", "before", "1")
    wire.call(master, "RPUSH", "list", "a", "b")
    wire.call(replica, "SET", "mine", "gone after the sync")
    follow(wire, replica)
    assert wire.call(replica, "ROLE") == [b"slave", b"127.0.0.1", MASTER, b"connected", 0]
    assert wire.call(replica, "GET", "mine") is None
    assert wire.call(replica, "LRANGE", "list", 0, -1) == [b"a", b"b"]
    writer = wire.client(master)
    writer.call("SELECT", 3)
    writer.call("MSET", "x", "1", "y", "2")
    client = wire.client(replica)
    assert client.call("SELECT", 3) == b"OK" and client.call("MGET", "x", "y") == [b"1", b"2"]
    assert in_sync(wire, master, replica)
    assert info(wire, replica)["master_link_status"] == "up"
    assert info(wire, replica)["master_replid"] == info(wire, master)["master_replid"]


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_a_full_sync_is_logged_in_redis_s_words(wire, diskless):
    """The master's lines Redis's replication tests wait for, as redis-server 7.0 writes them (a
    former master asks to continue its own history: refused, as the master has another)."""
    master = wire.add(MASTER, seed=1, repl_diskless_sync=diskless)
    replica = wire.add(REPLICA, seed=2)
    follow(wire, replica)
    name = f"127.0.0.1:{REPLICA}"
    expected = [f"Replica {name} asks for synchronization", "Partial resynchronization not accepted"]
    if diskless == "yes":
        expected += ["Starting BGSAVE for SYNC with target: replicas sockets",
                     "Diskless rdb transfer, done reading from pipe, 1 replicas still up.",
                     f"Streamed RDB transfer with replica {name} succeeded (socket). "
                     "Waiting for REPLCONF ACK from slave to enable streaming"]
    else:
        expected += ["Starting BGSAVE for SYNC with target: disk"]
    expected += [f"Synchronization with replica {name} succeeded"]
    logs = wire.logs[id(master)]
    positions = [next((index for index, line in enumerate(logs) if line.startswith(text)), None) for text in expected]
    assert None not in positions and positions == sorted(positions), logs
    offset = int(info(wire, master)["master_repl_offset"])
    wire.cut(replica)
    wire.tick(1000, 2)
    assert f"Partial resynchronization request from {name} accepted. Sending 0 bytes of backlog starting from " \
           f"offset {offset + 1}." in logs


def test_a_diskless_transfer_whose_replicas_all_dropped_is_killed_and_logged(wire, pair):
    master, replica = pair
    slow_diskless_master(wire, master)
    follow(wire, replica)
    assert "rdb_bgsave_in_progress:1" in wire.call(master, "INFO", "persistence").decode()
    wire.cut(replica)
    assert "Diskless rdb transfer, last replica dropped, killing fork child." in wire.logs[id(master)]
    assert "rdb_bgsave_in_progress:0" in wire.call(master, "INFO", "persistence").decode()


def test_a_child_that_saw_every_replica_hang_up_first_is_logged_as_the_last_dropped(wire, pair):
    """The child writes to the sockets, so it may see them all go before the node does: logged as
    Redis's parent logs it, once, and those replicas dropped."""
    master, replica = pair
    slow_diskless_master(wire, master)
    follow(wire, replica)
    [job] = list(master.replication.transfers)
    wire.tick(100)  # the child is sending
    master.job_done(job, False, master.now, REPLICAS_GONE)
    wire.tick(1)
    assert "rdb_bgsave_in_progress:0" in wire.call(master, "INFO", "persistence").decode()
    log = wire.logs[id(master)]
    assert log.count("Diskless rdb transfer, last replica dropped, killing fork child.") == 1
    assert not any("Diskless rdb transfer to" in line for line in log)
    wire.tick(100)
    assert "connected_slaves:0" in wire.call(master, "INFO", "replication").decode()
    assert log.count("Diskless rdb transfer, last replica dropped, killing fork child.") == 1


def test_the_handshake_is_redis_s(wire, pair):
    master, replica = pair
    wire.call(replica, "CONFIG", "SET", "masterauth", "secret")
    wire.call(master, "CONFIG", "SET", "requirepass", "secret")
    sent = []
    receive = master.receive
    master.receive = lambda conn, data, now: (sent.append(data), receive(conn, data, now))
    follow(wire, replica)
    requests = hiredis.Reader()
    for data in sent:
        requests.feed(data)
    first = [requests.gets() for _ in range(5)]
    assert first == [[b"PING"], [b"AUTH", b"secret"], [b"REPLCONF", b"listening-port", b"6380"],
                     [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"], [b"PSYNC", first[4][1], b"1"]]
    assert wire.call(replica, "ROLE")[3] == b"connected"


def test_a_wrong_masterauth_keeps_the_link_down(wire, pair):
    master, replica = pair
    wire.call(master, "CONFIG", "SET", "requirepass", "secret")
    wire.call(replica, "CONFIG", "SET", "masterauth", "wrong")
    follow(wire, replica)
    assert info(wire, replica)["master_link_status"] == "down"
    assert any(line.startswith("Unable to AUTH to MASTER: -WRONGPASS") for line in wire.logs[id(replica)])


@pytest.mark.parametrize(("args", "reply"), [
    (("127.0.0.1", "abc"), "ERR Invalid master port"),
    (("127.0.0.1", "-1"), "ERR Invalid master port"),
    (("127.0.0.1", "70000"), "ERR Invalid master port"),
    (("no", "two"), "ERR Invalid master port"),
    (("no", "one"), "OK"),
])
def test_replicaof_arguments(wire, pair, args, reply):
    _, replica = pair
    got = wire.call(replica, "REPLICAOF", *args)
    assert (str(got) if isinstance(got, hiredis.ReplyError) else got.decode()) == reply


def test_replicaof_the_same_master_again(wire, pair):
    _, replica = pair
    follow(wire, replica)
    assert wire.call(replica, "SLAVEOF", "127.0.0.1", MASTER) == b"OK Already connected to specified master"
    assert wire.call(replica, "ROLE")[3] == b"connected"


def test_a_read_only_replica_refuses_writes_but_runs_its_masters(wire, pair):
    master, replica = pair
    follow(wire, replica)
    error = wire.call(replica, "SET", "k", "v")
    assert str(error) == "READONLY You can't write against a read only replica."
    client = wire.client(replica)
    assert client.call("MULTI") == b"OK"
    assert str(client.call("INCR", "n")).startswith("READONLY")
    assert str(client.call("EXEC")).startswith("EXECABORT")
    wire.call(master, "INCR", "n")
    assert wire.call(replica, "GET", "n") == b"1"
    wire.call(replica, "CONFIG", "SET", "replica-read-only", "no")
    assert wire.call(replica, "SET", "k", "v") == b"OK"


def test_a_reader_blocked_on_a_replica_is_served_by_its_masters_stream(wire, pair):
    """As Redis's processCommand, after each command of the stream: an entry the next one
    deletes is still served (the runtest-cluster 16-transactions-on-replica scenario)."""
    master, replica = pair
    follow(wire, replica)
    reader = wire.client(replica)
    assert reader.send_raw(encode_request("XREAD", "BLOCK", 0, "STREAMS", "s", "$")) == []
    writer = wire.client(master)
    replies = writer.send_raw(encode_request("XADD", "s", "1-1", "f", "v") + encode_request("DEL", "s"))
    assert replies == [b"1-1", 1]
    assert reader._replies == [[[b"s", [[b"1-1", [b"f", b"v"]]]]]]
    assert wire.call(replica, "EXISTS", "s") == 0


def test_a_replica_hides_expired_keys_until_its_master_deletes_them(wire, pair):
    master, replica = pair
    follow(wire, replica)
    wire.call(master, "SET", "k", "v", "PX", 500)
    assert wire.call(replica, "GET", "k") == b"v"
    replica.now += 1000  # the replica's clock passed the TTL; the master's has not
    assert wire.call(replica, "GET", "k") is None
    assert wire.call(replica, "DBSIZE") == 1  # still there: only the master's DEL removes it
    wire.call(master, "APPEND", "k", "w")  # the master runs it on the live key; so does the replica
    replica.now -= 1000
    assert wire.call(replica, "GET", "k") == b"vw"
    master.now += 1000
    assert wire.call(master, "GET", "k") is None  # expired on the master: a DEL in the stream
    assert wire.call(replica, "DBSIZE") == 0


def test_a_dropped_link_resumes_with_a_partial_resync(wire, pair):
    master, replica = pair
    follow(wire, replica)
    wire.call(master, "SET", "a", "1")
    wire.down.add(f"127.0.0.1:{MASTER}")
    wire.cut(replica)  # it tries to reconnect at once, and then once a second
    assert info(wire, replica)["master_link_status"] == "down"
    wire.call(master, "SET", "b", "2")
    wire.down.clear()
    wire.tick(1000)
    assert wire.call(replica, "MGET", "a", "b") == [b"1", b"2"]
    stats = wire.call(master, "INFO", "stats").decode()
    assert "sync_full:1\r" in stats and "sync_partial_ok:1\r" in stats
    assert in_sync(wire, master, replica)


def test_a_replica_reconnects_once_its_master_is_back(wire, pair):
    master, replica = pair
    wire.down.add(f"127.0.0.1:{MASTER}")
    follow(wire, replica)
    assert wire.call(replica, "ROLE") == [b"slave", b"127.0.0.1", MASTER, b"connect", -1]
    assert info(wire, replica)["master_link_down_since_seconds"] == "-1"
    wire.down.clear()
    wire.tick(500)
    assert wire.call(replica, "ROLE")[3] == b"connect"  # tried again once a second, as Redis does
    wire.tick(500)
    assert wire.call(replica, "ROLE")[3] == b"connected"


def test_a_replica_that_serves_no_stale_data(wire, pair):
    master, replica = pair
    wire.call(master, "SET", "k", "v")
    wire.call(replica, "CONFIG", "SET", "replica-serve-stale-data", "no")
    wire.down.add(f"127.0.0.1:{MASTER}")
    follow(wire, replica)
    assert str(wire.call(replica, "GET", "k")) == \
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    assert str(wire.call(replica, "PING")).startswith("MASTERDOWN")  # as redis-server 7.0 answers it
    assert wire.call(replica, "ROLE")[0] == b"slave"  # a command flagged stale still runs
    wire.down.clear()
    wire.tick(1000)
    assert wire.call(replica, "GET", "k") == b"v"


def test_a_silent_master_is_dropped_after_repl_timeout(wire, pair):
    master, replica = pair
    wire.call(replica, "CONFIG", "SET", "repl-timeout", "5")
    follow(wire, replica)
    wire.down.add(f"127.0.0.1:{MASTER}")
    master.tick = lambda now, rss=None: None  # no more PINGs into the stream
    wire.tick(1000, 7)
    assert info(wire, replica)["master_link_status"] == "down"
    assert "MASTER timeout: no data nor PING received..." in wire.logs[id(replica)]


def test_the_master_pings_every_repl_ping_replica_period(wire, pair):
    master, replica = pair
    follow(wire, replica)
    offset = int(info(wire, master)["master_repl_offset"])
    wire.tick(1000, 10)
    assert int(info(wire, master)["master_repl_offset"]) == offset + len(b"*1\r\n$4\r\nPING\r\n")
    assert in_sync(wire, master, replica)


def test_promotion_keeps_the_old_history_for_the_siblings(wire, pair):
    master, replica = pair
    sibling = wire.add(OTHER, seed=3)
    follow(wire, replica)
    follow(wire, sibling)
    wire.call(master, "SET", "a", "1")
    before = info(wire, replica)
    assert wire.call(replica, "REPLICAOF", "NO", "ONE") == b"OK"
    after = info(wire, replica)
    assert after["role"] == "master"
    assert after["master_replid2"] == before["master_replid"] != after["master_replid"]
    assert after["second_repl_offset"] == str(int(before["master_repl_offset"]) + 1)
    assert wire.call(replica, "SET", "b", "2") == b"OK"
    assert wire.call(sibling, "REPLICAOF", "127.0.0.1", REPLICA) == b"OK"
    wire.tick()
    assert wire.call(sibling, "MGET", "a", "b") == [b"1", b"2"]
    assert "sync_partial_ok:1\r" in wire.call(replica, "INFO", "stats").decode()
    assert in_sync(wire, replica, sibling)


def test_a_chain_shares_one_offset(wire, pair):
    master, replica = pair
    leaf = wire.add(OTHER, seed=3)
    follow(wire, replica)
    follow(wire, leaf, REPLICA)
    wire.call(master, "SET", "k", "v")
    wire.tick(1000, 11)  # a PING of the master's passes down the chain too
    assert wire.call(leaf, "GET", "k") == b"v"
    assert in_sync(wire, master, leaf) and in_sync(wire, master, replica)


def test_getack_is_answered_with_the_offset(wire, pair):
    master, replica = pair
    follow(wire, replica)
    wire.call(master, "SET", "k", "v")
    assert wire.call(master, "WAIT", 1, 0) == 1
    wire.tick(1000)  # the ACK of the cron counts the GETACK too (the one WAIT got did not)
    assert wire.call(master, "ROLE")[2][0][2] == info(wire, master)["master_repl_offset"].encode()


def test_wait_times_out_with_the_replicas_it_has(wire, pair):
    master, replica = pair
    follow(wire, replica)
    client = wire.client(master)
    client.call("SET", "k", "v")
    assert client.send_raw(b"WAIT 2 300\r\n") == []
    wire.tick(200, 2)
    assert client._replies == [1]
    assert str(wire.call(replica, "WAIT", 1, 0)).startswith("ERR WAIT cannot be used with replica instances.")


def test_psync_and_replconf_on_a_master(wire):
    master = wire.add(MASTER, seed=1)
    client = wire.client(master)
    assert client.call("REPLCONF", "listening-port", "7000") == b"OK"
    assert str(client.call("REPLCONF", "nonsense", "1")) == "ERR Unrecognized REPLCONF option: nonsense"
    assert str(client.call("REPLCONF", "capa")) == "ERR syntax error"
    assert str(client.call("PSYNC", "a", "b")) == "ERR value is not an integer or out of range"
    replid = info(wire, master)["master_replid"]
    replies = client.send_raw(b"PSYNC ? -1\r\n")
    assert replies[0].startswith(b"FULLRESYNC ")
    assert info(wire, master)["master_replid"] != replid  # the first replica starts a new history
    assert info(wire, master)["connected_slaves"] == "1"


def test_a_psync_with_a_wrong_offset_is_refused_and_logged(wire):
    master = wire.add(MASTER, seed=1)
    client = wire.client(master)
    assert str(client.call("PSYNC", "replicationid", "offset_str")) == "ERR value is not an integer or out of range"
    assert "Replica 127.0.0.1:<unknown-replica-port> asks for synchronization but with a wrong offset" \
        in wire.logs[id(master)]
    assert client.call("PING") == b"PONG"


@pytest.mark.parametrize("sync, command, reply_name", [
    (("SYNC",), ("PING",), "ping"),
    (("SYNC",), ("XINFO", "HELP"), "xinfo|help"),
    (("PSYNC", "replicationid", -1), ("SLOWLOG", "GET"), "slowlog|get"),
    (("PSYNC", "replicationid", -1), ("NOSUCHCOMMAND",), "<unknown>"),
])
def test_a_replica_connection_that_makes_the_master_reply_is_closed(wire, sync, command, reply_name):
    """As Redis 7.0.15's integration/replication.tcl: a master never answers its replicas, so a
    command that would be answered ends the connection, logged."""
    master = wire.add(MASTER, seed=1)
    rogue = wire.client(master)
    rogue.send_raw(encode_request(*sync))
    assert not rogue.closed
    assert rogue.send_raw(encode_request(*command)) == []
    assert rogue.closed
    assert any(line.startswith(f"Replica generated a reply to command '{reply_name}', disconnecting it: id=")
               for line in wire.logs[id(master)])
    assert wire.call(master, "PING") == b"PONG"
    assert info(wire, master)["connected_slaves"] == "0"


def test_a_replica_connection_may_not_touch_the_keyspace(wire):
    master = wire.add(MASTER, seed=1)
    wire.call(master, "SET", "foo", "bar")
    rogue = wire.client(master)
    assert rogue.send_raw(encode_request("PSYNC", "?", -1))[0].startswith(b"FULLRESYNC ")
    rogue.send_raw(encode_request("GET", "foo"))
    assert rogue.closed
    logs = wire.logs[id(master)]
    assert "Full resync requested by replica 127.0.0.1:<unknown-replica-port>" in logs
    assert "== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the " \
           "keyspace' after processing the command 'get'" in logs


def test_min_replicas_to_write(wire, pair):
    master, replica = pair
    wire.call(master, "CONFIG", "SET", "min-replicas-to-write", "1")
    assert str(wire.call(master, "SET", "k", "v")) == "NOREPLICAS Not enough good replicas to write."
    assert info(wire, master)["min_slaves_good_slaves"] == "0"
    assert wire.call(master, "GET", "k") is None  # reads go on
    follow(wire, replica)
    assert wire.call(master, "SET", "k", "v") == b"OK"
    assert info(wire, master)["min_slaves_good_slaves"] == "1"


def test_an_announced_address(wire, pair):
    master, replica = pair
    wire.call(replica, "CONFIG", "SET", "replica-announce-ip", "10.0.0.7")
    wire.call(replica, "CONFIG", "SET", "replica-announce-port", "7777")
    follow(wire, replica)
    assert wire.call(master, "ROLE")[2] == [[b"10.0.0.7", b"7777", b"0"]]
    assert info(wire, master)["slave0"].startswith("ip=10.0.0.7,port=7777,state=online,")


def test_a_writable_replica_expires_the_keys_it_wrote(wire, pair):
    master, replica = pair
    follow(wire, replica)
    wire.call(replica, "CONFIG", "SET", "replica-read-only", "no")
    wire.call(replica, "SET", "mine", "v", "PX", 100)
    wire.call(master, "SET", "masters", "v", "PX", 150)
    assert "slave_expires_tracked_keys:1\r" in wire.call(replica, "INFO", "stats").decode()
    replica.now += 200  # past both TTLs on the replica's clock, not on the master's
    wire.tick(10)
    stats = wire.call(replica, "INFO", "stats").decode()
    assert "expired_keys:1\r" in stats and "slave_expires_tracked_keys:0\r" in stats
    assert wire.call(replica, "DBSIZE") == 1  # the master's key waits for the master's DEL


def test_a_read_only_replica_keeps_the_expired_keys_its_log_replayed(wire, pair):
    """Redis remembers a key's TTL for the replica's cron only on a writable replica: a read-only one
    restarted from its log keeps the keys whose TTL passed meanwhile until its master deletes them."""
    master, replica = pair
    follow(wire, replica)
    result = aof.load_commands(replica, encode_request("SET", "logged", "v", "PXAT", replica.now + 100))
    assert result.status == aof.OK
    assert "slave_expires_tracked_keys:0\r" in wire.call(replica, "INFO", "stats").decode()
    replica.now += 200
    wire.tick(10)
    assert wire.call(replica, "DBSIZE") == 1


def test_a_partial_resync_goes_on_in_the_selected_database(wire, pair):
    master, replica = pair
    follow(wire, replica)
    writer = wire.client(master)
    writer.call("SELECT", 9)
    writer.call("SET", "a", "1")
    wire.cut(replica)  # reconnects at once: +CONTINUE, with no SELECT in what follows
    writer.call("SET", "b", "2")
    reader = wire.client(replica)
    reader.call("SELECT", 9)
    assert reader.call("MGET", "a", "b") == [b"1", b"2"]
    assert "sync_partial_ok:1\r" in wire.call(master, "INFO", "stats").decode()


def test_a_transaction_cut_by_a_dropped_link_is_run_once_whole(wire, pair):
    master, replica = pair
    follow(wire, replica)
    writer = wire.client(master)
    before = info(wire, replica)["slave_repl_offset"]
    stream = []
    receive = replica.receive
    replica.receive = lambda conn, data, now: stream.append((conn, data))  # hold what the master sends
    writer.call("MULTI")
    writer.call("INCR", "n")
    writer.call("INCR", "n")
    writer.call("EXEC")
    replica.receive = receive
    (conn, data), = stream
    cut = data.index(b"EXEC") - 10  # the MULTI and both INCRs arrive, not the EXEC
    replica.receive(conn, data[:cut], replica.now)
    counted = int(before) + data.index(b"*1\r\n$5\r\nMULTI")  # the SELECT before the MULTI, no more
    assert info(wire, replica)["slave_repl_offset"] == str(counted)  # queued, not counted before the EXEC
    wire.cut(replica)  # the master sends the transaction again from its MULTI
    assert wire.call(replica, "GET", "n") == b"2"
    assert in_sync(wire, master, replica)


def test_an_error_the_stream_causes_is_logged_and_the_stream_goes_on(wire, pair):
    master, replica = pair
    follow(wire, replica)
    assert wire.call(master, "DEBUG", "REPLICATE", "fake-command-1") == b"OK"
    wire.call(replica, "CONFIG", "SET", "replica-read-only", "no")
    wire.call(replica, "SET", "number", "foo")
    wire.call(master, "INCRBY", "number", 1)
    wire.call(replica, "LPUSH", "list", "x")
    wire.call(master, "INCRBY", "list", 1)
    critical = [line for line in wire.logs[id(replica)] if line.startswith("== CRITICAL ==")]
    assert critical == [  # redis-server 7.0's words: an ERR without its code, another with its dash
        "== CRITICAL == This replica is sending an error to its master: 'unknown command 'fake-command-1', "
        "with args beginning with: ' after processing the command '<unknown>'",
        "== CRITICAL == This replica is sending an error to its master: 'value is not an integer or out of "
        "range' after processing the command 'incrby'",
        "== CRITICAL == This replica is sending an error to its master: '-WRONGTYPE Operation against a key "
        "holding the wrong kind of value' after processing the command 'incrby'",
    ]
    assert in_sync(wire, master, replica)


def test_a_replica_restarted_from_its_snapshot_continues_with_a_partial_resync(wire, pair):
    master, replica = pair
    follow(wire, replica)
    writer = wire.client(master)
    writer.call("SELECT", 5)
    writer.call("SET", "a", "1")
    image = rdb.write(replica, replica.replication.save_info())  # what SAVE or SHUTDOWN writes
    assert rdb.parse(image).aux[b"repl-stream-db"] == b"5"
    del wire.nodes[f"127.0.0.1:{REPLICA}"]
    wire.cut(replica)
    writer.call("SET", "b", "2")
    restarted = wire.add(REPLICA + 10, seed=4, replicaof=f"127.0.0.1 {MASTER}")
    restarted.snapshots.loaded(rdb.load(restarted, image))  # as the runtime loads dump.rdb at start
    wire.tick()
    assert "sync_partial_ok:1\r" in wire.call(master, "INFO", "stats").decode()
    reader = wire.client(restarted)
    reader.call("SELECT", 5)
    assert reader.call("MGET", "a", "b") == [b"1", b"2"]
    assert in_sync(wire, master, restarted)


def test_a_master_restarted_from_its_snapshot_lets_its_replica_continue(wire, pair):
    """Redis 7.0's master restart: a new id, the saved one second (valid to the saved offset),
    the backlog starting there with the deletions of keys that expired meanwhile."""
    master, replica = pair
    follow(wire, replica)
    wire.call(master, "SET", "lives", "1")
    wire.call(master, "SET", "dies", "1", "PX", "10")
    saved = info(wire, master)
    image = rdb.write(master, master.replication.save_info())  # what SHUTDOWN writes
    del wire.nodes[f"127.0.0.1:{MASTER}"]
    wire.cut(master)  # the replica's link drops; it reconnects to the restarted master
    restarted = wire.add(MASTER, seed=7, now=master.now + 50)
    restarted.snapshots.loaded(rdb.load(restarted, image))  # as the runtime loads dump.rdb at start
    fields = info(wire, restarted)
    offset = int(saved["master_repl_offset"])
    deletion = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$4\r\ndies\r\n"
    assert fields["master_replid"] != saved["master_replid"] and fields["master_replid2"] == saved["master_replid"]
    assert (int(fields["second_repl_offset"]), int(fields["master_repl_offset"])) == (offset + 1, offset + len(deletion))
    assert (fields["repl_backlog_first_byte_offset"], fields["repl_backlog_histlen"]) == (str(offset + 1), str(len(deletion)))
    wire.tick(times=30)  # the replica reconnects
    assert "sync_partial_ok:1\r" in wire.call(restarted, "INFO", "stats").decode()
    assert wire.call(replica, "GET", "dies") is None and wire.call(replica, "GET", "lives") == b"1"
    assert in_sync(wire, restarted, replica)


def test_a_paused_replica_reads_its_masters_stream_but_runs_it_only_after_the_pause(wire, pair):
    master, replica = pair
    follow(wire, replica)
    wire.call(master, "SET", "foo", "bar")
    ran = info(wire, replica)["slave_repl_offset"]
    wire.call(replica, "CLIENT", "PAUSE", "100000", "WRITE")
    wire.call(master, "SET", "foo2", "bar2")
    fields = info(wire, replica)
    assert fields["slave_read_repl_offset"] == info(wire, master)["master_repl_offset"]
    assert fields["slave_repl_offset"] == ran and wire.call(replica, "GET", "foo2") is None
    wire.call(replica, "CLIENT", "UNPAUSE")
    assert wire.call(replica, "GET", "foo2") == b"bar2"
    assert info(wire, replica)["slave_repl_offset"] == info(wire, master)["master_repl_offset"]


def test_a_replica_configured_at_start_asks_for_a_full_sync(wire, pair):
    """No snapshot told it of a master's stream: PSYNC ? -1, which the master does not count as a
    failed partial resync (redis-server's "no cached master")."""
    master, _ = pair
    sent = []
    receive = master.receive
    master.receive = lambda conn, data, now: (sent.append(data), receive(conn, data, now))
    replica = wire.add(REPLICA + 10, seed=4, replicaof=f"127.0.0.1 {MASTER}")
    wire.tick()
    assert [b"PSYNC", b"?", b"-1"] in requests_in(sent)
    stats = wire.call(master, "INFO", "stats").decode()
    assert "sync_full:1\r" in stats and "sync_partial_err:0\r" in stats
    assert wire.call(replica, "ROLE")[3] == b"connected"


def test_keepalive_newlines_before_the_psync_reply_are_skipped(wire, pair):
    """A Redis 7.0 master waiting out repl-diskless-sync-delay sends a newline a second before +FULLRESYNC."""
    master, replica = pair
    receive = replica.receive

    def newline_first(conn, data, now):
        if data.startswith(b"+FULLRESYNC"):
            receive(conn, b"\n", now)
            receive(conn, b"\n", now)
        receive(conn, data, now)

    replica.receive = newline_first
    wire.call(master, "SET", "k", "v")
    follow(wire, replica)
    assert wire.call(replica, "ROLE")[3] == b"connected"
    assert wire.call(replica, "GET", "k") == b"v"


def requests_in(chunks: list[bytes]) -> list:
    reader = hiredis.Reader()
    for data in chunks:
        reader.feed(data)
    out = []
    while (request := reader.gets()) is not False:
        out.append(request)
    return out


def test_a_clock_stepped_back_stalls_no_replication_timer(wire, pair):
    """Retries, ACKs, PINGs and timeouts run on node.steady(): a day's step back on either side
    neither delays a reconnect by a day nor keeps a dead link for one (found by kvsim's clock faults)."""
    master, replica = pair
    wire.down.add(f"127.0.0.1:{MASTER}")
    follow(wire, replica)
    replica.now -= 86_400_000
    wire.down.clear()
    wire.tick(1000, 2)  # the first tick sees the step (no time passed), the next a second
    assert wire.call(replica, "ROLE")[3] == b"connected"
    acked = master.replication.links[master.replication.replicas[0]].ack_offset
    wire.call(master, "SET", "k", "v")
    replica.now -= 86_400_000
    wire.tick(1000, 3)
    assert master.replication.links[master.replication.replicas[0]].ack_offset > acked
    wire.call(replica, "CONFIG", "SET", "repl-timeout", "3")
    master.tick = lambda now, rss=None: None  # silent from now on
    replica.now -= 86_400_000
    wire.tick(1000, 6)
    assert "MASTER timeout: no data nor PING received..." in wire.logs[id(replica)]


def test_publish_reaches_the_replicas_subscribers_but_not_the_log(wire):
    master = wire.add(MASTER, seed=1, appendonly="yes")
    replica = wire.add(REPLICA, seed=2)
    follow(wire, replica)
    listener = wire.client(replica)
    assert listener.call("SUBSCRIBE", "news")[0] == b"subscribe"
    publisher = wire.client(master)
    publisher.call("PUBLISH", "news", "one")
    publisher.call("MULTI")
    publisher.call("PUBLISH", "news", "two")
    publisher.call("EXEC")
    assert listener._replies == [[b"message", b"news", b"one"], [b"message", b"news", b"two"]]
    assert not any(b"PUBLISH" in record.upper() for record in master._log_records)


LOADING = "LOADING Redis is loading the dataset in memory"


def loading_fields(wire: Wire, node) -> tuple[str, str]:
    text = wire.call(node, "INFO", "persistence").decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return fields["loading"], fields["async_loading"]


def slow_diskless_master(wire: Wire, master) -> None:
    """As Redis's replication.tcl: 10 keys written at 100 ms a key (rdb-key-save-delay) make a
    one-second transfer, long enough to see the replica mid-load."""
    wire.call(master, "DEBUG", "POPULATE", 10, "master", 10)
    wire.call(master, "CONFIG", "SET", "repl-diskless-sync", "yes")
    wire.call(master, "CONFIG", "SET", "rdb-key-save-delay", 100_000)


def test_a_diskless_load_refuses_clients_and_a_cut_transfer_keeps_the_old_dataset(wire, pair):
    master, replica = pair
    slow_diskless_master(wire, master)
    wire.call(replica, "CONFIG", "SET", "repl-diskless-load", "swapdb")
    wire.call(replica, "SET", "mine", "old")
    follow(wire, replica)
    wire.tick(100)
    assert loading_fields(wire, replica) == ("1", "0")
    assert str(wire.call(replica, "GET", "mine")) == LOADING
    assert wire.call(master, "CLIENT", "KILL", "TYPE", "replica") == 1
    assert loading_fields(wire, replica) == ("0", "0")
    assert wire.call(replica, "GET", "mine") == b"old"
    log = wire.logs[id(replica)]
    assert "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser" in log
    assert any(line.startswith("Internal error in RDB reading offset ") for line in log)  # as Redis logs the cut
    assert "Failed trying to load the MASTER synchronization DB from socket, check server logs." in log
    wire.tick(1000)  # it reconnects, and this transfer is let finish
    wire.tick(100, times=12)
    assert loading_fields(wire, replica) == ("0", "0")
    assert wire.call(replica, "GET", "mine") is None
    assert wire.call(replica, "DBSIZE") == 10


def test_a_diskless_load_reads_the_keys_as_the_payload_arrives(wire, pair):
    """As Redis's replica parses from the socket: the payload is not held whole first."""
    master, replica = pair
    slow_diskless_master(wire, master)
    wire.call(replica, "CONFIG", "SET", "repl-diskless-load", "on-empty-db")
    follow(wire, replica)
    link = replica.master_link
    seen = []
    for _ in range(8):
        wire.tick(100)
        fields = dict(line.split(":", 1) for line in wire.call(replica, "INFO", "persistence").decode().splitlines()
                      if ":" in line)
        seen.append((link.payload_keys_read, int(fields["loading_loaded_bytes"])))
        if seen[-1][1] > 100:  # past the AUX fields: the master's used-mem, as Redis shows it
            assert int(fields["loading_rdb_used_mem"]) > 0
        assert len(link.buffer) < 100  # read into keys, not gathered
    keys, loaded = zip(*seen)
    assert any(0 < count < 10 for count in keys) and list(keys) == sorted(keys)
    assert loaded[0] < loaded[-1] and list(loaded) == sorted(loaded)
    wire.tick(100, times=4)
    assert wire.call(replica, "DBSIZE") == 10 and link.payload_keys_read == 10
    assert wire.call(replica, "DEBUG", "DIGEST") == wire.call(master, "DEBUG", "DIGEST")


def test_a_sized_payload_that_ends_before_its_rdb_does_fails_the_load(wire, pair):
    """A disk-based master's $<size> payload, loaded as it comes: all its bytes in and the RDB
    not ended is Redis's "Unexpected EOF", not a wait for more."""
    master, replica = pair
    wire.call(master, "DEBUG", "POPULATE", 10, "master", 10)
    wire.call(master, "CONFIG", "SET", "repl-diskless-sync", "no")
    wire.call(replica, "CONFIG", "SET", "repl-diskless-load", "on-empty-db")
    receive = replica.receive
    left = [0]  # payload bytes still to pass on; the last four are dropped

    def cut_short(conn, data, now):
        if left[0] == 0 and data[:1] == b"$" and data[1:2].isdigit():
            header, _, data = data.partition(b"\r\n")
            left[0] = int(header[1:])
            receive(conn, b"$%d\r\n" % (left[0] - 4), now)
        if left[0] > 0:
            passed, left[0] = data[:max(left[0] - 4, 0)], left[0] - len(data)
            data = passed + data[len(passed) + 4:] if left[0] <= 0 else passed
        if data:
            receive(conn, data, now)

    replica.receive = cut_short
    follow(wire, replica)
    wire.tick(100, times=3)
    log = wire.logs[id(replica)]
    assert any("Failed trying to load the MASTER synchronization DB from socket: Unexpected EOF" in line
               for line in log)
    assert loading_fields(wire, replica) == ("0", "0")


def test_a_payload_is_read_whole_before_loading_without_diskless_load(wire, pair):
    master, replica = pair
    slow_diskless_master(wire, master)
    wire.call(replica, "SET", "mine", "old")
    follow(wire, replica)
    wire.tick(100)
    assert loading_fields(wire, replica) == ("0", "0")
    assert wire.call(replica, "GET", "mine") == b"old"  # Redis reads it to a file first


def test_a_full_sync_of_the_same_history_loads_while_the_old_dataset_is_served(wire, pair):
    """Redis 7.0's async loading (swapdb, and the master's replication id is the replica's own)."""
    master, replica = pair
    wire.call(replica, "CONFIG", "SET", "repl-diskless-load", "swapdb")
    wire.call(replica, "CONFIG", "SET", "replica-read-only", "no")
    follow(wire, replica)
    wire.call(replica, "SET", "mine", "old")
    slow_diskless_master(wire, master)
    wire.call(master, "CONFIG", "SET", "repl-backlog-size", 16384)
    wire.down.add(f"127.0.0.1:{MASTER}")
    wire.cut(replica)
    wire.call(master, "SET", "big", "x" * 40000)  # past the backlog: the replica cannot continue
    wire.down.clear()
    wire.tick(1000)
    wire.tick(100)
    assert loading_fields(wire, replica) == ("0", "1")
    assert wire.call(replica, "GET", "mine") == b"old"
    assert str(wire.call(replica, "REPLICAOF", "NO", "ONE")) == LOADING
    assert str(wire.call(replica, "CONFIG", "SET", "appendonly", "no")) == LOADING
    wire.tick(100, times=12)
    assert loading_fields(wire, replica) == ("0", "0")
    assert wire.call(replica, "GET", "mine") is None
    assert wire.call(replica, "DBSIZE") == 11


def disk_sync_node(**options: str):
    """A master doing disk-based syncs, whose effects a test carries out itself."""
    node = make_node(repl_diskless_sync="no", **options)
    for conn in (7, 8, 9):
        node.open(conn, node.now, addr=f"127.0.0.1:5000{conn}", laddr="127.0.0.1:6379")
    node.take_effects()
    return node


def effects_of(node, kind) -> list:
    return [effect for effect in node.take_effects() if type(effect) is kind]


def test_a_disk_based_sync_saves_a_snapshot_then_sends_the_file_as_redis():
    """Redis's BGSAVE for replication: the file is saved (it counts as the last save), then sent."""
    node = disk_sync_node(save="")
    node.receive(9, encode_request("SET", "k", "v"), node.now)
    node.take_effects()
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    effects = node.take_effects()
    (save,) = [effect for effect in effects if type(effect) is WriteFiles]
    assert save.background and save.path == "dump.rdb" and not any(type(e) is SendImage for e in effects)
    assert any(type(e) is Send and e.conn == 7 and e.data.startswith(b"+FULLRESYNC ") for e in effects)
    assert "rdb_bgsave_in_progress:1" in node_info(node)
    node.receive(8, encode_request("PSYNC", "?", "-1"), node.now)  # shares the BGSAVE in progress
    assert not effects_of(node, WriteFiles)
    node.job_done(save.job, True, node.now, "", len(save.data))
    (read,) = effects_of(node, ReadFiles)
    assert read.paths == ("dump.rdb",)
    node.files_read(read.job, {"dump.rdb": save.data}, node.now)
    (image,) = effects_of(node, SendImage)
    assert [conn for conn, _ in image.targets] == [7, 8] and not image.diskless
    assert "state=send_bulk" in info_of(node)["slave0"]
    assert image.payload == b"$%d\r\n%s" % (len(save.data), save.data)
    fields = node_info(node)
    assert "rdb_bgsave_in_progress:0" in fields and "rdb_changes_since_last_save:0" in fields
    node.job_done(image.job, True, node.now)
    node.take_effects()
    assert info_of(node)["connected_slaves"] == "2" and "state=online" in info_of(node)["slave1"]


def test_a_sync_asked_during_another_bgsave_waits_for_its_own():
    node = disk_sync_node(save="")
    node.receive(9, encode_request("BGSAVE"), node.now)
    (user_save,) = effects_of(node, WriteFiles)
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    effects = node.take_effects()
    assert LogMessage("notice", "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC") \
        in effects and not any(type(e) is Send and e.conn == 7 for e in effects)
    assert "state=wait_bgsave" in info_of(node)["slave0"]
    node.job_done(user_save.job, True, node.now)
    node.now += 100
    node.tick(node.now)
    (sync_save,) = effects_of(node, WriteFiles)
    assert sync_save.job != user_save.job


@pytest.mark.parametrize("save, stopped", [("", True), ("900 1", False)])
def test_a_sync_bgsave_no_replica_waits_for_is_stopped_unless_saves_are_configured(save, stopped):
    """replication.tcl's "Kill rdb child process if its dumping RDB is not useful"."""
    node = disk_sync_node(save=save)
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    (sync_save,) = effects_of(node, WriteFiles)
    node.closed(7, node.now)
    assert (CancelJob(sync_save.job) in node.take_effects()) is stopped
    assert ("rdb_bgsave_in_progress:1" in node_info(node)) is not stopped
    if not stopped:
        node.job_done(sync_save.job, True, node.now)
        assert not effects_of(node, ReadFiles)  # saved, and sent to no one


def test_flushall_stops_the_bgsave_of_a_sync_and_drops_its_replica():
    node = disk_sync_node(save="")
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    (sync_save,) = effects_of(node, WriteFiles)
    node.receive(9, encode_request("FLUSHALL"), node.now)
    effects = node.take_effects()
    assert CancelJob(sync_save.job) in effects and Close(7) in effects  # the replica syncs again
    assert "rdb_bgsave_in_progress:0" in node_info(node)


def diskless_sync_started():
    """A master sending a replica (conn 7, PSYNC with capa eof) its diskless payload: the node, the SendImage."""
    node = make_node(repl_diskless_sync="yes", repl_diskless_sync_delay="0")
    node.open(7, node.now, addr="127.0.0.1:50007", laddr="127.0.0.1:6379")
    node.receive(7, encode_request("REPLCONF", "capa", "eof"), node.now)
    node.take_effects()
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    (image,) = effects_of(node, SendImage)
    return node, image


def test_a_diskless_payload_is_made_from_the_image_the_runtime_takes():
    """As Redis's child serializes: the core hands the runtime a function of the point-in-time image
    (net calls it in the forked child) and changes nothing until told the image is taken."""
    node = Node(Config({"repl-diskless-sync": "yes", "repl-diskless-sync-delay": "0"}), rng=random.Random(0), now=0)
    node.open(5, node.now)  # a plain node: CoreClient's takes images at once
    node.receive(5, encode_request("SET", "k", "before"), node.now)
    node.open(7, node.now, addr="127.0.0.1:50007", laddr="127.0.0.1:6379")
    node.receive(7, encode_request("REPLCONF", "capa", "eof"), node.now)
    node.take_effects()
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    (image,) = [effect for effect in node.take_effects() if type(effect) is SendImage]
    assert callable(image.payload) and node.images_pending == 1
    node.receive(5, encode_request("SET", "k", "after"), node.now)  # waits for the image
    payload = image.payload()
    node.image_taken(node.now)
    assert node.images_pending == 0 and node.dbs[0].data[b"k"] == b"after"
    assert payload.startswith(b"$EOF:") and b"before" in payload and b"after" not in payload


def test_a_diskless_transfer_is_stopped_when_no_replica_wants_it():
    node, image = diskless_sync_started()
    ((conn, first),) = image.targets
    assert conn == 7 and first.startswith(b"+FULLRESYNC ") and image.payload.startswith(b"$EOF:")
    assert node.replication.transfers and "rdb_bgsave_in_progress:1" in node_info(node)
    node.closed(7, node.now)
    assert CancelJob(image.job) in node.take_effects()
    assert not node.replication.transfers and "rdb_bgsave_in_progress:0" in node_info(node)


def test_a_diskless_replica_is_online_in_info_once_its_payload_is_sent_though_streamed_to_after_its_ack():
    """As Redis's updateSlavesWaitingBgsave puts it online at the transfer's end (replicaPutOnline)."""
    node, image = diskless_sync_started()
    assert "state=wait_bgsave" in info_of(node)["slave0"]
    node.job_done(image.job, True, node.now)
    node.take_effects()
    assert "state=online,offset=0" in info_of(node)["slave0"] and node.replication.unacked
    node.receive(7, encode_request("REPLCONF", "ACK", "0"), node.now)
    assert not node.replication.unacked and node.replication.replicas


def test_flushall_kills_the_child_sending_an_image_of_what_it_flushed():
    node, image = diskless_sync_started()
    node.open(8, node.now, addr="127.0.0.1:50008", laddr="127.0.0.1:6379")
    node.receive(8, encode_request("FLUSHALL"), node.now)
    effects = node.take_effects()
    assert CancelJob(image.job) in effects and Close(7) in effects  # the replica syncs again
    assert "rdb_bgsave_in_progress:0" in node_info(node)


def info_of(node) -> dict[str, str]:
    text = CoreClient(node).call("INFO", "replication").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def node_info(node) -> str:
    client = CoreClient(node)
    return client.call("INFO", "persistence").decode()


def test_a_diskless_replica_that_takes_nothing_for_repl_timeout_is_dropped():
    """As Redis's replicationCron: a stuck replica would hold up the child sending to every one."""
    node = make_node(repl_diskless_sync="yes", repl_diskless_sync_delay="1", repl_timeout="5")
    for conn in (7, 8):
        node.open(conn, node.now, addr=f"127.0.0.1:5000{conn}", laddr="127.0.0.1:6379")
        node.receive(conn, encode_request("REPLCONF", "listening-port", 6000 + conn), node.now)
        node.receive(conn, encode_request("REPLCONF", "capa", "eof"), node.now)
        node.take_effects()  # the replies sent: a PSYNC is refused while output is pending
        node.receive(conn, encode_request("PSYNC", "?", "-1"), node.now)
    node.now += 1000
    node.tick(node.now)
    (image,) = [effect for effect in node.take_effects() if type(effect) is SendImage]  # one for both
    for _ in range(6):  # replica 7 takes bytes every second, replica 8 none
        node.now += 1000
        node.sync_payload_taken(7, node.now)
        node.tick(node.now)
    effects = node.take_effects()
    texts = [effect.text for effect in effects if type(effect) is LogMessage]
    assert "Disconnecting timedout replica (full sync): 127.0.0.1:6008" in texts
    assert Close(8, discard=True) in effects and not any(type(effect) is CancelJob for effect in effects)
    node.now += 6000
    node.tick(node.now)
    effects = node.take_effects()
    assert "Diskless rdb transfer, last replica dropped, killing fork child." in [
        effect.text for effect in effects if type(effect) is LogMessage]
    assert CancelJob(image.job) in effects


def test_flushall_lets_a_saved_file_being_sent_go_on_as_redis_s_parent_sends_it():
    """list.tcl's attach_to_replication_stream reads its SYNC's whole payload, then FLUSHALLs: the
    sending child may not be reaped yet, but the replica must stay and get the FLUSHALL."""
    node = disk_sync_node(save="")
    node.receive(7, encode_request("SYNC"), node.now)
    (sync_save,) = effects_of(node, WriteFiles)
    node.job_done(sync_save.job, True, node.now)
    (read,) = effects_of(node, ReadFiles)
    node.files_read(read.job, {"dump.rdb": sync_save.data}, node.now)
    (image,) = effects_of(node, SendImage)
    node.receive(9, encode_request("FLUSHALL"), node.now)
    assert not any(type(effect) in (CancelJob, Close) for effect in node.take_effects())
    node.job_done(image.job, True, node.now)
    sent = b"".join(effect.data for effect in node.take_effects() if type(effect) is Send and effect.conn == 7)
    assert sent.endswith(b"*1\r\n$8\r\nFLUSHALL\r\n"), sent


def test_a_saved_file_whose_replicas_all_left_while_it_was_read_is_sent_to_no_one():
    node = disk_sync_node(save="")
    node.receive(7, encode_request("PSYNC", "?", "-1"), node.now)
    (sync_save,) = effects_of(node, WriteFiles)
    node.job_done(sync_save.job, True, node.now)
    (read,) = effects_of(node, ReadFiles)
    node.closed(7, node.now)
    node.files_read(read.job, {"dump.rdb": sync_save.data}, node.now)
    assert not effects_of(node, SendImage) and not node.replication.transfers


def test_a_killed_master_link_is_down_from_the_kill(wire, pair):
    """CLIENT KILL of the master's client ends the link at once, as Redis frees its master: a
    DEBUG SLEEP in the same transaction counts as time without a master (the replica's data
    ages, cluster-replica-validity-factor), not time before the kill."""
    master, replica = pair
    follow(wire, replica)
    assert info(wire, replica)["master_link_status"] == "up"
    own = CoreClient(replica, 999)  # the wire does not carry this client's effects: no close is reported
    assert own.call("CLIENT", "KILL", "TYPE", "master") == 1
    assert replica.master_link.client is None
    assert replica.master_link.down_since_ms == replica.steady()
    assert b"master_link_status:down" in own.call("INFO", "replication")
