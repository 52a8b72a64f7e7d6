"""maxmemory: the memory model follows every write, and each policy evicts what Redis's would.

The limit-honoured procedures are those of Redis's own maxmemory tests
(tests/unit/maxmemory.tcl): set the limit 100 KB above the current use, add
keys until close to it, add as many again, and look at used_memory.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvcore import rdb
from kvcore.effects import LogMessage
from kvcore.eviction import KEY_BYTES, value_bytes
from tests.kvcore.harness import CoreClient, make_node

OOM = "OOM command not allowed when used memory > 'maxmemory'."
POLICIES = ["allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl"]


def info_field(client: CoreClient, name: str) -> int:
    text = client.call("INFO", "everything").decode()
    return int(next(line.split(":", 1)[1] for line in text.splitlines() if line.startswith(name + ":")))


def modelled(db) -> int:
    """A database's weight counted from scratch, to compare with the running figure."""
    return sum(KEY_BYTES + len(key) + value_bytes(value) for key, value in db.data.items())


def set_limit_above_use(client: CoreClient, policy: str, headroom: int = 100 * 1024) -> int:
    limit = info_field(client, "used_memory") + headroom
    client.call("CONFIG", "SET", "maxmemory", str(limit))
    client.call("CONFIG", "SET", "maxmemory-policy", policy)
    return limit


def fill_to_limit(client: CoreClient, limit: int, write) -> int:
    """Redis's loop: write until used_memory is within 4 KB of the limit; how many writes it took."""
    count = 0
    while info_field(client, "used_memory") + 4096 <= limit:
        write(count)
        count += 1
    return count


# -- the model -----------------------------------------------------------------

COMMANDS = st.one_of(
    st.tuples(st.sampled_from(["SET", "APPEND", "GETSET", "SETRANGE"]), st.sampled_from("abcd"),
              st.binary(max_size=40)),
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "SADD", "HSET", "ZADD", "PFADD"]), st.sampled_from("efgh"),
              st.sampled_from(["1", "2", "x"])),
    st.tuples(st.sampled_from(["LPOP", "SPOP", "DEL", "INCR", "PERSIST", "UNLINK", "GETDEL"]),
              st.sampled_from("abcdefgh")),
    st.tuples(st.sampled_from(["RENAME", "COPY", "SMOVE", "LMOVE", "SINTERSTORE", "MOVE"]), st.sampled_from("abcdefgh"),
              st.sampled_from("abcdefgh")),
    st.tuples(st.just("EXPIRE"), st.sampled_from("abcdefgh"), st.sampled_from(["0", "100"])),
    st.tuples(st.sampled_from(["FLUSHDB", "SWAPDB 0 1", "SELECT 1", "SELECT 0", "LOAD"])),
)


def _args(command: tuple) -> list:
    name, *rest = command
    if name == "HSET":
        return ["HSET", rest[0], rest[1], "v" * 30]
    if name == "ZADD":
        return ["ZADD", rest[0], "1", rest[1]]
    if name == "SETRANGE":
        return ["SETRANGE", rest[0], "3", rest[1]]
    if name == "LMOVE":
        return ["LMOVE", rest[0], rest[1], "LEFT", "RIGHT"]
    if name == "SMOVE":
        return ["SMOVE", rest[0], rest[1], "1"]
    if name == "MOVE":
        return ["MOVE", rest[0], "1"]
    return name.split() + list(rest)


@settings(max_examples=150, deadline=None)
@given(st.lists(COMMANDS, max_size=40))
def test_every_write_keeps_the_model_equal_to_a_recount(commands):
    node = make_node()
    client = CoreClient(node)
    for command in commands:
        if command == ("LOAD",):
            rdb.load(node, rdb.write(node))  # as DEBUG RELOAD and a start from a snapshot
        else:
            client.call(*_args(command))
        node.now += 60  # EXPIRE 0 and lazy expiry delete keys too
        for db in node.dbs:
            assert db.used == modelled(db), (command, db.index)


def test_used_memory_is_the_empty_server_plus_the_dataset():
    node = make_node()
    client = CoreClient(node)
    empty = info_field(client, "used_memory")
    client.call("SET", "key", "x" * 1000)
    assert info_field(client, "used_memory") == empty + KEY_BYTES + 3 + 1000
    assert info_field(client, "used_memory_dataset") == KEY_BYTES + 3 + 1000
    client.call("DEL", "key")
    assert info_field(client, "used_memory") == empty
    assert info_field(client, "used_memory_peak") == empty + KEY_BYTES + 3 + 1000


# -- noeviction ------------------------------------------------------------------

