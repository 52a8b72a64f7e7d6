"""The queue checker: unexpected, duplicated, lost and reordered elements."""

import pytest

from jepsen_like import history, queue
from jepsen_like.history import HistoryError


def judge(text):
    return queue.check(history.pair(history.from_text(text)))


def test_elements_out_once_in_order_or_left_are_valid():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        0 invoke enqueue 3
        0 ok enqueue 3
        1 invoke dequeue
        1 ok dequeue 1
        1 invoke dequeue
        1 ok dequeue 2
        2 invoke read
        2 ok read [3]
    """)
    assert verdict.valid is True
    assert verdict.evidence["acknowledged_enqueues"] == 3


def test_an_empty_dequeue_and_a_failed_enqueue_are_fine():
    verdict = judge("""
        1 invoke dequeue
        1 ok dequeue null
        0 invoke enqueue 1
        0 fail enqueue 1
        2 invoke read
        2 ok read []
    """)
    assert verdict.valid is True


def test_an_element_out_twice_is_duplicated():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
        1 invoke dequeue
        1 ok dequeue 1
        1 invoke dequeue
        1 ok dequeue 1
        2 invoke read
        2 ok read []
    """)
    assert verdict.valid is False
    assert verdict.evidence["problems"][0]["duplicated"] == ["1"]


def test_an_element_dequeued_and_still_left_is_duplicated():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
        1 invoke dequeue
        1 ok dequeue 1
        2 invoke read
        2 ok read [1]
    """)
    assert verdict.valid is False
    assert "duplicated" in verdict.evidence["problems"][0]


def test_an_element_nobody_enqueued_is_unexpected():
    verdict = judge("""
        0 invoke enqueue 1
        0 fail enqueue 1
        1 invoke dequeue
        1 ok dequeue 1
        2 invoke read
        2 ok read [5]
    """)
    assert verdict.valid is False
    assert verdict.evidence["problems"][0]["unexpected"] == ["1", "5"]


def test_an_acknowledged_element_gone_is_lost():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
        2 invoke read
        2 ok read []
    """)
    assert verdict.valid is False
    [problem] = verdict.evidence["problems"]
    assert problem["lost_count"] == 1 and problem["lost"][0]["value"] == 1


def test_a_dequeue_of_unknown_outcome_may_have_taken_one():
    text = """
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue
        1 info dequeue
        2 invoke read
        2 ok read {left}
    """
    assert judge(text.format(left="[2]")).valid is True
    assert judge(text.format(left="[]")).valid is False  # one unknown dequeue cannot take two


def test_the_later_element_out_first_is_reordered():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue
        1 ok dequeue 2
        1 invoke dequeue
        1 ok dequeue 1
        2 invoke read
        2 ok read []
    """)
    assert verdict.valid is False
    [pair] = verdict.evidence["problems"][0]["reordered"]
    assert (pair["earlier"]["value"], pair["later"]["value"]) == (1, 2)


@pytest.mark.parametrize("taken, left", [("2", "[1]"), ("null", "[2,1]")])
def test_an_earlier_element_left_behind_a_later_one_is_reordered(taken, left):
    verdict = judge(f"""
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue
        1 ok dequeue {taken}
        2 invoke read
        2 ok read {left}
    """)
    assert verdict.valid is False
    assert "reordered" in verdict.evidence["problems"][0]


def test_concurrent_enqueues_may_come_out_either_way():
    verdict = judge("""
        0 invoke enqueue 1
        3 invoke enqueue 2
        0 ok enqueue 1
        3 ok enqueue 2
        1 invoke dequeue
        1 ok dequeue 2
        1 invoke dequeue
        1 ok dequeue 1
        2 invoke read
        2 ok read []
    """)
    assert verdict.valid is True


def test_a_key_without_a_final_read_is_unknown():
    verdict = judge("""
        0 invoke enqueue 1
        0 ok enqueue 1
    """)
    assert verdict.valid is None


def test_a_malformed_history_is_refused():
    with pytest.raises(HistoryError):
        judge("0 invoke add 1\n0 ok add 1")
