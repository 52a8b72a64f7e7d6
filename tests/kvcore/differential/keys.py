"""Differential strategies for the generic key commands.

KEYS is compared as a set and SCAN (always started at cursor 0 with a COUNT
that covers the keyspace) by its cursor and the set of its keys: Redis walks
its hash table, kvcore its insertion order. RANDOMKEY and OBJECT IDLETIME
(Redis's shared integers report the server's uptime) are compared by shape;
TTLs within a second of each other, since both sides read their own clocks.

List and hash commands are drawn too when those families exist, so TYPE,
OBJECT ENCODING, RENAME, MOVE and COPY (whose copy must not share state with
its source) meet other types.
"""

from __future__ import annotations

import importlib.util

from hypothesis import strategies as st

from tests.kvcore.differential.common import KEYS, keys, values, word
from tests.kvcore.differential.runner import CLOSE_MS, CLOSE_S, EXACT, SCAN, SHAPE, UNORDERED, ByArgv


def family_exists(name: str) -> bool:
    return importlib.util.find_spec(f"kvcore.commands.{name}") is not None


def _object_mode(argv: list[bytes]):
    return SHAPE if len(argv) > 1 and argv[1].lower() == b"idletime" else EXACT


COMPARE = {
    b"keys": UNORDERED,
    b"scan": SCAN,
    b"randomkey": SHAPE,
    b"ttl": CLOSE_S,
    b"expiretime": CLOSE_S,
    b"pttl": CLOSE_MS,
    b"pexpiretime": CLOSE_MS,
    b"object": ByArgv(_object_mode),
}

patterns = st.sampled_from(
    [b"*", b"k*", b"*1", b"k?", b"k[12]", b"k[^1]*", b"{t}*", b"\\{t}a", b"[a-z]*", b"nomatch", b"", b"*a*", b"k[3-1]"]
)
types = st.sampled_from([b"string", b"STRING", b"list", b"hash", b"set", b"zset", b"none", b"nosuch"])
db_args = st.sampled_from([b"0", b"1", b"15", b"16", b"-1", b"abc", b"2147483648"])
seconds = st.sampled_from([b"100", b"200", b"1000", b"0", b"-1", b"abc", b"9223372036854775", b"-9223372036854775"])
millis = st.sampled_from([b"100000", b"200000", b"0", b"-5", b"x", b"9223372036854775807", b"-9223372036854775808"])
unix_seconds = st.sampled_from([b"4000000000", b"4100000000", b"1", b"0", b"-1", b"9223372036854775"])
unix_millis = st.sampled_from([b"4000000000000", b"4000000000499", b"4000000000500", b"1", b"9223372036854775807"])
one_flag = st.one_of(word("NX"), word("XX"), word("GT"), word("LT"))
expire_flags = st.one_of(
    st.just([]), one_flag.map(lambda flag: [flag]), st.lists(st.one_of(one_flag, st.just(b"foo")), max_size=3)
)
# Two keys take most draws so that short sequences still act on the same key.
hot_keys = st.one_of(st.sampled_from(KEYS[:2]), st.sampled_from(KEYS[:2]), keys)
many_keys = st.lists(hot_keys, min_size=1, max_size=4)


def _expiry(draw, k):
    name, amounts = draw(
        st.sampled_from(
            [(b"EXPIRE", seconds), (b"PEXPIRE", millis), (b"EXPIREAT", unix_seconds), (b"PEXPIREAT", unix_millis)]
        )
    )
    return [name, k, draw(amounts), *draw(expire_flags)]


def _scan(draw):
    argv = [b"SCAN", draw(st.sampled_from([b"0", b"0", b"0", b"", b"abc", b" 1", b"18446744073709551616"]))]
    options = draw(
        st.lists(
            st.one_of(
                st.tuples(word("MATCH"), patterns),
                st.tuples(word("COUNT"), st.sampled_from([b"1000", b"100", b"0", b"-1", b"x"])),
                st.tuples(word("TYPE"), types),
                st.tuples(st.sampled_from([b"COUNT", b"MATCH", b"foo"])),
            ),
            max_size=3,
        )
    )
    has_count = any(opt[0].upper() == b"COUNT" and len(opt) == 2 for opt in options)
    if not has_count:
        options.append((b"COUNT", b"1000"))  # cover the whole keyspace in one call on both sides
    return argv + [part for opt in options for part in opt]


def _copy(draw, k, k2):
    options = draw(st.lists(st.one_of(st.tuples(word("REPLACE")), st.tuples(word("DB"), db_args)), max_size=2))
    if draw(st.integers(0, 5)) == 0:
        options.append((b"BADOPT",))
    return [b"COPY", k, k2, *[part for opt in options for part in opt]]


def _object(draw, k):
    sub = draw(st.sampled_from([b"ENCODING", b"encoding", b"REFCOUNT", b"IDLETIME", b"FREQ", b"HELP", b"nosuch"]))
    if sub == b"HELP":
        return [b"OBJECT", sub]
    return [b"OBJECT", sub, k]


def _other_types(draw, k):
    """Commands of other families on the shared keys, when those families exist."""
    element = draw(values)
    choices = []
    if family_exists("lists"):
        choices += [[b"RPUSH", k, element, b"x"], [b"LRANGE", k, b"0", b"-1"], [b"LPOP", k]]
    if family_exists("hashes"):
        choices += [[b"HSET", k, element, b"v"], [b"HGETALL", k]]
    return draw(st.sampled_from(choices)) if choices else [b"EXISTS", k]


@st.composite
def commands(draw):
    k = draw(hot_keys)
    k2 = draw(st.one_of(st.sampled_from([key for key in KEYS[:2] if key != k] or KEYS[:1]), hot_keys))
    choice = draw(st.integers(0, 29))
    return [
        lambda: [b"DEL", *draw(many_keys)],
        lambda: [b"UNLINK", *draw(many_keys)],
        lambda: [b"EXISTS", *draw(many_keys)],
        lambda: [b"TOUCH", *draw(many_keys)],
        lambda: [b"TYPE", k],
        lambda: [b"KEYS", draw(patterns)],
        lambda: _scan(draw),
        lambda: [b"RANDOMKEY"],
        lambda: [b"RENAME", k, k2],
        lambda: [b"RENAMENX", k, k2],
        lambda: _copy(draw, k, k2),
        lambda: _copy(draw, k, k2),
        lambda: [b"MOVE", k, draw(db_args)],
        lambda: _expiry(draw, k),
        lambda: _expiry(draw, k),
        lambda: _expiry(draw, k),
        lambda: [draw(st.sampled_from([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"])), k],
        lambda: [draw(st.sampled_from([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"])), k],
        lambda: [b"PERSIST", k],
        lambda: _object(draw, k),
        lambda: _object(draw, k),
        lambda: [b"SELECT", draw(st.sampled_from([b"0", b"1"]))],
        lambda: _other_types(draw, k),
        lambda: _other_types(draw, k),
        lambda: [b"SET", k, draw(st.sampled_from([b"1", b"9999", b"10000", b"-1", b"x" * 44, b"x" * 45, b"01"]))],
        lambda: [b"SET", k, draw(values), b"EX", draw(st.sampled_from([b"100", b"1000"]))],
        lambda: [draw(st.sampled_from([b"RENAME", b"COPY", b"MOVE", b"EXPIRE", b"TTL", b"TYPE", b"KEYS"]))],
        lambda: [b"EXISTS", draw(st.sampled_from(KEYS)), b"nokey"],
        lambda: [b"OBJECT"],
        lambda: [b"RANDOMKEY", k],
    ][choice]()
