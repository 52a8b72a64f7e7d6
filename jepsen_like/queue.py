"""Queues: every element enqueued comes out once, in the order it went in.

Owns the queue checker (Jepsen's total queue, plus FIFO order). Per key,
`enqueue` puts a unique element at the tail; an `ok` `dequeue` returns the
element it took from the head, or null for an empty queue; the final `read`
(the last `ok` read to complete) returns what is left, head first. Anomalies:

- unexpected: an element dequeued or left that no enqueue attempted, or whose
  every enqueue failed;
- duplicated: an element dequeued twice, or dequeued before the final read
  began and still listed by it;
- lost: enqueues acknowledged before the final read began whose elements were
  neither dequeued nor left, more of them than the dequeues of unknown outcome
  (each may have taken one and its reply never arrived);
- reordered: of two enqueues one after the other in real time, the later
  element came out first: dequeued by a dequeue that ended before the one
  that took the earlier element began, or dequeued while the earlier one was
  still there at the end, or listed before it by the final read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jepsen_like.history import HistoryError, Operation, by_key, canonical, final_read
from jepsen_like.verdict import Verdict, invalid, unknown, valid

CHECKER = "queue"
FUNCTIONS = ("enqueue", "dequeue", "read")
SHOWN_MAX = 20  # items listed per anomaly and key


def check(ops: Sequence[Operation]) -> Verdict:
    """Judge a queue history; see the module docstring for the anomalies."""
    problems, unread, acked = [], [], 0
    for key, key_ops in by_key(ops):
        _validate(key_ops)
        enqueues = [op for op in key_ops if op.f == "enqueue"]
        acked += sum(1 for op in enqueues if op.ok)
        final = final_read(key_ops)
        if final is None:
            if any(op.ok for op in enqueues):
                unread.append(key)
            continue
        found = _judge_key(enqueues, [op for op in key_ops if op.f == "dequeue"], final)
        if found:
            problems.append({"key": key, **found})
    summary = {"keys": len({op.key for op in ops}), "acknowledged_enqueues": acked}
    if problems:
        kinds = sorted({kind for problem in problems for kind in problem if kind != "key"})
        return invalid(CHECKER, f"{', '.join(kinds)} on {len(problems)} of {summary['keys']} keys",
                       problems=problems, unread_keys=unread, **summary)
    if unread:
        return unknown(CHECKER, f"{len(unread)} keys with acknowledged enqueues have no final read",
                       unread_keys=unread, **summary)
    return valid(CHECKER, f"all {acked} acknowledged enqueues came out once, in order, or are left", **summary)


def _judge_key(enqueues: list[Operation], dequeues: list[Operation], final: Operation) -> dict[str, Any]:
    found: dict[str, Any] = {}
    attempts: dict[str, list[Operation]] = {}
    for op in enqueues:
        attempts.setdefault(canonical(op.value), []).append(op)
    taken = [op for op in dequeues if op.ok and op.result is not None]
    taken_by = {}
    for op in taken:
        taken_by.setdefault(canonical(op.result), []).append(op)
    left = [canonical(element) for element in final.result]
    left_set = set(left)

    unexpected = [element for element in [*taken_by, *left]
                  if all(op.type == "fail" for op in attempts.get(element, ()))]
    if unexpected:
        found["unexpected"] = unexpected[:SHOWN_MAX]
    duplicated = [element for element, ops in taken_by.items() if len(ops) > 1]
    duplicated += [element for element, count in Counter(left).items() if count > 1]
    duplicated += [element for element, ops in taken_by.items() if element in left_set
                   and any(op.complete.time < final.invoke.time for op in ops)]
    if duplicated:
        found["duplicated"] = sorted(set(duplicated))[:SHOWN_MAX]
    missing = [op for op in enqueues if op.ok and op.complete.time < final.invoke.time
               and canonical(op.value) not in taken_by and canonical(op.value) not in left_set]
    unknown_dequeues = sum(1 for op in dequeues if op.type == "info")
    if len(missing) > unknown_dequeues:
        found["lost"] = [op.to_json() for op in missing[:SHOWN_MAX]]
        found["lost_count"] = len(missing)
        found["dequeues_of_unknown_outcome"] = unknown_dequeues
    reordered = _reordered(enqueues, taken_by, left, final)
    if reordered:
        found["reordered"] = reordered[:SHOWN_MAX]
    return found


def _reordered(enqueues: list[Operation], taken_by: dict[str, list[Operation]], left: list[str],
               final: Operation) -> list[dict[str, Any]]:
    """Pairs of enqueues ordered in real time whose elements came out in the other order."""
    done = sorted((op for op in enqueues if op.ok), key=lambda op: op.complete.time)
    position = {element: index for index, element in enumerate(left)}
    found = []
    for earlier in done:
        first = canonical(earlier.value)
        for later in enqueues:
            if later.invoke.time <= earlier.complete.time or later.type == "fail":
                continue
            second = canonical(later.value)
            if _came_out_first(second, first, taken_by, position, final):
                found.append({"earlier": earlier.to_json(), "later": later.to_json()})
                if len(found) >= SHOWN_MAX:
                    return found
    return found


def _came_out_first(second: str, first: str, taken_by: dict[str, list[Operation]], position: dict[str, int],
                    final: Operation) -> bool:
    """Whether `second` certainly left the queue before `first` (which went in before it)."""
    second_out = taken_by.get(second, ())
    first_out = taken_by.get(first, ())
    if any(b.complete.time < a.invoke.time for b in second_out for a in first_out):
        return True
    if first in position:
        if second in position:
            return position[second] < position[first]
        return any(b.complete.time < final.invoke.time for b in second_out)
    return False


def _validate(ops: list[Operation]) -> None:
    for op in ops:
        if op.f not in FUNCTIONS:
            raise HistoryError(op.invoke.line, f"the queue workload has no function {op.f!r} "
                                               f"(it knows enqueue, dequeue, read)")
        if op.f == "read" and op.ok and not isinstance(op.result, list):
            raise HistoryError(op.complete.line, f"a queue read must return a list, not {op.result!r}")
