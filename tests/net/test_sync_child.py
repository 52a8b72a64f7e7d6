"""A full sync's payload is sent by a forked child, as redis-server's: the server serves on while a
slow replica takes it, the child is seen and can be killed, and it dies with the server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import redis

from tests.net.util import wait_until
from tests.servers import kvserver, redis_server_in_dir


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def in_progress(client: redis.Redis) -> int:
    return client.info("persistence")["rdb_bgsave_in_progress"]


def slow_sync(master: redis.Redis, replica: redis.Redis, master_port: int) -> None:
    """10,000 keys at 1 ms a key (rdb-key-save-delay): a ten-second transfer."""
    master.execute_command("DEBUG", "POPULATE", 10000)
    master.config_set("rdb-key-save-delay", 1000)
    replica.replicaof("127.0.0.1", master_port)
    assert wait_until(lambda: in_progress(master) == 1)


def test_the_child_sending_a_sync_can_be_killed_and_the_replica_syncs_again():
    with kvserver(["--save", ""]) as (master_port, master_proc), kvserver(["--save", ""]) as (replica_port, _):
        master, replica = redis.Redis(port=master_port), redis.Redis(port=replica_port)
        slow_sync(master, replica, master_port)
        assert master.ping()  # the server serves on meanwhile
        (child,) = children(master_proc.pid)
        os.kill(child, signal.SIGKILL)
        assert wait_until(lambda: in_progress(master) == 0 or children(master_proc.pid) != [child])
        master.config_set("rdb-key-save-delay", 0)
        assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up", 20)
        assert replica.dbsize() == 10000


def test_the_child_dies_with_its_server():
    with kvserver(["--save", ""]) as (master_port, master_proc), kvserver(["--save", ""]) as (replica_port, _):
        master, replica = redis.Redis(port=master_port), redis.Redis(port=replica_port)
        slow_sync(master, replica, master_port)
        (child,) = children(master_proc.pid)
        master_proc.kill()
        master_proc.wait(5)
        assert wait_until(lambda: not os.path.exists(f"/proc/{child}") or _zombie(child), 5)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1].startswith("Z")
    except OSError:
        return True


def _stuck_replica_dropped(kind: str, tmp_path) -> tuple[bool, int]:
    """Two replicas of a diskless sync, one stopped (SIGSTOP) mid-transfer: whether the master
    logs it timed out, and how many keys the other one got."""
    log = str(tmp_path / f"{kind}.log")
    options = ["--logfile", log, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
               "--repl-diskless-sync-max-replicas", "2", "--repl-timeout", "2", "--rdbcompression", "no"]
    with contextlib.ExitStack() as stack:
        if kind == "redis-server":
            master_port = stack.enter_context(redis_server_in_dir(str(tmp_path), options))
        else:
            master_port, _ = stack.enter_context(kvserver(["--save", "", *options]))
        (stuck_port, stuck_proc), (fast_port, _) = (stack.enter_context(kvserver(["--save", ""])) for _ in range(2))
        master = redis.Redis(port=master_port)
        master.execute_command("DEBUG", "POPULATE", 3000, "key", 10000)  # 30 MB: more than socket buffers hold
        stuck, fast = redis.Redis(port=stuck_port), redis.Redis(port=fast_port)
        stuck.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 1)
        stuck_proc.send_signal(signal.SIGSTOP)
        try:
            fast.replicaof("127.0.0.1", master_port)
            assert wait_until(lambda: fast.info("replication")["master_link_status"] == "up", 30)
            assert wait_until(lambda: in_progress(master) == 0, 10)
            dropped = "Disconnecting timedout replica (full sync)" in open(log).read()
        finally:
            stuck_proc.send_signal(signal.SIGCONT)
        return dropped, fast.dbsize()


def test_a_stuck_replica_of_a_diskless_sync_is_dropped_as_redis_server(tmp_path):
    theirs = _stuck_replica_dropped("redis-server", tmp_path)
    assert _stuck_replica_dropped("kvserver", tmp_path) == theirs == (True, 3000)
