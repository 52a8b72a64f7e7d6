"""With appendonly yes, the log records of every write replay to the same dataset.

Two kinds of tests: the records of commands whose effect is not determined
by their arguments (random pops, relative expiries, float arithmetic, served
blocking pops, lazy expiry) compared with what redis-server 7.0 writes to its
own AOF; and the property that matters, for random command sequences of the
strings, keys, lists, hashes, sets and zsets families (plus bitmaps,
hyperloglog and sort): replaying a node's AppendLog data into a fresh node,
as `kvcore.aof.load_commands` does at start-up, gives the same dataset in
every db (keys, types, values, TTLs).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import aof
from kvcore.effects import AppendLog, Fsync
from tests.kvcore.differential.common import KEYS
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.test_aof import dataset
from tests.servers import redis_server_in_dir


class LogClient(CoreClient):
    """A harness client whose node's log jobs (and fsyncs) complete at once, the data kept in ``node.log``."""

    def _deliver(self, effects) -> None:
        rest = []
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            if isinstance(effect, AppendLog | Fsync):
                if isinstance(effect, AppendLog):
                    self.node.log += effect.data
                self.node.job_done(effect.job, True, self.node.now)
                pending.extend(self.node.take_effects())
            else:
                rest.append(effect)
        super()._deliver(rest)


def logging_node(**options):
    node = make_node(appendonly="yes", **options)
    node.log = bytearray()
    return node


def records(node) -> list[list[bytes]]:
    parsed = aof.parse_commands(bytes(node.log))
    assert parsed.status == aof.OK
    return [argv for argv, _ in parsed.commands]


def replayed(node):
    """A fresh node (another seed) that loaded ``node``'s log, at the same time."""
    fresh = make_node(seed=12345, now=node.now)
    result = aof.load_commands(fresh, bytes(node.log))
    assert result.status in (aof.OK, aof.EMPTY), result
    return fresh


# -- the records of non-deterministic writes -----------------------------------------------------
NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([["SETEX", "k", 100, "v"]], [[b"SET", b"k", b"v", b"PXAT", b"1700000100000"]]),
        ([["SET", "k", "v", "EX", 100]], [[b"SET", b"k", b"v", b"PXAT", b"1700000100000"]]),
        ([["SET", "k", "v", "PX", 100, "GET"]], [[b"SET", b"k", b"v", b"PXAT", b"1700000000100"]]),
        ([["PSETEX", "k", 5, "v"]], [[b"SET", b"k", b"v", b"PXAT", b"1700000000005"]]),
        ([["SET", "k", "v"], ["EXPIRE", "k", 100]], [[b"SET", b"k", b"v"], [b"PEXPIREAT", b"k", b"1700000100000"]]),
        ([["SET", "k", "v"], ["PEXPIRE", "k", 100]], [[b"SET", b"k", b"v"], [b"PEXPIREAT", b"k", b"1700000000100"]]),
        ([["SET", "k", "v"], ["EXPIREAT", "k", 1800000000]], [[b"SET", b"k", b"v"], [b"PEXPIREAT", b"k", b"1800000000000"]]),
        ([["SET", "k", "v"], ["EXPIRE", "k", -1]], [[b"SET", b"k", b"v"], [b"DEL", b"k"]]),
        ([["SET", "k", "v"], ["GETEX", "k", "EX", 50]], [[b"SET", b"k", b"v"], [b"PEXPIREAT", b"k", b"1700000050000"]]),
        ([["SET", "k", "v", "EX", 9], ["GETEX", "k", "PERSIST"]], [[b"SET", b"k", b"v", b"PXAT", b"1700000009000"], [b"PERSIST", b"k"]]),
        ([["SET", "k", "v"], ["GETEX", "k", "PXAT", 5]], [[b"SET", b"k", b"v"], [b"DEL", b"k"]]),
        ([["INCRBYFLOAT", "f", "1.5"]], [[b"SET", b"f", b"1.5", b"KEEPTTL"]]),
        ([["HINCRBYFLOAT", "h", "f", "1.5"]], [[b"HSET", b"h", b"f", b"1.5"]]),
        ([["SADD", "s", "m"], ["SPOP", "s"]], [[b"SADD", b"s", b"m"], [b"SREM", b"s", b"m"]]),
        ([["SADD", "s", 1, 2], ["SPOP", "s", 5]], [[b"SADD", b"s", b"1", b"2"], [b"DEL", b"s"]]),
        ([["RPUSH", "l", "a", "b"], ["LMPOP", 1, "l", "LEFT", "COUNT", 5]], [[b"RPUSH", b"l", b"a", b"b"], [b"LPOP", b"l", b"2"]]),
        ([["ZADD", "z", 1, "a"], ["ZMPOP", 1, "z", "MIN"]], [[b"ZADD", b"z", b"1", b"a"], [b"ZPOPMIN", b"z", b"1"]]),
        ([["RPUSH", "l", "a"], ["BLPOP", "l", 0]], [[b"RPUSH", b"l", b"a"], [b"LPOP", b"l"]]),
        ([["ZADD", "z", 1, "a"], ["BZPOPMAX", "z", 0]], [[b"ZADD", b"z", b"1", b"a"], [b"ZPOPMAX", b"z"]]),
        (
            [["RPUSH", "l", "a"], ["BLMOVE", "l", "m", "LEFT", "RIGHT", 0]],
            [[b"RPUSH", b"l", b"a"], [b"LMOVE", b"l", b"m", b"LEFT", b"RIGHT"]],
        ),
        ([["RPUSH", "l", "a"], ["BRPOPLPUSH", "l", "m", 0]], [[b"RPUSH", b"l", b"a"], [b"RPOPLPUSH", b"l", b"m"]]),
        ([["GET", "k"], ["SPOP", "nokey"], ["LPOP", "nokey"]], []),
    ],
)
def test_records_of_non_deterministic_writes(commands, expected):
    node = logging_node()
    client = LogClient(node)
    for argv in commands:
        client.call(*argv)
    assert records(node)[1:] == expected
    assert dataset(replayed(node)) == dataset(node)


