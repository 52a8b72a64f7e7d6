"""Streams in RDB files and DUMP payloads: STREAM_LISTPACKS_2 (19) as Redis 7.0 writes it; 15, 19, 21 read.

The value is the radix tree's nodes, each its 16-byte big-endian master ID
and a listpack:

    master entry: count, deleted, number of master fields, the fields, 0
    each entry:   flags (1 deleted, 2 same fields as the master), ms and seq
                  deltas from the master ID, then its values (same fields)
                  or its field count and fields and values, then lp-count
                  (how many listpack elements the entry took)

then the length, last ID, first ID, max deleted ID and entries added (the
last three from type 19 on), and the groups: name, last ID, entries read
(19 on), the PEL (raw 16-byte IDs, delivery time as 8 bytes LE, delivery
count), and the consumers: name, seen time (and active time in 21), the IDs
of their pending entries.

Nodes keep their deleted entries (`StreamNode.tombstones`), so the listpacks
written are Redis's own, byte for byte.
"""

from __future__ import annotations

import struct

from kvcore import listpack
from kvcore.corrupt import assertion_failed, panic
from kvcore.effects import SIGSEGV, Crash
from kvcore.listpack_walk import Assertion, NullRead, Walker
from kvcore.rdb import (
    LP_VALID_ENTRY,
    TYPE_STREAM_LISTPACKS,
    TYPE_STREAM_LISTPACKS_2,
    TYPE_STREAM_LISTPACKS_3,
    Cursor,
    RdbError,
    _put_string,
    encode_length,
)
from kvcore.types_stream import (
    FLAG_SAMEFIELDS,
    INVALID_ENTRIES_READ,
    SEQ_BITS,
    SEQ_MAX,
    Consumer,
    ConsumerGroup,
    PendingEntry,
    StreamNode,
    StreamValue,
    int_size,
    make_id,
)

FLAG_DELETED = 1
BAD_LISTPACK = "Stream listpack integrity check failed."
EMPTY_NODE = "Empty listpack inside stream"
_MS = struct.Struct("<q")
_U64 = 1 << 64


def _signed(value: int) -> int:
    """A uint64 difference as the int64 lpAppendInteger stores."""
    value %= _U64
    return value - _U64 if value >= 1 << 63 else value


# -- writing ------------------------------------------------------------------------------
def node_listpack(node: StreamNode, entries: list[tuple[int, tuple]]) -> bytes:
    """The node's listpack: its live ``entries`` and its deleted ones, in ID order, as Redis holds it."""
    master, fields = node.master_id, node.master_fields
    items: list = [node.live, node.deleted, len(fields), *fields, 0]
    everything = sorted([*((ident, flat, 0) for ident, flat in entries),
                         *((ident, flat, FLAG_DELETED) for ident, flat in node.tombstones.items())])
    for ident, flat, deleted in everything:
        own = flat[0::2]
        same = own == fields
        items += [deleted | (FLAG_SAMEFIELDS if same else 0), _signed((ident >> SEQ_BITS) - (master >> SEQ_BITS)),
                  _signed((ident & SEQ_MAX) - (master & SEQ_MAX))]
        if same:
            items += flat[1::2]
            items.append(len(own) + 3)
        else:
            items.append(len(own))
            items += flat
            items.append(2 * len(own) + 4)
    return listpack.encode(items)


def _put_id(parts: list, ident: int) -> None:
    parts.append(encode_length(ident >> SEQ_BITS))
    parts.append(encode_length(ident & SEQ_MAX))


def put_stream(parts: list, value: StreamValue, config, compress: bool) -> int:
    bounds = [node.master_id for node in value.nodes[1:]] + [None]
    parts.append(encode_length(len(value.nodes)))
    for node, following in zip(value.nodes, bounds):
        entries = value.range(node.master_id, (following or (1 << 128)) - 1)
        _put_string(parts, node.master_id.to_bytes(16, "big"), compress)
        _put_string(parts, node_listpack(node, entries), compress)
    parts.append(encode_length(len(value)))
    for ident in (value.last_id, value.first_id, value.max_deleted_id):
        _put_id(parts, ident)
    parts.append(encode_length(value.entries_added))
    parts.append(encode_length(len(value.groups)))
    for name in sorted(value.groups):
        _put_group(parts, value.groups[name], compress)
    return TYPE_STREAM_LISTPACKS_2


