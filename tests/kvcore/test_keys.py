"""The generic key commands: DEL ... OBJECT.

The scenario tables run twice: against the pure core and against redis-server
itself, so every expected reply written here is Redis's. Times are far in the
future (4000000000) or long past (1), so both clocks agree. What depends on
the core's own state (propagation, replicas, maxmemory policies, idle time)
is tested against the core only.
"""

from __future__ import annotations

import hiredis
import pytest

from kvcore.commands import keys, sort
from kvcore.effects import AppendLog
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node

NOW = 1_700_000_000_000


class Err:
    """An expected error reply."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other) -> bool:
        return isinstance(other, hiredis.ReplyError) and str(other) == self.text

    def __repr__(self) -> str:
        return f"Err({self.text!r})"


class Unordered:
    """An expected array whose order is not specified (KEYS, SCAN's keys)."""

    def __init__(self, *items: bytes) -> None:
        self.items = sorted(items)

    def __eq__(self, other) -> bool:
        return isinstance(other, list) and sorted(other) == self.items

    def __repr__(self) -> str:
        return f"Unordered{tuple(self.items)!r}"


SYNTAX = Err("ERR syntax error")
NOT_INT = Err("ERR value is not an integer or out of range")
NO_KEY = Err("ERR no such key")
SAME = Err("ERR source and destination objects are the same")
DB_RANGE = Err("ERR DB index is out of range")
INT_RANGE = Err("ERR value is out of range, value must between -2147483648 and 2147483647")
CURSOR = Err("ERR invalid cursor")
WRONGTYPE = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
NO_LFU = Err(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
LFU = Err(
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
FUTURE = b"4000000000"
FUTURE_MS = b"4000000000000"

SCENARIOS = {
    "del_counts_each_existing_key_once": [
        ([b"MSET", b"a", b"1", b"b", b"2"], b"OK"),
        ([b"DEL", b"a", b"a", b"nokey", b"b"], 2),
        ([b"UNLINK", b"a"], 0),
        ([b"DEL"], Err("ERR wrong number of arguments for 'del' command")),
    ],
    "exists_and_touch_count_repeats": [
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"EXISTS", b"a", b"a", b"nokey"], 2),
        ([b"TOUCH", b"a", b"nokey", b"a"], 2),
        ([b"EXISTS", b"nokey"], 0),
    ],
    "type_names_every_kind": [
        ([b"SET", b"s", b"1"], b"OK"),
        ([b"RPUSH", b"l", b"x"], 1),
        ([b"HSET", b"h", b"f", b"v"], 1),
        ([b"TYPE", b"s"], b"string"),
        ([b"TYPE", b"l"], b"list"),
        ([b"TYPE", b"h"], b"hash"),
        ([b"TYPE", b"nokey"], b"none"),
    ],
    "keys_matches_globs": [
        ([b"MSET", b"k1", b"v", b"k2", b"v", b"k10", b"v", b"{t}a", b"v", b"*", b"v"], b"OK"),
        ([b"KEYS", b"*"], Unordered(b"k1", b"k2", b"k10", b"{t}a", b"*")),
        ([b"KEYS", b"k?"], Unordered(b"k1", b"k2")),
        ([b"KEYS", b"k[^1]"], Unordered(b"k2")),
        ([b"KEYS", b"\\*"], [b"*"]),
        ([b"KEYS", b"{t}*"], [b"{t}a"]),
        ([b"KEYS", b"nomatch*"], []),
    ],
    "scan_options_and_errors": [
        ([b"MSET", b"k1", b"v", b"k2", b"v"], b"OK"),
        ([b"RPUSH", b"list", b"x"], 1),
        ([b"SCAN", b"0", b"COUNT", b"100"], [b"0", Unordered(b"k1", b"k2", b"list")]),
        ([b"SCAN", b"", b"COUNT", b"100"], [b"0", Unordered(b"k1", b"k2", b"list")]),
        ([b"SCAN", b"+0", b"MATCH", b"k*", b"COUNT", b"100"], [b"0", Unordered(b"k1", b"k2")]),
        ([b"SCAN", b"0", b"TYPE", b"LIST", b"COUNT", b"100"], [b"0", [b"list"]]),
        ([b"SCAN", b"0", b"TYPE", b"nosuch"], [b"0", []]),
        ([b"SCAN", b"0", b"TYPE", b"string", b"TYPE", b"list"], [b"0", [b"list"]]),
        ([b"SCAN", b"abc"], CURSOR),
        ([b"SCAN", b" 1"], CURSOR),
        ([b"SCAN", b"1 "], CURSOR),
        ([b"SCAN", b"+"], CURSOR),
        ([b"SCAN", b"18446744073709551616"], CURSOR),
        ([b"SCAN", b"0", b"COUNT", b"0"], SYNTAX),
        ([b"SCAN", b"0", b"COUNT", b"-1"], SYNTAX),
        ([b"SCAN", b"0", b"COUNT", b"x"], NOT_INT),
        ([b"SCAN", b"0", b"MATCH"], SYNTAX),
        ([b"SCAN", b"0", b"foo", b"bar"], SYNTAX),
    ],
    "randomkey_of_an_empty_db_is_null": [
        ([b"RANDOMKEY"], None),
        ([b"SET", b"only", b"1"], b"OK"),
        ([b"RANDOMKEY"], b"only"),
    ],
    "rename_moves_value_and_ttl": [
        ([b"RENAME", b"nokey", b"b"], NO_KEY),
        ([b"RENAMENX", b"nokey", b"nokey"], NO_KEY),
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"RENAME", b"a", b"a"], b"OK"),
        ([b"RENAMENX", b"a", b"a"], 0),
        ([b"EXPIREAT", b"a", FUTURE], 1),
        ([b"RPUSH", b"b", b"x"], 1),
        ([b"EXPIREAT", b"b", b"4100000000"], 1),
        ([b"RENAMENX", b"a", b"b"], 0),
        ([b"RENAME", b"a", b"b"], b"OK"),
        ([b"EXISTS", b"a"], 0),
        ([b"TYPE", b"b"], b"string"),
        ([b"EXPIRETIME", b"b"], 4000000000),
        ([b"RENAMENX", b"b", b"c"], 1),
        ([b"GET", b"c"], b"1"),
    ],
    "copy_options_and_errors": [
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"COPY", b"a", b"a"], SAME),
        ([b"COPY", b"a", b"a", b"DB", b"0"], SAME),
        ([b"COPY", b"a", b"b", b"DB", b"16"], DB_RANGE),
        ([b"COPY", b"a", b"b", b"DB", b"-1"], DB_RANGE),
        ([b"COPY", b"a", b"b", b"DB", b"x"], NOT_INT),
        ([b"COPY", b"a", b"b", b"DB", b"2147483648"], INT_RANGE),
        ([b"COPY", b"a", b"b", b"DB"], SYNTAX),
        ([b"COPY", b"a", b"b", b"FOO"], SYNTAX),
        ([b"COPY", b"nokey", b"b"], 0),
        ([b"EXPIREAT", b"a", FUTURE], 1),
        ([b"COPY", b"a", b"b"], 1),
        ([b"EXPIRETIME", b"b"], 4000000000),
        ([b"SET", b"a", b"2"], b"OK"),
        ([b"COPY", b"a", b"b"], 0),
        ([b"COPY", b"a", b"b", b"replace"], 1),
        ([b"GET", b"b"], b"2"),
        ([b"TTL", b"b"], -1),
        ([b"COPY", b"a", b"a", b"DB", b"1"], 1),
        ([b"MOVE", b"a", b"1"], 0),
    ],
    "copy_of_a_list_or_hash_is_independent": [
        ([b"RPUSH", b"l", b"a", b"b"], 2),
        ([b"COPY", b"l", b"l2"], 1),
        ([b"RPUSH", b"l2", b"c"], 3),
        ([b"LRANGE", b"l", b"0", b"-1"], [b"a", b"b"]),
        ([b"HSET", b"h", b"f", b"v"], 1),
        ([b"COPY", b"h", b"h2"], 1),
        ([b"HSET", b"h2", b"g", b"w"], 1),
        ([b"HGETALL", b"h"], [b"f", b"v"]),
        ([b"OBJECT", b"ENCODING", b"h2"], b"listpack"),
    ],
    "move_carries_the_ttl_to_the_other_db": [
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"MOVE", b"a", b"0"], SAME),
        ([b"MOVE", b"a", b"16"], DB_RANGE),
        ([b"MOVE", b"a", b"x"], NOT_INT),
        ([b"MOVE", b"a", b"-2147483649"], INT_RANGE),
        ([b"MOVE", b"nokey", b"1"], 0),
        ([b"PEXPIREAT", b"a", FUTURE_MS], 1),
        ([b"MOVE", b"a", b"1"], 1),
        ([b"EXISTS", b"a"], 0),
        ([b"SELECT", b"1"], b"OK"),
        ([b"PEXPIRETIME", b"a"], 4000000000000),
        ([b"SET", b"b", b"x"], b"OK"),
        ([b"SELECT", b"0"], b"OK"),
        ([b"SET", b"b", b"y"], b"OK"),
        ([b"MOVE", b"b", b"1"], 0),
    ],
    "expire_option_errors": [
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"EXPIRE", b"a", b"10", b"NX", b"XX"], Err("ERR NX and XX, GT or LT options at the same time are not compatible")),
        ([b"EXPIRE", b"a", b"10", b"nx", b"gt"], Err("ERR NX and XX, GT or LT options at the same time are not compatible")),
        ([b"EXPIRE", b"a", b"10", b"GT", b"LT"], Err("ERR GT and LT options at the same time are not compatible")),
        ([b"EXPIRE", b"a", b"10", b"XX", b"GT", b"LT"], Err("ERR GT and LT options at the same time are not compatible")),
        ([b"EXPIRE", b"a", b"abc", b"foo"], Err("ERR Unsupported option foo")),
        ([b"EXPIRE", b"a", b"abc"], NOT_INT),
        ([b"EXPIRE", b"a", b"9223372036854775"], Err("ERR invalid expire time in 'expire' command")),
        ([b"EXPIRE", b"a", b"-9223372036854775808"], Err("ERR invalid expire time in 'expire' command")),
        ([b"EXPIREAT", b"a", b"9223372036854776"], Err("ERR invalid expire time in 'expireat' command")),
        ([b"PEXPIRE", b"a", b"9223372036854775807"], Err("ERR invalid expire time in 'pexpire' command")),
        ([b"EXPIRE", b"nokey", b"9223372036854775"], Err("ERR invalid expire time in 'expire' command")),
        ([b"PEXPIREAT", b"a", b"9223372036854775807"], 1),
        ([b"EXPIRE", b"a"], Err("ERR wrong number of arguments for 'expire' command")),
    ],
    "expire_conditions": [
        ([b"EXPIRE", b"nokey", b"100"], 0),
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"EXPIRE", b"a", b"100", b"XX"], 0),
        ([b"EXPIRE", b"a", b"100", b"GT"], 0),
        ([b"EXPIRE", b"a", b"100", b"LT"], 1),
        ([b"TTL", b"a"], 100),
        ([b"EXPIRE", b"a", b"200", b"NX"], 0),
        ([b"EXPIRE", b"a", b"200", b"gt"], 1),
        ([b"EXPIRE", b"a", b"50", b"GT"], 0),
        ([b"EXPIRE", b"a", b"200", b"LT"], 0),
        ([b"EXPIRE", b"a", b"50", b"LT", b"XX"], 1),
        ([b"TTL", b"a"], 50),
        ([b"PERSIST", b"a"], 1),
        ([b"PERSIST", b"a"], 0),
        ([b"PERSIST", b"nokey"], 0),
        ([b"EXPIRE", b"a", b"300", b"NX"], 1),
        ([b"EXPIRE", b"a", b"-1", b"LT"], 1),
        ([b"EXISTS", b"a"], 0),
    ],
    "a_time_in_the_past_deletes": [
        ([b"MSET", b"a", b"1", b"b", b"1", b"c", b"1", b"d", b"1"], b"OK"),
        ([b"EXPIRE", b"a", b"0"], 1),
        ([b"PEXPIRE", b"b", b"-5"], 1),
        ([b"EXPIREAT", b"c", b"1"], 1),
        ([b"PEXPIREAT", b"d", b"-9223372036854775808"], 1),
        ([b"EXISTS", b"a", b"b", b"c", b"d"], 0),
        ([b"SET", b"e", b"1"], b"OK"),
        ([b"EXPIRE", b"e", b"-9223372036854775"], 1),
        ([b"EXISTS", b"e"], 0),
    ],
    "ttl_family_rounding": [
        ([b"TTL", b"nokey"], -2),
        ([b"PTTL", b"nokey"], -2),
        ([b"EXPIRETIME", b"nokey"], -2),
        ([b"PEXPIRETIME", b"nokey"], -2),
        ([b"SET", b"a", b"1"], b"OK"),
        ([b"TTL", b"a"], -1),
        ([b"PEXPIRETIME", b"a"], -1),
        ([b"PEXPIREAT", b"a", b"4000000000499"], 1),
        ([b"EXPIRETIME", b"a"], 4000000000),
        ([b"PEXPIREAT", b"a", b"4000000000500"], 1),
        ([b"EXPIRETIME", b"a"], 4000000001),
        ([b"PEXPIRETIME", b"a"], 4000000000500),
        ([b"EXPIRE", b"a", b"1000"], 1),
        ([b"TTL", b"a"], 1000),
    ],
    "object_encoding_of_strings": [
        ([b"MSET", b"i", b"123", b"neg", b"-9223372036854775808", b"big", b"9223372036854775808"], b"OK"),
        ([b"MSET", b"zero", b"-0", b"lead", b"0123", b"plus", b"+1"], b"OK"),
        ([b"MSET", b"e44", b"x" * 44, b"r45", b"x" * 45, b"empty", b""], b"OK"),
        ([b"OBJECT", b"ENCODING", b"i"], b"int"),
        ([b"OBJECT", b"encoding", b"neg"], b"int"),
        ([b"OBJECT", b"ENCODING", b"big"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"zero"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"lead"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"plus"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"e44"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"r45"], b"raw"),
        ([b"OBJECT", b"ENCODING", b"empty"], b"embstr"),
        ([b"OBJECT", b"ENCODING", b"nokey"], None),
        ([b"RPUSH", b"l", b"x"], 1),
        ([b"OBJECT", b"ENCODING", b"l"], b"quicklist"),
    ],
    "object_encoding_of_computed_strings": [  # INCRBYFLOAT makes embstr, INCR int, whatever the old form
        ([b"SET", b"a", b"5"], b"OK"),
        ([b"APPEND", b"a", b"1"], 2),
        ([b"OBJECT", b"ENCODING", b"a"], b"raw"),
        ([b"INCRBYFLOAT", b"a", b"1"], b"52"),
        ([b"OBJECT", b"ENCODING", b"a"], b"embstr"),
        ([b"INCR", b"a"], 53),
        ([b"OBJECT", b"ENCODING", b"a"], b"int"),
        ([b"INCRBYFLOAT", b"b", b"0.0"], b"0"),
        ([b"OBJECT", b"ENCODING", b"b"], b"embstr"),
        ([b"COPY", b"b", b"c"], 1),
        ([b"OBJECT", b"ENCODING", b"c"], b"embstr"),
        ([b"SETRANGE", b"d", b"0", b"12"], 2),
        ([b"INCR", b"d"], 13),
        ([b"OBJECT", b"ENCODING", b"d"], b"int"),
    ],
    "object_refcount_and_errors": [
        ([b"MSET", b"shared", b"9999", b"own", b"10000", b"neg", b"-1", b"text", b"abc"], b"OK"),
        ([b"OBJECT", b"REFCOUNT", b"shared"], 2147483647),
        ([b"OBJECT", b"REFCOUNT", b"own"], 1),
        ([b"OBJECT", b"REFCOUNT", b"neg"], 1),
        ([b"OBJECT", b"REFCOUNT", b"text"], 1),
        ([b"OBJECT", b"REFCOUNT", b"nokey"], None),
        ([b"OBJECT", b"FREQ", b"nokey"], None),
        ([b"OBJECT", b"FREQ", b"text"], NO_LFU),
        ([b"OBJECT", b"foo"], Err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")),
        ([b"OBJECT"], Err("ERR wrong number of arguments for 'object' command")),
        ([b"OBJECT", b"ENCODING"], Err("ERR wrong number of arguments for 'object|encoding' command")),
        ([b"OBJECT", b"HELP", b"x"], Err("ERR wrong number of arguments for 'object|help' command")),
    ],
}


