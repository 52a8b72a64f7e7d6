"""FAILOVER between real processes: a master hands its role to a replica, as Redis 7.0's does,
with kvserver and redis-server on either side."""

from __future__ import annotations

import contextlib
import os
import re
import signal

import pytest
import redis

from tests.net.util import connect, encode, wait_until
from tests.servers import kvserver, redis_server_or_skip

FAST = ["--save", "", "--hz", "100", "--repl-diskless-sync-delay", "0"]


@contextlib.contextmanager
def server(kind: str):
    """A server of either kind with fast replication timers; yields (port, pid)."""
    if kind == "kvserver":
        with kvserver(FAST) as (port, proc):
            yield port, proc.pid
    else:
        with redis_server_or_skip(FAST) as port:
            yield port, redis.Redis(port=port).info("server")["process_id"]


@contextlib.contextmanager
def master_and_replicas(master_kind: str, replica_kinds: list[str]):
    """A master with replicas in sync; yields [(client, port, pid)], the master first."""
    with contextlib.ExitStack() as stack:
        nodes = []
        for kind in [master_kind, *replica_kinds]:
            port, pid = stack.enter_context(server(kind))
            nodes.append((redis.Redis(port=port, socket_timeout=10), port, pid))
        master = nodes[0][0]
        master.set("k", "v0")
        for replica, _, _ in nodes[1:]:
            replica.replicaof("127.0.0.1", nodes[0][1])
        assert wait_until(lambda: all(_in_sync(master, replica) for replica, _, _ in nodes[1:]))
        yield nodes


@contextlib.contextmanager
def stopped(pid: int):
    """A server stopped (SIGSTOP) for the block, resumed after it whatever happens."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _in_sync(master: redis.Redis, replica: redis.Redis) -> bool:
    """The replica has all the master wrote, and the master counts it online (after its first ACK)."""
    info, master_info = replica.info("replication"), master.info("replication")
    replicas = [value for name, value in master_info.items() if name.startswith("slave") and isinstance(value, dict)]
    return (info["master_link_status"] == "up" and info["slave_repl_offset"] == master_info["master_repl_offset"]
            and all(entry["state"] == "online" for entry in replicas))


def _state(client: redis.Redis) -> str:
    return client.info("replication")["master_failover_state"]


def _error(client: redis.Redis, *args) -> str:
    with pytest.raises(redis.ResponseError) as raised:
        client.execute_command(*args)
    return str(raised.value)


def _refusals(master_kind: str) -> list[str]:
    with master_and_replicas(master_kind, [master_kind]) as nodes:
        (master, _, _), (replica, replica_port, _) = nodes
        port = str(replica_port)
        refusals = [_error(master, *args) for args in [
            ("FAILOVER", "TO", "127.0.0.1", "x"), ("FAILOVER", "TO", "127.0.0.1", port, "FORCE"),
            ("FAILOVER", "FORCE", "TIMEOUT", "100"), ("FAILOVER", "TIMEOUT", "0"), ("FAILOVER", "TIMEOUT", "x"),
            ("FAILOVER", "TO", "127.0.0.1", "1"), ("FAILOVER", "TO", "otherhost", port), ("FAILOVER", "ABORT"),
            ("FAILOVER", "TO", "127.0.0.1"), ("FAILOVER", "FORCE", "FORCE"), ("FAILOVER", "ABORT", "TIMEOUT", "5"),
        ]]
        refusals.append(_error(master, "PSYNC", "0" * 40, "1", "FAILOVER"))
        refusals.append(_error(replica, "FAILOVER"))
        refusals.append(_error(replica, "PSYNC", "0" * 40, "1", "FAILOVER"))
        return refusals


def test_refusals_as_redis_server():
    assert _refusals("kvserver") == _refusals("redis-server")


def test_no_replica_no_failover():
    with kvserver(FAST) as (port, _):
        assert _error(redis.Redis(port=port), "FAILOVER") == "FAILOVER requires connected replicas."


@pytest.mark.parametrize(("master_kind", "target_kind"), [
    ("kvserver", "kvserver"), ("kvserver", "redis-server"), ("redis-server", "kvserver")])
def test_failover_to_a_named_replica(master_kind, target_kind):
    """The target becomes the master; the old master follows it by partial resync, no write lost."""
    with master_and_replicas(master_kind, [target_kind]) as nodes:
        (master, _, _), (target, target_port, _) = nodes
        for i in range(100):
            master.set(f"k{i}", i)
        partial_before = target.info("stats")["sync_partial_ok"]
        assert master.execute_command("FAILOVER", "TO", "127.0.0.1", target_port)
        assert wait_until(lambda: _state(master) == "no-failover")
        assert master.role()[0] == b"slave" and target.role()[0] == b"master"
        assert wait_until(lambda: _in_sync(target, master))
        assert target.info("stats")["sync_partial_ok"] == partial_before + 1
        assert target.info("stats")["sync_full"] == 0
        assert master.get("k99") == b"99" and target.dbsize() == master.dbsize() == 101
        target.set("after", 1)
        assert wait_until(lambda: master.get("after") == b"1")


def test_failover_to_any_replica_picks_the_one_caught_up():
    with master_and_replicas("kvserver", ["kvserver", "kvserver"]) as nodes:
        (master, _, _), (_, _, behind_pid), (live, _, _) = nodes
        with stopped(behind_pid):
            master.set("k", "v1")
            assert master.execute_command("FAILOVER")
            assert wait_until(lambda: _state(master) == "no-failover")
            assert live.role()[0] == b"master" and master.role()[0] == b"slave"
        assert live.get("k") == b"v1"


def test_writes_wait_while_the_replica_catches_up_and_client_unpause_does_not_release_them():
    with master_and_replicas("kvserver", ["kvserver"]) as nodes:
        (master, port, _), (replica, replica_port, replica_pid) = nodes
        with stopped(replica_pid):
            master.set("k", "v1")
            assert master.execute_command("FAILOVER", "TO", "127.0.0.1", replica_port, "TIMEOUT", 60000)
            assert _state(master) == "waiting-for-sync"
            writer = connect(port)
            writer.sendall(encode("SET", "held", "1"))
            writer.settimeout(0.3)
            with pytest.raises(TimeoutError):
                writer.recv(100)
            assert master.get("k") == b"v1"  # reads go on
            assert master.execute_command("CLIENT", "UNPAUSE")
            with pytest.raises(TimeoutError):
                writer.recv(100)
            assert master.execute_command("FAILOVER", "ABORT")
            assert _state(master) == "no-failover"
            writer.settimeout(5)
            assert writer.recv(100) == b"+OK\r\n"  # the pause of the failover ended with it
        assert master.role()[0] == b"master"
        assert wait_until(lambda: replica.get("held") == b"1")


def test_a_timeout_aborts_unless_forced():
    with master_and_replicas("kvserver", ["kvserver"]) as nodes:
        (master, _, _), (replica, replica_port, replica_pid) = nodes
        with stopped(replica_pid):
            master.set("k", "v1")
            assert master.execute_command("FAILOVER", "TO", "127.0.0.1", replica_port, "TIMEOUT", 200)
            assert wait_until(lambda: _state(master) == "no-failover")
            assert master.role()[0] == b"master"
            assert master.set("k", "v2")  # writes go on
            assert master.execute_command("FAILOVER", "TO", "127.0.0.1", replica_port, "TIMEOUT", 200, "FORCE")
            assert wait_until(lambda: _state(master) == "failover-in-progress")
            assert master.role()[0] == b"slave"  # never two masters
        assert wait_until(lambda: _state(master) == "no-failover")
        assert replica.role()[0] == b"master" and replica.get("k") == b"v2"
        assert wait_until(lambda: _in_sync(replica, master))


def test_a_target_refusing_the_psync_aborts_the_failover():
    with master_and_replicas("kvserver", ["kvserver"]) as nodes:
        (master, _, _), (replica, replica_port, _) = nodes
        replica.acl_setuser("default", reset=False, commands=["-psync"])
        assert master.execute_command("FAILOVER", "TO", "127.0.0.1", replica_port)
        assert wait_until(lambda: _state(master) == "no-failover")
        assert master.role()[0] == b"master" and replica.role()[0] == b"slave"
        replica.acl_setuser("default", reset=False, commands=["+psync"])
        master.set("k", "v1")
        assert wait_until(lambda: replica.get("k") == b"v1")


def _offsets_around_a_paused_wait(kind: str) -> tuple[int, int]:
    """How far master_repl_offset moved with a WAIT under CLIENT PAUSE WRITE, and after the pause."""
    with master_and_replicas(kind, [kind]) as nodes:
        master = nodes[0][0]
        before = master.info("replication")["master_repl_offset"]
        master.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
        assert master.execute_command("WAIT", 2, 200) == 1
        during = master.info("replication")["master_repl_offset"]
        master.execute_command("CLIENT", "UNPAUSE")
        assert wait_until(lambda: master.info("replication")["master_repl_offset"] > during)
        return during - before, master.info("replication")["master_repl_offset"] - before


def test_a_wait_asks_for_acknowledgements_only_once_a_pause_is_over():
    """A failover waits on the offset: WAIT's REPLCONF GETACK goes into the stream after the pause."""
    assert _offsets_around_a_paused_wait("kvserver") == _offsets_around_a_paused_wait("redis-server")


