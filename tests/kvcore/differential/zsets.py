"""Differential strategies for the sorted set family.

Members come from a small pool and scores from a few values with many ties
(so lex ranges meet both equal and mixed scores), plus floats, infinities and
malformed numbers. Sorted sets stay listpacks here, so ZSCAN answers whole
and in rank order on both sides and compares exactly. Sets are mixed in as
sources of the ZUNION family. ZRANDMEMBER compares by shape only. The
blocking pops are drawn with timeouts Redis refuses (a real wait would stall
redis-server); tests/kvcore/test_zsets.py covers their serving.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import KEYS, as_arg, float_args, keys, word
from tests.kvcore.differential.runner import SHAPE

COMPARE = {b"zrandmember": SHAPE}

members = st.sampled_from([b"a", b"b", b"c", b"", b"1", b"10", b"aa", b"B"])
tied_scores = st.sampled_from([b"0", b"1", b"1", b"2", b"2", b"-1", b"1.5", b"1.1", b"-0", b"inf", b"-inf"])
scores = st.one_of(tied_scores, tied_scores, float_args, st.sampled_from([b"0x10", b"1e400", b" 1", b"1e-400"]))
good_pairs = st.lists(st.tuples(tied_scores, members), min_size=1, max_size=4).map(lambda ps: [x for p in ps for x in p])
pairs = st.lists(st.tuples(scores, members), min_size=1, max_size=4).map(lambda ps: [x for p in ps for x in p])
zadd_flags = st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]), max_size=3, unique=True).flatmap(
    lambda names: st.tuples(*[word(name) for name in names]).map(list)
)
score_bounds = st.sampled_from(
    [b"-inf", b"+inf", b"inf", b"(1", b"1", b"(1.5", b"2", b"0", b"-1", b"(-inf", b"(+inf", b"(2", b"1.1",
     b"x", b"", b"(", b" 1", b"1e400", b"nan", b"0x10", b"((1", b"-0", b"(0"]
)
good_lex_bounds = st.sampled_from([b"-", b"+", b"[a", b"(a", b"[b", b"(b", b"[", b"(", b"[aa", b"[B", b"(10", b"[1", b"[c"])
lex_bounds = st.one_of(good_lex_bounds, good_lex_bounds, st.sampled_from([b"a", b"", b"+a", b"-x"]))
ranks = st.one_of(st.integers(-6, 6).map(as_arg), st.sampled_from([b"x", b"9223372036854775807", b"-9223372036854775808"]))
limit_args = st.sampled_from([b"-1", b"0", b"1", b"2", b"5", b"x"])
numkeys = st.sampled_from([b"0", b"-1", b"x", b"4", b"9223372036854775807"])
counts = st.sampled_from([b"-1", b"0", b"1", b"2", b"10", b"x", b"9223372036854775807", b""])
random_counts = st.one_of(
    st.integers(-6, 10).map(as_arg),
    st.sampled_from([b"x", b"9223372036854775807", b"-9223372036854775808", b"4611686018427387904"]),
)
bad_timeouts = st.sampled_from([b"-1", b"-0.5", b"x", b"", b"nan", b" 1"])
patterns = st.sampled_from([b"*", b"a*", b"1*", b"?", b"[ab]", b""])


def _flatten(parts) -> list[bytes]:
    return [arg for part in parts for arg in part]


range_options = st.lists(
    st.one_of(
        st.tuples(word("BYSCORE")),
        st.tuples(word("BYLEX")),
        st.tuples(word("REV")),
        st.tuples(word("WITHSCORES")),
        st.tuples(word("LIMIT"), limit_args, limit_args),
        st.tuples(st.sampled_from([b"LIMIT", b"FOO"])),
    ),
    max_size=4,
).map(_flatten)
old_range_options = st.lists(
    st.one_of(st.tuples(word("WITHSCORES")), st.tuples(word("LIMIT"), limit_args, limit_args), st.tuples(word("REV"))),
    max_size=2,
).map(_flatten)
any_bound = st.one_of(score_bounds, lex_bounds, ranks)
busy_keys = st.one_of(st.sampled_from(KEYS[:2]), st.sampled_from(KEYS[:2]), keys)  # collide more often
good_score_bounds = st.sampled_from([b"-inf", b"+inf", b"(1", b"1", b"2", b"(2", b"0", b"-1", b"1.5", b"(1.5", b"-0"])
small_ranks = st.integers(-4, 4).map(as_arg)
maybe = st.booleans()


@st.composite
def coherent_range(draw):
    """ZRANGE arguments that make sense together (most of them run rather than fail)."""
    kind = draw(st.sampled_from(["rank", "score", "lex"]))
    if kind == "rank":
        args = [draw(small_ranks), draw(small_ranks)]
    elif kind == "score":
        args = [draw(good_score_bounds), draw(good_score_bounds), b"BYSCORE"]
    else:
        args = [draw(good_lex_bounds), draw(good_lex_bounds), b"BYLEX"]
    if draw(maybe):
        args.append(b"REV")
    if kind != "lex" and draw(maybe):
        args.append(b"WITHSCORES")
    if kind != "rank" and draw(maybe):
        args += [b"LIMIT", draw(limit_args), draw(limit_args)]
    return args


@st.composite
def setop_tail(draw, store: bool):
    """numkeys key [key ...] with WEIGHTS / AGGREGATE / WITHSCORES, sometimes malformed."""
    ks = draw(st.lists(busy_keys, min_size=1, max_size=3))
    count = draw(st.one_of(st.just(as_arg(len(ks))), st.just(as_arg(len(ks))), numkeys))
    options = [
        st.tuples(word("WEIGHTS"), *[st.sampled_from([b"1", b"2", b"-1", b"0", b"0.5", b"inf", b"x"])] * len(ks)),
        st.tuples(word("AGGREGATE"), st.one_of(word("SUM"), word("MIN"), word("MAX"), st.just(b"AVG"))),
        st.tuples(st.sampled_from([b"WEIGHTS", b"AGGREGATE", b"LIMIT"])),
        st.tuples(word("LIMIT"), limit_args),
    ]
    if not store:
        options.append(st.tuples(word("WITHSCORES")))
    return [count, *ks, *_flatten(draw(st.lists(st.one_of(*options), max_size=2)))]


@st.composite
def mpop_tail(draw):
    ks = draw(st.lists(busy_keys, min_size=1, max_size=3))
    count = draw(st.one_of(st.just(as_arg(len(ks))), st.just(as_arg(len(ks))), numkeys))
    where = draw(st.one_of(word("MIN"), word("MAX"), st.just(b"MIDDLE")))
    tail = draw(st.one_of(st.just([]), st.tuples(word("COUNT"), counts).map(list), st.just([b"COUNT"])))
    return [count, *ks, where, *tail]


@st.composite
def commands(draw):
    k, k2 = draw(busy_keys), draw(busy_keys)
    choice = draw(st.sampled_from(WEIGHTED))
    return [
        lambda: [b"ZADD", k, *draw(good_pairs)],
        lambda: [b"ZRANGE", k, *draw(coherent_range())],
        lambda: [b"ZADD", k, *draw(zadd_flags), *draw(pairs)],
        lambda: [b"ZINCRBY", k, draw(scores), draw(members)],
        lambda: [b"ZREM", k, *draw(st.lists(members, min_size=1, max_size=3))],
        lambda: [b"ZCARD", k],
        lambda: [b"ZSCORE", k, draw(members)],
        lambda: [b"ZMSCORE", k, *draw(st.lists(members, min_size=1, max_size=3))],
        lambda: [draw(st.sampled_from([b"ZRANK", b"ZREVRANK"])), k, draw(members)],
        lambda: [b"ZCOUNT", k, draw(score_bounds), draw(score_bounds)],
        lambda: [b"ZLEXCOUNT", k, draw(lex_bounds), draw(lex_bounds)],
        lambda: [b"ZRANGE", k, draw(any_bound), draw(any_bound), *draw(range_options)],
        lambda: [b"ZRANGE", k, draw(score_bounds), draw(score_bounds), b"BYSCORE", *draw(range_options)],
        lambda: [b"ZRANGE", k, draw(lex_bounds), draw(lex_bounds), b"BYLEX", *draw(range_options)],
        lambda: [b"ZRANGE", k, draw(ranks), draw(ranks), *draw(range_options)],
        lambda: [b"ZRANGESTORE", k2, k, draw(any_bound), draw(any_bound), *draw(range_options)],
        lambda: [draw(st.sampled_from([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"])), k, draw(score_bounds),
                 draw(score_bounds), *draw(old_range_options)],
        lambda: [draw(st.sampled_from([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"])), k, draw(lex_bounds),
                 draw(lex_bounds), *draw(old_range_options)],
        lambda: [b"ZREVRANGE", k, draw(ranks), draw(ranks), *draw(old_range_options)],
        lambda: [b"ZREMRANGEBYRANK", k, draw(ranks), draw(ranks)],
        lambda: [b"ZREMRANGEBYSCORE", k, draw(score_bounds), draw(score_bounds)],
        lambda: [b"ZREMRANGEBYLEX", k, draw(lex_bounds), draw(lex_bounds)],
        lambda: [draw(st.sampled_from([b"ZPOPMIN", b"ZPOPMAX"])), k, *draw(st.lists(counts, max_size=2))],
        lambda: [b"ZMPOP", *draw(mpop_tail())],
        lambda: [draw(st.sampled_from([b"BZPOPMIN", b"BZPOPMAX"])), k, *draw(st.lists(keys, max_size=2)),
                 draw(bad_timeouts)],
        lambda: [b"BZMPOP", draw(bad_timeouts), *draw(mpop_tail())],
        lambda: [b"ZRANDMEMBER", k, *draw(st.lists(st.one_of(random_counts, word("WITHSCORES")), max_size=3))],
        lambda: [draw(st.sampled_from([b"ZUNION", b"ZINTER", b"ZDIFF"])), *draw(setop_tail(False))],
        lambda: [draw(st.sampled_from([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"])), k2, *draw(setop_tail(True))],
        lambda: [b"ZINTERCARD", *draw(setop_tail(False))],
        lambda: [b"ZSCAN", k, draw(st.sampled_from([b"0", b"0", b"x", b"-1", b"5"])),
                 *_flatten(draw(st.lists(st.one_of(st.tuples(word("MATCH"), patterns),
                                                   st.tuples(word("COUNT"), counts),
                                                   st.tuples(st.sampled_from([b"COUNT", b"TYPE"]))), max_size=2)))],
        lambda: [b"SADD", k, *draw(st.lists(members, min_size=1, max_size=3))],
        lambda: [b"OBJECT", b"ENCODING", k],
        lambda: [b"TYPE", k],
        lambda: [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
        lambda: [draw(st.sampled_from([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX", b"ZLEXCOUNT", b"ZREMRANGEBYLEX"])), k,
                 draw(good_lex_bounds), draw(good_lex_bounds)],
        lambda: [draw(st.sampled_from([b"ZADD", b"ZRANGE", b"ZINCRBY", b"ZUNION", b"ZMPOP", b"ZRANDMEMBER"])), k],
        lambda: [b"ZADD", k, *draw(pairs)],
    ][choice]()


# Indexes into the list above, the common reads and writes repeated so sequences build state.
WEIGHTED = [*range(38), 0, 0, 0, 1, 1, 1, 2, 3, 6, 7, 34, 34, 37]
