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

Refuting a long history by exhausting the search is slow, so the search pauses
now and then, and while it is stuck at one completion the checker tries small
windows ending there: one refuted window refutes the whole history. A search
that runs out of time makes the verdict unknown, never a guess. `fail`
operations never took effect and are left out.
"""

from __future__ import annotations

import bisect
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jepsen_like.gcpause import paused
from jepsen_like.history import Operation, by_key
from jepsen_like.models import ANY, MODELS, Model, is_doomed
from jepsen_like.verdict import Verdict, invalid, unknown, valid
from jepsen_like.wgl import Candidate, Search, search

CHECKER = "linearizability"
WINDOW_OPS_SHOWN_MAX = 100
PAUSE_STEPS_FIRST = 20_000  # then doubling, so pauses cost little of a long search
LOCAL_WINDOW_OPS_MAX = 256  # the largest window tried while the search is stuck
WINDOW_STEPS_MAX = 200_000  # a window search that needs more counts as not refuted


@dataclass
class _Key:
    """One key's share of the history, ready to search, indexed for windows."""

    key: Any
    ops: list[Operation]  # the operations with a move, in invocation order
    cands: list[Candidate]
    facts: Any
    calls: list[int] = field(init=False)  # invocation lines, ascending
    span_max: int = field(init=False)  # the most lines a completed operation spans
    unfinished: list[int] = field(init=False)  # indices of operations with no return

    def __post_init__(self) -> None:
        self.calls = [cand.call for cand in self.cands]
        self.span_max = max((cand.ret - cand.call for cand in self.cands if cand.ret is not None), default=0)
        self.unfinished = [index for index, cand in enumerate(self.cands) if cand.ret is None]

    def around(self, start: int, end: int) -> list[int]:
        """Indices of the operations that may matter to lines start..end, in invocation order."""
        lo = bisect.bisect_left(self.calls, start - self.span_max)
        hi = bisect.bisect_right(self.calls, end)
        return [index for index in self.unfinished if index < lo] + list(range(lo, hi))


@paused
def check(ops: Sequence[Operation], model: str | Model = "register", time_limit_s: float | None = None) -> Verdict:
    """Is the history linearizable for `model` ("register" or "counter"), key by key?"""
    model = MODELS[model] if isinstance(model, str) else model
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    keys, steps, unknown_keys = 0, 0, []
    for key, key_ops in by_key(ops):
        keys += 1
        part = _prepare(model, key, key_ops)
        judged = _judge(model, part, deadline)
        steps += judged.steps
        if judged.linearizable is False:
            return _refuted(model, part, judged, deadline)
        if judged.linearizable is None:
            unknown_keys.append(key)
    summary = {"model": model.name, "ops": len(ops), "keys": keys, "steps": steps}
    if unknown_keys:
        return unknown(
            CHECKER,
            f"the search ran out of time ({time_limit_s} s) on {len(unknown_keys)} of {keys} keys",
            unknown_keys=unknown_keys, time_limit_s=time_limit_s, **summary,
        )
    return valid(CHECKER, f"{len(ops)} operations on {keys} keys are linearizable as a {model.name}", **summary)


@dataclass
class _Judgement:
    """One key's result. When refuted: the culprit, the states it met, whether the
    prefix before it is known to be linearizable, and the line a refuted window
    starts at (None: only the whole prefix is known refuted)."""

    linearizable: bool | None
    steps: int
    culprit: Operation | None = None
    states: tuple[Any, ...] = ()
    prefix_known: bool = True
    window_line: int | None = None


def _prepare(model: Model, key: Any, ops: list[Operation]) -> _Key:
    """Validate the key's operations and make candidates of those that may have taken effect."""
    for op in ops:
        model.validate(op)
    live = [op for op in ops if op.type != "fail"]
    facts = model.facts(live)
    used, cands = [], []
    for op in live:
        move = model.move(op, op.ok, facts)
        if move is not None:  # an info read has none
            used.append(op)
            cands.append(Candidate(op.invoke.line, op.complete_line if op.ok else None, move))
    return _Key(key, used, cands, facts)


def _judge(model: Model, part: _Key, deadline: float | None) -> _Judgement:
    """Search one key. A doomed operation (one no state allows) refutes the key at
    once; the search then only needs to check the history before it."""
    doomed = [op for op, cand in zip(part.ops, part.cands) if cand.ret is not None and is_doomed(cand.move)]
    if not doomed:
        return _search(model, part, deadline)
    culprit = min(doomed, key=lambda op: op.complete_line)
    before = _search(model, _before(model, part, culprit), deadline)
    if before.linearizable is False:
        return before
    return _Judgement(False, before.steps, culprit, before.states, before.linearizable is True, culprit.invoke.line)


def _before(model: Model, part: _Key, culprit: Operation) -> _Key:
    """The key's history up to the culprit's completion, the culprit as of unknown outcome
    (a doomed swap may still have written; a doomed read or cas did nothing)."""
    end = culprit.complete_line
    used, cands = [], []
    for op, cand in zip(part.ops, part.cands):
        if op.invoke.line > end:
            continue
        if op is culprit or (cand.ret is not None and cand.ret > end):
            move = model.move(op, False, part.facts)  # still running at the end: outcome unknown
            if move is None:
                continue
            cand = Candidate(cand.call, None, move)
        used.append(op)
        cands.append(cand)
    return _Key(part.key, used, cands, part.facts)


