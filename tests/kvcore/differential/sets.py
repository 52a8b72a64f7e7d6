"""Differential strategies for the set family.

Members come from a pool of ten, integers (canonical or not) and strings, so
sets meet both encodings and never outgrow one SSCAN page of the default
COUNT: Redis then answers SSCAN with cursor 0 and everything, as we do. Set
replies compare as sets; SRANDMEMBER is random, so only its shape compares.
SPOP is drawn with counts that take the whole set (or none, or are refused),
the only forms whose effect does not depend on the random draw; the random
pops are checked against a model in tests/kvcore/test_sets_model.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import KEYS, as_arg, keys, word
from tests.kvcore.differential.runner import SCAN, SHAPE, UNORDERED

COMPARE = {
    b"smembers": UNORDERED,
    b"sinter": UNORDERED,
    b"sunion": UNORDERED,
    b"sdiff": UNORDERED,
    b"spop": UNORDERED,
    b"srandmember": SHAPE,
    b"sscan": SCAN,
}

MEMBER_POOL = [b"1", b"2", b"-3", b"10", b"9223372036854775807", b"01", b"a", b"b", b"", b"-0"]
members = st.sampled_from(MEMBER_POOL)
member_lists = st.lists(members, min_size=1, max_size=5)
key_lists = st.lists(keys, min_size=1, max_size=3)
random_counts = st.one_of(
    st.integers(-6, 12).map(as_arg),
    st.sampled_from([b"x", b"", b"1.5", b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808"]),
)
whole_pops = st.sampled_from([b"0", b"10", b"100", b"-1", b"x", b"9223372036854775807", b"-9223372036854775808"])
numkeys = st.sampled_from([b"0", b"-1", b"x", b"4", b"9223372036854775807"])
limits = st.sampled_from([b"0", b"1", b"2", b"-1", b"x", b"9223372036854775807"])
patterns = st.sampled_from([b"*", b"a*", b"1*", b"?", b"[ab]", b"*0*", b""])
scan_options = st.lists(
    st.one_of(
        st.tuples(word("MATCH"), patterns),
        st.tuples(word("COUNT"), st.sampled_from([b"10", b"100", b"0", b"-1", b"x"])),
        st.tuples(st.sampled_from([b"TYPE", b"COUNT", b"FOO"])),
        st.tuples(word("TYPE"), st.just(b"set")),
    ),
    max_size=2,
).map(lambda opts: [part for opt in opts for part in opt])


@st.composite
def sintercard_tail(draw):
    ks = draw(key_lists)
    count = draw(st.one_of(st.just(as_arg(len(ks))), numkeys))
    limit = draw(st.one_of(st.just([]), st.tuples(word("LIMIT"), limits).map(list), st.just([b"LIMIT"])))
    return [count, *ks, *limit]


busy_keys = st.one_of(st.sampled_from(KEYS[:2]), st.sampled_from(KEYS[:2]), keys)  # collide more often


@st.composite
def commands(draw):
    k, k2 = draw(busy_keys), draw(busy_keys)
    choice = draw(st.sampled_from(range(24)))
    return [
        lambda: [b"SADD", k, *draw(member_lists)],
        lambda: [b"SADD", k, *draw(member_lists)],
        lambda: [b"SREM", k, *draw(member_lists)],
        lambda: [b"SMEMBERS", k],
        lambda: [b"SISMEMBER", k, draw(members)],
        lambda: [b"SMISMEMBER", k, *draw(member_lists)],
        lambda: [b"SCARD", k],
        lambda: [b"SPOP", k, draw(whole_pops)],
        lambda: [b"SPOP", k, b"1", b"2"],
        lambda: [b"SRANDMEMBER", k],
        lambda: [b"SRANDMEMBER", k, draw(random_counts)],
        lambda: [b"SRANDMEMBER", k, b"1", b"2"],
        lambda: [b"SMOVE", k, k2, draw(members)],
        lambda: [b"SINTER", k, *draw(key_lists)],
        lambda: [b"SINTERCARD", *draw(sintercard_tail())],
        lambda: [b"SINTERSTORE", k, *draw(key_lists)],
        lambda: [b"SUNION", k, *draw(key_lists)],
        lambda: [b"SUNIONSTORE", k, *draw(key_lists)],
        lambda: [b"SDIFF", k, *draw(key_lists)],
        lambda: [b"SDIFFSTORE", k, *draw(key_lists)],
        lambda: [b"SSCAN", k, draw(st.sampled_from([b"0", b"0", b"-0", b"x", b"1.5", b"18446744073709551616"])),
                 *draw(scan_options)],
        lambda: [b"OBJECT", b"ENCODING", k],
        lambda: [b"TYPE", k],
        lambda: [draw(st.sampled_from([b"SADD", b"SREM", b"SMOVE", b"SINTERCARD", b"SMISMEMBER", b"SSCAN"])), k],
    ][choice]()
