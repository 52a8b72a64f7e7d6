"""The reference checker: each reply against a sequential Redis, while the state is known."""

import json

import pytest

from jepsen_like import expiry, history, reference
from jepsen_like.history import HistoryError


def judge(text):
    events = history.from_text(text)
    return reference.check(history.pair(events), expiry.disruptions(events, clocks=False))


def test_replies_that_follow_from_the_commands_before_are_valid():
    verdict = judge("""
        0 invoke cmd ["RPUSH","l","a","b"] k=g
        0 ok cmd 2 k=g
        0 invoke cmd ["LINSERT","l","AFTER","a","c"] k=g
        0 ok cmd 3 k=g
        0 invoke cmd ["SADD","t","b","a"] k=g
        0 ok cmd 2 k=g
        0 invoke cmd ["SMEMBERS","t"] k=g
        0 ok cmd ["b","a"] k=g
        final invoke read [["LRANGE","l","0","-1"],["GET","s"]] k=g
        final ok read [["a","c","b"],null] k=g
    """)
    assert verdict.valid is True
    assert verdict.evidence["judged"] == 5


def test_a_reply_redis_would_not_give_is_caught_with_what_it_should_have_been():
    verdict = judge("""
        0 invoke cmd ["RPUSH","l","a","b"] k=g
        0 ok cmd 2 k=g
        0 invoke cmd ["LINSERT","l","AFTER","a","c"] k=g
        0 ok cmd 3 k=g
        0 invoke cmd ["LRANGE","l","0","-1"] k=g
        0 ok cmd ["c","a","b"] k=g
    """)
    assert verdict.valid is False
    [anomaly] = verdict.evidence["anomalies"]
    assert anomaly["got"] == ["c", "a", "b"] and anomaly["expected"] == ["a", "c", "b"]
    assert anomaly["op"]["lines"] == [5, 6]


def test_a_wrong_read_at_the_end_is_caught():
    verdict = judge("""
        0 invoke cmd ["ZADD","z","2","m"] k=g
        0 ok cmd 1 k=g
        final invoke read [["ZRANGE","z","0","-1","WITHSCORES"]] k=g
        final ok read [["m","3"]] k=g
    """)
    assert verdict.valid is False


def test_a_refused_command_did_nothing():
    verdict = judge("""
        0 invoke cmd ["SET","s","1"] k=g
        0 fail cmd null k=g
        0 invoke cmd ["GET","s"] k=g
        0 ok cmd "1" k=g
    """)
    assert verdict.valid is False  # the GET shows the refused SET took effect


def test_an_unknown_outcome_ends_the_judging_of_its_key_only():
    verdict = judge("""
        0 invoke cmd ["SET","s","1"] k=g
        0 info cmd null k=g
        2 invoke cmd ["GET","s"] k=g
        2 ok cmd "anything" k=g
        1 invoke cmd ["GET","s"] k=h
        1 ok cmd "1" k=h
    """)
    assert verdict.valid is False
    assert [anomaly["key"] for anomaly in verdict.evidence["anomalies"]] == ["h"]
    assert verdict.evidence["unjudged"] == 1


@pytest.mark.parametrize(("fault", "excused"), [("kill", True), ("power", True), ("pause", False), ("clock", False)])
def test_a_crash_between_commands_ends_the_judging(fault, excused):
    verdict = judge(f"""
        0 invoke cmd ["SET","s","1"] k=g
        0 ok cmd "OK" k=g
        nemesis info {fault} {{"event":"start"}}
        0 invoke cmd ["GET","s"] k=g
        0 ok cmd null k=g
    """)
    assert verdict.valid is (True if excused else False)


def test_a_history_with_nothing_to_judge_is_unknown():
    verdict = judge("""
        0 invoke cmd ["SET","s","1"] k=g
        0 info cmd null k=g
    """)
    assert verdict.valid is None


@pytest.mark.parametrize("text", [
    "0 invoke write 1\n0 ok write 1",
    '0 invoke cmd "GET"\n0 ok cmd null',
    '0 invoke read [["GET","s"]]\n0 ok read "x"',
])
def test_a_malformed_history_is_refused(text):
    with pytest.raises(HistoryError):
        judge(text)


def test_a_transaction_doomed_when_queued_must_abort_and_do_nothing():
    aborted = """
        0 invoke cmd ["SET","s","1"] k=g
        0 ok cmd "OK" k=g
        0 invoke aborted ["APPEND","s","2"] k=g
        0 ok aborted %s k=g
        0 invoke cmd ["GET","s"] k=g
        0 ok cmd %s k=g
    """
    execabort = json.dumps(reference.EXEC_ABORTED, separators=(",", ":")).replace(" ", "\\u0020")  # one token
    assert judge(aborted % (execabort, '"1"')).valid is True
    ran_anyway = judge(aborted % ('[2]', '"12"'))
    assert ran_anyway.valid is False
    assert ran_anyway.evidence["anomalies"][0]["expected"] == reference.EXEC_ABORTED
    assert judge(aborted % (execabort, '"12"')).valid is False  # aborted, yet it ran
