"""The list-append checker: each anomaly, with the operations that prove it."""

import pytest

from jepsen_like import history, list_append
from jepsen_like.history import HistoryError
from jepsen_like.verdict import ANOMALIES_SHOWN_MAX


def judge(text):
    return list_append.check(history.pair(history.from_text(text)))


def test_reads_that_are_prefixes_of_one_order_are_valid():
    verdict = judge("""
        0 invoke append 1
        0 ok append 1
        1 invoke append 2
        2 invoke read
        2 ok read [1]
        1 ok append 2
        2 invoke read
        2 ok read [1,2]
        0 invoke append 3
        0 info append 3
        2 invoke read
        2 ok read [1,2,3]
    """)
    assert verdict.valid is True, verdict.reason


@pytest.mark.parametrize(("name", "text", "kind", "op_lines"), [
    ("two reads disagree on the order", """
        0 invoke append 1
        1 invoke append 2
        0 ok append 1
        1 ok append 2
        2 invoke read
        2 ok read [1,2]
        2 invoke read
        2 ok read [2,1]
     """, "incompatible-order", [[7, 8], [5, 6]]),
    ("a read lists a value twice", """
        0 invoke append 1
        0 ok append 1
        2 invoke read
        2 ok read [1,1]
     """, "duplicate-element", [[3, 4]]),
    ("a read holds a value never appended", """
        2 invoke read
        2 ok read [5]
     """, "unexpected-element", [[1, 2]]),
    ("a read holds a value whose append failed", """
        0 invoke append 1
        0 fail append 1
        2 invoke read
        2 ok read [1]
     """, "aborted-read", [[1, 2], [3, 4]]),
    ("an acknowledged append is missing from the final read", """
        0 invoke append 1
        0 ok append 1
        0 invoke append 2
        0 ok append 2
        2 invoke read
        2 ok read [1]
     """, "lost-append", [[3, 4], [5, 6]]),
])
def test_each_anomaly_names_its_operations(name, text, kind, op_lines):
    verdict = judge(text)
    assert verdict.valid is False
    assert verdict.evidence["anomaly_counts"] == {kind: 1}
    [anomaly] = verdict.evidence["anomalies"]
    assert anomaly["type"] == kind
    assert [op["lines"] for op in anomaly["ops"]] == op_lines


def test_incompatible_order_reports_where_the_reads_part():
    verdict = judge("""
        0 invoke append 1
        0 ok append 1
        0 invoke append 2
        0 ok append 2
        0 invoke append 3
        0 ok append 3
        2 invoke read
        2 ok read [1,3]
        2 invoke read
        2 ok read [1,2,3]
    """)
    [anomaly] = verdict.evidence["anomalies"]
    assert (anomaly["index"], anomaly["values"]) == (1, [3, 2])


def test_an_append_concurrent_with_the_final_read_may_be_missing():
    verdict = judge("""
        0 invoke append 1
        2 invoke read
        2 ok read []
        0 ok append 1
    """)
    assert verdict.valid is True


def test_acknowledged_appends_never_read_are_unknown():
    verdict = judge("0 invoke append 1 k=x\n0 ok append 1 k=x")
    assert verdict.valid is None and verdict.evidence["unread_keys"] == ["x"]


def test_many_anomalies_are_counted_in_full_and_shown_in_part():
    text = "\n".join(f"0 invoke read\n0 ok read [{value}]" for value in range(50))
    verdict = judge(text)
    assert verdict.evidence["anomaly_counts"]["unexpected-element"] == 50
    shown = [a for a in verdict.evidence["anomalies"] if a["type"] == "unexpected-element"]
    assert len(shown) == ANOMALIES_SHOWN_MAX


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0 invoke append 1\n0 ok append 1\n0 invoke append 1\n0 ok append 1", 3, "already appended"),
    ("0 invoke read\n0 ok read 3", 2, "must return a list"),
    ("0 invoke add 1\n0 ok add 1", 1, "no function 'add'"),
])
def test_malformed_append_histories(text, line, words):
    with pytest.raises(HistoryError, match=f"^line {line}: ") as raised:
        judge(text)
    assert words in str(raised.value)
