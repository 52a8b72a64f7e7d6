"""The Wing–Gong–Lowe search: can these operations be ordered so the model accepts them?

Owns the doubly linked entry list (a call and a return entry per completed
operation, in history order), the iterative depth-first search over it, and
Lowe's memo of (linearized set as an int bitset, state): a configuration seen
once is never explored again.

Operations with no return (`info`: outcome unknown) live in a second list of
call entries. They may take effect any time after their invocation, or never,
so the search tries them only when the first list is stuck at a return entry,
and succeeds without them once every completed operation is linearized.

Knows nothing of JSON, keys or models: it takes candidates and steps, and
answers linearizable, not linearizable (with where it got stuck), or unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jepsen_like.models import IMPOSSIBLE

INFINITY = float("inf")
BLOCKED_STATES_MAX = 8
CLOCK_EVERY_STEPS = 1024


@dataclass(frozen=True, slots=True)
class Candidate:
    """One operation as the search sees it: when it was called, when it returned, its step."""

    call: int
    ret: int | None
    fn: Callable[[Any, Any], Any]
    arg: Any


@dataclass(frozen=True)
class Outcome:
    """`linearizable` is None when the deadline passed first.

    When refuted, `blocked` is the index of the candidate whose return the
    search could never get past (every event before it is linearizable), and
    `states` are states the object could hold when that return was reached.
    """

    linearizable: bool | None
    steps: int
    blocked: int | None = None
    states: tuple[Any, ...] = ()


class _Entry:
    __slots__ = ("index", "fn", "arg", "pos", "is_call", "match", "prev", "next")

    def __init__(self, index: int, pos: float, is_call: bool, fn: Any = None, arg: Any = None) -> None:
        self.index = index
        self.pos = pos
        self.is_call = is_call
        self.fn = fn
        self.arg = arg
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _link(entries: list[_Entry]) -> tuple[_Entry, _Entry]:
    """Chain entries between a head and a tail sentinel; return (head, tail)."""
    head = _Entry(-1, -INFINITY, False)
    tail = _Entry(-1, INFINITY, False)
    chain = [head, *entries, tail]
    for before, after in zip(chain, chain[1:]):
        before.next = after
        after.prev = before
    return head, tail


def _build(cands: Sequence[Candidate]) -> tuple[_Entry, _Entry, _Entry]:
    """Return (main head, main tail, info head)."""
    main: list[_Entry] = []
    info: list[_Entry] = []
    for index, cand in enumerate(cands):
        call = _Entry(index, cand.call, True, cand.fn, cand.arg)
        if cand.ret is None:
            info.append(call)
            continue
        ret = _Entry(index, cand.ret, False)
        call.match = ret
        main += (call, ret)
    main.sort(key=lambda entry: entry.pos)
    info.sort(key=lambda entry: entry.pos)
    head, tail = _link(main)
    info_head, _ = _link(info)
    return head, tail, info_head


def _lift(entry: _Entry) -> None:
    entry.prev.next = entry.next
    entry.next.prev = entry.prev
    match = entry.match
    if match is not None:
        match.prev.next = match.next
        match.next.prev = match.prev


def _unlift(entry: _Entry) -> None:
    match = entry.match
    if match is not None:
        match.prev.next = match
        match.next.prev = match
    entry.prev.next = entry
    entry.next.prev = entry


class _Blocked:
    """The furthest return entry the search was stuck at, and the states it held there."""

    __slots__ = ("pos", "index", "states")

    def __init__(self) -> None:
        self.pos = -INFINITY
        self.index: int | None = None
        self.states: list[Any] = []

    def note(self, entry: _Entry, state: Any) -> None:
        if entry.pos > self.pos:
            self.pos, self.index, self.states = entry.pos, entry.index, [state]
        elif entry.pos == self.pos and len(self.states) < BLOCKED_STATES_MAX and state not in self.states:
            self.states.append(state)


def search(cands: Sequence[Candidate], init: Any, deadline: float | None = None) -> Outcome:
    """Depth-first search for a linearization; `deadline` is a `time.monotonic()` value."""
    head, tail, info_head = _build(cands)
    if head.next is tail:
        return Outcome(True, 0)
    memo: set[tuple[int, Any]] = set()
    stack: list[tuple[_Entry, Any, float | None]] = []
    blocked = _Blocked()
    state, bits = init, 0
    entry = head.next
    frontier: float | None = None  # while trying info ops: the stuck return's position
    steps = 0
    while True:
        steps += 1
        if deadline is not None and steps % CLOCK_EVERY_STEPS == 0 and time.monotonic() > deadline:
            return Outcome(None, steps)
        if entry.is_call and (frontier is None or entry.pos < frontier):
            new = entry.fn(state, entry.arg)
            if new is not IMPOSSIBLE:
                config = (bits | (1 << entry.index), new)
                if config not in memo:
                    memo.add(config)
                    stack.append((entry, state, frontier))
                    bits, state = config
                    _lift(entry)
                    if head.next is tail:
                        return Outcome(True, steps)
                    entry, frontier = head.next, None
                    continue
            entry = entry.next
        elif frontier is None:
            blocked.note(entry, state)
            frontier = entry.pos
            entry = info_head.next
        elif stack:
            entry, state, frontier = stack.pop()
            bits ^= 1 << entry.index
            _unlift(entry)
            entry = entry.next
        else:
            return Outcome(False, steps, blocked.index, tuple(blocked.states))