def test_noeviction_refuses_writes_until_keys_are_deleted():
    node = make_node()
    client = CoreClient(node)
    limit = set_limit_above_use(client, "noeviction", headroom=10_000)
    written = 0
    while client.call("SET", f"key:{written}", "x" * 100) == b"OK":
        written += 1
    assert str(client.call("SET", "one-more", "x")) == OOM
    assert client.call("GET", "key:0") == b"x" * 100  # reads still served
    assert info_field(client, "used_memory") > limit and info_field(client, "evicted_keys") == 0
    client.call("DEL", *[f"key:{i}" for i in range(10)])
    assert client.call("SET", "one-more", "x") == b"OK"


# -- every policy honours the limit ----------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_the_limit_is_honoured(policy):
    node = make_node()
    client = CoreClient(node)
    limit = set_limit_above_use(client, policy)
    added = fill_to_limit(client, limit, lambda i: client.call("SETEX", f"key:{i}", "10000", "x"))
    assert added > 10
    for i in range(added):
        assert client.call("SETEX", f"more:{i}", "10000", "x") == b"OK"
    assert info_field(client, "used_memory") < limit + 4096
    assert info_field(client, "evicted_keys") > 0


@pytest.mark.parametrize("policy", ["allkeys-random", "allkeys-lru", "volatile-lru", "volatile-random", "volatile-ttl"])
def test_only_allkeys_policies_remove_keys_without_a_ttl(policy):
    node = make_node()
    client = CoreClient(node)
    limit = set_limit_above_use(client, policy)
    added = fill_to_limit(client, limit, lambda i: client.call("SET", f"key:{i}", "x"))
    replies = [client.call("SET", f"more:{i}", "x") for i in range(added)]
    if policy.startswith("allkeys-"):
        assert all(reply == b"OK" for reply in replies)
        assert info_field(client, "used_memory") < limit + 4096
    else:
        assert OOM in [str(reply) for reply in replies]
        assert info_field(client, "evicted_keys") == 0


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_remove_only_keys_with_a_ttl(policy):
    node = make_node()
    client = CoreClient(node)
    limit = set_limit_above_use(client, policy)
    added = fill_to_limit(client, limit, lambda i: client.call(*(
        ["SETEX", f"key:{i}", "10000", "x"] if i % 2 else ["SET", f"key:{i}", "x"])))
    for i in range(added):
        client.call("SETEX", f"foo:{i}", "10000", "x")
    assert info_field(client, "used_memory") < limit + 4096
    assert all(client.call("EXISTS", f"key:{i}") == 1 for i in range(0, added, 2))


def test_volatile_ttl_evicts_the_keys_closest_to_expiring():
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "maxmemory-samples", "64")
    for i in range(50):
        client.call("SET", f"key:{i}", "x" * 100, "EX", str(1000 + i))
    used = info_field(client, "used_memory")
    client.call("CONFIG", "SET", "maxmemory", str(used - 10 * (KEY_BYTES + 100)))
    client.call("CONFIG", "SET", "maxmemory-policy", "volatile-ttl")
    client.call("PING")
    gone = [i for i in range(50) if client.call("EXISTS", f"key:{i}") == 0]
    assert len(gone) >= 10 and max(gone) < 25


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_keys_that_are_read_are_kept(policy):
    """LRU keeps the keys read lately (read again between the writes), LFU those read often (read many
    times first, then not at all while the writes go on)."""
    node = make_node()
    client = CoreClient(node)
    limit = set_limit_above_use(client, policy)
    fill_to_limit(client, limit, lambda i: client.call("SET", f"key:{i}", "x" * 50))
    hot = [f"key:{i}" for i in range(0, 200, 4)]
    for _ in range(20 if policy == "allkeys-lfu" else 0):
        for key in hot:
            client.call("GET", key)
    for i in range(2000):
        if policy == "allkeys-lru":  # (LFU counters decay by the minute: its clock stands still here)
            node.now += 1000
        for key in hot if policy == "allkeys-lru" else ():
            client.call("GET", key)
        client.call("SET", f"new:{i}", "x" * 50)
    assert info_field(client, "evicted_keys") > 1000
    assert sum(client.call("EXISTS", key) for key in hot) >= len(hot) - (0 if policy == "allkeys-lru" else 2)


# -- what an eviction does -----------------------------------------------------

def test_an_eviction_is_a_del_for_the_log_an_event_and_a_counter():
    node = make_node()
    client, subscriber = CoreClient(node), CoreClient(node)
    client.call("CONFIG", "SET", "notify-keyspace-events", "Ee")
    subscriber.call("SUBSCRIBE", "__keyevent@0__:evicted")
    client.call("SET", "victim", "x")
    propagated = []
    node.propagate = lambda db_index, argv: propagated.append((db_index, argv))
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    client.call("CONFIG", "SET", "maxmemory", "1")
    assert client.call("DBSIZE") == 0
    assert propagated == [(0, [b"DEL", b"victim"])]
    assert subscriber.send_raw(b"")[-1] == [b"message", b"__keyevent@0__:evicted", b"victim"]
    assert info_field(client, "evicted_keys") == 1


