"""The list value: a deque of byte strings (O(1) at both ends), and the quicklist Redis keeps it in.

Redis 7.0 stores every list as a quicklist: a chain of listpack nodes, each
filled up to ``list-max-listpack-size`` (a byte limit when negative, an
element count when positive). Which elements share a node depends on the
list's history (pushes at either end, LINSERT's splits and merges, pops,
LREM, LTRIM), and shows in DUMP and RDB bytes, DEBUG OBJECT and MEMORY
USAGE. `ListValue.nodes` models it: each node's element count, its size
(the listpack's bytes) and whether it is a plain node (one element at least
as large as the packed threshold, DEBUG QUICKLIST-PACKED-THRESHOLD, kept
as it is), changed by each operation as quicklist.c changes its nodes.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from kvcore import listpack
from kvcore.eviction import ELEMENT_BYTES

FILL_LIMITS = [4096, 8192, 16384, 32768, 65536]  # list-max-listpack-size -1 .. -5, in bytes
SIZE_SAFETY_LIMIT = 8192  # a count-limited node's bytes never pass this
ENTRY_OVERHEAD_ESTIMATE = 8  # quicklist.c's SIZE_ESTIMATE_OVERHEAD
MERGE_SAVING_ESTIMATE = 11  # _quicklistNodeAllowMerge's guess at the header and end a merge saves
EMPTY_LISTPACK = listpack.HEADER_SIZE + 1  # header and end byte
MERGED_AWAY = EMPTY_LISTPACK  # what a merge actually saves: one listpack's header and end
PACKED_THRESHOLD = 1 << 30  # an element this large (or larger) gets a plain node of its own
COUNT, SIZE, PLAIN = 0, 1, 2  # a node: [element count, bytes, plain]


def layout(node) -> tuple[int, int]:
    """A node's options for the lists it builds: (``list-max-listpack-size``, packed threshold)."""
    return node.config["list-max-listpack-size"], node.packed_threshold


def node_limits(fill: int) -> tuple[int, float]:
    """The bytes and elements a node may grow to: a negative ``fill`` names a byte limit (any count);
    a positive one (or an unknown negative level) counts elements, within the size safety limit."""
    level = -fill - 1
    if fill < 0 and level < len(FILL_LIMITS):
        return FILL_LIMITS[level], float("inf")
    return SIZE_SAFETY_LIMIT, max(fill, 0)


def _packed(size: int) -> list:
    return [1, EMPTY_LISTPACK + size, False]


def _plain(item: bytes) -> list:
    return [1, len(item), True]


def _has_room(node, item: bytes, byte_limit: int, count_limit: float) -> bool:
    """_quicklistNodeAllowInsert (the item known not to be large)."""
    return not node[PLAIN] and node[SIZE] + len(item) + ENTRY_OVERHEAD_ESTIMATE <= byte_limit \
        and node[COUNT] < count_limit