def _put_group(parts: list, group: ConsumerGroup, compress: bool) -> None:
    _put_string(parts, group.name, compress)
    _put_id(parts, group.last_id)
    parts.append(encode_length(group.entries_read % _U64))
    parts.append(encode_length(len(group.pending)))
    for ident in group.pending.ids:
        nack = group.pending.get(ident)
        parts += (ident.to_bytes(16, "big"), _MS.pack(nack.delivery_ms), encode_length(nack.delivery_count))
    consumers = group.sorted_consumers()
    parts.append(encode_length(len(consumers)))
    for consumer in consumers:
        _put_string(parts, consumer.name, compress)
        parts.append(_MS.pack(consumer.seen_ms))
        parts.append(encode_length(len(consumer.pending)))
        parts += (ident.to_bytes(16, "big") for ident in consumer.pending.ids)


# -- reading ------------------------------------------------------------------------------
def _read_id(cursor: Cursor) -> int:
    ms = cursor.length()
    return make_id(ms, cursor.length())


def _read_node(value: StreamValue, key: bytes, blob: bytes, at: int, edge_read: bool) -> None:
    """One node: its entries into the stream (live) or the node (deleted), checked as a listpack of a stream.

    What only a deep check finds is an RdbError ``in_content``; Redis's shallow
    load reads the node's first entry all the same (lpFirst), and asserts
    there when that entry is broken; with ``edge_read`` (a first-version
    stream with no live entry read yet) it also reads on to the first live
    entry's ID and fields (streamGetEdgeID finds the first ID it lacks).
    """
    if len(key) != 16:
        raise RdbError("Stream node key entry is not the size of a stream ID", at)
    try:
        items = listpack.entries(blob, True)
    except listpack.ListpackError as exc:
        if not exc.in_content:
            raise RdbError(BAD_LISTPACK, at) from None
        if blob[listpack.HEADER_SIZE] == listpack.EOF:
            raise RdbError(EMPTY_NODE, at) from None
        trips = exc.offset == listpack.HEADER_SIZE or (edge_read and not _first_live_entry_read(exc.decoded))
        raise RdbError(BAD_LISTPACK, at, True, assertion_failed(LP_VALID_ENTRY) if trips else None) from None
    if not items:
        raise RdbError(EMPTY_NODE, at)
    master = int.from_bytes(key, "big")
    if value.nodes and master == value.nodes[-1].master_id:
        raise RdbError("Listpack re-added with existing key", at)
    try:
        _read_entries(value, master, items, len(blob), at)
    except (RdbError, TypeError, ValueError, IndexError):
        raise RdbError(BAD_LISTPACK, at, True) from None


def _read_entries(value: StreamValue, master: int, items: list, size: int, at: int) -> None:
    if value.nodes and master <= value.nodes[-1].last_id:
        raise RdbError(BAD_LISTPACK, at)
    live, deleted, field_count = _ints(items[0:3], at)
    fields = tuple(_text(item) for item in items[3 : 3 + field_count])
    if items[3 + field_count] != 0:
        raise RdbError(BAD_LISTPACK, at)
    node = StreamNode(master, fields)
    pos, last, counted = 4 + field_count, master - 1, [0, 0]
    while pos < len(items):
        start = pos
        flags, ms_delta, seq_delta = _ints(items[pos : pos + 3], at)
        ident = make_id(((master >> SEQ_BITS) + ms_delta) % _U64, ((master & SEQ_MAX) + seq_delta) % _U64)
        if flags & FLAG_SAMEFIELDS:
            values = items[pos + 3 : pos + 3 + field_count]
            flat = tuple(x for pair in zip(fields, map(_text, values)) for x in pair)
            pos += 3 + field_count
        else:
            (count,) = _ints(items[pos + 3 : pos + 4], at)
            flat = tuple(map(_text, items[pos + 4 : pos + 4 + 2 * count]))
            pos += 4 + 2 * count
        backward = _ints(items[pos : pos + 1], at)  # the entry's element count, for reading backwards
        if flags > 3 or ident <= last or len(flat) % 2 or not flat:
            raise RdbError(BAD_LISTPACK, at)
        if backward != [pos - start]:  # only a deep check refuses it; forward, Redis never reads it
            value.backward_crash = assertion_failed(LP_VALID_ENTRY)
        pos += 1
        last = ident
        counted[flags & FLAG_DELETED] += 1
        if flags & FLAG_DELETED:
            node.tombstones[ident] = flat
        else:
            value.entries.put(ident, flat)
    if counted != [live, deleted]:
        raise RdbError(BAD_LISTPACK, at)
    node.live, node.deleted, node.last_id = live, deleted, last
    node.body_bytes = size - int_size(live) - int_size(deleted)
    value.add_node(node)


