"""The stream value: entries ordered by ID, the listpack nodes Redis would hold them in, consumer groups.

An entry ID is ``ms-seq``, two unsigned 64-bit numbers; here it is one
Python int, ``ms << 64 | seq``, so IDs compare, sort and bisect as numbers.
Entries live in an `IdMap` (a sorted list of IDs and a dict of their flat
field/value tuples): appends, which are almost all writes, go at the end.

Redis keeps a stream's entries in listpacks of at most
``stream-node-max-entries`` entries and ``stream-node-max-bytes`` bytes,
keyed in a radix tree by their first ("master") ID. That layout is visible:
approximate trimming (``MAXLEN ~``) removes whole nodes only, XINFO STREAM
reports the tree's keys and nodes, and RDB files store the listpacks. So
each `StreamNode` records what decides those: its master ID and fields, its
live and deleted entry counts, its exact listpack size and its last ID.

Consumer groups keep, as Redis does, a last-delivered ID, a logical read
counter (``entries_read``, -1 when unknown), a PEL of `PendingEntry` records
(delivery time and count, owner) and consumers, each with its own PEL
sharing those records.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from kvcore.allocation import allocation
from kvcore.corrupt import Fatal
from kvcore.effects import Crash
from kvcore.eviction import ELEMENT_BYTES
from kvcore.listpack import HEADER_SIZE, encode_entry

SEQ_BITS = 64
SEQ_MAX = (1 << SEQ_BITS) - 1
ID_MAX = (1 << 128) - 1
INVALID_ENTRIES_READ = -1  # SCG_INVALID_ENTRIES_READ: a group whose read counter is unknown
LISTPACK_MAX_BYTES = 1 << 30  # STREAM_LISTPACK_MAX_SIZE: the cap of stream-node-max-bytes
LISTPACK_PREALLOC_BYTES = 4096  # STREAM_LISTPACK_MAX_PRE_ALLOCATE: a new node's allocation
# objectComputeSize's figures for a stream (64-bit): robj + stream, streamCG, streamNACK, streamConsumer.
STREAM_STRUCT_BYTES = 16 + 80
GROUP_STRUCT_BYTES = 40
NACK_STRUCT_BYTES = 24
CONSUMER_STRUCT_BYTES = 24
RAX_NODE_OVERHEAD_BYTES = 8 * 30
MEMORY_SAMPLES = 5
FLAG_SAMEFIELDS = 2  # an entry whose fields are its node's master fields stores only its values
_INT64 = 1 << 64


def format_id(ident: int) -> bytes:
    return b"%d-%d" % (ident >> SEQ_BITS, ident & SEQ_MAX)


def make_id(ms: int, seq: int) -> int:
    return (ms << SEQ_BITS) | seq


def int_size(value: int) -> int:
    """The bytes of an integer entry in a listpack (values wrap to signed 64 bits, as C casts them)."""
    if value >= 1 << 63:
        value -= _INT64
    elif value < -(1 << 63):
        value += _INT64
    return len(encode_entry(value))


def _items_size(items) -> int:
    return sum(len(encode_entry(item)) for item in items)


class IdMap:
    """Values by ID, with the IDs kept sorted for ranges (a radix tree's job in Redis)."""

    __slots__ = ("ids", "items")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.items: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, ident: int) -> bool:
        return ident in self.items

    def get(self, ident: int):
        return self.items.get(ident)

    def put(self, ident: int, value) -> None:
        ids = self.ids
        if ident not in self.items:
            if not ids or ident > ids[-1]:
                ids.append(ident)
            else:
                insort(ids, ident)
        self.items[ident] = value

    def pop(self, ident: int):
        value = self.items.pop(ident, None)
        if value is not None:
            del self.ids[bisect_left(self.ids, ident)]
        return value

    def between(self, start: int, end: int, count: int = 0, reverse: bool = False) -> list[int]:
        """The IDs from ``start`` to ``end`` inclusive, in order (or reversed), at most ``count`` (0: all)."""
        ids = self.ids
        lo, hi = bisect_left(ids, start), bisect_right(ids, end)
        if hi <= lo:
            return []
        if not reverse:
            return ids[lo : lo + count if count and lo + count < hi else hi]
        first = hi - count if count and hi - count > lo else lo
        return ids[first:hi][::-1]


