"""The sorted set family against a plain-Python model, by Hypothesis's stateful testing.

The model is a dict of member -> score dicts plus, per key, whether Redis would
still hold it as a listpack (limits lowered to 4 entries of at most 3 bytes,
so conversions happen). Every step then compares the whole of every sorted
set, its ranks and its encoding. Scores avoid -0 (whose sign a listpack drops,
checked against redis-server in test_zsets.py).
"""

from __future__ import annotations

import math

import hiredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.kvcore.harness import CoreClient, make_node

MAX_ENTRIES, MAX_VALUE = 4, 3
KEYS = ["a", "b", "c"]
MEMBERS = [b"m", b"n", b"o", b"p", b"q", b"", b"long"]
SCORES = [-2.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf, -math.inf]
NAN_SCORE = "ERR resulting score is not a number (NaN)"

keys = st.sampled_from(KEYS)
members = st.sampled_from(MEMBERS)
scores = st.sampled_from(SCORES)
pairs = st.lists(st.tuples(scores, members), min_size=1, max_size=5)
bounds = st.tuples(scores, st.booleans())  # (score, exclusive)


def text(score: float) -> bytes:
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


def arg(score: float) -> bytes:
    return text(score)


def bound_arg(bound) -> bytes:
    score, exclusive = bound
    return (b"(" if exclusive else b"") + arg(score)


def in_range(score: float, low, high) -> bool:
    (lo, lo_ex), (hi, hi_ex) = low, high
    above = score > lo if lo_ex else score >= lo
    below = score < hi if hi_ex else score <= hi
    return above and below


def fresh_listpack(zset: dict) -> bool:
    return len(zset) <= MAX_ENTRIES and all(len(m) <= MAX_VALUE for m in zset)


def ordered(zset: dict) -> list[tuple[float, bytes]]:
    return sorted((score, member) for member, score in zset.items())


class ZSetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        config = {"zset_max_listpack_entries": str(MAX_ENTRIES), "zset_max_listpack_value": str(MAX_VALUE)}
        self.client = CoreClient(make_node(**config))
        self.zsets: dict[str, dict[bytes, float]] = {}
        self.listpack: dict[str, bool] = {}

    def call(self, *argv):
        return self.client.call(*argv)

    def ok(self, *argv):
        reply = self.call(*argv)
        assert not isinstance(reply, hiredis.ReplyError), (argv, reply)
        return reply

    def _store(self, key: str, zset: dict[bytes, float]) -> None:
        if zset:
            self.zsets[key] = zset
            self.listpack[key] = fresh_listpack(zset)
        else:
            self.zsets.pop(key, None)
            self.listpack.pop(key, None)

    def _shrunk(self, key: str) -> None:
        if not self.zsets.get(key, True):
            self._store(key, {})

    # -- writes ------------------------------------------------------------------------
    @rule(key=keys, flags=st.sets(st.sampled_from(["NX", "XX", "GT", "LT", "CH"])), items=pairs)
    def zadd(self, key, flags, items):
        reply = self.call("ZADD", key, *sorted(flags), *[x for s, m in items for x in (arg(s), m)])
        if {"NX", "XX"} <= flags:
            assert str(reply) == "ERR XX and NX options at the same time are not compatible"
            return
        if len(flags & {"NX", "GT", "LT"}) > 1:
            assert str(reply) == "ERR GT, LT, and/or NX options at the same time are not compatible"
            return
        zset = dict(self.zsets.get(key, {}))
        added = updated = 0
        for score, member in items:
            old = zset.get(member)
            if old is None and "XX" not in flags:
                zset[member] = score
                added += 1
            elif old is not None and "NX" not in flags and score != old:
                if not ("GT" in flags and score <= old or "LT" in flags and score >= old):
                    zset[member] = score
                    updated += 1
        assert reply == (added + updated if "CH" in flags else added)
        if key not in self.zsets:
            self._store(key, zset)
        elif zset:
            self.listpack[key] = self.listpack[key] and fresh_listpack(zset)
            self.zsets[key] = zset

    @rule(key=keys, step=scores, member=members)
    def zincrby(self, key, step, member):
        zset = self.zsets.get(key, {})
        new = zset.get(member, 0.0) + step
        reply = self.call("ZINCRBY", key, arg(step), member)
        if math.isnan(new):
            assert str(reply) == NAN_SCORE
            return
        assert reply == text(new)
        if key in self.zsets:
            zset[member] = new
            self.listpack[key] = self.listpack[key] and fresh_listpack(zset)
        else:
            self._store(key, {member: new})

    @rule(key=keys, items=st.lists(members, min_size=1, max_size=3))
    def zrem(self, key, items):
        zset = self.zsets.get(key, {})
        assert self.ok("ZREM", key, *items) == len(set(items) & set(zset))
        for member in items:
            zset.pop(member, None)
        self._shrunk(key)

    @rule(key=keys, highest=st.booleans(), count=st.integers(1, 5))
    def zpop(self, key, highest, count):
        entries = ordered(self.zsets.get(key, {}))
        taken = (entries[::-1] if highest else entries)[:count]
        reply = self.ok("ZPOPMAX" if highest else "ZPOPMIN", key, count)
        assert reply == [x for s, m in taken for x in (m, text(s))]
        for _, member in taken:
            del self.zsets[key][member]
        self._shrunk(key)

    @rule(sources=st.lists(keys, min_size=1, max_size=3), highest=st.booleans(), count=st.integers(1, 5))
    def zmpop(self, sources, highest, count):
        key = next((k for k in sources if k in self.zsets), None)
        reply = self.ok("ZMPOP", len(sources), *sources, "MAX" if highest else "MIN", "COUNT", count)
        if key is None:
            assert reply is None
            return
        entries = ordered(self.zsets[key])
        taken = (entries[::-1] if highest else entries)[:count]
        assert reply == [key.encode(), [[m, text(s)] for s, m in taken]]
        for _, member in taken:
            del self.zsets[key][member]
        self._shrunk(key)

    @rule(key=keys, start=st.integers(-6, 6), stop=st.integers(-6, 6))
    def zremrangebyrank(self, key, start, stop):
        entries = ordered(self.zsets.get(key, {}))
        doomed = entries[slice(*_rank_slice(len(entries), start, stop))]
        assert self.ok("ZREMRANGEBYRANK", key, start, stop) == len(doomed)
        for _, member in doomed:
            del self.zsets[key][member]
        self._shrunk(key)

    @rule(key=keys, low=bounds, high=bounds)
    def zremrangebyscore(self, key, low, high):
        zset = self.zsets.get(key, {})
        doomed = [m for m, s in zset.items() if in_range(s, low, high)]
        assert self.ok("ZREMRANGEBYSCORE", key, bound_arg(low), bound_arg(high)) == len(doomed)
        for member in doomed:
            del zset[member]
        self._shrunk(key)

    @rule(dst=keys, src=keys, low=bounds, high=bounds, reverse=st.booleans())
    def zrangestore(self, dst, src, low, high, reverse):
        picked = [(s, m) for s, m in ordered(self.zsets.get(src, {})) if in_range(s, low, high)]
        ends = (bound_arg(high), bound_arg(low)) if reverse else (bound_arg(low), bound_arg(high))
        extra = ["REV"] if reverse else []
        assert self.ok("ZRANGESTORE", dst, src, *ends, "BYSCORE", *extra) == len(picked)
        self._store(dst, {m: s for s, m in picked})

    @rule(
        dst=keys,
        sources=st.lists(keys, min_size=1, max_size=3),
        op=st.sampled_from(["UNION", "INTER", "DIFF"]),
        weights=st.lists(st.sampled_from([1.0, 2.0, 0.5]), min_size=3, max_size=3),
        how=st.sampled_from(["SUM", "MIN", "MAX"]),
    )
    def store_algebra(self, dst, sources, op, weights, how):
        options = [] if op == "DIFF" else ["WEIGHTS", *map(arg, weights[: len(sources)]), "AGGREGATE", how]
        result = self._algebra(op, sources, weights, how)
        assert self.ok(f"Z{op}STORE", dst, len(sources), *sources, *options) == len(result)
        self._store(dst, result)

    # -- reads ---------------------------------------------------------------------------
    def _algebra(self, op, sources, weights, how) -> dict[bytes, float]:
        zsets = [self.zsets.get(k, {}) for k in sources]
        if op == "DIFF":
            return {m: s for m, s in zsets[0].items() if not any(m in z for z in zsets[1:])}
        combine = {"SUM": lambda a, b: a + b if not math.isnan(a + b) else 0.0, "MIN": min, "MAX": max}[how]
        result: dict[bytes, float] = {}
        names = set.intersection(*map(set, zsets)) if op == "INTER" else set().union(*zsets)
        # Redis combines the sets from the smallest to the largest: with infinities
        # the order decides between a sum and NaN (which SUM makes 0).
        by_size = sorted(zip(zsets, weights), key=lambda pair: len(pair[0]))
        for member in names:
            parts = [_weighted(w, z[member]) for z, w in by_size if member in z]
            total = parts[0]
            for part in parts[1:]:
                total = combine(total, part)
            result[member] = total
        return result

    @rule(sources=st.lists(keys, min_size=1, max_size=3), op=st.sampled_from(["UNION", "INTER", "DIFF"]))
    def algebra(self, sources, op):
        result = self._algebra(op, sources, [1.0, 1.0, 1.0], "SUM")
        reply = self.ok(f"Z{op}", len(sources), *sources, "WITHSCORES")
        assert reply == [x for s, m in ordered(result) for x in (m, text(s))]

    @rule(key=keys, low=bounds, high=bounds, offset=st.integers(0, 3), count=st.integers(-1, 3), reverse=st.booleans())
    def zrange_byscore(self, key, low, high, offset, count, reverse):
        picked = [(s, m) for s, m in ordered(self.zsets.get(key, {})) if in_range(s, low, high)]
        if reverse:
            picked.reverse()
        picked = picked[offset:] if count < 0 else picked[offset : offset + count]
        ends = (bound_arg(high), bound_arg(low)) if reverse else (bound_arg(low), bound_arg(high))
        extra = ["REV"] if reverse else []
        reply = self.ok("ZRANGE", key, *ends, "BYSCORE", *extra, "LIMIT", offset, count, "WITHSCORES")
        assert reply == [x for s, m in picked for x in (m, text(s))]
        assert self.ok("ZCOUNT", key, bound_arg(low), bound_arg(high)) == len(
            [s for s in self.zsets.get(key, {}).values() if in_range(s, low, high)]
        )

    @precondition(lambda self: any(len(set(z.values())) == 1 for z in self.zsets.values()))
    @rule(data=st.data())
    def lex_on_equal_scores(self, data):
        key = data.draw(st.sampled_from(sorted(k for k, z in self.zsets.items() if len(set(z.values())) == 1)))
        low = data.draw(st.sampled_from([b"-", b"[m", b"(m", b"[o", b"(", b"["]))
        high = data.draw(st.sampled_from([b"+", b"[o", b"(o", b"[p", b"[long"]))
        names = sorted(self.zsets[key])
        picked = [m for m in names if _lex_ok(m, low, True) and _lex_ok(m, high, False)]
        assert self.ok("ZRANGEBYLEX", key, low, high) == picked
        assert self.ok("ZLEXCOUNT", key, low, high) == len(picked)

    @rule(key=keys, member=members)
    def ranks(self, key, member):
        entries = [m for _, m in ordered(self.zsets.get(key, {}))]
        rank = entries.index(member) if member in entries else None
        assert self.ok("ZRANK", key, member) == rank
        assert self.ok("ZREVRANK", key, member) == (None if rank is None else len(entries) - 1 - rank)

    @rule(key=keys, count=st.integers(-6, 8))
    def zrandmember(self, key, count):
        zset = self.zsets.get(key, {})
        reply = self.ok("ZRANDMEMBER", key, count, "WITHSCORES")
        got = list(zip(reply[::2], reply[1::2]))
        assert all(m in zset and s == text(zset[m]) for m, s in got)
        expected = min(count, len(zset)) if count >= 0 else (-count if zset else 0)
        assert len(got) == expected and (count < 0 or len(set(got)) == len(got))

    @rule(key=keys, count=st.integers(1, 3))
    def zscan(self, key, count):
        cursor, seen = b"0", {}
        while True:
            cursor, page = self.ok("ZSCAN", key, cursor, "COUNT", count)
            seen.update(zip(page[::2], page[1::2]))
            if cursor == b"0":
                break
        assert set(seen) == set(self.zsets.get(key, {}))

    @invariant()
    def matches_model(self):
        for key in KEYS:
            zset = self.zsets.get(key)
            if zset is None:
                assert self.ok("EXISTS", key) == 0
                continue
            assert self.ok("ZRANGE", key, 0, -1, "WITHSCORES") == [x for s, m in ordered(zset) for x in (m, text(s))]
            assert self.ok("ZCARD", key) == len(zset)
            encoding = self.ok("OBJECT", "ENCODING", key)
            assert encoding == (b"listpack" if self.listpack[key] else b"skiplist"), (key, zset)


def _weighted(weight: float, score: float) -> float:
    product = weight * score
    return 0.0 if math.isnan(product) else product


def _rank_slice(size: int, start: int, stop: int) -> tuple[int, int]:
    if start < 0:
        start += size
    if stop < 0:
        stop += size
    start = max(start, 0)
    if start > stop or start >= size:
        return 0, 0
    return start, min(stop, size - 1) + 1


def _lex_ok(member: bytes, bound: bytes, is_low: bool) -> bool:
    if bound in (b"-", b"+"):
        return (bound == b"-") == is_low
    value, exclusive = bound[1:], bound[:1] == b"("
    if is_low:
        return member > value if exclusive else member >= value
    return member < value if exclusive else member <= value


ZSetMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
)
TestZSetModel = ZSetMachine.TestCase
