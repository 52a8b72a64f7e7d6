"""Cache: keys under ``maxmemory`` go only as the eviction policy allows, and memory stays bounded.

Owns the cache checker. Each write puts a unique element in a key, with a TTL
far in the future (``volatile``) or none, and reads the server's memory
figures right after it (INFO memory, pipelined behind the write: the server
evicts before every command, so these are the figures after eviction). Each
key is used by one process at a time, so its operations are judged in order:
what a read may return is what the key may hold by then.

History (functions ``write`` and ``read``):

- write: invoked with ``[element, volatile]``; its ``ok`` carries
  ``[used_memory, maxmemory, maxmemory_policy]``. A refused write (OOM) fails.
- read: its ``ok`` carries the element read, or null (no key).

Anomalies, per key:

- lost: a read found no key where the key held a value the policy may not
  evict (``noeviction``; a key without TTL under a ``volatile-*`` policy), and
  no crash (`disruptions`) came since it was written;
- stale: a read returned an element the key held once but no longer can (a
  later write, or an eviction seen, replaced it), and no crash came since
  (a node restarted from an older snapshot holds older values);
- unexpected: a read returned an element no write to the key attempted, or
  one whose write failed (refused writes must leave nothing);
- over memory: a write's ``used_memory`` exceeds ``maxmemory`` by more than
  `OVER_MAX_BYTES` (room for the write itself and the clients' buffers: the
  server evicts before each command, and refuses writes it cannot make room for).

The policies in force are those the writes report; a key may be evicted under
any of them that allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jepsen_like.expiry import disrupted_between
from jepsen_like.history import HistoryError, Operation, by_key, canonical
from jepsen_like.verdict import Verdict, invalid, unknown, valid

CHECKER = "cache"
FUNCTIONS = ("write", "read")
OVER_MAX_BYTES = 16 * 1024
SHOWN_MAX = 20  # anomalies listed per kind
ABSENT = "null"  # canonical(None): the key holds nothing


def evicts(policy: str, volatile: bool) -> bool:
    """Whether ``policy`` may evict a key holding a value written with (``volatile``) or without a TTL."""
    return policy.startswith("allkeys-") or (policy.startswith("volatile-") and volatile)


def check(ops: Sequence[Operation], disruptions: Sequence[int] = ()) -> Verdict:
    """Judge a cache history; `disruptions`: sorted times at which a node may have lost its data
    (`jepsen_like.expiry.disruptions` finds them among a history's nemesis events)."""
    for op in ops:
        _validate(op)
    writes = [op for op in ops if op.f == "write" and op.ok]
    if not writes:
        return unknown(CHECKER, "no write succeeded: the server's policy and memory were never seen")
    policies = sorted({op.result[2] for op in writes})
    found: dict[str, list[dict[str, Any]]] = {"lost": [], "stale": [], "unexpected": [], "over_memory": []}
    for op in writes:
        used, maxmemory, _ = op.result
        if maxmemory and used > maxmemory + OVER_MAX_BYTES:
            found["over_memory"].append({"used_memory": used, "maxmemory": maxmemory, "write": op.to_json()})
    reads = 0
    for key, key_ops in by_key(ops):
        reads += _judge_key(key, sorted(key_ops, key=lambda op: op.invoke.time), policies, disruptions, found)
    summary = {"keys": len({op.key for op in ops}), "reads": reads, "writes": len(writes), "policies": policies}
    problems = {kind: items[:SHOWN_MAX] for kind, items in found.items() if items}
    if problems:
        counts = ", ".join(f"{len(found[kind])} {kind.replace('_', ' ')}" for kind in problems)
        return invalid(CHECKER, f"a cache that breaks its policy: {counts}", **problems, **summary)
    return valid(CHECKER, f"all {reads} reads fit their writes and {', '.join(policies)}; "
                          f"memory within maxmemory after all {len(writes)} writes", **summary)


def _judge_key(key: Any, ops: list[Operation], policies: list[str], disruptions: Sequence[int],
               found: dict) -> int:
    """Walk one key's operations in order; the number of reads judged."""
    volatile: dict[str, bool] = {}  # element -> written with a TTL
    failed: set[str] = set()
    held = {ABSENT}  # what the key may hold now
    pending: set[str] = set()  # elements of writes whose outcome is unknown: they may land any time
    since = 0  # when the key last became what `held` says (a crash since excuses a loss)
    reads = 0
    for op in ops:
        if op.f == "write":
            element = canonical(op.value[0])
            volatile[element] = bool(op.value[1])
            if op.ok:
                held, since = {element}, op.invoke.time
            elif op.type == "fail":
                failed.add(element)
            else:
                pending.add(element)
            continue
        if not op.ok:
            continue
        reads += 1
        seen = canonical(op.result)
        evidence = {"key": key, "read": op.to_json()}
        if seen == ABSENT:
            evictable = any(evicts(policy, volatile.get(element, False)) for policy in policies
                            for element in held | pending if element != ABSENT)
            if ABSENT not in held and not evictable and not disrupted_between(disruptions, since, op.complete.time):
                found["lost"].append({**evidence, "held": sorted(held), "policies": policies})
        elif seen not in held and seen not in pending:
            if seen not in volatile or seen in failed:
                found["unexpected"].append({**evidence, "held": sorted(held)})
            elif not disrupted_between(disruptions, since, op.complete.time):
                found["stale"].append({**evidence, "held": sorted(held)})
        pending.discard(seen)
        held, since = {seen}, op.invoke.time
    return reads


def _validate(op: Operation) -> None:
    if op.f not in FUNCTIONS:
        raise HistoryError(op.invoke.line, f"the cache workload has no function {op.f!r} (it knows write, read)")
    if op.f == "write" and not (isinstance(op.value, list) and len(op.value) == 2):
        raise HistoryError(op.invoke.line, f"a cache write is invoked with [element, volatile], not {op.value!r}")
    if op.f == "write" and op.ok and not (
            isinstance(op.result, list) and len(op.result) == 3 and isinstance(op.result[0], int)
            and isinstance(op.result[1], int) and isinstance(op.result[2], str)):
        raise HistoryError(op.complete.line, "a cache write must complete with [used_memory, maxmemory, policy], "
                                             f"not {op.result!r}")
