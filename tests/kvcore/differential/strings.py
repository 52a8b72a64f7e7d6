"""Differential strategies for the string family."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import float_args, int_args, keys, number_args, values, word

COMPARE: dict[bytes, str] = {}

expire_opts = st.one_of(
    st.tuples(word("EX"), st.sampled_from([b"100", b"0", b"-1", b"abc", b"9223372036854775807"])),
    st.tuples(word("PX"), st.sampled_from([b"100000", b"0", b"x"])),
    st.tuples(word("EXAT"), st.sampled_from([b"4000000000", b"1", b"0"])),
    st.tuples(word("PXAT"), st.sampled_from([b"4000000000000", b"1"])),
)
set_opts = st.lists(
    st.one_of(st.tuples(word("NX")), st.tuples(word("XX")), st.tuples(word("GET")), st.tuples(word("KEEPTTL")), expire_opts),
    max_size=3,
).map(lambda opts: [part for opt in opts for part in opt])


@st.composite
def commands(draw):
    k, k2, v = draw(keys), draw(keys), draw(values)
    choice = draw(st.integers(0, 21))
    return [
        lambda: [b"SET", k, v, *draw(set_opts)],
        lambda: [b"GET", k],
        lambda: [b"GETSET", k, v],
        lambda: [b"GETDEL", k],
        lambda: [b"GETEX", k, *draw(st.one_of(st.just([]), st.just([b"PERSIST"]), expire_opts.map(list)))],
        lambda: [b"SETNX", k, v],
        lambda: [b"SETEX", k, draw(st.sampled_from([b"100", b"0", b"-5", b"x"])), v],
        lambda: [b"PSETEX", k, draw(st.sampled_from([b"100000", b"0", b"x"])), v],
        lambda: [b"MGET", k, k2],
        lambda: [b"MSET", k, v, *draw(st.sampled_from([[], [k2], [k2, v]]))],
        lambda: [b"MSETNX", k, v, k2, v],
        lambda: [b"APPEND", k, v],
        lambda: [b"STRLEN", k],
        lambda: [draw(st.sampled_from([b"INCR", b"DECR"])), k],
        lambda: [draw(st.sampled_from([b"INCRBY", b"DECRBY"])), k, draw(number_args)],
        lambda: [b"INCRBYFLOAT", k, draw(float_args)],
        lambda: [b"GETRANGE", k, draw(int_args), draw(int_args)],
        lambda: [b"SUBSTR", k, draw(int_args), draw(int_args)],
        lambda: [b"SETRANGE", k, draw(st.sampled_from([b"0", b"3", b"-1", b"x", b"20"])), v],
        lambda: [b"LCS", k, k2, *draw(st.lists(st.sampled_from([b"LEN", b"IDX", b"WITHMATCHLEN", b"MINMATCHLEN", b"2"]), max_size=3))],
        lambda: [b"SET", k, draw(st.sampled_from([b"10", b"-3", b"1.5", b"abc", b"9223372036854775807"]))],
        lambda: [b"GET"],
    ][choice]()
