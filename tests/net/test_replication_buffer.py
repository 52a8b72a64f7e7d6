"""Redis 7.0's shared replication buffer, seen from outside: the backlog keeps what a replica
still loading its payload will be sent (and a replica coming back may continue from it), that
replica's output counts against its limit, and a replica is never held to an output limit below
the backlog's size. Each scenario runs on kvserver and on redis-server alike."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
import redis

from tests.net.util import wait_until
from tests.servers import kvserver, redis_server_or_skip

KINDS = ["kvserver", "redis-server"]


@contextlib.contextmanager
def servers(kind: str, count: int):
    """``count`` servers of one kind; yields [(client, port, pid)]."""
    with contextlib.ExitStack() as stack:
        nodes = []
        for _ in range(count):
            if kind == "kvserver":
                port, proc = stack.enter_context(kvserver(["--save", ""]))
                pid = proc.pid
            else:
                port = stack.enter_context(redis_server_or_skip())
                pid = redis.Redis(port=port).info("server")["process_id"]
            nodes.append((redis.Redis(port=port, db=9, socket_timeout=30), port, pid))
        yield nodes


def _offset(client: redis.Redis, field: str) -> int:
    return client.info("replication")[field]


def _fill(client: redis.Redis, prefix: str, count: int, size: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}:{i}", prefix[0] * size)
    pipe.execute()


@pytest.mark.parametrize("kind", KINDS)
def test_a_replica_comes_back_by_partial_resync_from_what_a_loading_replica_keeps(kind):
    with servers(kind, 3) as [(master, master_port, _), (first, _, _), (second, second_port, second_pid)]:
        master.config_set("repl-backlog-size", 16384)
        master.config_set("client-output-buffer-limit", "replica 0 0 0")
        master.config_set("repl-diskless-sync-delay", 0)
        first.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: first.info("replication")["master_link_status"] == "up")
        master.config_set("rdb-key-save-delay", 1_000_000)  # the second replica's payload takes forever
        _fill(master, "a", 10, 100)
        second.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: master.info("persistence")["rdb_bgsave_in_progress"] == 1
                          and second.role()[3] == b"sync")
        _fill(master, "b", 2000, 1000)
        assert master.info("replication")["repl_backlog_histlen"] > 2000 * 1000  # beyond repl-backlog-size
        assert wait_until(lambda: _offset(first, "slave_repl_offset") == _offset(master, "master_repl_offset"))
        first.replicaof("127.0.0.1", second_port)  # away (its new master cannot serve it yet)...
        _fill(master, "c", 2000, 1000)
        first.replicaof("127.0.0.1", master_port)  # ...and back: it continues where it was, in database 9
        assert wait_until(lambda: _offset(first, "slave_repl_offset") == _offset(master, "master_repl_offset"))
        assert master.info("stats")["sync_partial_ok"] == 1
        assert first.execute_command("DEBUG", "DIGEST") == master.execute_command("DEBUG", "DIGEST")

        # the loading replica's output is all it has yet to be sent: past its limit, it goes
        os.kill(second_pid, signal.SIGSTOP)
        try:
            master.config_set("client-output-buffer-limit", "replica 128k 0 0")
            master.set("key", "A" * 65536)
            assert wait_until(lambda: master.info("replication")["connected_slaves"] == 1)
        finally:
            os.kill(second_pid, signal.SIGCONT)


@pytest.mark.parametrize("kind", KINDS)
def test_a_replica_output_limit_below_the_backlog_size_is_the_backlog_size(kind):
    with servers(kind, 2) as [(master, master_port, _), (replica, _, _)]:
        master.config_set("repl-backlog-size", 100 * 1024 * 1024)
        master.config_set("client-output-buffer-limit", "replica 512k 0 0")
        replica.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        big = "A" * (4 * 1024 * 1024)
        pipe = master.pipeline(transaction=True)  # the replica is cut off, then comes back to 8 MB of backlog
        pipe.execute_command("CLIENT", "KILL", "TYPE", "replica")
        pipe.set("key", big)
        pipe.set("key", big)
        pipe.execute_command("DEBUG", "SLEEP", 2)
        pipe.execute()
        master.set("key", big)
        assert wait_until(lambda: _offset(replica, "slave_repl_offset") == _offset(master, "master_repl_offset"))
        assert master.info("replication")["connected_slaves"] == 1
        assert (master.info("stats")["sync_full"], master.info("stats")["sync_partial_ok"]) == (1, 1)
