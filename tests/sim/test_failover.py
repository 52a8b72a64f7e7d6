"""The failover fault: FAILOVER TO a replica, the world following the new primary (sim.nemesis, sim.world)."""

from __future__ import annotations

from sim.faults import parse_kinds
from sim.world import RunConfig, World


def _run(keep_trace: bool = False, **options):
    world = World(RunConfig(**options), keep_trace)
    return world, world.run()


def _promotions(result) -> list[tuple[str, str]]:
    """(new primary, old primary) of every promotion the trace records."""
    return [(record[2], record[4]) for record in result.records if record[0] == "node" and record[3] == "promoted"]


def test_a_failover_hands_the_primary_role_to_a_replica_and_the_world_follows():
    """Some failovers give up (a TIMEOUT shorter than the second between a replica's acknowledgements),
    the others promote their target; either way every write stays."""
    promoted = 0
    for seed in range(1, 7):
        world, result = _run(True, seed=seed, workload="register", replicas=2, clients=4, duration_ms=20_000,
                             faults=("failover",), config=(("appendonly", "yes"), ("appendfsync", "always")))
        assert result.valid is True, (seed, result.failed_checkers)
        assert result.faults["failover"] > 0, seed
        if not _promotions(result):
            assert world.node_names == ["n1"], seed
            continue
        promoted += 1
        (primary,) = world.node_names
        assert primary == _promotions(result)[-1][0]
        address = world.net.addresses[primary]
        assert not world.nodes[primary].core.is_replica and "replicaof" not in world.nodes[primary].config
        for name in world.convergence.groups[primary]:  # the old primary and the other replica follow it
            assert world.nodes[name].core.master_link.host == address
            assert world.nodes[name].config["replicaof"] == f"{address} 6379"
    assert promoted >= 2


def test_failovers_racing_kills_and_partitions_keep_one_primary_and_every_write():
    """A restart or a partition in the middle of a failover (sim.nemesis._follow_failover)."""
    for seed in range(1, 9):
        _, result = _run(seed=seed, workload="register", replicas=2, clients=4, duration_ms=20_000,
                         faults=parse_kinds("failover,kill,partition"),
                         config=(("appendonly", "yes"), ("appendfsync", "always")))
        assert result.valid is True, (seed, result.failed_checkers)


def test_no_failover_without_replicas_with_subscribers_or_with_clock_faults():
    for options in ({"replicas": 0}, {"replicas": 1, "workload": "pubsub"}, {"replicas": 1, "faults": ("failover", "clock")}):
        options = {"workload": "register", "faults": ("failover",), **options}
        _, result = _run(seed=1, clients=3, duration_ms=15_000, **options)
        assert result.faults["failover"] == 0, options