class StreamNode:
    """One listpack of the stream, as far as anything visible depends on it.

    Its deleted entries stay in it (``tombstones``), flagged, as in Redis's
    listpack until the whole node goes: they count in its size, and RDB
    files and DUMP payloads carry them.
    """

    __slots__ = ("master_id", "master_fields", "live", "deleted", "body_bytes", "last_id", "tombstones")

    def __init__(self, master_id: int, master_fields: tuple) -> None:
        self.master_id = master_id
        self.master_fields = master_fields
        self.live = 0
        self.deleted = 0
        self.last_id = master_id
        self.tombstones: dict[int, tuple] = {}
        # Header, terminator, master fields and their count, the master entry's end mark (0):
        # everything but the live and deleted counts, which `size` adds.
        self.body_bytes = HEADER_SIZE + 1 + int_size(len(master_fields)) + _items_size(master_fields) + 2

    @property
    def size(self) -> int:
        return self.body_bytes + int_size(self.live) + int_size(self.deleted)

    def entry_size(self, ident: int, flat: tuple) -> int:
        """The listpack bytes of one entry in this node: flags, ID deltas, (fields,) values, lp-count."""
        master = self.master_id
        fields = flat[0::2]
        size = 2 + int_size((ident >> SEQ_BITS) - (master >> SEQ_BITS)) + int_size((ident & SEQ_MAX) - (master & SEQ_MAX))
        if fields == self.master_fields:
            return size + _items_size(flat[1::2]) + int_size(len(fields) + 3)
        return size + int_size(len(fields)) + _items_size(flat) + int_size(2 * len(fields) + 4)


