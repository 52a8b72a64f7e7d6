"""Differential strategies for the hash family.

Hashes stay small (listpack in Redis), so HSCAN answers in one call on both
sides and is compared exactly. HRANDFIELD is random: compared by shape.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import float_args, keys, number_args, values, word
from tests.kvcore.differential.runner import SHAPE, UNORDERED

COMPARE: dict[bytes, str] = {
    b"hrandfield": SHAPE,
    b"hkeys": UNORDERED,
    b"hvals": UNORDERED,
    b"hgetall": UNORDERED,
}

fields = st.sampled_from([b"f1", b"f2", b"f3", b"", b"n", b"x"])
pairs = st.lists(st.tuples(fields, values), min_size=1, max_size=3).map(lambda ps: [x for p in ps for x in p])
counted_values = st.sampled_from([b"10", b"-3", b"1.5", b"abc", b"9223372036854775807", b"-9223372036854775808", b"inf"])
# Never a huge negative count that Redis accepts: it would build that many replies.
rand_counts = st.one_of(
    st.integers(-5, 8).map(lambda n: b"%d" % n),
    st.sampled_from([b"x", b"-9223372036854775808", b"4611686018427387904", b"9223372036854775807"]),
)
withvalues_counts = st.one_of(rand_counts, st.sampled_from([b"-4611686018427387904", b"-9223372036854775807"]))
cursors = st.sampled_from([b"0", b"1", b"-1", b"", b"+5", b" 1", b"0x1", b"18446744073709551615", b"18446744073709551616"])
patterns = st.sampled_from([b"*", b"f*", b"?", b"f[12]", b"x", b"[^f]*", b"\\f1"])
scan_options = st.lists(
    st.one_of(
        st.tuples(word("MATCH"), patterns),
        st.tuples(word("COUNT"), st.sampled_from([b"1", b"10", b"0", b"-1", b"x"])),
        st.tuples(st.sampled_from([b"TYPE", b"NOVALUES", b"MATCH"])),
    ),
    max_size=3,
).map(lambda opts: [part for opt in opts for part in opt])


@st.composite
def commands(draw):
    k, f = draw(keys), draw(fields)
    choice = draw(st.integers(0, 21))
    return [
        lambda: [b"HSET", k, *draw(pairs)],
        lambda: [b"HSET", k, *draw(pairs)],
        lambda: [b"HMSET", k, *draw(pairs)],
        lambda: [draw(st.sampled_from([b"HSET", b"HMSET"])), k, *draw(st.lists(fields, min_size=1, max_size=3))],
        lambda: [b"HSETNX", k, f, draw(values)],
        lambda: [b"HGET", k, f],
        lambda: [b"HMGET", k, *draw(st.lists(fields, min_size=1, max_size=3))],
        lambda: [b"HDEL", k, *draw(st.lists(fields, min_size=1, max_size=3))],
        lambda: [b"HLEN", k],
        lambda: [b"HSTRLEN", k, f],
        lambda: [b"HEXISTS", k, f],
        lambda: [draw(st.sampled_from([b"HKEYS", b"HVALS", b"HGETALL"])), k],
        lambda: [b"HINCRBY", k, f, draw(number_args)],
        lambda: [b"HINCRBYFLOAT", k, f, draw(float_args)],
        lambda: [b"HSET", k, f, draw(counted_values)],
        lambda: [b"HRANDFIELD", k],
        lambda: [b"HRANDFIELD", k, draw(rand_counts)],
        lambda: [b"HRANDFIELD", k, draw(withvalues_counts), draw(word("WITHVALUES"))],
        lambda: [b"HRANDFIELD", k, draw(rand_counts), b"VALUES"],
        lambda: [b"HSCAN", k, draw(cursors), *draw(scan_options)],
        lambda: [b"HSCAN", k, b"0"],
        lambda: [draw(st.sampled_from([b"HSET", b"HGET", b"HDEL", b"HINCRBY", b"HSCAN", b"HRANDFIELD"]))],
    ][choice]()
