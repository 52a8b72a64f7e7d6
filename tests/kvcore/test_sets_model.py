"""The set family against a plain-Python model, by Hypothesis's stateful testing.

The model is a dict of Python sets plus, per key, whether Redis would have
left the intset encoding (with set-max-intset-entries lowered to 4, so
conversions happen). Random commands (SPOP, SRANDMEMBER) are checked by what
they may return, then the model follows what they did.
"""

from __future__ import annotations

import hiredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kvcore.types_set import is_int64_text
from tests.kvcore.harness import CoreClient, make_node

INTSET_LIMIT = 4
KEYS = ["a", "b", "c"]
MEMBERS = [b"1", b"2", b"3", b"-7", b"10", b"01", b"x", b"y", b"", b"9223372036854775807"]

keys = st.sampled_from(KEYS)
members = st.sampled_from(MEMBERS)
member_lists = st.lists(members, min_size=1, max_size=6)


def fresh_intset(items) -> bool:
    """Whether a set built by adding ``items`` to an empty set is still an intset."""
    return len(items) <= INTSET_LIMIT and all(map(is_int64_text, items))


class SetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = CoreClient(make_node(set_max_intset_entries=str(INTSET_LIMIT)))
        self.sets: dict[str, set[bytes]] = {}
        self.intset: dict[str, bool] = {}

    def call(self, *argv):
        reply = self.client.call(*argv)
        assert not isinstance(reply, hiredis.ReplyError), (argv, reply)
        return reply

    def _store(self, key: str, items: set[bytes], intset: bool | None = None) -> None:
        if items:
            self.sets[key] = items
            self.intset[key] = fresh_intset(items) if intset is None else intset
        else:
            self.sets.pop(key, None)
            self.intset.pop(key, None)

    def _added(self, key: str, new: list[bytes]) -> None:
        items = self.sets[key]
        if not (len(items) <= INTSET_LIMIT and all(map(is_int64_text, new))):
            self.intset[key] = False

    # -- writes ----------------------------------------------------------------------
    @rule(key=keys, items=member_lists)
    def sadd(self, key, items):
        before = self.sets.get(key)
        added = len(set(items) - (before or set()))
        assert self.call("SADD", key, *items) == added
        if before is None:
            self._store(key, set(items))
        else:
            before.update(items)
            self._added(key, items)

    @rule(key=keys, items=member_lists)
    def srem(self, key, items):
        current = self.sets.get(key, set())
        assert self.call("SREM", key, *items) == len(current & set(items))
        if key in self.sets:
            current -= set(items)
            if not current:
                self._store(key, set())

    @rule(src=keys, dst=keys, member=members)
    def smove(self, src, dst, member):
        source = self.sets.get(src, set())
        moved = member in source
        assert self.call("SMOVE", src, dst, member) == int(moved)
        if not moved or src == dst:
            return
        source.discard(member)
        if not source:
            self._store(src, set())
        if dst in self.sets:
            self.sets[dst].add(member)
            self._added(dst, [member])
        else:
            self._store(dst, {member})

    @rule(key=keys)
    def spop_one(self, key):
        current = self.sets.get(key, set())
        popped = self.call("SPOP", key)
        if not current:
            assert popped is None
            return
        assert popped in current
        current.discard(popped)
        if not current:
            self._store(key, set())

    @rule(key=keys, count=st.integers(0, 8))
    def spop_count(self, key, count):
        current = self.sets.get(key, set())
        popped = self.call("SPOP", key, count)
        assert len(popped) == min(count, len(current)) == len(set(popped)) and set(popped) <= current
        if not popped:
            return
        left = current - set(popped)
        reencoded = 0 < len(left) and len(left) * 5 <= count  # Redis rebuilds the survivors
        self._store(key, left, fresh_intset(left) if reencoded else self.intset[key])

    @rule(dst=keys, sources=st.lists(keys, min_size=1, max_size=3), op=st.sampled_from(["INTER", "UNION", "DIFF"]))
    def store(self, dst, sources, op):
        result = self._algebra(op, sources)
        assert self.call(f"S{op}STORE", dst, *sources) == len(result)
        self._store(dst, result, self._diff_intset(sources) if op == "DIFF" and result else None)

    def _diff_intset(self, sources) -> bool:
        """SDIFFSTORE's encoding: Redis's second algorithm adds the whole first set first."""
        present = [self.sets[k] for k in sources if k in self.sets]
        first = self.sets[sources[0]]
        if len(first) * len(present) // 2 > sum(map(len, present)):
            return fresh_intset(first)
        return fresh_intset(self._algebra("DIFF", sources))

    # -- reads -------------------------------------------------------------------------
    def _algebra(self, op: str, sources) -> set[bytes]:
        sets = [self.sets.get(k, set()) for k in sources]
        if op == "INTER":
            return set.intersection(*sets)
        if op == "UNION":
            return set.union(*sets)
        return sets[0].difference(*sets[1:])

    @rule(sources=st.lists(keys, min_size=1, max_size=3), op=st.sampled_from(["INTER", "UNION", "DIFF"]))
    def algebra(self, sources, op):
        assert set(self.call(f"S{op}", *sources)) == self._algebra(op, sources)

    @rule(sources=st.lists(keys, min_size=1, max_size=3), limit=st.integers(0, 4))
    def sintercard(self, sources, limit):
        size = len(self._algebra("INTER", sources))
        assert self.call("SINTERCARD", len(sources), *sources, "LIMIT", limit) == (min(size, limit) if limit else size)

    @rule(key=keys, count=st.integers(-6, 8))
    def srandmember(self, key, count):
        current = self.sets.get(key, set())
        got = self.call("SRANDMEMBER", key, count)
        assert set(got) <= current
        if count >= 0:
            assert len(got) == len(set(got)) == min(count, len(current))
        else:
            assert len(got) == (-count if current else 0)

    @rule(key=keys, items=member_lists)
    def smismember(self, key, items):
        current = self.sets.get(key, set())
        assert self.call("SMISMEMBER", key, *items) == [int(m in current) for m in items]

    @rule(key=keys, count=st.integers(1, 3))
    def sscan(self, key, count):
        cursor, seen = b"0", []
        while True:
            cursor, page = self.call("SSCAN", key, cursor, "COUNT", count)
            seen += page
            if cursor == b"0":
                break
        assert sorted(seen) == sorted(self.sets.get(key, set()))

    @invariant()
    def matches_model(self):
        for key in KEYS:
            current = self.sets.get(key)
            if current is None:
                assert self.call("EXISTS", key) == 0
                continue
            assert set(self.call("SMEMBERS", key)) == current
            assert self.call("SCARD", key) == len(current)
            encoding = self.call("OBJECT", "ENCODING", key)
            assert encoding == (b"intset" if self.intset[key] else b"hashtable"), (key, current)


SetMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
)
TestSetModel = SetMachine.TestCase
