"""Small helpers for the end-to-end tests: raw sockets, RESP requests, command presence."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def encode(*args) -> bytes:
    """A request as a RESP multibulk."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def connect(port: int, timeout_s: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_eof(sock: socket.socket, timeout_s: float = 5.0) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or goes quiet for timeout_s (False)."""
    sock.settimeout(timeout_s)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
    except TimeoutError:
        return b"".join(chunks), False
    except ConnectionResetError:
        return b"".join(chunks), True


def read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise EOFError(f"closed after {got} of {size} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def exchange(port: int, data: bytes, timeout_s: float = 5.0) -> tuple[bytes, bool]:
    """Send raw bytes on a fresh connection; what came back, and whether it was closed."""
    with contextlib.closing(connect(port)) as sock:
        sock.sendall(data)
        return read_until_eof(sock, timeout_s)


def wait_until(predicate, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def skip_if_missing(client: redis.Redis, *command: str) -> None:
    """Skip while a command another engineer is writing does not exist yet.

    Temporary: these commands (HELLO, CLIENT, CONFIG, INFO, COMMAND) are due;
    once they exist the check passes and the test runs in full.
    """
    try:
        client.execute_command(*command)
    except redis.ResponseError as exc:
        if "unknown command" in str(exc) or "unknown subcommand" in str(exc):
            pytest.skip(f"{' '.join(command)} not implemented in kvcore yet")


def resp2(port: int | None = None, **options) -> redis.Redis:
    """A redis-py client speaking RESP2 (redis-py 8 defaults to RESP3 through HELLO)."""
    if port is not None:
        options["port"] = port
    options.setdefault("retry", no_retry())
    return redis.Redis(protocol=2, **options)


def no_retry() -> Retry:
    """Tests want to see a connection failure, not have it retried away."""
    return Retry(NoBackoff(), 0)
