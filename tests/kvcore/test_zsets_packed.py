"""Packed small sorted sets (see kvcore.types_zset): the same replies as unpacked ones, in little memory.

The same random command sequences run on three nodes: one packing sorted
sets up to the usual size, one never packing, one packing at most two
members (so sets cross between the forms all the time), under listpack
limits drawn low or high. Every reply must be equal, random ones included:
ranks are the same in both forms, and the nodes share a seed. The three
storage forms (packed, `SortedScores`, `SkipList`) then answer the same
reads and changes directly; skiplists are also checked against
redis-server (test_differential.py) and a model (test_zsets_model.py).
"""

from __future__ import annotations

import math
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import types_zset
from kvcore.types_zset import PackedView, SkipList, SortedScores, ZSetValue, order_key
from tests.kvcore import packing
from tests.kvcore.differential import sets, strings, zsets
from tests.kvcore.harness import CoreClient, bytes_per_key, encode_request, make_node

LIMITS = st.sampled_from([(b"128", b"64"), (b"128", b"64"), (b"4", b"64"), (b"1", b"1"), (b"0", b"64"), (b"128", b"0")])
KEYS = [b"k1", b"k2"]
writes = st.tuples(st.sampled_from([b"ZADD", b"ZINCRBY", b"ZREM"]), st.sampled_from(KEYS),
                   st.sampled_from([b"0", b"-0", b"1", b"2", b"1.5", b"-1", b"inf", b"-inf", b"3"]),
                   st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"aa", b""]))
busy = writes.map(lambda w: [w[0], w[1], w[3]] if w[0] == b"ZREM" else list(w))
step = st.one_of(zsets.commands(), zsets.commands(), busy, busy, busy, sets.commands(), strings.commands())


pack_limit = partial(packing.pack_limit, types_zset, "PACK_MAX_MEMBERS")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(LIMITS, st.lists(step, min_size=5, max_size=40))
def test_packed_and_unpacked_sorted_sets_answer_alike(limits, commands):
    finals = ([b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"] for key in zsets.KEYS)
    packing.assert_forms_answer_alike(types_zset, "PACK_MAX_MEMBERS", ("zset-max-listpack-entries", "zset-max-listpack-value"),
                                      limits, [*commands, *finals], seed=5)


def test_small_sorted_sets_take_a_packed_buffer():
    """Two-member sorted sets: a key costs about 210 bytes (a dict and a list per set cost 650)."""
    client = CoreClient(make_node())
    keys = 5000
    payload = b"".join(encode_request("ZADD", b"key:%d" % i, "1", "a", "2", "b") for i in range(keys))
    per_key = bytes_per_key(client, payload, keys)
    assert per_key < 300, per_key
    assert type(client.node.dbs[0].data[b"key:0"]._data) is bytes


SCORES = {b"b": 2.0, b"a": 2.0, b"c": -math.inf, b"d": 0.5, b"": 7.0}
RANKED = [(-math.inf, b"c"), (0.5, b"d"), (2.0, b"a"), (2.0, b"b"), (7.0, b"")]


def all_forms() -> list:
    packed = ZSetValue(dict(SCORES))  # a ZSetValue keeps the dict it is given
    with pack_limit(0):
        unpacked = ZSetValue(dict(SCORES))
    skiplist = ZSetValue(dict(SCORES), listpack=False)
    assert [type(value.view()) for value in (packed, unpacked, skiplist)] == [PackedView, SortedScores, SkipList]
    return [packed, unpacked, skiplist]


FORMS = ["packed", "unpacked", "skiplist"]


@pytest.mark.parametrize("value", all_forms(), ids=FORMS)
def test_views_read_alike(value):
    view = value.view()
    assert list(view.order) == RANKED and list(value) == [m for _, m in RANKED] and len(view) == 5
    assert view.scores == SCORES and value.scores == SCORES
    assert [view.score(m) for m in (b"a", b"c", b"zz")] == [2.0, -math.inf, None]
    assert [view.rank(m) for m in (b"c", b"b", b"", b"zz")] == [0, 3, 4, None]
    assert view.at(0) == RANKED[0] and view.at(-1) == RANKED[-1] and view.at(-2) == RANKED[-2]
    assert view.window(1, 3) == RANKED[1:3] and list(view.walk(3)) == RANKED[3:]
    assert view.members(1, 4) == [member for _, member in RANKED[1:4]] and view.members(2, 2) == []
    assert [view.bisect(2.0), view.bisect(2.0, b"b"), view.bisect(2.0, b"bb"), view.bisect(9.0)] == [2, 3, 4, 5]
    assert b"d" in value and b"zz" not in value


def test_order_keys_sort_as_redis_orders_scores_then_members():
    pairs = [(-math.inf, b""), (-1e300, b"z"), (-1.0, b"a"), (-5e-324, b"a"), (0.0, b""), (-0.0, b"a"), (0.0, b"a\0"),
             (0.0, b"b"), (5e-324, b""), (1.0, b""), (1.0, b"\xff"), (1e300, b"a"), (math.inf, b"")]
    keys = [order_key(score, member) for score, member in pairs]
    assert sorted(keys) == keys and len(set(keys)) == len(keys)
    assert order_key(-0.0, b"m") == order_key(0.0, b"m")


@pytest.mark.parametrize("value", all_forms(), ids=FORMS)
def test_changes_keep_the_order(value):
    value.apply({b"a": 9.0, b"e": 0.5, b"f": -1.0}, value.listpack)
    assert list(value.order) == [(-math.inf, b"c"), (-1.0, b"f"), (0.5, b"d"), (0.5, b"e"), (2.0, b"b"),
                                 (7.0, b""), (9.0, b"a")]
    assert value.remove_all([b"f", b"zz", b"f", b"c"]) == 2
    assert value.remove_window(1, 3) == [(0.5, b"e"), (2.0, b"b")]
    assert value.scores == {b"d": 0.5, b"": 7.0, b"a": 9.0}
    copy = value.copy()
    copy.apply({b"d": 100.0}, value.listpack)
    assert value.scores[b"d"] == 0.5 and copy.scores[b"d"] == 100.0


@pytest.mark.parametrize("members", [None, 0], ids=["from packed", "from unpacked"])
def test_leaving_the_listpack_is_for_good(members):
    with pack_limit(members):
        value = ZSetValue({b"a": 1.0})
    value.apply({b"b": 2.0}, False)
    assert not value.listpack and type(value.view()) is SkipList and value.encoding(None) == "skiplist"
    assert list(value.order) == [(1.0, b"a"), (2.0, b"b")]
    value.remove_all([b"b"])
    assert not value.listpack and type(value.view()) is SkipList
    value.listpack = True  # an RDB load decides the encoding this way
    assert type(value.view()) is PackedView and value.scores == {b"a": 1.0}
    value.listpack = False
    assert type(value.view()) is SkipList and value.encoding(None) == "skiplist"
