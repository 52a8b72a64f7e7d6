"""The set checker: lost, unexpected, failed-but-present and duplicated elements."""

import pytest

from jepsen_like import history, sets
from jepsen_like.history import HistoryError


def judge(text):
    return sets.check(history.pair(history.from_text(text)))


def test_every_acknowledged_add_in_the_final_read_is_valid():
    verdict = judge("""
        0 invoke add 1
        0 ok add 1
        1 invoke add 2
        1 info add 2
        2 invoke add 3
        2 fail add 3
        0 invoke read
        0 ok read [1]
    """)
    assert verdict.valid is True
    assert verdict.evidence["acknowledged_adds"] == 1


def test_lost_add_is_reported_with_its_operation():
    verdict = judge("""
        0 invoke add 1
        0 ok add 1
        0 invoke add 2
        0 ok add 2
        1 invoke read
        1 ok read [2]
    """)
    assert verdict.valid is False
    [problem] = verdict.evidence["problems"]
    assert problem["lost_count"] == 1 and problem["lost"][0]["value"] == 1
    assert problem["final_read"]["lines"] == [5, 6]


def test_only_the_final_read_counts():
    verdict = judge("""
        0 invoke add 1
        0 ok add 1
        1 invoke read
        1 ok read []
        1 invoke read
        1 ok read [1]
    """)
    assert verdict.valid is True


def test_an_add_concurrent_with_the_final_read_may_be_missing():
    verdict = judge("""
        0 invoke add 1
        1 invoke read
        0 ok add 1
        1 ok read []
    """)
    assert verdict.valid is True


@pytest.mark.parametrize(("text", "field", "expected"), [
    ("0 invoke read\n0 ok read [7]", "unexpected", [7]),
    ("0 invoke add 1\n0 ok add 1\n0 invoke read\n0 ok read [1,\"1\"]", "unexpected", ["1"]),
    ("0 invoke add 1\n0 fail add 1\n0 invoke read\n0 ok read [1]", "failed_but_present", [1]),
    ("0 invoke add 1\n0 ok add 1\n0 invoke read\n0 ok read [1,1]", "duplicated", [1]),
])
def test_elements_that_should_not_be_there(text, field, expected):
    verdict = judge(text)
    assert verdict.valid is False
    found = verdict.evidence["problems"][0][field]
    assert [item["value"] if isinstance(item, dict) else item for item in found] == expected


def test_keys_are_judged_apart():
    verdict = judge("""
        0 invoke add 1 k=a
        0 ok add 1 k=a
        0 invoke read k=b
        0 ok read [] k=b
        0 invoke read k=a
        0 ok read [1] k=a
    """)
    assert verdict.valid is True


def test_acknowledged_adds_without_a_final_read_are_unknown():
    verdict = judge("0 invoke add 1\n0 ok add 1")
    assert verdict.valid is None and verdict.evidence["unread_keys"] == [None]


@pytest.mark.parametrize(("text", "words"), [
    ("0 invoke write 1\n0 ok write 1", "no function 'write'"),
    ("0 invoke read\n0 ok read 3", "must return a list"),
])
def test_malformed_set_histories(text, words):
    with pytest.raises(HistoryError, match=words):
        judge(text)
