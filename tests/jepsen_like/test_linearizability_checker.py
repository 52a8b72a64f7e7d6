"""Linearizability of registers and counters: hand-written cases, evidence, budgets,
and agreement with a brute-force oracle on small arbitrary histories."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepsen_like import generate, history, linearizability
from jepsen_like.history import HistoryError


def judge(text, model="register", **kwargs):
    return linearizability.check(history.pair(history.from_text(text)), model, **kwargs)


# name, model, history, expected valid
CASES = [
    ("sequential write then read", "register", """
        0 invoke write 1
        0 ok write 1
        1 invoke read
        1 ok read 1
     """, True),
    ("never-written register reads null", "register", """
        0 invoke read
        0 ok read null
     """, True),
    ("never-written register reads a value", "register", """
        0 invoke read
        0 ok read 5
     """, False),
    ("stale read after a later write", "register", """
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        2 invoke read
        2 ok read 1
     """, False),
    ("concurrent writes, later read sees the older one", "register", """
        0 invoke write 1
        1 invoke write 2
        0 ok write 1
        1 ok write 2
        2 invoke read
        2 ok read 1
     """, True),
    ("concurrent writes, two reads disagree on their order", "register", """
        0 invoke write 1
        1 invoke write 2
        0 ok write 1
        1 ok write 2
        2 invoke read
        2 ok read 2
        2 invoke read
        2 ok read 1
     """, False),
    ("read concurrent with a write may see either value", "register", """
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        1 invoke read
        1 ok read 1
        2 invoke read
        2 ok read 2
        0 ok write 2
     """, True),
    ("timed-out write observed later", "register", """
        0 invoke write 1
        0 info write 1
        1 invoke read
        1 ok read null
        1 invoke read
        1 ok read 1
     """, True),
    ("timed-out write observed, then unobserved", "register", """
        0 invoke write 1
        0 info write 1
        1 invoke read
        1 ok read 1
        1 invoke read
        1 ok read null
     """, False),
    ("write never completed, never observed", "register", """
        0 invoke write 1
        1 invoke read
        1 ok read null
     """, True),
    ("a failed write never happened", "register", """
        0 invoke write 1
        0 fail write 1
        1 invoke read
        1 ok read 1
     """, False),
    ("a cas that succeeds twice", "register", """
        0 invoke write 0
        0 ok write 0
        1 invoke cas [0,1]
        1 ok cas [0,1]
        2 invoke cas [0,1]
        2 ok cas [0,1]
     """, False),
    ("two cas succeed with a write between them", "register", """
        0 invoke write 0
        0 ok write 0
        1 invoke cas [0,1]
        1 ok cas [0,1]
        0 invoke write 0
        2 invoke cas [0,1]
        0 ok write 0
        2 ok cas [0,1]
     """, True),
    ("a failed cas did not happen", "register", """
        0 invoke write 0
        0 ok write 0
        1 invoke cas [0,1]
        1 fail cas [0,1]
        2 invoke read
        2 ok read 1
     """, False),
    ("a timed-out cas may have happened", "register", """
        0 invoke write 0
        0 ok write 0
        1 invoke cas [0,1]
        1 info cas [0,1]
        2 invoke read
        2 ok read 1
     """, True),
    ("a timed-out cas happens at most once", "register", """
        0 invoke write 0
        0 ok write 0
        1 invoke cas [0,1]
        1 info cas [0,1]
        2 invoke read
        2 ok read 1
        2 invoke write 0
        2 ok write 0
        2 invoke read
        2 ok read 1
     """, False),
    ("counter: concurrent incrs, reads in between", "counter", """
        0 invoke incr 1
        1 invoke incr 2
        2 invoke read
        2 ok read 2
        0 ok incr 1
        1 ok incr 2
        2 invoke read
        2 ok read 3
     """, True),
    ("swap returns what it replaced", "register", """
        0 invoke write 1
        0 ok write 1
        1 invoke swap 2
        1 ok swap 1
        2 invoke read
        2 ok read 2
     """, True),
    ("swap returns a value the register no longer held", "register", """
        0 invoke write 1
        0 ok write 1
        0 invoke write 3
        0 ok write 3
        1 invoke swap 2
        1 ok swap 1
     """, False),
    ("swap's own value read back before it", "register", """
        1 invoke swap 2
        1 ok swap null
        0 invoke read
        0 ok read 2
        0 invoke swap 4
        0 ok swap 4
     """, False),
    ("a timed-out swap is a write that may land", "register", """
        1 invoke swap 2
        1 info swap 2
        0 invoke read
        0 ok read 2
     """, True),
    ("counter: read above everything invoked", "counter", """
        0 invoke incr 1
        0 ok incr 1
        1 invoke read
        1 ok read 2
     """, False),
    ("counter: reads go backwards", "counter", """
        0 invoke incr
        0 ok incr
        1 invoke read
        1 ok read 1
        1 invoke read
        1 ok read 0
     """, False),
    ("counter: a timed-out incr observed", "counter", """
        0 invoke incr 5
        0 info incr 5
        1 invoke read
        1 ok read 5
     """, True),
    ("counter: a timed-out incr counted at most once", "counter", """
        0 invoke incr 5
        0 info incr 5
        1 invoke read
        1 ok read 10
     """, False),
    ("counter: add is incr", "counter", """
        0 invoke add 3
        0 ok add 3
        1 invoke read
        1 ok read 3
     """, True),
]


@pytest.mark.parametrize(("name", "model", "text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_hand_written_histories(name, model, text, expected):
    verdict = judge(text, model)
    assert verdict.valid is expected, verdict.reason


def test_keys_are_checked_apart_and_evidence_names_the_key():
    verdict = judge("""
        0 invoke write 1 k=a
        0 ok write 1 k=a
        1 invoke read k=b
        1 ok read 1 k=b
    """)
    assert verdict.valid is False
    assert verdict.evidence["key"] == "b"
    assert verdict.evidence["op"]["lines"] == [3, 4]


def test_stale_read_evidence_window_prefix_and_states():
    verdict = judge("""
        0 invoke write 0
        0 ok write 0
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        2 invoke read
        2 ok read 1
        2 invoke read
        2 ok read 2
    """)
    evidence = verdict.evidence
    assert verdict.valid is False
    assert evidence["op"]["lines"] == [7, 8] and evidence["op"]["result"] == 1
    assert evidence["states"] == [2]
    assert evidence["prefix"] == {"through_line": 7, "completed_ops": 3}
    window = evidence["window"]
    assert (window["from_line"], window["to_line"], window["initial_state"]) == (5, 8, "any")
    assert [op["lines"] for op in window["ops"]] == [[5, 6], [7, 8]]


def test_window_from_the_initial_state_when_no_smaller_one_proves_it():
    verdict = judge("""
        1 invoke read
        1 ok read 1
        0 invoke write 1
        0 ok write 1
    """)
    window = verdict.evidence["window"]
    assert verdict.valid is False
    assert window["initial_state"] is None and window["op_count"] == 1


def test_a_read_of_a_value_never_written_is_its_own_window():
    verdict = judge("""
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        1 invoke read
        1 ok read 9
    """)
    assert verdict.valid is False
    assert [op["lines"] for op in verdict.evidence["window"]["ops"]] == [[5, 6]]
    assert verdict.evidence["prefix"] == {"through_line": 5, "completed_ops": 2}


def test_the_first_violation_is_reported_even_before_a_doomed_read():
    verdict = judge("""
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke read
        1 ok read 1
        1 invoke read
        1 ok read 9
    """)
    assert verdict.evidence["op"]["lines"] == [5, 6]


def test_out_of_time_is_unknown_never_a_guess():
    events = generate.generate("register", 20000, keys=1, workers=10, seed=7)
    ops = history.pair(history.from_dicts(events))
    verdict = linearizability.check(ops, "register", time_limit_s=0.0)
    assert verdict.valid is None
    assert verdict.evidence["unknown_keys"] == ["k0"]
    assert verdict.exit_code == 2


def test_long_history_with_a_late_stale_read_is_refuted():
    events = generate.generate("register", 20000, keys=1, workers=10, seed=3)
    time = events[-1]["time"]
    process = max(event["process"] for event in events) + 1
    for offset, (kind, f, value) in enumerate([
        ("invoke", "write", 100), ("ok", "write", 100), ("invoke", "write", 101), ("ok", "write", 101),
        ("invoke", "read", None), ("ok", "read", 100),
    ]):
        events.append({"process": process, "type": kind, "f": f, "key": "k0", "value": value, "time": time + offset})
    verdict = linearizability.check(history.pair(history.from_dicts(events)), "register", time_limit_s=30)
    assert verdict.valid is False
    assert verdict.evidence["op"]["result"] == 100
    assert [op["value"] for op in verdict.evidence["window"]["ops"]][-2:] == [101, None]


@pytest.mark.parametrize(("text", "words"), [
    ("0 invoke append 1\n0 ok append 1", "has no function 'append'"),
    ("0 invoke cas 1\n0 ok cas 1", "cas value must be [expected, new]"),
])
def test_model_rejects_what_it_cannot_judge(text, words):
    with pytest.raises(HistoryError, match=r"^line 1: ") as raised:
        judge(text)
    assert words in str(raised.value)


def test_counter_rejects_a_non_integer_delta():
    with pytest.raises(HistoryError, match="integer delta"):
        judge("0 invoke incr \"x\"\n0 ok incr \"x\"", "counter")


# -- brute force oracle ---------------------------------------------------------

LEN_MAX = 12  # events drawn per arbitrary history


def brute_force(ops, model, init="default"):
    """Try every order: every completed ok op placed, info ops and ok ops cut off by
    `truncated` (no completion) optional, real time respected."""
    ops = [op for op in ops if op.type != "fail" and not (op.f == "read" and not op.ok)]
    if init == "default":
        init = 0 if model == "counter" else None
    end = {id(op): op.complete_line if op.ok and op.complete is not None else float("inf") for op in ops}

    def ready(op, placed):
        return all(id(other) in placed for other in ops if end[id(other)] < op.invoke.line)

    def step(state, op):
        if op.f == "read":
            return state if state == op.result else "impossible"
        if model == "counter":
            return state + (1 if op.value is None else op.value)
        if op.f == "write" or (op.f == "swap" and not op.ok):
            return op.value
        if op.f == "swap":
            return op.value if state == op.result else "impossible"
        expected, new = op.value
        if state == expected:
            return new
        return state if not op.ok else "impossible"

    def search(state, placed):
        if all(id(op) in placed or end[id(op)] == float("inf") for op in ops):
            return True
        for op in ops:
            if id(op) not in placed and ready(op, placed):
                after = step(state, op)
                if after != "impossible" and search(after, placed | {id(op)}):
                    return True
        return False

    return search(init, frozenset())


@st.composite
def arbitrary_histories(draw, model):
    """Any well-formed single-key history (not necessarily linearizable)."""
    rows, busy = [], {}
    for process in draw(st.lists(st.integers(0, 3), max_size=LEN_MAX)):
        if process in busy:
            f, value = busy.pop(process)
            kind = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail"]))
            result = draw(st.integers(0, 3) if model == "counter" else st.none() | st.integers(0, 2))
            rows.append({"process": process, "type": kind, "f": f,
                         "value": result if f in ("read", "swap") and kind == "ok" else value})
        else:
            f = draw(st.sampled_from(["read", "incr"] if model == "counter" else ["read", "write", "cas", "swap"]))
            value = {"read": st.none(), "incr": st.integers(-1, 2), "write": st.integers(0, 2), "swap": st.integers(0, 2),
                     "cas": st.lists(st.integers(0, 2), min_size=2, max_size=2)}[f]
            busy[process] = (f, draw(value))
            rows.append({"process": process, "type": "invoke", "f": f, "value": busy[process][1]})
    return [dict(row, time=index) for index, row in enumerate(rows)]


@pytest.mark.parametrize("model", ["register", "counter"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_agrees_with_brute_force(model, data):
    assert_agrees_with_brute_force(data.draw(arbitrary_histories(model)), model)


def assert_agrees_with_brute_force(events, model):
    """Same verdict as brute force; when invalid, the prefix, the culprit and the window check out."""
    ops = history.pair(history.from_dicts(events))
    verdict = linearizability.check(ops, model)
    assert verdict.valid is brute_force(ops, model)
    if verdict.valid is False:  # the prefix before the culprit's completion is linearizable; with it, not
        end = verdict.evidence["op"]["lines"][1]
        assert verdict.evidence["prefix"]["through_line"] == end - 1
        assert brute_force(still_running(truncated(ops, end - 1)), model)
        assert not brute_force(truncated(ops, end), model)
        assert not window_linearizable(ops, verdict.evidence["window"], model)


def window_linearizable(ops, window, model):
    """Brute force a window from every initial state, each crossing operation
    either folded into that state or taking effect inside."""
    lines = {op["lines"][0] for op in window["ops"] + window["crossing"]}
    inside = truncated([op for op in ops if op.invoke.line in lines], window["to_line"])
    if window["initial_state"] != "any":
        return brute_force(inside, model)
    crossing = [op for op in inside if op.invoke.line < window["from_line"]]
    seen = [op.result for op in inside if op.f == "read" and op.ok and isinstance(op.result, int)]
    values = [op.value[1] if op.f == "cas" else op.value for op in ops
              if op.f in ("write", "cas", "swap") and op.type != "fail"]  # all the register could ever hold
    monotone = all((op.value or 0) >= 0 for op in ops if op.f == "incr" and op.type != "fail")
    low = 0 if monotone else -2 * len(ops)  # a counter that only grows starts the window at >= 0
    starts = range(low, max(seen, default=0) + 2 * len(ops) + 1) if model == "counter" else [None, *values]
    for folded in itertools.chain.from_iterable(
        itertools.combinations(crossing, size) for size in range(len(crossing) + 1)
    ):
        kept = [op for op in inside if op not in folded]
        if any(brute_force(kept, model, start) for start in starts):
            return True
    return False


def still_running(ops):
    """A prefix as it stood at its cut: an operation not yet returned has an unknown outcome
    (it may take effect, whatever it will be seen to return: a swap that returns a value never
    written may still have written its own)."""
    return [op._replace(type="info", result=None) if op.complete is None and op.ok else op for op in ops]


def truncated(ops, last_line):
    """The history through `last_line`, knowing what every operation returned, as the
    checker does: later invocations dropped, an ok operation completing later optional
    (it may not have taken effect yet; if it has, it returned what it did)."""
    out = []
    for op in ops:
        if op.invoke.line > last_line:
            continue
        if op.complete is not None and op.complete.line > last_line and op.type != "fail":
            op = op._replace(complete=None) if op.ok else op._replace(type="info", result=None, complete=None)
        out.append(op)
    return out