class RedisBackend:
    def __init__(self, port: int) -> None:
        self.conn = RedisConnection(port)
        self.conn.call([b"FLUSHALL"])
        self.conn.call([b"SELECT", b"0"])

    def call(self, argv):
        return self.conn.call(argv)


class CoreBackend:
    def __init__(self) -> None:
        self.client = CoreClient(make_node(now=NOW))

    def call(self, argv):
        return self.client.call(*argv)


@pytest.fixture(params=["core", "redis-server"])
def backend(request):
    if request.param == "core":
        yield CoreBackend()
        return
    backend = RedisBackend(request.getfixturevalue("redis_port"))
    yield backend
    backend.conn.call([b"FLUSHALL"])
    backend.conn.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(backend, name):
    for argv, expected in SCENARIOS[name]:
        assert backend.call(argv) == expected, argv


def test_object_help_lists_the_subcommands(backend):
    lines = backend.call([b"OBJECT", b"HELP"])
    assert lines[0] == b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert [line for line in lines if not line.startswith(b" ")][1:] == [
        b"ENCODING <key>", b"FREQ <key>", b"IDLETIME <key>", b"REFCOUNT <key>", b"HELP"
    ]


# -- core only ---------------------------------------------------------------------------
@pytest.fixture
def core():
    return CoreClient(make_node(now=NOW))


