"""sim.testing: the Hypothesis strategy and the helpers users write properties with."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from sim.testing import assert_fails, assert_valid, worlds
from sim.world import RunConfig


@settings(max_examples=8, deadline=None, derandomize=True)
@given(worlds(faults=("partition", "lag", "pause", "clock"), duration_ms=(1000, 3000), clients=(1, 3)))
def test_without_data_loss_faults_every_world_is_valid(world):
    assert_valid(world)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(worlds(workloads=("register", "set", "append"), faults=("kill",), duration_ms=(8000, 10_000),
              config=(("appendonly", "no"),)))
def test_a_kill_loses_acknowledged_writes_without_a_log(world):
    if world.faults:
        assert_fails(world, "durability")


@settings(max_examples=8, deadline=None, derandomize=True)
@given(worlds(replicas=(1, 2), clients=(1, 3), duration_ms=(2000, 6000)))
def test_replicas_catch_up_whatever_the_faults(world):
    assert_valid(world, ["convergence", "client"])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(worlds(nodes=(1, 3), replicas=(0, 2), clients=(2, 4), duration_ms=(1000, 2000)))
def test_worlds_stay_within_the_asked_ranges(world):
    assert 1 <= world.nodes <= 3 and 0 <= world.replicas <= 2 and 2 <= world.clients <= 4
    assert 1000 <= world.duration_ms <= 2000 and world.duration_ms % 500 == 0


def test_helpers_explain_a_failure_with_its_replay_command():
    with pytest.raises(AssertionError, match="kvsim replay --seed 2 .*--expect-hash"):
        assert_valid(RunConfig(seed=2, clients=2, duration_ms=8000, faults=("kill",), config=(("appendonly", "no"),)))
    with pytest.raises(AssertionError, match="expected durability to find a violation"):
        assert_fails(RunConfig(seed=1, clients=2, duration_ms=2000), "durability")