def test_select_is_logged_when_the_db_changes():
    node = logging_node()
    client = LogClient(node)
    for argv in (["SET", "a", 1], ["SELECT", 2], ["GET", "a"], ["SET", "b", 1], ["SET", "c", 1], ["SELECT", 0], ["DEL", "a"]):
        client.call(*argv)
    assert [argv[0] for argv in records(node)] == [b"SELECT", b"SET", b"SELECT", b"SET", b"SET", b"SELECT", b"DEL"]
    assert [argv for argv in records(node) if argv[0] == b"SELECT"] == [[b"SELECT", b"0"], [b"SELECT", b"2"], [b"SELECT", b"0"]]


def test_transactions_are_wrapped_only_when_they_write_more_than_once():
    """As redis-server 7.0.15's log of the same commands: the SELECT before the MULTI, a lone write unwrapped."""
    node = logging_node()
    client = LogClient(node)
    client.send_raw(encode_request("MULTI") + encode_request("GET", "a") + encode_request("EXEC"))
    assert records(node) == []
    client.send_raw(encode_request("MULTI") + encode_request("INCR", "n") + encode_request("SELECT", 1))
    client.send_raw(encode_request("SPOP", "nokey") + encode_request("INCR", "n") + encode_request("EXEC"))
    client.send_raw(encode_request("MULTI") + encode_request("SET", "a", "1") + encode_request("EXEC"))
    assert records(node) == [
        [b"SELECT", b"0"], [b"MULTI"], [b"INCR", b"n"], [b"SELECT", b"1"], [b"INCR", b"n"], [b"EXEC"],
        [b"SET", b"a", b"1"],
    ]
    assert dataset(replayed(node)) == dataset(node)


def test_expired_keys_are_logged_as_deletions():
    node = logging_node()
    client = LogClient(node)
    client.call("SET", "lazy", "v", "PX", 10)
    client.call("SET", "active", "v", "PX", 10)
    node.now += 20
    assert client.call("GET", "lazy") is None
    node.tick(node.now)
    client._deliver(node.take_effects())
    assert records(node)[-2:] == [[b"DEL", b"lazy"], [b"DEL", b"active"]]
    unlinking = logging_node(lazyfree_lazy_expire="yes")
    client = LogClient(unlinking)
    client.call("SET", "k", "v")
    client.call("EXPIRE", "k", 0)
    assert records(unlinking)[-1] == [b"UNLINK", b"k"]


def test_served_blocking_pops_are_logged_after_the_push_that_served_them():
    node = logging_node()
    pusher, waiter, mover = LogClient(node, 1), LogClient(node, 2), LogClient(node, 3)
    assert waiter.send_raw(encode_request("BLMPOP", 0, 1, "l", "RIGHT", "COUNT", 2)) == []
    assert mover.send_raw(encode_request("BLMOVE", "z", "m", "LEFT", "LEFT", 0)) == []
    pusher.call("RPUSH", "l", "a", "b", "c")
    assert waiter.send_raw(b"") == [[b"l", [b"c", b"b"]]]
    pusher.call("RPUSH", "z", "x")
    assert mover.send_raw(b"") == [b"x"]
    assert records(node)[1:] == [
        [b"RPUSH", b"l", b"a", b"b", b"c"],
        [b"RPOP", b"l", b"2"],
        [b"RPUSH", b"z", b"x"],
        [b"LMOVE", b"z", b"m", b"left", b"left"],  # Redis's shared "left", whatever the client sent
    ]
    assert dataset(replayed(node)) == dataset(node)