class ListValue(deque):
    """A Redis list. Elements are ``bytes``; an empty list is never stored.

    ``nodes``: [element count, bytes, plain] of each quicklist node, head
    first. A list built in one go is laid out as pushed at its tail one by
    one (``fill``: ``list-max-listpack-size``; ``large``: the packed
    threshold); the list commands change elements through the methods below,
    which keep the nodes as Redis would.
    """

    __slots__ = ("nodes",)
    TYPE = "list"

    def __init__(self, elements=(), fill: int = -2, large: int = PACKED_THRESHOLD) -> None:
        super().__init__()
        self.nodes: deque = deque()
        self.push(elements, False, fill, large)

    def copy(self) -> ListValue:
        """quicklistDup: the same elements in the same nodes."""
        value = ListValue()
        value.extend(self)
        value.nodes = deque(list(node) for node in self.nodes)
        return value

    def encoding(self, config) -> str:
        """OBJECT ENCODING: Redis 7.0 keeps every list in a quicklist."""
        return "quicklist"

    def weight(self) -> int:
        """The memory model's bytes (kvcore.eviction)."""
        return ELEMENT_BYTES * len(self)

    def append_stored_node(self, elements: list[bytes], size: int, plain: bool = False) -> None:
        """A node as an RDB stored it (quicklistAppendListpack / AppendPlainNode): kept as it is."""
        self.extend(elements)
        self.nodes.append([len(elements), size, plain])

    def node_elements(self) -> list[list[bytes]]:
        """The elements of each node, head first."""
        elements = iter(self)
        return [list(islice(elements, node[COUNT])) for node in self.nodes]

    # -- reading ---------------------------------------------------------------------
    def span(self, start: int, end: int) -> list[bytes]:
        """Elements ``start..end`` (inclusive, both valid), walked from the nearer end."""
        size = len(self)
        if start <= size - 1 - end:
            return list(islice(self, start, end + 1))
        tail = list(islice(reversed(self), size - 1 - end, size - start))
        tail.reverse()
        return tail

    # -- at the ends -----------------------------------------------------------------
    def push(self, items, left: bool, fill: int, large: int = PACKED_THRESHOLD) -> None:
        """quicklistPushHead / PushTail for each item: into the end node while it has room, else into
        a new node (a large item into a plain node of its own)."""
        nodes = self.nodes
        byte_limit, count_limit = node_limits(fill)
        if type(items) is not list:
            items = list(items)  # read twice below
        if left:
            self.extendleft(items)
            add_node, end = nodes.appendleft, 0
        else:
            self.extend(items)
            add_node, end = nodes.append, -1
        entry_size = listpack.entry_size
        node = nodes[end] if nodes else None
        for item in items:
            if len(item) >= large:
                node = _plain(item)
                add_node(node)
            elif node is not None and _has_room(node, item, byte_limit, count_limit):
                node[COUNT] += 1
                node[SIZE] += entry_size(item)
            else:
                node = _packed(entry_size(item))
                add_node(node)

    def pop_end(self, left: bool) -> bytes:
        """Take the element at one end; a node it empties goes."""
        item = self.popleft() if left else self.pop()
        nodes = self.nodes
        node = nodes[0] if left else nodes[-1]
        self._take_from(node, item)
        if not node[COUNT]:
            nodes.popleft() if left else nodes.pop()
        return item

    @staticmethod
    def _take_from(node, item: bytes) -> None:
        node[COUNT] -= 1
        if not node[PLAIN]:
            node[SIZE] -= listpack.entry_size(item)

    # -- in the middle ---------------------------------------------------------------
    def _locate(self, index: int) -> tuple[int, int]:
        """The node holding element ``index`` and the element's offset in it."""
        for at, node in enumerate(self.nodes):
            if index < node[COUNT]:
                return at, index
            index -= node[COUNT]
        raise IndexError(index)

    def replace(self, index: int, item: bytes, fill: int, large: int = PACKED_THRESHOLD) -> None:
        """LSET, as quicklistReplaceEntry: in place in a packed node (whatever the new size: Redis 7.0
        checks none) or a plain one for a large item; otherwise the item goes in beside the old one
        (as LINSERT AFTER puts it) and the old one is deleted."""
        at, offset = self._locate(index)
        node = self.nodes[at]
        old = self[index]
        is_large = len(item) >= large
        if not node[PLAIN] and not is_large:
            node[SIZE] += listpack.entry_size(item) - listpack.entry_size(old)
            self[index] = item
        elif node[PLAIN] and is_large:
            node[SIZE] = len(item)
            self[index] = item
        else:
            self.insert_beside(index, True, item, fill, large)
            self._remove_positions({index})

    def insert_beside(self, pivot: int, after: bool, item: bytes, fill: int, large: int = PACKED_THRESHOLD) -> None:
        """LINSERT: _quicklistInsert next to element ``pivot``: into its node if it has room; at a
        full node's end, into the neighbour if that has room, else into a new node; else the node is
        split at the pivot, the item joins the split-off part, and the nodes around are merged
        where they fit. A large item takes a plain node of its own, splitting the pivot's node
        if it falls inside it."""
        nodes = self.nodes
        at, offset = self._locate(pivot)
        node = nodes[at]
        byte_limit, count_limit = node_limits(fill)
        self.insert(pivot + 1 if after else pivot, item)
        at_tail, at_head = after and offset == node[COUNT] - 1, not after and offset == 0
        if len(item) >= large:
            if node[PLAIN] or at_tail or at_head:
                nodes.insert(at + 1 if after else at, _plain(item))
            else:
                split = self._split(at, pivot, offset, after)
                nodes.insert(at + 1 if after else at, _plain(item))
                nodes.insert(at + 2 if after else at, split)
            return
        size = listpack.entry_size(item)
        if _has_room(node, item, byte_limit, count_limit):
            node[COUNT] += 1
            node[SIZE] += size
            return
        if at_tail or at_head:
            neighbour = at + 1 if at_tail else at - 1
            if 0 <= neighbour < len(nodes) and _has_room(nodes[neighbour], item, byte_limit, count_limit):
                nodes[neighbour][COUNT] += 1
                nodes[neighbour][SIZE] += size
            else:
                nodes.insert(at + 1 if at_tail else at, _packed(size))
            return
        split = self._split(at, pivot, offset, after)
        split[COUNT] += 1
        split[SIZE] += size
        nodes.insert(at + 1 if after else at, split)
        self._merge_around(at if after else at + 1, byte_limit, count_limit)

    def _split(self, at: int, pivot: int, offset: int, after: bool) -> list:
        """_quicklistSplitNode, the item already inserted next to the pivot (not counted in any node):
        the node keeps [0, offset] (after) or [offset, end] (before); the new node, returned, the rest."""
        node = self.nodes[at]
        first = pivot - offset  # the node's first element
        if after:
            moved = islice(self, pivot + 2, first + node[COUNT] + 1)
            moved_count = node[COUNT] - offset - 1
        else:
            moved = islice(self, first, pivot)
            moved_count = offset
        moved_bytes = sum(map(listpack.entry_size, moved))
        node[COUNT] -= moved_count
        node[SIZE] -= moved_bytes
        return [moved_count, EMPTY_LISTPACK + moved_bytes, False]

    def _merge_around(self, center: int, byte_limit: int, count_limit: float) -> None:
        """_quicklistMergeNodes: try prev-prev with prev, next with next-next, prev with the
        center, then what holds the center with its next."""
        nodes = self.nodes

        def mergeable(a: int, b: int) -> bool:
            if not (0 <= a < len(nodes) and 0 <= b < len(nodes)) or nodes[a][PLAIN] or nodes[b][PLAIN]:
                return False
            merged = nodes[a][SIZE] + nodes[b][SIZE] - MERGE_SAVING_ESTIMATE
            return merged <= byte_limit and nodes[a][COUNT] + nodes[b][COUNT] <= count_limit

        def merge(a: int) -> None:  # node a and the next one become one
            second = nodes[a + 1]
            nodes[a][COUNT] += second[COUNT]
            nodes[a][SIZE] += second[SIZE] - MERGED_AWAY
            del nodes[a + 1]

        if mergeable(center - 1, center - 2):
            merge(center - 2)
            center -= 1
        if mergeable(center + 1, center + 2):
            merge(center + 1)
        if mergeable(center, center - 1):
            merge(center - 1)
            center -= 1
        if mergeable(center, center + 1):
            merge(center)

    def _remove_positions(self, gone: set[int]) -> None:
        """quicklistDelIndex at each of these positions: nodes they empty go, no node merges."""
        nodes: deque = deque()
        kept: list[bytes] = []
        items = iter(self)
        index = 0
        for node in self.nodes:
            for item in islice(items, node[COUNT]):
                if index in gone:
                    self._take_from(node, item)
                else:
                    kept.append(item)
                index += 1
            if node[COUNT]:
                nodes.append(node)
        self.nodes = nodes
        self.clear()
        self.extend(kept)

    def trim(self, start: int, end: int) -> None:
        """LTRIM: keep only ``start..end`` (inclusive, both valid), deleting from each end as
        quicklistDelRange does."""
        for _ in range(len(self) - 1 - end):
            self.pop_end(False)
        for _ in range(start):
            self.pop_end(True)

    def remove_matches(self, element: bytes, count: int) -> int:
        """LREM: drop up to ``count`` elements equal to ``element`` (0 = all; < 0 from the tail)."""
        limit = abs(count) or len(self)
        positions = [index for index, item in enumerate(self) if item == element]
        removed = positions[-limit:] if count < 0 else positions[:limit]
        if removed:
            self._remove_positions(set(removed))
        return len(removed)
