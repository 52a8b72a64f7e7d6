"""The list value: a deque of byte strings (O(1) at both ends), as Redis's quicklist."""

from __future__ import annotations

from collections import deque
from itertools import islice

from kvcore.eviction import ELEMENT_BYTES


class ListValue(deque):
    """A Redis list. Elements are ``bytes``; an empty list is never stored."""

    __slots__ = ()
    TYPE = "list"

    def encoding(self, config) -> str:
        """OBJECT ENCODING: Redis 7.0 keeps every list in a quicklist."""
        return "quicklist"

    def weight(self) -> int:
        """The memory model's bytes (kvcore.eviction)."""
        return ELEMENT_BYTES * len(self)

    def span(self, start: int, end: int) -> list[bytes]:
        """Elements ``start..end`` (inclusive, both valid), walked from the nearer end."""
        size = len(self)
        if start <= size - 1 - end:
            return list(islice(self, start, end + 1))
        tail = list(islice(reversed(self), size - 1 - end, size - start))
        tail.reverse()
        return tail

    def trim(self, start: int, end: int) -> None:
        """Keep only ``start..end`` (inclusive, both valid)."""
        size = len(self)
        drop_left, drop_right = start, size - 1 - end
        if drop_left + drop_right <= end - start + 1:
            for _ in range(drop_left):
                self.popleft()
            for _ in range(drop_right):
                self.pop()
        else:
            kept = self.span(start, end)
            self.clear()
            self.extend(kept)

    def remove_matches(self, element: bytes, count: int) -> int:
        """LREM: drop up to ``count`` elements equal to ``element`` (0 = all; < 0 from the tail)."""
        limit = abs(count) or len(self)
        source = reversed(self) if count < 0 else iter(self)
        kept: list[bytes] = []
        removed = 0
        for item in source:
            if removed < limit and item == element:
                removed += 1
            else:
                kept.append(item)
        if removed:
            if count < 0:
                kept.reverse()
            self.clear()
            self.extend(kept)
        return removed
