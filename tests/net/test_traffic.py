"""Traffic shapes: big values, deep pipelines, many connections, bad requests, half-closed sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

import pytest

from tests.net.util import connect, encode, exchange, read_exactly, read_until_eof, resp2


def test_one_megabyte_value(r):
    value = os.urandom(1024 * 1024)
    assert r.set("big:1mb", value)
    assert r.get("big:1mb") == value
    assert r.strlen("big:1mb") == len(value)


def test_hundred_megabyte_value(port):
    value = os.urandom(100 * 1024 * 1024)
    client = resp2(port, socket_timeout=120)
    assert client.set("big:100mb", value)
    assert client.get("big:100mb") == value
    assert client.set("big:100mb", "")  # frees the memory
    client.close()


def test_slow_reader_of_big_replies_does_not_stop_others(port):
    """A client that pipelines big GETs and reads nothing is paused, not served at others' cost."""
    value = os.urandom(4 * 1024 * 1024)
    setup = resp2(port)
    setup.set("big:4mb", value)
    with contextlib.closing(connect(port)) as hog:
        hog.sendall(encode("GET", "big:4mb") * 50)  # 200 MB of replies it does not read yet
        other = resp2(port, socket_timeout=10)
        for i in range(20):
            assert other.incr("big:other") == i + 1
        header = b"$%d\r\n" % len(value)
        for _ in range(50):
            assert read_exactly(hog, len(header)) == header
            assert read_exactly(hog, len(value) + 2) == value + b"\r\n"
    setup.close()


def test_pipeline_of_ten_thousand_commands(port):
    count = 10_000
    with contextlib.closing(connect(port)) as sock:
        sock.sendall(b"".join(encode("SET", f"pipe10k:{i}", i) for i in range(count)))
        assert read_exactly(sock, 5 * count) == b"+OK\r\n" * count
        sock.sendall(b"".join(encode("INCR", f"pipe10k:{i}") for i in range(count)))
        expected = b"".join(b":%d\r\n" % (i + 1) for i in range(count))
        assert read_exactly(sock, len(expected)) == expected
        sock.sendall(b"PING\r\n" * count)  # inline requests pipelined too
        assert read_exactly(sock, 7 * count) == b"+PONG\r\n" * count


def test_redis_py_pipeline(r):
    pipe = r.pipeline(transaction=False)
    for i in range(10_000):
        pipe.set(f"rp:{i}", i)
        pipe.get(f"rp:{i}")
    results = pipe.execute()
    assert results[1::2] == [str(i).encode() for i in range(10_000)]


def test_request_split_byte_by_byte(port):
    request = encode("SET", "split:k", "v" * 100) + encode("GET", "split:k")
    with contextlib.closing(connect(port)) as sock:
        for byte in request:
            sock.send(bytes([byte]))
        reply = b"+OK\r\n$100\r\n" + b"v" * 100 + b"\r\n"
        assert read_exactly(sock, len(reply)) == reply


def test_many_concurrent_connections(port):
    connections = 300
    rounds = 20

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in range(rounds):
                writer.write(encode("INCR", "many:counter") + encode("SET", f"many:{index}", n) +
                             encode("GET", f"many:{index}"))
                await reader.readuntil(b"\r\n")  # :<counter>
                assert await reader.readexactly(5) == b"+OK\r\n"
                body = str(n).encode()
                expected = b"$%d\r\n%s\r\n" % (len(body), body)
                assert await reader.readexactly(len(expected)) == expected
        finally:
            writer.close()
            await writer.wait_closed()

    async def main() -> None:
        await asyncio.gather(*(worker(i) for i in range(connections)))

    asyncio.run(main())
    assert int(resp2(port).get("many:counter")) == connections * rounds


def test_many_idle_connections_then_traffic(port):
    sockets = [connect(port) for _ in range(500)]
    try:
        for sock in sockets[::50]:
            sock.sendall(b"PING\r\n")
        for sock in sockets[::50]:
            assert read_exactly(sock, 7) == b"+PONG\r\n"
    finally:
        for sock in sockets:
            sock.close()


MALFORMED = [
    b"*1\r\n$x\r\n",
    b"*abc\r\n",
    b"*1\r\nfoo\r\n",
    b"*2\r\n$3\r\nGET\r\n:1\r\n",
    b'SET "unbalanced\r\n',
    b"*1\r\n$-3\r\n",
    b"*3000000000\r\n",
    b"x" * (70 * 1024),
    b"*1\r\n$" + b"9" * (70 * 1024),
    b"*1\r\n$999999999999\r\n",
    b"PING a\x00b\r\n" + b"x" * (70 * 1024),  # a NUL hides the newline from Redis's strchr
    b"*2147483647\r\n!\r\n",  # a huge count must not be allocated up front
]


@pytest.mark.parametrize("payload", MALFORMED, ids=[repr(p[:16]) for p in MALFORMED])
def test_malformed_request_gets_redis_error_then_close(port, redis_port, payload):
    """The same error text as redis-server, then EOF; the earlier good request is answered."""
    request = encode("PING") + payload
    ours, closed = exchange(port, request)
    assert closed, ours
    assert ours.startswith(b"+PONG\r\n-ERR Protocol error: ")
    theirs, _ = exchange(redis_port, request)
    assert ours == theirs


def test_malformed_request_closes_only_that_connection(port):
    good = resp2(port, socket_timeout=10)
    assert good.set("survivor", "alive")
    with contextlib.closing(connect(port)) as bad:
        bad.sendall(b"*1\r\n$x\r\n")
        reply, closed = read_until_eof(bad)
        assert reply == b"-ERR Protocol error: invalid bulk length\r\n" and closed
    assert good.get("survivor") == b"alive"
    assert good.ping()


def test_half_closed_client_still_gets_its_replies(port):
    with contextlib.closing(connect(port)) as sock:
        sock.sendall(encode("SET", "half:k", "v") + encode("GET", "half:k"))
        sock.shutdown(1)  # SHUT_WR: we send nothing more
        reply, closed = read_until_eof(sock)
    assert reply == b"+OK\r\n$1\r\nv\r\n"
    assert closed


def test_client_vanishing_mid_request_is_harmless(port):
    for _ in range(20):
        with contextlib.closing(connect(port)) as sock:
            sock.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$100\r\nonly-part")
    assert resp2(port).ping()


def test_connections_from_threads(port):
    errors = []

    def work(index: int) -> None:
        try:
            client = resp2(port, socket_timeout=20)
            for n in range(200):
                client.set(f"thread:{index}", n)
                assert client.get(f"thread:{index}") == str(n).encode()
            client.close()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
