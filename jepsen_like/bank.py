"""Bank: transfers between accounts never create or destroy money.

Owns the bank checker (Jepsen's bank test, with signed balances). Per key (a
bank), ``transfer`` operations move an amount between two of its accounts and
``read`` operations return every account's balance at once (a list of
integers, a missing account reading 0). Every account starts at 0, so in a
serializable history every ``ok`` read sums to `TOTAL`, whatever transfers
succeeded, failed or are unknown, because each one is all or nothing.

Anomalies, each naming the read that shows it:

- wrong-total: a read whose balances do not sum to the total (a transfer half
  applied, or one applied over a stale balance: a lost update);
- malformed: a read that is not a list of integers, or of another length than
  the bank's other reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jepsen_like.history import Operation, by_key
from jepsen_like.verdict import Verdict, anomaly_counts, invalid, shown, unknown, valid

CHECKER = "bank"
TOTAL = 0


def check(ops: Sequence[Operation], total: int = TOTAL) -> Verdict:
    """Judge a bank history; see the module docstring for the anomalies."""
    anomalies: list[dict[str, Any]] = []
    reads = 0
    for key, key_ops in by_key(op for op in ops if op.f == "read" and op.ok):
        width = None
        for op in key_ops:
            reads += 1
            balances = op.result
            where = {"key": key, "read": op.invoke.line, "balances": balances}
            if type(balances) is not list or not all(type(b) is int for b in balances) \
                    or (width is not None and len(balances) != width):
                anomalies.append({"type": "malformed", **where})
                continue
            width = len(balances)
            if sum(balances) != total:
                anomalies.append({"type": "wrong-total", **where, "total": sum(balances)})
    if anomalies:
        counts = anomaly_counts(anomalies)
        return invalid(CHECKER, ", ".join(f"{n} {kind}" for kind, n in counts.items()),
                       anomaly_counts=counts, anomalies=shown(anomalies))
    if not reads:
        return unknown(CHECKER, "no read succeeded")
    return valid(CHECKER, f"all {reads} reads sum to {total}", reads=reads)
