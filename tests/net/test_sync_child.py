"""A full sync's payload is sent by a forked child, as redis-server's: the server serves on while a
slow replica takes it, the child is seen and can be killed, and it dies with the server."""

from __future__ import annotations

import os
import signal
import subprocess

import redis

from tests.net.util import wait_until
from tests.servers import kvserver


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