class PendingEntry:
    """A NACK: an entry delivered to a consumer and not yet acknowledged."""

    __slots__ = ("delivery_ms", "delivery_count", "consumer")

    def __init__(self, consumer, delivery_ms: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_ms = delivery_ms
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("name", "seen_ms", "pending")

    def __init__(self, name: bytes, seen_ms: int) -> None:
        self.name = name
        self.seen_ms = seen_ms
        self.pending = IdMap()


class ConsumerGroup:
    __slots__ = ("name", "last_id", "entries_read", "pending", "consumers")

    def __init__(self, name: bytes, last_id: int, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pending = IdMap()  # id -> PendingEntry
        self.consumers: dict[bytes, Consumer] = {}

    def consumer(self, name: bytes, now_ms: int) -> tuple[Consumer, bool]:
        """The named consumer, made if missing; whether it was made."""
        found = self.consumers.get(name)
        if found is not None:
            return found, False
        found = self.consumers[name] = Consumer(name, now_ms)
        return found, True

    def sorted_consumers(self) -> list[Consumer]:
        """Consumers in name order (a radix tree's order in Redis)."""
        return [self.consumers[name] for name in sorted(self.consumers)]

    def deliver(self, ident: int, consumer: Consumer, now_ms: int) -> PendingEntry:
        """Record a delivery of a new entry: a fresh NACK, or an existing one taken over (count back to 1)."""
        nack = self.pending.get(ident)
        if nack is None:
            nack = PendingEntry(consumer, now_ms)
            self.pending.put(ident, nack)
        else:
            nack.consumer.pending.pop(ident)
            nack.consumer, nack.delivery_ms, nack.delivery_count = consumer, now_ms, 1
        consumer.pending.put(ident, nack)
        return nack

    def acknowledge(self, ident: int) -> bool:
        nack = self.pending.pop(ident)
        if nack is None:
            return False
        if nack.consumer is not None:
            nack.consumer.pending.pop(ident)
        return True

    def transfer(self, ident: int, nack: PendingEntry, consumer: Consumer) -> None:
        """Make ``consumer`` the owner of a pending entry."""
        if nack.consumer is not consumer:
            if nack.consumer is not None:
                nack.consumer.pending.pop(ident)
            consumer.pending.put(ident, nack)
            nack.consumer = consumer

    def delete_consumer(self, name: bytes) -> int:
        """Remove a consumer and its pending entries (from the group's PEL too); how many it had."""
        consumer = self.consumers.pop(name, None)
        if consumer is None:
            return 0
        for ident in consumer.pending.ids:
            self.pending.pop(ident)
        return len(consumer.pending)


class StreamValue:
    """A Redis stream."""

    __slots__ = ("entries", "last_id", "max_deleted_id", "entries_added", "groups", "nodes", "_node_keys",
                 "_bytes", "backward_crash")
    TYPE = "stream"

    def __init__(self) -> None:
        self.entries = IdMap()  # id -> flat (field, value, ...) tuple
        self.last_id = 0
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}
        self.nodes: list[StreamNode] = []
        self._node_keys: list[int] = []  # each node's master ID, for bisect
        self._bytes = 0  # the nodes' listpack bytes, for the memory model
        self.backward_crash: Crash | None = None  # restored unsanitized, its nodes cannot be read backward

    def __len__(self) -> int:
        return len(self.entries)

    def encoding(self, config) -> str:
        return "stream"

    def weight(self) -> int:
        """The memory model's bytes: the listpacks Redis would hold, the last one with the room Redis
        allocates ahead for it, plus a figure per node, pending entry and consumer."""
        pending = sum(len(group.pending) + len(group.consumers) for group in self.groups.values())
        slack = max(LISTPACK_PREALLOC_BYTES - self.nodes[-1].size, 0) if self.nodes else 0
        return self._bytes + slack + ELEMENT_BYTES * (len(self.nodes) + pending)

    def memory_usage(self) -> int:
        """MEMORY USAGE's figure, as objectComputeSize reckons a stream with its default 5 samples:
        the stream's structs and radix tree, its listpacks' allocations (the last one preallocated,
        the others averaged from the first five), and the groups' structs, PELs and consumers."""
        size = STREAM_STRUCT_BYTES + _rax_bytes(len(self.nodes), self.radix_tree_nodes())
        if self.nodes:
            sizes = [allocation(node.size) for node in self.nodes[:-1]]
            sizes.append(allocation(max(self.nodes[-1].size, LISTPACK_PREALLOC_BYTES)))
            if len(sizes) <= MEMORY_SAMPLES:
                size += sum(sizes)
            else:
                size += sum(sizes[:MEMORY_SAMPLES]) // MEMORY_SAMPLES * (len(sizes) - 1) + sizes[-1]
        for group in self.groups.values():
            pending = group.pending.ids
            size += GROUP_STRUCT_BYTES + _rax_bytes(len(pending), rax_node_count(pending))
            size += NACK_STRUCT_BYTES * len(pending)
            for consumer in group.consumers.values():
                own = consumer.pending.ids
                size += CONSUMER_STRUCT_BYTES + len(consumer.name) + _rax_bytes(len(own), rax_node_count(own))
        return size

    # -- reading -----------------------------------------------------------------------
    @property
    def first_id(self) -> int:
        """The first live entry's ID, 0-0 when there is none (Redis's first_id)."""
        ids = self.entries.ids
        return ids[0] if ids else 0

    @property
    def last_live_id(self) -> int:
        """The last live entry's ID, 0-0 when there is none (streamLastValidID)."""
        ids = self.entries.ids
        return ids[-1] if ids else 0

    def get(self, ident: int) -> tuple | None:
        return self.entries.get(ident)

    def range(self, start: int, end: int, count: int = 0, reverse: bool = False) -> list[tuple[int, tuple]]:
        if reverse and self.backward_crash is not None:
            raise Fatal(self.backward_crash)
        items = self.entries.items
        return [(ident, items[ident]) for ident in self.entries.between(start, end, count, reverse)]

    # -- appending ---------------------------------------------------------------------
    def append(self, ident: int, flat: tuple, config) -> None:
        """Add an entry whose ID is above ``last_id`` (the caller checked), in a node as Redis would."""
        node = self.nodes[-1] if self.nodes else None
        if node is not None and self._node_full(node, flat, config):
            node = None
        if node is None:
            node = StreamNode(ident, flat[0::2])
            self.nodes.append(node)
            self._node_keys.append(ident)
            self._bytes += node.size
        before = node.size
        node.body_bytes += node.entry_size(ident, flat)
        node.live += 1
        node.last_id = ident
        self._bytes += node.size - before
        self.entries.put(ident, flat)
        self.entries_added += 1
        self.last_id = ident

    def add_node(self, node: StreamNode) -> None:
        """Append a node read from a file (its entries already put in `entries`), after every other."""
        self.nodes.append(node)
        self._node_keys.append(node.master_id)
        self._bytes += node.size

    @staticmethod
    def _node_full(node: StreamNode, flat: tuple, config) -> bool:
        max_bytes = int(config["stream-node-max-bytes"])
        if max_bytes <= 0 or max_bytes > LISTPACK_MAX_BYTES:
            max_bytes = LISTPACK_MAX_BYTES
        if node.size + sum(map(len, flat)) >= max_bytes:
            return True
        max_entries = int(config["stream-node-max-entries"])
        return bool(max_entries) and node.live + node.deleted >= max_entries

    # -- deleting ----------------------------------------------------------------------
    def _node_index(self, ident: int) -> int:
        return bisect_right(self._node_keys, ident) - 1

    def delete(self, ident: int) -> bool:
        """XDEL of one ID: whether it was there. A node left with no live entry goes."""
        flat = self.entries.pop(ident)
        if flat is None:
            return False
        at = self._node_index(ident)
        node = self.nodes[at]
        if node.live == 1:
            self._drop_node(at)
        else:
            self._mark_deleted(node, ident, flat)
        return True

    def _mark_deleted(self, node: StreamNode, ident: int, flat: tuple) -> None:
        before = node.size
        node.live -= 1
        node.deleted += 1
        node.tombstones[ident] = flat
        self._bytes += node.size - before

    def _drop_node(self, at: int) -> None:
        self._bytes -= self.nodes[at].size
        del self.nodes[at]
        del self._node_keys[at]

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: drop entries from the head by MAXLEN or MINID; how many went.

        Whole nodes go while they may; an exact trim then deletes entries of the
        next node one by one, an approximate one stops. ``limit`` (0: none) caps
        the entries removed by whole nodes.
        """
        deleted = 0
        entries = self.entries
        while self.nodes:
            node = self.nodes[0]
            if maxlen is not None and len(entries) <= maxlen:
                break
            if limit and deleted + node.live > limit:
                break
            if maxlen is not None:
                whole = len(entries) - node.live >= maxlen
            else:
                whole = node.last_id < minid
            if whole:
                gone = entries.ids[: node.live]
                del entries.ids[: node.live]
                for ident in gone:
                    del entries.items[ident]
                deleted += node.live
                self._drop_node(0)
                continue
            if approx:
                break
            deleted += self._trim_within(node, maxlen, minid)
            break
        return deleted

    def _trim_within(self, node: StreamNode, maxlen: int | None, minid: int | None) -> int:
        entries = self.entries
        count = 0
        while node.live:
            first = entries.ids[0]
            if (len(entries) <= maxlen) if maxlen is not None else first >= minid:
                break
            self._mark_deleted(node, first, entries.pop(first))
            count += 1
        return count

    # -- the radix tree's shape (XINFO STREAM) ----------------------------------------
    def radix_tree_nodes(self) -> int:
        """How many nodes Redis's radix tree of the node keys has."""
        return rax_node_count(self._node_keys)

    # -- consumer groups ----------------------------------------------------------------
    def estimated_entries_read(self, ident: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry: the read counter an ID stands for, or -1."""
        if not self.entries_added:
            return 0
        if not len(self) and ident <= self.last_id:
            return self.entries_added
        if ident == self.last_id:
            return self.entries_added
        if ident > self.last_id:
            return INVALID_ENTRIES_READ
        first = self.first_id
        if not self.max_deleted_id or self.max_deleted_id < first:
            if ident < first:
                return self.entries_added - len(self)
            if ident == first:
                return self.entries_added - len(self) + 1
        return INVALID_ENTRIES_READ

    def has_tombstones(self, start: int) -> bool:
        """streamRangeHasTombstones to the stream's end: whether a deleted entry may lie from ``start`` on."""
        tomb = self.max_deleted_id
        if not len(self) or not tomb or self.first_id > tomb:
            return False
        return start <= tomb

    def lag(self, group: ConsumerGroup) -> int | None:
        """How many entries the group has yet to read, or None when that cannot be known."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimated_entries_read(group.last_id)
        return None if read == INVALID_ENTRIES_READ else self.entries_added - read

    def advance_group(self, group: ConsumerGroup, ident: int) -> None:
        """A group delivered ``ident`` beyond its last ID: move it and its read counter on."""
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones(ident):
            group.entries_read += 1
        elif self.entries_added:
            group.entries_read = self.estimated_entries_read(ident)
        group.last_id = ident


def rax_node_count(idents: list[int]) -> int:
    """Nodes of a Redis radix tree keyed by these IDs (sorted) as 16-byte big-endian keys; 1 when empty."""
    if not idents:
        return 1
    return _rax_nodes([ident.to_bytes(16, "big") for ident in idents], 0)


def _rax_bytes(keys: int, nodes: int) -> int:
    """streamRadixTreeMemoryUsage: an ID per key, a header and a fixed overhead per node."""
    return 16 * keys + (4 + RAX_NODE_OVERHEAD_BYTES) * nodes


def _rax_nodes(keys: list[bytes], depth: int) -> int:
    """Nodes of a compressed radix tree holding ``keys`` (sorted, distinct, equal length) below ``depth``.

    A run of bytes all the keys share is one compressed node; where they
    differ, one node branches to a subtree per byte; every key ends in a node.
    """
    width = len(keys[0])
    if len(keys) == 1:
        return 1 if depth == width else 2
    first, last = keys[0], keys[-1]
    split = depth
    while first[split] == last[split]:
        split += 1
    nodes = 1 if split > depth else 0  # the shared run
    nodes += 1  # the branching node
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index][split] != keys[start][split]:
            nodes += _rax_nodes(keys[start:index], split + 1)
            start = index
    return nodes
