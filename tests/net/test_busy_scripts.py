"""Scripts past busy-reply-threshold (lua-time-limit), on a real kvserver and a real redis-server:
other clients, new ones too, get -BUSY but for SCRIPT KILL, FUNCTION KILL, FUNCTION STATS,
SHUTDOWN NOSAVE, MULTI...; every reply is compared with redis-server's."""

from __future__ import annotations

import contextlib
import signal
import socket
import time

import hiredis
import pytest

from tests.net.util import connect, encode
from tests.servers import kvserver, redis_server_or_skip

LOOP = "while true do end"
WRITE_THEN_LOOP = "redis.call('set', 'x', '1') while true do end"
LIBRARY = "#!lua name=lib\nredis.register_function('spin', function() while true do end end)"
BUSY_AFTER_S = 0.3


class Conn:
    """A raw connection reading whole replies (errors as ('error', text))."""

    def __init__(self, port: int) -> None:
        self.sock = connect(port)
        self.reader = hiredis.Reader()
        self.call("PING")  # answered (PONG or BUSY): the server knows the connection

    def send(self, *args) -> None:
        self.sock.sendall(encode(*args))

    def read(self):
        while (reply := self.reader.gets()) is False:
            data = self.sock.recv(65536)
            if not data:
                return "closed"
            self.reader.feed(data)
        return ("error", str(reply)) if isinstance(reply, hiredis.ReplyError) else reply

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def both():
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        yield {"redis-server": redis_port, "kvserver": kv_port}


def scenario(port: int, steps) -> list:
    """Run ``steps(port)`` with lua-time-limit 10; the replies it collected."""
    setup = Conn(port)
    assert setup.call("CONFIG", "SET", "lua-time-limit", "10") == b"OK"
    try:
        return steps(port)
    finally:
        setup.close()


def killed_eval(port: int) -> list:
    runner, other = Conn(port), Conn(port)
    runner.send("EVAL", LOOP, "0")
    runner.send("PING")  # pipelined behind the script: answered once it is over
    time.sleep(BUSY_AFTER_S)
    replies = [other.call("PING"), other.call("GET", "k"), other.call("FUNCTION", "KILL"),
               other.call("FUNCTION", "STATS"), other.call("SHUTDOWN")]
    newcomer = Conn(port)
    replies += [newcomer.call("PING"), newcomer.call("SCRIPT", "KILL"), runner.read(), runner.read(),
                other.call("PING"), other.call("SCRIPT", "KILL")]
    return replies


def killed_function(port: int) -> list:
    runner, other = Conn(port), Conn(port)
    assert runner.call("FUNCTION", "LOAD", LIBRARY) == b"lib"
    runner.send("FCALL", "spin", "0")
    time.sleep(BUSY_AFTER_S)
    stats = other.call("FUNCTION", "STATS")
    running = dict(zip(stats[1][::2], stats[1][1::2]))
    replies = [other.call("PING"), other.call("SCRIPT", "KILL"), running[b"name"], running[b"command"],
               running[b"duration_ms"] >= 200, other.call("FUNCTION", "KILL"), runner.read(), other.call("PING")]
    return replies


def transaction_during_a_busy_script(port: int) -> list:
    runner, other, killer = Conn(port), Conn(port), Conn(port)
    runner.send("EVAL", LOOP, "0")
    time.sleep(BUSY_AFTER_S)
    replies = [other.call("MULTI"), other.call("INCR", "n"), other.call("SCRIPT", "KILL")]  # queued, not run
    replies += [killer.call("SCRIPT", "KILL"), runner.read(), other.call("INCR", "n"), other.call("EXEC")]
    return replies


@pytest.mark.parametrize("steps", [killed_eval, killed_function, transaction_during_a_busy_script])
def test_a_busy_script_as_redis_server(steps):
    with both() as ports:
        results = {name: scenario(port, steps) for name, port in ports.items()}
    assert results["kvserver"] == results["redis-server"]
    assert any(isinstance(reply, tuple) and reply[1].startswith("BUSY") for reply in results["kvserver"])


def unkillable_then_shutdown(port: int) -> list:
    runner, other = Conn(port), Conn(port)
    runner.send("EVAL", WRITE_THEN_LOOP, "0")
    time.sleep(BUSY_AFTER_S)
    replies = [other.call("SCRIPT", "KILL"), other.call("PING"), other.call("SHUTDOWN", "NOSAVE"), runner.read()]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        replies.append("still listening")
    except ConnectionRefusedError:
        replies.append("refused")
    return replies


def test_a_script_that_wrote_cannot_be_killed_but_shutdown_nosave_ends_the_server():
    with both() as ports:
        results = {name: scenario(port, unkillable_then_shutdown) for name, port in ports.items()}
    assert results["kvserver"] == results["redis-server"]
    assert results["kvserver"][0][1].startswith("UNKILLABLE") and results["kvserver"][-1] == "refused"


def test_signals_during_a_busy_script():
    """A second SIGINT ends the process at once ("You insist"); a SIGTERM's shutdown waits for the script."""
    with kvserver(["--save", ""]) as (port, proc):
        scenario(port, lambda port: Conn(port).send("EVAL", LOOP, "0"))
        time.sleep(BUSY_AFTER_S)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.1)
        assert proc.poll() is None and Conn(port).call("PING")[1].startswith("BUSY")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 1
    with kvserver(["--save", ""]) as (port, proc):
        scenario(port, lambda port: Conn(port).send("EVAL", LOOP, "0"))
        time.sleep(BUSY_AFTER_S)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        assert proc.poll() is None
        assert Conn(port).call("SCRIPT", "KILL") == b"OK"
        assert proc.wait(10) == 0


def endless_library_load(port: int) -> list:
    """A library whose load run never ends: stopped past 500 ms, and the server serves on."""
    conn = Conn(port)
    started = time.monotonic()
    replies = [conn.call("FUNCTION", "LOAD", "#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end\n")]
    replies.append(time.monotonic() - started < 5)
    replies += [conn.call("FUNCTION", "LIST"), conn.call("PING")]
    conn.close()
    return replies


def test_a_library_load_run_times_out_as_redis_server():
    with both() as ports:
        theirs, ours = (endless_library_load(ports[name]) for name in ("redis-server", "kvserver"))
    assert theirs[0] == ("error", "ERR Error registering functions: ERR FUNCTION LOAD timeout")
    assert ours == theirs
