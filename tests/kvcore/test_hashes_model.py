"""Model-based test of the hash family: random command sequences against a dict of Python dicts."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.kvcore.harness import CoreClient, make_node

KEYS = st.sampled_from([b"a", b"b", b"c"])
FIELDS = st.sampled_from([b"f1", b"f2", b"f3", b"f4", b""])
VALUES = st.sampled_from([b"0", b"1", b"-7", b"v", b"", b"100"])


class HashMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = CoreClient(make_node())
        self.model: dict[bytes, dict[bytes, bytes]] = {}

    @rule(key=KEYS, pairs=st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=4), legacy=st.booleans())
    def hset(self, key, pairs, legacy):
        reply = self.client.call(b"HMSET" if legacy else b"HSET", key, *[x for p in pairs for x in p])
        current = self.model.setdefault(key, {})
        new = len({f for f, _ in pairs} - set(current))
        current.update(pairs)
        assert reply == (b"OK" if legacy else new)

    @rule(key=KEYS, field=FIELDS, value=VALUES)
    def hsetnx(self, key, field, value):
        reply = self.client.call(b"HSETNX", key, field, value)
        current = self.model.setdefault(key, {})
        assert reply == int(field not in current)
        current.setdefault(field, value)

    @rule(key=KEYS, fields=st.lists(FIELDS, min_size=1, max_size=3))
    def hdel(self, key, fields):
        current = self.model.get(key, {})
        gone = {f for f in fields if f in current}
        assert self.client.call(b"HDEL", key, *fields) == len(gone)
        for field in gone:
            del current[field]
        if key in self.model and not current:
            del self.model[key]

    @rule(key=KEYS, field=FIELDS, delta=st.integers(-10, 10))
    def hincrby(self, key, field, delta):
        reply = self.client.call(b"HINCRBY", key, field, delta)
        old = self.model.get(key, {}).get(field, b"0")
        if not old.lstrip(b"-").isdigit():
            assert str(reply) == "ERR hash value is not an integer"
            return
        result = int(old) + delta
        self.model.setdefault(key, {})[field] = b"%d" % result
        assert reply == result

    @rule(key=KEYS, fields=st.lists(FIELDS, min_size=1, max_size=3))
    def reads(self, key, fields):
        current = self.model.get(key, {})
        assert self.client.call(b"HMGET", key, *fields) == [current.get(f) for f in fields]
        field = fields[0]
        assert self.client.call(b"HGET", key, field) == current.get(field)
        assert self.client.call(b"HEXISTS", key, field) == int(field in current)
        assert self.client.call(b"HSTRLEN", key, field) == len(current.get(field, b""))

    @rule(key=KEYS, count=st.integers(-6, 6))
    def hrandfield(self, key, count):
        current = self.model.get(key, {})
        reply = self.client.call(b"HRANDFIELD", key, count, b"WITHVALUES")
        pairs = list(zip(reply[::2], reply[1::2]))
        assert all(current[f] == v for f, v in pairs)
        if count >= 0:
            assert len(pairs) == min(count, len(current)) and len(set(pairs)) == len(pairs)
        else:
            assert len(pairs) == (-count if current else 0)

    @invariant()
    def hashes_match(self):
        for key in (b"a", b"b", b"c"):
            current = self.model.get(key, {})
            assert self.client.call(b"HGETALL", key) == [x for p in current.items() for x in p]
            assert self.client.call(b"HKEYS", key) == list(current)
            assert self.client.call(b"HVALS", key) == list(current.values())
            assert self.client.call(b"HLEN", key) == len(current)
            assert self.client.call(b"EXISTS", key) == (key in self.model)


HashMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestHashModel = HashMachine.TestCase