def logged(node) -> list[list[bytes]]:
    """The commands written to the log since the last call (SELECTs left out)."""
    reader, out = hiredis.Reader(), []
    for effect in node.take_effects():
        if isinstance(effect, AppendLog):
            reader.feed(effect.data)
            node.job_done(effect.job, True, node.now)
    while (item := reader.gets()) is not False:
        out.append(item)
    return [argv for argv in out if argv[0] != b"SELECT"]


def run_logged(node, *commands) -> list[list[bytes]]:
    client = CoreClient(node, conn=99)
    for argv in commands:
        node.receive(client.conn, encode_request(*argv), node.now)
    return logged(node)


@pytest.mark.parametrize(
    "command, propagated",
    [
        (["EXPIRE", "k", "100"], [[b"PEXPIREAT", b"k", b"%d" % (NOW + 100_000)]]),
        (["PEXPIRE", "k", "100", "NX"], [[b"PEXPIREAT", b"k", b"%d" % (NOW + 100), b"NX"]]),
        (["EXPIREAT", "k", "4000000000", "gt"], []),  # refused: no expiry to be greater than
        (["EXPIREAT", "k", "4000000000"], [[b"PEXPIREAT", b"k", b"4000000000000"]]),
        (["PEXPIREAT", "k", "4000000000000"], [[b"PEXPIREAT", b"k", b"4000000000000"]]),
        (["EXPIRE", "k", "-1"], [[b"DEL", b"k"]]),
        (["PEXPIREAT", "k", "1"], [[b"DEL", b"k"]]),
        (["EXPIRE", "nokey", "100"], []),
        (["PERSIST", "k"], []),
        (["RENAME", "k", "k2"], [[b"RENAME", b"k", b"k2"]]),
        (["DEL", "nokey"], []),
    ],
)
def test_expiry_commands_propagate_absolute_times(command, propagated):
    node = make_node(now=NOW, appendonly="yes")
    run_logged(node, ["SET", "k", "v"])
    assert run_logged(node, command) == propagated


