"""The set value, and `ScanIndex`: members in a fixed order with stable scan cursors.

Nothing here depends on Python's hash order: members keep their insertion
order (an intset-encoded set lists them in numeric order, as Redis's intset
does) and random picks draw from a list with the node's seeded RNG. A
hashtable set's SSCAN walks the slots of the table Redis would have
(kvcore.dict_model); a sorted set's ZSCAN uses `ScanIndex` cursors, sequence
numbers that survive inserts, deletes and compaction.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from kvcore import intset
from kvcore.dict_model import RankedMembers, RehashingTable, table_size
from kvcore.eviction import ELEMENT_BYTES

INTSET_CAP = 1 << 30  # Redis caps set-max-intset-entries here
_LLONG_MIN = -(2**63)
_LLONG_MAX = 2**63 - 1
_SLACK = 64  # holes tolerated on top of one per live member before compaction


def is_int64_text(member: bytes) -> bool:
    """Whether Redis's string2ll reads the text whole: what an intset may hold."""
    if not member or len(member) > 20:
        return False
    digits = member[1:] if member[0] == 0x2D else member
    if not digits.isdigit() or (digits[0] == 0x30 and (len(digits) > 1 or digits is not member)):
        return False
    return _LLONG_MIN <= int(member) <= _LLONG_MAX


class ScanIndex:
    """Members in insertion order, each numbered once and for good.

    ``seq`` maps a member to its number, in increasing order (a dict keeps
    insertion order). For random picks and scans, ``items`` and ``seqs`` list
    members and numbers in that order, with ``None`` holes where members
    left; they are made from ``seq`` when first needed (most sets are never
    scanned or drawn from, and these lists would double their memory).
    Holes are compacted away once they outnumber the members, which keeps
    random picks (retry on a hole) O(1) on average. A scan cursor is a number:
    resuming at the first member numbered at least the cursor returns every
    member present for the whole scan, and cursors stay valid across
    compaction because numbers never change.
    """

    __slots__ = ("seq", "items", "seqs", "next_seq")

    def __init__(self, members=()) -> None:
        unique = dict.fromkeys(members)
        self.seq: dict[bytes, int] = dict(zip(unique, range(1, len(unique) + 1)))
        self.items: list[bytes | None] | None = None
        self.seqs: array | None = None
        self.next_seq = len(unique) + 1

    def __len__(self) -> int:
        return len(self.seq)

    def __contains__(self, member) -> bool:
        return member in self.seq

    def __iter__(self):
        return iter(self.seq)

    def add(self, member: bytes) -> bool:
        if member in self.seq:
            return False
        number = self.next_seq
        self.next_seq = number + 1
        self.seq[member] = number
        if self.items is not None:
            self.items.append(member)
            self.seqs.append(number)
        return True

    def discard(self, member: bytes) -> bool:
        number = self.seq.pop(member, None)
        if number is None:
            return False
        items = self.items
        if items is not None:
            items[bisect_left(self.seqs, number)] = None
            if len(items) > 2 * len(self.seq) + _SLACK:
                self._compact()
        return True

    def _compact(self) -> None:
        self.items = list(self.seq)
        self.seqs = array("q", self.seq.values())

    def _positions(self) -> tuple[list[bytes | None], array]:
        """``items`` and ``seqs``, made now if not yet."""
        if self.items is None:
            self._compact()
        return self.items, self.seqs

    def random(self, rng) -> bytes:
        """A uniformly random member of a non-empty index."""
        items = self._positions()[0]
        while True:
            member = items[rng.randrange(len(items))]
            if member is not None:
                return member

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Up to ``count`` members from ``cursor`` on, and the cursor to resume at (0: done)."""
        items, seqs = self._positions()
        end = len(items)
        position = bisect_left(seqs, cursor) if cursor else 0
        found: list[bytes] = []
        while position < end and len(found) < count:
            member = items[position]
            position += 1
            if member is not None:
                found.append(member)
        while position < end and items[position] is None:
            position += 1
        return (seqs[position] if position < end else 0), found


class SetValue(ScanIndex):
    """A Redis set. ``intset`` is what Redis 7.0 would encode it as, until it converts.

    A set starts as an intset and becomes a hashtable, for good, when a write
    adds a member that is not a 64-bit integer in canonical form or the set
    grows past ``set-max-intset-entries``. While an intset, members iterate in
    numeric order, as Redis lists them. ``table`` models the sizes and
    rehashing of its Redis dict once DEBUG HTSTATS-KEY has looked at it (the
    commands tell it of each operation from then on); ``ranked`` serves SSCAN.
    """

    __slots__ = ("intset", "intset_width", "table", "ranked")
    TYPE = "set"

    def __init__(self, members=()) -> None:
        super().__init__(members)
        self.intset = True
        self.intset_width = 2  # while an intset: the widest integer it held decides (it never narrows)
        self.table: RehashingTable | None = None
        self.ranked: RankedMembers | None = None

    @classmethod
    def built(cls, members, config) -> SetValue:
        """A new set of ``members`` with the encoding Redis gives a set built by adding them."""
        value = cls(members)
        value.note_added(config, value.seq)
        return value

    def weight(self) -> int:
        """The memory model's bytes (kvcore.eviction)."""
        return ELEMENT_BYTES * len(self.seq)

    def __iter__(self):
        if self.intset:
            return iter(sorted(self.seq, key=int))
        return iter(self.seq)

    def note_added(self, config, added) -> None:
        """After adding ``added``: leave the intset encoding if Redis would."""
        if not self.intset:
            return
        limit = min(config["set-max-intset-entries"], INTSET_CAP)
        if len(self.seq) > limit or not all(map(is_int64_text, added)):
            self.intset = False
        else:
            self.widen_intset(added)

    def widen_intset(self, members) -> None:
        """An intset's width grows to hold the widest of ``members`` (integers' text)."""
        self.intset_width = max(self.intset_width, intset.width_of(list(map(int, members))))

    def encoding(self, config) -> str:
        """OBJECT ENCODING, as the writes so far would have left it in Redis 7.0."""
        return "intset" if self.intset else "hashtable"

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """An SSCAN step over a hashtable set: whole slots of its table, in Redis's cursor order."""
        if self.ranked is None:
            self.ranked = RankedMembers(self.seq, self.next_seq)
        else:
            self.ranked = self.ranked.catch_up(self.seq, self.next_seq)
        size = self.table.scan_size() if self.table is not None else table_size(len(self.seq))
        return self.ranked.scan_slots(self.seq, cursor, count, size)

    def observed_table(self) -> RehashingTable:
        """The model of this set's dict, started now (as if sized for its members) if not yet."""
        if self.table is None:
            self.table = RehashingTable(len(self.seq))
        return self.table

    def copy(self) -> SetValue:
        value = SetValue(self.seq)
        value.intset = self.intset
        value.intset_width = self.intset_width
        return value