def test_a_replica_drops_its_own_silent_replica_after_repl_timeout():
    with master_and_replicas("kvserver", ["kvserver"]) as nodes, server("kvserver") as (sub_port, sub_pid):
        _, middle_port, _ = nodes[1]
        middle = nodes[1][0]
        sub = redis.Redis(port=sub_port, socket_timeout=10)
        sub.replicaof("127.0.0.1", middle_port)
        assert wait_until(lambda: middle.info("replication")["connected_slaves"] == 1)
        middle.config_set("repl-timeout", 1)
        with stopped(sub_pid):
            assert wait_until(lambda: middle.info("replication")["connected_slaves"] == 0)


def test_the_logs_tell_the_handover_as_redis_servers(tmp_path):
    """Redis 7.0's lines, with kvserver's own values: the old master caching itself as a master and
    losing its replica's connection, the target shifting its replication id."""
    logs = [str(tmp_path / "master.log"), str(tmp_path / "target.log")]
    with kvserver([*FAST, "--logfile", logs[0]]) as (master_port, _), \
            kvserver([*FAST, "--logfile", logs[1]]) as (target_port, _):
        master, target = redis.Redis(port=master_port), redis.Redis(port=target_port)
        target.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: _in_sync(master, target))
        assert master.execute_command("FAILOVER", "TO", "127.0.0.1", target_port)
        assert wait_until(lambda: _state(master) == "no-failover")
        master_log, target_log = (open(path).read() for path in logs)
    assert "Before turning into a replica, using my own master parameters to synthesize a cached master: " \
           "I may be able to synchronize with the new master with just a partial transfer." in master_log
    assert f"Connection with replica 127.0.0.1:{target_port} lost." in master_log
    assert re.search(r"Setting secondary replication ID to [0-9a-f]{40}, valid up to offset: \d+\. "
                     r"New replication ID is [0-9a-f]{40}", target_log)
    assert "MASTER MODE enabled (failover request from 'id=" in target_log
