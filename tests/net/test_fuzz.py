"""Random and mutated RESP from many connections at once: kvserver must survive and stay correct.

Payloads come from a seeded `random.Random` (``KV_FUZZ_SEED`` to replay one
run), so a failure names the payload that caused it. Each payload goes out on
its own connection, split into random chunks. Checked per payload: every
reply is well-formed RESP, and a connection the server closes ends with a
``Protocol error``. When redis-server is installed the same payloads go to it
too, and both must close the same connections with the same error after the
same number of replies. At the end the server must still be up and answer a
well-behaved client correctly.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import random
import shutil
import time

import hiredis

from tests.net.util import connect, encode, resp2
from tests.servers import redis_server

SEED = int(os.environ.get("KV_FUZZ_SEED", "20261125"))
PAYLOADS = 300
WORKERS = 12
TIME_LIMIT_S = 20.0
QUIET_S = 0.3

COMMANDS = [
    ["PING"], ["PING", "hello"], ["ECHO", "x" * 5], ["SET", "k{n}", "v{n}"], ["SET", "k{n}", "v", "EX", "100"],
    ["SET", "k{n}", "v", "NX"], ["GET", "k{n}"], ["INCR", "c{n}"], ["INCRBY", "c{n}", "17"], ["DECR", "c{n}"],
    ["APPEND", "k{n}", "tail"], ["STRLEN", "k{n}"], ["MSET", "a{n}", "1", "b{n}", "2"], ["MGET", "a{n}", "b{n}"],
    ["GETRANGE", "k{n}", "0", "-1"], ["INCRBYFLOAT", "f{n}", "1.5"], ["GETSET", "k{n}", "w"], ["NOSUCHCMD", "x"],
    ["GET"], ["SET", "k{n}"],
]
EDGES = [
    b"*-1\r\n", b"*0\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$0\r\n\r\n", b"*2\r\n*1\r\n$1\r\na\r\n", b"*1\r\n:1\r\n",
    b"*99999999\r\n", b"*2147483647\r\n", b"*1\r\n$536870913\r\n", b"*1\r\n$2147483648\r\n", b"$3\r\nfoo\r\n",
    b"+OK\r\n", b"-ERR\r\n", b":1\r\n", b"\r\n", b"\n", b"   \r\n", b'"unterminated\r\n', b"'x'y\r\n",
    b"PING \x00\r\n", b"*\r\n", b"*1\r\n$\r\n", b"*01\r\n$4\r\nPING\r\n", b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$4\r\nPINGxx", b"*+1\r\n", b"*1\r\n$+4\r\nPING\r\n",
]


def request(rng: random.Random, n: int) -> bytes:
    args = [arg.replace("{n}", str(n)) for arg in rng.choice(COMMANDS)]
    if rng.random() < 0.2:  # the inline form
        return (" ".join(args) + rng.choice(["\r\n", "\n"])).encode()
    return encode(*args)


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            data += rng.choice(EDGES)
            continue
        at = rng.randrange(len(data))
        kind = rng.randrange(7)
        if kind == 0:
            data[at] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = rng.choice([b"\r\n", b"\0", b"*", b"$", b"-", b"9" * rng.randint(1, 12), b'"', b"'"])
        elif kind == 2:
            del data[at : at + rng.randint(1, 8)]
        elif kind == 3:
            data = data[:at]
        elif kind == 4:
            data[at:at] = data[max(0, at - 10) : at]
        elif kind == 5:
            data[at:at] = rng.choice(EDGES)
        else:
            data[at:at] = rng.randbytes(rng.randint(1, 16))
    return bytes(data)


def make_payload(rng: random.Random, index: int) -> bytes:
    kind = rng.random()
    requests = b"".join(request(rng, index) for _ in range(rng.randint(1, 6)))
    if kind < 0.3:
        return requests
    if kind < 0.75:
        return mutate(rng, requests)
    if kind < 0.9:
        return rng.choice(EDGES) + requests if rng.random() < 0.5 else requests + rng.choice(EDGES)
    return rng.randbytes(rng.randint(1, 200))


def send(port: int, payload: bytes, rng: random.Random) -> tuple[list, str]:
    """Send payload in random chunks; the decoded replies, and how it ended: open, closed or reset.

    A server that closes while our later bytes are still arriving makes the
    kernel send a reset, which may discard the reply before it: Redis too.
    """
    reader = hiredis.Reader()
    replies = []
    closed = False
    reset = False
    with contextlib.closing(connect(port)) as sock:
        cuts = sorted(rng.sample(range(1, len(payload)), min(rng.randint(0, 3), len(payload) - 1))) if len(payload) > 1 else []
        start = 0
        try:
            for cut in [*cuts, len(payload)]:
                sock.sendall(payload[start:cut])
                start = cut
                if rng.random() < 0.3:
                    time.sleep(0.002)
        except (BrokenPipeError, ConnectionResetError):
            closed = reset = True
        sock.settimeout(QUIET_S)
        while not closed:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = reset = True
                break
            if not chunk:
                closed = True
                break
            reader.feed(chunk)  # hiredis raises ProtocolError on a malformed reply
            while (reply := reader.gets()) is not False:
                replies.append(reply)
    if not reset:
        assert reader.gets() is False, "a reply was left half-sent"
    return replies, "reset" if reset else "closed" if closed else "open"


def outcome(replies: list, ending: str) -> tuple:
    """What two servers given the same payload must agree on."""
    if ending == "reset":
        return ("reset",)
    last = replies[-1] if replies else None
    protocol_error = str(last) if isinstance(last, hiredis.ReplyError) and "Protocol error" in str(last) else None
    return len(replies), ending, protocol_error


def run_all(port: int, payloads: list[bytes], deadline: float) -> list[tuple | None]:
    def one(index: int) -> tuple | None:
        if time.monotonic() > deadline:
            return None
        replies, ending = send(port, payloads[index], random.Random(SEED * 1000 + index))
        result = outcome(replies, ending)
        if ending == "closed":
            assert result[2] is not None, f"payload {index} {payloads[index]!r}: closed without a protocol error"
        return result

    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, range(len(payloads))))


def test_fuzzed_resp_from_many_connections(server):
    port, proc = server
    rng = random.Random(SEED)
    payloads = [make_payload(rng, index) for index in range(PAYLOADS)]
    deadline = time.monotonic() + TIME_LIMIT_S
    ours = run_all(port, payloads, deadline)
    assert proc.poll() is None, "kvserver died under fuzzing"
    assert sum(result is not None for result in ours) >= PAYLOADS // 3, "too few payloads ran in the time limit"

    client = resp2(port, socket_timeout=10)
    assert client.ping()
    assert client.set("fuzz:after", "still-correct")
    assert client.get("fuzz:after") == b"still-correct"
    assert client.incr("fuzz:after-counter") == 1
    client.close()

    if shutil.which("redis-server") is None:
        return
    with redis_server() as redis_port:
        theirs = run_all(redis_port, payloads, time.monotonic() + TIME_LIMIT_S)
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        if mine is not None and reference is not None and ("reset",) not in (mine, reference):
            assert mine == reference, f"payload {index} {payloads[index]!r}: kvserver {mine} redis-server {reference}"
