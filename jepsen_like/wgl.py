"""The Wing–Gong–Lowe search: can these operations be ordered so the model accepts them?

Owns the doubly linked entry list (a call and a return entry per completed
operation, in history order), the iterative depth-first search over it, and
Lowe's memo of (linearized set as an int bitset, state): a configuration seen
once is never explored again.

Operations with no return (`info`: outcome unknown) may take effect any time
after their invocation, or never. The search tries them only when the list is
stuck at a return entry, and succeeds without them once every completed
operation is linearized. Prunings keep them from multiplying the search; each
keeps at least one linearization if there is any:

- twins: info operations with the same move form one class, and only the
  earliest one not yet linearized is tried (any could stand in for another);
- after info: a move whose `after_info` is False never directly follows an
  info move (a write would overwrite it; a counter incr commutes with it, so
  the info move can wait until just before a read); the memo then records
  whether the last move was an info one;
- no-ops: an info move that leaves the state as it was is never tried;
- pointless: an info move is tried only if some operation that may follow it
  (invoked already, with `after_info`) is not hopeless in the new state;
- hopeless: stuck at a return whose move no later state can allow, the search
  backs off at once instead of trying info operations.

A move is hopeless when its model says so, or when it needs a state other than
the current one and no operation at hand (invoked before the stuck return and
not yet linearized) produces that state. `ANY` (the unknown state a window
search starts from) needs nothing proven.

Knows nothing of JSON, keys or models: it takes candidates and answers
linearizable, not linearizable (with where it got stuck), or out of time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jepsen_like.models import ANY, IMPOSSIBLE, NOTHING, Move

INFINITY = float("inf")
BLOCKED_STATES_MAX = 8
CLOCK_EVERY_STEPS = 1024


@dataclass(frozen=True, slots=True)
class Candidate:
    """One operation as the search sees it: when it was called and returned, and its move.

    `ret` None means it may take effect any time after `call`, or never (info).
    """

    call: int
    ret: int | None
    move: Move


@dataclass(frozen=True)
class Outcome:
    """`linearizable` is None when the deadline passed first.

    When refuted, `blocked` is the index of the candidate whose return the
    search could never get past (every event before it is linearizable), and
    `states` are states the object could hold when that return was reached.
    When found, `states` holds the state the linearization ends in.
    """

    linearizable: bool | None
    steps: int
    blocked: int | None = None
    states: tuple[Any, ...] = ()


class _Entry:
    """A call or return entry of a completed operation, or a class of info twins.

    A class stays in its list; `index` and `pos` follow its next unused member.
    """

    __slots__ = ("index", "pos", "is_call", "fn", "arg", "late", "hopeless", "needs", "produces", "match",
                 "members", "used", "prev", "next")

    def __init__(self, index: int, pos: float, is_call: bool, move: Move | None = None) -> None:
        self.index = index
        self.pos = pos
        self.is_call = is_call
        self.fn = None if move is None else move.fn
        self.arg = None if move is None else move.arg
        self.late = move is not None and not move.after_info and is_call  # never right after info
        self.hopeless = None if move is None else move.hopeless
        self.needs = NOTHING if move is None else move.needs
        self.produces = NOTHING if move is None else move.produces
        self.match: _Entry | None = None  # a call's return entry; None for an info class
        self.members: list[tuple[int, int]] | None = None  # an info class: (index, call) in call order
        self.used = 0  # an info class: members linearized on the current path
        self.prev: _Entry | None = None
        self.next: _Entry | None = None

    def advance(self, by: int) -> None:
        """Move an info class to its next (by=1) or previous (by=-1) member."""
        self.used += by
        if self.used < len(self.members):
            self.index, self.pos = self.members[self.used]
        else:
            self.index, self.pos = -1, INFINITY


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
    classes: dict[tuple[Any, Any, bool], _Entry] = {}
    for index, cand in enumerate(cands):
        if cand.ret is None:
            move = cand.move
            twins = classes.get((move.fn, move.arg, move.after_info))
            if twins is None:
                twins = classes[(move.fn, move.arg, move.after_info)] = _Entry(index, cand.call, True, move)
                twins.members = []
            twins.members.append((index, cand.call))
            continue
        call = _Entry(index, cand.call, True, cand.move)
        call.match = _Entry(index, cand.ret, False, cand.move)
        main += (call, call.match)
    main.sort(key=lambda entry: entry.pos)
    for twins in classes.values():
        twins.members.sort(key=lambda member: member[1])
        twins.advance(0)
    head, tail = _link(main)
    info_head, _ = _link(list(classes.values()))
    return head, tail, info_head


def _lift(entry: _Entry) -> None:
    match = entry.match
    if match is None:
        entry.advance(1)
        return
    entry.prev.next = entry.next
    entry.next.prev = entry.prev
    match.prev.next = match.next
    match.next.prev = match.prev


def _unlift(entry: _Entry) -> None:
    match = entry.match
    if match is None:
        entry.advance(-1)
        return
    match.prev.next = match
    match.next.prev = match
    entry.prev.next = entry
    entry.next.prev = entry


def _at_hand(head: _Entry, info_head: _Entry) -> tuple[list[_Entry], _Entry, set[Any]]:
    """The calls before the first pending return, that return, and the states
    those calls and the info classes invoked before it could produce."""
    calls, entry = [], head.next
    while entry.is_call:
        calls.append(entry)
        entry = entry.next
    produced = {call.produces for call in calls}
    twins = info_head.next
    while twins.is_call:
        if twins.pos < entry.pos:
            produced.add(twins.produces)
        twins = twins.next
    return calls, entry, produced


def _hopeless(entry: _Entry, state: Any, produced: set[Any] | None, head: _Entry, info_head: _Entry) -> bool:
    """Whether no continuation can let `entry`'s move succeed (`produced`: from
    `_at_hand`, worked out here if None and needed)."""
    if entry.hopeless is not None and entry.hopeless(state):
        return True
    needs = entry.needs
    if needs is NOTHING or state is ANY or state == needs:
        return False
    return needs not in (_at_hand(head, info_head)[2] if produced is None else produced)


def _observer_ahead(head: _Entry, info_head: _Entry, state: Any) -> bool:
    """Whether an operation invoked before the first pending return could use `state` next."""
    calls, _, produced = _at_hand(head, info_head)
    return any(not call.late and not _hopeless(call, state, produced, head, info_head) for call in calls)


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


class Search:
    """A resumable search: `run` goes on from where the last call paused."""

    def __init__(self, cands: Sequence[Candidate], init: Any) -> None:
        self.head, self.tail, self.info_head = _build(cands)
        # In memo keys only, and only when it can matter: the last move was an info one.
        self.after_info_bit = 1 << len(cands) if any(not cand.move.after_info for cand in cands) else 0
        self.memo: set[tuple[int, Any]] = set()
        self.stack: list[tuple[_Entry, Any, float | None, bool]] = []
        self.blocked = _Blocked()
        self.state, self.bits, self.after_info = init, 0, False
        self.entry = self.head.next
        self.frontier: float | None = None  # while trying info classes: the stuck return's position
        self.steps = 0
        self.outcome: Outcome | None = Outcome(True, 0, states=(init,)) if self.head.next is self.tail else None

    def run(self, deadline: float | None = None, steps_max: int | None = None) -> Outcome:
        """Search until done, past `deadline` (a `time.monotonic()` value) or `steps_max` more steps.

        An unfinished run returns `linearizable` None, with the furthest stuck point so far.
        """
        if self.outcome is None:
            pause = None if steps_max is None else self.steps + steps_max
            self.outcome = self._loop(deadline, pause)
        if self.outcome is not None:
            return self.outcome
        return Outcome(None, self.steps, self.blocked.index, tuple(self.blocked.states))

    def _loop(self, deadline: float | None, pause: int | None) -> Outcome | None:
        head, tail, info_head, memo, stack = self.head, self.tail, self.info_head, self.memo, self.stack
        after_info_bit, blocked = self.after_info_bit, self.blocked
        state, bits, after_info, entry, frontier, steps = (
            self.state, self.bits, self.after_info, self.entry, self.frontier, self.steps)
        while True:
            steps += 1
            if steps % CLOCK_EVERY_STEPS == 0 and (
                (pause is not None and steps >= pause) or (deadline is not None and time.monotonic() > deadline)
            ):
                self.state, self.bits, self.after_info, self.entry, self.frontier, self.steps = (
                    state, bits, after_info, entry, frontier, steps)
                return None
            if entry.is_call:
                info = entry.match is None
                if (info and entry.pos >= frontier) or (entry.late and after_info):
                    entry = entry.next
                    continue
                new = entry.fn(state, entry.arg)
                if new is not IMPOSSIBLE and not (
                    info and (new == state or not _observer_ahead(head, info_head, new))
                ):
                    new_bits = bits | (1 << entry.index)
                    config = (new_bits | after_info_bit if info else new_bits, new)
                    if config not in memo:
                        memo.add(config)
                        stack.append((entry, state, frontier, after_info))
                        bits, state, after_info = new_bits, new, info
                        _lift(entry)
                        if head.next is tail:
                            return Outcome(True, steps, states=(state,))
                        entry, frontier = head.next, None
                        continue
                entry = entry.next
                continue
            if frontier is None:
                blocked.note(entry, state)
                if not _hopeless(entry, state, None, head, info_head):
                    frontier, entry = entry.pos, info_head.next
                    continue
            if not stack:
                return Outcome(False, steps, blocked.index, tuple(blocked.states))
            entry, state, frontier, after_info = stack.pop()
            _unlift(entry)
            bits ^= 1 << entry.index
            entry = entry.next


def search(cands: Sequence[Candidate], init: Any, deadline: float | None = None,
           steps_max: int | None = None) -> Outcome:
    """Depth-first search for a linearization, to the end or until the deadline or step cap."""
    return Search(cands, init).run(deadline, steps_max)
