"""Generated histories: every checker accepts what a sequential run, stretched,
produces; one impossible read makes it reject."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepsen_like import generate, history, linearizability, list_append, sets

CHECKERS = {
    "register": lambda ops: linearizability.check(ops, "register"),
    "counter": lambda ops: linearizability.check(ops, "counter"),
    "set": sets.check,
    "append": list_append.check,
}


def judge(workload, events):
    return CHECKERS[workload](history.pair(history.from_dicts(events)))


@pytest.mark.parametrize("workload", sorted(CHECKERS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_valid_histories_are_accepted(workload, data):
    events = data.draw(generate.histories(workload, max_ops=40, keys=2, workers=5))
    verdict = judge(workload, events)
    assert verdict.valid is True, verdict.reason


@pytest.mark.parametrize("workload", sorted(CHECKERS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_one_impossible_read_is_rejected(workload, data):
    events = data.draw(generate.histories(workload, max_ops=40, keys=2, workers=5))
    corrupted = generate.corrupt_read(events, data.draw(st.integers(0, 1000)))
    if corrupted is None:  # no ok read to corrupt: plant one
        corrupted = generate.corrupt_read(events + final_read(workload, events), 0)
    verdict = judge(workload, corrupted)
    assert verdict.valid is False, verdict.reason


def final_read(workload, events):
    """An ok read of a key no one touched, appended after everything."""
    time = events[-1]["time"] + 1 if events else 0
    seen = [] if workload in ("set", "append") else 0 if workload == "counter" else None
    return [
        {"process": 999, "type": "invoke", "f": "read", "key": "untouched", "value": None, "time": time},
        {"process": 999, "type": "ok", "f": "read", "key": "untouched", "value": seen, "time": time + 1},
    ]


def test_generated_history_is_well_formed_and_concurrent():
    events = generate.generate("register", 2000, keys=3, workers=8, seed=1, info_rate=0.05, fail_rate=0.05)
    ops = history.pair(history.from_dicts(events))
    assert len(ops) == 2000
    assert {op.type for op in ops} == {"ok", "fail", "info"}
    in_flight, most = 0, 0
    for event in events:
        in_flight += 1 if event["type"] == "invoke" else -1
        most = max(most, in_flight)
    assert most >= 5  # intervals really overlap


def test_generation_is_deterministic_per_seed():
    assert generate.generate("counter", 300, 2, 4, seed=5) == generate.generate("counter", 300, 2, 4, seed=5)
    assert generate.generate("counter", 300, 2, 4, seed=5) != generate.generate("counter", 300, 2, 4, seed=6)


@pytest.mark.parametrize("workload", ["register", "counter"])
def test_a_large_generated_history_with_crashes_is_linearizable(workload):
    events = generate.generate(workload, 5000, keys=1, workers=10, seed=11, info_rate=0.02, fail_rate=0.02)
    verdict = judge(workload, events)
    assert verdict.valid is True, verdict.reason


def test_random_schedule_uses_every_function():
    steps = generate.random_schedule(random.Random(0), "register", 200, keys=2, workers=3)
    assert {step.f for step in steps} == {"read", "write", "cas"}
