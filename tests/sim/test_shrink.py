"""Shrinking: a smaller run that fails the same way."""

from __future__ import annotations

import pytest

from sim.shrink import shrink
from sim.world import RunConfig, run


def test_shrink_finds_fewer_clients_faults_and_seconds_that_still_lose_writes():
    original = run(RunConfig(seed=3, workload="set", clients=5, duration_ms=16_000, faults=("kill", "lag", "pause"),
                             config=(("appendonly", "no"),)))  # a kill loses writes
    assert original.valid is False
    found = shrink(original, max_runs=60)
    small = found.config
    assert small.clients < 5 and small.duration_ms < 16_000
    assert small.only_faults is not None and len(small.only_faults) < sum(original.faults.values())
    assert set(found.result.failed_checkers) & set(original.failed_checkers)
    assert run(small).failed_checkers == found.result.failed_checkers  # it replays
    assert found.runs <= 60


def test_only_a_failing_run_can_be_shrunk():
    with pytest.raises(ValueError):
        shrink(run(RunConfig(seed=1, clients=1, duration_ms=1000)))
