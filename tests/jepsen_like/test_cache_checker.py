"""The cache checker: losses the policy does not allow, stale and unexpected reads, memory over the limit."""

import pytest

from jepsen_like import cache, expiry, history
from jepsen_like.history import HistoryError

LIMIT = 1_064_960


def judge(text):
    events = history.from_text(text)
    return cache.check(history.pair(events), expiry.disruptions(events))


def written(element, volatile, policy, used=LIMIT - 500):
    """A write and its completion, reporting the memory figures and the policy."""
    flag = "true" if volatile else "false"
    return f"""
        0 invoke write [{element},{flag}]
        0 ok write [{used},{LIMIT},"{policy}"]
    """


def test_reads_of_the_last_write_and_allowed_evictions_are_valid():
    verdict = judge(written(7, False, "allkeys-lru") + """
        0 invoke read
        0 ok read 7
        0 invoke read
        0 ok read null    # evicted: any key may go under allkeys-*
    """ + written(8, False, "allkeys-lru") + """
        0 invoke read
        0 ok read 8
    """)
    assert verdict.valid is True
    assert verdict.evidence["reads"] == 3 and verdict.evidence["policies"] == ["allkeys-lru"]


@pytest.mark.parametrize("policy, volatile, allowed", [
    ("noeviction", True, False),
    ("volatile-lru", False, False),
    ("volatile-ttl", True, True),
    ("allkeys-random", False, True),
])
def test_a_missing_key_is_lost_unless_the_policy_may_evict_it(policy, volatile, allowed):
    verdict = judge(written(7, volatile, policy) + """
        1 invoke read
        1 ok read null
    """)
    assert verdict.valid is allowed
    if not allowed:
        assert verdict.evidence["lost"][0]["held"] == ["7"]


@pytest.mark.parametrize("seen", ["7", "null"])
def test_a_crash_since_the_write_excuses_a_loss_or_an_older_value(seen):
    crashed = written(7, False, "noeviction") + written(8, False, "noeviction") + f"""
        nemesis info kill {{"event":"start"}}
        1 invoke read
        1 ok read {seen}       # restarted from a snapshot taken before 8, or none
    """
    assert judge(crashed).valid is True
    assert judge(crashed.replace("kill", "pause")).valid is False  # a fault that loses nothing


@pytest.mark.parametrize("replaced_by, held", [
    (written(8, True, "allkeys-lru"), "8"),  # a later write
    ("1 invoke read\n1 ok read null\n", "null"),  # an eviction seen: the value must not come back
])
def test_a_value_replaced_since_is_stale(replaced_by, held):
    verdict = judge(written(7, True, "allkeys-lru") + replaced_by + """
        1 invoke read
        1 ok read 7
    """)
    assert verdict.valid is False
    assert verdict.evidence["stale"][0]["held"] == [held]


def test_a_refused_write_that_shows_is_unexpected_and_an_unknown_one_may_show():
    refused = judge(written(7, False, "noeviction") + """
        0 invoke write [8,false]
        0 fail write "OOM"
        1 invoke read
        1 ok read 8
    """)
    assert refused.valid is False
    assert refused.evidence["unexpected"][0]["read"]["result"] == 8
    unknown = judge(written(7, False, "noeviction") + """
        0 invoke write [8,false]
        0 info write
        1 invoke read
        1 ok read 8
    """)
    assert unknown.valid is True


def test_memory_past_maxmemory_and_a_write_is_over():
    verdict = judge(written(7, False, "allkeys-lru", used=LIMIT + cache.OVER_MAX_BYTES + 1)
                    + written(8, False, "allkeys-lru", used=LIMIT + cache.OVER_MAX_BYTES))
    assert verdict.valid is False
    [over] = verdict.evidence["over_memory"]
    assert over["used_memory"] == LIMIT + cache.OVER_MAX_BYTES + 1


def test_keys_are_judged_apart():
    verdict = judge("""
        0 invoke write [7,false] k=a
        0 ok write [100,0,"noeviction"] k=a
        1 invoke read k=b
        1 ok read null k=b
        1 invoke read k=a
        1 ok read 7 k=a
    """)
    assert verdict.valid is True and verdict.evidence["keys"] == 2


def test_no_successful_write_is_unknown_and_a_malformed_history_raises():
    assert judge("""
        0 invoke read
        0 ok read null
    """).valid is None
    with pytest.raises(HistoryError):
        judge("""
            0 invoke write 7
            0 ok write [1,2,"noeviction"]
        """)
    with pytest.raises(HistoryError):
        judge("""
            0 invoke write [7,true]
            0 ok write [1,2]
        """)
