"""Sets: every acknowledged add survives into the final read, and nothing else appears.

Owns the set checker (Jepsen's `set` workload: `add` an element, then read
the whole set). Per key, the final read is the last `ok` read to complete; it
returns a list. Then:

- lost: an add acknowledged (`ok`) before the final read was invoked is
  missing from it;
- unexpected: an element of the final read that no add attempted;
- failed but present: an element whose every add failed (a `fail` add never
  took effect);
- duplicated: an element listed twice by the final read.

Adds still running when the final read started, and `info` adds, may be
present or not; the `info` ones that are present are counted as recovered.
Elements are compared as canonical JSON, so 1 and true differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jepsen_like.history import HistoryError, Operation, by_key, canonical, final_read
from jepsen_like.verdict import Verdict, invalid, unknown, valid

CHECKER = "set"
FUNCTIONS = ("add", "read")
SHOWN_MAX = 100  # elements or operations listed per anomaly and key


def check(ops: Sequence[Operation]) -> Verdict:
    """Judge a set history: lost, unexpected, failed-but-present and duplicated elements."""
    problems, unread, acked = [], [], 0
    for key, key_ops in by_key(ops):
        _validate(key_ops)
        adds = [op for op in key_ops if op.f == "add"]
        acked += sum(1 for op in adds if op.ok)
        final = final_read(key_ops)
        if final is None:
            if any(op.ok for op in adds):
                unread.append(key)
            continue
        found = _judge_key(key, adds, final)
        if found is not None:
            problems.append(found)
    summary = {"keys": len({op.key for op in ops}), "acknowledged_adds": acked}
    if problems:
        lost = sum(problem["lost_count"] for problem in problems)
        return invalid(CHECKER, f"anomalies on {len(problems)} of {summary['keys']} keys; "
                                f"{lost} acknowledged adds lost", problems=problems, unread_keys=unread, **summary)
    if unread:
        return unknown(CHECKER, f"{len(unread)} keys with acknowledged adds have no final read",
                       unread_keys=unread, **summary)
    return valid(CHECKER, f"all {acked} acknowledged adds are in the final reads", **summary)


def _validate(ops: list[Operation]) -> None:
    for op in ops:
        if op.f not in FUNCTIONS:
            raise HistoryError(op.invoke.line, f"the set workload has no function {op.f!r} (it knows add, read)")
        if op.f == "read" and op.ok and not isinstance(op.result, list):
            raise HistoryError(op.complete.line, f"a set read must return a list, not {op.result!r}")


def _judge_key(key: Any, adds: list[Operation], final: Operation) -> dict[str, Any] | None:
    """The anomalies of one key against its final read, or None if there are none."""
    present = Counter(canonical(element) for element in final.result)
    attempts: dict[str, list[Operation]] = {}
    for op in adds:
        if op.invoke.line < final.complete.line:
            attempts.setdefault(canonical(op.value), []).append(op)
    lost = [op for op in adds if op.ok and op.complete.line < final.invoke.line
            and canonical(op.value) not in present]
    unexpected = [element for element in final.result if canonical(element) not in attempts]
    failed = [ops[0] for element, ops in attempts.items()
              if element in present and all(op.type == "fail" for op in ops)]
    duplicated = [element for element in _unique(final.result) if present[canonical(element)] > 1]
    if not (lost or unexpected or failed or duplicated):
        return None
    recovered = sum(1 for element, ops in attempts.items()
                    if element in present and any(op.type == "info" for op in ops) and not any(op.ok for op in ops))
    return {
        "key": key,
        "final_read": final.to_json(),
        "lost_count": len(lost),
        "lost": [op.to_json() for op in lost[:SHOWN_MAX]],
        "unexpected": unexpected[:SHOWN_MAX],
        "failed_but_present": [op.to_json() for op in failed[:SHOWN_MAX]],
        "duplicated": duplicated[:SHOWN_MAX],
        "recovered_count": recovered,
    }


def _unique(elements: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for element in elements:
        text = canonical(element)
        if text not in seen:
            seen.add(text)
            out.append(element)
    return out
