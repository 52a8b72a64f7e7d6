"""The sorted set value: members with scores, ordered by (score, member), packed while small.

Redis orders a sorted set by score, then by member bytes (memcmp), and so
does this module, in one of two forms:

- packed, while Redis would hold the set as a listpack and it has at most
  `PACK_MAX_MEMBERS` members: one ``bytes`` object, the `marshal` image of
  the flat tuple (score, member, score, member...) in rank order, as compact
  as a listpack. A read decodes it (C speed) and finds members, ranks and
  score ranges with ``tuple.index`` and ``bisect`` on its slices; a write
  decodes, changes and re-encodes it, O(n) as a listpack insert is.
- unpacked: scores by member (a dict), and the order in a
  `sortedcontainers.SortedList` for O(log n) ranks and ranges: of
  (score, member) tuples in a `SortedScores` (a listpack too big to pack),
  of `order_key` bytes in a `SkipList` (a skiplist).
  A few changes go straight into the order; big batches are merged lazily,
  on its next read, so bulk loads cost one sort. ZSCAN of a skiplist uses a
  `ScanIndex`, built on the first scan and kept up to date from then on.

Commands read through `ZSetValue.view`, which decodes a packed set once.

Scores stored while Redis would hold a listpack are kept as a listpack keeps
them (a zero loses its sign).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import chain
from marshal import loads
from struct import Struct

from sortedcontainers import SortedList

from kvcore.eviction import ELEMENT_BYTES
from kvcore.types_hash import pack_tuple
from kvcore.types_set import ScanIndex

PACK_MAX_MEMBERS = 32  # a listpack sorted set with more members is a `SortedScores`
PACK_MAX_BYTES = 8192  # and so is one whose packed image would be larger
_REBUILD_RATIO = 10
_EDIT_IN_PLACE_MAX = 4  # a packed write changing more members re-sorts them all


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


def stays_listpack(config, size: int, added) -> bool:
    """Whether a listpack sorted set of ``size`` members, ``added`` among them, is still one."""
    limit = config["zset-max-listpack-value"]
    return size <= config["zset-max-listpack-entries"] and all(len(member) <= limit for member in added)


# -- the packed form: a flat (score, member, ...) tuple in rank order ----------------------
def _flat_of(scores: dict[bytes, float]) -> tuple:
    return tuple(chain.from_iterable(sorted(zip(scores.values(), scores))))


def _pairs(flat, lo: int = 0, hi: int | None = None) -> list[tuple[float, bytes]]:
    """The (score, member) pairs of ranks [lo, hi) of a flat tuple."""
    stop = None if hi is None else 2 * hi
    return list(zip(flat[2 * lo : stop : 2], flat[2 * lo + 1 : stop : 2]))


def _flat_bisect(flat, score: float, member: bytes) -> int:
    """How many pairs of a flat tuple sort before (score, member)."""
    scores = flat[0::2]
    lo = bisect_left(scores, score)
    hi = bisect_right(scores, score, lo)
    return bisect_left(flat[1::2], member, lo, hi) if hi > lo else lo


def _flat_with(flat: tuple, changes: dict[bytes, float]) -> tuple | list:
    """``flat`` with the scores of ``changes`` set (members added or moved)."""
    if len(changes) > _EDIT_IN_PLACE_MAX:
        scores = dict(zip(flat[1::2], flat[0::2]))
        scores.update(changes)
        return _flat_of(scores)
    edited = list(flat)
    for member, score in changes.items():
        members = edited[1::2]
        if member in members:
            rank = members.index(member)
            del edited[2 * rank : 2 * rank + 2]
        rank = _flat_bisect(edited, score, member)
        edited[2 * rank : 2 * rank] = (score, member)
    return edited


class PackedView:
    """A packed sorted set decoded for reading, once per command: the reads `SortedScores` answers."""

    __slots__ = ("flat", "_scores")

    def __init__(self, flat: tuple) -> None:
        self.flat = flat
        self._scores: dict[bytes, float] | None = None

    def __len__(self) -> int:
        return len(self.flat) >> 1

    def __contains__(self, member) -> bool:
        return member in self.flat[1::2]

    @property
    def order(self) -> list[tuple[float, bytes]]:
        return _pairs(self.flat)

    @property
    def scores(self) -> dict[bytes, float]:
        """Scores by member, made on the first call (for many lookups; `score` finds one)."""
        if self._scores is None:
            flat = self.flat
            self._scores = dict(zip(flat[1::2], flat[0::2]))
        return self._scores

    def score(self, member: bytes) -> float | None:
        flat = self.flat
        try:
            return flat[2 * flat[1::2].index(member)]
        except ValueError:
            return None

    def rank(self, member: bytes) -> int | None:
        members = self.flat[1::2]
        return members.index(member) if member in members else None

    def at(self, rank: int) -> tuple[float, bytes]:
        flat = self.flat
        return flat[2 * rank], flat[2 * rank + 1]

    def window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        return _pairs(self.flat, start, stop)

    def members(self, start: int, stop: int) -> list[bytes]:
        return list(self.flat[2 * start + 1 : 2 * stop : 2])

    def walk(self, start: int):
        return iter(_pairs(self.flat, start))

    def bisect(self, score: float, member: bytes = b"") -> int:
        return _flat_bisect(self.flat, score, member)


class SortedScores:
    """A listpack sorted set too big to pack: scores, and (score, member) pairs in order.

    Scores by member are a dict; the order is a `sortedcontainers.SortedList`
    of entries, here (score, member) tuples, for O(log n) ranks and ranges.
    It stays unpacked if it shrinks again, as Redis never converts back.
    """

    __slots__ = ("scores", "_entries", "_pending", "scan_index")

    def __init__(self, scores: dict[bytes, float]) -> None:
        self.scores = scores
        self._entries: SortedList | None = None  # made on the first read
        self._pending: list | None = self._entries_of(scores) or None
        self.scan_index: ScanIndex | None = None

    # -- entries: what the SortedList holds ------------------------------------------------
    @staticmethod
    def _entry(score: float, member: bytes):
        return (score, member)

    @staticmethod
    def _entries_of(scores: dict[bytes, float]) -> list:
        return list(zip(scores.values(), scores))

    @property
    def entries(self) -> SortedList:
        """The entries in rank order, with any pending additions merged in.

        Additions to an unsettled order (or big batches of them) wait in
        ``_pending`` until the order is next read, so a run of big ZADDs costs
        one merge (timsort) instead of an insertion each.
        """
        entries = self._entries
        if self._pending or entries is None:
            entries = self._entries = self._settled()
        return entries

    def _settled(self) -> SortedList:
        entries, pending = self._entries, self._pending
        self._pending = None
        if pending and (entries is None or len(pending) * _REBUILD_RATIO >= len(entries)):
            pending.extend(entries or ())
            pending.sort()
            return SortedList(pending)
        if pending:
            entries.update(pending)
        return entries if entries is not None else SortedList()

    # -- reads (the protocol `PackedView` shares) ---------------------------------------
    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member) -> bool:
        return member in self.scores

    @property
    def order(self):
        """The (score, member) pairs in rank order (a sequence: index it, slice it, iterate it)."""
        return self.entries

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        return None if score is None else self.entries.bisect_left(self._entry(score, member))

    def at(self, rank: int) -> tuple[float, bytes]:
        return self.entries[rank]

    def window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """The (score, member) pairs ranked ``start`` to ``stop`` - 1 (both within 0..len)."""
        return self.entries[start:stop]

    def members(self, start: int, stop: int) -> list[bytes]:
        """The members ranked ``start`` to ``stop`` - 1."""
        return [member for _, member in self.entries[start:stop]]

    def walk(self, start: int):
        return self.entries.islice(start)

    def bisect(self, score: float, member: bytes = b"") -> int:
        return self.entries.bisect_left(self._entry(score, member))

    # -- changes ---------------------------------------------------------------------------
    def apply(self, changes: dict[bytes, float]) -> None:
        """Set the score of every member in ``changes``, adding the new ones.

        A few changes to a settled order go straight in; more are merged
        lazily (see `entries`).
        """
        scores, entries, entry = self.scores, self._entries, self._entry
        if self.scan_index is not None:
            for member in changes:
                if member not in scores:
                    self.scan_index.add(member)
        if entries is not None and len(changes) * _REBUILD_RATIO < len(entries):
            entries = self.entries
            for member, score in changes.items():
                old = scores.get(member)
                if old is not None:
                    entries.remove(entry(old, member))
                entries.add(entry(score, member))
            scores.update(changes)
            return
        if any(member in scores for member in changes):
            entries = self.entries
            for member in changes:
                old = scores.get(member)
                if old is not None:
                    entries.remove(entry(old, member))
        scores.update(changes)
        added = self._entries_of(changes)
        if self._pending is None:
            self._pending = added
        else:
            self._pending.extend(added)

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.entries.remove(self._entry(score, member))
        if self.scan_index is not None:
            self.scan_index.discard(member)
        return True

    def remove_window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        doomed = self.window(start, stop)
        del self.entries[start:stop]
        scores, index = self.scores, self.scan_index
        for _, member in doomed:
            del scores[member]
            if index is not None:
                index.discard(member)
        return doomed

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        if self.scan_index is None:
            self.scan_index = ScanIndex(self.scores)
        return self.scan_index.scan(cursor, count)


_PACK_DOUBLE = Struct(">d").pack
_SIGN_BIT = 1 << 63
_ALL_BITS = (1 << 64) - 1


def order_key(score: float, member: bytes) -> bytes:
    """(score, member) as one ``bytes`` whose byte order is Redis's order (by score, then memcmp).

    The score's IEEE bits, big-endian, with the sign bit set for positive
    numbers and every bit flipped for negative ones, sort as the numbers do;
    a zero's sign is dropped first, as -0 and 0 compare equal.
    """
    bits = int.from_bytes(_PACK_DOUBLE(score + 0.0), "big")
    return (bits ^ _ALL_BITS if bits & _SIGN_BIT else bits | _SIGN_BIT).to_bytes(8, "big") + member


class SkipList(SortedScores):
    """A skiplist-encoded sorted set: a `SortedScores` whose entries are `order_key` bytes.

    A bytes entry compares with one memcmp where a (score, member) tuple
    reaches through to a float object first, so ZADD's remove and insert in a
    big set cost a third less; reads turn entries back into pairs (the score
    from the dict).
    """

    __slots__ = ()

    _entry = staticmethod(order_key)

    @staticmethod
    def _entries_of(scores: dict[bytes, float]) -> list:
        return list(map(order_key, scores.values(), scores))

    def _pairs(self, entries) -> list[tuple[float, bytes]]:
        scores = self.scores
        members = [entry[8:] for entry in entries]
        return list(zip(map(scores.__getitem__, members), members))

    @property
    def order(self) -> list[tuple[float, bytes]]:
        return self._pairs(self.entries)

    def at(self, rank: int) -> tuple[float, bytes]:
        member = self.entries[rank][8:]
        return self.scores[member], member

    def window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        return self._pairs(self.entries[start:stop])

    def members(self, start: int, stop: int) -> list[bytes]:
        return [entry[8:] for entry in self.entries[start:stop]]

    def walk(self, start: int):
        scores = self.scores
        for entry in self.entries.islice(start):
            member = entry[8:]
            yield scores[member], member


class ZSetValue:
    """A Redis sorted set: packed or a `SortedScores` while a listpack, a `SkipList` after.

    ``listpack`` is what Redis 7.0 would encode it as: a sorted set stays a
    listpack while it has at most ``zset-max-listpack-entries`` members, none
    longer than ``zset-max-listpack-value`` bytes, and becomes a skiplist,
    for good, when a write breaks either limit.
    """

    __slots__ = ("_data",)
    TYPE = "zset"

    def __init__(self, scores: dict[bytes, float] | None = None, listpack: bool = True) -> None:
        scores = {} if scores is None else scores
        self._data: bytes | SortedScores
        if listpack:
            self._keep_listpack(scores=scores)
        else:
            self._data = SkipList(scores)

    def _keep_listpack(self, flat=None, scores: dict[bytes, float] | None = None) -> None:
        """Store a listpack-encoded set, given as its flat tuple or its scores: packed if small enough."""
        size = len(scores) if flat is None else len(flat) >> 1
        if size <= PACK_MAX_MEMBERS:
            packed = pack_tuple(tuple(_flat_of(scores) if flat is None else flat))
            if len(packed) <= PACK_MAX_BYTES:
                self._data = packed
                return
        self._data = SortedScores(dict(zip(flat[1::2], flat[0::2])) if scores is None else scores)

    @classmethod
    def built(cls, scores: dict[bytes, float], config) -> ZSetValue:
        """A computed result (ZUNIONSTORE...), kept as a listpack when it is small enough."""
        listpack = stays_listpack(config, len(scores), scores)
        if listpack and any(score == 0 for score in scores.values()):
            scores = {member: listpack_score(score) for member, score in scores.items()}
        return cls(scores, listpack)

    @classmethod
    def built_in_order(cls, pairs: list[tuple[float, bytes]], config) -> ZSetValue:
        """A result grown member by member from a listpack (ZRANGESTORE)."""
        tracker = ListpackTracker(config, 0, True)
        scores = {}
        for score, member in pairs:
            tracker.admit(member)
            scores[member] = tracker.stored(score)
        return cls(scores, tracker.listpack)

    def copy(self) -> ZSetValue:
        data = self._data
        value = ZSetValue.__new__(ZSetValue)
        value._data = data if type(data) is bytes else type(data)(dict(data.scores))  # a packed image is immutable
        return value

    # -- encoding ------------------------------------------------------------------------
    @property
    def listpack(self) -> bool:
        return type(self._data) is not SkipList

    @listpack.setter
    def listpack(self, listpack: bool) -> None:
        if listpack == self.listpack:
            return
        if listpack:
            self._keep_listpack(scores=self._data.scores)
        else:
            self._data = SkipList(dict(self.scores))

    def encoding(self, config) -> str:
        """OBJECT ENCODING, as the writes so far would have left it in Redis 7.0."""
        return "listpack" if self.listpack else "skiplist"

    # -- reading -------------------------------------------------------------------------
    def view(self) -> PackedView | SortedScores:
        """The set for reading: a `PackedView` decoded once, or the `SortedScores` itself."""
        data = self._data
        return PackedView(loads(data)) if type(data) is bytes else data

    def __len__(self) -> int:
        data = self._data
        return len(loads(data)) >> 1 if type(data) is bytes else len(data.scores)

    def weight(self) -> int:
        """The memory model's bytes (kvcore.eviction) without decoding: a packed set's packed
        size (near its listpack's), else a per-member figure."""
        data = self._data
        return len(data) if type(data) is bytes else ELEMENT_BYTES * len(data.scores)

    def __contains__(self, member) -> bool:
        return member in self.view()

    def __iter__(self):
        """Members in rank order (SORT reads a sorted set this way)."""
        data = self._data
        if type(data) is bytes:
            return iter(loads(data)[1::2])
        return (member for _, member in data.order)

    @property
    def scores(self) -> dict[bytes, float]:
        """Scores by member (for a packed set a fresh dict: read it, do not change it)."""
        data = self._data
        if type(data) is bytes:
            flat = loads(data)
            return dict(zip(flat[1::2], flat[0::2]))
        return data.scores

    @property
    def order(self) -> list[tuple[float, bytes]] | SortedList:
        """The (score, member) pairs in rank order (a sequence: index it, slice it, iterate it)."""
        return self.view().order

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """A ZSCAN step over the members of a skiplist, in insertion order (see `ScanIndex`)."""
        return self._data.scan(cursor, count)

    # -- changes -----------------------------------------------------------------------
    def apply(self, changes: dict[bytes, float], listpack: bool, view: PackedView | SortedScores | None = None) -> None:
        """Set the score of every member in ``changes``, adding the new ones.

        ``listpack`` is the encoding after the change: true only if the set
        was a listpack (Redis never converts back). ``view``, when given, is
        this set's `view` from before (so a packed set is not decoded again).
        """
        data = self._data
        if type(data) is bytes:
            flat = loads(data) if view is None else view.flat
            if listpack:
                self._keep_listpack(flat=_flat_with(flat, changes))
                return
            scores = dict(zip(flat[1::2], flat[0::2]))
        elif listpack or type(data) is SkipList:
            data.apply(changes)
            return
        else:
            scores = data.scores
        scores.update(changes)
        self._data = SkipList(scores)

    def remove_all(self, members) -> int:
        """Remove ``members``; how many were there."""
        data = self._data
        if type(data) is not bytes:
            return sum(map(data.remove, members))
        flat = list(loads(data))
        before = len(flat)
        for member in members:
            found = flat[1::2]
            if member in found:
                rank = found.index(member)
                del flat[2 * rank : 2 * rank + 2]
        if len(flat) < before:
            self._data = pack_tuple(tuple(flat))
        return (before - len(flat)) >> 1

    def remove_window(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Remove the members ranked ``start`` to ``stop`` - 1; return their (score, member) pairs."""
        data = self._data
        if type(data) is not bytes:
            return data.remove_window(start, stop)
        flat = loads(data)
        self._data = pack_tuple(flat[: 2 * start] + flat[2 * stop :])
        return _pairs(flat, start, stop)

