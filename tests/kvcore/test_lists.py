"""The list family against the pure core, every expected reply checked against redis-server too.

`CASES` and `SCENARIOS` run twice: on a kvcore node and on a real
redis-server 7.0 (skipped when it is missing), so the expectations written
here are Redis's, not copies of our own output. Blocking scenarios use several
clients; the core's clock is moved by `Node.tick`, Redis's by sleeping.
"""

from __future__ import annotations

import socket
import time

import hiredis
import pytest

from kvcore.effects import AppendLog
from kvcore.types_list import ListValue
from tests.kvcore.harness import CoreClient, encode_request, make_node

NIL = None
NULL_ARRAY = None  # hiredis decodes *-1 and $-1 alike; RESP_CASES tell them apart
OK = b"OK"
WRONGTYPE = ("err", "WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = ("err", "ERR syntax error")
NOT_INT = ("err", "ERR value is not an integer or out of range")


def err(text: str):
    return ("err", text)


def normalize(reply):
    if isinstance(reply, hiredis.ReplyError):
        return ("err", str(reply))
    if isinstance(reply, list):
        return [normalize(item) for item in reply]
    return reply


def run_case(call, steps) -> None:
    for step in steps:
        *argv, expected = step
        got = normalize(call(*argv))
        assert got == expected, f"{argv!r}: expected {expected!r}, got {got!r}"


# (name, [(*argv, expected reply), ...]) -- each case starts from an empty server.
CASES = [
    ("push and range", [
        ("RPUSH", "l", "a", "b", "c", 3),
        ("LPUSH", "l", "x", "y", 5),
        ("LRANGE", "l", 0, -1, [b"y", b"x", b"a", b"b", b"c"]),
        ("LRANGE", "l", -2, 100, [b"b", b"c"]),
        ("LRANGE", "l", 3, 1, []),
        ("LRANGE", "l", -100, 0, [b"y"]),
        ("LRANGE", "l", 5, 10, []),
        ("LRANGE", "nokey", 0, -1, []),
        ("LRANGE", "l", "a", 1, NOT_INT),
        ("LLEN", "l", 5),
        ("LLEN", "nokey", 0),
    ]),
    ("pushx", [
        ("LPUSHX", "l", "a", 0),
        ("RPUSHX", "l", "a", "b", 0),
        ("EXISTS", "l", 0),
        ("RPUSH", "l", "m", 1),
        ("LPUSHX", "l", "a", "b", 3),
        ("RPUSHX", "l", "z", 4),
        ("LRANGE", "l", 0, -1, [b"b", b"a", b"m", b"z"]),
    ]),
    ("pops", [
        ("RPUSH", "l", "a", "b", "c", "d", 4),
        ("LPOP", "l", b"a"),
        ("RPOP", "l", b"d"),
        ("LPOP", "l", 0, []),
        ("RPOP", "l", 5, [b"c", b"b"]),
        ("EXISTS", "l", 0),
        ("LPOP", "l", NIL),
        ("LPOP", "l", 2, NULL_ARRAY),
        ("LPOP", "l", -1, err("ERR value is out of range, must be positive")),
        ("LPOP", "l", "x", err("ERR value is out of range, must be positive")),
        ("LPOP", "l", 1, 2, err("ERR wrong number of arguments for 'lpop' command")),
    ]),
    ("index and set", [
        ("RPUSH", "l", "a", "b", "c", 3),
        ("LINDEX", "l", 0, b"a"),
        ("LINDEX", "l", -1, b"c"),
        ("LINDEX", "l", 3, NIL),
        ("LINDEX", "l", -4, NIL),
        ("LINDEX", "l", "x", NOT_INT),
        ("LINDEX", "nokey", "x", NIL),
        ("LSET", "l", 1, "B", OK),
        ("LSET", "l", -1, "C", OK),
        ("LSET", "l", 3, "D", err("ERR index out of range")),
        ("LSET", "l", "x", "D", NOT_INT),
        ("LSET", "nokey", 0, "D", err("ERR no such key")),
        ("LRANGE", "l", 0, -1, [b"a", b"B", b"C"]),
    ]),
    ("insert", [
        ("RPUSH", "l", "a", "b", "a", 3),
        ("LINSERT", "l", "BEFORE", "a", "x", 4),
        ("LINSERT", "l", "after", "a", "y", 5),
        ("LINSERT", "l", "after", "zz", "y", -1),
        ("LINSERT", "l", "middle", "a", "y", SYNTAX),
        ("LINSERT", "nokey", "before", "a", "y", 0),
        ("LINSERT", "nokey", "middle", "a", "y", SYNTAX),
        ("LRANGE", "l", 0, -1, [b"x", b"a", b"y", b"b", b"a"]),
    ]),
    ("lrem", [
        ("RPUSH", "l", "a", "b", "a", "c", "a", 5),
        ("LREM", "l", -2, "a", 2),
        ("LRANGE", "l", 0, -1, [b"a", b"b", b"c"]),
        ("LREM", "l", 1, "c", 1),
        ("LREM", "l", 0, "zz", 0),
        ("LREM", "l", 0, "a", 1),
        ("LREM", "l", 0, "b", 1),
        ("EXISTS", "l", 0),
        ("LREM", "nokey", "x", "a", NOT_INT),
        ("LREM", "nokey", 1, "a", 0),
    ]),
    ("ltrim", [
        ("RPUSH", "l", "a", "b", "c", "d", "e", 5),
        ("LTRIM", "l", 1, -2, OK),
        ("LRANGE", "l", 0, -1, [b"b", b"c", b"d"]),
        ("LTRIM", "l", -100, 100, OK),
        ("LLEN", "l", 3),
        ("LTRIM", "l", 2, 1, OK),
        ("EXISTS", "l", 0),
        ("LTRIM", "nokey", 0, 1, OK),
        ("LTRIM", "nokey", "a", 1, NOT_INT),
    ]),
    ("lpos", [
        ("RPUSH", "l", "a", "b", "a", "c", "a", 5),
        ("LPOS", "l", "a", 0),
        ("LPOS", "l", "a", "RANK", 2, 2),
        ("LPOS", "l", "a", "RANK", -1, 4),
        ("LPOS", "l", "a", "RANK", -2, "COUNT", 0, [2, 0]),
        ("LPOS", "l", "a", "COUNT", 2, [0, 2]),
        ("LPOS", "l", "a", "COUNT", 0, "MAXLEN", 3, [0, 2]),
        ("LPOS", "l", "a", "RANK", -1, "COUNT", 2, "MAXLEN", 2, [4]),
        ("LPOS", "l", "a", "rank", "-9223372036854775808", 4),
        ("LPOS", "l", "a", "RANK", "-9223372036854775808", "COUNT", 1, [4, 2, 0]),
        ("LPOS", "l", "z", NIL),
        ("LPOS", "l", "z", "COUNT", 0, []),
        ("LPOS", "nokey", "a", NIL),
        ("LPOS", "nokey", "a", "COUNT", 1, []),
        ("LPOS", "l", "a", "RANK", 0, err(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list")),
        ("LPOS", "l", "a", "RANK", "x", NOT_INT),
        ("LPOS", "l", "a", "COUNT", -1, err("ERR COUNT can't be negative")),
        ("LPOS", "l", "a", "COUNT", "x", err("ERR COUNT can't be negative")),
        ("LPOS", "l", "a", "MAXLEN", -1, err("ERR MAXLEN can't be negative")),
        ("LPOS", "l", "a", "COUNT", SYNTAX),
        ("LPOS", "l", "a", "FOO", 1, SYNTAX),
    ]),
    ("moves", [
        ("RPUSH", "src", "a", "b", "c", 3),
        ("RPOPLPUSH", "src", "dst", b"c"),
        ("LMOVE", "src", "dst", "left", "RIGHT", b"a"),
        ("LMOVE", "src", "src", "LEFT", "RIGHT", b"b"),
        ("LMOVE", "src", "dst", "LEFT", "LEFT", b"b"),
        ("EXISTS", "src", 0),
        ("LRANGE", "dst", 0, -1, [b"b", b"c", b"a"]),
        ("LMOVE", "src", "dst", "LEFT", "LEFT", NIL),
        ("LMOVE", "dst", "dst", "UP", "LEFT", SYNTAX),
        ("SET", "s", "x", OK),
        ("LMOVE", "s", "dst", "LEFT", "LEFT", WRONGTYPE),
        ("LMOVE", "dst", "s", "LEFT", "LEFT", WRONGTYPE),
        ("RPOPLPUSH", "nokey", "s", NIL),
        ("LLEN", "dst", 3),
    ]),
    ("lmpop", [
        ("RPUSH", "b", "1", "2", "3", 3),
        ("LMPOP", 2, "a", "b", "LEFT", [b"b", [b"1"]]),
        ("LMPOP", 2, "a", "b", "right", "count", 5, [b"b", [b"3", b"2"]]),
        ("LMPOP", 2, "a", "b", "LEFT", NULL_ARRAY),
        ("LMPOP", 0, "a", "LEFT", err("ERR numkeys should be greater than 0")),
        ("LMPOP", "x", "a", "LEFT", err("ERR numkeys should be greater than 0")),
        ("LMPOP", 2, "a", "LEFT", SYNTAX),
        ("LMPOP", 1, "a", "MIDDLE", SYNTAX),
        ("LMPOP", 1, "a", "LEFT", "COUNT", 0, err("ERR count should be greater than 0")),
        ("LMPOP", 1, "a", "LEFT", "COUNT", "x", err("ERR count should be greater than 0")),
        ("LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 1, SYNTAX),
        ("LMPOP", "9223372036854775807", "a", "LEFT", SYNTAX),
        ("SET", "s", "x", OK),
        ("RPUSH", "c", "1", 1),
        ("LMPOP", 2, "nokey", "s", "LEFT", WRONGTYPE),
        ("LMPOP", 2, "c", "s", "LEFT", [b"c", [b"1"]]),
    ]),
    ("wrong type", [
        ("SET", "s", "x", OK),
        ("LPUSH", "s", "a", WRONGTYPE),
        ("RPUSHX", "s", "a", WRONGTYPE),
        ("LPOP", "s", WRONGTYPE),
        ("LPOP", "s", 0, WRONGTYPE),
        ("LLEN", "s", WRONGTYPE),
        ("LRANGE", "s", 0, 1, WRONGTYPE),
        ("LRANGE", "s", 0, "x", NOT_INT),
        ("LINDEX", "s", 0, WRONGTYPE),
        ("LSET", "s", 0, "a", WRONGTYPE),
        ("LINSERT", "s", "BEFORE", "a", "b", WRONGTYPE),
        ("LREM", "s", 0, "a", WRONGTYPE),
        ("LTRIM", "s", 0, 1, WRONGTYPE),
        ("LPOS", "s", "a", WRONGTYPE),
        ("LPOS", "s", "a", "FOO", SYNTAX),
        ("BLPOP", "s", "0.01", WRONGTYPE),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", "0.01", WRONGTYPE),
    ]),
    ("blocking with data", [
        ("RPUSH", "b", "1", "2", "3", 3),
        ("BLPOP", "a", "b", 0, [b"b", b"1"]),
        ("BRPOP", "a", "b", "0.5", [b"b", b"3"]),
        ("BRPOPLPUSH", "b", "c", 0, b"2"),
        ("BLMOVE", "c", "b", "RIGHT", "LEFT", 0, b"2"),
        ("BLMPOP", 0, 2, "a", "b", "LEFT", "COUNT", 3, [b"b", [b"2"]]),
        ("EXISTS", "b", "c", 0),
    ]),
    ("blocking argument errors", [
        ("BLPOP", "k", "x", err("ERR timeout is not a float or out of range")),
        ("BLPOP", "k", "", err("ERR timeout is not a float or out of range")),
        ("BLPOP", "k", " 1", err("ERR timeout is not a float or out of range")),
        ("BLPOP", "k", "nan", err("ERR timeout is not a float or out of range")),
        ("BLPOP", "k", -1, err("ERR timeout is negative")),
        ("BRPOP", "k", "inf", err("ERR timeout is negative")),
        ("BRPOP", "k", "1e16", err("ERR timeout is negative")),
        ("BRPOP", "k", "9223372036854775.8072", err("ERR timeout is negative")),
        ("BLMOVE", "k", "d", "UP", "LEFT", "x", SYNTAX),
        ("BLMOVE", "k", "d", "LEFT", "LEFT", "x", err("ERR timeout is not a float or out of range")),
        ("BRPOPLPUSH", "k", "d", "-0.5", err("ERR timeout is negative")),
        ("BLMPOP", "x", 0, "k", "LEFT", err("ERR numkeys should be greater than 0")),
        ("BLMPOP", "x", 1, "k", "LEFT", err("ERR timeout is not a float or out of range")),
        ("BLMPOP", -1, 1, "k", "LEFT", "COUNT", 0, err("ERR count should be greater than 0")),
        ("BLMPOP", -1, 1, "k", "LEFT", err("ERR timeout is negative")),
    ]),
    ("blocking inside MULTI", [
        ("RPUSH", "b", "1", 1),
        ("MULTI", OK),
        ("BLPOP", "a", 0, b"QUEUED"),
        ("BRPOPLPUSH", "a", "c", 0, b"QUEUED"),
        ("BLMOVE", "a", "c", "LEFT", "LEFT", 0, b"QUEUED"),
        ("BLMPOP", 0, 1, "a", "LEFT", b"QUEUED"),
        ("BLPOP", "a", "b", 0, b"QUEUED"),
        ("EXEC", [NULL_ARRAY, NIL, NIL, NULL_ARRAY, [b"b", b"1"]]),
    ]),
]


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_core(steps):
    run_case(CoreClient(make_node()).call, steps)


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_redis(steps, redis_conn):
    """The same expectations hold on redis-server: they are Redis's."""
    redis_conn.call([b"FLUSHALL"])
    run_case(lambda *argv: redis_conn.call([a if isinstance(a, bytes) else str(a).encode() for a in argv]), steps)


# -- RESP2/RESP3 encodings of the nulls, byte for byte --------------------------------
RESP_CASES = [
    (["LPOP", "nokey"], b"$-1\r\n", b"_\r\n"),
    (["LPOP", "nokey", "2"], b"*-1\r\n", b"_\r\n"),
    (["LMPOP", "1", "nokey", "LEFT"], b"*-1\r\n", b"_\r\n"),
    (["LPOS", "nokey", "a"], b"$-1\r\n", b"_\r\n"),
    (["LINDEX", "nokey", "0"], b"$-1\r\n", b"_\r\n"),
    (["RPOPLPUSH", "nokey", "x"], b"$-1\r\n", b"_\r\n"),
]


def core_raw(requests: list[list[str]], resp3: bool) -> list[bytes]:
    node = make_node()
    CoreClient(node, conn=1)
    out = []
    for argv in ([["HELLO", "3"]] if resp3 else []) + requests:
        node.receive(1, encode_request(*argv), node.now)
        out.append(b"".join(e.data for e in node.take_effects() if hasattr(e, "data")))
    return out[1:] if resp3 else out


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("argv,resp2_bytes,resp3_bytes", RESP_CASES, ids=[" ".join(c[0]) for c in RESP_CASES])
def test_null_encodings(argv, resp2_bytes, resp3_bytes, resp3):
    assert core_raw([argv], resp3) == [resp3_bytes if resp3 else resp2_bytes]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_null_encodings_on_redis(redis_port, resp3):
    world = RedisWorld(redis_port)
    try:
        conn = world.client()
        if resp3:
            conn.sendall(encode_request("HELLO", "3"))
            world.raw(conn)
        for argv, resp2_bytes, resp3_bytes in RESP_CASES:
            conn.sendall(encode_request(*argv))
            assert world.raw(conn) == (resp3_bytes if resp3 else resp2_bytes), argv
    finally:
        world.close()


# -- several clients: blocking ----------------------------------------------------------
class CoreWorld:
    """Clients of one node; effects are routed to whichever client they are for."""

    def __init__(self) -> None:
        self.node = make_node()
        self.clients: list[CoreClient] = []

    def client(self) -> CoreClient:
        client = CoreClient(self.node, conn=len(self.clients) + 1)
        self.clients.append(client)
        return client

    def send(self, client: CoreClient, *argv) -> None:
        self.node.receive(client.conn, encode_request(*argv), self.node.now)
        self._pump()

    def replies(self, client: CoreClient, expected: int) -> list:
        self._pump()
        got, client._replies = client._replies, []
        return [normalize(r) for r in got]

    def wait(self, ms: int) -> None:
        self.node.tick(self.node.now + ms)
        self._pump()

    def disconnect(self, client: CoreClient) -> None:
        self.node.closed(client.conn, self.node.now)

    def _pump(self) -> None:
        effects = self.node.take_effects()
        for client in self.clients:
            client._deliver([e for e in effects if getattr(e, "conn", None) == client.conn])


class RedisWorld:
    """The same interface over sockets to redis-server."""

    @classmethod
    def play(cls, scenario, port: int) -> None:
        """Play ``scenario`` on the redis-server at ``port``, closing its connections whatever happens."""
        world = cls(port)
        try:
            scenario(world)
        finally:
            world.close()

    def __init__(self, port: int) -> None:
        self.port = port
        self.socks: list[socket.socket] = []
        self.readers: dict[socket.socket, hiredis.Reader] = {}
        first = self.client()
        first.sendall(encode_request("FLUSHALL"))
        self.replies(first, 1)

    def client(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        self.socks.append(sock)
        self.readers[sock] = hiredis.Reader()
        return sock

    def send(self, sock: socket.socket, *argv) -> None:
        sock.sendall(encode_request(*argv))
        time.sleep(0.02)

    def replies(self, sock: socket.socket, expected: int) -> list:
        reader, got = self.readers[sock], []
        deadline = time.monotonic() + (1.0 if expected else 0.05)
        while time.monotonic() < deadline and (len(got) < expected or not expected):
            reply = reader.gets()
            if reply is not False:
                got.append(normalize(reply))
                continue
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            reader.feed(data)
        return got

    def raw(self, sock: socket.socket) -> bytes:
        sock.settimeout(1.0)
        data = sock.recv(65536)
        sock.settimeout(0.05)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
        return data

    def wait(self, ms: int) -> None:
        time.sleep(ms / 1000 + 0.15)

    def disconnect(self, sock: socket.socket) -> None:
        sock.close()
        time.sleep(0.02)

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def scenario_fifo(world) -> None:
    """Waiters are served in arrival order, one element each, after the push completes."""
    a, b, pusher = world.client(), world.client(), world.client()
    world.send(a, "BLPOP", "k", "other", 0)
    world.send(b, "BRPOP", "k", 0)
    assert world.replies(a, 0) == [] and world.replies(b, 0) == []
    world.send(pusher, "RPUSH", "k", "x", "y", "z")
    assert world.replies(pusher, 1) == [3]
    assert world.replies(a, 1) == [[b"k", b"x"]]
    assert world.replies(b, 1) == [[b"k", b"z"]]
    world.send(pusher, "LRANGE", "k", 0, -1)
    assert world.replies(pusher, 1) == [[b"y"]]


def scenario_queued_requests(world) -> None:
    """Requests sent while blocked run once served, in order."""
    a, pusher = world.client(), world.client()
    world.send(a, "BLPOP", "k", 0)
    world.send(a, "PING")
    world.send(a, "LLEN", "k")
    assert world.replies(a, 0) == []
    world.send(pusher, "LPUSH", "k", "v1", "v2")
    assert world.replies(a, 3) == [[b"k", b"v2"], b"PONG", 1]


def scenario_timeout(world) -> None:
    """A deadline that passes answers a null array; 0 waits forever."""
    a, b, pusher = world.client(), world.client(), world.client()
    world.send(a, "BLPOP", "k", "0.1")
    world.send(b, "BLMPOP", 0, 1, "k", "RIGHT", "COUNT", 2)
    world.wait(200)
    assert world.replies(a, 1) == [NULL_ARRAY]
    assert world.replies(b, 0) == []
    world.send(pusher, "RPUSH", "k", "1", "2", "3")
    assert world.replies(b, 1) == [[b"k", [b"3", b"2"]]]


def scenario_blmove_chain(world) -> None:
    """A served BLMOVE pushes to its destination, which serves the next waiter."""
    a, b, pusher = world.client(), world.client(), world.client()
    world.send(a, "BLMOVE", "src", "mid", "LEFT", "RIGHT", 0)
    world.send(b, "BRPOPLPUSH", "mid", "dst", 0)
    world.send(pusher, "RPUSH", "src", "v")
    assert world.replies(a, 1) == [b"v"]
    assert world.replies(b, 1) == [b"v"]
    world.send(pusher, "LRANGE", "dst", 0, -1)
    world.send(pusher, "EXISTS", "src", "mid")
    assert world.replies(pusher, 3) == [1, [b"v"], 0]


def scenario_blmove_wrongtype_target(world) -> None:
    """Served into a destination of another type, a BLMOVE gets WRONGTYPE; the data stays."""
    a, pusher = world.client(), world.client()
    world.send(pusher, "SET", "dst", "string")
    world.send(a, "BLMOVE", "src", "dst", "LEFT", "LEFT", 0)
    world.send(pusher, "RPUSH", "src", "v")
    assert world.replies(a, 1) == [WRONGTYPE]
    world.send(pusher, "LRANGE", "src", 0, -1)
    assert world.replies(pusher, 3) == [OK, 1, [b"v"]]


def scenario_disconnected_waiter(world) -> None:
    """A waiter that went away is skipped."""
    gone, a, pusher = world.client(), world.client(), world.client()
    world.send(gone, "BLPOP", "k", 0)
    world.send(a, "BLPOP", "k", 0)
    world.disconnect(gone)
    world.send(pusher, "RPUSH", "k", "v")
    assert world.replies(a, 1) == [[b"k", b"v"]]


def scenario_push_in_transaction(world) -> None:
    """Clients are served after EXEC, from what the whole transaction left."""
    a, pusher = world.client(), world.client()
    world.send(a, "BLPOP", "k", 0)
    for argv in (["MULTI"], ["RPUSH", "k", "1", "2"], ["LPOP", "k"], ["EXEC"]):
        world.send(pusher, *argv)
    assert world.replies(pusher, 4)[-1] == [2, b"1"]
    assert world.replies(a, 1) == [[b"k", b"2"]]


def scenario_wrong_type_ready(world) -> None:
    """A key that comes back as another type serves nobody; the waiter stays blocked."""
    a, pusher = world.client(), world.client()
    world.send(a, "BLPOP", "k", 0)
    world.send(pusher, "SET", "k", "string")
    assert world.replies(a, 0) == []
    world.send(pusher, "DEL", "k")
    world.send(pusher, "RPUSH", "k", "v")
    assert world.replies(a, 1) == [[b"k", b"v"]]


def scenario_key_created_by_rename(world) -> None:
    """A key created by RENAME / RENAMENX serves its waiters (Redis signals every key a db adds)."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(a, "BLPOP", "foo", 0)
    world.send(b, "BLMPOP", 0, 1, "bar", "LEFT", "COUNT", 2)
    world.send(writer, "RPUSH", "bob", "abc", "def", "hij")
    world.send(writer, "RENAME", "bob", "foo")
    assert world.replies(a, 1) == [[b"foo", b"abc"]]
    world.send(writer, "RENAMENX", "foo", "bar")
    assert world.replies(b, 1) == [[b"bar", [b"def", b"hij"]]]
    world.send(writer, "EXISTS", "foo", "bar", "bob")
    assert world.replies(writer, 4) == [3, OK, 1, 0]


def scenario_key_created_by_copy_and_sort_store(world) -> None:
    """COPY and SORT ... STORE serve list and sorted-set waiters; a key of another type serves nobody."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(a, "BLPOP", "foo", 0)
    world.send(b, "BZPOPMIN", "zfoo", 0)
    world.send(writer, "SET", "str", "x")
    world.send(writer, "COPY", "str", "foo")
    assert world.replies(a, 0) == []
    world.send(writer, "DEL", "foo")
    world.send(writer, "RPUSH", "src", "c", "a", "b")
    world.send(writer, "SORT", "src", "ALPHA", "STORE", "foo")
    assert world.replies(a, 1) == [[b"foo", b"a"]]
    world.send(writer, "ZADD", "zsrc", 1, "m")
    world.send(writer, "COPY", "zsrc", "zfoo")
    assert world.replies(b, 1) == [[b"zfoo", b"m", b"1"]]
    world.send(writer, "LRANGE", "foo", 0, -1)
    assert world.replies(writer, 9) == [OK, 1, 1, 3, 3, 1, 1, [b"b", b"c"]]


def scenario_key_created_by_move_and_restore(world) -> None:
    """MOVE into the waiter's database and RESTORE serve their waiters."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(a, "BLMPOP", 0, 1, "k", "RIGHT")
    world.send(b, "BZPOPMIN", "z", 0)
    world.send(writer, "RPUSH", "l", "x", "y")
    world.send(writer, "DUMP", "l")
    replies = world.replies(writer, 2)
    world.send(writer, "RESTORE", "k", 0, replies[1])
    assert world.replies(a, 1) == [[b"k", [b"y"]]]
    world.send(writer, "SELECT", 1)
    world.send(writer, "ZADD", "z", 2, "m")
    world.send(writer, "MOVE", "z", 0)
    assert world.replies(b, 1) == [[b"z", b"m", b"2"]]
    world.send(writer, "SELECT", 0)
    world.send(writer, "LRANGE", "k", 0, -1)
    assert world.replies(writer, 6) == [OK, OK, 1, 1, OK, [b"x"]]


SCENARIOS = [
    scenario_fifo,
    scenario_queued_requests,
    scenario_timeout,
    scenario_blmove_chain,
    scenario_blmove_wrongtype_target,
    scenario_disconnected_waiter,
    scenario_push_in_transaction,
    scenario_wrong_type_ready,
    scenario_key_created_by_rename,
    scenario_key_created_by_copy_and_sort_store,
    scenario_key_created_by_move_and_restore,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_blocking_scenario_on_core(scenario):
    scenario(CoreWorld())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_blocking_scenario_on_redis(scenario, redis_port):
    RedisWorld.play(scenario, redis_port)


# -- core-only properties ------------------------------------------------------------
def logged(node) -> list[list[bytes]]:
    reader, out = hiredis.Reader(), []
    for effect in node.take_effects():
        if isinstance(effect, AppendLog):
            reader.feed(effect.data)
            node.job_done(effect.job, True, node.now)
    while (item := reader.gets()) is not False:
        out.append(item)
    return [argv for argv in out if argv[0] != b"SELECT"]


def test_served_pops_are_logged_after_the_push():
    node = make_node(appendonly="yes")
    waiter, pusher = CoreClient(node, conn=1), CoreClient(node, conn=2)
    for argv in (["BLPOP", "k", "0"], ["BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "5"]):
        node.receive(waiter.conn, encode_request(*argv), node.now)
    node.receive(pusher.conn, encode_request("RPUSH", "k", "a", "b", "c"), node.now)
    assert logged(node) == [[b"RPUSH", b"k", b"a", b"b", b"c"], [b"LPOP", b"k"], [b"RPOP", b"k", b"2"]]


def test_non_blocking_paths_are_logged_as_plain_commands():
    node = make_node(appendonly="yes")
    client = CoreClient(node, conn=1)
    for argv in (
        ["RPUSH", "k", "a", "b", "c", "d"],
        ["BRPOP", "k", "0"],
        ["BRPOPLPUSH", "k", "d", "0"],
        ["BLMOVE", "k", "d", "LEFT", "RIGHT", "0"],
        ["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "9"],
        ["LMPOP", "1", "d", "RIGHT", "COUNT", "9"],
        ["LPOP", "nokey"],
    ):
        node.receive(client.conn, encode_request(*argv), node.now)
    assert logged(node) == [
        [b"RPUSH", b"k", b"a", b"b", b"c", b"d"],
        [b"RPOP", b"k"],
        [b"RPOPLPUSH", b"k", b"d"],
        [b"LMOVE", b"k", b"d", b"LEFT", b"RIGHT"],
        [b"LPOP", b"k", b"1"],
        [b"RPOP", b"d", b"2"],
    ]


def test_timeout_reply_is_a_null_array_in_both_protocols():
    node = make_node()
    CoreClient(node, conn=1)
    CoreClient(node, conn=2)
    node.receive(2, encode_request("HELLO", "3"), node.now)
    node.take_effects()
    for conn in (1, 2):
        node.receive(conn, encode_request("BLMOVE", "k", "d", "LEFT", "LEFT", "0.5"), node.now)
    node.tick(node.now + 400)
    assert node.take_effects() == []
    node.tick(node.now + 200)
    sent = {e.conn: e.data for e in node.take_effects()}
    assert sent == {1: b"*-1\r\n", 2: b"_\r\n"}


# Checked against redis-server: "0.0001" and "0.001" time out, "-0.001" waits forever.
@pytest.mark.parametrize("timeout,deadline_ms", [
    ("0", 0), ("0.0001", 1), ("-0.0001", 0), ("-0.001", 0), ("1", 1000), ("0.001", 1), ("1.5", 1500),
    ("0x10", 16000), ("9223372036854775.807", 2**63 - 1),
])
def test_timeout_conversion(timeout, deadline_ms):
    """Seconds to ms as Redis 7.0 does: long double arithmetic, rounded up."""
    from kvcore.blocking import parse_timeout

    client = CoreClient(make_node())
    real = client.node.clients[client.conn]
    assert parse_timeout(real, timeout.encode()) == (real.node.now + deadline_ms if deadline_ms else 0)


def test_blocked_client_state_is_released():
    world = CoreWorld()
    a, b = world.client(), world.client()
    world.send(a, "BLPOP", "k1", "k2", "k1", 0)
    blocking = world.node.blocking
    assert set(blocking.waiting) == {(0, b"k1"), (0, b"k2")}
    world.disconnect(a)
    assert blocking.waiting == {}
    world.send(b, "BLPOP", "k1", "1")
    world.wait(1500)
    assert world.replies(b, 1) == [NULL_ARRAY]
    assert blocking.waiting == {}
    assert world.node.clients[b.conn].blocked is None


def test_deadlines_of_served_clients_do_not_pile_up():
    world = CoreWorld()
    waiter, pusher = world.client(), world.client()
    for _ in range(500):
        world.send(waiter, "BLPOP", "k", "300")
        world.send(pusher, "RPUSH", "k", "v")
        assert world.replies(waiter, 1) == [[b"k", b"v"]]
    assert len(world.node.blocking._deadlines) <= 64 + 2 * len(world.node.clients) + 1


def test_value_class_and_encoding():
    node = make_node()
    client = CoreClient(node)
    client.call("RPUSH", "l", "a")
    value = node.dbs[0].data[b"l"]
    assert type(value) is ListValue and value.TYPE == "list"
    assert value.encoding(node.config) == "quicklist"  # Redis 7.0: every list


def test_span_and_trim_from_both_ends():
    value = ListValue(b"%d" % i for i in range(100))
    assert value.span(95, 99) == [b"95", b"96", b"97", b"98", b"99"]
    assert value.span(0, 2) == [b"0", b"1", b"2"]
    value.trim(90, 97)
    assert list(value) == [b"%d" % i for i in range(90, 98)]
    value.trim(1, 2)
    assert list(value) == [b"91", b"92"]


def test_million_element_list_is_linear():
    """A 1M-element list builds and answers through the core in a few seconds."""
    node = make_node()
    client = CoreClient(node)
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, 1_000_000, batch):
        assert client.call("RPUSH", "big", *range(start, start + batch)) == start + batch
    assert client.call("LLEN", "big") == 1_000_000
    assert client.call("LINDEX", "big", 500_000) == b"500000"
    assert client.call("LINDEX", "big", -1) == b"999999"
    assert client.call("LRANGE", "big", -3, -1) == [b"999997", b"999998", b"999999"]
    assert client.call("LSET", "big", 700_000, "x") == b"OK"
    assert client.call("LRANGE", "big", 699_999, 700_001) == [b"699999", b"x", b"700001"]
    for _ in range(1000):
        client.call("LPOP", "big")
        client.call("RPUSH", "big", "y")
    assert client.call("LPOS", "big", "x") == 699_000
    assert client.call("LINDEX", "big", 0) == b"1000"
    assert client.call("LPOP", "big", 3) == [b"1000", b"1001", b"1002"]
    client.call("LTRIM", "big", 0, 99)
    assert client.call("LLEN", "big") == 100
    assert time.perf_counter() - started < 15