# -- compared with redis-server's own AOF ------------------------------------------------------
TIMESTAMP = re.compile(rb"\$13\r\n\d{13}\r\n")
SCRIPT = [
    ["SET", "a", "1"],
    ["SETEX", "b", "100", "x"],
    ["SET", "c", "v", "EX", "100"],
    ["GETEX", "c", "EX", "50"],
    ["GETEX", "c", "PERSIST"],
    ["INCRBYFLOAT", "f", "1.5"],
    ["HINCRBYFLOAT", "h", "f", "2.5"],
    ["SADD", "s", "m"],
    ["SPOP", "s"],
    ["SADD", "s2", "1", "2", "3"],
    ["SPOP", "s2", "3"],
    ["EXPIRE", "a", "100"],
    ["EXPIRE", "b", "-1"],
    ["SET", "e", "v", "PX", "1"],
    ["GETSET", "a", "2"],
    ["set", "a", "3", "get"],
    ["SET", "a", "4", "GET", "KEEPTTL", "get"],
    ["SET", "g", "5", "NX", "GET"],
    ["GETDEL", "g"],
    ["sleep"],
    ["GET", "e"],
    ["SELECT", "2"],
    ["RPUSH", "l", "x", "y"],
    ["MULTI"],
    ["INCR", "n"],
    ["LPOP", "l"],
    ["EXEC"],
    ["ZADD", "z", "1", "a", "2", "b"],
    ["ZMPOP", "1", "z", "MAX", "COUNT", "5"],
    ["block", "BLPOP", "q", "0"],
    ["RPUSH", "q", "1", "2"],
    ["block", "BZPOPMIN", "zz", "0"],
    ["ZADD", "zz", "5", "m"],
    ["XADD", "x", "5", "f", "v"],  # an ID given whole goes out as given; `ms-*` as the one made
    ["XADD", "x", "5-*", "f", "v"],
    ["XADD", "x", "7-3", "f", "v"],
    ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],  # keys whose time is up stay until a command finds them:
    ["SET", "p", "v", "PXAT", "1"],
    ["SETBIT", "p", "0", "1"],  # a write's DEL goes with the write, in a MULTI ... EXEC
    ["SET", "p", "v", "PXAT", "1"],
    ["MSET", "p", "1", "q", "2"],
    ["SET", "p", "v", "PXAT", "1"],
    ["GET", "p"],  # a read's DEL alone
    ["SET", "p", "v", "PXAT", "1"],
    ["MULTI"],
    ["APPEND", "p", "x"],
    ["EXEC"],  # one MULTI ... EXEC for the transaction, the DEL inside
    ["SET", "p", "v", "PXAT", "1"],
    ["EVAL", "return redis.call('APPEND', KEYS[1], 'x')", "1", "p"],

    ["SELECT", "2"],  # the blocked client's database
    ["SET", "d", "v", "PXAT", "1"],
    ["block", "BLMOVE", "src", "d", "LEFT", "LEFT", "0"],
    ["RPUSH", "src", "x"],  # the served move finds its destination expired
    ["RPUSH", "src", "y"],
    ["BLMOVE", "src", "d", "left", "Right", "0"],  # served at once: logged with its sides as given
    ["block", "BRPOPLPUSH", "src2", "d", "0"],
    ["RPUSH", "src2", "z"],
    ["block", "BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "3"],
    ["RPUSH", "m2", "1", "2"],
    ["block", "BZMPOP", "0", "1", "mz", "MAX", "COUNT", "2"],
    ["ZADD", "mz", "1", "a", "2", "b", "3", "c"],
    ["block", "BRPOP", "r", "0"],
    ["LPUSH", "r", "1"],
    ["block", "BZPOPMAX", "rz", "0"],
    ["ZADD", "rz", "1", "a"],
]


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        data += sock.recv(65536)
    return data


