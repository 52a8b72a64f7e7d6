"""The bank checker: reads must always sum to the total."""

from jepsen_like import bank, history


def judge(text):
    return bank.check(history.pair(history.from_text(text)))


def test_reads_that_sum_to_zero_are_valid_whatever_transfers_did():
    verdict = judge("""
        0 invoke transfer [0,1,5] k=b
        0 ok transfer null k=b
        1 invoke transfer [1,2,3] k=b
        1 fail transfer null k=b
        2 invoke transfer [2,0,1] k=b
        3 invoke read null k=b
        3 ok read [-5,5,0,0] k=b
        2 info transfer null k=b
        3 invoke read null k=b
        3 ok read [-4,5,-1,0] k=b
    """)
    assert verdict.valid is True and verdict.evidence["reads"] == 2


def test_a_half_done_transfer_or_a_lost_update_is_a_wrong_total():
    verdict = judge("""
        0 invoke read null k=b
        0 ok read [-5,0,0,0] k=b
        0 invoke read null k=c
        0 ok read [3,3,-3,0] k=c
    """)
    assert verdict.valid is False
    assert verdict.evidence["anomaly_counts"] == {"wrong-total": 2}
    assert [a["total"] for a in verdict.evidence["anomalies"]] == [-5, 3]


def test_reads_of_other_shapes_are_malformed():
    verdict = judge("""
        0 invoke read null k=b
        0 ok read [0,0,0,0] k=b
        0 invoke read null k=b
        0 ok read [0,0] k=b
        0 invoke read null k=b
        0 ok read [0,"x",0,0] k=b
    """)
    assert verdict.evidence["anomaly_counts"] == {"malformed": 2}


def test_a_history_without_reads_is_unknown():
    assert judge("0 invoke transfer [0,1,1] k=b\n0 ok transfer null k=b").valid is None
