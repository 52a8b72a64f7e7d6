"""Whole runs: what the checkers must say with and without data-loss faults."""

from __future__ import annotations

import pytest

from jepsen_like.history import pair
from sim import checks
from sim.workloads import WORKLOADS
from sim.world import NS_PER_MS, RunConfig, run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_node_restarts_empty_and_the_register_run_fails(seed):
    result = run(RunConfig(seed=seed, workload="register", faults=("kill",), duration_ms=20_000,
                           config=(("appendonly", "no"),)))
    assert result.faults["kill"] >= 1
    assert result.valid is False
    assert result.verdicts["durability"].valid is False  # lost writes, reported as such
    assert result.verdicts["durability"].evidence["lost_count"] > 0


# Workloads whose checkers see lost writes (expiry's excuses what a crash may lose).
LOSS_SEEING = [name for name, workload in WORKLOADS.items()
               if {"durability", "linearizability", "queue"} & set(workload.checkers)]


@pytest.mark.parametrize("workload", LOSS_SEEING)
def test_power_loss_loses_acknowledged_writes(workload):
    result = run(RunConfig(seed=4, workload=workload, faults=("power",), duration_ms=15_000,
                           config=(("appendonly", "no"),)))
    assert result.valid is False


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("seed", [1, 2])
def test_no_data_loss_faults_means_a_valid_run(workload, seed):
    result = run(RunConfig(seed=seed, workload=workload, faults=("partition", "lag", "pause"), duration_ms=15_000))
    assert sum(result.faults.values()) >= 3
    assert result.ops["info"] > 0  # the faults were felt
    assert result.valid is True, {name: v.reason for name, v in result.verdicts.items()}


def test_clock_and_disk_faults_keep_a_correct_node_valid():
    config = RunConfig(seed=5, workload="register", faults=("clock", "disk"), duration_ms=15_000,
                       config=(("appendonly", "yes"), ("appendfsync", "always")))
    result = run(config)
    assert result.faults["clock"] >= 1 and result.faults["disk"] >= 1
    assert result.valid is True


def test_keys_are_spread_over_several_nodes():
    result = run(RunConfig(seed=1, workload="append", nodes=3, clients=4, duration_ms=10_000,
                           faults=("partition", "pause")), keep_trace=True)
    assert result.valid is True
    served = {record[4] for record in result.records if record[0] == "seg" and type(record[5]) is bytes}
    assert {"n1", "n2", "n3"} <= served


def test_the_history_is_jepsen_like_with_final_reads():
    result = run(RunConfig(seed=1, workload="set", clients=2, duration_ms=5000))
    ops = pair(result.history)
    finals = [op for op in ops if op.process == "final"]
    written = {op.key for op in ops if op.f == "add"}
    assert {op.key for op in finals} == written
    assert all(op.invoke.time % NS_PER_MS == 0 for op in ops)
    assert result.ops["ok"] == sum(1 for op in ops if op.ok)


def test_liveness_fails_when_the_system_cannot_serve_in_time():
    result = run(RunConfig(seed=1, workload="register", clients=2, duration_ms=3000, liveness_ms_max=1))
    assert result.verdicts["liveness"].valid is False


def test_liveness_is_unknown_only_while_every_late_client_is_refused_with_misconf():
    served = {"c0": 12, "c1": None, "c2": None}
    misconf = "MISCONF Errors writing to the AOF file: No space left on device"
    assert checks.liveness(served, 10_000, {"c0": None, "c1": misconf, "c2": misconf}).valid is None
    assert checks.liveness(served, 10_000, {"c0": None, "c1": misconf, "c2": "LOADING"}).valid is False
    assert checks.liveness(served, 10_000, {"c0": None, "c1": misconf, "c2": None}).valid is False
    assert checks.liveness({"c0": 12}, 10_000, {"c0": misconf}).valid is True


def test_expiry_reads_meet_deadlines_to_the_millisecond_and_replicas_and_watches_take_part():
    """Aimed reads land on a deadline's last millisecond (PTTL 0, still served); replicas serve
    some reads; some watched writes abort because their key expired while they waited."""
    result = run(RunConfig(seed=1, workload="expiry", clients=5, duration_ms=60_000, replicas=1,
                           config=(("appendonly", "no"),)))  # no fsync before each reply: reads land as aimed
    assert result.verdicts["expiry"].valid is True, result.verdicts["expiry"]
    ops = pair(result.history)
    on_the_deadline = [op for op in ops if op.f == "read" and op.ok and op.result[0] is not None and op.result[1] == 0]
    assert len(on_the_deadline) >= 2
    replica_served = [op for op in ops if op.f == "replica-read" and op.ok and op.result[0] is not None]
    assert len(replica_served) >= 20
    watched = [op for op in ops if op.f == "watched-write"]
    assert any(op.ok for op in watched) and any(op.type == "fail" for op in watched)
