"""SORT and SORT_RO.

The scenario tables run against the pure core and against redis-server, so
every expected reply here is Redis's. SORT reads its source only through the
protocol "``TYPE`` is list/set/zset and iterating yields the members in
natural order", which the stand-in classes below check on their own.
"""

from __future__ import annotations

import time

import pytest

from kvcore.commands.sort import lookup_by_pattern, sort_keys, strtod_score
from kvcore.types_list import ListValue
from tests.kvcore.harness import CoreClient, make_node
from tests.kvcore.test_keys import SYNTAX, WRONGTYPE, CoreBackend, Err, RedisBackend, Unordered, run_logged

NOT_DOUBLE = Err("ERR One or more scores can't be converted into double")
NOT_INT = Err("ERR value is not an integer or out of range")

SCENARIOS = {
    "numeric_sort_reads_numbers_as_strtod": [
        ([b"RPUSH", b"l", b"3", b"1", b"2", b"10", b" 5", b"", b"0x10", b"-inf", b"1e3", b".5"], 10),
        ([b"SORT", b"l"], [b"-inf", b"", b".5", b"1", b"2", b"3", b" 5", b"10", b"0x10", b"1e3"]),
        ([b"SORT", b"l", b"DESC", b"LIMIT", b"1", b"2"], [b"0x10", b"10"]),
        ([b"SORT_RO", b"l", b"limit", b"-5", b"2"], [b"-inf", b""]),
        ([b"SORT", b"l", b"LIMIT", b"8", b"-1"], [b"0x10", b"1e3"]),
        ([b"SORT", b"l", b"LIMIT", b"2", b"0"], []),
        ([b"SORT", b"l", b"LIMIT", b"10", b"1"], []),
        ([b"SORT", b"l", b"LIMIT", b"0", b"9223372036854775807"], [b"-inf", b"", b".5", b"1", b"2", b"3", b" 5", b"10", b"0x10", b"1e3"]),
    ],
    "numeric_ties_are_broken_by_the_elements": [
        ([b"RPUSH", b"l", b"1.0", b"1", b"01", b"b", b"a"], 5),
        ([b"SORT", b"l", b"BY", b"nokey_*"], [b"01", b"1", b"1.0", b"a", b"b"]),
        ([b"SORT", b"l", b"BY", b"nokey_*", b"DESC"], [b"b", b"a", b"1.0", b"1", b"01"]),
    ],
    "scores_that_are_not_doubles": [
        ([b"RPUSH", b"bad", b"1", b"abc"], 2),
        ([b"SORT", b"bad"], NOT_DOUBLE),
        ([b"SORT", b"bad", b"LIMIT", b"0", b"0"], NOT_DOUBLE),
        ([b"SORT", b"bad", b"LIMIT", b"0", b"0", b"STORE", b"dst"], NOT_DOUBLE),
        ([b"EXISTS", b"dst"], 0),
        ([b"SORT", b"bad", b"ALPHA"], [b"1", b"abc"]),
        ([b"SORT", b"bad", b"BY", b"nosort"], [b"1", b"abc"]),
        ([b"RPUSH", b"nan", b"nan"], 1),
        ([b"SORT", b"nan"], NOT_DOUBLE),
        ([b"RPUSH", b"trailing", b"1 "], 1),
        ([b"SORT", b"trailing"], NOT_DOUBLE),
        ([b"RPUSH", b"small", b"2.2250738585072014e-308", b"1e-300", b"inf", b"-0"], 4),
        ([b"SORT", b"small"], [b"-0", b"2.2250738585072014e-308", b"1e-300", b"inf"]),
        ([b"RPUSH", b"nul", b"1\x00abc", b"2", b"\x00"], 3),
        ([b"SORT", b"nul"], [b"\x00", b"1\x00abc", b"2"]),
    ],
    # Redis does not clear errno before strtod: after an ERANGE, non-integer scores on the
    # same connection fail too, so these come last (and kvcore does not copy that).
    "scores_out_of_range": [
        ([b"RPUSH", b"subnormal", b"1e-310"], 1),
        ([b"SORT", b"subnormal"], NOT_DOUBLE),
        ([b"RPUSH", b"overflow", b"1e400"], 1),
        ([b"SORT", b"overflow"], NOT_DOUBLE),
    ],
    "option_errors": [
        ([b"RPUSH", b"l", b"1"], 1),
        ([b"SORT", b"l", b"LIMIT"], SYNTAX),
        ([b"SORT", b"l", b"LIMIT", b"0"], SYNTAX),
        ([b"SORT", b"l", b"LIMIT", b"a", b"b"], NOT_INT),
        ([b"SORT", b"l", b"LIMIT", b"0", b"x"], NOT_INT),
        ([b"SORT", b"l", b"BY"], SYNTAX),
        ([b"SORT", b"l", b"GET"], SYNTAX),
        ([b"SORT", b"l", b"STORE"], SYNTAX),
        ([b"SORT", b"l", b"foo"], SYNTAX),
        ([b"SORT_RO", b"l", b"STORE", b"d"], SYNTAX),
        ([b"SET", b"str", b"x"], b"OK"),
        ([b"SORT", b"str"], WRONGTYPE),
        ([b"SORT", b"str", b"foo"], SYNTAX),
        ([b"HSET", b"h", b"f", b"1"], 1),
        ([b"SORT", b"h"], WRONGTYPE),
        ([b"SORT", b"nokey"], []),
        ([b"SORT", b"nokey", b"STORE", b"str"], 0),
        ([b"EXISTS", b"str"], 0),
    ],
    "by_and_get_patterns": [
        ([b"RPUSH", b"x", b"b", b"a", b"c"], 3),
        ([b"MSET", b"w_a", b"3", b"w_b", b"1", b"w_c", b"2", b"o_a", b"A", b"o_c", b"C"], b"OK"),
        ([b"SORT", b"x", b"BY", b"w_*"], [b"b", b"c", b"a"]),
        ([b"SORT", b"x", b"BY", b"w_*", b"GET", b"#", b"GET", b"o_*", b"GET", b"w_*"],
         [b"b", None, b"1", b"c", b"C", b"2", b"a", b"A", b"3"]),
        ([b"SORT", b"x", b"GET", b"o_*", b"ALPHA", b"DESC"], [b"C", None, b"A"]),
        ([b"SORT", b"x", b"GET", b"nostar"], NOT_DOUBLE),
        ([b"SORT", b"x", b"ALPHA", b"GET", b"nostar", b"GET", b"#x"], [None, None, None, None, None, None]),
        ([b"HSET", b"h_a", b"f", b"9"], 1),
        ([b"HSET", b"h_b", b"f", b"1", b"g", b"z"], 2),
        ([b"SORT", b"x", b"BY", b"h_*->f", b"GET", b"h_*->f", b"GET", b"#"], [None, b"c", b"1", b"b", b"9", b"a"]),
        ([b"SORT", b"x", b"BY", b"h_*->f", b"ALPHA", b"GET", b"h_*->g"], [None, b"z", None]),
        ([b"SORT", b"x", b"BY", b"w_*->f", b"ALPHA"], [b"b", b"a", b"c"]),
        ([b"SORT", b"x", b"BY", b"w_*->"], [b"a", b"b", b"c"]),
        ([b"SET", b"w_b->", b"-1"], b"OK"),
        ([b"SORT", b"x", b"BY", b"w_*->", b"GET", b"#", b"GET", b"w_*->"], [b"b", b"-1", b"a", None, b"c", None]),
        ([b"SET", b"w_c", b"nan"], b"OK"),
        ([b"SORT", b"x", b"BY", b"w_*"], NOT_DOUBLE),
        ([b"SORT", b"x", b"BY", b"w_*", b"ALPHA"], [b"b", b"a", b"c"]),
    ],
    "nosort_keeps_natural_order": [
        ([b"RPUSH", b"l", b"3", b"1", b"abc", b"2"], 4),
        ([b"SORT", b"l", b"BY", b"nosort"], [b"3", b"1", b"abc", b"2"]),
        ([b"SORT", b"l", b"BY", b"nosort", b"DESC"], [b"2", b"abc", b"1", b"3"]),
        ([b"SORT", b"l", b"BY", b"nosort", b"DESC", b"LIMIT", b"1", b"2"], [b"abc", b"1"]),
        ([b"SORT", b"l", b"BY", b"nosort", b"LIMIT", b"1", b"2", b"GET", b"#", b"GET", b"w_*"], [b"1", None, b"abc", None]),
        ([b"SORT", b"l", b"BY", b"nosort", b"BY", b"w_*"], [b"3", b"1", b"abc", b"2"]),
        ([b"ZADD", b"z", b"2", b"b", b"1", b"c", b"2", b"a", b"3", b"d"], 4),
        ([b"SORT", b"z", b"BY", b"nosort"], [b"c", b"a", b"b", b"d"]),
        ([b"SORT", b"z", b"BY", b"nosort", b"DESC", b"LIMIT", b"1", b"2"], [b"b", b"a"]),
        ([b"SORT", b"z", b"ALPHA", b"DESC"], [b"d", b"c", b"b", b"a"]),
        ([b"SADD", b"s", b"3", b"1", b"2"], 3),
        ([b"SORT", b"s", b"BY", b"nosort"], Unordered(b"1", b"2", b"3")),
        ([b"SADD", b"t", b"b", b"c", b"a"], 3),
        ([b"SORT", b"t", b"BY", b"nosort", b"STORE", b"dst"], 3),
        ([b"LRANGE", b"dst", b"0", b"-1"], [b"a", b"b", b"c"]),
        ([b"SORT", b"t", b"BY", b"nosort", b"DESC", b"STORE", b"dst"], 3),
        ([b"LRANGE", b"dst", b"0", b"-1"], [b"c", b"b", b"a"]),
        ([b"SORT", b"t", b"ALPHA", b"LIMIT", b"1", b"1"], [b"b"]),
    ],
    "alpha_collation_stops_at_nul_without_store": [
        ([b"RPUSH", b"u", b"a\x00c", b"a\x00b", b"a", b"A", b"a\x00a", b"\xff", b"z"], 7),
        ([b"SORT", b"u", b"ALPHA"], [b"A", b"a\x00c", b"a\x00b", b"a", b"a\x00a", b"z", b"\xff"]),
        ([b"SORT", b"u", b"ALPHA", b"DESC"], [b"\xff", b"z", b"a\x00c", b"a\x00b", b"a", b"a\x00a", b"A"]),
        ([b"SORT", b"u", b"ALPHA", b"STORE", b"u2"], 7),
        ([b"LRANGE", b"u2", b"0", b"-1"], [b"A", b"a", b"a\x00a", b"a\x00b", b"a\x00c", b"z", b"\xff"]),
    ],
    "store_writes_a_list": [
        ([b"RPUSH", b"l", b"2", b"1"], 2),
        ([b"SET", b"dst", b"old"], b"OK"),
        ([b"EXPIREAT", b"dst", b"4000000000"], 1),
        ([b"SORT", b"l", b"STORE", b"dst"], 2),
        ([b"TYPE", b"dst"], b"list"),
        ([b"TTL", b"dst"], -1),
        ([b"LRANGE", b"dst", b"0", b"-1"], [b"1", b"2"]),
        ([b"SORT", b"l", b"GET", b"#", b"GET", b"missing_*", b"STORE", b"dst"], 4),
        ([b"LRANGE", b"dst", b"0", b"-1"], [b"1", b"", b"2", b""]),
        ([b"SORT", b"l", b"STORE", b"a", b"STORE", b"l"], 2),
        ([b"EXISTS", b"a"], 0),
        ([b"SORT", b"l", b"LIMIT", b"5", b"5", b"STORE", b"dst"], 0),
        ([b"EXISTS", b"dst"], 0),
        ([b"SORT", b"l", b"BY", b"nosort", b"STORE", b"l"], 2),
        ([b"LRANGE", b"l", b"0", b"-1"], [b"1", b"2"]),
    ],
    "a_sorted_zset_is_a_skiplist_for_good": [
        ([b"ZADD", b"zs", b"1", b"a", b"2", b"b"], 2),
        ([b"SORT", b"zs", b"LIMIT"], SYNTAX),
        ([b"OBJECT", b"ENCODING", b"zs"], b"listpack"),  # a SORT that failed to parse converts nothing
        ([b"SORT_RO", b"zs", b"ALPHA", b"DESC"], [b"b", b"a"]),
        ([b"OBJECT", b"ENCODING", b"zs"], b"skiplist"),
        ([b"ZREM", b"zs", b"a"], 1),
        ([b"OBJECT", b"ENCODING", b"zs"], b"skiplist"),
        ([b"ZADD", b"z2", b"1", b"x"], 1),
        ([b"SORT", b"z2", b"BY", b"nosort", b"STORE", b"out"], 1),
        ([b"OBJECT", b"ENCODING", b"z2"], b"skiplist"),
    ],
    "command_getkeys_finds_the_last_store": [
        ([b"COMMAND", b"GETKEYS", b"SORT", b"a", b"LIMIT", b"1", b"2", b"STORE", b"b", b"GET", b"x", b"STORE", b"c"],
         [b"a", b"c"]),
        ([b"COMMAND", b"GETKEYS", b"SORT", b"a", b"GET", b"store", b"BY", b"store"], [b"a"]),
        ([b"COMMAND", b"GETKEYS", b"SORT_RO", b"a", b"BY", b"w_*"], [b"a"]),
    ],
}


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