def test_lazyfree_expire_propagates_unlink():
    node = make_node(now=NOW, appendonly="yes", lazyfree_lazy_expire="yes")
    assert run_logged(node, ["SET", "k", "v"], ["EXPIRE", "k", "0"]) == [[b"SET", b"k", b"v"], [b"UNLINK", b"k"]]


@pytest.mark.parametrize(
    "elapsed_ms, ttl, pttl",
    [(0, 100, 100_000), (499, 100, 99_501), (501, 99, 99_499), (100_000, 0, 0), (100_001, -2, -2)],
)
def test_ttl_rounds_to_the_nearest_second(core, elapsed_ms, ttl, pttl):
    core.call("SET", "k", "v")
    core.call("PEXPIRE", "k", "100000")
    core.node.now += elapsed_ms
    assert (core.call("TTL", "k"), core.call("PTTL", "k")) == (ttl, pttl)


def test_a_replica_keeps_a_key_whose_expiry_is_in_the_past(core):
    core.call("SET", "k", "v")
    core.node.is_replica = True
    assert core.call("PEXPIREAT", "k", "1") == 1
    assert core.node.dbs[0].expires[b"k"] == 1
    assert b"k" in core.node.dbs[0].data


def test_expired_keys_are_invisible_to_every_reader(core):
    node = core.node
    core.call("MSET", "a", "1", "b", "2")
    core.call("PEXPIRE", "a", "10")
    node.now += 11  # past the deadline: at it the key still lives (now > when)
    assert core.call("KEYS", "*") == [b"b"]
    assert b"a" in node.dbs[0].data  # KEYS only hides: Redis's keyIsExpired
    assert core.call("SCAN", "0") == [b"0", [b"b"]]
    assert b"a" not in node.dbs[0].data  # SCAN expires what it meets
    core.call("SET", "c", "3")
    core.call("PEXPIRE", "c", "10")
    node.now += 11  # past the deadline: at it the key still lives (now > when)
    for command, reply in (
        (["EXISTS", "c"], 0), (["TYPE", "c"], b"none"), (["TTL", "c"], -2),
        (["OBJECT", "ENCODING", "c"], None), (["RENAME", "c", "d"], NO_KEY), (["DEL", "c"], 0),
    ):
        assert core.call(*command) == reply
        core.call("SET", "c", "3")
        core.call("PEXPIRE", "c", "10")
        node.now += 11  # past the deadline: at it the key still lives (now > when)