def _search(model: Model, part: _Key, deadline: float | None) -> _Judgement:
    """The search, paused now and then to try small windows where it is stuck."""
    run = Search(part.cands, model.init)
    tried: set[int] = set()
    pause = PAUSE_STEPS_FIRST
    while True:
        outcome = run.run(deadline, pause)
        if outcome.linearizable is True or (outcome.linearizable is None and _past(deadline)):
            return _Judgement(outcome.linearizable, outcome.steps, states=outcome.states)
        culprit = None if outcome.blocked is None else part.ops[outcome.blocked]
        if outcome.linearizable is False:
            return _Judgement(False, outcome.steps, culprit, outcome.states)
        if culprit is not None and outcome.blocked not in tried:
            tried.add(outcome.blocked)
            line = _local_refutation(model, part, culprit, deadline)
            if line is not None:
                return _Judgement(False, outcome.steps, culprit, outcome.states, window_line=line)
        pause *= 2


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _local_refutation(model: Model, part: _Key, culprit: Operation, deadline: float | None) -> int | None:
    """Try windows of 1, 2, 4, ... operations ending at the culprit's completion;
    return the start line of the first one refuted."""
    starts = _starts(part, culprit)
    size = 1
    while size <= min(len(starts), LOCAL_WINDOW_OPS_MAX):
        if _window_refuted(model, part, starts[-size], culprit.complete_line, deadline):
            return starts[-size]
        size *= 2
    return None


def _starts(part: _Key, culprit: Operation) -> list[int]:
    """Candidate window starts: invocation lines up to the culprit's."""
    return sorted({op.invoke.line for op in part.ops if op.invoke.line <= culprit.invoke.line})


def _refuted(model: Model, part: _Key, judged: _Judgement, deadline: float | None) -> Verdict:
    culprit = judged.culprit
    end = culprit.complete_line
    states = [model.show(state) for state in judged.states]
    prefix = None
    if judged.prefix_known:
        prefix = {"through_line": end - 1,
                  "completed_ops": sum(1 for op in part.ops if op.ok and op.complete_line < end)}
    shown = " or ".join(json.dumps(state) for state in states) or "nothing known"
    reason = (
        f"key {part.key!r}: {culprit.f} by process {culprit.process!r} (lines {culprit.invoke.line}-{end}) "
        f"cannot be linearized; when it had to take effect the {model.name} held {shown}"
    )
    return invalid(
        CHECKER, reason,
        model=model.name, key=part.key, op=culprit.to_json(), states=states, prefix=prefix,
        window=_smallest_window(model, part, culprit, judged.window_line, deadline),
    )


def _smallest_window(
    model: Model, part: _Key, culprit: Operation, known_line: int | None, deadline: float | None
) -> dict[str, Any]:
    """Binary-search the latest window start whose window is refuted on its own.

    `known_line` starts a window already refuted; None stands for the whole
    prefix from the real initial state, which the main search refuted. A window
    search that runs out of steps or time counts as not refuted, so the answer
    is always a window that was refuted.
    """
    end = culprit.complete_line
    if is_doomed(part.cands[part.ops.index(culprit)].move):
        return _window_json(culprit.invoke.line, end, "any", [culprit])  # no state allows it at all
    starts = _starts(part, culprit)
    lo, hi = (-1 if known_line is None else starts.index(known_line)), len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _window_refuted(model, part, starts[mid], end, deadline):
            lo = mid
        else:
            hi = mid
    start = starts[lo] if lo >= 0 else 0
    ops = _window(model, part, start, end)[0]
    return _window_json(start if lo >= 0 else ops[0].invoke.line, end,
                        "any" if lo >= 0 else model.show(model.init), ops)


def _window_json(start: int, end: int, initial: Any, ops: list[Operation]) -> dict[str, Any]:
    """A window as evidence: the operations invoked inside it, then those invoked
    before it that may still have taken effect inside ("crossing")."""
    inside = [op for op in ops if op.invoke.line >= start]
    crossing = [op for op in ops if op.invoke.line < start]
    return {
        "from_line": start,
        "to_line": end,
        "initial_state": initial,
        "op_count": len(inside),
        "ops": [op.to_json() for op in inside[:WINDOW_OPS_SHOWN_MAX]],
        "crossing_count": len(crossing),
        "crossing": [op.to_json() for op in crossing[-WINDOW_OPS_SHOWN_MAX:]],
    }


def _window_refuted(model: Model, part: _Key, start: int, end: int, deadline: float | None) -> bool:
    cands = _window(model, part, start, end)[1]
    return search(cands, ANY, deadline, WINDOW_STEPS_MAX).linearizable is False


def _window(model: Model, part: _Key, start: int, end: int) -> tuple[list[Operation], list[Candidate]]:
    """The operations of lines start..end, as candidates for a search from `ANY`.

    Operations invoked before `start` but not finished by it are "crossing"
    (already folded into `ANY`, or taking effect inside); those still running
    at `end` are treated as info; those invoked after `end` are left out.
    """
    used, cands = [], []
    for index in part.around(start, end):
        op = part.ops[index]
        call, ret = op.invoke.line, op.complete_line
        if call > end or (op.ok and ret < start):
            continue
        done = op.ok and ret <= end
        move = model.window_move(op, done, call < start, part.facts)
        if move is not None:
            used.append(op)
            cands.append(Candidate(call, ret if done else None, move))
    return used, cands