# -- the protocol, with stand-ins for the families' classes ----------------------------------
class StandInList(list):
    TYPE = "list"


class StandInSet(dict):
    """Iterates its members in insertion order (a dict's keys)."""

    TYPE = "set"


class StandInZset:
    TYPE = "zset"
    listpack = False  # SORT makes a zset a skiplist for good

    def __init__(self, scores: dict[bytes, float]) -> None:
        self.scores = scores

    def __iter__(self):
        return iter(sorted(self.scores, key=lambda m: (self.scores[m], m)))


@pytest.fixture
def core():
    return CoreClient(make_node())


@pytest.mark.parametrize(
    "value, command, expected",
    [
        (StandInList([b"3", b"1", b"2"]), ["SORT", "v"], [b"1", b"2", b"3"]),
        (StandInList([b"3", b"1", b"2"]), ["SORT", "v", "BY", "nosort", "DESC"], [b"2", b"1", b"3"]),
        (StandInSet.fromkeys([b"b", b"c", b"a"]), ["SORT", "v", "BY", "nosort"], [b"b", b"c", b"a"]),
        (StandInSet.fromkeys([b"b", b"c", b"a"]), ["SORT", "v", "BY", "nosort", "DESC"], [b"b", b"c", b"a"]),
        (StandInSet.fromkeys([b"b", b"c", b"a"]), ["SORT", "v", "ALPHA"], [b"a", b"b", b"c"]),
        (StandInZset({b"x": 2, b"y": 1, b"z": 3}), ["SORT", "v", "BY", "nosort"], [b"y", b"x", b"z"]),
        (StandInZset({b"x": 2, b"y": 1, b"z": 3}), ["SORT", "v", "BY", "x", "DESC", "LIMIT", "0", "2"], [b"z", b"x"]),
    ],
)
def test_sort_reads_any_value_through_the_protocol(core, value, command, expected):
    core.node.dbs[0].set(b"v", value)
    assert core.call(*command) == expected


