"""Worlds in cluster mode (sim.cluster): cluster-enabled nodes that gossip over the simulated
network, clients routed by hash slot and -MOVED, failovers by CLUSTER FAILOVER, and every key
on a node of its slot's shard at the end."""

from __future__ import annotations

import pytest

from kvcore.cluster import key_slot as kvcore_key_slot
from sim import cluster, replication
from sim.operator import Stuck
from sim.world import RunConfig, World

AOF = (("appendonly", "yes"), ("appendfsync", "always"))


@pytest.mark.parametrize(("key", "slot"), [
    (b"123456789", 0x31C3 % cluster.SLOTS),  # CRC-16/XMODEM's check value
    (b"foo", 12182), (b"{user1000}.following", cluster.key_slot(b"user1000")),
    (b"{}x", cluster.key_slot(b"{}x")), (b"a{b}c{d}", cluster.key_slot(b"b")),
])
def test_key_slots_are_the_cluster_specs(key, slot):
    assert cluster.key_slot(key) == slot == kvcore_key_slot(key)


def test_slot_ranges_cover_every_slot_once():
    ranges = cluster.slot_ranges(3)
    assert ranges[0][0] == 0 and ranges[-1][1] == cluster.SLOTS - 1
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(len(ranges) - 1))


def test_a_world_starts_as_one_cluster_with_its_shards():
    world = World(RunConfig(seed=3, nodes=3, replicas=1, cluster=True, duration_ms=3000))
    result = world.run()
    assert result.valid is True, {name: verdict.reason for name, verdict in result.verdicts.items() if not verdict.valid}
    assert result.verdicts[cluster.CHECKER].valid is True
    for name, node in world.nodes.items():
        state = node.core.cluster
        assert len(state.nodes) == 6 and state.myself.id == cluster.node_id(3, name)
        assert node.core.is_replica == (name not in ("n1", "n2", "n3"))
    assert sum(len(world.nodes[name].core.dbs[0].data) for name in ("n1", "n2", "n3")) > 0


def test_failovers_and_faults_lose_no_acknowledged_write():
    """CLUSTER FAILOVER moves a shard to its replica mid-run: clients follow the -MOVED they get,
    and no checker sees a write lost, a replica diverge or a key on the wrong shard."""
    world = World(RunConfig(seed=2, workload="register", nodes=2, replicas=1, cluster=True, duration_ms=20_000,
                            faults=("failover", "kill", "partition"), config=AOF))
    result = world.run()
    assert result.faults["failover"] > 0
    assert result.valid is True, {name: verdict.reason for name, verdict in result.verdicts.items() if not verdict.valid}
    assert world.routing.moved, "no client was redirected"
    primaries = {name for name, node in world.nodes.items() if not node.core.is_replica}
    assert primaries != {"n1", "n2"} and len(primaries) == 2


def test_placement_rejects_a_key_outside_its_nodes_slots():
    world = World(RunConfig(seed=1, nodes=2, replicas=1, cluster=True, duration_ms=1000))
    world.run()
    cores = {name: node.core for name, node in world.nodes.items()}
    assert cluster.placement(cores, world.shards).valid is True
    first, last = cluster.slot_ranges(2)[1]
    stray = next(b"k%d" % i for i in range(1000) if first <= cluster.key_slot(b"k%d" % i) <= last)
    cores["n1r1"].dbs[0].data[stray] = b"x"  # a replica of the first shard, holding a key of the second
    verdict = cluster.placement(cores, world.shards)
    assert verdict.valid is False and "n1r1" in verdict.reason
    wrong = cluster.placement(cores, world.shards, {7: Stuck("MIGRATE on n1: MOVED", unavailable=False)})
    assert wrong.valid is False and "slot 7: MIGRATE on n1" in wrong.reason
    down = cluster.placement(cores, world.shards, {7: Stuck("MIGRATE on n1: CLUSTERDOWN", unavailable=True)})
    assert down.valid is None


def test_nodes_conf_names_every_node_with_its_role():
    layout = replication.layout(2, 1)
    text = cluster.nodes_conf(7, layout, "n1r1").decode()
    lines = text.splitlines()
    assert len(lines) == 5 and lines[-1] == "vars currentEpoch 2 lastVoteEpoch 0"
    mine = next(line for line in lines if "myself" in line).split()
    assert mine[0] == cluster.node_id(7, "n1r1") and mine[2] == "myself,slave" and mine[3] == cluster.node_id(7, "n1")
    assert next(line for line in lines if line.startswith(cluster.node_id(7, "n2"))).endswith(" 8192-16383")


def test_slots_move_between_shards_with_their_keys_while_clients_use_them():
    """The reshard fault moves slots holding keys (CLUSTER SETSLOT, GETKEYSINSLOT, MIGRATE): the keys
    end on the new shard, clients follow the -MOVED, and nothing is lost on the way."""
    world = World(RunConfig(seed=1, workload="register", nodes=3, replicas=1, cluster=True, duration_ms=20_000,
                            faults=("reshard", "kill", "partition"), config=AOF))
    result = world.run()
    assert result.faults["reshard"] > 0 and world.shards.moves
    assert result.valid is True, {name: verdict.reason for name, verdict in result.verdicts.items() if not verdict.valid}
    moved = [cluster.key_slot(key.encode()) for key in world.keys if cluster.key_slot(key.encode()) in world.shards.moves]
    assert moved, "no slot with keys moved"
    for slot in moved:
        master = world.shard_master(world.shards.moves[slot])
        assert world.nodes[master].core.cluster.serves(slot)