def _first_live_entry_read(items: list) -> bool:
    """Whether ``items`` (a node's first entries) reach the first field of its first live entry, as
    an iterator reads to that entry's ID: the master entry, then each deleted entry whole."""
    try:
        field_count = items[2]
        pos = 4 + field_count
        while True:
            flags = items[pos]
            if not flags & FLAG_DELETED:
                return len(items) > pos + (3 if flags & FLAG_SAMEFIELDS else 4)
            pos += 4 + field_count if flags & FLAG_SAMEFIELDS else 5 + 2 * items[pos + 3]
    except (IndexError, TypeError):
        return False


def _ints(items: list, at: int) -> list[int]:
    """Listpack elements that must be non-negative integers (counts, flags...); deltas may be negative."""
    if not items or any(type(item) is not int for item in items):
        raise RdbError(BAD_LISTPACK, at)
    return items


def _text(item) -> bytes:
    return item if type(item) is bytes else b"%d" % item


def read_stream(cursor: Cursor, kind: int) -> StreamValue:
    """A stream; a node only a deep check refuses is raised once the whole value is read (so a
    file's reader can go on after it, `kvcore.rdb.read_value_or_undecoded`)."""
    value = StreamValue()
    unreadable = None
    blobs = []
    for _ in range(cursor.length()):
        at = cursor.pos
        key = cursor.string()
        blobs.append(cursor.string())
        try:
            _read_node(value, key, blobs[-1], at, kind == TYPE_STREAM_LISTPACKS and not value.entries)
        except RdbError as exc:
            if not exc.in_content or exc.crash is not None:
                raise
            unreadable = unreadable or exc
    length = cursor.length()
    value.last_id = _read_id(cursor)
    if kind >= TYPE_STREAM_LISTPACKS_2:
        _read_id(cursor)  # the first ID: the first live entry's, as it is here
        value.max_deleted_id = _read_id(cursor)
        value.entries_added = cursor.length()
    else:
        value.entries_added = length
    if unreadable is None and length != len(value):  # Redis's shallow load trusts the count (not an empty stream's)
        no_max_id = panic("Corrupt stream, length is %d, but no max id" % length) if not value else None
        raise RdbError("Stream length inconsistent with its entries", cursor.pos, bool(value.nodes), None, no_max_id)
    for _ in range(cursor.length()):
        _read_group(cursor, value, kind)
    if unreadable is not None:
        unreadable.crash_reading_back = _last_valid_id_crash(blobs, length)
        raise unreadable
    return value


def _last_valid_id_crash(blobs: list[bytes], length: int) -> Crash | None:
    """How streamLastValidID (XREAD's first look at a stream) fails on nodes as they are, if it does.

    It walks back from the last node's end, as Redis's reverse iterator: the
    last entry's lp-count says how far back its flags are, each step trusting
    a backlen. It fails an assertion on an entry that is not one, or panics
    when the nodes yield no live entry for a stream whose length says some.
    """
    for blob in reversed(blobs):
        try:
            if _has_live_entry_reading_back(Walker(blob)):
                return None
        except Assertion as exc:
            return assertion_failed(exc.expression)
        except NullRead:
            return Crash(SIGSEGV)
    return panic("Corrupt stream, length is %d, but no max id" % length)