def test_config_set_maxmemory_below_use_evicts_at_once_and_warns():
    node = make_node()
    client, subscriber = CoreClient(node), CoreClient(node)
    client.call("CONFIG", "SET", "notify-keyspace-events", "Ee")
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    subscriber.call("SUBSCRIBE", "__keyevent@0__:evicted")
    client.call("SET", "victim", "x")
    logged = []
    take_effects = node.take_effects

    def taking() -> list:
        effects = take_effects()
        logged.extend(e.text for e in effects if type(e) is LogMessage)
        return effects

    node.take_effects = taking
    client.call("CONFIG", "SET", "maxmemory", "1")
    assert subscriber.send_raw(b"") == [[b"message", b"__keyevent@0__:evicted", b"victim"]]  # before any other command
    assert any(text.startswith("WARNING: the new maxmemory value set via CONFIG SET (1) is smaller than the current "
                               "memory usage") for text in logged)


def test_evictions_are_the_same_for_the_same_seed():
    def evicted(seed: int) -> list[str]:
        node = make_node(seed=seed)
        client = CoreClient(node)
        for i in range(300):
            client.call("SET", f"key:{i}", "x" * 30)
        set_limit_above_use(client, "allkeys-lru", headroom=-50 * KEY_BYTES)
        client.call("PING")
        return [f"key:{i}" for i in range(300) if client.call("EXISTS", f"key:{i}") == 0]

    assert evicted(7) == evicted(7)
    assert evicted(7) != evicted(8)


# -- OBJECT IDLETIME and FREQ ----------------------------------------------------

def test_idletime_under_an_lru_policy_counts_from_the_last_access():
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    client.call("SET", "key", "v")
    node.now += 5000
    assert client.call("OBJECT", "IDLETIME", "key") == 5
    assert client.call("OBJECT", "IDLETIME", "key") == 5  # OBJECT itself is no access
    client.call("TOUCH", "key")
    assert client.call("OBJECT", "IDLETIME", "key") == 0
    node.now += 3000
    client.call("GET", "key")
    node.now += 2000
    assert client.call("OBJECT", "IDLETIME", "key") == 2


def test_idletime_without_an_lru_policy_starts_the_clocks():
    """noeviction keeps no access times until asked: a key untouched since counts as idle since the
    start; from then on accesses are timed (introspection-2.tcl's TTL/TYPE/EXISTS and TOUCH tests)."""
    node = make_node()
    client = CoreClient(node)
    node.now += 4000
    client.call("SET", "foo", "bar")
    node.now += 3000
    assert client.call("OBJECT", "IDLETIME", "foo") == 7
    client.call("TOUCH", "foo")
    node.now += 1000
    assert [client.call("OBJECT", "IDLETIME", "foo"), client.call("CONFIG", "GET", "maxmemory-policy")[1]] == \
        [1, b"noeviction"]


def test_ttl_type_exists_and_a_typed_scan_are_no_access():
    """introspection-2.tcl: they look the key up as Redis's LOOKUP_NOTOUCH (hits still counted)."""
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    client.call("SET", "foo", "bar")
    node.now += 3000
    for request in (("TTL", "foo"), ("PTTL", "foo"), ("TYPE", "foo"), ("EXISTS", "foo"),
                    ("SCAN", 0, "TYPE", "string")):
        client.call(*request)
    assert client.call("OBJECT", "IDLETIME", "foo") == 3
    assert client.call("OBJECT", "IDLETIME", "nokey") is None
    stats = client.call("INFO", "stats").decode()
    assert "keyspace_hits:6" in stats and "keyspace_misses:1" in stats  # OBJECT's lookups count too


def test_freq_under_an_lfu_policy_grows_with_accesses_and_decays_with_time():
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    client.call("CONFIG", "SET", "lfu-log-factor", "0")  # every access counts
    client.call("SET", "key", "v")
    assert client.call("OBJECT", "FREQ", "key") == 5
    for _ in range(10):
        client.call("GET", "key")
    assert client.call("OBJECT", "FREQ", "key") == 15
    node.now += 4 * 60_000  # lfu-decay-time 1: one less per minute
    assert client.call("OBJECT", "FREQ", "key") == 11


def test_restore_sets_the_access_clock_of_the_policy():
    """dump.tcl's 'RESTORE can set LRU' and 'RESTORE can set LFU'."""
    node = make_node()
    client = CoreClient(node)
    client.call("SET", "foo", "bar")
    payload = client.call("DUMP", "foo")
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    client.call("DEL", "foo")
    assert client.call("RESTORE", "foo", "0", payload, "IDLETIME", "1000") == b"OK"
    assert client.call("OBJECT", "IDLETIME", "foo") == 1000
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    client.call("DEL", "foo")
    assert client.call("RESTORE", "foo", "0", payload, "FREQ", "100") == b"OK"
    assert client.call("OBJECT", "FREQ", "foo") == 100