def test_del_of_an_expired_key_counts_nothing_and_logs_the_expiry_only():
    node = make_node(now=NOW, appendonly="yes")
    run_logged(node, ["SET", "k", "v"], ["PEXPIRE", "k", "10"])
    node.now += 11  # past the deadline: at it the key still lives (now > when)
    assert run_logged(node, ["DEL", "k"]) == [[b"DEL", b"k"]]
    assert node.stats.expired_keys == 1


def test_scan_walks_everything_with_small_counts(core):
    keys = [b"key:%d" % i for i in range(100)]
    for key in keys:
        core.call("SET", key, "v")
    core.call("RPUSH", "list", "x")
    cursor, seen, calls = b"0", [], 0
    while True:
        cursor, found = core.call("SCAN", cursor, "COUNT", "7", "MATCH", "key:*")
        seen += found
        calls += 1
        if cursor == b"0":
            break
    assert sorted(seen) == sorted(keys) and calls >= 100 // 7
    assert core.call("SCAN", "0", "COUNT", "1000", "TYPE", "list") == [b"0", [b"list"]]


def test_scan_cursor_of_minus_one_wraps_like_strtoul(core):
    core.call("MSET", "a", "1", "b", "2")
    assert core.call("SCAN", "-1") == [b"0", []]
    assert core.call("SCAN", "-18446744073709551615") == [b"0", [b"b"]]  # cursor 1: the second key
    assert core.call("SCAN", "-18446744073709551616") == CURSOR


