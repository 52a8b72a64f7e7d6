"""Sequential specifications for the linearizability search: register and counter.

A model turns an `Operation` into a step `(fn, arg)`; `fn(state, arg)` returns
the next state or `IMPOSSIBLE`. States are hashable so the search can memoise
(linearized set, state); register values are canonical JSON text, so `1`,
`1.0` and `true` stay distinct.

Outcomes: a `fail` op never took effect and gets no step. An `info` op (or one
never completed) may take effect at any point after its invocation, or never;
its step always succeeds, so "never" is the same as "last". An info read
constrains nothing and gets no step.

Window steps serve the counterexample search, which checks a window of the
history from an unknown state `ANY`. An operation invoked inside the window
("proper") fixes the state from `ANY`; one invoked before it ("crossing") may
already be folded into `ANY`, so from `ANY` it is a no-op. Either way `ANY` is
the most permissive state, so a window refuted from it is refuted for real.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
_NOT_AN_INT = _Sentinel("NOT_AN_INT")

Fn = Callable[[Any, Any], Any]
Step = tuple[Fn, Any]


@dataclass(frozen=True)
class Model:
    """A sequential object: its initial state, its step tables, how to show a state.

    Tables map (f, certain) to a function; `certain` is True for an `ok`
    operation and False for an `info` one. A missing entry means no step.
    """

    name: str
    init: Any
    functions: tuple[str, ...]
    argument: Callable[[Operation], Any]
    plain: dict[tuple[str, bool], Fn]
    proper: dict[tuple[str, bool], Fn]
    show: Callable[[Any], Any]

    def step(self, op: Operation, certain: bool) -> Step | None:
        return self._lookup(self.plain, op, certain)

    def window_step(self, op: Operation, certain: bool, crossing: bool) -> Step | None:
        found = self._lookup(self.proper, op, certain)
        if found is None or not crossing:
            return found
        return (_crossing(found[0]), found[1])

    def validate(self, op: Operation) -> None:
        if op.f not in self.functions:
            known = ", ".join(self.functions)
            raise HistoryError(op.invoke.line, f"the {self.name} model has no function {op.f!r} (it knows {known})")

    def _lookup(self, table: dict[tuple[str, bool], Fn], op: Operation, certain: bool) -> Step | None:
        self.validate(op)
        fn = table.get((op.f, certain))
        return None if fn is None else (fn, self.argument(op))


def _crossing(fn: Fn) -> Fn:
    def step(state: Any, arg: Any) -> Any:
        return state if state is ANY else fn(state, arg)

    return step


# -- register: read, write, cas ------------------------------------------------


def _read(state: Any, seen: Any) -> Any:
    return state if state == seen else IMPOSSIBLE


def _write(state: Any, value: Any) -> Any:
    return value


def _cas(state: Any, pair: tuple[str, str]) -> Any:
    return pair[1] if state == pair[0] else IMPOSSIBLE


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
    value = op.value
    if not isinstance(value, list) or len(value) != 2:
        raise HistoryError(op.invoke.line, f"a cas value must be [expected, new], not {value!r}")
    return (canonical(value[0]), canonical(value[1]))


def _show_register(state: Any) -> Any:
    return "?" if state is ANY else json.loads(state)


REGISTER = Model(
    name="register",
    init=canonical(None),
    functions=("read", "write", "cas"),
    argument=_register_argument,
    plain={("read", True): _read, ("write", True): _write, ("write", False): _write,
           ("cas", True): _cas, ("cas", False): _cas_info},
    proper={("read", True): _read_any, ("write", True): _write, ("write", False): _write,
            ("cas", True): _cas_any, ("cas", False): _cas_info_any},
    show=_show_register,
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


def _count_any(state: Any, seen: Any) -> Any:
    if state is ANY or isinstance(state, tuple):
        return IMPOSSIBLE if seen is _NOT_AN_INT else seen
    return _read(state, seen)


def _counter_argument(op: Operation) -> Any:
    if op.f == "read":
        seen = op.result
        return seen if isinstance(seen, int) and not isinstance(seen, bool) else _NOT_AN_INT
    delta = 1 if op.value is None else op.value
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise HistoryError(op.invoke.line, f"an {op.f} value must be an integer delta or null, not {delta!r}")
    return delta


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
    show=_show_counter,
)

MODELS = {model.name: model for model in (REGISTER, COUNTER)}
