"""Faults as data: parsing, options within bounds, schedules, and every kind really happening."""

from __future__ import annotations

import dataclasses

import pytest

from sim.faults import KINDS, Shape, enabled_kinds, parse_kinds, plan, schedule
from sim.world import RunConfig, run

SHAPE = Shape(("n1",), ("c0", "c1", "c2"))


def test_parse_kinds():
    assert parse_kinds("kill, partition,kill") == ("kill", "partition")
    assert parse_kinds("partition,crash") == ("partition", "kill")  # as the project's pitch spells it
    assert parse_kinds("none") == ()
    assert parse_kinds("swarm") == ("swarm",)
    with pytest.raises(ValueError, match="unknown fault 'quake'"):
        parse_kinds("kill,quake")


def test_swarm_draws_its_mix_from_the_seed():
    mixes = {enabled_kinds(("swarm",), seed) for seed in range(40)}
    assert len(mixes) > 10 and () not in mixes
    assert enabled_kinds(("swarm",), 5) == enabled_kinds(("swarm",), 5)


@pytest.mark.parametrize("kind", list(KINDS))
def test_options_are_frozen_and_within_bounds(kind):
    for seed in range(20):
        options = plan((kind,), seed)[kind]
        for field in dataclasses.fields(options):
            low, high = options.BOUNDS[field.name]
            assert low <= getattr(options, field.name) <= high
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.interval_ms_mean = 1


def test_schedule_is_sorted_deterministic_and_names_every_kind():
    options = plan(tuple(KINDS), 3)
    events = schedule(options, 3, 30_000, SHAPE)
    assert events == schedule(plan(tuple(KINDS), 3), 3, 30_000, SHAPE)
    assert [event.at_ms for event in events] == sorted(event.at_ms for event in events)
    assert {event.kind for event in events} == set(KINDS)
    assert all(0 <= event.at_ms < 30_000 for event in events)


def test_a_shorter_run_keeps_a_prefix_of_the_schedule():
    options = plan(tuple(KINDS), 11)
    long = schedule(options, 11, 60_000, SHAPE)
    short = schedule(options, 11, 20_000, SHAPE)
    early = [event for event in long if event.at_ms < 20_000]
    assert short[: len(early)] == early


def test_enabling_a_kind_does_not_move_another_kinds_events():
    alone = schedule(plan(("kill",), 4), 4, 60_000, SHAPE)
    mixed = schedule(plan(("kill", "partition"), 4), 4, 60_000, SHAPE)
    assert alone == [event for event in mixed if event.kind == "kill"]


def test_partitions_cut_links_that_carry_traffic():
    for event in schedule(plan(("partition",), 2), 2, 60_000, SHAPE):
        links = [link.split(">") for link in event.target]
        assert links and all("n1" in pair for pair in links)
        if event.mode == "both":
            assert {(b, a) for a, b in links} == {(a, b) for a, b in links}


EVIDENCE = {  # a record each kind leaves in the trace besides its own fault record
    "kill": ("node", "kill"),
    "power": ("node", "power-loss"),
    "pause": ("node", "pause"),
    "reshard": ("node", "slot-moved"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_fault_kind_really_happens(kind):
    replicas = 1 if kind == "failover" else 0  # a failover hands a primary's role to a replica
    cluster = {"nodes": 2, "cluster": True} if kind == "reshard" else {}  # slots move between a cluster's shards
    result = run(RunConfig(seed=1, workload="register", clients=3, duration_ms=6000, faults=(kind,), replicas=replicas,
                           **cluster), keep_trace=True)
    assert result.faults[kind] >= 1
    injected = [r for r in result.records if r[0] == "fault" and r[2] == kind and r[5].startswith("start")]
    assert len(injected) == result.faults[kind]
    if kind in EVIDENCE:
        what, event = EVIDENCE[kind]
        assert any(r[0] == what and r[3] == event for r in result.records)
    if kind == "partition":
        assert any(r[0] == "fault" and r[5] == "end" for r in result.records)  # healed
    nemesis = [event for event in result.history if event.process == "nemesis" and event.f == kind]
    assert nemesis


def test_only_faults_keeps_the_named_events():
    config = RunConfig(seed=2, clients=2, duration_ms=8000, faults=("pause", "lag"))
    full = run(config)
    assert sum(full.faults.values()) >= 2
    kept = run(dataclasses.replace(config, only_faults=(0,)))
    assert sum(kept.faults.values()) == 1
    none = run(dataclasses.replace(config, only_faults=()))
    assert sum(none.faults.values()) == 0


def test_a_mid_write_power_cut_strikes_at_the_next_log_write():
    """Before that write's fsync can finish: the moment a torn write tests recovery. A cut that sees
    no write soon strikes anyway, and a log rewrite's files are writes too: never after the next log write."""
    config = RunConfig(seed=5, workload="bank", clients=5, duration_ms=60_000, faults=("power",),
                       config=(("appendonly", "yes"), ("appendfsync", "always")))
    records = run(config, keep_trace=True).records
    starts = [r for r in records if r[0] == "fault" and r[2] == "power" and r[5].startswith("start mid-write")]
    struck_at_writes = 0
    for start in starts:
        node, at = start[4][0], start[1]
        cut = next(r for r in records if r[0] == "node" and r[2] == node and r[3] == "power-off" and r[1] >= at)
        first_write = next(r for r in records if r[0] == "effect" and r[2] == node and r[3] == "append-log" and r[1] >= at)
        assert cut[1] <= first_write[1]
        struck_at_writes += cut[1] == first_write[1]
    assert struck_at_writes