def test_randomkey_draws_from_the_seeded_rng():
    picks = []
    for _ in range(2):
        client = CoreClient(make_node(seed=7, now=NOW))
        for i in range(50):
            client.call("SET", f"key:{i}", "v")
        picks.append([client.call("RANDOMKEY") for _ in range(10)])
    assert picks[0] == picks[1] and len(set(picks[0])) > 1


@pytest.mark.parametrize(
    "options, refcount, freq, idletime",
    [
        ({}, 2147483647, NO_LFU, 0),
        ({"maxmemory_policy": "allkeys-lfu"}, 2147483647, 5, LFU),
        ({"maxmemory_policy": "volatile-lfu", "maxmemory": "100mb"}, 1, 5, LFU),
        ({"maxmemory_policy": "allkeys-lru", "maxmemory": "100mb"}, 1, NO_LFU, 0),
        ({"maxmemory_policy": "volatile-ttl", "maxmemory": "100mb"}, 2147483647, NO_LFU, 0),
    ],
)
def test_object_under_maxmemory_policies(options, refcount, freq, idletime):
    """Checked on redis-server: shared integers are off under LRU/LFU with a maxmemory; FREQ of a new key is 5."""
    client = CoreClient(make_node(now=NOW, **options))
    client.call("SET", "k", "5")
    assert client.call("OBJECT", "REFCOUNT", "k") == refcount
    assert client.call("OBJECT", "FREQ", "k") == freq
    assert client.call("OBJECT", "IDLETIME", "k") == idletime


