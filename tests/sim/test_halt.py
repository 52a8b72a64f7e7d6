"""A run that kvcore stops, by raising or by looping, ends with a failed ``completion`` verdict."""

from __future__ import annotations

import time

import pytest

from kvcore.keyspace import Database
from sim import halt
from sim.sweep import first_failure
from sim.world import RunConfig, run

BASE = RunConfig(workload="register", clients=3, duration_ms=3000)


def _plant_in_set(monkeypatch, act, after_calls: int = 5) -> None:
    """Database.set does `act()` from its `after_calls`-th call on."""
    set_ = Database.set
    calls = [0]

    def planted_set(db, key, value, keep_ttl=False):
        calls[0] += 1
        if calls[0] >= after_calls:
            act()
        set_(db, key, value, keep_ttl)

    monkeypatch.setattr(Database, "set", planted_set)


def _raise() -> None:
    raise ZeroDivisionError("planted")


def _loop() -> None:
    while True:
        pass


def test_a_clean_run_has_no_completion_verdict():
    result = run(BASE)
    assert result.valid is True
    assert halt.CHECKER not in result.verdicts


def test_an_exception_in_kvcore_fails_the_run_and_says_where(monkeypatch):
    _plant_in_set(monkeypatch, _raise)
    result = run(BASE)
    verdict = result.verdicts[halt.CHECKER]
    assert result.valid is False and verdict.valid is False
    assert "ZeroDivisionError: planted" in verdict.reason
    assert verdict.evidence["where"].startswith("kvcore/") and verdict.evidence["node"] == "n1"
    assert "liveness" not in result.verdicts  # never reached


def test_an_endless_loop_in_kvcore_is_stopped_and_fails_the_run(monkeypatch):
    monkeypatch.setattr(halt, "STUCK_WALL_S", 1.0)
    _plant_in_set(monkeypatch, _loop)
    started = time.perf_counter()
    result = run(BASE)
    verdict = result.verdicts[halt.CHECKER]
    assert verdict.valid is False and "stuck at" in verdict.reason
    assert verdict.evidence["where"].startswith("kvcore/")
    assert time.perf_counter() - started < 10


def test_a_sweep_lists_a_seed_that_raised(monkeypatch):
    _plant_in_set(monkeypatch, _raise, after_calls=1)
    found = first_failure(BASE, range(1, 4), jobs=2)
    assert found is not None and found.failed == (halt.CHECKER,)


def test_the_watchdog_raises_only_while_the_clock_stands_still():
    ticks = [0]
    with halt.Watchdog(lambda: ticks[0], stuck_s=1.5):
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline:  # a moving clock: never stuck
            ticks[0] += 1
    with pytest.raises(halt.Stuck):
        with halt.Watchdog(lambda: 0, stuck_s=1.0):
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                pass
