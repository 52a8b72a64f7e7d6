"""Sequential specifications for the linearizability search: register (read, write, cas, swap) and counter.

A model turns an `Operation` into a `Move`: `fn(state, arg)` returns the next
state or `IMPOSSIBLE`. States are hashable so the search can memoise
(linearized set, state); register values are canonical JSON text, so `1`,
`1.0` and `true` stay distinct. The search prunes with more facts of a move:
`after_info` is False when the move never needs to directly follow an info move
(a write overwrites it; a counter incr commutes with it, so the info move can
wait until just before a read); `hopeless` says when no later state can make
the move succeed (a counter read below the count); `needs` is the one state
it can succeed in and `produces` the one state it can leave (a register read
needs its value; a write produces its value), so the search can tell when no
operation at hand could bring a needed state about. An ok operation that no
state could ever allow (a read of a value never written) is `doomed`.

Outcomes: a `fail` op never took effect and gets no move. An `info` op (or one
never completed) may take effect at any point after its invocation, or never;
its move always succeeds, so "never" is the same as "last". An info read
constrains nothing and gets no move.

Window moves serve the counterexample search, which checks a window of the
history from an unknown state `ANY`. An operation invoked inside the window
("proper") fixes the state from `ANY`; one invoked before it ("crossing") may
already be folded into `ANY`, so from `ANY` it is a no-op. Either way `ANY` is
the most permissive state (any state the object could ever hold), so a window
refuted from it is refuted for real.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jepsen_like.history import HistoryError, Operation, canonical


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


IMPOSSIBLE = _Sentinel("IMPOSSIBLE")
ANY = _Sentinel("ANY")
NOTHING = _Sentinel("NOTHING")
_NOT_AN_INT = _Sentinel("NOT_AN_INT")

Fn = Callable[[Any, Any], Any]
Hopeless = Callable[[Any, Any, Any], bool]
Doomed = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Move:
    """What an operation does to the object, as the search applies it."""

    fn: Fn
    arg: Any
    after_info: bool = True
    hopeless: Callable[[Any], bool] | None = None
    needs: Any = NOTHING  # or the one state in which it can succeed (ANY aside)
    produces: Any = NOTHING  # or the one state it may leave behind


@dataclass(frozen=True)
class Model:
    """A sequential object: initial state, move tables, per-key facts, how to show a state.

    Tables map (f, certain) to a function; `certain` is True for an `ok`
    operation and False for an `info` one; a missing entry means no move.
    `facts(ops)` is what `doomed` and `hopeless` tests may rely on for one
    key's operations.
    """

    name: str
    init: Any
    functions: tuple[str, ...]
    argument: Callable[[Operation], Any]
    plain: dict[tuple[str, bool], Fn]
    proper: dict[tuple[str, bool], Fn]
    not_after_info: frozenset[tuple[str, bool]]
    doomed: dict[str, Doomed]
    hopeless: dict[str, Hopeless]
    facts: Callable[[Sequence[Operation]], Any]
    effects: Callable[[str, bool, Any], tuple[Any, Any]]  # (f, certain, arg) -> (needs, produces)
    show: Callable[[Any], Any]

    def validate(self, op: Operation) -> None:
        if op.f not in self.functions:
            known = ", ".join(self.functions)
            raise HistoryError(op.invoke.line, f"the {self.name} model has no function {op.f!r} (it knows {known})")

    def move(self, op: Operation, certain: bool, facts: Any) -> Move | None:
        """The move of `op` in the plain search from the initial state."""
        return self._move(op, certain, facts, self.plain.get((op.f, certain)))

    def window_move(self, op: Operation, certain: bool, crossing: bool, facts: Any) -> Move | None:
        """The move of `op` in a window searched from `ANY`."""
        fn = self.proper.get((op.f, certain))
        move = self._move(op, certain, facts, fn)
        if move is None or not crossing:
            return move
        hopeless = _left_any if move.fn is _never else move.hopeless  # hopeless tests allow ANY
        return Move(_crossing(move.fn), move.arg, move.after_info, hopeless, move.needs, move.produces)

    def _move(self, op: Operation, certain: bool, facts: Any, fn: Fn | None) -> Move | None:
        self.validate(op)
        if fn is None:
            return None
        arg = self.argument(op)
        after_info = (op.f, certain) not in self.not_after_info
        doomed = self.doomed.get(op.f) if certain else None
        if doomed is not None and doomed(arg, facts):
            return Move(_never, arg, after_info, _always)
        test = self.hopeless.get(op.f) if certain else None
        hopeless = None if test is None else (lambda state: test(state, arg, facts))
        return Move(fn, arg, after_info, hopeless, *self.effects(op.f, certain, arg))


def _never(state: Any, arg: Any) -> Any:
    return IMPOSSIBLE


def is_doomed(move: Move) -> bool:
    """Whether no state the object could ever hold allows this move."""
    return move.fn is _never


def _always(state: Any) -> bool:
    return True


def _left_any(state: Any) -> bool:
    return state is not ANY  # the window never returns to ANY


@functools.cache
def _crossing(fn: Fn) -> Fn:
    """`fn` for an operation invoked before the window: from ANY, a no-op (one
    wrapper per fn, so that twin info operations stay twins)."""

    def step(state: Any, arg: Any) -> Any:
        return state if state is ANY else fn(state, arg)

    return step


# -- register: read, write, cas, swap; initial null ---------------------------
#
# A swap writes its value and returns the one it replaced (Redis's SET ... GET):
# ok, it is a cas from what it returned; of unknown outcome, a write.


def _read(state: Any, seen: Any) -> Any:
    return state if state == seen else IMPOSSIBLE


def _write(state: Any, value: Any) -> Any:
    return value


def _cas(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1] if state == pair[0] else IMPOSSIBLE


def _swap_info(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1]


def _cas_info(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1] if state == pair[0] else state


def _read_any(state: Any, seen: Any) -> Any:
    return seen if state is ANY else _read(state, seen)


def _cas_any(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1] if state is ANY else _cas(state, pair)


def _cas_info_any(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1] if state is ANY else _cas_info(state, pair)


def _register_argument(op: Operation) -> Any:
    if op.f == "read":
        return canonical(op.result)
    if op.f == "write":
        return canonical(op.value)
    if op.f == "swap":  # (what it returned, what it wrote): the first is known only if it is ok
        return (canonical(op.result), canonical(op.value))
    value = op.value
    if not isinstance(value, list) or len(value) != 2:
        raise HistoryError(op.invoke.line, f"a cas value must be [expected, new], not {value!r}")
    return (canonical(value[0]), canonical(value[1]))


def _register_effects(f: str, certain: bool, arg: Any) -> tuple[Any, Any]:
    if f == "read":
        return arg, NOTHING
    if f == "write":
        return NOTHING, arg
    if f == "swap" and not certain:
        return NOTHING, arg[1]
    return (arg[0] if certain else NOTHING), arg[1]  # an info cas also succeeds by failing


def _register_facts(ops: Sequence[Operation]) -> frozenset[str]:
    """Every value the register could ever hold: the initial one and all written."""
    held = {canonical(None)}
    for op in ops:
        if op.type != "fail" and op.f in ("write", "cas", "swap"):
            held.add(_register_argument(op)[1] if op.f == "cas" else canonical(op.value))
    return frozenset(held)


def _unheld(seen: str, held: frozenset[str]) -> bool:
    return seen not in held


def _expected_unheld(pair: tuple[str, str], held: frozenset[str]) -> bool:
    return pair[0] not in held


REGISTER = Model(
    name="register",
    init=canonical(None),
    functions=("read", "write", "cas", "swap"),
    argument=_register_argument,
    plain={("read", True): _read, ("write", True): _write, ("write", False): _write,
           ("cas", True): _cas, ("cas", False): _cas_info, ("swap", True): _cas, ("swap", False): _swap_info},
    proper={("read", True): _read_any, ("write", True): _write, ("write", False): _write,
            ("cas", True): _cas_any, ("cas", False): _cas_info_any, ("swap", True): _cas_any, ("swap", False): _swap_info},
    not_after_info=frozenset({("write", True), ("write", False), ("swap", False)}),
    doomed={"read": _unheld, "cas": _expected_unheld, "swap": _expected_unheld},
    hopeless={},
    facts=_register_facts,
    effects=_register_effects,
    show=lambda state: "?" if state is ANY else json.loads(state),
)


# -- counter: incr (alias add) and read; initial 0 ----------------------------
# In a window, ("rel", d) is an unknown base plus d: incrs seen before any read.


def _incr(state: int, delta: int) -> int:
    return state + delta


def _incr_any(state: Any, delta: int) -> Any:
    if state is ANY:
        return ("rel", delta)
    if isinstance(state, tuple):
        return ("rel", state[1] + delta)
    return state + delta


def _count_any(state: Any, seen: int) -> Any:
    if state is ANY or isinstance(state, tuple):
        return seen  # the read fixes the unknown base (a non-integer read is doomed instead)
    return _read(state, seen)


def _counter_argument(op: Operation) -> Any:
    if op.f == "read":
        seen = op.result
        return seen if isinstance(seen, int) and not isinstance(seen, bool) else _NOT_AN_INT
    delta = 1 if op.value is None else op.value
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise HistoryError(op.invoke.line, f"an {op.f} value must be an integer delta or null, not {delta!r}")
    return delta


def _counter_facts(ops: Sequence[Operation]) -> bool:
    """Whether the count can only grow: every delta is non-negative."""
    return all(_counter_argument(op) >= 0 for op in ops if op.f != "read")


def _uncountable(seen: Any, monotone: bool) -> bool:
    return seen is _NOT_AN_INT or (monotone and seen < 0)


def _overtaken(state: Any, seen: int, monotone: bool) -> bool:
    if not monotone or state is ANY:
        return False
    return (state[1] if isinstance(state, tuple) else state) > seen


def _show_counter(state: Any) -> Any:
    if state is ANY:
        return "?"
    if isinstance(state, tuple):
        return f"?+{state[1]}"
    return state


COUNTER = Model(
    name="counter",
    init=0,
    functions=("read", "incr", "add"),
    argument=_counter_argument,
    plain={("read", True): _read, ("incr", True): _incr, ("incr", False): _incr,
           ("add", True): _incr, ("add", False): _incr},
    proper={("read", True): _count_any, ("incr", True): _incr_any, ("incr", False): _incr_any,
            ("add", True): _incr_any, ("add", False): _incr_any},
    not_after_info=frozenset({("incr", True), ("add", True)}),
    doomed={"read": _uncountable},
    hopeless={"read": _overtaken},
    facts=_counter_facts,
    effects=lambda f, certain, arg: (NOTHING, NOTHING),  # counter reads are pruned by `hopeless`
    show=_show_counter,
)

MODELS = {model.name: model for model in (REGISTER, COUNTER)}
