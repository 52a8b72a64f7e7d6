"""Valid histories on demand, for tests, benchmarks and the simulator's self-checks.

A schedule is a list of `Step`s executed one at a time against a sequential
object; step i really happens at instant (i + 1) * SPACING_NS. `build` then
stretches every operation's interval randomly around that instant (never so
far that a worker has two operations in flight) and emits Jepsen-style events.
Every operation takes effect inside its interval, so the history passes the
checker of its workload by construction: linearizable for "register" and
"counter", no loss or anomaly for "set" and "append" (which end with a final
read of every key).

`random_schedule` draws a schedule from a `random.Random`; `schedules` and
`histories` are Hypothesis strategies (Hypothesis is imported only when they
are called). `corrupt_read` plants a violation: one read that sees the impossible.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

WORKLOADS: dict[str, tuple[str, ...]] = {
    "register": ("read", "write", "cas"),
    "counter": ("read", "incr"),
    "set": ("add",),
    "append": ("append", "read"),
}
SPACING_NS = 1000
VALUES = 5  # register values are 0..VALUES-1, as in Jepsen's register test
IMPOSSIBLE_VALUE = "impossible"


@dataclass(frozen=True)
class Step:
    """One operation of a sequential schedule.

    `value` is a write's value, a cas's new value or an incr's delta (ignored
    otherwise); `expected` is a cas's expected value, None meaning "whatever
    the register holds". `outcome` is ok, fail or info (a cas that misses
    fails); `applied` says whether an info operation took effect. `stretch` is
    the percentage of the free room used before and after the instant.
    """

    worker: int
    key: int
    f: str
    value: int = 0
    expected: int | None = None
    outcome: str = "ok"
    applied: bool = True
    stretch: tuple[int, int] = (50, 50)


@dataclass(frozen=True)
class _Done:
    """A step after execution: what was invoked and what came back."""

    f: str
    key: str
    value: Any
    type: str
    result: Any


def random_schedule(
    rng: random.Random, workload: str, ops: int, keys: int, workers: int,
    info_rate: float = 0.01, fail_rate: float = 0.01,
) -> list[Step]:
    """A random schedule of `ops` steps over `keys` keys and `workers` workers."""
    functions = WORKLOADS[workload]
    steps = []
    for _ in range(ops):
        roll = rng.random()
        outcome = "info" if roll < info_rate else "fail" if roll < info_rate + fail_rate else "ok"
        expected = None if rng.random() < 0.5 else rng.randrange(VALUES)
        steps.append(Step(
            rng.randrange(workers), rng.randrange(keys), rng.choice(functions),
            rng.randrange(VALUES), expected, outcome, rng.random() < 0.5,
            (rng.randrange(101), rng.randrange(101)),
        ))
    return steps


def generate(workload: str, ops: int, keys: int, workers: int, seed: int, **rates: float) -> list[dict[str, Any]]:
    """A random valid history as JSON-ready events."""
    schedule = random_schedule(random.Random(seed), workload, ops, keys, workers, **rates)
    return build(workload, schedule, workers)


def build(workload: str, steps: list[Step], workers: int, stretch_max_ns: int | None = None) -> list[dict[str, Any]]:
    """Execute the schedule and emit its events in time order."""
    if stretch_max_ns is None:
        stretch_max_ns = workers * SPACING_NS
    done, final = _execute(workload, steps)
    timed: list[tuple[int, int, dict[str, Any]]] = []  # (time, order, event)
    generation = [0] * workers
    for index, (step, result, (start, end)) in enumerate(zip(steps, done, _intervals(steps, stretch_max_ns))):
        process = step.worker + workers * generation[step.worker]
        if result.type == "info":
            generation[step.worker] += 1  # as in Jepsen: a crashed process gets a new id
        invoked = None if result.f == "read" else result.value
        completed = result.result if result.f == "read" else result.value
        timed.append((start, 2 * index, _event(process, "invoke", result, invoked, start)))
        timed.append((end, 2 * index + 1, _event(process, result.type, result, completed, end)))
    timed.sort(key=lambda item: (item[0], item[1]))
    events = [event for _, _, event in timed]
    if workload in ("set", "append"):
        keys = sorted({result.key for result in done}, key=lambda key: int(key[1:]))
        reader = workers * (max(generation, default=0) + 1)  # a process no one used
        events += _final_reads(workload, keys, final, timed[-1][0] if timed else 0, reader)
    return events


def _event(process: int, kind: str, done: _Done, value: Any, time_ns: int) -> dict[str, Any]:
    return {"process": process, "type": kind, "f": done.f, "key": done.key, "value": value, "time": time_ns}


def _execute(workload: str, steps: list[Step]) -> tuple[list[_Done], dict[str, Any]]:
    """Run the schedule against a sequential object; return each step's result and the final state."""
    state: dict[str, Any] = {}
    return [_apply(workload, state, step, index) for index, step in enumerate(steps)], state


