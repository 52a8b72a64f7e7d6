"""CLIENT LIST's tot-mem (what maxmemory-clients evicts by) as redis-server 7.0 counts it, for a
client in the states Redis's client-eviction.tcl puts its clients in (kvcore.client_memory)."""

from __future__ import annotations

import contextlib
import re
import socket
import time

import redis

from tests.net.util import encode
from tests.servers import measured_on_both


def _tot_mem(observer: redis.Redis, name: str) -> int:
    line = next(line for line in observer.execute_command("CLIENT", "LIST").decode().splitlines()
                if f" name={name} " in line)
    return int(re.search(r" tot-mem=(\d+)", line).group(1))


def _send(sock: socket.socket, *args) -> None:
    sock.sendall(encode(*args))
    time.sleep(0.05)
    sock.recv(1 << 20)


def _figures(port: int) -> list[tuple[str, int]]:
    observer = redis.Redis(port=port)
    observer.execute_command("DEBUG", "REPLYBUFFER", "RESIZING", "0")  # rbs stays 16 KB
    figures = []
    with contextlib.closing(socket.create_connection(("127.0.0.1", port))) as sock:
        _send(sock, "CLIENT", "SETNAME", "p")
        figures.append(("fresh", _tot_mem(observer, "p")))
        for i in range(10):
            _send(sock, "WATCH", f"key{i}")
        figures.append(("10 keys watched", _tot_mem(observer, "p")))
        _send(sock, "MULTI")
        _send(sock, "SET", "a", "x" * 100)
        _send(sock, "SET", "b", "y" * 1000)
        figures.append(("2 commands queued", _tot_mem(observer, "p")))
        _send(sock, "DISCARD")
        _send(sock, "UNWATCH")
        for i in range(5):
            _send(sock, "PSUBSCRIBE", f"pattern{i}*")
        figures.append(("5 patterns", _tot_mem(observer, "p")))
    with contextlib.closing(socket.create_connection(("127.0.0.1", port))) as sock:
        _send(sock, "CLIENT", "SETNAME", "t")
        for i in range(5):
            _send(sock, "CLIENT", "TRACKING", "on", "prefix", "%012d" % i, "bcast")
        figures.append(("5 tracking prefixes", _tot_mem(observer, "t")))
    with contextlib.closing(socket.create_connection(("127.0.0.1", port))) as sock:
        _send(sock, "CLIENT", "SETNAME", "q")
        sock.sendall(b"*2\r\n$3\r\nSET\r\n$100000\r\n" + b"v" * 1000)
        time.sleep(0.1)
        figures.append(("in a 100 KB argument", _tot_mem(observer, "q")))
    observer.execute_command("DEBUG", "REPLYBUFFER", "RESIZING", "1")
    return figures


def test_tot_mem_as_redis_server():
    theirs, ours = measured_on_both(_figures)
    assert ours == theirs
    assert dict(theirs)["in a 100 KB argument"] > 100_000  # room made for the whole argument at its header


def _grows_past_10_mb(port: int) -> bool:
    """client-eviction.tcl's "client total memory grows": a client asking for a 1 MB value again and
    again without reading the replies; whether its tot-mem passes 10 MB (Redis never stops reading)."""
    observer = redis.Redis(port=port)
    observer.setrange("k", 1 << 20, "v")
    with contextlib.closing(socket.create_connection(("127.0.0.1", port))) as sock:
        _send(sock, "CLIENT", "SETNAME", "greedy")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sock.sendall(encode("GET", "k"))
            time.sleep(0.01)
            if _tot_mem(observer, "greedy") > 10 << 20:
                return True
    return False


def test_a_client_that_does_not_read_its_replies_is_still_served_as_by_redis_server():
    theirs, ours = measured_on_both(_grows_past_10_mb)
    assert ours == theirs is True
