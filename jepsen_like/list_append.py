"""List append, Elle-style: appends of unique values to lists, reads of whole lists.

Owns the list-append checker. Each `append` adds a value to a key's list (a
value is appended at most once per key); each `ok` read returns the whole
list. Per key, the longest read stands for the one total order of the key's
appends, and every anomaly names the operations that prove it:

- incompatible-order: a read that is not a prefix of the longest read (the two
  reads disagree about the order of appends);
- duplicate-element: a read listing one value twice;
- unexpected-element: a read holding a value no append attempted;
- aborted-read: a read holding a value whose append failed (a `fail` append
  never took effect);
- lost-append: an append acknowledged before the final read (the last `ok`
  read to complete) was invoked, missing from it.

Not checked: real-time order between operations (a read may be stale), which
a linearizable list would also promise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jepsen_like.history import HistoryError, Operation, by_key, canonical, final_read
from jepsen_like.verdict import Verdict, anomaly_counts, invalid, shown, unknown, valid

CHECKER = "list-append"
FUNCTIONS = ("append", "read")


def check(ops: Sequence[Operation]) -> Verdict:
    """Judge a list-append history; see the module docstring for the anomalies."""
    anomalies: list[dict[str, Any]] = []
    unread = []
    for key, key_ops in by_key(ops):
        appends = _appends(key_ops)
        reads = [op for op in key_ops if op.f == "read" and op.ok]
        if reads:
            anomalies += _anomalies(key, appends, reads)
        elif any(op.ok for op in appends.values()):
            unread.append(key)
    counts = anomaly_counts(anomalies)
    summary = {"keys": len({op.key for op in ops}), "anomaly_counts": counts}
    if anomalies:
        kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return invalid(CHECKER, f"anomalies: {kinds}", unread_keys=unread, **summary,
                       anomalies=shown(sorted(anomalies, key=lambda anomaly: anomaly["type"])))
    if unread:
        return unknown(CHECKER, f"{len(unread)} keys with acknowledged appends were never read",
                       unread_keys=unread, **summary)
    return valid(CHECKER, "every read is a prefix of one order of appends, and no acknowledged append is lost",
                 **summary)


def _appends(ops: list[Operation]) -> dict[str, Operation]:
    """The key's appends by canonical value; validates functions, uniqueness and read results."""
    appends: dict[str, Operation] = {}
    for op in ops:
        if op.f not in FUNCTIONS:
            raise HistoryError(op.invoke.line, f"the append workload has no function {op.f!r} (it knows append, read)")
        if op.f == "read":
            if op.ok and not isinstance(op.result, list):
                raise HistoryError(op.complete.line, f"a list read must return a list, not {op.result!r}")
            continue
        value = canonical(op.value)
        if value in appends:
            raise HistoryError(op.invoke.line, f"value {op.value!r} was already appended to key {op.key!r} "
                                               f"(line {appends[value].invoke.line}); appends must be unique")
        appends[value] = op
    return appends


def _anomalies(key: Any, appends: dict[str, Operation], reads: list[Operation]) -> list[dict[str, Any]]:
    found = []
    for read in reads:
        found += _element_anomalies(key, appends, read)
    found += _order_anomalies(key, reads)
    final = final_read(reads)
    present = {canonical(element) for element in final.result}
    for op in appends.values():
        if op.ok and op.complete.line < final.invoke.line and canonical(op.value) not in present:
            found.append({"type": "lost-append", "key": key, "value": op.value,
                          "ops": [op.to_json(), final.to_json()]})
    return found


def _element_anomalies(key: Any, appends: dict[str, Operation], read: Operation) -> list[dict[str, Any]]:
    found = []
    counts = Counter(canonical(element) for element in read.result)
    for element in read.result:
        text = canonical(element)
        source = appends.get(text)
        if counts[text] > 1:
            counts[text] = 0  # report each duplicate once
            found.append({"type": "duplicate-element", "key": key, "value": element, "ops": [read.to_json()]})
        if source is None:
            found.append({"type": "unexpected-element", "key": key, "value": element, "ops": [read.to_json()]})
        elif source.type == "fail":
            found.append({"type": "aborted-read", "key": key, "value": element,
                          "ops": [source.to_json(), read.to_json()]})
    return found


def _order_anomalies(key: Any, reads: list[Operation]) -> list[dict[str, Any]]:
    """Reads that are not a prefix of the longest read (the first longest, by completion)."""
    longest = max(sorted(reads, key=lambda op: op.complete.line), key=lambda op: len(op.result))
    order = [canonical(element) for element in longest.result]
    found = []
    for read in reads:
        seen = [canonical(element) for element in read.result]
        if seen == order[: len(seen)]:
            continue
        at = next((i for i, (a, b) in enumerate(zip(seen, order)) if a != b), min(len(seen), len(order)))
        found.append({
            "type": "incompatible-order", "key": key, "index": at,
            "values": [_at(read.result, at), _at(longest.result, at)],
            "ops": [read.to_json(), longest.to_json()],
        })
    return found


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None
