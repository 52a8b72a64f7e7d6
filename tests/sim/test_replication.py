"""Replicated worlds: replicas follow their primaries over the simulated network, through faults,
and catch up with them once the faults heal (sim.replication)."""

from __future__ import annotations

import pytest

from sim import replication
from sim.faults import KINDS
from sim.world import RunConfig, World


def run_world(**options) -> tuple[World, object]:
    """A run whose nodes are left as the run left them: with nothing kept on disk (no save
    points), the final restart phase (sim.restart) passes them by."""
    world = World(RunConfig(**options, config=(("save", ""),)))
    return world, world.run()


def test_layout_names_and_addresses():
    assert replication.layout(2, 1) == [
        ("n1", "10.0.0.1", None), ("n2", "10.0.0.2", None),
        ("n1r1", "10.0.1.1", "10.0.0.1"), ("n2r1", "10.0.1.2", "10.0.0.2"),
    ]
    assert replication.groups(2, 2) == {"n1": ["n1r1", "n1r2"], "n2": ["n2r1", "n2r2"]}


def test_replicas_hold_their_primarys_data_and_stream():
    world, result = run_world(seed=5, nodes=2, replicas=2, clients=4, duration_ms=8000)
    assert result.verdicts["convergence"].valid is True, result.verdicts["convergence"]
    for primary, replicas in replication.groups(2, 2).items():
        source = world.nodes[primary].core
        assert sum(len(db.data) for db in source.dbs) > 0
        for name in replicas:
            core = world.nodes[name].core
            assert core.master_link.host == world.net.addresses[primary]
            assert core.replication.offset == source.replication.offset > 0
            assert replication.dataset_state(core) == replication.dataset_state(source)


@pytest.mark.parametrize("kind", KINDS)
def test_replicas_catch_up_after_each_fault(kind):
    cluster = {"nodes": 2, "cluster": True} if kind == "reshard" else {}  # slots move between a cluster's shards
    for seed in (1, 2):
        world, result = run_world(seed=seed, replicas=2, clients=3, duration_ms=15_000, faults=(kind,), **cluster)
        assert result.faults[kind] > 0
        assert result.verdicts["convergence"].valid is True, (seed, result.verdicts["convergence"])


def test_dropped_links_resync_from_the_backlog():
    """Partitions and pauses longer than the scaled repl-timeout drop links; replicas come back
    with a partial resync, not only full ones."""
    partial = 0
    for seed in range(1, 4):
        world, result = run_world(seed=seed, replicas=2, clients=3, duration_ms=30_000, faults=("partition", "pause"))
        assert result.verdicts["convergence"].valid is True
        partial += world.nodes["n1"].core.stats.sync_partial_ok
    assert partial > 0


def test_a_replica_that_diverged_is_reported_with_its_digest():
    world, result = run_world(seed=3, replicas=1, clients=3, duration_ms=3000)
    replica = world.nodes["n1r1"].core
    replica.dbs[0].data[b"planted"] = b"only here"
    verdict = world.convergence.verdict({name: node.core for name, node in world.nodes.items()}, 0)
    assert verdict.valid is False and verdict.evidence["differing_replicas"] == ["n1r1"]


def test_a_replica_left_behind_is_reported_with_why():
    world, result = run_world(seed=3, replicas=1, clients=3, duration_ms=3000)
    cores = {name: node.core for name, node in world.nodes.items()}
    cores["n1r1"].replication.offset -= 1
    verdict = world.convergence.verdict(cores, 20_000)
    assert verdict.valid is False and "n1r1" in verdict.evidence["replicas"]
    cores["n1r1"] = None
    assert world.convergence.lagging(cores) == {"n1r1": "down"}


def test_replicas_kept_out_by_a_primary_whose_save_failed_are_unknown_not_invalid():
    """A primary whose last background save failed refuses its replicas' PING with -MISCONF (as
    redis-server does, with save points set): they cannot sync, and that is no bug to report."""
    world, result = run_world(seed=3, replicas=1, clients=3, duration_ms=3000)
    cores = {name: node.core for name, node in world.nodes.items()}
    cores["n1r1"].replication.offset -= 1
    primary = cores["n1"]
    primary.config.set_many([("save", "3600 1")])
    primary.snapshots.last_bgsave_ok = False
    verdict = world.convergence.verdict(cores, 20_000)
    assert verdict.valid is None and "MISCONF" in verdict.reason
    primary.snapshots.last_bgsave_ok = True
    assert world.convergence.verdict(cores, 20_000).valid is False


def test_without_replicas_there_is_no_convergence_verdict():
    _, result = run_world(seed=1, clients=2, duration_ms=2000)
    assert "convergence" not in result.verdicts


def test_config_overrides_the_scaled_timeouts():
    world = World(RunConfig(replicas=1, config=(("repl-timeout", "30"),)))
    assert world.nodes["n1r1"].config["repl-timeout"] == "30"
    assert world.nodes["n1r1"].config["repl-ping-replica-period"] == replication.TIMEOUTS["repl-ping-replica-period"]
    assert world.converge_ms_max == 70_000


def test_the_seed_draws_how_full_syncs_are_sent_and_loaded():
    drawn = [replication.sync_mode(seed) for seed in range(40)]
    assert {mode["repl-diskless-sync"] for mode in drawn} == {"yes", "no"}
    assert {mode["repl-diskless-load"] for mode in drawn} == set(replication.DISKLESS_LOADS)
    assert replication.sync_mode(7) == replication.sync_mode(7)
