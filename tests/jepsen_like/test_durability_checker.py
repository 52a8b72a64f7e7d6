"""The durability checker: lost acknowledged writes and the window they came from."""

import pytest

from jepsen_like import durability, history
from jepsen_like.durability import Write

MS = 1_000_000  # ns
CRASH = 1000 * MS


def test_nothing_lost_is_valid():
    writes = [Write("a", 1, 0, 10 * MS), Write("a", 2, 20 * MS, 30 * MS), Write("b", "x", 0, 5 * MS)]
    verdict = durability.check(writes, {"a": 2, "b": "x"}, CRASH)
    assert verdict.valid is True and verdict.evidence["lost_count"] == 0


def test_a_lost_write_is_listed_with_its_window():
    writes = [Write("a", 1, 0, 10 * MS), Write("a", 2, 20 * MS, 30 * MS), Write("b", "x", 0, 5 * MS)]
    verdict = durability.check(writes, {"a": 1, "b": "x"}, CRASH)
    assert verdict.valid is False
    assert [(w["key"], w["value"]) for w in verdict.evidence["lost"]] == [("a", 2)]
    assert verdict.evidence["window"] == {
        "first_ack_ns": 30 * MS, "last_ack_ns": 30 * MS, "oldest_before_crash_ns": 970 * MS,
    }


def test_loss_within_the_allowed_window_is_valid_but_reported():
    writes = [Write("a", 1, 0, 10 * MS), Write("a", 2, 995 * MS, 999 * MS)]
    verdict = durability.check(writes, {"a": 1}, CRASH, allowed_loss_ns=5 * MS)
    assert verdict.valid is True and verdict.evidence["lost_count"] == 1
    verdict = durability.check(writes, {"a": 1}, CRASH, allowed_loss_ns=0)
    assert verdict.valid is False


def test_overlapping_writes_may_land_in_either_order():
    writes = [Write("a", 1, 0, 10 * MS), Write("a", 2, 5 * MS, 8 * MS)]
    assert durability.check(writes, {"a": 1}, CRASH).valid is True


def test_a_missing_key_loses_every_write_to_it():
    writes = [Write("a", 1, 0, 10 * MS), Write("a", 2, 20 * MS, 30 * MS)]
    verdict = durability.check(writes, {}, CRASH)
    assert verdict.evidence["lost_count"] == 2
    assert verdict.evidence["window"]["oldest_before_crash_ns"] == 990 * MS


def test_an_unacknowledged_write_may_have_come_last():
    acked = [Write("a", 1, 0, 10 * MS)]
    maybe = [Write("a", 9, 500 * MS, None)]
    assert durability.check(acked, {"a": 9}, CRASH, unacknowledged=maybe).valid is True
    assert durability.check(acked, {"a": 9}, CRASH).valid is False


def test_values_compare_as_json():
    assert durability.check([Write("a", 1, 0, 1)], {"a": True}, CRASH).valid is False


@pytest.mark.parametrize("kind", ["add", "append"])
def test_collection_writes_need_their_element_present(kind):
    writes = [Write("s", 1, 0, 1 * MS, kind), Write("s", 2, 0, 2 * MS, kind), Write("t", 3, 0, 3 * MS, kind)]
    verdict = durability.check(writes, {"s": [2, 1], "t": [4]}, CRASH)
    assert [(w["key"], w["value"]) for w in verdict.evidence["lost"]] == [("t", 3)]


def test_writes_from_history_split_by_acknowledgement_before_the_crash():
    ops = history.pair(history.from_dicts([
        {"process": 0, "type": "invoke", "f": "write", "key": "a", "value": 1, "time": 0},
        {"process": 0, "type": "ok", "f": "write", "key": "a", "value": 1, "time": 10},
        {"process": 1, "type": "invoke", "f": "write", "key": "a", "value": 2, "time": 20},
        {"process": 2, "type": "invoke", "f": "append", "key": "l", "value": 3, "time": 25},
        {"process": 2, "type": "fail", "f": "append", "key": "l", "value": 3, "time": 26},
        {"process": 1, "type": "ok", "f": "write", "key": "a", "value": 2, "time": 40},
        {"process": 3, "type": "invoke", "f": "read", "key": "a", "value": None, "time": 41},
    ]))
    acked, maybe = durability.writes_from_history(ops, crash_ns=30)
    assert [(w.key, w.value, w.start_ns, w.ack_ns) for w in acked] == [("a", 1, 0, 10)]
    assert [(w.key, w.value, w.ack_ns) for w in maybe] == [("a", 2, None)]


def test_an_acknowledgement_after_the_crash_is_a_caller_error():
    with pytest.raises(ValueError, match="ack_ns <= crash_ns"):
        durability.check([Write("a", 1, 0, CRASH + 1)], {"a": 1}, CRASH)
