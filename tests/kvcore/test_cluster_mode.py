"""Cluster mode, a node of one: hash slots, their assignment, and the errors for keys it may not serve.

Replies and error texts were taken from redis-server 7.0.15 with cluster-enabled
(test_cluster.py compares a server without it with redis-server).
"""

from __future__ import annotations

import hiredis

from kvcore import cluster
from kvcore.effects import WriteFiles
from tests.kvcore.harness import CoreClient, encode_request, make_node

ALL = ("CLUSTER", "ADDSLOTSRANGE", 0, 16383)


def cluster_node(**options: str) -> CoreClient:
    return CoreClient(make_node(cluster_enabled="yes", **options))


def past_writable_delay(c: CoreClient) -> None:
    """Let the writable delay pass: a master's state stays fail that long after its first update."""
    wait(c, cluster.WRITABLE_DELAY_MS)


def wait(c: CoreClient, ms: int) -> None:
    """Let ms pass in the server cron's steps (clusterCron runs every 100 ms)."""
    for _ in range(ms // 100):
        c.node.now += 100
        c.node.tick(c.node.now)


def serving_every_slot(c: CoreClient) -> None:
    assert c.call(*ALL) == b"OK"
    past_writable_delay(c)


def text(reply) -> str:
    return str(reply) if isinstance(reply, hiredis.ReplyError) else reply.decode()


def test_key_slots_are_crc16_of_the_key_or_its_hash_tag():
    slots = {b"foo": 12182, b"{user1}.a": 8106, b"{x}": 16287, b"a": 15495, b"{}a": 10875, b"a{b}c{d}": 3300}
    assert {key: cluster.key_slot(key) for key in slots} == slots
    assert cluster.key_slot(b"{user1}.b") == cluster.key_slot(b"user1")
    assert cluster.crc16(b"123456789") == 0x31C3  # CRC-16/XMODEM's check value


def test_the_cluster_is_down_until_every_slot_is_served():
    c = cluster_node()
    assert c.call("CLUSTER", "INFO").startswith(b"cluster_state:fail\r\ncluster_slots_assigned:0\r\n")
    assert text(c.call("SET", "foo", "bar")) == "CLUSTERDOWN Hash slot not served"
    assert c.call("PING") == b"PONG"  # no keys, no cluster check
    assert c.call("CLUSTER", "ADDSLOTSRANGE", 0, 16382) == b"OK"
    assert text(c.call("SET", "foo", "bar")) == "CLUSTERDOWN The cluster is down"
    assert c.call("CLUSTER", "ADDSLOTS", 16383) == b"OK"
    assert c.call("CLUSTER", "INFO").startswith(b"cluster_state:fail\r\n")  # until the writable delay passed
    past_writable_delay(c)
    info = c.call("CLUSTER", "INFO").decode()
    assert "cluster_state:ok\r\n" in info and "cluster_slots_assigned:16384\r\n" in info
    assert "cluster_size:1\r\n" in info and "cluster_known_nodes:1\r\n" in info
    assert c.call("SET", "foo", "bar") == b"OK"


def test_a_master_given_its_slots_late_waits_out_the_rejoin_delay():
    """Slots assigned within the writable delay: ok once it passes (redis-server: about 2 s after
    start). Assigned later: the node saw no majority until then, so ok only the rejoin delay after
    (5 s at the default node timeout)."""
    early, late = cluster_node(), cluster_node()
    assert early.call(*ALL) == b"OK"
    wait(early, cluster.WRITABLE_DELAY_MS)
    assert early.node.cluster.ok
    wait(late, 3000)
    assert late.call(*ALL) == b"OK"
    wait(late, cluster.MAX_REJOIN_DELAY_MS - 100)
    assert not late.node.cluster.ok
    wait(late, 100)
    assert late.node.cluster.ok


def test_keys_of_one_request_must_share_a_slot():
    c = cluster_node()
    serving_every_slot(c)
    assert text(c.call("MSET", "a", 1, "b", 2)) == "CROSSSLOT Keys in request don't hash to the same slot"
    assert c.call("MSET", "{a}x", 1, "{a}y", 2, "a", 3) == b"OK"
    assert text(c.call("SELECT", 1)) == "ERR SELECT is not allowed in cluster mode"
    assert c.call("MULTI") == b"OK"
    assert text(c.call("MGET", "a", "b")) == "CROSSSLOT Keys in request don't hash to the same slot"
    assert text(c.call("EXEC")).startswith("EXECABORT")


def test_a_slot_given_up_is_not_served_and_reads_when_down_are_an_option():
    c = cluster_node()
    serving_every_slot(c)
    c.call("SET", "foo", "bar")
    assert c.call("CLUSTER", "DELSLOTS", 15495) == b"OK"  # "a"'s slot
    assert text(c.call("GET", "a")) == "CLUSTERDOWN Hash slot not served"
    assert text(c.call("GET", "foo")) == "CLUSTERDOWN The cluster is down"
    c.call("CONFIG", "SET", "cluster-allow-reads-when-down", "yes")
    assert c.call("GET", "foo") == b"bar"
    assert text(c.call("SET", "foo", "x")) == "CLUSTERDOWN The cluster is down and only accepts read commands"


def test_slot_assignment_errors():
    c = cluster_node()
    c.call("CLUSTER", "ADDSLOTS", 1)
    assert text(c.call("CLUSTER", "ADDSLOTS", 1)) == "ERR Slot 1 is already busy"
    assert text(c.call("CLUSTER", "ADDSLOTS", 99999)) == "ERR Invalid or out of range slot"
    assert text(c.call("CLUSTER", "ADDSLOTS", "x")) == "ERR Invalid or out of range slot"
    assert text(c.call("CLUSTER", "ADDSLOTS", 7, 7)) == "ERR Slot 7 specified multiple times"
    assert text(c.call("CLUSTER", "ADDSLOTSRANGE", 5, 3)) == "ERR start slot number 5 is greater than end slot number 3"
    assert text(c.call("CLUSTER", "DELSLOTS", 2)) == "ERR Slot 2 is already unassigned"
    assert c.call("CLUSTER", "ADDSLOTS", 7) == b"OK"  # the failed ones changed nothing
    assert c.call("CLUSTER", "INFO").split(b"\r\n")[1] == b"cluster_slots_assigned:2"


def test_nodes_slots_and_shards_show_the_node_and_its_runs():
    c = cluster_node(port="7000")
    myid = c.call("CLUSTER", "MYID")
    assert len(myid) == 40
    c.call("CLUSTER", "ADDSLOTSRANGE", 0, 9, 21, 16383)
    c.call("CLUSTER", "ADDSLOTS", 15)
    assert c.call("CLUSTER", "NODES") == myid + b" :7000@17000 myself,master - 0 0 0 connected 0-9 15 21-16383\n"
    me = [b"", 7000, myid, []]
    assert c.call("CLUSTER", "SLOTS") == [[0, 9, me], [15, 15, me], [21, 16383, me]]
    shard = c.call("CLUSTER", "SHARDS")[0]
    assert shard[0:2] == [b"slots", [0, 9, 15, 15, 21, 16383]] and shard[3][0][0:2] == [b"id", myid]


def test_keys_in_a_slot():
    c = cluster_node()
    serving_every_slot(c)
    c.call("MSET", "{a}x", 1, "{a}y", 2, "a", 3)
    slot = cluster.key_slot(b"a")
    assert c.call("CLUSTER", "COUNTKEYSINSLOT", slot) == 3
    assert c.call("CLUSTER", "GETKEYSINSLOT", slot, 2) == [b"a", b"{a}x"]
    assert text(c.call("CLUSTER", "COUNTKEYSINSLOT", 20000)) == "ERR Invalid slot"
    assert text(c.call("CLUSTER", "GETKEYSINSLOT", 1, -1)) == "ERR Invalid slot or number of keys"
    assert text(c.call("CLUSTER", "FLUSHSLOTS")) == "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."
    assert text(c.call("CLUSTER", "RESET")) == "ERR CLUSTER RESET can't be called with master nodes containing keys"


def test_epochs_and_the_commands_that_name_nodes():
    c = cluster_node()
    myid = c.call("CLUSTER", "MYID").decode()
    assert c.call("CLUSTER", "BUMPEPOCH") == b"BUMPED 1"
    assert text(c.call("CLUSTER", "SET-CONFIG-EPOCH", 5)) == "ERR Node config epoch is already non-zero"
    assert b"cluster_current_epoch:1\r\ncluster_my_epoch:1\r\n" in c.call("CLUSTER", "INFO")
    for sub in ("REPLICATE", "FORGET", "COUNT-FAILURE-REPORTS", "REPLICAS"):
        assert text(c.call("CLUSTER", sub, "abc")) == "ERR Unknown node abc"
    assert text(c.call("CLUSTER", "REPLICATE", myid)) == "ERR Can't replicate myself"
    assert text(c.call("CLUSTER", "FORGET", myid)) == "ERR I tried hard but I can't forget myself..."
    assert text(c.call("CLUSTER", "SETSLOT", 5, "MIGRATING", myid)) == "ERR I'm not the owner of hash slot 5"
    assert c.call("CLUSTER", "SETSLOT", 5, "NODE", myid) == b"OK"
    assert c.call("CLUSTER", "INFO").split(b"\r\n")[1] == b"cluster_slots_assigned:1"
    assert c.call("CLUSTER", "RESET", "HARD") == b"OK"
    assert c.call("CLUSTER", "MYID").decode() != myid
    assert c.call("READONLY") == c.call("READWRITE") == c.call("ASKING") == b"OK"


def test_scripts_with_a_shebang_and_functions_keep_to_one_slot():
    c = cluster_node()
    serving_every_slot(c)
    cross = "redis.call('set', 'foo', 'bar'); redis.call('set', 'bar', 'foo'); return 'OK'"
    error = "ERR Script attempted to access keys that do not hash to the same slot"
    assert text(c.call("EVAL", "#!lua\n" + cross, 0)).startswith(error)
    assert c.call("EVAL", cross, 0) == b"OK"  # an EVAL without a shebang may, as before Redis 7
    assert c.call("EVAL", "#!lua flags=allow-cross-slot-keys\n" + cross, 0) == b"OK"
    assert text(c.call("EVAL", "#!lua\nredis.call('set', 'foo', 'bar')", 1, "bar")).startswith(error)
    c.call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() " + cross + " end)")
    assert text(c.call("FCALL", "f", 0)).startswith(error)


def test_nodes_conf_is_written_on_every_change_and_read_back():
    c = cluster_node(port="7000")
    c.node.receive(c.conn, encode_request("CLUSTER", "ADDSLOTS", 3), c.node.now)
    writes = [effect for effect in c.node.take_effects() if type(effect) is WriteFiles]
    assert [effect.kind for effect in writes] == ["nodes.conf"]
    assert writes[0].data == c.call("CLUSTER", "NODES") + b"vars currentEpoch 0 lastVoteEpoch 0\n"
    other = cluster.ClusterState(make_node(cluster_enabled="yes"))
    assert other.load_at_start(writes[0].data) == (True, f"Node configuration loaded, I'm {other.myid}")
    assert other.myid == c.call("CLUSTER", "MYID").decode() and other.assigned == 1 and other.serves(3)
    assert other.load_at_start(b"garbage")[0] is False
    fresh = cluster.ClusterState(make_node(cluster_enabled="yes"))
    assert fresh.load_at_start(None) == (True, f"No cluster configuration found, I'm {fresh.myid}")
