"""Model-based test of the list family: random command sequences against a dict of Python lists."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.kvcore.harness import CoreClient, make_node

KEYS = st.sampled_from([b"a", b"b", b"c"])
ELEMENTS = st.sampled_from([b"x", b"y", b"z", b""])
INDEXES = st.integers(-6, 6)


def clamp(start: int, end: int, size: int) -> tuple[int, int]:
    """Python slice bounds for Redis's inclusive range."""
    start = max(start + size if start < 0 else start, 0)
    end = end + size if end < 0 else end
    return start, max(end + 1, start)


class ListMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = CoreClient(make_node())
        self.model: dict[bytes, list[bytes]] = {}

    def _drop_empty(self, key: bytes) -> None:
        if not self.model.get(key):
            self.model.pop(key, None)

    @rule(key=KEYS, items=st.lists(ELEMENTS, min_size=1, max_size=4), left=st.booleans(), only_existing=st.booleans())
    def push(self, key, items, left, only_existing):
        name = (b"LPUSH" if left else b"RPUSH") + (b"X" if only_existing else b"")
        reply = self.client.call(name, key, *items)
        if only_existing and key not in self.model:
            assert reply == 0
            return
        current = self.model.setdefault(key, [])
        for item in items:
            if left:
                current.insert(0, item)
            else:
                current.append(item)
        assert reply == len(current)

    @rule(key=KEYS, left=st.booleans(), count=st.none() | st.integers(0, 5))
    def pop(self, key, left, count):
        args = [] if count is None else [count]
        reply = self.client.call(b"LPOP" if left else b"RPOP", key, *args)
        current = self.model.get(key)
        if current is None:
            assert reply is None
            return
        n = 1 if count is None else min(count, len(current))
        popped = [current.pop(0) if left else current.pop() for _ in range(n)]
        assert reply == (popped[0] if count is None else popped)
        self._drop_empty(key)

    @rule(key=KEYS, start=INDEXES, end=INDEXES)
    def lrange(self, key, start, end):
        current = self.model.get(key, [])
        lo, hi = clamp(start, end, len(current))
        assert self.client.call(b"LRANGE", key, start, end) == current[lo:hi]

    @rule(key=KEYS, index=INDEXES)
    def lindex(self, key, index):
        current = self.model.get(key, [])
        expected = current[index] if -len(current) <= index < len(current) else None
        assert self.client.call(b"LINDEX", key, index) == expected

    @rule(key=KEYS, index=INDEXES, item=ELEMENTS)
    def lset(self, key, index, item):
        reply = self.client.call(b"LSET", key, index, item)
        current = self.model.get(key)
        if current is None:
            assert str(reply) == "ERR no such key"
        elif -len(current) <= index < len(current):
            current[index] = item
            assert reply == b"OK"
        else:
            assert str(reply) == "ERR index out of range"

    @rule(key=KEYS, before=st.booleans(), pivot=ELEMENTS, item=ELEMENTS)
    def linsert(self, key, before, pivot, item):
        reply = self.client.call(b"LINSERT", key, b"BEFORE" if before else b"AFTER", pivot, item)
        current = self.model.get(key)
        if current is None:
            assert reply == 0
        elif pivot not in current:
            assert reply == -1
        else:
            current.insert(current.index(pivot) + (0 if before else 1), item)
            assert reply == len(current)

    @rule(key=KEYS, count=st.integers(-3, 3), item=ELEMENTS)
    def lrem(self, key, count, item):
        reply = self.client.call(b"LREM", key, count, item)
        current = self.model.get(key, [])
        order = list(range(len(current)))
        if count < 0:
            order.reverse()
        limit = abs(count) or len(current)
        doomed = [i for i in order if current[i] == item][:limit]
        assert reply == len(doomed)
        if key in self.model:
            self.model[key] = [x for i, x in enumerate(current) if i not in doomed]
            self._drop_empty(key)

    @rule(key=KEYS, start=INDEXES, end=INDEXES)
    def ltrim(self, key, start, end):
        assert self.client.call(b"LTRIM", key, start, end) == b"OK"
        if key in self.model:
            lo, hi = clamp(start, end, len(self.model[key]))
            self.model[key] = self.model[key][lo:hi]
            self._drop_empty(key)

    @rule(key=KEYS, item=ELEMENTS, rank=st.sampled_from([1, 2, -1, -2]), count=st.none() | st.integers(0, 3),
          maxlen=st.integers(0, 4))
    def lpos(self, key, item, rank, count, maxlen):
        args = [b"RANK", rank, b"MAXLEN", maxlen] + ([] if count is None else [b"COUNT", count])
        current = self.model.get(key, [])
        positions = list(range(len(current)))
        if rank < 0:
            positions.reverse()
        if maxlen:
            positions = positions[:maxlen]
        matches = [i for i in positions if current[i] == item][abs(rank) - 1:]
        reply = self.client.call(b"LPOS", key, item, *args)
        if count is None:
            assert reply == (matches[0] if matches else None)
        else:
            assert reply == (matches[:count] if count else matches)

    @rule(src=KEYS, dst=KEYS, from_left=st.booleans(), to_left=st.booleans(), blocking=st.booleans())
    def lmove(self, src, dst, from_left, to_left, blocking):
        sides = [b"LEFT" if from_left else b"RIGHT", b"LEFT" if to_left else b"RIGHT"]
        if blocking and src not in self.model:
            return  # would block
        argv = [b"BLMOVE", src, dst, *sides, 0] if blocking else [b"LMOVE", src, dst, *sides]
        reply = self.client.call(*argv)
        if src not in self.model:
            assert reply is None
            return
        value = self.model[src].pop(0 if from_left else -1)
        target = self.model.setdefault(dst, [])
        target.insert(0 if to_left else len(target), value)
        self._drop_empty(src)
        assert reply == value

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3), left=st.booleans(), count=st.integers(1, 4),
          blocking=st.booleans())
    def mpop(self, keys, left, count, blocking):
        found = next((k for k in keys if k in self.model), None)
        if blocking and found is None:
            return  # would block
        tail = [len(keys), *keys, b"LEFT" if left else b"RIGHT", b"COUNT", count]
        reply = self.client.call(*([b"BLMPOP", 0, *tail] if blocking else [b"LMPOP", *tail]))
        if found is None:
            assert reply is None
            return
        current = self.model[found]
        n = min(count, len(current))
        popped = [current.pop(0) if left else current.pop() for _ in range(n)]
        self._drop_empty(found)
        assert reply == [found, popped]

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3), left=st.booleans())
    def blocking_pop(self, keys, left):
        found = next((k for k in keys if k in self.model), None)
        if found is None:
            return  # would block
        reply = self.client.call(b"BLPOP" if left else b"BRPOP", *keys, 0)
        value = self.model[found].pop(0 if left else -1)
        self._drop_empty(found)
        assert reply == [found, value]

    @invariant()
    def lists_match(self):
        for key in (b"a", b"b", b"c"):
            assert self.client.call(b"LRANGE", key, 0, -1) == self.model.get(key, [])
            assert self.client.call(b"LLEN", key) == len(self.model.get(key, []))
            assert self.client.call(b"EXISTS", key) == (key in self.model)


ListMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestListModel = ListMachine.TestCase
