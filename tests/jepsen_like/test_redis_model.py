"""The reference workload's reference agrees with redis-server: the same random commands, the same replies."""

from __future__ import annotations

import random
import socket

import hiredis
import pytest

from jepsen_like.redis_model import DUMP_RESTORE, RedisModel, as_json, normalize
from jepsen_like.reference import EXEC_ABORTED
from sim import reference_ops
from sim.client import encode
from sim.resp3_replies import as_resp2
from tests.servers import kvserver, redis_server_or_skip

COMMANDS_PER_SEED = 1000


class _Connection:
    """Commands to a server over a plain socket, replies parsed as the simulator's clients parse them."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader()

    def call(self, argv: list[str], way: str = "alone"):
        """``argv``'s reply, sent `way` (reference_ops.sent); an iteration (SCAN, SSCAN...) to its end."""
        if argv[0] in reference_ops.ITERATIONS:
            cursor, found = b"0", []
            while True:
                cursor, keys = self._round_trip([reference_ops.scan_next(argv, cursor.decode())])[0]
                found += keys
                if cursor == b"0":
                    return found
        commands = reference_ops.sent(argv, way)
        replies = self._round_trip(commands)
        if way == "resp3" and len(commands) == 3:
            return as_resp2(argv, replies[1])
        return replies[-1][0] if way == "multi" else replies[-1]

    def _round_trip(self, commands: list[list[str]]) -> list:
        self.sock.sendall(encode([[arg.encode() for arg in command] for command in commands]))
        replies = []
        while len(replies) < len(commands):
            while (reply := self.reader.gets()) is False:
                self.reader.feed(self.sock.recv(65536))
            replies.append(reply)
        return replies


SMALL_ENCODINGS = ["--list-max-listpack-size", "2", "--hash-max-listpack-entries", "2",
                   "--zset-max-listpack-entries", "2", "--set-max-intset-entries", "2", "--stream-node-max-entries", "2"]


REDIS_7_KINDS = tuple(kind for kind in reference_ops.FAMILIES if kind != "json")  # Redis 7.0 has no JSON module


@pytest.fixture(scope="module", params=[[], SMALL_ENCODINGS], ids=["default-encodings", "small-encodings"])
def server(request):
    """redis-server with Redis's encoding limits, or with small ones (the model knows no encodings)."""
    with redis_server_or_skip(request.param) as port:
        connection = _Connection(port)
        yield connection
        connection.sock.close()


@pytest.fixture(scope="module")
def json_server():
    """kvserver, the one server here that speaks JSON.* (the JSON model's rules come from RedisJSON's
    documentation, written apart from kvcore's; this holds the two to each other)."""
    with kvserver() as (port, _):
        connection = _Connection(port)
        yield connection
        connection.sock.close()


def _groups(epoch: int, count: int, kinds: tuple[str, ...] = tuple(reference_ops.FAMILIES)) -> list[str]:
    """Group names as the workload makes them (`reference_ops.kind`), one epoch's, those of `kinds`,
    which they cover."""
    names = [f"k{epoch * reference_ops.CLIENTS_MAX + client}" for client in range(count)]
    names = [name for name in names if reference_ops.kind(name) in kinds]
    assert {reference_ops.kind(name) for name in names} == set(kinds)
    return names


def _replies_agree(server: _Connection, groups: list[str], seed: int, commands: int) -> None:
    """Random commands on `groups`, each sent a random way: the model's reply is the server's, and so
    is every key's final read."""
    rng = random.Random(seed)
    models = {group: RedisModel() for group in groups}
    for _ in range(commands):
        group = rng.choice(groups)
        argv, way = reference_ops.operation(rng, group), rng.choice(reference_ops.WAYS)
        reply = as_json(server.call(argv, way))
        if way == "aborted" and argv[0] not in reference_ops.ITERATIONS:  # EXEC fails and the command does nothing
            assert reply == EXEC_ABORTED, argv
            continue
        assert models[group].apply(argv, reply) == normalize(argv, reply), (argv, way)
    for group in groups:
        for argv in reference_ops.snapshot(group):
            reply = as_json(server.call(argv))
            assert models[group].apply(argv, reply) == normalize(argv, reply), argv


@pytest.mark.parametrize("seed", range(12))
def test_every_reply_is_redis_servers(server, seed):
    _replies_agree(server, _groups(seed, 16, REDIS_7_KINDS), seed, COMMANDS_PER_SEED)


@pytest.mark.parametrize("seed", range(6))
def test_every_json_reply_is_kvservers(json_server, seed):
    _replies_agree(json_server, _groups(seed, 16, ("json",)), seed, COMMANDS_PER_SEED)