def run_on_redis(script) -> bytes:
    with tempfile.TemporaryDirectory() as workdir:
        with redis_server_in_dir(workdir, ["--appendonly", "yes", "--appendfsync", "always"]) as port:
            main = socket.create_connection(("127.0.0.1", port))
            other = socket.create_connection(("127.0.0.1", port))
            other.sendall(encode_request("SELECT", 2))
            read_reply(other)
            for argv in script:
                if argv == ["sleep"]:
                    time.sleep(0.01)
                elif argv[0] == "block":
                    other.sendall(encode_request(*argv[1:]))
                    time.sleep(0.05)
                else:
                    main.sendall(encode_request(*argv))
                    read_reply(main)
            time.sleep(0.05)
            main.close()
            other.close()
            with open(os.path.join(workdir, "appendonlydir", "appendonly.aof.1.incr.aof"), "rb") as f:
                return f.read()


def run_on_kvcore(script) -> bytes:
    node = logging_node()
    main = LogClient(node, 1)
    other = LogClient(node, 2)
    other.call("SELECT", 2)
    for argv in script:
        if argv == ["sleep"]:
            node.now += 10
        elif argv[0] == "block":
            other.send_raw(encode_request(*argv[1:]))
        else:
            main.send_raw(encode_request(*argv))
    return bytes(node.log)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_records_are_the_ones_redis_writes():
    """Byte for byte the AOF redis-server 7.0 writes for the same session, timestamps aside."""
    theirs = TIMESTAMP.sub(b"$13\r\n<ms>\r\n", run_on_redis(SCRIPT))
    ours = TIMESTAMP.sub(b"$13\r\n<ms>\r\n", run_on_kvcore(SCRIPT))
    assert ours == theirs


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
@pytest.mark.parametrize("finder", [["SCAN", "0", "COUNT", "100"], ["RANDOMKEY"]])
def test_the_keys_scan_and_randomkey_find_expired_are_deleted_unwrapped(finder):
    """As redis-server's log: SCAN and RANDOMKEY run on their own log the DELs of the keys they
    find expired one by one; in a transaction, inside its MULTI ... EXEC. (In an order that is
    Redis's hash order: compared as sets.)"""
    expiring = [["SET", key, "v", "PXAT", "1"] for key in ("p1", "p2", "p3")]
    script = [["DEBUG", "SET-ACTIVE-EXPIRE", "0"], *expiring, finder, ["MULTI"], *expiring, finder, ["EXEC"]]

    def shape(log: bytes) -> list:
        commands = [argv for argv, _ in aof.parse_commands(log).commands]
        start = commands.index([b"MULTI"])
        return [sorted(map(tuple, commands[:start])), sorted(map(tuple, commands[start + 1 : -1])), commands[-1]]

    ours = shape(run_on_kvcore(script))
    assert ours == shape(run_on_redis(script))
    assert ours[0].count((b"DEL", b"p1")) == 1 and ours[2] == [b"EXEC"]


# -- the replay property -----------------------------------------------------------------------------
FAMILIES = ["strings", "keys", "lists", "hashes", "sets", "zsets", "bitmaps", "hyperloglog", "sort"]
family_commands = st.one_of(
    *[importlib.import_module(f"tests.kvcore.differential.{family}").commands() for family in FAMILIES]
)
keys = st.sampled_from(KEYS)
members = st.sampled_from([b"1", b"2", b"a", b"b", b"c", b"3.5"])
seconds = st.sampled_from([b"1", b"50", b"100", b"250"])


def _tuple_to(build):
    return lambda parts: build(*parts)


