"""MEMORY USAGE: the bytes Redis 7.0's objectComputeSize reckons a key and its value take.

Its figures are allocations: jemalloc's size class of each struct, string and
listpack (kvcore.allocation). Where Redis samples (a list's quicklist nodes, a
hashtable's entries, a skiplist's nodes) it averages the first ``samples`` and
multiplies by the count, in C doubles: so does this. Exact for strings (but
for the room an in-place change leaves an sds to grow into), listpacks,
intsets and a list's quicklist nodes (kvcore.types_list); a
JSON document counts as RedisJSON's JSON.DEBUG MEMORY. A dict's slot count is
the table Redis would have settled on, and a skiplist node is counted at
level 1 (Redis draws its levels at random).
"""

from __future__ import annotations

from itertools import islice

from kvcore import intset, listpack, rdb
from kvcore.allocation import ROBJ_BYTES, allocation, sds_bytes
from kvcore.commands.json import JsonValue
from kvcore.commands.json import memory_usage as json_memory
from kvcore.commands.keys import string_encoding
from kvcore.dict_model import table_size
from kvcore.types_hash import HashValue
from kvcore.types_list import SIZE, ListValue
from kvcore.types_set import SetValue
from kvcore.types_zset import ZSetValue

DEFAULT_SAMPLES = 5  # OBJ_COMPUTE_SIZE_DEF_SAMPLES
DICT_ENTRY_BYTES = 24
POINTER_BYTES = 8
DICT_BYTES = 56
QUICKLIST_BYTES = 40
QUICKLIST_NODE_BYTES = 40
ZSET_BYTES = 16  # the struct holding a skiplist set's dict and skiplist
ZSKIPLIST_BYTES = 32
SKIPLIST_NODE_BYTES = 24  # member, score and backward pointer, before the levels
SKIPLIST_LEVEL_BYTES = 16
SKIPLIST_MAX_LEVEL = 32  # the header node has them all


def key_usage(db, key: bytes, value, config, samples: int = DEFAULT_SAMPLES) -> int:
    """MEMORY USAGE key [SAMPLES samples] (0: every element): the value, the key's sds and its dict entry."""
    form = db.raw_strings.get(key)
    return DICT_ENTRY_BYTES + sds_bytes(len(key)) + value_usage(value, config, samples or 2**63 - 1, form)


def value_usage(value, config, samples: int, form: str | None = None) -> int:
    """objectComputeSize; ``form``: a string's encoding when its history set it (`Database.raw_strings`)."""
    kind = type(value)
    if kind is bytes:
        encoding = string_encoding(value, form)
        if encoding == "int":
            return ROBJ_BYTES
        if encoding == "embstr":
            return allocation(ROBJ_BYTES + 3 + len(value) + 1)
        return ROBJ_BYTES + sds_bytes(len(value))
    if kind is ListValue:
        sizes = (QUICKLIST_NODE_BYTES + allocation(node[SIZE]) for node in value.nodes)
        return _sampled(ROBJ_BYTES + QUICKLIST_BYTES, sizes, len(value.nodes), samples)
    if kind is HashValue:
        if not value.hashtable:
            parts = (part for pair in value.items() for part in pair)
            return ROBJ_BYTES + _listpack_allocation(sum(map(listpack.entry_size, parts)))
        sizes = (DICT_ENTRY_BYTES + sds_bytes(len(field)) + sds_bytes(len(item)) for field, item in value.items())
        return _sampled(_dict_base(table_size(len(value))), sizes, len(value), samples)
    if kind is SetValue:
        if value.intset:
            return ROBJ_BYTES + allocation(len(intset.encode(sorted(map(int, value.seq)), value.intset_width)))
        slots = value.table.size + value.table.target if value.table is not None else table_size(len(value))
        sizes = (DICT_ENTRY_BYTES + sds_bytes(len(member)) for member in value)
        return _sampled(_dict_base(slots), sizes, len(value), samples)
    if kind is ZSetValue:
        if value.listpack:
            entries = (listpack.encode_entry(part) for score, member in value.order
                       for part in (member, rdb.listpack_score_entry(score)))
            return ROBJ_BYTES + _listpack_allocation(sum(map(len, entries)))
        header = allocation(SKIPLIST_NODE_BYTES + SKIPLIST_MAX_LEVEL * SKIPLIST_LEVEL_BYTES)
        base = _dict_base(table_size(len(value))) + ZSET_BYTES + ZSKIPLIST_BYTES + header
        node = allocation(SKIPLIST_NODE_BYTES + SKIPLIST_LEVEL_BYTES)
        sizes = (sds_bytes(len(member)) + DICT_ENTRY_BYTES + node for _, member in value.order)
        return _sampled(base, sizes, len(value), samples)
    if kind is JsonValue:
        return json_memory(value.root)  # a module type's own figure (RedisJSON's), with no object header
    return value.memory_usage()  # streams and corrupt payloads reckon their own


def _listpack_allocation(entry_bytes: int) -> int:
    """A listpack is reallocated to its exact size at each change: the class of its header, entries and end."""
    return allocation(listpack.HEADER_SIZE + entry_bytes + 1)


def _dict_base(slots: int) -> int:
    return ROBJ_BYTES + DICT_BYTES + POINTER_BYTES * slots


def _sampled(base: int, sizes, count: int, samples: int) -> int:
    """``asize += (double)elesize/samples*count``: the first ``samples`` sizes averaged over all ``count``."""
    taken = list(islice(sizes, samples))
    if not taken:
        return base
    return int(base + sum(taken) / len(taken) * count)