@pytest.mark.parametrize("commands", [
    [["XADD", "{s}:x", "0-1", "f", "v"], ["XGROUP", "CREATE", "{s}:x", "g1", "0"],
     ["XREADGROUP", "GROUP", "g1", "c1", "STREAMS", "{s}:x", ">"],
     ["XCLAIM", "{s}:x", "g1", "c2", "0", "0-1", "0-9", "0-1", "JUSTID"],  # an ID named twice is claimed twice
     ["XCLAIM", "{s}:x", "g1", "c1", "0", "0-1", "0-1"]],
    [["ZADD", "{s}:z", "XX", "INCR", "2", "a"], ["ZADD", "{s}:z", "GT", "INCR", "2", "a"],
     ["ZADD", "{s}:z", "GT", "INCR", "0", "a"], ["ZADD", "{s}:z", "LT", "INCR", "-1", "a"],
     ["ZADD", "{s}:z", "NX", "INCR", "1", "a"], ["ZADD", "{s}:z", "INCR", "-3", "b"]],
    [["RPUSH", "{s}:l", "a", "b", "a", "c", "a"], ["LPOS", "{s}:l", "a", "COUNT", "0", "MAXLEN", "3"],
     ["LPOS", "{s}:l", "a", "RANK", "-1", "MAXLEN", "1"], ["LPOS", "{s}:l", "c", "MAXLEN", "3"]],
    [["SET", "{s}:s", "9223372036854775805"], ["INCRBY", "{s}:s", "5"], ["DECRBY", "{s}:s", "3"],
     ["HINCRBY", "{s}:h", "f", "-9223372036854775806"], ["HINCRBY", "{s}:h", "f", "-5"],
     ["LLEN", "{s}:s"], ["GET", "{s}:h"], ["SETRANGE", "{s}:h", "0", ""], ["SETRANGE", "{s}:none", "2", ""],
     ["EXISTS", "{s}:none"], ["XADD", "{s}:s", "NOMKSTREAM", "0-1", "f", "v"], ["ZADD", "{s}:h", "XX", "1", "a"]],
    [["SADD", "{s}:t", "1", "2", "a"], ["PEXPIREAT", "{s}:t", "4102444800000"],
     ["EVAL", DUMP_RESTORE, "2", "{s}:t", "{s}:t2"], ["SMEMBERS", "{s}:t2"], ["PEXPIRETIME", "{s}:t2"],
     ["EVAL", DUMP_RESTORE, "2", "{s}:none", "{s}:t2"], ["EXISTS", "{s}:t2"]],
], ids=["xclaim-twice", "zadd-incr", "lpos-maxlen", "overflow-and-wrongtype", "dump-restore"])
def test_edge_cases_reply_as_redis_server(server, commands):
    """Cases the random commands meet only now and then, each reply the model's and the server's alike."""
    server.call(["FLUSHALL"])
    model = RedisModel()
    for argv in commands:
        reply = as_json(server.call(argv))
        assert model.apply(argv, reply) == normalize(argv, reply), argv


def test_the_commands_reach_every_type_and_both_kinds_of_reply():
    """The generator meets errors and every type: the comparison above is not vacuous."""
    rng, errors, types, deadlines = random.Random(99), set(), set(), set()
    for group in _groups(0, 16):
        model = RedisModel()
        for _ in range(1000):
            argv = reference_ops.operation(rng, group)
            reply = model.apply(argv)
            if isinstance(reply, dict):
                errors.add(reply["error"])
            if argv[0] == "TYPE":
                types.add(reply)
            if argv[0] == "PEXPIRETIME":
                deadlines.add(reply if reply < 0 else "a deadline")
    assert {"ERR no such key", "ERR index out of range", "ERR value is not an integer or out of range",
            "ERR hash value is not an integer", "ERR value is not a valid float", "ERR hash value is not a float",
            "ERR increment or decrement would overflow",
            "WRONGTYPE Operation against a key holding the wrong kind of value"} <= errors
    assert any(error.startswith("NOGROUP No such consumer group") for error in errors)
    assert {"ERR array index out of range", "Err wrong static path", "ERR new objects must be created at the root",
            "ERR index out of bounds", "ERR min or max not valid string range item"} <= errors
    assert {"string", "list", "set", "hash", "zset", "stream", "ReJSON-RL", "none"} <= types
    assert {-2, -1, "a deadline"} <= deadlines


@pytest.mark.parametrize(("argv", "observed"), [
    (["SPOP", "t"], "9"),  # not a member
    (["SPOP", "t", "2"], ["1"]),  # too few
    (["SPOP", "t", "2"], ["1", "1"]),  # one member twice
    (["SRANDMEMBER", "t", "2"], ["1", "1"]),
    (["SRANDMEMBER", "t", "-3"], ["1", "9", "2"]),
    (["SRANDMEMBER", "t"], None),
    (["SPOP", "t"], ["1"]),  # a list where a member is due
    (["SPOP", "t", "1"], [["1"]]),
])
def test_a_random_reply_redis_could_not_give_is_refused(argv, observed):
    model = RedisModel()
    model.apply(["SADD", "t", "1", "2", "3"])
    assert model.apply(argv, observed) != normalize(argv, observed)


def test_a_random_reply_redis_could_give_is_taken_and_followed():
    model = RedisModel()
    model.apply(["SADD", "t", "1", "2", "3"])
    assert model.apply(["SPOP", "t", "2"], ["3", "1"]) == ["1", "3"]
    assert model.apply(["SRANDMEMBER", "t", "-3"], ["2", "2", "2"]) == ["2", "2", "2"]
    assert model.apply(["SMEMBERS", "t"]) == ["2"]
    assert model.apply(["SPOP", "t"], "2") == "2"
    assert model.apply(["EXISTS", "t"]) == 0
