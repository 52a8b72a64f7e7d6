"""Durability: which acknowledged writes a crash lost, and when they were acknowledged.

Owns the durability checker. The input is the writes acknowledged before the
crash (each with its start and acknowledgement times), optionally the writes
attempted but never acknowledged, the crash time, and the state read after
recovery (key -> value). Which writes are lost:

- kind "write" (a register): if the key holds the value of acknowledged
  write A (the latest acknowledged, if several wrote that value), the writes
  that started after A was acknowledged are lost (A came before them); if it
  holds the value of an unacknowledged write, none is lost (that one may have
  come last); otherwise (absent, or a value nobody wrote) all are lost.
- kind "add" or "append" (a collection): its value is in the key's collection.

The verdict is valid when every lost write was acknowledged within
`allowed_loss_ns` before the crash (0: no loss at all). Evidence lists the lost
writes and the window of acknowledgement times they came from, so a caller can
assert "no loss" or "loss only within the last N ms before the crash".
Values are compared as canonical JSON, so 1 and true differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jepsen_like.history import Operation, canonical
from jepsen_like.verdict import Verdict, invalid, valid

CHECKER = "durability"
KINDS = ("write", "add", "append")
SHOWN_MAX = 100


@dataclass(frozen=True)
class Write:
    """A write as durability sees it; `ack_ns` is None if it was never acknowledged."""

    key: Any
    value: Any
    start_ns: int
    ack_ns: int | None
    kind: str = "write"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "kind": self.kind,
                "start_ns": self.start_ns, "ack_ns": self.ack_ns}


def writes_from_history(ops: Sequence[Operation], crash_ns: int) -> tuple[list[Write], list[Write]]:
    """Split a history's writes (write, add, append) into acknowledged before the
    crash and attempted but not acknowledged before it. Failed writes are neither."""
    acknowledged, unacknowledged = [], []
    for op in ops:
        if op.f not in KINDS or op.type == "fail" or op.invoke.time > crash_ns:
            continue
        if op.ok and op.complete.time <= crash_ns:
            acknowledged.append(Write(op.key, op.value, op.invoke.time, op.complete.time, op.f))
        else:
            unacknowledged.append(Write(op.key, op.value, op.invoke.time, None, op.f))
    return acknowledged, unacknowledged


def check(
    acknowledged: Iterable[Write], recovered: Mapping[Any, Any], crash_ns: int, *,
    unacknowledged: Iterable[Write] = (), allowed_loss_ns: int = 0,
) -> Verdict:
    """List the acknowledged writes the recovered state lost; valid if all are recent enough."""
    acknowledged = list(acknowledged)
    _validate(acknowledged, crash_ns)
    maybe = {(write.key, canonical(write.value)) for write in unacknowledged}
    lost = sorted(_lost(acknowledged, recovered, maybe), key=lambda write: (write.ack_ns, write.start_ns))
    too_old = [write for write in lost if write.ack_ns < crash_ns - allowed_loss_ns]
    evidence = {
        "acknowledged": len(acknowledged), "lost_count": len(lost), "too_old_count": len(too_old),
        "crash_ns": crash_ns, "allowed_loss_ns": allowed_loss_ns,
        "lost": [write.to_json() for write in lost[:SHOWN_MAX]],
        "window": _window(lost, crash_ns),
    }
    if too_old:
        oldest = crash_ns - too_old[0].ack_ns
        return invalid(CHECKER, f"{len(lost)} acknowledged writes lost; the oldest was acknowledged "
                                f"{oldest} ns before the crash (allowed: {allowed_loss_ns} ns)", **evidence)
    if lost:
        return valid(CHECKER, f"{len(lost)} acknowledged writes lost, all within the allowed "
                              f"{allowed_loss_ns} ns before the crash", **evidence)
    return valid(CHECKER, f"all {len(acknowledged)} acknowledged writes survived", **evidence)


def _validate(writes: list[Write], crash_ns: int) -> None:
    for write in writes:
        if write.kind not in KINDS:
            raise ValueError(f"unknown write kind {write.kind!r} (known: {', '.join(KINDS)})")
        if write.ack_ns is None or write.ack_ns > crash_ns or write.start_ns > write.ack_ns:
            raise ValueError(f"an acknowledged write needs start_ns <= ack_ns <= crash_ns: {write}")


def _window(lost: list[Write], crash_ns: int) -> dict[str, int] | None:
    if not lost:
        return None
    first, last = lost[0].ack_ns, max(write.ack_ns for write in lost)
    return {"first_ack_ns": first, "last_ack_ns": last, "oldest_before_crash_ns": crash_ns - first}


def _lost(writes: list[Write], recovered: Mapping[Any, Any], maybe: set[tuple[Any, str]]) -> list[Write]:
    lost = []
    registers: dict[Any, list[Write]] = {}
    for write in writes:
        if write.kind == "write":
            registers.setdefault(write.key, []).append(write)
        elif not _contains(recovered.get(write.key), write.value):
            lost.append(write)
    for key, history in registers.items():
        lost += _lost_register(history, key in recovered, recovered.get(key), maybe)
    return lost


def _contains(collection: Any, value: Any) -> bool:
    if not isinstance(collection, (list, tuple, set, frozenset)):
        return False
    wanted = canonical(value)
    return any(canonical(element) == wanted for element in collection)


def _lost_register(writes: list[Write], present: bool, value: Any, maybe: set[tuple[Any, str]]) -> list[Write]:
    """The acknowledged writes to one register that its recovered value shows lost."""
    held = canonical(value)
    if present and (writes[0].key, held) in maybe:
        return []  # an unacknowledged write may have come last
    matches = [write for write in writes if present and canonical(write.value) == held]
    if not matches:
        return writes
    survivor = max(matches, key=lambda write: write.ack_ns)
    return [write for write in writes if write.start_ns > survivor.ack_ns]
