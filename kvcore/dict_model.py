"""Redis's hash tables as DEBUG HTSTATS and scans see them: sizes, slots and incremental rehashing.

A Redis dict is a power-of-two array of chains; it grows when full and (for
sets and hashes) shrinks when under a tenth full, each time into a second
table that entries move to a slot at a time, one step per operation on it
(`RehashingTable`). Which slot a member takes depends on Redis's seeded
SipHash and cannot be reproduced; here it is `slot_hash`, the bits of the
member's CRC-32 reversed. Reversed, because a scan cursor counts through
slots in reverse-binary order: walking a table that way walks members in
increasing CRC-32, whatever the table's size, so `scan_slots` can serve
SSCAN from one list sorted by CRC-32 (`RankedMembers`).
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left

DICT_MIN_SIZE = 4
DICT_FORCE_RESIZE_RATIO = 5  # while a child runs, tables change only when this far from their fill
HASHTABLE_MIN_FILL = 10  # percent: a set's table under this shrinks
DICT_STATS_VECTLEN = 50
EMPTY_VISITS = 10  # empty slots one rehash step may pass over
FAIR_RANDOM_STEPS = 15  # dictGetFairRandomKey samples this many keys (at most), a rehash step each
HASH_BITS = 32
_REMOVED_SLACK = 64  # removed members a `RankedMembers` list keeps on top of one per live member
_FLOAT32 = struct.Struct("f")
_REVERSED_BYTE = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def slot_hash(member: bytes) -> int:
    """The member's hash: its slot in a table of 2**k slots is the low k bits."""
    return int.from_bytes(zlib.crc32(member).to_bytes(4, "little").translate(_REVERSED_BYTE), "big")


def table_size(used: int) -> int:
    """_dictNextExp: the power of two at least ``used`` (and at least 4)."""
    return max(DICT_MIN_SIZE, 1 << (used - 1).bit_length())


def _reverse(value: int, bits: int) -> int:
    return int(f"{value:0{bits}b}"[::-1], 2) if bits else 0


class RehashingTable:
    """One set's dict as Redis 7.0 would have sized it, from the moment it is observed on.

    ``size`` is the main table's; while rehashing, ``target`` is the new
    table's, ``rehash_at`` the next main-table slot to move, and ``waiting``
    the members still in the main table, by slot. ``child_running`` (a fork
    is alive) is Redis's DICT_RESIZE_AVOID: no table is resized unless far
    too full, and a rehash moves on only between very different sizes.
    """

    __slots__ = ("size", "target", "rehash_at", "waiting", "waiting_count")

    def __init__(self, used: int) -> None:
        self.size = table_size(used)
        self.target = 0
        self.rehash_at = 0
        self.waiting: dict[int, list[bytes]] = {}
        self.waiting_count = 0

    @property
    def rehashing(self) -> bool:
        return self.target != 0

    def step(self, child_running: bool, steps: int = 1) -> None:
        """``steps`` calls of _dictRehashStep (none while a child runs, unless the sizes are far apart)."""
        if not self.target:
            return
        small, large = sorted((self.size, self.target))
        if child_running and large // small < DICT_FORCE_RESIZE_RATIO:
            return
        for _ in range(steps):
            self._rehash_one()
            if not self.target:
                return

    def _rehash_one(self) -> None:
        """dictRehash(d, 1): move the next slot with members, or pass EMPTY_VISITS empty ones."""
        waiting = self.waiting
        if self.waiting_count:
            for _ in range(EMPTY_VISITS):
                if self.rehash_at in waiting:
                    break
                self.rehash_at += 1
            else:
                return
            self.waiting_count -= len(waiting.pop(self.rehash_at))
            self.rehash_at += 1
        if not self.waiting_count:
            self.size, self.target, self.waiting = self.target, 0, {}

    def before_add(self, members, child_running: bool) -> None:
        """dictAddRaw up to its insert: a rehash step, then a full table grows (the new member goes there)."""
        self.step(child_running)
        if self.target:
            return
        used = len(members)
        if (not child_running and used >= self.size) or used // self.size > DICT_FORCE_RESIZE_RATIO:
            self._resize(members, used + 1)

    def removed(self, member: bytes, members, child_running: bool) -> None:
        """After a member's removal (its step taken by `step`): a table under a tenth full shrinks."""
        if self.target:
            slot = slot_hash(member) & (self.size - 1)
            chain = self.waiting.get(slot, ())
            if member in chain:
                chain.remove(member)
                self.waiting_count -= 1
                if not chain:
                    del self.waiting[slot]
        slots = self.size + self.target
        if slots > DICT_MIN_SIZE and len(members) * 100 // slots < HASHTABLE_MIN_FILL:
            if not child_running and not self.target:
                self._resize(members, max(len(members), DICT_MIN_SIZE))

    def _resize(self, members, wanted: int) -> None:
        size = table_size(wanted)
        if size == self.size:
            return
        mask = self.size - 1
        waiting: dict[int, list[bytes]] = {}
        for member in members:
            waiting.setdefault(slot_hash(member) & mask, []).append(member)
        self.target, self.rehash_at, self.waiting, self.waiting_count = size, 0, waiting, len(members)

    def scan_size(self) -> int:
        """The table whose slots a scan cursor counts: the smaller of the two while rehashing."""
        return min(self.size, self.target) if self.target else self.size

    def stats(self, members) -> str:
        """dictGetStats: the main table's, then the rehashing target's."""
        if not self.target:
            return table_stats(0, self.size, members)
        waiting = [member for chain in self.waiting.values() for member in chain]
        still_waiting = set(waiting)
        return table_stats(0, self.size, waiting) + \
            table_stats(1, self.target, [member for member in members if member not in still_waiting])


