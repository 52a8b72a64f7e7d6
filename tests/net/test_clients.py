"""Real clients against a real kvserver: redis-py (sync, asyncio, RESP2, RESP3), redis-cli, redis-benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import secrets
import select
import shutil
import socket
import subprocess
import time

import pytest
import redis
import redis.asyncio

from tests.net.util import connect, encode, no_retry, read_exactly, read_until_eof, resp2, skip_if_missing
from tests.servers import measured_on_both

needs_redis_tools = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-tools not installed")


def requires(port: int, *command: str) -> None:
    client = resp2(port)
    try:
        skip_if_missing(client, *command)
    finally:
        client.close()


def basic_session(client: redis.Redis, prefix: str) -> None:
    assert client.ping() is True
    assert client.set(f"{prefix}:s", "v1") is True
    assert client.get(f"{prefix}:s") == b"v1"
    assert client.get(f"{prefix}:missing") is None
    assert client.incr(f"{prefix}:n") == 1
    assert client.incrby(f"{prefix}:n", 41) == 42
    assert client.mset({f"{prefix}:a": "1", f"{prefix}:b": "2"}) is True
    assert client.mget(f"{prefix}:a", f"{prefix}:b", f"{prefix}:none") == [b"1", b"2", None]
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        client.incr(f"{prefix}:s")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        client.execute_command("GET")


def test_redis_py_sync_resp2(port):
    client = resp2(port)
    basic_session(client, "sync2")
    client.close()


def test_redis_py_sync_resp3(port):
    requires(port, "HELLO", "3")
    client = redis.Redis(port=port, protocol=3, retry=no_retry())
    basic_session(client, "sync3")
    client.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_asyncio(port, protocol):
    if protocol == 3:
        requires(port, "HELLO", "3")

    async def session() -> None:
        client = redis.asyncio.Redis(port=port, protocol=protocol)
        try:
            prefix = f"async{protocol}"
            assert await client.ping() is True
            assert await client.set(f"{prefix}:k", "v") is True
            assert await client.get(f"{prefix}:k") == b"v"
            counts = await asyncio.gather(*(client.incr(f"{prefix}:n") for _ in range(100)))
            assert sorted(counts) == list(range(1, 101))
            pipe = client.pipeline(transaction=False)
            for i in range(50):
                pipe.set(f"{prefix}:p{i}", i)
            for i in range(50):
                pipe.get(f"{prefix}:p{i}")
            results = await pipe.execute()
            assert results[50:] == [str(i).encode() for i in range(50)]
        finally:
            await client.aclose()

    asyncio.run(session())


def test_redis_py_hello_reports_the_protocol(port):
    requires(port, "HELLO", "3")
    client = redis.Redis(port=port, protocol=3, retry=no_retry())
    reply = client.execute_command("HELLO", "3")
    assert reply[b"proto"] == 3
    client.close()


def test_info_and_config_know_the_process(port, server):
    client = resp2(port)
    skip_if_missing(client, "INFO", "server")
    info = client.info("server")
    assert info["tcp_port"] == port
    assert info["process_id"] == server[1].pid
    skip_if_missing(client, "CONFIG", "GET", "port")
    assert client.config_get("port") == {"port": str(port)}
    client.close()


def cli(port: int, *args: str, stdin: bytes | None = None, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True, timeout=timeout_s)


@needs_redis_tools
def test_redis_cli_one_shot(port):
    assert cli(port, "SET", "cli:k", "hello world").stdout == b"OK\n"
    assert cli(port, "GET", "cli:k").stdout == b"hello world\n"
    assert cli(port, "GET", "cli:none").stdout == b"\n"
    assert cli(port, "INCR", "cli:k").stdout == b"ERR value is not an integer or out of range\n\n"


def test_a_new_connection_after_an_idle_spell_gets_the_time_of_now(port):
    """A client that connects and sends at once, after the server idled: the server's
    clock for its request is the present one (a stale one expired a fresh key at once
    and showed a negative age)."""
    assert resp2(port).ping()
    time.sleep(2.2)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(encode("SET", "idle:k", "v", "PX", "2000") + encode("PTTL", "idle:k") + encode("CLIENT", "INFO"))
        replies = b""
        while replies.count(b"\r\n") < 3:
            replies += sock.recv(65536)
    ok, pttl, info = replies.split(b"\r\n", 2)
    assert ok == b"+OK"
    assert 1000 < int(pttl[1:]) <= 2000
    assert re.search(rb" age=0 idle=0 ", info)


@needs_redis_tools
def test_redis_cli_repeat(port):
    done = cli(port, "-r", "5", "INCR", "cli:counter")
    assert done.stdout.split() == [b"1", b"2", b"3", b"4", b"5"]


@needs_redis_tools
def test_redis_cli_reads_commands_from_stdin(port):
    done = cli(port, stdin=b"SET cli:stdin 7\nINCR cli:stdin\nGET cli:stdin\n")
    assert done.stdout.split() == [b"OK", b"8", b"8"]


@needs_redis_tools
def test_redis_cli_pipe_mode(port):
    count = 5000
    data = b"".join(encode("SET", f"pipe:{i}", secrets.token_hex(8)) for i in range(count - 1))
    data += encode("INCR", "pipe:counter")
    done = cli(port, "--pipe", stdin=data)
    assert done.returncode == 0, done.stderr
    # redis-cli --pipe appends an ECHO of a random 20-byte marker, waits for it, and does not count it.
    assert f"errors: 0, replies: {count}".encode() in done.stdout, done.stdout
    client = resp2(port)
    assert client.get("pipe:counter") == b"1"
    assert len(client.get(f"pipe:{count - 2}")) == 16
    client.close()


@needs_redis_tools
def test_redis_cli_pipe_mode_counts_errors(port):
    data = encode("SET", "pipe:x", "1") + encode("INCR", "pipe:x") + encode("NOSUCHCOMMAND")
    done = cli(port, "--pipe", stdin=data)
    assert b"errors: 1, replies: 3" in done.stdout, done.stdout


@needs_redis_tools
def test_redis_cli_interactive(port):
    """redis-cli on a terminal: type commands, read the answers it prints."""
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes redis-cli on the pty
        os.execvp("redis-cli", ["redis-cli", "-p", str(port)])
    try:
        screen = _read_until(fd, b"127.0.0.1")
        os.write(fd, b"SET tty:k 42\r")
        screen = _read_until(fd, b"OK")
        os.write(fd, b"INCR tty:k\r")
        screen = _read_until(fd, b"(integer) 43")
        os.write(fd, b"GET tty:k\r")
        screen = _read_until(fd, b'"43"')
        assert b'"43"' in screen
        os.write(fd, b"QUIT\r")
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def _read_until(fd: int, marker: bytes, timeout_s: float = 10.0) -> bytes:
    """Read the terminal until marker was printed and the next prompt is waiting."""
    deadline = time.monotonic() + timeout_s
    seen = b""
    while marker not in seen or not seen.rstrip(b" ").endswith(b">") or seen.rfind(b">") < seen.find(marker):
        left = deadline - time.monotonic()
        assert left > 0, f"redis-cli never printed {marker!r}; screen: {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if b"\x1b[6n" in chunk:  # linenoise asks where the cursor is: column 1
                os.write(fd, b"\x1b[1;1R")
            seen += chunk
    return seen


@needs_redis_tools
def test_redis_benchmark_completes(port):
    done = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "ping_mbulk,set,get,incr,mset", "-n", "2000", "-c", "20",
         "-P", "4", "--csv"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names = [row.split(",")[0].strip('"') for row in done.stdout.splitlines()[1:]]
    assert names == ["PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]
    assert all(float(re.findall(r'"([\d.]+)"', row)[0]) > 0 for row in done.stdout.splitlines()[1:])


def test_a_killed_client_is_closed_before_the_replies_that_follow_go_out(port):
    """CLIENT KILL ends the victim's connection at once, as Redis's freeClient: here before a
    DEBUG SLEEP in the same transaction, so the victim sees its end before the killer's reply
    can exist (a replica killed so then notices before any client can ask it)."""
    victim, killer = connect(port), connect(port)
    victim.sendall(encode("CLIENT", "ID"))
    victim_id = victim.recv(100).strip(b":\r\n")
    killer.sendall(b"".join(encode(*argv) for argv in (
        ("MULTI",), ("CLIENT", "KILL", "ID", victim_id), ("DEBUG", "SLEEP", "0.5"), ("EXEC",))))
    assert read_until_eof(victim) == (b"", True)
    assert select.select([killer], [], [], 0)[0] == []  # the transaction's reply is not written yet
    assert read_exactly(killer, 5) == b"+OK\r\n"
    killer.close()


def _last_commands(port: int) -> list[str]:
    """CLIENT LIST's cmd for a client after each request, read from another connection."""
    observer = resp2(port)
    seen = []
    with contextlib.closing(socket.create_connection(("127.0.0.1", port))) as sock:
        for request in [("CLIENT", "SETNAME", "c"), ("SET", "k"), ("NOSUCHCOMMAND",), ("CLIENT", "NOSUCH"),
                        ("CLIENT",), ("GET", "k", "extra"), ("MULTI",), ("SET", "k", "v"), ("EXEC",),
                        ("CLIENT", "SETNAME")]:
            sock.sendall(encode(*request))
            time.sleep(0.05)
            sock.recv(65536)
            line = next(line for line in observer.execute_command("CLIENT", "LIST").decode().splitlines()
                        if " name=c " in line)
            seen.append(re.search(r" cmd=(\S+)", line).group(1))
    observer.close()
    return seen


def test_client_list_cmd_names_the_command_looked_up_even_refused_as_redis_server():
    theirs, ours = measured_on_both(_last_commands)
    assert ours == theirs
    assert "NULL" in theirs and "set" in theirs