def test_store_creates_the_lists_familys_value(core):
    core.node.dbs[0].set(b"v", StandInSet.fromkeys([b"2", b"1"]))
    assert core.call("SORT", "v", "STORE", "dst") == 2
    stored = core.node.dbs[0].data[b"dst"]
    assert type(stored) is ListValue and list(stored) == [b"1", b"2"]


@pytest.mark.parametrize(
    "text, score",
    [
        (b"", 0.0), (b"12", 12.0), (b" 12", 12.0), (b"\t-1.5e2", -150.0), (b"+.5", 0.5), (b"5.", 5.0),
        (b"0x10", 16.0), (b"0X1.8p1", 3.0), (b"-inf", float("-inf")), (b"Infinity", float("inf")),
        (b"1\x00junk", 1.0), (b"\x00", 0.0), (b"0e999", 0.0), (b"2.2250738585072014e-308", 2.2250738585072014e-308),
        (b"12 ", None), (b" ", None), (b"abc", None), (b"1e", None), (b"0x", None), (b"0x1p", None), (b"1_0", None),
        (b"nan", None), (b"-NaN(1)", None), (b"1e400", None), (b"1e-400", None), (b"4e-320", None), (b"--1", None),
        (b"9" * 400, None), (b"0x1p99999", None), (b"0x1p-99999", None),
    ],
)
def test_strtod_score(text, score):
    assert strtod_score(text) == score


