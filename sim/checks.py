"""Judging a run: each workload's checkers from jepsen_like, plus the world's own facts.

From jepsen_like: `linearizability` (register, counter), `set`, `list-append`,
`queue`, `expiry`, `cache`, `pubsub`, `bank`, `reference` and `durability`. Durability is asked about the final reads: every write
acknowledged before they began must show in them (no loss allowed), so a
write lost by a crash fails the run. A register's successful cas is a write
of its new value, and so is a swap (SET ... GET). Keys the final reader never reached make it unknown.

Local, because only the simulator knows them: `liveness` (every client served
again within the bound once the faults healed) and `client` (no reply a
correct server would not give).

Every checker returns a `jepsen_like.verdict.Verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jepsen_like import bank, cache, expiry, linearizability, list_append, pubsub, queue, reference, sets
from jepsen_like import durability as durability_checker
from jepsen_like.history import Event, Operation, pair
from jepsen_like.verdict import Verdict, invalid, unknown, valid

FINAL_PROCESS = "final"
EVIDENCE_ITEMS_MAX = 10
LINEARIZABILITY_TIME_S = 30.0


def check(checkers: Sequence[str], workload: str, ops: Sequence[Operation], time_limit_s: float,
          disruptions: Sequence[int] = (), crashes: Sequence[int] = ()) -> dict[str, Verdict]:
    """Every named checker's verdict on the operations (nemesis events already left out;
    `disruptions`: when a node may have lost its memory or its clock jumped, for `expiry` and `cache`;
    `crashes`: when a node may have lost its memory, for `reference`)."""
    verdicts = {}
    for name in checkers:
        if name == "linearizability":
            verdicts[name] = linearizability.check(ops, workload, time_limit_s=time_limit_s)
        elif name == "set":
            verdicts[name] = sets.check(ops)
        elif name == "list-append":
            verdicts[name] = list_append.check(ops)
        elif name == "durability":
            verdicts[name] = durability(ops)
        elif name == "queue":
            verdicts[name] = queue.check(ops)
        elif name == "bank":
            verdicts[name] = bank.check(ops)
        elif name == "pubsub":
            verdicts[name] = pubsub.check(ops)
        elif name == "expiry":
            verdicts[name] = expiry.check(ops, disruptions)
        elif name == "cache":
            verdicts[name] = cache.check(ops, disruptions)
        elif name == "reference":
            verdicts[name] = reference.check(ops, crashes)
        else:
            raise ValueError(f"unknown checker {name!r}")
    return verdicts


def judge_history(checkers: Sequence[str], workload: str, entries: Sequence[tuple]
                  ) -> tuple[list[Event], dict[str, int], dict[str, Verdict]]:
    """A recorded history (``(process, type, f, key, value, time_ns)`` tuples, nemesis events
    among them): its events, its operations counted by outcome, and the workload's checkers'
    verdicts, with the crashes and clock steps its nemesis events tell of."""
    events = [Event(*entry, line) for line, entry in enumerate(entries, start=1)]
    ops = pair(events)
    counts = {"ok": 0, "fail": 0, "info": 0}
    for op in ops:
        counts[op.type] += 1
    verdicts = check(checkers, workload, ops, LINEARIZABILITY_TIME_S, expiry.disruptions(events),
                     expiry.disruptions(events, clocks=False))
    return events, counts, verdicts


def durability(ops: Sequence[Operation]) -> Verdict:
    """Every write acknowledged before the final reads began is in them."""
    finals = [op for op in ops if op.process == FINAL_PROCESS and op.f == "read"]
    if not finals:
        return unknown("durability", "the run has no final reads")
    read_ns = finals[0].invoke.time
    recovered = {op.key: op.result for op in finals if op.ok}
    acknowledged, unacknowledged = durability_checker.writes_from_history(_as_writes(ops), read_ns)
    unread = sorted({write.key for write in acknowledged if write.key not in recovered})
    if unread:
        return unknown("durability", f"{len(unread)} written keys were never read at the end",
                       keys=unread[:EVIDENCE_ITEMS_MAX])
    return durability_checker.check(acknowledged, recovered, read_ns, unacknowledged=unacknowledged)


def _as_writes(ops: Sequence[Operation]) -> list[Operation]:
    """The operations, with each cas and swap as the write of its new value (a failed cas wrote nothing)."""
    out = []
    for op in ops:
        if op.f == "cas" and op.type != "fail":
            op = Operation(op.process, "write", op.key, op.value[1], op.type, op.result, op.invoke, op.complete)
        elif op.f == "swap":
            op = Operation(op.process, "write", op.key, op.value, op.type, op.result, op.invoke, op.complete)
        out.append(op)
    return out


def liveness(served: dict[str, int | None], bound_ms: int, refusals: dict[str, str | None]) -> Verdict:
    """Every client completed an operation within `bound_ms` of the heal (ms it took, None: never).

    Unknown when every late client's operations were still being refused with
    -MISCONF (``refusals``: each client's last refusal): a primary whose last
    background save failed refuses writes until a save succeeds, and nothing
    retries it before a save point is due, so redis-server would not serve them either.
    """
    late = [client for client, took in served.items() if took is None]
    if late and all((refusals.get(client) or "").startswith("MISCONF") for client in late):
        return unknown("liveness", f"{len(late)} clients were refused with -MISCONF after the heal (their "
                       "primary's last background save failed)", clients=late, bound_ms=bound_ms)
    if late:
        return invalid("liveness", f"{len(late)} clients were not served within {bound_ms} ms of the heal",
                       clients=late, bound_ms=bound_ms)
    slowest = max(served.values(), default=0)
    return valid("liveness", f"every client served within {slowest} ms of the heal", slowest_ms=slowest)


def client_anomalies(anomalies: list[dict[str, Any]]) -> Verdict:
    """Replies no correct server gives: wrong types, stray errors, replies to nothing."""
    if anomalies:
        return invalid("client", f"{len(anomalies)} replies no correct server gives; first: {anomalies[0]['what']}",
                       anomalies=anomalies[:EVIDENCE_ITEMS_MAX])
    return valid("client", "every reply fit its request")
