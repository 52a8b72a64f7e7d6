"""The restart check: a node stopped cleanly must come back with the data it held."""

from __future__ import annotations

from kvcore.aof import encode_command
from kvcore.node import Node
from sim import restart
from sim.world import RunConfig, World, run
from tests.kvcore.harness import make_node


def core_with(*commands: list[bytes], now: int = 1000) -> Node:
    node = make_node(now=now)
    node.open(1, now)
    node.receive(1, b"".join(map(encode_command, commands)), now)
    node.take_effects()
    return node


def test_the_same_data_passes_and_a_changed_value_is_named():
    before = restart.dataset(core_with([b"SET", b"a", b"1"], [b"ZADD", b"z", b"5", b"m"]))
    same = restart.dataset(core_with([b"ZADD", b"z", b"5", b"m"], [b"SET", b"a", b"1"]))
    assert restart.compare("n1", "a snapshot", before, same, 1000) is None
    changed = restart.dataset(core_with([b"SET", b"a", b"1"], [b"ZADD", b"z", b"6", b"m"]))
    verdict = restart.compare("n1", "a snapshot", before, changed, 1000)
    assert verdict.valid is False and verdict.checker == "restart"
    assert verdict.evidence["first_key"] == [0, "z"] and verdict.evidence["node"] == "n1"


def test_a_lost_key_and_a_moved_deadline_are_differences():
    before = restart.dataset(core_with([b"SET", b"a", b"1", b"PX", b"5000"], [b"SET", b"b", b"2"]))
    lost = restart.dataset(core_with([b"SET", b"a", b"1", b"PX", b"5000"]))
    assert restart.compare("n1", "the log", before, lost, 1000).evidence["values"]["after"] == "<missing>"
    later = restart.dataset(core_with([b"SET", b"a", b"1", b"PX", b"5001"], [b"SET", b"b", b"2"]))
    assert restart.compare("n1", "the log", before, later, 1000).valid is False


def test_keys_whose_deadline_passed_meanwhile_are_left_out():
    before = restart.dataset(core_with([b"SET", b"a", b"1", b"PX", b"10"], [b"SET", b"b", b"2"]))
    after = restart.dataset(core_with([b"SET", b"b", b"2"]))
    assert restart.compare("n1", "a snapshot", before, after, 1010) is not None  # a still lives at its deadline
    assert restart.compare("n1", "a snapshot", before, after, 1011) is None


def test_runs_restart_their_nodes_from_a_snapshot_or_from_the_log_three_times():
    snapshot = run(RunConfig(workload="hash", clients=3, duration_ms=3000, replicas=1))
    assert snapshot.verdicts["restart"].valid is True
    assert snapshot.verdicts["restart"].evidence["nodes"] == ["n1", "n1r1"]
    log = run(RunConfig(workload="zset", clients=3, duration_ms=3000, config=(("appendonly", "yes"),)))
    assert log.verdicts["restart"].valid is True
    restarts = [record for record in run(RunConfig(workload="zset", clients=3, duration_ms=3000,
                                                   config=(("appendonly", "yes"),)), keep_trace=True).records
                if record[0] == "node" and record[3] == "shutdown"]
    assert len(restarts) == 3  # from the log as it was, then after a BGREWRITEAOF with each kind of base


def test_a_node_that_keeps_nothing_on_disk_is_not_judged():
    result = run(RunConfig(workload="set", clients=2, duration_ms=2000, config=(("save", ""),)))
    verdict = result.verdicts["restart"]
    assert verdict.valid is None and verdict.evidence["skipped"] == {"n1": restart.SKIPPED_NO_DATA}


def test_a_refused_sigterm_is_sent_again_until_the_node_stops():
    """A node writing the first file of a log just turned on refuses a SIGTERM and forgets it (as
    redis-server does); the check sends another each second until the node stops."""
    world = World(RunConfig(workload="register", clients=1, duration_ms=1000))
    env, node = world.env, world.nodes["n1"]
    node.start()
    node.disk.faults.fsync_delay_ms = 3000  # the rewrite that turns the log on takes 3 s
    node.core.aof.config_changed(True)
    node.schedule_run()
    stopping = env.process(restart._terminate(env, node))
    env.run(until=2000)
    assert node.core is not None  # the first SIGTERMs were refused
    env.run(until=stopping)
    assert stopping.value is True and node.core is None and env.now < restart.STOP_MS_MAX
