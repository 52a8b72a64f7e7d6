"""The bank workload: blind and watched transfers keep every read's total at zero."""

from collections import Counter

import pytest

from jepsen_like.history import pair
from sim.workloads import BANK_POISON, Pause, _watched_transfer, bank_accounts
from sim.world import RunConfig, run


def test_transfers_commit_and_abort_and_every_read_sums_to_zero():
    result = run(RunConfig(seed=1, workload="bank", clients=5, duration_ms=10_000, think_ms_mean=20))
    assert result.verdicts["bank"].valid is True, result.verdicts["bank"]
    outcomes = Counter(op.type for op in pair(result.history) if op.f == "transfer")
    assert outcomes["ok"] > 50 and outcomes["fail"] > 10  # watched ones abort or find too little
    reads = [op.result for op in pair(result.history) if op.f == "read" and op.ok]
    assert any(any(balance) for balance in reads)


def test_a_watched_transfer_without_the_amount_discards_a_poisoned_transaction():
    source, target = bank_accounts(b"k1")[:2]
    conversation = _watched_transfer(source, target, 5, 0)
    assert next(conversation) == [[b"WATCH", source, target], [b"MGET", source, target]]
    assert conversation.send([b"OK", [b"3", None]]) == [
        [b"MULTI"], [b"SET", source, b"%d" % (3 - BANK_POISON)], [b"DISCARD"]]
    with pytest.raises(StopIteration) as done:
        conversation.send([b"OK", b"QUEUED", b"OK"])
    assert done.value.value == ("fail", None)


def test_a_watched_transfer_aborted_by_a_change_fails():
    source, target = bank_accounts(b"k1")[:2]
    conversation = _watched_transfer(source, target, 2, 0)
    next(conversation)
    assert conversation.send([b"OK", [b"3", b"-3"]]) == [
        [b"MULTI"], [b"SET", source, b"1"], [b"SET", target, b"-1"], [b"EXEC"]]
    with pytest.raises(StopIteration) as done:
        conversation.send([b"OK", b"QUEUED", b"QUEUED", None])
    assert done.value.value == ("fail", None)


def test_a_watched_transfer_thinks_between_its_read_and_its_write():
    source, target = bank_accounts(b"k1")[:2]
    conversation = _watched_transfer(source, target, 2, 40)
    next(conversation)
    assert conversation.send([b"OK", [b"3", b"-3"]]) == Pause(40)
    assert conversation.send([]) == [[b"MULTI"], [b"SET", source, b"1"], [b"SET", target, b"-1"], [b"EXEC"]]


def test_watched_transfers_pause_in_a_run_and_hold_their_watch_meanwhile():
    """Watched transfers take their pause in a run (many last past 10 ms) and every read still sums to 0."""
    result = run(RunConfig(seed=2, workload="bank", clients=5, duration_ms=20_000))
    assert result.verdicts["bank"].valid is True, result.verdicts["bank"]
    transfers = [op for op in pair(result.history) if op.f == "transfer" and op.complete is not None]
    slow = [op for op in transfers if op.complete.time - op.invoke.time > 10_000_000]  # ns: past 10 ms
    assert len(slow) > 10
