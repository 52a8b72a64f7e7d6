"""Differential strategies for the list family.

Elements come from a small pool so LREM, LPOS and LINSERT find matches. The
blocking commands are drawn only with timeouts Redis rejects (or with
arguments it rejects first): a real wait would stall redis-server and leave
the core without a reply. Their serving, timeouts and queueing are compared
with redis-server by the scenarios in tests/kvcore/test_lists.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import as_arg, int_args, keys, number_args, word

COMPARE: dict[bytes, str] = {}

elements = st.sampled_from([b"a", b"b", b"c", b"", b"1", b"10"])
element_lists = st.lists(elements, min_size=1, max_size=4)
indexes = st.one_of(st.integers(-7, 7).map(as_arg), st.integers(-7, 7).map(as_arg), int_args, number_args)
counts = st.one_of(st.integers(-3, 6).map(as_arg), st.sampled_from([b"x", b"", b"1.5", b"9223372036854775807"]))
sides = st.one_of(word("LEFT"), word("RIGHT"), st.sampled_from([b"MIDDLE", b""]))
good_sides = st.one_of(word("LEFT"), word("RIGHT"))
bad_timeouts = st.sampled_from([b"-1", b"-0.5", b"x", b"", b"nan", b"inf", b"-inf", b"1e16", b" 1", b"1 "])
lpos_options = st.lists(
    st.one_of(
        st.tuples(word("RANK"), st.sampled_from([b"1", b"2", b"-1", b"-2", b"0", b"x", b"-9223372036854775808"])),
        st.tuples(word("COUNT"), st.sampled_from([b"0", b"1", b"2", b"-1", b"x"])),
        st.tuples(word("MAXLEN"), st.sampled_from([b"0", b"1", b"3", b"-1", b"x"])),
        st.tuples(st.sampled_from([b"RANK", b"FOO"])),
    ),
    max_size=3,
).map(lambda opts: [part for opt in opts for part in opt])


@st.composite
def mpop_tail(draw):
    """numkeys key [key ...] side [COUNT n], sometimes with a numkeys that does not fit."""
    ks = draw(st.lists(keys, min_size=1, max_size=3))
    numkeys = draw(st.one_of(st.just(as_arg(len(ks))), st.sampled_from([b"0", b"-1", b"x", b"4", b"9223372036854775807"])))
    count = draw(st.one_of(st.just([]), st.tuples(word("COUNT"), counts).map(list), st.just([b"COUNT"])))
    return [numkeys, *ks, draw(sides), *count]


@st.composite
def commands(draw):
    k, k2 = draw(keys), draw(keys)
    choice = draw(st.integers(0, 24))
    return [
        lambda: [draw(st.sampled_from([b"LPUSH", b"RPUSH"])), k, *draw(element_lists)],
        lambda: [draw(st.sampled_from([b"LPUSH", b"RPUSH"])), k, *draw(element_lists)],
        lambda: [draw(st.sampled_from([b"LPUSHX", b"RPUSHX"])), k, *draw(element_lists)],
        lambda: [draw(st.sampled_from([b"LPOP", b"RPOP"])), k],
        lambda: [draw(st.sampled_from([b"LPOP", b"RPOP"])), k, draw(counts)],
        lambda: [b"LLEN", k],
        lambda: [b"LRANGE", k, draw(indexes), draw(indexes)],
        lambda: [b"LINDEX", k, draw(indexes)],
        lambda: [b"LSET", k, draw(indexes), draw(elements)],
        lambda: [b"LINSERT", k, draw(st.one_of(word("BEFORE"), word("AFTER"), st.just(b"AROUND"))),
                 draw(elements), draw(elements)],
        lambda: [b"LREM", k, draw(counts), draw(elements)],
        lambda: [b"LTRIM", k, draw(indexes), draw(indexes)],
        lambda: [b"LPOS", k, draw(elements), *draw(lpos_options)],
        lambda: [b"RPOPLPUSH", k, k2],
        lambda: [b"LMOVE", k, k2, draw(sides), draw(sides)],
        lambda: [b"LMPOP", *draw(mpop_tail())],
        lambda: [draw(st.sampled_from([b"BLPOP", b"BRPOP"])), k, *draw(st.lists(keys, max_size=2)), draw(bad_timeouts)],
        lambda: [b"BRPOPLPUSH", k, k2, draw(bad_timeouts)],
        lambda: [b"BLMOVE", k, k2, draw(sides), draw(sides), draw(bad_timeouts)],
        lambda: [b"BLMPOP", draw(bad_timeouts), *draw(mpop_tail())],
        lambda: [b"LMOVE", k, k2, draw(good_sides), draw(good_sides)],
        lambda: [b"LPOS", k, draw(elements)],
        lambda: [b"LRANGE", k, b"0", b"-1"],
        lambda: [draw(st.sampled_from([b"LPUSH", b"LPOP", b"LRANGE", b"LINSERT", b"BLPOP", b"LMPOP", b"LMOVE"])), k],
        lambda: [b"LPOP", k, b"1", b"2"],
    ][choice]()