def grown_table_stats(keys, used_at_fork: int | None = None) -> str:
    """dictGetStats for a dict holding ``keys`` (a sized iterable of bytes) that has only grown.

    The table is sized as Redis grows it (at least the element count, never
    shrunk or rehashing); while a child process runs (``used_at_fork``: the
    count when it forked), only once it holds more than
    DICT_FORCE_RESIZE_RATIO times its size, as Redis avoids copy-on-write.
    """
    size = table_size(len(keys))
    if used_at_fork is not None and keys:
        size_at_fork = table_size(used_at_fork)
        if (len(keys) - 1) // size_at_fork <= DICT_FORCE_RESIZE_RATIO:  # as checked before each insert
            size = size_at_fork
    return table_stats(0, size, keys)


def table_stats(index: int, size: int, keys) -> str:
    """_dictGetStatsHt for a table of ``size`` slots holding ``keys`` (bytes), in Redis's words.

    Percentages are computed in C floats, as Redis does.
    """
    header = f"Hash table {index} stats ({'main hash table' if index == 0 else 'rehashing target'}):\n"
    used = len(keys)
    if not used:
        return header + "No stats available for empty dictionaries\n"
    chains = [0] * size
    mask = size - 1
    for key in keys:
        chains[slot_hash(key) & mask] += 1
    lengths = [0] * DICT_STATS_VECTLEN
    for length in chains:
        lengths[min(length, DICT_STATS_VECTLEN - 1)] += 1
    slots = size - lengths[0]
    average = _c_float(used / slots)
    lines = [
        header,
        f" table size: {size}\n number of elements: {used}\n different slots: {slots}\n",
        f" max chain length: {max(chains)}\n avg chain length (counted): {average:.2f}\n",
        f" avg chain length (computed): {average:.2f}\n Chain length distribution:\n",
    ]
    for length, count in enumerate(lengths[:-1]):
        if count:
            lines.append(f"   {length}: {count} ({_c_float(_c_float(count / size) * 100):.2f}%)\n")
    return "".join(lines)


def _c_float(value: float) -> float:
    """``value`` rounded to a C float (single precision)."""
    return _FLOAT32.unpack(_FLOAT32.pack(value))[0]


class RankedMembers:
    """A set's members sorted by CRC-32 (the order a reverse-binary scan meets them), kept lazily.

    Built on the first scan. Members added since are merged in at the next
    (found from the set's insertion numbers); members removed stay in the
    list and are skipped, until they outnumber the live ones and the list is
    made again.
    """

    __slots__ = ("ranks", "members", "next_seq")

    def __init__(self, seq: dict[bytes, int], next_seq: int) -> None:
        self.members = sorted(seq, key=zlib.crc32)
        self.ranks = array("I", map(zlib.crc32, self.members))  # 4 bytes a member
        self.next_seq = next_seq

    def catch_up(self, seq: dict[bytes, int], next_seq: int) -> RankedMembers:
        """This list with the members numbered since it was last brought up to date (or a new one)."""
        if len(self.members) > 2 * len(seq) + _REMOVED_SLACK:
            return RankedMembers(seq, next_seq)
        added = []
        for member, number in reversed(seq.items()):
            if number < self.next_seq:
                break
            added.append(member)
        if len(added) > len(self.members) // 8 + 8:
            return RankedMembers(seq, next_seq)
        for member in added:
            rank = zlib.crc32(member)
            at = bisect_left(self.ranks, rank)
            while at < len(self.ranks) and self.ranks[at] == rank and self.members[at] != member:
                at += 1
            if at == len(self.ranks) or self.members[at] != member:  # not there already (removed, back again)
                self.ranks.insert(at, rank)
                self.members.insert(at, member)
        self.next_seq = next_seq
        return self

    def scan_slots(self, live, cursor: int, count: int, size: int) -> tuple[int, list[bytes]]:
        """dictScan over a table of ``size`` slots from ``cursor``, as SSCAN calls it.

        Whole slots are taken until ``count`` members were found or 10 x
        ``count`` more slots (empty ones too) were visited; the cursor returned
        names the next slot, 0 once the last was visited.
        """
        bits = size.bit_length() - 1
        shift = HASH_BITS - bits
        prefix = _reverse(cursor & (size - 1), bits)  # the slot's place in scan order: the CRC-32's top bits
        ranks, members = self.ranks, self.members
        at = bisect_left(ranks, prefix << shift)
        found: list[bytes] = []
        calls_left = count * 10 + 1  # SSCAN's first dictScan call, then up to 10 x count more
        while True:
            end = bisect_left(ranks, (prefix + 1) << shift, at)
            found.extend(member for member in members[at:end] if member in live)
            at = end
            prefix += 1
            calls_left -= 1
            if prefix < size and len(found) < count and calls_left:  # empty slots up to the next
                skipped = min((ranks[at] >> shift if at < len(ranks) else size) - prefix, calls_left)
                prefix += skipped
                calls_left -= skipped
            if prefix >= size:
                return 0, found
            if len(found) >= count or not calls_left:
                return _reverse(prefix, bits), found
