"""A master's shutdown waits for its replicas to have every write (shutdown-timeout), as
Redis 7.0's: real kvserver processes, the replica stopped with SIGSTOP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket

import pytest
import redis

from tests.net.util import connect, encode, read_until_eof, wait_until
from tests.servers import kvserver


@contextlib.contextmanager
def master_and_stopped_replica():
    """A master with one replica in sync, then the replica stopped: yields (master, replica,
    the master's process, the replica's)."""
    with kvserver(["--save", "", "--hz", "100", "--repl-diskless-sync-delay", "0"]) as (master_port, master_proc), \
            kvserver(["--save", ""]) as (replica_port, replica_proc):
        master = redis.Redis(port=master_port, socket_timeout=10)
        replica = redis.Redis(port=replica_port, socket_timeout=10)
        replica.replicaof("127.0.0.1", master_port)
        master.set("k", 1)
        assert wait_until(lambda: replica.get("k") == b"1" and replica.info("replication")["master_link_status"] == "up")
        assert wait_until(lambda: _caught_up(master))
        os.kill(replica_proc.pid, signal.SIGSTOP)
        try:
            yield master, replica, master_proc, replica_proc
        finally:
            os.kill(replica_proc.pid, signal.SIGCONT)


def _caught_up(master) -> bool:
    info = master.info("replication")
    return info.get("slave0", {}).get("offset") == info["master_repl_offset"]


def _shutdown_in_ms(master) -> int:
    return master.info("server").get("shutdown_in_milliseconds", 0)


@pytest.mark.parametrize("how", ["sigterm", "shutdown"])
def test_the_master_waits_for_its_replica_then_exits(how):
    with master_and_stopped_replica() as (master, replica, master_proc, replica_proc):
        master.incr("k")
        caller: socket.socket | None = None
        if how == "sigterm":
            master_proc.send_signal(signal.SIGTERM)
        else:
            caller = connect(master.connection_pool.connection_kwargs["port"])
            caller.sendall(encode("SHUTDOWN"))
        assert wait_until(lambda: _shutdown_in_ms(master) > 0)
        assert master_proc.poll() is None
        os.kill(replica_proc.pid, signal.SIGCONT)
        assert wait_until(lambda: replica.get("k") == b"2")
        assert master_proc.wait(10) == 0
        if caller is not None:
            assert read_until_eof(caller, 5.0) == (b"", True)  # no reply: the server exited


def test_shutdown_abort_answers_the_waiting_caller_and_writes_go_on():
    with master_and_stopped_replica() as (master, _, master_proc, _):
        master.incr("k")
        port = master.connection_pool.connection_kwargs["port"]
        caller = connect(port)
        caller.sendall(encode("SHUTDOWN"))
        assert wait_until(lambda: _shutdown_in_ms(master) > 0)
        writer = connect(port)
        writer.sendall(encode("SET", "during", "1"))  # held: writes are paused meanwhile
        writer.settimeout(0.3)
        with pytest.raises(TimeoutError):
            writer.recv(100)
        assert master.execute_command("SHUTDOWN", "ABORT") is True  # redis-py reads +OK as True
        assert caller.recv(100) == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        writer.settimeout(5)
        assert writer.recv(100) == b"+OK\r\n"
        assert _shutdown_in_ms(master) == 0 and master_proc.poll() is None
        caller.close()
        writer.close()


def test_the_time_is_up_and_the_master_exits_without_its_replica():
    with master_and_stopped_replica() as (master, _, master_proc, _):
        master.config_set("shutdown-timeout", 2)
        master.incr("k")
        master_proc.send_signal(signal.SIGTERM)
        assert wait_until(lambda: _shutdown_in_ms(master) > 0, timeout_s=1.5)
        assert master_proc.wait(10) == 0


def test_shutdown_now_does_not_wait():
    with master_and_stopped_replica() as (master, _, master_proc, _):
        master.incr("k")
        caller = connect(master.connection_pool.connection_kwargs["port"])
        caller.sendall(encode("SHUTDOWN", "NOW"))
        assert read_until_eof(caller, 5.0) == (b"", True)
        assert master_proc.wait(10) == 0

