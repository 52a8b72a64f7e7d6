"""The sorted set value: scores by member, and (score, member) pairs in order.

Ranks, score ranges and lex ranges are O(log n) through a
`sortedcontainers.SortedList` of ``(score, member)`` tuples, ordered as
Redis orders them: by score, then by member bytes (memcmp). A dict maps each
member to its score. Additions are merged into the order lazily, on its next
read, so bulk loads cost one sort. While Redis would hold a sorted set as a
listpack, the order is a `SmallOrder` (a plain sorted list, a fraction of a
SortedList's memory) and scores are kept as a listpack keeps them (a zero
loses its sign).
ZSCAN of a skiplist-encoded set uses a `ScanIndex`, built on the first such
scan and kept up to date from then on.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import islice

from sortedcontainers import SortedList

from kvcore.types_set import ScanIndex

_REBUILD_RATIO = 10


def listpack_score(score: float) -> float:
    """A score as a listpack keeps it: integral scores are stored as integers, so -0 becomes 0."""
    return 0.0 if score == 0 else score


class ListpackTracker:
    """Follows, member by member, whether Redis still holds a growing sorted set as a listpack.

    zsetAdd converts to a skiplist before inserting a member that would make
    the set too long or that is itself too long; scores inserted while it is
    a listpack lose the sign of a zero.
    """

    __slots__ = ("listpack", "size", "max_entries", "max_value")

    def __init__(self, config, size: int, listpack: bool) -> None:
        self.max_entries = config["zset-max-listpack-entries"]
        self.max_value = config["zset-max-listpack-value"]
        self.size = size
        self.listpack = listpack

    @classmethod
    def for_new(cls, config, first_member: bytes) -> ListpackTracker:
        """A sorted set created to receive ``first_member`` first (ZADD's choice of encoding)."""
        tracker = cls(config, 0, True)
        tracker.listpack = tracker.max_entries > 0 and len(first_member) <= tracker.max_value
        return tracker

    def admit(self, member: bytes) -> None:
        """A new member is about to be inserted."""
        if self.listpack and (self.size + 1 > self.max_entries or len(member) > self.max_value):
            self.listpack = False
        self.size += 1

    def stored(self, score: float) -> float:
        return listpack_score(score) if self.listpack else score


class SmallOrder(list):
    """The rank order of a listpack-sized sorted set: a sorted list of (score, member) pairs.

    It offers the `SortedList` methods `ZSetValue` and its callers use;
    an insertion is O(n), as in Redis's listpack.
    """

    __slots__ = ()

    def bisect_left(self, pair: tuple[float, bytes]) -> int:
        return bisect_left(self, pair)

    def update(self, pairs) -> None:
        for pair in pairs:
            insort(self, pair)

    def islice(self, start: int | None = None, stop: int | None = None):
        return islice(self, start, stop)


class ZSetValue:
    """A Redis sorted set. ``listpack`` is what Redis 7.0 would encode it as, until it converts.

    A sorted set stays a listpack while it has at most
    ``zset-max-listpack-entries`` members, none longer than
    ``zset-max-listpack-value`` bytes; it becomes a skiplist, for good, when a
    write breaks either limit.
    """

    __slots__ = ("scores", "_order", "_pending", "listpack", "scan_index")
    TYPE = "zset"

    def __init__(self, scores: dict[bytes, float] | None = None) -> None:
        self.scores: dict[bytes, float] = scores if scores is not None else {}
        self._order: SmallOrder | SortedList | None = None  # made on the first read
        self._pending: list[tuple[float, bytes]] | None = [(s, m) for m, s in self.scores.items()] or None
        self.listpack = True
        self.scan_index: ScanIndex | None = None

    @property
    def order(self) -> SmallOrder | SortedList:
        """The (score, member) pairs in rank order, with any pending additions merged in.

        Additions wait in ``_pending`` until the order is next read, so a run
        of big ZADDs costs one merge (timsort) instead of an insertion each;
        a few additions are inserted one by one. The order is a `SmallOrder`
        while the set is a listpack, a `SortedList` from then on.
        """
        order = self._order
        if self._pending or order is None or (not self.listpack and type(order) is SmallOrder):
            order = self._order = self._settled()
        return order

    def _settled(self) -> SmallOrder | SortedList:
        order, pending = self._order, self._pending
        self._pending = None
        if pending and (order is None or len(pending) * _REBUILD_RATIO >= len(order)):
            pending.extend(order or ())
            pending.sort()
            order = SmallOrder(pending) if self.listpack else SortedList(pending)
        elif pending:
            order.update(pending)
        elif order is None:
            order = SmallOrder()
        return order if self.listpack or type(order) is SortedList else SortedList(order)

    @classmethod
    def built(cls, scores: dict[bytes, float], config) -> ZSetValue:
        """A computed result (ZUNIONSTORE...), kept as a listpack when it is small enough."""
        value = cls(scores)
        value.note_added(config, scores)
        if value.listpack and any(score == 0 for score in scores.values()):
            value = cls({member: listpack_score(score) for member, score in scores.items()})
        return value

    @classmethod
    def built_in_order(cls, pairs: list[tuple[float, bytes]], config) -> ZSetValue:
        """A result grown member by member from a listpack (ZRANGESTORE)."""
        tracker = ListpackTracker(config, 0, True)
        scores = {}
        for score, member in pairs:
            tracker.admit(member)
            scores[member] = tracker.stored(score)
        value = cls(scores)
        value.listpack = tracker.listpack
        return value

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member) -> bool:
        return member in self.scores

    def __iter__(self):
        """Members in rank order (SORT reads a sorted set this way)."""
        return (member for _, member in self.order)

    def note_added(self, config, added) -> None:
        """After adding the members ``added``: leave the listpack encoding if Redis would."""
        if not self.listpack:
            return
        limit = config["zset-max-listpack-value"]
        if len(self.scores) > config["zset-max-listpack-entries"] or any(len(m) > limit for m in added):
            self.listpack = False

    def encoding(self, config) -> str:
        """OBJECT ENCODING, as the writes so far would have left it in Redis 7.0."""
        return "listpack" if self.listpack else "skiplist"

    def copy(self) -> ZSetValue:
        value = ZSetValue(dict(self.scores))
        value.listpack = self.listpack
        return value

    # -- changes -------------------------------------------------------------------
    def apply(self, changes: dict[bytes, float]) -> None:
        """Set the score of every member in ``changes``, adding the new ones (merged lazily)."""
        scores = self.scores
        if any(member in scores for member in changes):
            order = self.order
            for member in changes:
                old = scores.get(member)
                if old is not None:
                    order.remove((old, member))
        if self.scan_index is not None:
            for member in changes:
                if member not in scores:
                    self.scan_index.add(member)
        scores.update(changes)
        added = [(score, member) for member, score in changes.items()]
        if self._pending is None:
            self._pending = added
        else:
            self._pending.extend(added)

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        if self.scan_index is not None:
            self.scan_index.discard(member)
        return True

    def remove_window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Remove the members ranked ``start`` to ``stop`` - 1; return their (score, member) pairs."""
        doomed = self.order[start:stop]
        del self.order[start:stop]
        scores, index = self.scores, self.scan_index
        for _, member in doomed:
            del scores[member]
            if index is not None:
                index.discard(member)
        return doomed

    # -- queries ---------------------------------------------------------------------
    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return self.order.bisect_left((score, member))

    def at(self, rank: int) -> tuple[float, bytes]:
        return self.order[rank]

    def window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """The (score, member) pairs ranked ``start`` to ``stop`` - 1."""
        return self.order[start:stop]

    def bisect(self, score: float, member: bytes = b"") -> int:
        """How many pairs sort before (score, member)."""
        return self.order.bisect_left((score, member))

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """A ZSCAN step over members in insertion order (see `ScanIndex`)."""
        if self.scan_index is None:
            self.scan_index = ScanIndex(self.scores)
        return self.scan_index.scan(cursor, count)