FIELDS_NOT_NEGATIVE = "*numfields>=0"  # the iterator's assertion on an entry's field count


def _has_live_entry_reading_back(lp: Walker) -> bool:
    """streamIteratorGetID in reverse over one node, up to its first live entry or its master entry.

    Step for step as Redis's: a count of elements to go back is trusted
    (a negative one goes back until the cursor falls off the start); a
    skipped entry is left by going back over what was read of it.
    """
    at = lp.next(lp.next(lp.first()))  # the count, the deleted count: the master field count
    master_fields = lp.integer(at)
    lp.next(at)  # the first master field
    at = lp.last()
    while True:
        count = lp.integer(at)
        if count == 0:  # the master entry's terminator
            return False
        while count:  # as C's while(lp_count--), which a negative count does not stop
            at = lp.prev(at)
            count -= 1
        flags = lp.integer(at)
        at = lp.next(at)
        lp.integer(at)  # the ID's ms delta
        at = lp.next(at)
        lp.integer(at)  # and its seq delta
        at = lp.next(at)
        back = 4  # to the previous entry's lp-count: the flags, the ID's two deltas, and one more
        if flags & FLAG_SAMEFIELDS:
            fields = master_fields
        else:
            fields = lp.integer(at)
            at = lp.next(at)
            back += 1
        if fields < 0:
            raise Assertion(FIELDS_NOT_NEGATIVE)
        if not flags & FLAG_DELETED:
            return True
        for _ in range(back):
            at = lp.prev(at)


def _read_group(cursor: Cursor, value: StreamValue, kind: int) -> None:
    name = cursor.string()
    last_id = _read_id(cursor)
    if kind >= TYPE_STREAM_LISTPACKS_2:
        entries_read = cursor.length()
        entries_read = INVALID_ENTRIES_READ if entries_read == _U64 - 1 else entries_read
    else:
        entries_read = value.estimated_entries_read(last_id)
    group = ConsumerGroup(name, last_id, entries_read)
    for _ in range(cursor.length()):
        at = cursor.pos
        ident = int.from_bytes(cursor.take(16), "big")
        delivery_ms = _MS.unpack(cursor.take(8))[0]
        if ident in group.pending:
            raise RdbError("Duplicated global PEL entry loading stream consumer group", at)
        group.pending.put(ident, PendingEntry(None, delivery_ms, cursor.length()))
    for _ in range(cursor.length()):
        at = cursor.pos
        consumer = Consumer(cursor.string(), _MS.unpack(cursor.take(8))[0])
        if consumer.name in group.consumers:
            raise RdbError("Duplicate stream consumer detected.", at)
        if kind >= TYPE_STREAM_LISTPACKS_3:
            cursor.take(8)  # active time (Redis 7.2): 7.0 has no use for it
        for _ in range(cursor.length()):
            at = cursor.pos
            ident = int.from_bytes(cursor.take(16), "big")
            nack = group.pending.get(ident)
            if nack is None:
                raise RdbError("Consumer entry not found in group global PEL", at)
            if nack.consumer is not None:
                raise RdbError("Duplicated consumer PEL entry  loading a stream consumer group", at)
            nack.consumer = consumer
            consumer.pending.put(ident, nack)
        group.consumers[consumer.name] = consumer
    if any(nack.consumer is None for nack in group.pending.items.values()):
        raise RdbError("Stream CG PELs entries without consumers", cursor.pos)
    if name in value.groups:
        raise RdbError("Duplicated consumer group name loading stream", cursor.pos)
    value.groups[name] = group


def reader(kind: int):
    """The `kvcore.rdb` reader of one stream type: a whole stream or an RdbError, whatever the bytes."""

    def read(cursor: Cursor, config, deep: bool) -> StreamValue:
        at = cursor.pos
        try:
            value = read_stream(cursor, kind)
        except (TypeError, KeyError, AttributeError):
            raise RdbError(BAD_LISTPACK, at) from None
        if deep and value.backward_crash is not None:
            raise RdbError(BAD_LISTPACK, at, True)
        return value

    return read


READERS = {kind: reader(kind) for kind in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3)}
