"""Linearizability of registers (read, write, cas) and counters (incr, read).

Owns the checker: split the history per key (P-compositionality), run the
Wing–Gong–Lowe search (`wgl`) on each key in sorted key order under one time
budget, and, for the first key that is refuted, build the evidence:

- `op`: the operation that cannot be linearized, and `states`: what the object
  could hold when that operation had to have taken effect;
- `prefix`: the longest linearizable prefix of the key's history (every event
  before that operation's completion);
- `window`: the smallest window of the key's history, ending at that
  completion, that cannot be linearized even from an unknown initial state.

A search that runs out of time makes the verdict unknown, never valid or
invalid by guess. `fail` operations never took effect and are left out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from jepsen_like.history import Operation, by_key
from jepsen_like.models import ANY, MODELS, Model
from jepsen_like.verdict import Verdict, invalid, unknown, valid
from jepsen_like.wgl import Candidate, Outcome, search

CHECKER = "linearizability"
WINDOW_OPS_SHOWN_MAX = 100


def check(ops: Sequence[Operation], model: str | Model = "register", time_limit_s: float | None = None) -> Verdict:
    """Is the history linearizable for `model` ("register" or "counter"), key by key?"""
    model = MODELS[model] if isinstance(model, str) else model
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    keys, steps, unknown_keys = 0, 0, []
    for key, key_ops in by_key(ops):
        keys += 1
        used, cands = _candidates(model, _live(model, key_ops))
        outcome = search(cands, model.init, deadline)
        steps += outcome.steps
        if outcome.linearizable is False:
            return _refuted(model, key, used, outcome, deadline)
        if outcome.linearizable is None:
            unknown_keys.append(key)
    summary = {"model": model.name, "ops": len(ops), "keys": keys, "steps": steps}
    if unknown_keys:
        return unknown(
            CHECKER,
            f"the search ran out of time ({time_limit_s} s) on {len(unknown_keys)} of {keys} keys",
            unknown_keys=unknown_keys, time_limit_s=time_limit_s, **summary,
        )
    return valid(CHECKER, f"{len(ops)} operations on {keys} keys are linearizable as a {model.name}", **summary)


def _live(model: Model, ops: list[Operation]) -> list[Operation]:
    """The operations that may have taken effect: every one but the failed."""
    for op in ops:
        model.validate(op)
    return [op for op in ops if op.type != "fail"]


def _candidates(model: Model, ops: list[Operation]) -> tuple[list[Operation], list[Candidate]]:
    """The operations that get a step (an info read gets none), and their candidates."""
    used, cands = [], []
    for op in ops:
        step = model.step(op, op.ok)
        if step is not None:
            used.append(op)
            cands.append(Candidate(op.invoke.line, op.complete_line if op.ok else None, *step))
    return used, cands


def _refuted(model: Model, key: Any, ops: list[Operation], outcome: Outcome, deadline: float | None) -> Verdict:
    culprit = ops[outcome.blocked]
    end = culprit.complete_line
    states = [model.show(state) for state in outcome.states]
    prefix_ops = sum(1 for op in ops if op.ok and op.complete_line < end)
    window = _smallest_window(model, ops, culprit, deadline)
    shown = ", ".join(repr(state) for state in states)
    reason = (
        f"key {key!r}: {culprit.f} by process {culprit.process!r} (lines {culprit.invoke.line}-{end}) "
        f"cannot be linearized; the {model.name} could only hold {shown} then"
    )
    return invalid(
        CHECKER, reason,
        model=model.name, key=key, op=culprit.to_json(), states=states,
        prefix={"through_line": end - 1, "completed_ops": prefix_ops},
        window=window,
    )


def _smallest_window(model: Model, ops: list[Operation], culprit: Operation, deadline: float | None) -> dict[str, Any]:
    """Binary-search the latest window start whose window is refuted on its own.

    Start -1 stands for the whole prefix from the real initial state, which the
    main search already refuted. A start whose search times out counts as not
    refuted, so the answer is always a window that was refuted.
    """
    end = culprit.complete_line
    starts = sorted({op.invoke.line for op in ops if op.invoke.line <= culprit.invoke.line})
    lo, hi = -1, len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        window_ops, cands = _window(model, ops, starts[mid], end)
        if search(cands, ANY, deadline).linearizable is False:
            lo = mid
        else:
            hi = mid
    start = starts[lo] if lo >= 0 else 0
    window_ops, _ = _window(model, ops, start, end)
    return {
        "from_line": start if lo >= 0 else window_ops[0].invoke.line,
        "to_line": end,
        "initial_state": "any" if lo >= 0 else model.show(model.init),
        "op_count": len(window_ops),
        "ops": [op.to_json() for op in window_ops[:WINDOW_OPS_SHOWN_MAX]],
    }


def _window(model: Model, ops: list[Operation], start: int, end: int) -> tuple[list[Operation], list[Candidate]]:
    """The operations of lines start..end, as candidates for a search from `ANY`.

    Operations invoked before `start` but not finished by it are "crossing"
    (already folded into `ANY`, or taking effect inside); those still running
    at `end` are treated as info; those invoked after `end` are left out.
    """
    used, cands = [], []
    for op in ops:
        call, ret = op.invoke.line, op.complete_line
        if call > end or (op.ok and ret < start):
            continue
        done = op.ok and ret <= end
        step = model.window_step(op, done, crossing=call < start)
        if step is not None:
            used.append(op)
            cands.append(Candidate(call, ret if done else None, *step))
    return used, cands
