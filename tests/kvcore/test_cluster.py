"""CLUSTER, READONLY, READWRITE and ASKING answer as redis-server without cluster support answers them."""

from __future__ import annotations

import hiredis
import pytest

from tests.kvcore.harness import CoreClient, make_node


def plain(reply):
    return ("err", str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


@pytest.mark.parametrize("argv", [
    ["READONLY"], ["READWRITE"], ["ASKING"], ["READONLY", "x"],
    ["ACL", "SETUSER", "replica-reader", "+readonly", "+readwrite", "+asking", "+cluster|info"],
    ["CLUSTER", "INFO"], ["CLUSTER", "HELP"], ["CLUSTER", "KEYSLOT", "k"], ["CLUSTER", "NOSUCH"], ["CLUSTER"],
    ["CLUSTER", "INFO", "extra"], ["EVAL", "return redis.call('cluster', 'reset', 'hard')", "0"],
])
def test_cluster_connection_commands_answer_as_redis(argv, redis_conn):
    assert plain(CoreClient(make_node()).call(*argv)) == plain(redis_conn.call([arg.encode() for arg in argv]))
    redis_conn.call([b"ACL", b"DELUSER", b"replica-reader"])