def test_resp3_replies(core):
    core.call("SET", "k", "v")
    core.call("HELLO", "3")
    node, raw = core.node, []
    for command in (["TYPE", "k"], ["TYPE", "nokey"], ["OBJECT", "ENCODING", "nokey"]):
        node.receive(core.conn, encode_request(*command), node.now)
        raw += [effect.data for effect in node.take_effects()]
    assert raw == [b"+string\r\n", b"+none\r\n", b"_\r\n"]


def test_copy_of_other_types_keeps_their_class_and_encoding(core):
    core.call("HSET", "h", "f", "x" * 100)
    assert core.call("COPY", "h", "h2") == 1
    db = core.node.dbs[0]
    assert type(db.data[b"h2"]) is type(db.data[b"h"]) and db.data[b"h2"] is not db.data[b"h"]
    assert core.call("OBJECT", "ENCODING", "h2") == b"hashtable"


def test_wrong_type_is_not_an_issue_for_generic_commands(core):
    core.call("RPUSH", "l", "x")
    assert core.call("GET", "l") == WRONGTYPE
    for command in (["EXISTS", "l"], ["EXPIRE", "l", "100"], ["PERSIST", "l"], ["TOUCH", "l"]):
        assert core.call(*command) == 1


def test_command_info_matches_redis(redis_port):
    """Arity, flags, key positions and ACL categories of every command here and in SORT."""
    redis = RedisConnection(redis_port)
    core = CoreClient(make_node(now=NOW))
    names = [cmd.name.encode() for module in (keys, sort) for cmd in module.REGISTRY.commands]
    for name in names:
        ours, theirs = core.call("COMMAND", "INFO", name)[0], redis.call([b"COMMAND", b"INFO", name])[0]
        assert ours[:7] == theirs[:7], name
        assert sorted(sub[:7] for sub in ours[9]) == sorted(sub[:7] for sub in theirs[9]), name
    redis.close()


@pytest.mark.parametrize(
    ("commands", "key", "encoding"),
    [
        ([["SET", "k", "1"], ["APPEND", "k", "2"]], "k", b"raw"),
        ([["APPEND", "k", "abc"]], "k", b"embstr"),
        ([["SET", "k", "hello"], ["APPEND", "k", ""]], "k", b"raw"),
        ([["SETRANGE", "k", "0", "ab"]], "k", b"raw"),
        ([["SET", "k", "hello"], ["SETRANGE", "k", "0", ""]], "k", b"embstr"),
        ([["SET", "k", "x"], ["SETBIT", "k", "1", "0"]], "k", b"raw"),
        ([["SETBIT", "a", "1", "1"], ["BITOP", "OR", "d", "a"]], "d", b"raw"),
        ([["BITFIELD", "k", "SET", "u8", "0", "1"]], "k", b"raw"),
        ([["PFADD", "k", "a"]], "k", b"raw"),
        ([["SET", "k", "1"], ["APPEND", "k", "2"], ["RENAME", "k", "r"]], "r", b"raw"),
        ([["SET", "k", "1"], ["APPEND", "k", "2"], ["COPY", "k", "c"]], "c", b"raw"),
        ([["SET", "k", "1"], ["APPEND", "k", "2"], ["SET", "k", "12"]], "k", b"int"),
        ([["SET", "k", "1"], ["APPEND", "k", "2"], ["DEL", "k"], ["SET", "k", "ab"]], "k", b"embstr"),
        ([["SET", "k", "5"], ["INCRBYFLOAT", "k", "1.5"]], "k", b"embstr"),
    ],
)
def test_strings_modified_in_place_are_raw_as_in_redis(c, commands, key, encoding):
    """Checked with redis-server 7.0.15: in-place edits unshare the string as a raw one."""
    for argv in commands:
        c.call(*argv)
    assert c.call("OBJECT", "ENCODING", key) == encoding