def _apply(workload: str, state: dict[str, Any], step: Step, uid: int) -> _Done:
    key = f"k{step.key}"
    takes_effect = step.outcome == "ok" or (step.outcome == "info" and step.applied)
    if step.f == "read":
        if step.outcome != "ok":
            return _Done("read", key, None, step.outcome, None)
        seen = state.get(key, [] if workload == "append" else 0 if workload == "counter" else None)
        return _Done("read", key, None, "ok", list(seen) if workload == "append" else seen)
    if step.f == "cas":
        return _cas(state, key, step, takes_effect)
    if takes_effect:
        _mutate(workload, state, key, step, uid)
    value = uid if step.f in ("add", "append") else step.value
    return _Done(step.f, key, value, step.outcome, None)


def _mutate(workload: str, state: dict[str, Any], key: str, step: Step, uid: int) -> None:
    if workload == "register":
        state[key] = step.value
    elif workload == "counter":
        state[key] = state.get(key, 0) + step.value
    else:
        state.setdefault(key, []).append(uid)


def _cas(state: dict[str, Any], key: str, step: Step, takes_effect: bool) -> _Done:
    current = state.get(key)
    expected = current if step.expected is None else step.expected
    hit = current == expected
    if hit and takes_effect:
        state[key] = step.value
    outcome = step.outcome if hit or step.outcome == "info" else "fail"
    return _Done("cas", key, [expected, step.value], outcome, None)


def _intervals(steps: list[Step], stretch_max_ns: int) -> list[tuple[int, int]]:
    """[start, end] around each step's instant; a worker's intervals never overlap."""
    instants = [(index + 1) * SPACING_NS for index in range(len(steps))]
    previous: dict[int, int] = {}
    room_before = []
    for index, step in enumerate(steps):
        before = previous.get(step.worker)
        room_before.append(stretch_max_ns if before is None else (instants[index] - instants[before]) // 2 - 2)
        previous[step.worker] = index
    following: dict[int, int] = {}
    room_after = [0] * len(steps)
    for index in range(len(steps) - 1, -1, -1):
        after = following.get(steps[index].worker)
        room_after[index] = stretch_max_ns if after is None else (instants[after] - instants[index]) // 2 - 2
        following[steps[index].worker] = index
    out = []
    for index, step in enumerate(steps):
        before = min(room_before[index], stretch_max_ns, instants[index] - 1) * step.stretch[0] // 100
        after = min(room_after[index], stretch_max_ns) * step.stretch[1] // 100
        out.append((instants[index] - 1 - before, instants[index] + 1 + after))
    return out


def _final_reads(
    workload: str, keys: list[str], final: dict[str, Any], last_ns: int, process: int
) -> list[dict[str, Any]]:
    """One final ok read per key, issued after everything else has finished."""
    reads = []
    for number, key in enumerate(keys):
        start = last_ns + (2 * number + 1) * SPACING_NS
        seen = final.get(key, [])
        seen = sorted(seen) if workload == "set" else list(seen)
        for kind, value, time_ns in (("invoke", None, start), ("ok", seen, start + SPACING_NS)):
            reads.append({"process": process, "type": kind, "f": "read", "key": key, "value": value, "time": time_ns})
    return reads


def corrupt_read(events: list[dict[str, Any]], choice: int) -> list[dict[str, Any]] | None:
    """A copy of `events` where the `choice`-th ok read (modulo their count) saw
    something no execution could produce; None if there is no ok read."""
    reads = [i for i, event in enumerate(events) if event["f"] == "read" and event["type"] == "ok"]
    if not reads:
        return None
    out = copy.deepcopy(events)
    event = out[reads[choice % len(reads)]]
    seen = event["value"]
    if isinstance(seen, list):
        event["value"] = [*seen, IMPOSSIBLE_VALUE]
    elif isinstance(seen, int) and not isinstance(seen, bool):
        event["value"] = -1  # counters never go below zero: deltas are >= 0
    else:
        event["value"] = IMPOSSIBLE_VALUE
    return out


def schedules(workload: str, max_ops: int = 30, keys: int = 2, workers: int = 4) -> Any:
    """Hypothesis strategy: schedules for `workload` (shrinks toward fewer, tighter, ok steps)."""
    from hypothesis import strategies as st

    step = st.builds(
        Step,
        worker=st.integers(0, workers - 1),
        key=st.integers(0, keys - 1),
        f=st.sampled_from(WORKLOADS[workload]),
        value=st.integers(0, VALUES - 1),
        expected=st.none() | st.integers(0, VALUES - 1),
        outcome=st.sampled_from(("ok", "ok", "ok", "info", "fail")),
        applied=st.booleans(),
        stretch=st.tuples(st.integers(0, 100), st.integers(0, 100)),
    )
    return st.lists(step, max_size=max_ops)


def histories(workload: str, max_ops: int = 30, keys: int = 2, workers: int = 4) -> Any:
    """Hypothesis strategy: valid histories (JSON-ready events) for `workload`."""
    return schedules(workload, max_ops, keys, workers).map(lambda steps: build(workload, steps, workers))
