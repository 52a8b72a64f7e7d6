"""Expiry: a value is served exactly until its deadline, with the TTL it was given.

Owns the expiry checker. Each write puts a unique element with a TTL; the
server's clock is read in the same transaction as every operation, so each
completed operation knows the server time it ran at (milliseconds), and each
acknowledged write its deadline ``at + ttl``. Redis's rule: a key lives while
``now <= deadline`` (keyIsExpired: expired when now > when).

History (functions ``write``, ``read`` and ``replica-read``):

- write: invoked with ``[element, ttl_ms]``; its ``ok`` carries
  ``[element, ttl_ms, at_ms]``. A ``ttl_ms`` of -1 is a write that leaves the
  key without a TTL (a plain SET, GETSET, MSET, or PERSIST after it), whatever TTL the
  key had: its element lives until overwritten.
- watched-write: a write with a TTL made in MULTI/EXEC under a WATCH of the key;
  its ``ok`` also carries when the WATCH was made and the key's PTTL then
  (``[element, ttl_ms, at_ms, watched_at_ms, watched_pttl_ms]``). A failed one
  (its EXEC aborted) wrote nothing.
- read: its ``ok`` carries ``[element or null, pttl_ms, at_ms]`` (GET and PTTL).
- replica-read: a read from a replica, which may lag behind its primary (so a
  missing or older element is no anomaly), but judges deadlines by its own clock
  as the primary does: an element it serves is judged as a read's is.

Anomalies, per key:

- stale: a read returned an element after its write's deadline;
- wrong ttl: a read's PTTL differs from the deadline of the element it
  returned (``at + pttl != deadline``), says the key has none (-1) when its
  write gave it one or one when its write left it none, or no key (-2) beside
  an element;
- unexpected: a read returned an element no write attempted;
- exec after expiry: a watched write's EXEC ran although the key it watched
  expired in between (its deadline then was before the EXEC's time): Redis 7.0
  aborts such an EXEC;
- early: a read found no key although a write acknowledged before the read
  began was still within its deadline (or had none), no other write could have come
  between them, and no disruption (`disruptions`) came between them either.

Times in `disruptions` are the history's (nanoseconds): a node may have lost
its memory then (kill, power loss, a disk fault), or its clock jumped (a key
expired by a clock stepped forward stays gone when the clock steps back).
The checker cannot tell which node a key lived on, so any disruption between
a write and a read excuses a missing key. Stale reads and wrong TTLs need no
such excuse: they are judged by the server's own clock at the read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

from jepsen_like.history import NEMESIS, Event, HistoryError, Operation, by_key, canonical
from jepsen_like.verdict import Verdict, invalid, valid

CHECKER = "expiry"
FUNCTIONS = ("write", "watched-write", "read", "replica-read")
WRITES = ("write", "watched-write")
# Nemesis events after which a node may have lost its memory; or, after a failover, the primary is a
# former replica, which Redis 7.0 lets differ where it replicates nothing (a consumer made by an
# XREADGROUP that delivered nothing, delivery counts: see sim.dataset); or keys moved to another
# shard (a reshard's MIGRATE) with deadlines later by the transfer's time, as Redis's MIGRATE sends
# what is left of a TTL, not its deadline (the reference checker's concern: the expiry workload is
# not resharded, sim.nemesis).
CRASH_FAULTS = ("kill", "power", "disk", "failover", "reshard")
CLOCK_FAULTS = ("clock",)  # nemesis events that step a node's clock, at their start and at their end
NO_TTL, NO_KEY = -1, -2
FOREVER = 2**63  # the deadline of a write that left its key no TTL: later than any server time
SHOWN_MAX = 20  # anomalies listed per kind


def disruptions(events: Iterable[Event], clocks: bool = True) -> list[int]:
    """When a node may have lost its memory (a crash-like fault starts) or, with `clocks`, its clock jumped."""
    times = []
    for event in events:
        if event.process != NEMESIS:
            continue
        starts = str((event.value or {}).get("event", "")).startswith("start")
        if (clocks and event.f in CLOCK_FAULTS) or (event.f in CRASH_FAULTS and starts):
            times.append(event.time)
    return sorted(times)


def check(ops: Sequence[Operation], disruptions: Sequence[int] = ()) -> Verdict:
    """Judge an expiry history; `disruptions`: sorted times at which a node may have lost its
    data or its clock jumped (`disruptions()` finds them among a history's nemesis events)."""
    found: dict[str, list[dict[str, Any]]] = {"stale": [], "wrong_ttl": [], "unexpected": [], "early": [],
                                              "exec_after_expiry": []}
    reads = 0
    for key, key_ops in by_key(ops):
        _validate(key_ops)
        writes = [op for op in key_ops if op.f in WRITES]
        for write in writes:
            if write.f == "watched-write" and write.ok:
                _, _, at, watched_at, watched_pttl = write.result
                if watched_pttl >= 0 and at > watched_at + watched_pttl:
                    found["exec_after_expiry"].append({"key": key, "deadline_ms": watched_at + watched_pttl,
                                                       "exec_at_ms": at, "write": write.to_json()})
        key_reads = [op for op in key_ops if op.f in ("read", "replica-read") and op.ok]
        reads += len(key_reads)
        by_element = {canonical(op.value[0]): op for op in writes if op.type != "fail"}
        for read in key_reads:
            element, pttl, at = read.result
            if element is None:
                if read.f == "read":
                    _judge_missing(key, read, writes, disruptions, found)
            else:
                _judge_served(key, read, by_element.get(canonical(element)), found)
    summary = {"keys": len({op.key for op in ops}), "reads": reads}
    problems = {kind: items[:SHOWN_MAX] for kind, items in found.items() if items}
    if problems:
        counts = ", ".join(f"{len(found[kind])} {kind.replace('_', ' ')}" for kind in problems)
        return invalid(CHECKER, f"reads that break expiry: {counts}", **problems, **summary)
    return valid(CHECKER, f"all {reads} reads agree with their writes' deadlines", **summary)


def deadline(write: Operation) -> int | None:
    """The server time (ms) up to which an acknowledged write's element lives (`FOREVER` for a
    write that left the key no TTL); None if unknown."""
    if not write.ok:
        return None
    _, ttl, at = write.result[:3]
    return FOREVER if ttl == NO_TTL else at + ttl


def _judge_served(key: Any, read: Operation, write: Operation | None, found: dict) -> None:
    element, pttl, at = read.result
    if write is None:
        found["unexpected"].append({"key": key, "read": read.to_json()})
        return
    persistent = write.value[1] == NO_TTL
    if pttl == NO_KEY or (pttl == NO_TTL) != persistent:
        found["wrong_ttl"].append({"key": key, "pttl": pttl, "read": read.to_json(), "write": write.to_json()})
        return
    if persistent:
        return
    due = deadline(write)
    if due is None:
        return  # the write's outcome is unknown: so is its deadline
    if at > due:
        found["stale"].append({"key": key, "deadline_ms": due, "read_at_ms": at,
                               "read": read.to_json(), "write": write.to_json()})
    elif at + pttl != due:
        found["wrong_ttl"].append({"key": key, "deadline_ms": due, "read_at_ms": at, "pttl": pttl,
                                   "read": read.to_json(), "write": write.to_json()})


def _judge_missing(key: Any, read: Operation, writes: list[Operation], disruptions: Sequence[int],
                   found: dict) -> None:
    """A read found no key: wrong if the one write that must have come last before it was still live."""
    _, _, at = read.result
    before = [op for op in writes if op.ok and op.complete.time < read.invoke.time]
    if not before:
        return
    last = max(before, key=lambda op: op.complete.time)
    rivals = [op for op in writes if op is not last and op.type != "fail"
              and op.invoke.time < read.complete.time
              and (not op.ok or op.complete.time > last.invoke.time)]
    if rivals:
        return  # another write may have come between them, with a shorter TTL (one of unknown outcome may land any time)
    if disrupted_between(disruptions, last.invoke.time, read.complete.time):
        return
    due = deadline(last)
    if at <= due:
        found["early"].append({"key": key, "deadline_ms": None if due == FOREVER else due, "read_at_ms": at,
                               "read": read.to_json(), "write": last.to_json()})


def disrupted_between(disruptions: Sequence[int], start: int, end: int) -> bool:
    """Whether a time in the sorted `disruptions` falls within [start, end]."""
    index = bisect_left(disruptions, start)
    return index < len(disruptions) and disruptions[index] <= end


def _validate(ops: list[Operation]) -> None:
    for op in ops:
        if op.f not in FUNCTIONS:
            raise HistoryError(op.invoke.line, f"the expiry workload has no function {op.f!r} "
                                               f"(it knows {', '.join(FUNCTIONS)})")
        if op.f in WRITES and not (isinstance(op.value, list) and len(op.value) == 2
                                    and isinstance(op.value[1], int) and (op.value[1] > 0 or op.value[1] == NO_TTL)):
            raise HistoryError(op.invoke.line, f"an expiry write is invoked with [element, ttl_ms] (ttl_ms > 0, or "
                                               f"-1 for none), not {op.value!r}")
        size, shape = (5, "[element, ms, at_ms, watched_at_ms, watched_pttl_ms]") if op.f == "watched-write" \
            else (3, "[element, ms, at_ms]")
        if op.ok and not (isinstance(op.result, list) and len(op.result) == size
                          and all(isinstance(item, int) for item in op.result[1:])):
            raise HistoryError(op.complete.line, f"an expiry {op.f} must complete with {shape}, not {op.result!r}")
