"""What Redis would free in the background, counted as INFO's ``lazyfreed_objects``.

The core frees every value at once: the memory model (kvcore.eviction) has no
background to wait for, so ``lazyfree_pending_objects`` stays 0. What Redis
hands to its lazy-free thread is still counted as Redis counts it: a value
UNLINKed (or DELeted under ``lazyfree-lazy-user-del``) whose free effort is
over LAZYFREE_THRESHOLD allocations, and every key of a database FLUSHed
ASYNC (or under ``lazyfree-lazy-user-flush``).
"""

from __future__ import annotations

from kvcore.types_hash import HashValue
from kvcore.types_list import ListValue
from kvcore.types_set import SetValue
from kvcore.types_stream import StreamValue
from kvcore.types_zset import ZSetValue

LAZYFREE_THRESHOLD = 64
_PACKED = ("listpack", "intset")


def free_effort(value, config) -> int:
    """Redis 7.0's lazyfreeGetFreeEffort: about how many allocations freeing the value takes."""
    kind = type(value)
    if kind is ListValue:
        return len(value.nodes)
    if kind in (SetValue, ZSetValue, HashValue):
        return 1 if value.encoding(config) in _PACKED else len(value)
    if kind is StreamValue:
        effort = value.radix_tree_nodes()
        if value.groups:  # the first group's pending list stands for every group's
            first = next(iter(value.groups.values()))
            effort += len(value.groups) * (1 + len(first.pending))
        return effort
    return 1


def unlinked(db, keys: list[bytes]) -> None:
    """Count the live values among ``keys`` that Redis would free in the background (before they go)."""
    node = db.node
    config = node.config
    for key in dict.fromkeys(keys):
        value = db.data.get(key)
        if value is not None and not db.logically_expired(key) and free_effort(value, config) > LAZYFREE_THRESHOLD:
            node.stats.lazyfreed_objects += 1


def flushed_async(node, dbs) -> None:
    """A FLUSHDB/FLUSHALL ASYNC: every key of the flushed databases counts."""
    node.stats.lazyfreed_objects += sum(len(db.data) for db in dbs)
