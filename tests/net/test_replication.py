"""SYNC on a real kvserver, side by side with redis-server 7.0: the RDB image, then the same
replication stream for the same writes (relative expiries made absolute, GETDEL and SPOP
as what they did, SELECT when the database changes, MULTI/EXEC only around groups)."""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from kvcore import rdb
from kvcore.config import Config
from kvcore.node import Node
from tests.servers import kvserver, redis_server_or_skip

WRITES = [
    "SET foo bar", "SET k v EX 100", "SELECT 9", "INCR n", "MULTI", "SET a 1", "GET a", "EXEC",
    "MULTI", "SET a 1", "SET b 1", "SELECT 3", "INCR n", "EXEC", "GETDEL a", "SELECT 9", "GETDEL a",
    "EXPIRE k 50", "SELECT 0", "DEL foo", "DEL nothing", "SADD s x y z", "SPOP s 3", "SADD t 1 2 3 4 5 6",
    "SPOP t", "LPUSH l a b c", "RPOPLPUSH l l2", "INCRBYFLOAT f 1.5", "SETEX e 100 v", "PEXPIRE e 5000",
]


def attach(port: int) -> tuple[socket.socket, bytes]:
    """SYNC on a new connection: the socket, and the RDB image that came first."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"SYNC\r\n")
    data = b""
    while b"\r\n" not in data:
        data += sock.recv(65536)
    header, _, data = data.partition(b"\r\n")
    assert header.startswith(b"$")
    size = int(header[1:])
    while len(data) < size:
        data += sock.recv(65536)
    return sock, data[:size]


def stream_after(port: int, writes: list[str]) -> bytes:
    replica, _ = attach(port)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"".join(write.encode() + b"\r\n" for write in writes))
    time.sleep(0.5)
    replica.settimeout(0.5)
    stream = b""
    try:
        while chunk := replica.recv(65536):
            stream += chunk
    except TimeoutError:
        pass
    client.close()
    replica.close()
    return stream


def commands(stream: bytes) -> list[list[bytes]]:
    """The stream as commands; absolute times (PXAT, PEXPIREAT) and random members made comparable."""
    import hiredis

    reader = hiredis.Reader()
    reader.feed(stream)
    found = []
    while (command := reader.gets()) is not False:
        found.append([re.sub(rb"^1\d{12}$", b"<ms>", arg) for arg in command])
    return found


def test_the_stream_is_redis_servers():
    with redis_server_or_skip() as redis_port, kvserver() as (kv_port, _):
        expected = commands(stream_after(redis_port, WRITES))
        got = commands(stream_after(kv_port, WRITES))
    assert got[0] == [b"SELECT", b"0"]
    # SPOP picks members at random: compare which key each SREM names, not the member
    assert [_without_spop_members(command) for command in got] == [_without_spop_members(c) for c in expected]


def _without_spop_members(command: list[bytes]) -> list[bytes]:
    return command[:2] if command[0] in (b"SREM", b"srem") else command


def test_the_image_is_the_dataset_at_sync():
    with kvserver() as (port, _):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"SET a 1\r\nSELECT 2\r\nRPUSH l x y\r\n")
        time.sleep(0.2)
        replica, image = attach(port)
        node = Node(Config(), rng=random.Random(0))
        rdb.load(node, image)
        assert node.dbs[0].data[b"a"] == b"1" and list(node.dbs[2].data) == [b"l"]
        replica.sendall(b"PING\r\n")  # a replica gets no replies
        replica.settimeout(0.3)
        with pytest.raises(TimeoutError):
            replica.recv(100)