# Writes that build values and the ones whose replay is not their argv: drawn more often than
# the families' strategies (which also draw invalid shapes) would.
writes = st.one_of(
    st.tuples(st.sampled_from([b"SADD", b"RPUSH", b"LPUSH"]), keys, st.lists(members, min_size=1, max_size=4)).map(
        _tuple_to(lambda name, key, items: [name, key, *items])
    ),
    st.tuples(keys, st.lists(st.tuples(st.sampled_from([b"1", b"2.5", b"-1"]), members), min_size=1, max_size=3)).map(
        _tuple_to(lambda key, pairs: [b"ZADD", key, *[part for pair in pairs for part in pair]])
    ),
    st.tuples(keys, members, members).map(_tuple_to(lambda key, field, value: [b"HSET", key, field, value])),
    keys.map(lambda key: [b"SPOP", key]),
    st.tuples(keys, st.sampled_from([b"1", b"2", b"5"])).map(_tuple_to(lambda key, count: [b"SPOP", key, count])),
    st.tuples(keys, seconds).map(_tuple_to(lambda key, ttl: [b"EXPIRE", key, ttl])),
    st.tuples(keys, seconds).map(_tuple_to(lambda key, ttl: [b"PEXPIRE", key, ttl + b"000"])),
    st.tuples(keys, seconds, members).map(_tuple_to(lambda key, ttl, value: [b"SETEX", key, ttl, value])),
    st.tuples(keys, members, st.sampled_from([b"EX", b"PX"]), seconds).map(
        _tuple_to(lambda key, value, unit, ttl: [b"SET", key, value, unit, ttl])
    ),
    st.tuples(keys, st.sampled_from([b"EX", b"PX", b"PERSIST"]), seconds).map(
        _tuple_to(lambda key, unit, ttl: [b"GETEX", key, unit] + ([] if unit == b"PERSIST" else [ttl]))
    ),
    st.tuples(keys, st.sampled_from([b"1.5", b"-0.1", b"3"])).map(_tuple_to(lambda key, by: [b"INCRBYFLOAT", key, by])),
    st.tuples(keys, members, st.sampled_from([b"1.5", b"-0.1"])).map(
        _tuple_to(lambda key, field, by: [b"HINCRBYFLOAT", key, field, by])
    ),
    st.tuples(keys, st.sampled_from([b"1.5", b"-0.1"]), members).map(
        _tuple_to(lambda key, by, member: [b"ZINCRBY", key, by, member])
    ),
    st.sampled_from([[b"SELECT", b"0"], [b"SELECT", b"1"], [b"SELECT", b"2"]]),
    st.tuples(keys, st.sampled_from([b"0", b"1", b"2"])).map(_tuple_to(lambda key, db: [b"MOVE", key, db])),
    st.tuples(st.sampled_from([b"0", b"1"]), st.sampled_from([b"1", b"2"])).map(_tuple_to(lambda a, b: [b"SWAPDB", a, b])),
)
blocking = st.one_of(
    st.tuples(st.sampled_from([b"BLPOP", b"BRPOP", b"BZPOPMIN", b"BZPOPMAX"]), keys).map(
        _tuple_to(lambda name, key: [name, key, b"0"])
    ),
    st.tuples(keys, keys).map(_tuple_to(lambda src, dst: [b"BLMOVE", src, dst, b"LEFT", b"RIGHT", b"0"])),
    st.tuples(keys, keys).map(_tuple_to(lambda src, dst: [b"BRPOPLPUSH", src, dst, b"0"])),
    keys.map(lambda key: [b"BLMPOP", b"0", b"1", key, b"LEFT", b"COUNT", b"2"]),
    keys.map(lambda key: [b"BZMPOP", b"0", b"1", key, b"MIN", b"COUNT", b"2"]),
)
command = st.one_of(family_commands, writes, writes, writes, writes)
steps = st.lists(
    st.one_of(
        command.map(lambda argv: ("run", argv)),
        command.map(lambda argv: ("run", argv)),
        command.map(lambda argv: ("run", argv)),
        st.lists(command, min_size=1, max_size=4).map(lambda argvs: ("multi", argvs)),
        st.sampled_from([0, 999, 1000, 60_000, 100_000, 300_000]).map(lambda ms: ("wait", ms)),
        st.just(("tick", None)),
        blocking.map(lambda argv: ("block", argv)),
    ),
    min_size=20,
    max_size=80,
)


def run_steps(node, plan) -> None:
    client = LogClient(node, 1)
    waiters = 0
    for kind, arg in plan:
        if kind == "run":
            client.send_raw(encode_request(*arg))
        elif kind == "multi":
            client.send_raw(encode_request("MULTI") + b"".join(encode_request(*argv) for argv in arg) + encode_request("EXEC"))
        elif kind == "wait":
            node.now += arg
        elif kind == "tick":
            node.tick(node.now)
            client._deliver(node.take_effects())
        else:
            waiters += 1
            waiter = LogClient(node, 100 + waiters)
            waiter.send_raw(encode_request(*arg))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps)
def test_replaying_the_log_rebuilds_every_db(plan):
    node = logging_node()
    run_steps(node, plan)
    assert dataset(replayed(node)) == dataset(node)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps, st.integers(0, 10**6))
def test_replaying_a_prefix_rebuilds_an_earlier_state(plan, cut_seed):
    """A log cut anywhere loads (aof-load-truncated) to the state after its last whole record."""
    node = logging_node()
    run_steps(node, plan)
    data = bytes(node.log)
    cut = cut_seed % (len(data) + 1)
    fresh = make_node(seed=1)
    result = aof.load_commands(fresh, data[:cut])
    assert result.ok
    good = cut if result.truncate_to is None else result.truncate_to
    again = make_node(seed=2)
    assert aof.load_commands(again, data[:good]).ok  # TRUNCATED again when it ends inside a MULTI
    fresh.now = again.now = node.now
    assert dataset(fresh) == dataset(again)