@pytest.mark.parametrize(
    "pattern, element, found",
    [
        (b"#", b"e", b"e"),
        (b"#\x00x", b"e", b"e"),
        (b"w_*", b"a", b"string-a"),
        (b"w_*->f", b"a", None),  # a string has no fields
        (b"h_*->f", b"a", b"field-f"),
        (b"h_*->", b"a", None),  # nothing after "->": the key is "h_a->"
        (b"h_*->\x00f", b"a", None),  # a NUL right after "->": no field either
        (b"nostar", b"a", None),
        (b"no\x00*", b"a", None),  # strchr stops at the NUL
        (b"*", b"w_a", b"string-a"),
        (b"l_*", b"a", None),  # not a string
    ],
)
def test_lookup_by_pattern(core, pattern, element, found):
    db = core.node.dbs[0]
    core.call("SET", "w_a", "string-a")
    core.call("HSET", "h_a", "f", "field-f")
    core.call("RPUSH", "l_a", "x")
    assert lookup_by_pattern(db, pattern, element) == found


@pytest.mark.parametrize(
    "argv, positions",
    [
        ([b"SORT", b"k"], [1]),
        ([b"SORT", b"k", b"STORE", b"d"], [1, 3]),
        ([b"SORT", b"k", b"STORE"], [1]),
        ([b"SORT", b"k", b"GET", b"store", b"x"], [1]),
        ([b"SORT", b"k", b"limit", b"store", b"store", b"store", b"d"], [1, 6]),
    ],
)
def test_sort_key_positions(argv, positions):
    assert sort_keys(argv) == positions


def test_only_a_storing_sort_is_logged():
    node = make_node(appendonly="yes")
    logged = run_logged(
        node,
        ["RPUSH", "l", "2", "1"],
        ["SORT", "l"],
        ["SORT", "l", "STORE", "dst"],
        ["SORT", "nokey", "STORE", "nothing"],
        ["SORT", "nokey", "STORE", "dst"],
    )
    assert logged == [[b"RPUSH", b"l", b"2", b"1"], [b"SORT", b"l", b"STORE", b"dst"], [b"SORT", b"nokey", b"STORE", b"dst"]]


def test_store_counts_every_element_as_a_change(core):
    core.call("RPUSH", "l", "1", "2", "3")
    dirty = core.node.stats.dirty
    core.call("SORT", "l", "GET", "#", "GET", "#", "STORE", "dst")
    assert core.node.stats.dirty - dirty == 6


def test_large_sort_is_fast_enough(core):
    core.call("RPUSH", "big", *[str((i * 7919) % 100_003) for i in range(100_000)])
    started = time.perf_counter()
    reply = core.call("SORT", "big", "LIMIT", "0", "3")
    assert reply == [b"0", b"1", b"2"]
    assert time.perf_counter() - started < 2.0
