"""The expiry checker: stale reads, wrong TTLs, unexpected elements and keys gone early."""

import pytest

from jepsen_like import expiry, history
from jepsen_like.history import HistoryError


def judge(text):
    events = history.from_text(text)
    return expiry.check(history.pair(events), expiry.disruptions(events))


def test_reads_within_and_after_the_deadline_are_valid():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [7,60,1040]     # 1000 + 100 = 1040 + 60
        1 invoke read
        1 ok read [7,0,1100]      # the deadline's own millisecond still serves it
        1 invoke read
        1 ok read [null,-2,1101]
    """)
    assert verdict.valid is True
    assert verdict.evidence["reads"] == 3


def test_an_element_served_after_its_deadline_is_stale():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [7,0,1101]
    """)
    assert verdict.valid is False
    [stale] = verdict.evidence["stale"]
    assert (stale["deadline_ms"], stale["read_at_ms"]) == (1100, 1101)
    assert stale["write"]["lines"] == [1, 2]


@pytest.mark.parametrize("pttl", [-1, -2, 59, 61])
def test_a_ttl_other_than_the_writes_is_wrong(pttl):
    verdict = judge(f"""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [7,{pttl},1040]
    """)
    assert verdict.valid is False
    assert verdict.evidence["wrong_ttl"][0]["pttl"] == pttl


def test_a_write_of_unknown_outcome_excuses_its_deadline_but_not_a_missing_ttl():
    timed_out = """
        0 invoke write [7,100]
        0 info write
        1 invoke read
        1 ok read [7,{pttl},5000]
    """
    assert judge(timed_out.format(pttl=10)).valid is True
    assert judge(timed_out.format(pttl=-1)).valid is False


def test_an_element_nobody_wrote_is_unexpected():
    verdict = judge("""
        0 invoke write [7,100]
        0 fail write
        1 invoke read
        1 ok read [7,50,1000]
    """)
    assert verdict.valid is False
    assert verdict.evidence["unexpected"][0]["read"]["result"] == [7, 50, 1000]


def test_a_key_gone_before_its_deadline_is_early():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [null,-2,1100]
    """)
    assert verdict.valid is False
    [early] = verdict.evidence["early"]
    assert (early["deadline_ms"], early["read_at_ms"]) == (1100, 1100)


def test_a_write_that_may_have_come_between_excuses_a_missing_key():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        2 invoke write [8,1]      # may have replaced 7 and expired before the read
        1 invoke read
        1 ok read [null,-2,1050]
        2 ok write [8,1,1001]
    """)
    assert verdict.valid is True


def test_a_write_known_to_come_before_the_last_one_does_not_excuse():
    verdict = judge("""
        2 invoke write [8,1]
        2 ok write [8,1,990]
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [null,-2,1050]
    """)
    assert verdict.valid is False
    assert verdict.evidence["early"][0]["write"]["value"] == [7, 100]


def test_a_write_of_unknown_outcome_may_land_after_the_last_one_and_excuses():
    """Its client gave up on it first, but it may still reach the server (held by a partition)."""
    verdict = judge("""
        2 invoke write [8,1]
        2 info write
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke read
        1 ok read [null,-2,1050]
    """)
    assert verdict.valid is True


def test_a_watched_write_whose_exec_ran_after_the_watched_key_expired_is_caught():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        1 invoke watched-write [8,500]
        1 ok watched-write [8,500,1101,1050,50]
    """)
    assert verdict.valid is False
    [late] = verdict.evidence["exec_after_expiry"]
    assert (late["deadline_ms"], late["exec_at_ms"]) == (1100, 1101)
    in_time = judge("""
        1 invoke watched-write [8,500]
        1 ok watched-write [8,500,1100,1050,50]
        1 invoke read
        1 ok read [8,500,1100]
    """)
    assert in_time.valid is True


@pytest.mark.parametrize("fault, event", [("kill", "start"), ("power", "start"), ("clock", "end")])
def test_a_crash_or_clock_jump_between_excuses_a_missing_key(fault, event):
    verdict = judge(f"""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        nemesis info {fault} {{"event":"{event}"}}
        1 invoke read
        1 ok read [null,-2,1050]
    """)
    assert verdict.valid is True


def test_a_fault_that_loses_nothing_excuses_nothing():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        nemesis info pause {"event":"start"}
        nemesis info kill {"event":"end"}
        1 invoke read
        1 ok read [null,-2,1050]
    """)
    assert verdict.valid is False


def test_keys_are_judged_apart():
    verdict = judge("""
        0 invoke write [7,100] k=a
        0 ok write [7,100,1000] k=a
        1 invoke read k=b
        1 ok read [null,-2,1050] k=b
    """)
    assert verdict.valid is True


def test_a_write_without_ttl_lives_until_overwritten_and_shows_none():
    verdict = judge("""
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        0 invoke write [8,-1]
        0 ok write [8,-1,1010]
        1 invoke read
        1 ok read [8,-1,90000]
    """)
    assert verdict.valid is True


def test_a_write_without_ttl_whose_key_keeps_the_old_ttl_is_caught():
    kept = """
        0 invoke write [7,100]
        0 ok write [7,100,1000]
        0 invoke write [8,-1]
        0 ok write [8,-1,1010]
        1 invoke read
        1 ok {read}
    """
    served_with_ttl = judge(kept.format(read="read [8,50,1050]"))
    assert served_with_ttl.valid is False and served_with_ttl.evidence["wrong_ttl"][0]["pttl"] == 50
    gone = judge(kept.format(read="read [null,-2,1200]"))
    assert gone.valid is False
    [early] = gone.evidence["early"]
    assert early["deadline_ms"] is None and early["write"]["lines"] == [3, 4]


@pytest.mark.parametrize("text", [
    "0 invoke add 1\n0 ok add 1",
    "0 invoke write 7\n0 ok write 7",
    "0 invoke write [7,0]\n0 ok write [7,0,1000]",
    "0 invoke write [7,-2]\n0 ok write [7,-2,1000]",
    "0 invoke read\n0 ok read [7,null,1000]",
])
def test_a_malformed_history_is_refused(text):
    with pytest.raises(HistoryError):
        judge(text)


def test_a_replica_may_lag_but_never_serves_past_the_deadline():
    lagging = """
        0 invoke write [1,1000]
        0 ok write [1,1000,5000]
        1 invoke replica-read null
        1 ok replica-read [null,-2,5500]
    """
    assert judge(lagging).valid is True  # the write had not reached the replica: no anomaly
    stale = judge("""
        0 invoke write [1,1000]
        0 ok write [1,1000,5000]
        1 invoke replica-read null
        1 ok replica-read [1,0,6001]
    """)
    assert stale.valid is False and stale.evidence["stale"]
