"""kvserver with cluster-enabled against redis-server with it, side by side: the same requests, the
same replies (node IDs aside), over real sockets."""

from __future__ import annotations

import redis

from tests.net.util import wait_until
from tests.servers import kvserver, redis_server_or_skip

CLUSTER = ["--cluster-enabled", "yes", "--cluster-node-timeout", "500", "--save", ""]
REQUESTS = [
    ["SET", "foo", "bar"],
    ["CLUSTER", "ADDSLOTSRANGE", "0", "16382"],
    ["CLUSTER", "ADDSLOTS", "16383", "16383"],
    ["CLUSTER", "ADDSLOTS", "99999"],
    ["CLUSTER", "ADDSLOTS", "16383"],
    "wait until ok",
    ["SET", "foo", "bar"],
    ["MSET", "a", "1", "b", "2"],
    ["MSET", "{a}x", "1", "a", "2"],
    ["SELECT", "1"],
    ["CLUSTER", "COUNTKEYSINSLOT", "15495"],
    ["CLUSTER", "GETKEYSINSLOT", "15495", "10"],
    ["CLUSTER", "KEYSLOT", "{user1}.a"],
    ["CLUSTER", "DELSLOTSRANGE", "15495", "15495"],
    ["GET", "a"],
    ["GET", "foo"],
    ["CLUSTER", "SLOTS"],
    ["CLUSTER", "SHARDS"],
    ["CLUSTER", "REPLICATE", "abc"],
    ["CLUSTER", "SET-CONFIG-EPOCH", "3"],
    ["CLUSTER", "BUMPEPOCH"],
    ["CLUSTER", "INFO"],
    ["CLUSTER", "HELP"],
    ["CLUSTER", "RESET"],
    ["READONLY"],
    ["EVAL", "#!lua\nredis.call('get', 'foo'); return redis.call('get', 'bar')", "0"],
]


def _replies(port: int) -> list:
    client = redis.Redis(port=port, socket_timeout=10)
    myid = client.execute_command("CLUSTER", "MYID")
    replies = []
    for request in REQUESTS:
        if request == "wait until ok":
            assert wait_until(lambda: b"cluster_state:ok" in client.execute_command("CLUSTER", "INFO"), 10)
            continue
        try:
            reply = client.execute_command(*request)
        except redis.ResponseError as exc:
            reply = ("error", str(exc))
        replies.append(_without(reply, myid))
    return replies


def _without(reply, myid: bytes):
    """The reply with this node's ID (and the port it names itself by) left out."""
    if isinstance(reply, (list, tuple)):
        return [_without(item, myid) for item in reply]
    if isinstance(reply, dict):
        return {key: _without(value, myid) for key, value in reply.items()}
    if isinstance(reply, bytes):
        return reply.replace(myid, b"<id>")
    return reply


def test_a_cluster_node_of_one_answers_as_redis_server():
    with redis_server_or_skip(CLUSTER) as redis_port, kvserver(CLUSTER) as (kv_port, _):
        expected, actual = _replies(redis_port), _replies(kv_port)
    for request, want, got in zip([r for r in REQUESTS if r != "wait until ok"], expected, actual):
        if request[:2] in (["CLUSTER", "SLOTS"], ["CLUSTER", "SHARDS"]):
            want, got = str(want).replace(str(redis_port), "<port>"), str(got).replace(str(kv_port), "<port>")
        assert want == got, request


def test_the_node_keeps_its_id_epochs_and_slots_in_nodes_conf_across_a_restart(tmp_path):
    options = [*CLUSTER, "--dir", str(tmp_path)]
    with kvserver(options, cwd=str(tmp_path)) as (port, _):
        client = redis.Redis(port=port)
        myid = client.execute_command("CLUSTER", "MYID")
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "100", "200", "300")
        client.execute_command("CLUSTER", "BUMPEPOCH")
    conf = (tmp_path / "nodes.conf").read_bytes()
    assert conf == myid + b" :%d@%d myself,master - 0 0 1 connected 0-100 200-300\nvars currentEpoch 1 lastVoteEpoch 0\n" % (
        port, port + 10000)
    with kvserver(options, cwd=str(tmp_path)) as (port, _):
        client = redis.Redis(port=port)
        assert client.execute_command("CLUSTER", "MYID") == myid
        assert b"cluster_slots_assigned:202\r\n" in client.execute_command("CLUSTER", "INFO")
        assert b"cluster_my_epoch:1\r\n" in client.execute_command("CLUSTER", "INFO")
