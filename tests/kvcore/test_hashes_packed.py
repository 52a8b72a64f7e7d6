"""Packed small hashes (see kvcore.types_hash): the same replies as dict-stored ones, in little memory.

The same random command sequences run on three nodes: one packing hashes up
to the usual size, one never packing, one packing at most two fields (so
hashes cross between the forms all the time). Every reply must be equal,
random ones included: both forms keep insertion order, and the nodes share
a seed.
"""

from __future__ import annotations

from functools import partial

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import types_hash
from kvcore.types_hash import HashValue
from tests.kvcore import packing
from tests.kvcore.differential import hashes, strings
from tests.kvcore.differential.common import KEYS
from tests.kvcore.harness import CoreClient, bytes_per_key, encode_request, make_node

LIMITS = st.sampled_from([(b"512", b"64"), (b"3", b"64"), (b"1", b"2"), (b"128", b"0")])
writes = st.tuples(st.sampled_from([b"HSET", b"HDEL", b"HINCRBY"]), st.sampled_from([b"k1", b"k2"]),
                   st.sampled_from([b"a", b"b", b"c", b"d", b"", b"long-field"]), st.sampled_from([b"1", b"22", b"-3"]))
busy = writes.map(lambda w: list(w[:3]) if w[0] == b"HDEL" else list(w))
step = st.one_of(hashes.commands(), hashes.commands(), busy, busy, strings.commands())


pack_limit = partial(packing.pack_limit, types_hash, "PACK_MAX_FIELDS")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(LIMITS, st.lists(step, min_size=5, max_size=40))
def test_packed_and_dict_hashes_answer_alike(limits, commands):
    packing.assert_forms_answer_alike(types_hash, "PACK_MAX_FIELDS", ("hash-max-listpack-entries", "hash-max-listpack-value"),
                                      limits, [*commands, *([b"HGETALL", key] for key in KEYS)], seed=11)


def test_small_hashes_take_a_packed_buffer():
    """Two-field hashes: a key costs about 200 bytes (a dict per hash cost 475)."""
    client = CoreClient(make_node())
    keys = 5000
    payload = b"".join(encode_request("HSET", b"key:%d" % i, "f1", "v1", "f2", "v2") for i in range(keys))
    per_key = bytes_per_key(client, payload, keys)
    assert per_key < 300, per_key
    assert type(client.node.dbs[0].data[b"key:0"]._data) is bytes


def both_forms(pairs: dict) -> list[HashValue]:
    packed = HashValue(pairs)
    with pack_limit(0):
        unpacked = HashValue(pairs)
    assert type(packed._data) is bytes and type(unpacked._data) is dict
    return [packed, unpacked]


def test_hash_value_reads_like_a_dict():
    pairs = {b"a": b"1", b"b": b"", b"": b"3"}
    for value in both_forms(pairs):
        assert value == pairs and value == HashValue(pairs) and value != {b"a": b"1"}
        assert len(value) == 3 and list(value) == value.keys() == [b"a", b"b", b""]
        assert list(value.values()) == [b"1", b"", b"3"] and dict(value.items()) == pairs == dict(value)
        assert value.get(b"b") == b"" and value.get(b"zz") is None and value.get(b"1", b"x") == b"x"
        assert value[b""] == b"3" and b"a" in value and b"1" not in value
        assert value.table() == pairs and not value.hashtable


def test_hash_value_writes_in_either_form():
    config = make_node().config
    for value in both_forms({b"a": b"1"}):
        assert value.store([b"a", b"2", b"b", b"3", b"b", b"4"], config) == 1
        assert dict(value.items()) == {b"a": b"2", b"b": b"4"}
        assert value.delete([b"a", b"zz", b"a"]) == 1 and dict(value.items()) == {b"b": b"4"}
        assert value.encoding(config) == "listpack"


def test_conversion_to_hashtable_unpacks_for_good():
    config = make_node(hash_max_listpack_entries="2").config
    value = HashValue({b"a": b"1"})
    value.store([b"b", b"2", b"c", b"3"], config)
    assert value.hashtable and type(value._data) is dict and value.encoding(config) == "hashtable"
    value.delete([b"b", b"c"])
    assert value.hashtable and type(value._data) is dict and value == {b"a": b"1"}
    value.hashtable = False  # an RDB load decides the encoding this way
    assert type(value._data) is bytes and value == {b"a": b"1"}


def test_copies_are_independent():
    config = make_node().config
    for value in both_forms({b"a": b"1"}):
        copy = value.copy()
        copy.store([b"a", b"9"], config)
        assert value == {b"a": b"1"} and copy == {b"a": b"9"}
